// Prefix limits against BIRD 2 and FRR 8.4 in network namespaces. BIRD: `margay speaker` (the
// CLI, as shipped) with maxPrefix 10 per family and a restart time of 5 s; BIRD announces 12 IPv4
// prefixes on one session and 12 IPv6 prefixes on the other, and keeps announcing them. BIRD's
// timers are short (it retries a connection every 2 s, and after an error within 1..5 s), so it
// knocks again and again while we hold the peer Idle. For two minutes the test watches:
// - sessions come up only when the hold ends, 5 s doubling (5, 10, 20, 40, 80): about five in two
//   minutes per peer, not one per BIRD retry;
// - BIRD's connections during a hold are refused (margay_bgp_connections_refused_total grows);
// - BIRD receives Cease / Maximum Number of Prefixes Reached with AFI, SAFI and the limit;
// - our status, /metrics and `margayctl node status` say why the peer is Idle and until when.
// FRR (below): both actions, teardown on IPv4 and warn on IPv6.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PeerStatus } from '../../bgp/speaker/types.ts';
import { type MargayHandle, startMargay } from './bgp/margay.ts';
import {
  type BirdHandle,
  birdConfig,
  birdProtocol,
  type FrrHandle,
  frrConfig,
  frrNeighbor,
  Lab,
  startBird,
  startFrr,
  waitFor,
} from './lib/index.ts';

const OUR = { asn: 64512, v4: '192.0.2.1', v6: '2001:db8::1' } as const;
const BIRD = { asn: 64513, v4: '192.0.2.2', v6: '2001:db8::2' } as const;
const LIMIT = 10;
const RESTART_AFTER = 5;
const WATCH_MS = 120_000;
const CTL = join(import.meta.dirname, '..', '..', 'src', 'ctl', 'main.ts');

/** Our peerStateChanged log lines for `address` that entered Established. */
function sessionsUp(logFile: string, address: string): number {
  let n = 0;
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('"bgp.peerStateChanged"')) continue;
    const m = JSON.parse(line) as { address?: string; to?: string };
    if (m.address === address && m.to === 'Established') n++;
  }
  return n;
}

/** Our log lines about `address`: event name, time (ms since the epoch), and the state entered. */
function logEvents(logFile: string, address: string): { event: string; time: number; to?: string }[] {
  const out: { event: string; time: number; to?: string }[] = [];
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{')) continue;
    const m = JSON.parse(line) as { event: string; time: string; address?: string; to?: string };
    if (m.address !== address) continue;
    out.push({ event: m.event, time: Date.parse(m.time), ...(m.to !== undefined && { to: m.to }) });
  }
  return out;
}

/** One sample of a metric in Prometheus text (`labels` as rendered, '' for none), or 0 when absent. */
function sample(metrics: string, name: string, labels: string): number {
  const head = labels === '' ? `${name} ` : `${name}{${labels}} `;
  const line = metrics.split('\n').find((l) => l.startsWith(head));
  return line === undefined ? 0 : Number(line.slice(head.length));
}

describe('max-prefix: teardown holds the peer Idle with backoff (BIRD 2, IPv4 and IPv6)', () => {
  const lab = new Lab();
  let bird: BirdHandle;
  let m: MargayHandle;

  beforeAll(async () => {
    const nsM = await lab.addNamespace('m');
    const nsB = await lab.addNamespace('b');
    await lab.connect(
      { ns: nsM, ifname: 'to-b', ipv4: `${OUR.v4}/24`, ipv6: `${OUR.v6}/64` },
      { ns: nsB, ifname: 'to-m', ipv4: `${BIRD.v4}/24`, ipv6: `${BIRD.v6}/64` },
    );
    const routes = Array.from({ length: LIMIT + 2 }, (_, i) => [
      { prefix: `10.60.${i}.0/24` },
      { prefix: `2001:db8:60:${i}::/64` },
    ]).flat();
    bird = await startBird(
      lab,
      nsB,
      birdConfig({
        routerId: BIRD.v4,
        localAs: BIRD.asn,
        staticRoutes: routes,
        neighbors: [
          { name: 'm4', address: OUR.v4, remoteAs: OUR.asn, ipv4: true },
          { name: 'm6', address: OUR.v6, remoteAs: OUR.asn, ipv4: false, ipv6: true },
        ],
      }),
    );
    m = await startMargay(lab, nsM, {
      asn: OUR.asn,
      routerId: OUR.v4,
      peers: [
        {
          address: BIRD.v4,
          asn: BIRD.asn,
          families: ['ipv4-unicast'],
          holdTime: 9,
          maxPrefix: { 'ipv4-unicast': { limit: LIMIT, restartAfterSeconds: RESTART_AFTER } },
        },
        {
          address: BIRD.v6,
          asn: BIRD.asn,
          families: ['ipv6-unicast'],
          holdTime: 9,
          maxPrefix: { 'ipv6-unicast': { limit: LIMIT, restartAfterSeconds: RESTART_AFTER } },
        },
      ],
    });
  });
  afterAll(() => lab.teardown());

  test(
    'over two minutes: sessions only at the end of each doubling hold, BIRD refused meanwhile',
    async () => {
      const started = Date.now();
      // The first teardown of each peer: held Idle, with the reason and the end of the hold.
      const held = async (address: string): Promise<PeerStatus> =>
        waitFor(() => m.peer(address), {
          describe: `${address} held Idle by its prefix limit`,
          until: (p) => p.prefixLimit?.heldIdle !== undefined,
          timeoutMs: 30_000,
        });
      const [v4, v6] = await Promise.all([held(BIRD.v4), held(BIRD.v6)]);
      for (const [p, family] of [
        [v4, 'ipv4-unicast'],
        [v6, 'ipv6-unicast'],
      ] as const) {
        expect(p.state).toBe('Idle');
        expect(p.prefixLimit?.heldIdle).toMatchObject({ family, limit: LIMIT, received: LIMIT + 2 });
        expect(p.lastError).toBe(
          `Maximum number of prefixes reached: ${LIMIT + 2} ${family} prefixes, limit ${LIMIT}`,
        );
        // The API gives the end of the hold as a date.
        expect(Date.parse(String(p.prefixLimit?.heldIdle?.until))).toBeGreaterThan(Date.now() - 1_000);
      }
      // BIRD got our Cease with the RFC 4486 subcode.
      const birdSide = await birdProtocol(bird, 'm4');
      expect(birdSide.lastError).toBe('Received: Maximum number of prefixes reached');
      // BIRD logs the NOTIFICATION's Data: AFI, SAFI and the limit (RFC 4486 §4), 1/1 and 2/1.
      const birdLog = readFileSync(bird.logFile, 'utf8');
      expect(birdLog).toContain('m4: Received: Maximum number of prefixes reached: 0001010000000a');
      expect(birdLog).toContain('m6: Received: Maximum number of prefixes reached: 0002010000000a');

      // `margayctl node status` shows the peer as BIRD would (a started protocol, Idle, the
      // reason after it); `-o wide` says why, and until when.
      const ctl = async (...args: string[]) =>
        (await lab.exec(m.ns, [process.execPath, CTL, 'node', 'status', '--api', '127.0.0.1:9179', ...args]))
          .stdout;
      expect(await ctl()).toMatch(
        new RegExp(
          `\\| ${BIRD.v4.replaceAll('.', '\\.')} +\\| [a-z -]+ +\\| start \\| \\d\\d:\\d\\d:\\d\\d \\| Idle Maximum `,
        ),
      );
      const report = await ctl('-o', 'wide');
      expect(report).toMatch(
        new RegExp(
          `\\| ${BIRD.v4.replaceAll('.', '\\.')} .*\\| Idle: Maximum number of prefixes reached: 12 ipv4-unicast prefixes, limit 10; held until \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ \\|`,
        ),
      );

      // Hold the limit crossed for two minutes in all.
      await new Promise((r) => setTimeout(r, Math.max(0, WATCH_MS - (Date.now() - started))));
      const up4 = sessionsUp(m.logFile, BIRD.v4);
      const up6 = sessionsUp(m.logFile, BIRD.v6);
      // Holds of 5, 10, 20, 40 and 80 s: sessions at about 0, 5, 15, 35 and 75 s (each a second
      // or two later, the time to connect), the sixth only after 155 s.
      for (const up of [up4, up6]) {
        expect(up).toBeGreaterThanOrEqual(4);
        expect(up).toBeLessThanOrEqual(6);
      }
      const { stdout: metrics } = await lab.exec(m.ns, [
        'curl',
        '-sS',
        '--fail',
        'http://127.0.0.1:9179/metrics',
      ]);
      expect(
        sample(
          metrics,
          'margay_bgp_prefix_limit_exceeded_total',
          `peer="${BIRD.v4}",family="ipv4-unicast",action="teardown"`,
        ),
      ).toBe(up4);
      expect(
        sample(
          metrics,
          'margay_bgp_prefix_limit_exceeded_total',
          `peer="${BIRD.v6}",family="ipv6-unicast",action="teardown"`,
        ),
      ).toBe(up6);
      // BIRD knocked during the holds and was turned away.
      expect(sample(metrics, 'margay_bgp_connections_refused_total', '')).toBeGreaterThan(0);
      const last = await m.peer(BIRD.v4);
      expect(last.prefixLimit?.exceeded).toEqual([
        { family: 'ipv4-unicast', action: 'teardown', limit: LIMIT, count: up4 },
      ]);
    },
    WATCH_MS + 40_000,
  );
});

// FRR 8.4 on both actions, in a lab of its own: teardown on the IPv4 session (FRR shows our Cease,
// the peer comes back when the 5 s hold ends and the next hold is 10 s), warn on the IPv6 session
// (it stays Established with every prefix, and the crossing is counted once).
describe('max-prefix against FRR: teardown (IPv4) and warn (IPv6)', () => {
  const lab = new Lab();
  const FRR = { asn: 65002, v4: '192.0.2.3', v6: '2001:db8::3' } as const;
  let frr: FrrHandle;
  let m: MargayHandle;

  beforeAll(async () => {
    const nsM = await lab.addNamespace('m');
    const nsF = await lab.addNamespace('f');
    await lab.connect(
      { ns: nsM, ifname: 'to-f', ipv4: `${OUR.v4}/24`, ipv6: `${OUR.v6}/64` },
      { ns: nsF, ifname: 'to-m', ipv4: `${FRR.v4}/24`, ipv6: `${FRR.v6}/64` },
    );
    frr = await startFrr(
      lab,
      nsF,
      frrConfig({
        routerId: FRR.v4,
        localAs: FRR.asn,
        neighbors: [
          { address: OUR.v4, remoteAs: OUR.asn, ipv4: true },
          { address: OUR.v6, remoteAs: OUR.asn, ipv4: false, ipv6: true },
        ],
        networks: Array.from({ length: LIMIT + 2 }, (_, i) => [
          `10.61.${i}.0/24`,
          `2001:db8:61:${i}::/64`,
        ]).flat(),
      }),
    );
    m = await startMargay(lab, nsM, {
      asn: OUR.asn,
      routerId: OUR.v4,
      peers: [
        {
          address: FRR.v4,
          asn: FRR.asn,
          families: ['ipv4-unicast'],
          holdTime: 9,
          maxPrefix: { 'ipv4-unicast': { limit: LIMIT, restartAfterSeconds: RESTART_AFTER } },
        },
        {
          address: FRR.v6,
          asn: FRR.asn,
          families: ['ipv6-unicast'],
          holdTime: 9,
          maxPrefix: { 'ipv6-unicast': { limit: LIMIT, action: 'warn' } },
        },
      ],
    });
  });
  afterAll(() => lab.teardown());

  test('teardown: FRR gets the Cease, the peer is back after 5 s and held 10 s the next time', async () => {
    const first = await waitFor(() => m.peer(FRR.v4), {
      describe: `${FRR.v4} held Idle`,
      until: (p) => p.prefixLimit?.heldIdle !== undefined,
      timeoutMs: 30_000,
    });
    expect(first.prefixLimit?.heldIdle).toMatchObject({ seconds: RESTART_AFTER, received: LIMIT + 2 });
    const n = await frrNeighbor(frr, OUR.v4);
    expect(n.state).not.toBe('Established');
    expect(n.raw.lastNotificationReason).toBe('Cease/Maximum Number of Prefixes Reached');
    const second = await waitFor(() => m.peer(FRR.v4), {
      describe: `${FRR.v4} held Idle again, for twice as long`,
      until: (p) => p.prefixLimit?.heldIdle?.seconds === 2 * RESTART_AFTER,
      timeoutMs: 20_000,
    });
    expect(second.prefixLimit?.exceeded).toEqual([
      { family: 'ipv4-unicast', action: 'teardown', limit: LIMIT, count: 2 },
    ]);
    // No session during the first hold: the next one starts when the hold ends.
    const events = logEvents(m.logFile, FRR.v4);
    const firstDown = events.find((e) => e.event === 'bgp.prefixLimit');
    const nextUp = events.find((e) => e.to === 'Established' && e.time > (firstDown?.time ?? Infinity));
    expect(nextUp?.time).toBeGreaterThanOrEqual((firstDown?.time ?? 0) + RESTART_AFTER * 1000);
  }, 40_000);

  test('warn: the IPv6 session stays up with every prefix; one crossing counted', async () => {
    const p = await waitFor(() => m.peer(FRR.v6), {
      describe: `${FRR.v6} Established with ${LIMIT + 2} prefixes`,
      until: (x) => x.state === 'Established' && x.prefixes.received === LIMIT + 2,
    });
    expect(p.prefixLimit).toEqual({
      exceeded: [{ family: 'ipv6-unicast', action: 'warn', limit: LIMIT, count: 1 }],
    });
    const { stdout: metrics } = await lab.exec(m.ns, [
      'curl',
      '-sS',
      '--fail',
      'http://127.0.0.1:9179/metrics',
    ]);
    expect(
      sample(
        metrics,
        'margay_bgp_prefix_limit_exceeded_total',
        `peer="${FRR.v6}",family="ipv6-unicast",action="warn"`,
      ),
    ).toBe(1);
    expect(readFileSync(m.logFile, 'utf8')).toMatch(/"bgp\.prefixLimit".*"action":"warn"/);
    expect(sessionsUp(m.logFile, FRR.v6)).toBe(1);
  });
});
