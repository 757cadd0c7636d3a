// Margay's BFD table (RFC 5880 asynchronous mode, RFC 5881 single hop) against BIRD 2's
// `protocol bfd` and FRR's bfdd, in network namespaces, IPv4 and IPv6: sessions come Up, a link
// cut in the peer's namespace (iptables dropping our packets) takes them Down within the
// Detection Time, they come back when the cut heals, and AdminDown is seen by the peer.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Transition } from '../../bgp/bfd/session.ts';
import type { BfdPeer, BfdSessionStatus } from '../../bgp/bfd/table.ts';
import { startBfdd } from './bfdd.ts';
import { type BirdHandle, type FrrHandle, Lab, startBird, startFrr, waitFor } from './lib/index.ts';
import { LineChild } from './speaker-process.ts';

/** The BFD table child (bfd-child.ts) inside a namespace; its events are state changes. */
class BfdProcess extends LineChild {
  readonly changes: { key: string; at: number; transition: Transition }[] = [];

  constructor(ns: string, logFile: string) {
    super('BFD', ns, logFile, [join(import.meta.dirname, 'bfd-child.ts')]);
  }

  protected override onEvent(msg: Record<string, unknown>): void {
    const { event, key, at, transition } = msg as {
      event?: string;
      key?: string;
      at?: number;
      transition?: Transition;
    };
    if (event === 'change' && key !== undefined && at !== undefined && transition !== undefined)
      this.changes.push({ key, at, transition });
  }

  add(key: string, spec: BfdPeer): Promise<unknown> {
    return this.request('add', { key, spec });
  }

  status(key: string): Promise<BfdSessionStatus> {
    return this.request<BfdSessionStatus>('status', { key });
  }

  /** Waits until `key` is in `state`. */
  waitState(key: string, state: string, timeoutMs = 15_000): Promise<BfdSessionStatus> {
    return waitFor(() => this.status(key), {
      describe: `our BFD session ${key} ${state}`,
      until: (s) => s?.state === state,
      timeoutMs,
    });
  }

  /**
   * Waits for a change of `key` to `to` among the changes from index `from` on: a session that
   * goes Down while the peer still reaches it moves on to Init at once, so its state alone can
   * miss the Down.
   */
  waitChange(key: string, to: string, from: number): Promise<{ at: number; transition: Transition }> {
    return waitFor(
      () => this.changes.slice(from).find((c) => c.key === key && c.transition.to === to) ?? null,
      { describe: `our BFD session ${key} to ${to}`, until: (c) => c !== null, timeoutMs: 5_000 },
    ) as Promise<{ at: number; transition: Transition }>;
  }
}

const TIMERS_100 = { desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, detectMult: 3 };

/** Drops, in `ns`, everything from `from` (a link cut as the ToR sees it), or lifts the drop. */
async function cut(lab: Lab, ns: string, from: string, on: boolean): Promise<void> {
  const rule = [on ? '-I' : '-D', 'INPUT', '-s', from, '-j', 'DROP'];
  await lab.exec(ns, from.includes(':') ? ['ip6tables-nft', ...rule] : ['iptables-nft', ...rule]);
}

interface BirdBfdSession {
  readonly address: string;
  readonly state: string;
}

/** `birdc show bfd sessions`: IP address, interface, state, since, interval, timeout. */
async function birdBfdSessions(bird: BirdHandle): Promise<BirdBfdSession[]> {
  const out = await bird.birdc('show bfd sessions');
  const rows: BirdBfdSession[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*([0-9a-f.:]+)\s+\S+\s+(Up|Down|Init|AdminDown)\b/i.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) rows.push({ address: m[1], state: m[2] });
  }
  return rows;
}

async function waitBird(bird: BirdHandle, address: string, state: string): Promise<void> {
  await waitFor(() => birdBfdSessions(bird), {
    describe: `BIRD's BFD session with ${address} ${state}`,
    until: (rows) => rows.some((r) => r.address === address && r.state === state),
    timeoutMs: 15_000,
  });
}

describe('BFD ↔ BIRD 2 protocol bfd (IPv4 + IPv6)', () => {
  const lab = new Lab();
  let bird: BirdHandle;
  let margay: BfdProcess | undefined;
  let m = '';
  let b = '';

  beforeAll(async () => {
    m = await lab.addNamespace('m');
    b = await lab.addNamespace('b');
    await lab.connect(
      { ns: m, ifname: 'to-b', ipv4: '192.0.2.1/24', ipv6: '2001:db8::1/64' },
      { ns: b, ifname: 'to-m', ipv4: '192.0.2.2/24', ipv6: '2001:db8::2/64' },
    );
    bird = await startBird(
      lab,
      b,
      [
        'router id 192.0.2.2;',
        'protocol device {}',
        'protocol bfd {',
        '  interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };',
        '  neighbor 192.0.2.1;',
        '  neighbor 2001:db8::1;',
        '}',
        '',
      ].join('\n'),
    );
    margay = new BfdProcess(m, join(lab.dir, 'bfd-margay.log'));
    await margay.started;
    await margay.add('b4', { peer: '192.0.2.2', local: '192.0.2.1', timers: TIMERS_100 });
    await margay.add('b6', { peer: '2001:db8::2', local: '2001:db8::1', timers: TIMERS_100 });
  });

  afterAll(async () => {
    margay?.kill();
    await margay?.exited;
    await lab.teardown();
  });

  test('both sessions come Up on both sides, at the configured intervals', async () => {
    const s4 = await margay!.waitState('b4', 'Up');
    const s6 = await margay!.waitState('b6', 'Up');
    await waitBird(bird, '192.0.2.1', 'Up');
    await waitBird(bird, '2001:db8::1', 'Up');
    for (const s of [s4, s6]) {
      expect(s.remoteDiscriminator).not.toBe(0);
      expect(s.remoteDetectMult).toBe(3);
    }
    // Once the Poll that follows Up is answered, both sides run at TIMERS_100's interval.
    const settled = await waitFor(() => margay!.status('b4'), {
      describe: 'b4 at 100 ms both ways',
      until: (s) => s.txIntervalUs === 100_000 && s.remoteDesiredMinTxUs === 100_000,
    });
    expect(settled.detectionTimeMs).toBe(300);
  });

  test('a cut in the peer namespace takes our session Down within the Detection Time', async () => {
    for (const [key, addr] of [
      ['b4', '192.0.2.1'],
      ['b6', '2001:db8::1'],
    ] as const) {
      await margay!.waitState(key, 'Up');
      const before = margay!.changes.length;
      // Cutting in BIRD's namespace: BIRD stops hearing us, goes Down and tells us so; packets
      // from BIRD still reach us, so our side goes Down by BIRD's Down (diag 3) or by expiry.
      await cut(lab, b, addr, true);
      const cutAt = await margay!.request<number>('now');
      try {
        const down = await margay!.waitChange(key, 'Down', before);
        // The bound: BIRD's Detection Time (its multiplier × its interval), one interval more for
        // its Down packet, and room for reading our state.
        expect(down.at - cutAt).toBeLessThan(300 + 100 + 200);
        await waitBird(bird, addr, 'Down');
      } finally {
        await cut(lab, b, addr, false);
      }
      await margay!.waitState(key, 'Up');
      await waitBird(bird, addr, 'Up');
    }
  });

  test('a packet that arrives with a TTL below 255 is dropped, one with 255 is taken', async () => {
    await lab.exec(b, ['ip', 'addr', 'add', '192.0.2.3/24', 'dev', 'to-m']);
    await margay!.add('probe', { peer: '192.0.2.3', local: '192.0.2.1', timers: TIMERS_100 });
    // A Down packet from discriminator 0x0a0b0c0d, written out by hand (RFC 5880 §4.1).
    const down = '20400318 0a0b0c0d 00000000 000f4240 000f4240 00000000'.replaceAll(' ', '');
    const send = (ttl: number) =>
      lab.exec(b, [
        process.execPath,
        '-e',
        `const s = require('node:dgram').createSocket('udp4');
         s.bind(50000, '192.0.2.3', () => { s.setTTL(${ttl});
           s.send(Buffer.from('${down}', 'hex'), 3784, '192.0.2.1', (e) => { if (e) throw e; s.close(); }); });`,
      ]);
    await send(254);
    await send(64);
    // The peer's own packets set the pace: wait until ours have gone out a few times.
    await waitFor(() => margay!.status('probe'), {
      describe: 'probe sent 3 packets',
      until: (s) => s.packetsSent >= 3,
    });
    const ignored = await margay!.status('probe');
    expect(ignored).toMatchObject({ state: 'Down', packetsReceived: 0, remoteDiscriminator: 0 });
    await send(255);
    const taken = await waitFor(() => margay!.status('probe'), {
      describe: 'probe took the TTL 255 packet',
      until: (s) => s.packetsReceived === 1,
    });
    expect(taken).toMatchObject({ state: 'Init', remoteDiscriminator: 0x0a0b0c0d });
    await margay!.request('remove', { key: 'probe' });
  });

  test('AdminDown on our side is seen by BIRD as the neighbour signalling down', async () => {
    await margay!.request('admin', { key: 'b4', down: true });
    await waitBird(bird, '192.0.2.1', 'Down');
    const s = await margay!.status('b4');
    expect(s).toMatchObject({ state: 'AdminDown', diag: 'administrativelyDown' });
    await margay!.request('admin', { key: 'b4', down: false });
    await margay!.waitState('b4', 'Up');
    await waitBird(bird, '192.0.2.1', 'Up');
  });
});

describe('BFD with a stalled event loop', () => {
  const lab = new Lab();
  let margay: BfdProcess | undefined;

  beforeAll(async () => {
    const m = await lab.addNamespace('m');
    const b = await lab.addNamespace('b');
    await lab.connect(
      { ns: m, ifname: 'to-b', ipv4: '192.0.2.1/24' },
      { ns: b, ifname: 'to-m', ipv4: '192.0.2.2/24' },
    );
    // BIRD sends at its short min tx interval but asks us for one packet per its long min rx
    // interval: it tolerates our stall, and keeps sending to us throughout it.
    await startBird(
      lab,
      b,
      [
        'router id 192.0.2.2;',
        'protocol device {}',
        'protocol bfd {',
        '  interface "*" { min rx interval 2000 ms; min tx interval 100 ms; multiplier 3; };',
        '  neighbor 192.0.2.1;',
        '}',
        '',
      ].join('\n'),
    );
    margay = new BfdProcess(m, join(lab.dir, 'bfd-margay.log'));
    await margay.started;
    await margay.add('b4', { peer: '192.0.2.2', local: '192.0.2.1', timers: TIMERS_100 });
  });

  afterAll(async () => {
    margay?.kill();
    await margay?.exited;
    await lab.teardown();
  });

  test('packets that arrived during a stall count before the Detection Time is checked', async () => {
    await waitFor(() => margay!.status('b4'), {
      describe: 'b4 Up, detecting over 3 x 100 ms',
      until: (s) => s.state === 'Up' && s.detectionTimeMs === 300,
    });
    const before = margay!.changes.length;
    // Three Detection Times without running: BIRD's packets wait in the socket meanwhile.
    await margay!.request('block', { ms: 1_000 });
    const after = await margay!.status('b4');
    expect(after.state).toBe('Up');
    expect(margay!.changes.slice(before)).toEqual([]);
  });
});

interface FrrBfdPeer {
  readonly peer: string;
  readonly status: string;
  readonly diagnostic: string;
  readonly 'remote-diagnostic': string;
  readonly 'remote-id': number;
  readonly 'remote-receive-interval': number;
  readonly 'remote-transmit-interval': number;
}

async function waitFrr(frr: FrrHandle, address: string, status: string): Promise<FrrBfdPeer> {
  const peers = await waitFor(() => frr.vtyshJson<FrrBfdPeer[]>('show bfd peers json'), {
    describe: `FRR's BFD peer ${address} ${status}`,
    until: (ps) => ps.some((p) => p.peer === address && p.status === status),
    timeoutMs: 15_000,
  });
  const found = peers.find((p) => p.peer === address);
  if (found === undefined) throw new Error(`no FRR BFD peer ${address}`);
  return found;
}

describe('BFD ↔ FRR bfdd (IPv4 + IPv6)', () => {
  const lab = new Lab();
  let frr: FrrHandle;
  let margay: BfdProcess | undefined;
  let f = '';

  beforeAll(async () => {
    const m = await lab.addNamespace('m');
    f = await lab.addNamespace('f');
    await lab.connect(
      { ns: m, ifname: 'to-f', ipv4: '198.51.100.1/24', ipv6: '2001:db8:1::1/64' },
      { ns: f, ifname: 'to-m', ipv4: '198.51.100.2/24', ipv6: '2001:db8:1::2/64' },
    );
    // zebra and bgpd as the lab starts them, then bfdd beside them on the same zebra socket.
    frr = await startFrr(lab, f, 'hostname bgpd\n');
    await startBfdd(lab, frr, [
      { address: '198.51.100.1', local: '198.51.100.2', ifname: 'to-m', intervalMs: 100 },
      { address: '2001:db8:1::1', local: '2001:db8:1::2', ifname: 'to-m', intervalMs: 100 },
    ]);
    margay = new BfdProcess(m, join(lab.dir, 'bfd-margay.log'));
    await margay.started;
    await margay.add('f4', { peer: '198.51.100.2', local: '198.51.100.1', timers: TIMERS_100 });
    await margay.add('f6', { peer: '2001:db8:1::2', local: '2001:db8:1::1', timers: TIMERS_100 });
  });

  afterAll(async () => {
    margay?.kill();
    await margay?.exited;
    await lab.teardown();
  });

  test('both sessions come Up on both sides, at the configured intervals', async () => {
    for (const [key, ours] of [
      ['f4', '198.51.100.1'],
      ['f6', '2001:db8:1::1'],
    ] as const) {
      const s = await margay!.waitState(key, 'Up');
      const theirs = await waitFrr(frr, ours, 'up');
      expect(theirs['remote-id']).toBe(s.localDiscriminator);
      expect(s.remoteDiscriminator).not.toBe(0);
      // FRR shows our intervals in ms once our Poll after Up is answered.
      const settled = await waitFor(() => frr.vtyshJson<FrrBfdPeer[]>('show bfd peers json'), {
        describe: `FRR sees our 100 ms for ${ours}`,
        until: (ps) => ps.some((p) => p.peer === ours && p['remote-transmit-interval'] === 100),
      });
      expect(settled.find((p) => p.peer === ours)?.['remote-receive-interval']).toBe(100);
    }
  });

  test('a cut in the peer namespace takes our session Down within the Detection Time', async () => {
    for (const [key, addr] of [
      ['f4', '198.51.100.1'],
      ['f6', '2001:db8:1::1'],
    ] as const) {
      await margay!.waitState(key, 'Up');
      const before = margay!.changes.length;
      await cut(lab, f, addr, true);
      const cutAt = await margay!.request<number>('now');
      try {
        const down = await margay!.waitChange(key, 'Down', before);
        expect(down.at - cutAt).toBeLessThan(300 + 100 + 200);
        await waitFrr(frr, addr, 'down');
      } finally {
        await cut(lab, f, addr, false);
      }
      await margay!.waitState(key, 'Up');
      await waitFrr(frr, addr, 'up');
    }
  });

  test('AdminDown on our side shows in FRR as the neighbour signalling down', async () => {
    await margay!.request('admin', { key: 'f4', down: true });
    const p = await waitFrr(frr, '198.51.100.1', 'down');
    expect(p['remote-diagnostic']).toBe('administratively down');
    await margay!.request('admin', { key: 'f4', down: false });
    await margay!.waitState('f4', 'Up');
    await waitFrr(frr, '198.51.100.1', 'up');
  });

  test('our session goes Down with diag 1 when FRR stops sending altogether', async () => {
    // Dropping FRR's packets on our side: nothing tells us, only the Detection Time does.
    const m = lab.namespaces.find((ns) => ns.endsWith('m'));
    if (m === undefined) throw new Error('no m namespace');
    await margay!.waitState('f4', 'Up');
    await cut(lab, m, '198.51.100.2', true);
    try {
      const s = await margay!.waitState('f4', 'Down', 5_000);
      expect(s.diag).toBe('controlDetectionTimeExpired');
    } finally {
      await cut(lab, m, '198.51.100.2', false);
    }
    await margay!.waitState('f4', 'Up');
  });

  test('closing our table sends AdminDown to every peer before the sockets close', async () => {
    for (const [key, ours] of [
      ['f4', '198.51.100.1'],
      ['f6', '2001:db8:1::1'],
    ] as const) {
      await margay!.waitState(key, 'Up');
      await waitFrr(frr, ours, 'up');
    }
    margay!.child.stdin?.end();
    expect(await margay!.exited).toBe(0);
    for (const ours of ['198.51.100.1', '2001:db8:1::1']) {
      const p = await waitFrr(frr, ours, 'down');
      expect(p['remote-diagnostic']).toBe('administratively down');
    }
  });
});
