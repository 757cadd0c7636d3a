// The fuzz oracle against hand-built messages whose RFC outcome is stated here, case by case, and
// the case generator against the oracle: every valid message it builds must be judged clean.
import { describe, expect, test } from 'vitest';
import type { ApiPath } from './api.ts';
import {
  type Attr,
  concat,
  frame,
  ipv4Bytes,
  ipv6Bytes,
  MessageType,
  openBody,
  prefixBytes,
  u16,
  u32,
  updateBody,
} from './bytes.ts';
import {
  generateCase,
  PEERS,
  plainAnnouncement,
  preAnnouncement,
  SPEAKER,
  SUBNET,
  withdrawals,
} from './cases.ts';
import { observedState, PeerModel } from './model.ts';
import { judgeOpen, judgeUpdate, type SessionContext, type Verdict } from './oracle.ts';

const EBGP: SessionContext = {
  ebgp: true,
  localAs: 64512,
  localId: '198.51.100.1',
  localAddress: '198.51.100.1',
  peerAs: 65001,
  peerAddress: '198.51.100.2',
  sharedSubnet: [ipv4Bytes('198.51.100.0'), 24],
  families: ['ipv4', 'ipv6'],
};
const IBGP: SessionContext = { ...EBGP, ebgp: false, peerAs: 64512, peerAddress: '198.51.100.3' };

const a = (flags: number, type: number, value: number[] | Uint8Array): Attr => ({
  flags,
  type,
  value: Uint8Array.from(value),
});
const ORIGIN = a(0x40, 1, [0]);
const pathOf = (...asns: number[]) => a(0x40, 2, concat([Uint8Array.of(2, asns.length), ...asns.map(u32)]));
const NH = a(0x40, 3, [198, 51, 100, 2]);
const P = '10.1.2.0/24';

function update(attrs: Attr[], o: { nlri?: string[]; withdrawn?: string[] } = {}): Uint8Array {
  return frame(
    MessageType.update,
    updateBody({
      withdrawn: concat((o.withdrawn ?? []).map(prefixBytes)),
      attrs,
      nlri: concat((o.nlri ?? [P]).map(prefixBytes)),
    }),
  );
}

function kinds(v: Verdict): Record<string, string> {
  return Object.fromEntries([...v.prefixes].map(([p, e]) => [p, e.states.map((s) => s.kind).join('|')]));
}

const codes = (v: Verdict) => v.codes.map((n) => `${n.code}/${n.subcode ?? '*'}`);

describe('oracle: UPDATE (RFC 4271 §6.3, RFC 7606)', () => {
  test('a well-formed UPDATE installs its prefix with its attributes', () => {
    const v = judgeUpdate(update([ORIGIN, pathOf(65001, 65010), NH, a(0xc0, 8, [0xfd, 0xe9, 0, 7])]), EBGP);
    expect(v.reset).toBe('forbidden');
    expect(v.treatAsWithdraw).toBe(false);
    const e = v.prefixes.get(P);
    expect(e?.states).toEqual([
      {
        kind: 'installed',
        attrs: {
          origin: 'igp',
          asPath: '65001 65010',
          nextHop: '198.51.100.2',
          localPref: 100,
          communities: [65001 * 65536 + 7],
          largeCommunities: [],
          extendedCommunities: 0,
          clusterList: [],
        },
      },
    ]);
  });

  test.each([
    ['ORIGIN value 3 (§7.1)', [a(0x40, 1, [3]), pathOf(65001), NH]],
    ['ORIGIN of 2 octets (§7.1)', [a(0x40, 1, [0, 0]), pathOf(65001), NH]],
    ['AS_PATH segment type 7 (§7.2)', [ORIGIN, a(0x40, 2, [7, 1, 0, 0, 0xfd, 0xe9]), NH]],
    ['AS_PATH segment length 0 (§7.2)', [ORIGIN, a(0x40, 2, [2, 0]), NH]],
    ['AS_PATH segment overrunning it (§7.2)', [ORIGIN, a(0x40, 2, [2, 2, 0, 0, 0xfd, 0xe9]), NH]],
    [
      'AS_PATH with one octet after the last segment (§7.2)',
      [ORIGIN, a(0x40, 2, [2, 1, 0, 0, 0xfd, 0xe9, 2]), NH],
    ],
    ['AS 0 in the AS_PATH (RFC 7607 §2)', [ORIGIN, pathOf(65001, 0), NH]],
    [
      'an AS_CONFED_SEQUENCE from an external peer (RFC 5065 §5)',
      [ORIGIN, a(0x40, 2, [3, 1, 0, 0, 0xff, 0xdd, 2, 1, 0, 0, 0xfd, 0xe9]), NH],
    ],
    ['NEXT_HOP of 5 octets (§7.3)', [ORIGIN, pathOf(65001), a(0x40, 3, [1, 2, 3, 4, 5])]],
    ['NEXT_HOP 0.0.0.0 (RFC 4271 §6.3)', [ORIGIN, pathOf(65001), a(0x40, 3, [0, 0, 0, 0])]],
    ['NEXT_HOP 0.1.2.3, "this network" (RFC 4271 §6.3)', [ORIGIN, pathOf(65001), a(0x40, 3, [0, 1, 2, 3])]],
    ['NEXT_HOP 224.0.0.5 (RFC 4271 §6.3)', [ORIGIN, pathOf(65001), a(0x40, 3, [224, 0, 0, 5])]],
    ['MULTI_EXIT_DISC of 3 octets (§7.4)', [ORIGIN, pathOf(65001), NH, a(0x80, 4, [0, 0, 1])]],
    ['COMMUNITIES of 3 octets (§7.8)', [ORIGIN, pathOf(65001), NH, a(0xc0, 8, [0, 0, 1])]],
    ['COMMUNITIES empty (§7.8)', [ORIGIN, pathOf(65001), NH, a(0xc0, 8, [])]],
    [
      'extended communities of 7 octets (§7.14)',
      [ORIGIN, pathOf(65001), NH, a(0xc0, 16, [0, 2, 0, 1, 0, 0, 0])],
    ],
    [
      'large communities of 8 octets (RFC 8092 §6)',
      [ORIGIN, pathOf(65001), NH, a(0xc0, 32, [0, 0, 0, 1, 0, 0, 0, 2])],
    ],
    ['ORIGIN marked optional (§3.c)', [a(0xc0, 1, [0]), pathOf(65001), NH]],
    ['COMMUNITIES marked well-known (§3.c)', [ORIGIN, pathOf(65001), NH, a(0x40, 8, [0, 0, 0, 1])]],
    ['ORIGIN missing (§3.d)', [pathOf(65001), NH]],
    ['AS_PATH missing (§3.d)', [ORIGIN, NH]],
    ['NEXT_HOP missing with IPv4 NLRI (§3.d)', [ORIGIN, pathOf(65001)]],
  ])('%s → treat-as-withdraw, the session stays', (_name, attrs) => {
    const v = judgeUpdate(update(attrs as Attr[]), EBGP);
    expect(v.reset === 'required').toBe(false);
    expect(v.treatAsWithdraw).toBe(true);
    expect(kinds(v)).toEqual({ [P]: 'absent' });
  });

  test('the last attribute overrunning the attributes → treat-as-withdraw, the NLRI still found (§4)', () => {
    const body = updateBody({
      withdrawn: new Uint8Array(0),
      attrs: [
        ORIGIN,
        pathOf(65001),
        NH,
        { flags: 0xc0, type: 8, value: Uint8Array.of(0, 0), claimedLength: 200 },
      ],
      nlri: new Uint8Array(0),
    });
    const v = judgeUpdate(frame(MessageType.update, concat([body, prefixBytes(P)])), EBGP);
    expect(v.treatAsWithdraw).toBe(true);
    expect(kinds(v)).toEqual({ [P]: 'absent' });
  });

  test.each([
    ['ATOMIC_AGGREGATE of 1 octet (§7.6)', a(0x40, 6, [1])],
    ['AGGREGATOR of 7 octets (§7.7)', a(0xc0, 7, [0, 0, 0xfd, 0xe9, 10, 0, 0])],
    ['AGGREGATOR with AS 0 (RFC 7607 §2)', a(0xc0, 7, [0, 0, 0, 0, 10, 0, 0, 1])],
    ['LOCAL_PREF of 3 octets from an external peer (§7.5)', a(0x40, 5, [0, 0, 1])],
    ['ORIGINATOR_ID from an external peer (§7.9)', a(0x80, 9, [10, 0, 0, 1])],
    ['AS4_PATH from a NEW speaker (RFC 6793 §4.1)', a(0xc0, 17, [2, 1, 0, 0, 0xff, 0xff])],
  ])('%s → attribute discard, the route installed', (_name, extra) => {
    const v = judgeUpdate(update([ORIGIN, pathOf(65001), NH, extra]), EBGP);
    expect(v.reset).toBe('forbidden');
    expect(v.treatAsWithdraw).toBe(false);
    expect(v.discards).toBe(1);
    expect(kinds(v)).toEqual({ [P]: 'installed' });
  });

  test('LOCAL_PREF of 3 octets from an internal peer → treat-as-withdraw (§7.5)', () => {
    const v = judgeUpdate(update([ORIGIN, pathOf(), NH, a(0x40, 5, [0, 0, 1])]), IBGP);
    expect(v.treatAsWithdraw).toBe(true);
  });

  test('a repeated COMMUNITIES: the first is kept (§3.g)', () => {
    const v = judgeUpdate(
      update([ORIGIN, pathOf(65001), NH, a(0xc0, 8, [0, 1, 0, 1]), a(0xc0, 8, [0, 1, 0, 2])]),
      EBGP,
    );
    expect(v.discards).toBe(1);
    const s = v.prefixes.get(P)?.states[0];
    expect(s?.kind === 'installed' && s.attrs.communities).toEqual([0x00010001]);
  });

  const mpReach = (nhLen: number, nh: Uint8Array, nlri: Uint8Array) =>
    a(0x80, 14, concat([u16(2), Uint8Array.of(1, nhLen), nh, Uint8Array.of(0), nlri]));
  const V6 = '2001:db8:5::/48';

  test.each([
    [
      'an unrecognized well-known attribute (RFC 4271 §6.3)',
      [ORIGIN, pathOf(65001), NH, a(0x40, 0xf2, [1])],
      ['3/2'],
    ],
    [
      'MP_REACH_NLRI twice (§3.g)',
      [
        mpReach(16, ipv6Bytes('2001:db8::1'), prefixBytes(V6)),
        mpReach(16, ipv6Bytes('2001:db8::1'), prefixBytes(V6)),
        ORIGIN,
        pathOf(65001),
      ],
      ['3/1'],
    ],
    [
      'MP_REACH_NLRI with an IPv6 next-hop length of 5 (§7.11)',
      [mpReach(5, ipv6Bytes('2001:db8::1').subarray(0, 5), prefixBytes(V6)), ORIGIN, pathOf(65001)],
      ['3/9'],
    ],
    [
      'MP_REACH_NLRI with a /129 (§5.3)',
      [mpReach(16, ipv6Bytes('2001:db8::1'), Uint8Array.of(129, 1)), ORIGIN, pathOf(65001)],
      ['3/9'],
    ],
  ])('%s → session reset', (_name, attrs, expected) => {
    const v = judgeUpdate(update(attrs as Attr[], { nlri: [] }), EBGP);
    expect(v.reset).toBe('required');
    expect(codes(v)).toEqual(expected);
  });

  test('an MP_REACH_NLRI overrunning the attributes cannot be parsed → session reset (§3)', () => {
    const body = updateBody({
      withdrawn: new Uint8Array(0),
      attrs: [{ flags: 0x80, type: 14, value: Uint8Array.of(0, 2, 1, 16), claimedLength: 60 }],
      nlri: new Uint8Array(0),
    });
    expect(judgeUpdate(frame(MessageType.update, body), EBGP).reset).toBe('required');
  });

  test('two octets left after the attributes, whatever their type → treat-as-withdraw (§4)', () => {
    const body = updateBody({
      withdrawn: new Uint8Array(0),
      attrs: [ORIGIN, pathOf(65001), NH],
      nlri: new Uint8Array(0),
    });
    const attrLen = body[3] ?? 0;
    const b = concat([u16(0), u16(attrLen + 2), body.subarray(4), Uint8Array.of(0x80, 15), prefixBytes(P)]);
    const v = judgeUpdate(frame(MessageType.update, b), EBGP);
    expect(v.reset).toBe('forbidden');
    expect(v.treatAsWithdraw).toBe(true);
    expect(kinds(v)).toEqual({ [P]: 'absent' });
  });

  test('an MP_REACH_NLRI for a family not negotiated is ignored or resets', () => {
    const v = judgeUpdate(
      update([a(0x80, 14, [0, 25, 65, 4, 1, 2, 3, 4, 0]), ORIGIN, pathOf(65001), NH]),
      EBGP,
    );
    expect(v.reset).toBe('allowed');
    expect(kinds(v)).toEqual({ [P]: 'installed' });
  });

  test('IPv6 in MP_REACH_NLRI: next hop from the attribute, no NEXT_HOP needed (RFC 4760 §3)', () => {
    const v = judgeUpdate(
      update(
        [
          mpReach(32, concat([ipv6Bytes('2001:db8::1'), ipv6Bytes('fe80::1')]), prefixBytes(V6)),
          ORIGIN,
          pathOf(65001),
        ],
        { nlri: [] },
      ),
      EBGP,
    );
    const s = v.prefixes.get(V6)?.states[0];
    expect(s?.kind === 'installed' && s.attrs.nextHop).toBe('2001:db8::1');
  });

  test.each([
    ['Withdrawn Routes Length past the message', (b: Uint8Array) => b.set(u16(300), 19), ['3/1']],
    ['Total Path Attribute Length past the message', (b: Uint8Array) => b.set(u16(500), 21), ['3/1']],
  ])('%s → 3/1 (RFC 4271 §6.3)', (_name, edit, expected) => {
    const b = update([ORIGIN, pathOf(65001), NH]);
    edit(b);
    expect(codes(judgeUpdate(b, EBGP))).toEqual(expected);
  });

  test('an NLRI prefix length of 33 → 3/10 (RFC 4271 §6.3)', () => {
    const b = frame(
      MessageType.update,
      updateBody({
        withdrawn: new Uint8Array(0),
        attrs: [ORIGIN, pathOf(65001), NH],
        nlri: Uint8Array.of(33, 10, 0, 0, 0, 0),
      }),
    );
    expect(codes(judgeUpdate(b, EBGP))).toEqual(['3/10']);
  });

  test.each([
    ['Length 18', (b: Uint8Array) => b.set(u16(18), 16), ['1/2'], '0012'],
    ['Length 4097', (b: Uint8Array) => b.set(u16(4097), 16), ['1/2'], '1001'],
    ['a marker octet that is not 0xff', (b: Uint8Array) => b.set([0xfe], 3), ['1/1'], undefined],
    ['type 9', (b: Uint8Array) => b.set([9], 18), ['1/3'], '09'],
  ])('header: %s (RFC 4271 §6.1)', (_name, edit, expected, data) => {
    const b = update([ORIGIN, pathOf(65001), NH]);
    edit(b);
    const v = judgeUpdate(b, EBGP);
    expect(codes(v)).toEqual(expected);
    expect(v.codes[0]?.data).toBe(data);
  });

  test('a prefix both withdrawn and announced counts as announced (RFC 4271 §4.3)', () => {
    expect(kinds(judgeUpdate(update([ORIGIN, pathOf(65001), NH], { withdrawn: [P] }), EBGP))).toEqual({
      [P]: 'installed',
    });
  });

  test('semantics: our AS in the path, our address as NEXT_HOP → ignored (SHOULD)', () => {
    for (const attrs of [
      [ORIGIN, pathOf(65001, 64512), NH],
      [ORIGIN, pathOf(65001), a(0x40, 3, [198, 51, 100, 1])],
    ]) {
      const e = judgeUpdate(update(attrs), EBGP).prefixes.get(P);
      expect(e?.level).toBe('SHOULD');
      expect(e?.states.map((s) => s.kind)).toEqual(['absent', 'rejected']);
    }
  });
});

describe('oracle: OPEN (RFC 4271 §6.2)', () => {
  const ctx = { ebgp: true, expectedPeerAs: 65001, localId: '198.51.100.1' };
  const caps = (...cs: [number, number[]][]) => ({
    type: 2,
    value: concat(cs.map(([c, v]) => Uint8Array.of(c, v.length, ...v))),
  });
  const AS4 = [0, 0, 0xfd, 0xe9];
  const open = (o: {
    version?: number;
    myAs?: number;
    hold?: number;
    id?: string;
    params?: { type: number; value: Uint8Array }[];
  }) =>
    frame(
      MessageType.open,
      openBody({
        version: o.version ?? 4,
        myAs: o.myAs ?? 65001,
        holdTime: o.hold ?? 90,
        bgpId: ipv4Bytes(o.id ?? '198.51.100.2'),
        params: o.params ?? [caps([1, [0, 1, 0, 1]], [65, AS4])],
      }),
    );

  test('a valid OPEN is accepted; an unknown capability is ignored (RFC 5492 §3)', () => {
    expect(judgeOpen(open({}), ctx).reset).toBe('forbidden');
    expect(judgeOpen(open({ params: [caps([200, [1, 2, 3]], [65, AS4])] }), ctx).reset).toBe('forbidden');
  });

  test.each([
    ['version 3, even with a bad hold time: the version first', { version: 3, hold: 1 }, ['2/1'], '0004'],
    ['My AS 0 (RFC 7607 §2)', { myAs: 0 }, ['2/2'], undefined],
    ['another peer AS', { myAs: 65002, params: [caps([65, [0, 0, 0xfd, 0xea]])] }, ['2/2'], undefined],
    ['4-octet AS capability of 0 (RFC 7607 §2)', { params: [caps([65, [0, 0, 0, 0]])] }, ['2/2'], undefined],
    ['Hold Time 2', { hold: 2 }, ['2/6'], undefined],
    ['BGP Identifier 0 (RFC 6286 §2.2)', { id: '0.0.0.0' }, ['2/3'], undefined],
    [
      'an optional parameter of type 1',
      { params: [{ type: 1, value: Uint8Array.of(0) }, caps([65, AS4])] },
      ['2/4'],
      undefined,
    ],
  ])('%s → reset', (_name, o, expected, data) => {
    const v = judgeOpen(open(o), ctx);
    expect(v.reset).toBe('required');
    expect(codes(v)).toEqual(expected);
    expect(v.codes[0]?.data).toBe(data);
  });

  test('our BGP Identifier: refused on an internal session, either way on an external one (RFC 6286 §2.2)', () => {
    const ours = open({ id: '198.51.100.1', myAs: 64512, params: [caps([65, [0, 0, 0xfc, 0]])] });
    expect(codes(judgeOpen(ours, { ...ctx, ebgp: false, expectedPeerAs: 64512 }))).toEqual(['2/3']);
    expect(judgeOpen(open({ id: '198.51.100.1' }), ctx).reset).toBe('allowed');
  });
});

describe('case generator', () => {
  const ctxOf = (peer: 'ebgp' | 'ibgp'): SessionContext => ({
    ebgp: peer === 'ebgp',
    localAs: SPEAKER.asn,
    localId: SPEAKER.routerId,
    localAddress: SPEAKER.address,
    peerAs: PEERS[peer].asn,
    peerAddress: PEERS[peer].address,
    sharedSubnet: SUBNET,
    families: ['ipv4', 'ipv6'],
  });

  test('pre-announcements, sentinels, final sets and withdrawals are clean UPDATEs', () => {
    for (const peer of ['ebgp', 'ibgp'] as const) {
      const p = PEERS[peer];
      const msgs = [
        preAnnouncement(p, 7),
        plainAnnouncement(p, [p.sentinel], { med: 3 }),
        plainAnnouncement(p, ['10.9.0.0/24', '2001:db8:9::/64'], {
          med: 1,
          communities: [7],
          localPref: 150,
          origin: 1,
        }),
        ...withdrawals(['10.9.0.0/24', '2001:db8:9::/64']),
      ];
      for (const m of msgs) {
        const v = judgeUpdate(m, ctxOf(peer));
        expect(v.rules).toEqual(['a well-formed UPDATE']);
        for (const e of v.prefixes.values()) expect(e.states.map((s) => s.kind)).not.toContain('rejected');
      }
    }
  });

  test('the same seed and index give the same bytes; another seed does not', () => {
    for (let i = 0; i < 50; i++) expect(generateCase(7, i).bytes).toEqual(generateCase(7, i).bytes);
    const differ = Array.from(
      { length: 50 },
      (_, i) => generateCase(8, i).bytes.join() !== generateCase(7, i).bytes.join(),
    );
    expect(differ.filter(Boolean).length).toBeGreaterThan(40);
  });

  test('cases cover resets, treat-as-withdraw, discards and acceptance', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const c = generateCase(11, i);
      if (c.kind === 'open') {
        seen.add(
          `open-${judgeOpen(c.bytes, { ebgp: c.peer === 'ebgp', expectedPeerAs: PEERS[c.peer].asn, localId: SPEAKER.routerId }).reset}`,
        );
        continue;
      }
      const v = judgeUpdate(c.bytes, ctxOf(c.peer));
      seen.add(
        v.reset === 'required'
          ? 'reset'
          : v.treatAsWithdraw
            ? 'taw'
            : v.discards > 0
              ? 'discard'
              : 'accepted',
      );
    }
    expect([...seen].sort()).toEqual([
      'accepted',
      'discard',
      'open-allowed',
      'open-forbidden',
      'open-required',
      'reset',
      'taw',
    ]);
  });
});

describe('model', () => {
  const path = (over: Partial<ApiPath>): ApiPath => ({
    prefix: P,
    family: 'ipv4-unicast',
    nextHop: '198.51.100.2',
    asPath: '65001 {65010 174} (65020)',
    origin: 'igp',
    localPref: 100,
    communities: ['no-export', '65001:7'],
    largeCommunities: [],
    extendedCommunities: [],
    clusterList: [],
    fromPeer: '198.51.100.2',
    reason: 'only-path',
    ...over,
  });

  test('reads the API text forms back: AS_PATH segments, community names, rejected paths', () => {
    const s = observedState(path({}));
    expect(s.kind === 'installed' && s.attrs.asPath).toBe('65001 {174 65010} (65020)');
    expect(s.kind === 'installed' && s.attrs.communities).toEqual([65001 * 65536 + 7, 0xffffff01]);
    expect(observedState(path({ reason: 'rejected: as-path-loop' })).kind).toBe('rejected');
  });

  test('a route the oracle did not expect, or one that lingers, is a mismatch', () => {
    const m = new PeerModel();
    m.apply(judgeUpdate(update([ORIGIN, pathOf(65001), NH]), EBGP), 1);
    expect(m.compare([path({ asPath: '65001', communities: [] })])).toEqual([]);
    expect(
      m
        .compare([path({ asPath: '65001', communities: [] }), path({ prefix: '10.9.9.0/24' })])
        .map((x) => x.prefix),
    ).toEqual(['10.9.9.0/24']);
    m.apply(judgeUpdate(update([], { nlri: [], withdrawn: [P] }), EBGP), 2);
    const left = m.compare([path({ asPath: '65001', communities: [] }), path({ prefix: '10.9.9.0/24' })]);
    expect(left.map((x) => [x.prefix, x.expected.caseIndex])).toEqual([[P, 2]]);
  });
});
