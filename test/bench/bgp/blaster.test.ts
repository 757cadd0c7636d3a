// The ingest benchmark's sender checked against a real receiver: BIRD 2 in a namespace must accept every
// prefix the blaster encodes, with the attributes feed.ts says each prefix carries. If this fails, the
// bench's numbers mean nothing. Needs root and bird2; skipped with the reason otherwise.

import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNsPair, RUN_PREFIX } from '../lib/netns.ts';
import { waitFor } from '../lib/poll.ts';
import { Teardown } from '../lib/teardown.ts';
import { parseRouteCount } from './birdc.ts';
import { startBlasterProcess } from './blaster-process.ts';
import { encodeFeed } from './encode.ts';
import { attrSet, attrSetOf, lastSentPrefixIndex, prefixText, RECEIVER_ASN, SENDER_ASN } from './feed.ts';
import { type StartedBird, startBird } from './receivers/bird.ts';

const N = 2000;
const ATTR_SETS = 1000;

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces';
  try {
    execFileSync('bird', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'bird (bird2) is not installed';
  }
  return undefined;
}
const skip = skipReason();
if (skip) console.warn(`blaster.test.ts skipped: ${skip}`);

describe('encodeFeed', () => {
  it('packs every prefix once into UPDATEs of at most 4096 bytes, one attribute set each', () => {
    const feed = encodeFeed({ n: N, attrSets: ATTR_SETS, nextHop: '192.0.2.1', chunkBytes: 10_000 });
    expect(feed.prefixes).toBe(N);
    let at = 0;
    let updates = 0;
    while (at < feed.bytes.length) {
      const len = feed.bytes.readUInt16BE(at + 16);
      expect(len).toBeLessThanOrEqual(4096);
      expect(feed.bytes[at + 18]).toBe(2);
      at += len;
      updates++;
    }
    expect(at).toBe(feed.bytes.length);
    expect(updates).toBe(feed.updates);
    // Chunks tile the buffer and end on message boundaries.
    expect(feed.chunks.reduce((s, c) => s + c.length, 0)).toBe(feed.bytes.length);
  });
});

describe.skipIf(skip !== undefined)('blaster → BIRD 2 in a network namespace', () => {
  const teardown = new Teardown();
  let bird: StartedBird;

  beforeAll(async () => {
    const ns = await createNsPair(teardown, 'bt');
    const dir = await mkdtemp(join(tmpdir(), `${RUN_PREFIX}blaster-test-`));
    teardown.add(`directory ${dir}`, () => rm(dir, { recursive: true, force: true }));
    bird = await startBird({
      teardown,
      ns,
      dir,
      receiverAsn: RECEIVER_ASN,
      senderAsn: SENDER_ASN,
      startTimeoutMs: 5000,
      n: N,
      attrSets: ATTR_SETS,
    });
    const blaster = startBlasterProcess(teardown, {
      netns: ns.sender,
      n: N,
      attrSets: ATTR_SETS,
      localAddress: ns.senderAddress,
      peerAddress: ns.receiverAddress,
      asn: SENDER_ASN,
      logFile: join(dir, 'blaster.log'),
    });
    await blaster.sent;
    await waitFor('BIRD to import all prefixes', async () => ((await bird.count()) >= N ? true : undefined), {
      timeoutMs: 5000,
      intervalMs: 10,
    });
  });

  afterAll(async () => {
    expect(await teardown.run()).toEqual([]);
  });

  it('BIRD holds exactly N routes for N networks', async () => {
    expect(await bird.count()).toBe(N);
    expect(parseRouteCount(await bird.control.command('show route count'))).toEqual({
      routes: N,
      networks: N,
    });
    await bird.verify();
  });

  it('each prefix carries the AS path, MED and communities of its attribute set', async () => {
    for (const i of [0, 1, 2, 3, 998, 999, 1000, 1501, lastSentPrefixIndex(N, ATTR_SETS)]) {
      const set = attrSet(attrSetOf(i, ATTR_SETS));
      const reply = await bird.control.command(`show route ${prefixText(i)} all`);
      expect(reply, prefixText(i)).toMatch(new RegExp(`BGP.as_path: ${set.asPath.join(' ')}\\n`));
      expect(reply, prefixText(i)).toMatch(new RegExp(`BGP.med: ${set.med}\\n`));
      const communities = set.communities.map(([a, v]) => `(${a},${v})`).join(' ');
      expect(reply, prefixText(i)).toContain(`BGP.community: ${communities}\n`);
      expect(reply).toContain('BGP.next_hop: 192.0.2.1');
    }
  });

  it('the table shows all attribute sets', async () => {
    const all = await bird.control.command('show route all');
    const meds = new Set([...all.matchAll(/BGP\.med: (\d+)/g)].map((m) => m[1]));
    const paths = new Set([...all.matchAll(/BGP\.as_path: ([\d ]+)/g)].map((m) => m[1]));
    const communities = new Set([...all.matchAll(/BGP\.community: (.+)/g)].map((m) => m[1]));
    expect(meds.size).toBe(ATTR_SETS);
    expect(paths.size).toBeGreaterThan(100);
    expect(communities.size).toBeGreaterThan(100);
  });
});
