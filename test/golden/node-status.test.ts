// `margayctl node status` (default output) against the text `calicoctl node status` prints, byte
// for byte, blank lines included. Provenance: each node-status/NAME.txt re-states an example from
// the calicoctl node status reference page or output operators posted in calicoctl issues, typed
// here by hand (never produced by the code under test); NAME.json is the peer list and the clock
// and time zone that give those SINCE values. The loader refuses an empty or unpaired folder.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { calicoNodeStatus, type PeerJson } from '../../src/ctl/status.ts';

const DIR = join(import.meta.dirname, 'node-status');

interface Fixture {
  readonly about: string;
  readonly tz: string;
  readonly now: string;
  readonly peers: readonly Partial<PeerJson>[];
}

const full = (p: Partial<PeerJson>): PeerJson => ({
  address: '192.0.2.2',
  asn: 64512,
  type: 'ibgp',
  routeReflectorClient: false,
  state: 'Established',
  since: '2026-11-21T00:00:00Z',
  holdTime: 90,
  keepalive: 30,
  capabilities: { local: [], remote: [] },
  families: [],
  prefixes: { received: 0, accepted: 0, advertised: 0 },
  messages: { in: 0, out: 0, updatesIn: 0, updatesOut: 0 },
  ...p,
});

const names = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -'.json'.length))
  .sort();

const savedTz = process.env.TZ;
afterAll(() => {
  if (savedTz === undefined) delete process.env.TZ;
  else process.env.TZ = savedTz;
});

describe('margayctl node status prints what calicoctl prints', () => {
  it('finds its fixtures, each with its expected text', () => {
    expect(names.length).toBeGreaterThanOrEqual(5);
    const texts = readdirSync(DIR).filter((f) => f.endsWith('.txt'));
    expect(texts.sort()).toEqual(names.map((n) => `${n}.txt`));
  });

  it.each(names)('%s', (name) => {
    const fixture = JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as Fixture;
    const expected = readFileSync(join(DIR, `${name}.txt`), 'utf8');
    // SINCE is local time: the fixture fixes the zone (Node reads TZ again when it changes).
    process.env.TZ = fixture.tz;
    expect(calicoNodeStatus(fixture.peers.map(full), new Date(fixture.now))).toBe(expected);
  });
});
