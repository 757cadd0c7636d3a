// RFC 7606 outcomes that depend on the session, end to end through a speaker: the session tells
// the decoder whether the peer is external (from the two OPENs), so LOCAL_PREF, ORIGINATOR_ID and
// CLUSTER_LIST from an eBGP peer are discarded and from an iBGP peer kept, or treat-as-withdraw
// when malformed (RFC 7606 §7.5, §7.9, §7.10); AS 0 in AS_PATH is treat-as-withdraw (RFC 7607
// §2). Each outcome is published on the updateError channel with the prefixes it touched.
import { afterEach, describe, expect, test } from 'vitest';
import { DiagnosticChannel } from '../../../../bgp/speaker/diagnostics.ts';
import type { Speaker } from '../../../../bgp/speaker/speaker.ts';
import { collect, portOf, RawPeer, startSpeaker, stateOf, stopAll, waitFor } from '../speaker/helpers.ts';
import { hex } from '../wire/helpers.ts';

const raws: RawPeer[] = [];
afterEach(async () => {
  await stopAll();
  await Promise.all(raws.splice(0).map((r) => r.close()));
});

const PEER_AS = 64513;

/** A speaker of AS `localAsn` and a raw peer of AS 64513 at 127.0.0.1, Established. */
async function establish(localAsn: number): Promise<{ speaker: Speaker; raw: RawPeer }> {
  const speaker = await startSpeaker({ asn: localAsn, routerId: '192.0.2.1' }, [
    { address: '127.0.0.1', asn: PEER_AS, passive: true },
  ]);
  const raw = await RawPeer.connect(portOf(speaker));
  raws.push(raw);
  raw.sendOpen({ asn: PEER_AS, routerId: '192.0.2.9', holdTime: 90 });
  await waitFor(() => raw.received.some((m) => m.type === 'open'), 'the speaker OPEN');
  raw.sendKeepalive();
  await waitFor(() => stateOf(speaker) === 'Established', 'Established');
  return { speaker, raw };
}

// The UPDATEs, byte by byte (4-octet AS numbers): header (marker, length, type 2), Withdrawn
// Routes Length 0, Total Path Attribute Length, attributes, NLRI.
const MARKER = 'ffffffffffffffffffffffffffffffff';
const ORIGIN_IGP = '40010100';
const AS_PATH_64513 = '4002060201' + '0000fc01';
const AS_PATH_64513_0 = '40020a0202' + '0000fc01' + '00000000';
const NEXT_HOP = '400304' + 'c0000202'; // 192.0.2.2
/** A NEXT_HOP in "this network", 0.0.0.0/8 (RFC 1122 §3.2.1.3): not a host address. */
const NEXT_HOP_0_1_2_200 = '400304' + '000102c8';
/** AS_CONFED_SEQUENCE 65501, then AS_SEQUENCE 64513. */
const AS_PATH_CONFED_64513 = '40020c0301' + '0000ffdd' + '0201' + '0000fc01';
/** LOCAL_PREF with a 3-byte value (RFC 7606 §7.5: the length must be 4). */
const LOCAL_PREF_3 = '400503' + '000001';
const ORIGINATOR_ID = '800904' + '0a000009'; // 10.0.0.9
const CLUSTER_LIST = '800a04' + '0a000001'; // 10.0.0.1

function frame(attrs: string, nlri: string): Uint8Array {
  const attrLength = attrs.length / 2;
  const length = 19 + 4 + attrLength + nlri.length / 2;
  const h16 = (n: number) => n.toString(16).padStart(4, '0');
  return hex(`${MARKER}${h16(length)}02 0000 ${h16(attrLength)}${attrs}${nlri}`);
}
const NLRI_198_18_1 = '18c61201';
const NLRI_198_18_0 = '18c61200';
const NLRI_198_18_2 = '18c61202';

describe('RFC 7606 by session type, and AS 0, through the speaker', () => {
  test('eBGP: a 3-byte LOCAL_PREF is discarded and the route installed without it', async () => {
    const errors = collect(DiagnosticChannel.updateError);
    try {
      const { speaker, raw } = await establish(64512);
      raw.send(frame(ORIGIN_IGP + AS_PATH_64513 + NEXT_HOP + LOCAL_PREF_3, NLRI_198_18_1));
      const path = await waitFor(() => speaker.routes({ prefix: '198.18.1.0/24' })[0], '198.18.1.0/24');
      expect(path).toMatchObject({ asPath: '64513', nextHop: '192.0.2.2', fromPeer: '127.0.0.1' });
      expect(errors.messages).toEqual([
        expect.objectContaining({
          address: '127.0.0.1',
          typeCode: 5,
          action: 'attribute-discard',
          prefixes: 1,
        }),
      ]);
      expect(stateOf(speaker)).toBe('Established');
    } finally {
      errors.close();
    }
  });

  test('iBGP: the same UPDATE is treat-as-withdraw, the route not installed', async () => {
    const errors = collect(DiagnosticChannel.updateError);
    try {
      const { speaker, raw } = await establish(PEER_AS);
      raw.send(frame(ORIGIN_IGP + AS_PATH_64513 + NEXT_HOP + LOCAL_PREF_3, NLRI_198_18_1));
      await waitFor(() => errors.messages.length > 0, 'the update error');
      expect(errors.messages).toEqual([
        expect.objectContaining({
          address: '127.0.0.1',
          typeCode: 5,
          action: 'treat-as-withdraw',
          prefixes: 1,
        }),
      ]);
      expect(speaker.routes({ prefix: '198.18.1.0/24' })).toEqual([]);
      expect(stateOf(speaker)).toBe('Established');
    } finally {
      errors.close();
    }
  });

  test('eBGP: well-formed ORIGINATOR_ID and CLUSTER_LIST are discarded; iBGP keeps them', async () => {
    const update = frame(ORIGIN_IGP + AS_PATH_64513 + NEXT_HOP + ORIGINATOR_ID + CLUSTER_LIST, NLRI_198_18_1);
    const ebgp = await establish(64512);
    ebgp.raw.send(update);
    const external = await waitFor(
      () => ebgp.speaker.routes({ prefix: '198.18.1.0/24' })[0],
      'the eBGP route',
    );
    expect(external.originatorId).toBeUndefined();
    expect(external.clusterList).toEqual([]);
    await stopAll();

    const ibgp = await establish(PEER_AS);
    ibgp.raw.send(update);
    const internal = await waitFor(
      () => ibgp.speaker.routes({ prefix: '198.18.1.0/24' })[0],
      'the iBGP route',
    );
    expect(internal.originatorId).toBe('10.0.0.9');
    expect(internal.clusterList).toEqual(['10.0.0.1']);
  });

  test('AS 0 in AS_PATH withdraws the route it was sent for and is reported (RFC 7607 §2)', async () => {
    const errors = collect(DiagnosticChannel.updateError);
    try {
      const { speaker, raw } = await establish(64512);
      raw.send(frame(ORIGIN_IGP + AS_PATH_64513 + NEXT_HOP, NLRI_198_18_0));
      await waitFor(() => speaker.routes({ prefix: '198.18.0.0/24' })[0], 'the good route');
      raw.send(frame(ORIGIN_IGP + AS_PATH_64513_0 + NEXT_HOP, NLRI_198_18_0));
      await waitFor(() => speaker.routes({ prefix: '198.18.0.0/24' }).length === 0, 'the route withdrawn');
      expect(errors.messages).toEqual([
        expect.objectContaining({
          address: '127.0.0.1',
          typeCode: 2,
          action: 'treat-as-withdraw',
          prefixes: 1,
        }),
      ]);
      expect(stateOf(speaker)).toBe('Established');
    } finally {
      errors.close();
    }
  });

  test('from eBGP, NEXT_HOP 0.1.2.200 and a confederation segment withdraw their routes, which never reach iBGP', async () => {
    const errors = collect(DiagnosticChannel.updateError);
    try {
      // The speaker (AS 64512) with an external peer at 127.0.0.1 and an internal one at 127.0.0.2.
      const speaker = await startSpeaker({ asn: 64512, routerId: '192.0.2.1' }, [
        { address: '127.0.0.1', asn: PEER_AS, passive: true },
        { address: '127.0.0.2', asn: 64512, passive: true },
      ]);
      const external = await RawPeer.connect(portOf(speaker));
      const internal = await RawPeer.connect(portOf(speaker), '127.0.0.2');
      raws.push(external, internal);
      external.sendOpen({ asn: PEER_AS, routerId: '192.0.2.9', holdTime: 90 });
      internal.sendOpen({ asn: 64512, routerId: '192.0.2.8', holdTime: 90 });
      await waitFor(() => external.received.some((m) => m.type === 'open'), 'the OPEN to eBGP');
      await waitFor(() => internal.received.some((m) => m.type === 'open'), 'the OPEN to iBGP');
      external.sendKeepalive();
      internal.sendKeepalive();
      await waitFor(() => stateOf(speaker) === 'Established', 'eBGP Established');
      await waitFor(() => stateOf(speaker, '127.0.0.2') === 'Established', 'iBGP Established');

      external.send(frame(ORIGIN_IGP + AS_PATH_64513 + NEXT_HOP_0_1_2_200, NLRI_198_18_0));
      external.send(frame(ORIGIN_IGP + AS_PATH_CONFED_64513 + NEXT_HOP, NLRI_198_18_2));
      // A good route last: once the internal peer has it, the speaker has handled the two above.
      external.send(frame(ORIGIN_IGP + AS_PATH_64513 + NEXT_HOP, NLRI_198_18_1));
      const sent = () =>
        internal.received.flatMap((m) =>
          m.type === 'update'
            ? m.reach.flatMap((b) => b.prefixes.toArray().map((p) => `${p} via ${b.nextHop}`))
            : [],
        );
      await waitFor(() => sent().includes('198.18.1.0/24 via 192.0.2.2'), 'the good route at the iBGP peer');
      expect(sent()).toEqual(['198.18.1.0/24 via 192.0.2.2']);
      expect(speaker.routes({ prefix: '198.18.0.0/24' })).toEqual([]);
      expect(speaker.routes({ prefix: '198.18.2.0/24' })).toEqual([]);
      expect(errors.messages).toEqual([
        expect.objectContaining({
          address: '127.0.0.1',
          typeCode: 3,
          action: 'treat-as-withdraw',
          prefixes: 1,
        }),
        expect.objectContaining({
          address: '127.0.0.1',
          typeCode: 2,
          action: 'treat-as-withdraw',
          prefixes: 1,
        }),
      ]);
    } finally {
      errors.close();
    }
  });

  test('iBGP: a confederation segment is kept (the peer shares our AS, so our confederation)', async () => {
    const { speaker, raw } = await establish(PEER_AS);
    raw.send(frame(ORIGIN_IGP + AS_PATH_CONFED_64513 + NEXT_HOP, NLRI_198_18_2));
    const path = await waitFor(() => speaker.routes({ prefix: '198.18.2.0/24' })[0], '198.18.2.0/24');
    expect(path.asPath).toBe('(65501) 64513');
  });
});
