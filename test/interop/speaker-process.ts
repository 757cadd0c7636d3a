// Test programs in a child process inside a network namespace, driven over stdin/stdout with one
// JSON line per request and per answer (`{id, result}` or `{id, error}`; id 0 answers the start).
// The standalone speaker (speaker-child.ts) is one, shared by the interop tests of
// `margay speaker` against BIRD and FRR and by the BFD failover bench; the BFD table
// (bfd-child.ts) is another, which also sends lines without an id (events). startBirdBfdPair sets
// up the speaker with BFD against BIRD 2 with `bfd on` for the BFD tests; startSpeaker,
// stopSpeakerLab, linkToSpeaker, bfdPeer and BIRD_BFD_100MS are the pieces the speaker tests share.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { PeerConfig, PeerStatus } from '../../bgp/speaker/types.ts';
import { type BirdHandle, birdConfig, type InterfaceAddresses, type Lab, startBird } from './lib/index.ts';

interface Answer {
  readonly id?: number;
  readonly result?: unknown;
  readonly error?: string;
}

/** A child program in namespace `ns` (stderr to `logFile`), answering JSON-line requests. */
export class LineChild {
  readonly child: ChildProcess;
  readonly #waiting = new Map<number, (v: Answer) => void>();
  #next = 1;
  readonly started: Promise<unknown>;
  readonly exited: Promise<number | null>;

  constructor(name: string, ns: string, logFile: string, argv: readonly string[]) {
    const log = openSync(logFile, 'a');
    try {
      this.child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...argv], {
        stdio: ['pipe', 'pipe', log],
      });
    } finally {
      closeSync(log);
    }
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
    this.started = new Promise((resolve, reject) => {
      this.#waiting.set(0, (v) => (v.error ? reject(new Error(v.error)) : resolve(v.result)));
      void this.exited.then((code) => reject(new Error(`${name} child exited with ${code}, see ${logFile}`)));
    });
    const out = this.child.stdout;
    if (out === null) throw new Error('no stdout');
    createInterface({ input: out }).on('line', (line) => {
      const msg = JSON.parse(line) as Answer & Record<string, unknown>;
      if (msg.id === undefined) {
        this.onEvent(msg);
        return;
      }
      this.#waiting.get(msg.id)?.(msg);
      this.#waiting.delete(msg.id);
    });
  }

  /** A line without an id; the children with events override this. */
  protected onEvent(_msg: Record<string, unknown>): void {}

  request<T>(op: string, extra: object = {}): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, (v) => (v.error ? reject(new Error(v.error)) : resolve(v.result as T)));
      this.child.stdin?.write(`${JSON.stringify({ id, op, ...extra })}\n`);
    });
  }

  /** Ends the child by PID if it is still running. */
  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** The speaker child (speaker-child.ts) with `config` inside a namespace. */
export class SpeakerProcess extends LineChild {
  constructor(ns: string, logFile: string, config: object) {
    super('speaker', ns, logFile, [join(import.meta.dirname, 'speaker-child.ts'), JSON.stringify(config)]);
  }

  /** The status of the speaker's first peer (the tests with one peer). */
  async peer(): Promise<PeerStatus> {
    const [p] = await this.request<PeerStatus[]>('peers');
    if (p === undefined) throw new Error('no peer');
    return p;
  }
}

/**
 * Starts the speaker child in namespace `ns` with `config`, logging to speaker.log in the lab's
 * folder, and resolves once it has started (a speaker that fails to start is killed here).
 */
export async function startSpeaker(lab: Lab, ns: string, config: object): Promise<SpeakerProcess> {
  const speaker = new SpeakerProcess(ns, join(lab.dir, 'speaker.log'), config);
  try {
    await speaker.started;
  } catch (e) {
    speaker.kill();
    throw e;
  }
  return speaker;
}

/**
 * Namespaces m (the speaker's, interface to-`peer`) and `peer` (interface to-m) on one link with
 * the addresses given for each side.
 */
export async function linkToSpeaker(
  lab: Lab,
  peer: string,
  ours: InterfaceAddresses,
  theirs: InterfaceAddresses,
): Promise<{ m: string; p: string }> {
  const m = await lab.addNamespace('m');
  const p = await lab.addNamespace(peer);
  await lab.connect({ ns: m, ifname: `to-${peer}`, ...ours }, { ns: p, ifname: 'to-m', ...theirs });
  return { m, p };
}

/** Ends `child` by PID, waits for it to exit, then removes the lab: the tests' afterAll. */
export async function stopSpeakerLab(lab: Lab, child: LineChild | undefined): Promise<void> {
  child?.kill();
  await child?.exited;
  await lab.teardown();
}

/** A peer with BFD at 100 ms × 3, a 9 s hold time and a 1 s connect retry; `extra` adds fields. */
export function bfdPeer(address: string, asn: number, extra: Partial<PeerConfig> = {}): PeerConfig {
  return {
    address,
    asn,
    ...extra,
    holdTime: 9,
    connectRetryTime: 1,
    bfd: { minRxMs: 100, minTxMs: 100, multiplier: 3 },
  };
}

/** BIRD's BFD protocol on every interface at 100 ms × 3, for `birdConfig({ extra })`. */
export const BIRD_BFD_100MS = [
  'protocol bfd {',
  '  interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };',
  '}',
].join('\n');

export const BFD_PAIR_AS = { ours: 64512, bird: 64513 } as const;

/**
 * Namespaces m (192.0.2.1, the speaker) and b (192.0.2.2, BIRD 2) on one link, BIRD announcing
 * 10.50.0.0/24 and the speaker 10.244.1.0/24, both with BFD at 100 ms × 3 and a 9 s hold time;
 * BIRD's protocol is m4. Resolves once the speaker has started; the caller kills it (a speaker
 * that fails to start is killed here).
 */
export async function startBirdBfdPair(
  lab: Lab,
): Promise<{ m: string; b: string; bird: BirdHandle; speaker: SpeakerProcess }> {
  const { m, p: b } = await linkToSpeaker(lab, 'b', { ipv4: '192.0.2.1/24' }, { ipv4: '192.0.2.2/24' });
  const bird = await startBird(
    lab,
    b,
    birdConfig({
      routerId: '192.0.2.2',
      localAs: BFD_PAIR_AS.bird,
      neighbors: [
        { name: 'm4', address: '192.0.2.1', remoteAs: BFD_PAIR_AS.ours, holdTime: 9, extra: ['bfd on;'] },
      ],
      staticRoutes: [{ prefix: '10.50.0.0/24' }],
      extra: BIRD_BFD_100MS,
    }),
  );
  const speaker = await startSpeaker(lab, m, {
    options: { asn: BFD_PAIR_AS.ours, routerId: '192.0.2.1' },
    peers: [bfdPeer('192.0.2.2', BFD_PAIR_AS.bird)],
    routes: [{ prefix: '10.244.1.0/24' }],
  });
  return { m, b, bird, speaker };
}
