// Adj-RIB-Out: grouping by exported attributes, coalescing, budgets, End-of-RIB after the
// initial dump (RFC 4724), pull notifications, session reset, route refresh, export interning.
import { describe, expect, it } from 'vitest';
import { announce, drain, makeRib, type PeerSpec, peer, plainBatch, seq, withdraw } from './helpers.ts';

const SRC: PeerSpec = { id: '192.0.2.1', asn: 65001 };
const DST: PeerSpec = { id: '192.0.2.2', asn: 65002 };
const p = (i: number) => `10.${i}.0.0/16`;

/** A RIB whose two sessions are up and drained (initial EoR taken). */
function ready() {
  const t = makeRib([SRC, DST]);
  drain(t.rib, SRC.id);
  drain(t.rib, DST.id);
  t.pending.length = 0;
  return t;
}

describe('grouping', () => {
  it('prefixes with identical exported attributes come out in one group', () => {
    const { rib } = ready();
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(1), p(2)], attrs: { asPath: [seq(65001)] } }));
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(3)], attrs: { asPath: [seq(65001, 7)] } }));
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(4)], attrs: { asPath: [seq(65001)] } }));
    const [batch] = drain(rib, DST.id);
    expect(batch?.announced.map((g) => g.prefixes.toArray())).toEqual([[p(1), p(2), p(4)], [p(3)]]);
    expect(batch?.announced[0]?.attrs.attrs.asPath).toEqual([seq(65000, 65001)]);
    expect(batch?.announced[0]?.attrs.nextHop).toBe('192.0.2.254');
    expect(batch?.withdrawn.toArray()).toEqual([]);
  });

  it('different source attributes that export identically share a group (MED stripped for eBGP)', () => {
    const { rib } = ready();
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(1)], attrs: { asPath: [seq(65001)], med: 1 } }));
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(2)], attrs: { asPath: [seq(65001)], med: 2 } }));
    const [batch] = drain(rib, DST.id);
    expect(batch?.announced.map((g) => g.prefixes.toArray())).toEqual([[p(1), p(2)]]);
    expect(rib.exportAttrSetCount).toBe(1);
  });
});

describe('coalescing', () => {
  it('only the last state of a prefix changed twice is sent', () => {
    const { rib } = ready();
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(1)], attrs: { asPath: [seq(65001, 1)] } }));
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(1)], attrs: { asPath: [seq(65001, 2)] } }));
    const batches = drain(rib, DST.id);
    expect(batches).toHaveLength(1);
    expect(batches[0]?.announced).toHaveLength(1);
    expect(batches[0]?.announced[0]?.attrs.attrs.asPath).toEqual([seq(65000, 65001, 2)]);
  });

  it('announce then withdraw of a never-sent prefix sends nothing; of a sent one, a withdraw', () => {
    const { rib } = ready();
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(1)], attrs: { asPath: [seq(65001)] } }));
    rib.applyUpdate(SRC.id, withdraw([p(1)]));
    expect(drain(rib, DST.id).map(plainBatch)).toEqual([
      { withdrawn: [], announced: [], endOfRib: false, hasMore: false },
    ]);

    rib.applyUpdate(SRC.id, announce({ prefixes: [p(2)], attrs: { asPath: [seq(65001)] } }));
    drain(rib, DST.id);
    rib.applyUpdate(SRC.id, withdraw([p(2)]));
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(2)], attrs: { asPath: [seq(65001, 5)] } }));
    rib.applyUpdate(SRC.id, withdraw([p(2)]));
    const [batch] = drain(rib, DST.id);
    expect(batch?.withdrawn.toArray()).toEqual([p(2)]);
    expect(batch?.announced).toEqual([]);
    expect(rib.peerStats(DST.id).advertised).toBe(0);
    expect(rib.exportAttrSetCount).toBe(0);
  });

  it('a change back to what was sent sends nothing', () => {
    const { rib } = ready();
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(1)], attrs: { asPath: [seq(65001)] } }));
    drain(rib, DST.id);
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(1)], attrs: { asPath: [seq(65001, 9)] } }));
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(1)], attrs: { asPath: [seq(65001)] } }));
    expect(drain(rib, DST.id)[0]?.announced).toEqual([]);
  });
});

describe('initial dump and End-of-RIB', () => {
  it('hands out the whole table, then End-of-RIB exactly once, within the budget', () => {
    const t = makeRib([SRC]);
    const prefixes = Array.from({ length: 10 }, (_, i) => p(i));
    t.rib.applyUpdate(SRC.id, announce({ prefixes, attrs: { asPath: [seq(65001)] } }));
    t.rib.addPeer(peer({ ...DST, families: ['ipv4-unicast'] }));
    t.rib.peerUp(DST.id, { routerId: '2.2.2.2' });
    expect(t.pending).toContain(`${DST.id}/ipv4-unicast`);
    expect(t.rib.isInitialDumpDone(DST.id, 'ipv4-unicast')).toBe(false);
    const batches = drain(t.rib, DST.id, 'ipv4-unicast', 3);
    expect(batches.length).toBe(4);
    for (const b of batches)
      expect(b.announced.flatMap((g) => g.prefixes.toArray()).length).toBeLessThanOrEqual(3);
    expect(batches.flatMap((b) => b.announced.flatMap((g) => g.prefixes.toArray())).sort()).toEqual(
      [...prefixes].sort(),
    );
    expect(batches.map((b) => b.endOfRib)).toEqual([false, false, false, true]);
    expect(t.rib.isInitialDumpDone(DST.id, 'ipv4-unicast')).toBe(true);
    expect(t.rib.takePending(DST.id, 'ipv4-unicast').endOfRib).toBe(false);
  });

  it('an empty table gives End-of-RIB on the first pull, per family', () => {
    const { rib } = makeRib([DST]);
    expect(rib.takePending(DST.id, 'ipv4-unicast')).toMatchObject({ endOfRib: true, hasMore: false });
    expect(rib.takePending(DST.id, 'ipv6-unicast')).toMatchObject({ endOfRib: true, hasMore: false });
    expect(rib.takePending(DST.id, 'ipv4-unicast').endOfRib).toBe(false);
  });

  it('a session reset forgets the Adj-RIB-Out and dumps again with a new End-of-RIB', () => {
    const { rib } = ready();
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(1)], attrs: { asPath: [seq(65001)] } }));
    drain(rib, DST.id);
    expect(rib.peerStats(DST.id).advertised).toBe(1);
    rib.peerDown(DST.id);
    expect(rib.exportAttrSetCount).toBe(0);
    expect(rib.takePending(DST.id, 'ipv4-unicast').hasMore).toBe(false);
    rib.peerUp(DST.id, { routerId: '2.2.2.2' });
    const [batch] = drain(rib, DST.id);
    expect(batch?.announced.flatMap((g) => g.prefixes.toArray())).toEqual([p(1)]);
    expect(batch?.endOfRib).toBe(true);
  });
});

describe('pull notifications and refresh', () => {
  it('onExportPending fires once when a drained Adj-RIB-Out gets work', () => {
    const { rib, pending } = ready();
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(1), p(2)], attrs: { asPath: [seq(65001)] } }));
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(3)], attrs: { asPath: [seq(65001)] } }));
    expect(pending).toEqual([`${DST.id}/ipv4-unicast`]);
    expect(rib.hasPending(DST.id, 'ipv4-unicast')).toBe(true);
    drain(rib, DST.id);
    expect(rib.hasPending(DST.id, 'ipv4-unicast')).toBe(false);
    rib.applyUpdate(SRC.id, withdraw([p(3)]));
    expect(pending).toEqual([`${DST.id}/ipv4-unicast`, `${DST.id}/ipv4-unicast`]);
  });

  it('changes that cannot affect a peer do not wake it (its own routes)', () => {
    const { rib, pending } = ready();
    rib.applyUpdate(DST.id, announce({ prefixes: [p(1)], attrs: { asPath: [seq(65002)] } }));
    expect(pending).toEqual([`${SRC.id}/ipv4-unicast`]);
  });

  it('route refresh re-sends unchanged routes (RFC 2918)', () => {
    const { rib, pending } = ready();
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(1), p(2)], attrs: { asPath: [seq(65001)] } }));
    drain(rib, DST.id);
    pending.length = 0;
    rib.refresh(DST.id, 'ipv4-unicast');
    expect(pending).toEqual([`${DST.id}/ipv4-unicast`]);
    const [batch] = drain(rib, DST.id);
    expect(batch?.announced.flatMap((g) => g.prefixes.toArray())).toEqual([p(1), p(2)]);
    expect(batch?.endOfRib).toBe(false);
    expect(drain(rib, DST.id)[0]?.announced).toEqual([]);
  });
});

describe('changes racing a dump', () => {
  /** Every prefix announced to DST across `batches`, in order, and every withdrawal. */
  const sentIn = (batches: ReturnType<typeof drain>) => ({
    announced: batches.flatMap((b) => b.announced.flatMap((g) => g.prefixes.toArray())),
    withdrawn: batches.flatMap((b) => b.withdrawn.toArray()),
  });

  it('a change behind the dump cursor is sent again, one ahead of it once, a new prefix once', () => {
    const t = makeRib([SRC, DST]);
    drain(t.rib, SRC.id);
    const prefixes = Array.from({ length: 10 }, (_, i) => p(i));
    t.rib.applyUpdate(SRC.id, announce({ prefixes, attrs: { asPath: [seq(65001)] } }));
    const first = [t.rib.takePending(DST.id, 'ipv4-unicast', 3)];
    expect(sentIn(first).announced).toEqual([p(0), p(1), p(2)]);
    // p(1) was dumped already; p(8) is ahead of the cursor; p(9), ahead, is withdrawn; p(20) is new.
    t.rib.applyUpdate(SRC.id, announce({ prefixes: [p(1), p(8)], attrs: { asPath: [seq(65001, 7)] } }));
    t.rib.applyUpdate(SRC.id, withdraw([p(9)]));
    t.rib.applyUpdate(SRC.id, announce({ prefixes: [p(20)], attrs: { asPath: [seq(65001)] } }));
    const rest = sentIn(drain(t.rib, DST.id));
    expect(rest.announced.filter((x) => x === p(1))).toHaveLength(1);
    expect(rest.announced.filter((x) => x === p(8))).toHaveLength(1);
    expect(rest.announced).toContain(p(20));
    expect(rest.announced).not.toContain(p(9));
    expect(rest.withdrawn).toEqual([]);
    const advertised = t.rib.advertised(DST.id, 'ipv4-unicast');
    expect([...advertised.keys()].sort()).toEqual([...prefixes.filter((x) => x !== p(9)), p(20)].sort());
    expect(advertised.get(p(1))?.attrs.asPath).toEqual([seq(65000, 65001, 7)]);
    expect(advertised.get(p(8))?.attrs.asPath).toEqual([seq(65000, 65001, 7)]);
  });

  it('a sent prefix withdrawn ahead of a route-refresh cursor is withdrawn (the cursor skips holes)', () => {
    const { rib } = ready();
    const prefixes = Array.from({ length: 10 }, (_, i) => p(i));
    rib.applyUpdate(SRC.id, announce({ prefixes, attrs: { asPath: [seq(65001)] } }));
    drain(rib, DST.id);
    rib.refresh(DST.id, 'ipv4-unicast');
    expect(sentIn([rib.takePending(DST.id, 'ipv4-unicast', 3)]).announced).toEqual([p(0), p(1), p(2)]);
    rib.applyUpdate(SRC.id, withdraw([p(7)]));
    const rest = sentIn(drain(rib, DST.id));
    expect(rest.withdrawn).toEqual([p(7)]);
    expect(rest.announced).toEqual(prefixes.slice(3).filter((x) => x !== p(7)));
    expect(rib.advertised(DST.id, 'ipv4-unicast').has(p(7))).toBe(false);
  });

  it('a prefix evaluated from the dirty set and changed again is evaluated again', () => {
    const { rib } = ready();
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(1), p(2), p(3)], attrs: { asPath: [seq(65001)] } }));
    expect(sentIn([rib.takePending(DST.id, 'ipv4-unicast', 2)]).announced).toEqual([p(1), p(2)]);
    // p(1) is done, p(3) still pending: both change; p(1) must come round again, p(3) once.
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(1), p(3)], attrs: { asPath: [seq(65001, 9)] } }));
    const rest = sentIn(drain(rib, DST.id));
    expect(rest.announced.sort()).toEqual([p(1), p(3)]);
    expect(rib.hasPending(DST.id, 'ipv4-unicast')).toBe(false);
    rib.applyUpdate(SRC.id, withdraw([p(1)]));
    expect(sentIn(drain(rib, DST.id)).withdrawn).toEqual([p(1)]);
  });
});

describe('without a best-path listener (a block of new prefixes is not reported one by one)', () => {
  /** `ready()` with the listener removed, as the standalone speaker runs when nobody watches. */
  function quiet() {
    const t = ready();
    t.rib.setBestPathListener(undefined);
    return t;
  }
  const announcedIn = (batches: ReturnType<typeof drain>) =>
    batches.flatMap((b) => b.announced.flatMap((g) => g.prefixes.toArray()));

  it('a drained peer still gets every new prefix; the sender gets none back', () => {
    const { rib } = quiet();
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(1), p(2), p(3)], attrs: { asPath: [seq(65001)] } }));
    expect(announcedIn(drain(rib, DST.id))).toEqual([p(1), p(2), p(3)]);
    expect(drain(rib, SRC.id).map(plainBatch)).toEqual([
      { withdrawn: [], announced: [], endOfRib: false, hasMore: false },
    ]);
  });

  it('new prefixes racing an initial dump are sent once, after the ones before them', () => {
    const t = makeRib([SRC, DST]);
    t.rib.setBestPathListener(undefined);
    drain(t.rib, SRC.id);
    t.rib.applyUpdate(SRC.id, announce({ prefixes: [p(0), p(1), p(2)], attrs: { asPath: [seq(65001)] } }));
    const first = t.rib.takePending(DST.id, 'ipv4-unicast', 2);
    t.rib.applyUpdate(SRC.id, announce({ prefixes: [p(3), p(4)], attrs: { asPath: [seq(65001)] } }));
    const rest = drain(t.rib, DST.id);
    expect(announcedIn([first, ...rest])).toEqual([p(0), p(1), p(2), p(3), p(4)]);
    expect(rest.at(-1)?.endOfRib).toBe(true);
  });

  it('a sent prefix that comes back as the peer’s own route is withdrawn from it', () => {
    // DST was sent p(1) from SRC; SRC withdraws it and DST announces it before DST's next pull:
    // the prefix is new to the Loc-RIB with DST's own path, and DST must still get a withdraw.
    const { rib } = quiet();
    rib.applyUpdate(SRC.id, announce({ prefixes: [p(1)], attrs: { asPath: [seq(65001)] } }));
    expect(announcedIn(drain(rib, DST.id))).toEqual([p(1)]);
    rib.applyUpdate(SRC.id, withdraw([p(1)]));
    rib.applyUpdate(DST.id, announce({ prefixes: [p(1)], attrs: { asPath: [seq(65002)] } }));
    expect(drain(rib, DST.id).map(plainBatch)).toEqual([
      { withdrawn: [p(1)], announced: [], endOfRib: false, hasMore: false },
    ]);
    expect(rib.peerStats(DST.id).advertised).toBe(0);
    expect(announcedIn(drain(rib, SRC.id))).toEqual([p(1)]);
  });
});
