// Prometheus text exposition (version 0.0.4) written by hand: a handful of gauges and counters
// does not need a client library. Event-loop delay comes from perf_hooks' histogram, sampled
// every 10 ms, so a stall while ingesting a large table shows up here, where an operator can
// compare it with the keepalive interval of the daemon's sessions.
import { type ELDHistogram, monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

export interface Sample {
  readonly labels?: Readonly<Record<string, string | number>>;
  readonly value: number;
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter' | 'summary';
  readonly samples: readonly Sample[];
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

export function renderMetrics(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      const labels = s.labels
        ? Object.entries(s.labels)
            .map(([k, v]) => `${k}="${escapeLabel(String(v))}"`)
            .join(',')
        : '';
      lines.push(`${f.name}${labels ? `{${labels}}` : ''} ${Number.isFinite(s.value) ? s.value : 0}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * A counter family whose series appear on their first increment, one per distinct set of label
 * values. Callers pass the labels in the same order each time; the family renders them in the
 * order the series first appeared.
 */
export class Counter {
  readonly #series = new Map<string, { labels: Readonly<Record<string, string>>; value: number }>();
  readonly name: string;
  readonly help: string;

  constructor(name: string, help: string, initial?: Readonly<Record<string, string>>) {
    this.name = name;
    this.help = help;
    // A counter without labels exists from the start, so a scrape shows 0 rather than nothing.
    if (initial !== undefined) this.#series.set(JSON.stringify(initial), { labels: initial, value: 0 });
  }

  inc(labels: Readonly<Record<string, string>> = {}): void {
    const key = JSON.stringify(labels);
    const series = this.#series.get(key);
    if (series === undefined) this.#series.set(key, { labels, value: 1 });
    else series.value++;
  }

  family(): MetricFamily {
    return {
      name: this.name,
      help: this.help,
      type: 'counter',
      samples: [...this.#series.values()].map(({ labels, value }) =>
        Object.keys(labels).length === 0 ? { value } : { labels, value },
      ),
    };
  }
}

/** Process-level metrics every Margay process exports. */
export class ProcessMetrics {
  readonly #histogram: ELDHistogram;
  constructor() {
    this.#histogram = monitorEventLoopDelay({ resolution: 10 });
    this.#histogram.enable();
  }

  /** p99 event-loop delay in milliseconds since start. */
  get p99DelayMs(): number {
    return this.#histogram.percentile(99) / 1e6;
  }

  families(): MetricFamily[] {
    const h = this.#histogram;
    const mem = process.memoryUsage();
    return [
      {
        name: 'margay_event_loop_delay_seconds',
        help: 'Event-loop delay since the process started (perf_hooks, 10 ms resolution).',
        type: 'summary',
        samples: [
          { labels: { quantile: '0.5' }, value: h.percentile(50) / 1e9 },
          { labels: { quantile: '0.9' }, value: h.percentile(90) / 1e9 },
          { labels: { quantile: '0.99' }, value: h.percentile(99) / 1e9 },
          { labels: { quantile: '1' }, value: h.max / 1e9 },
        ],
      },
      {
        name: 'margay_process_resident_memory_bytes',
        help: 'Resident set size of this process.',
        type: 'gauge',
        samples: [{ value: mem.rss }],
      },
      {
        name: 'margay_process_heap_used_bytes',
        help: 'V8 heap in use.',
        type: 'gauge',
        samples: [{ value: mem.heapUsed }],
      },
      {
        // Set when the process starts (src/heap.ts derives it from the container's memory limit).
        name: 'margay_process_heap_limit_bytes',
        help: 'V8 heap size limit: old space plus the young generation.',
        type: 'gauge',
        samples: [{ value: getHeapStatistics().heap_size_limit }],
      },
    ];
  }

  close(): void {
    this.#histogram.disable();
  }
}
