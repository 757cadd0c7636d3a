// Benchmark dispatcher: `node test/bench/run.ts NAME [--flags]` (`npm run bench -- NAME …`).
// Each benchmark module exports `main(argv) → exit code`; it prints one JSON line per run on stdout and
// a human-readable table on stderr. The figures of the last full runs are in test/bench/RESULTS.md.

type BenchMain = (argv: readonly string[]) => Promise<number>;

const BENCHES: Record<string, { readonly what: string; readonly load: () => Promise<BenchMain> }> = {
  'bgp-ingest': {
    what: 'N prefixes into BIRD, GoBGP, FRR and Margay, a first and a second session per process; Established to all N in the Loc-RIB, memory',
    load: async () => (await import('./bgp/ingest.ts')).main,
  },
  dataplane: {
    what: 'routes (10k/100k) vs raw ip -batch (one and two processes); P policies x E pods (synthetic and rendered) vs raw restore; one label change',
    load: async () => (await import('./dataplane.ts')).main,
  },
  'policy-path': {
    what: 'one cluster change (pod label, policy add, pod add) through the agent: datastore write to the last byte in iptables/ipsets',
    load: async () => (await import('./policy-path.ts')).main,
  },
  'agent-scale': {
    what: 'one margay agent at N nodes / P pods / Q policies with a BGP peer, this checkout vs a baseline commit: start, change latency to the kernel, CPU, bytes, RSS, event-loop stalls',
    load: async () => (await import('./agent-scale.ts')).main,
  },
  footprint: {
    what: 'idle RSS and start-to-ready of margay speaker (one peer, BIRD alongside) and of the agents of a 3-node lab',
    load: async () => (await import('./footprint.ts')).main,
  },
  'bfd-failover': {
    what: 'a ToR link cut (packets from the node dropped at the ToR) with BFD at 300 and 100 ms x 3: time until the node drops the ToR route (speaker: RIB; agent: its kernel ECMP leg) and the ToR withdraws the node route',
    load: async () => (await import('./bfd-failover.ts')).main,
  },
  soak: {
    what: 'session churn (establish, N routes, drop) against margay speaker and BIRD for M minutes: RSS over time, event-loop delay',
    load: async () => (await import('./soak.ts')).main,
  },
};

function usage(): string {
  const list = Object.entries(BENCHES)
    .map(([name, b]) => `  ${name.padEnd(12)} ${b.what}`)
    .join('\n');
  return `usage: node test/bench/run.ts NAME [--flags]\n\nbenchmarks:\n${list}\n`;
}

const [name, ...rest] = process.argv.slice(2);
const bench = name === undefined ? undefined : BENCHES[name];
if (!bench) {
  process.stderr.write(
    name === undefined || name === '--help' ? usage() : `unknown benchmark "${name}"\n\n${usage()}`,
  );
  process.exitCode = name === undefined || name === '--help' ? 0 : 2;
} else {
  try {
    process.exitCode = await (await bench.load())(rest);
  } catch (err) {
    process.stderr.write(`${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  }
}
