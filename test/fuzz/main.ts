// `npm run fuzz -- --minutes N [--seed S] [--from K] [--cases N]`: a fuzz campaign against
// `margay speaker` (campaign.ts). Prints the seed first, progress while it runs (stderr), and
// the JSON summary at the end (stdout). The same seed replays the same cases in the same order;
// `--from K --cases 1` replays one case. Exits 1 when the campaign failed: a crash, a hang, a
// MUST-level disagreement with the oracle, a malformed message from the speaker, or a final RIB
// that is not exactly the final set. Needs root (network namespaces).
import { randomInt } from 'node:crypto';
import { parseArgs } from 'node:util';
import { failures, runCampaign } from './campaign.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '1' },
    seed: { type: 'string' },
    from: { type: 'string' },
    cases: { type: 'string' },
  },
  strict: true,
});

function int(name: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    console.error(`--${name}: must be an integer ≥ ${min}`);
    process.exit(2);
  }
  return n;
}

const minutes = Number(values.minutes);
if (!(minutes > 0)) {
  console.error('--minutes: must be a positive number');
  process.exit(2);
}
const seed = int('seed', values.seed, 0) ?? randomInt(0, 2 ** 31);
const from = int('from', values.from, 0);
const cases = int('cases', values.cases, 1);
console.error(`[fuzz] seed ${seed} (replay: npm run fuzz -- --seed ${seed} --minutes ${minutes})`);

const abort = new AbortController();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => abort.abort());

const summary = await runCampaign({
  seed,
  durationMs: minutes * 60_000,
  ...(from !== undefined && { from }),
  ...(cases !== undefined && { cases }),
  onProgress: (line) => console.error(line),
  signal: abort.signal,
});
console.log(JSON.stringify(summary, null, 2));
const failed = failures(summary);
for (const f of failed) console.error(`[fuzz] FAIL: ${f}`);
process.exitCode = failed.length > 0 ? 1 : 0;
