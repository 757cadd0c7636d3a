// RFC 4271 §6.8 connection collision resolution, from both sides of the same collision:
// the two speakers must close the SAME TCP connection, or both sessions die.
import { describe, expect, it } from 'vitest';
import {
  bgpIdToNumber,
  type CollisionConnection,
  type CollisionInput,
  resolveCollision,
  step,
} from '../../../../bgp/fsm/index.ts';
import { config, env, fmtAll, reach } from './fixtures.ts';

const OUT_OC: CollisionConnection = { direction: 'outgoing', state: 'OpenConfirm' };
const IN_OS: CollisionConnection = { direction: 'incoming', state: 'OpenSent' };

/** Which TCP connection dies, named by the speaker that initiated it. */
function loserInitiator(self: string, input: CollisionInput): string | null {
  const d = resolveCollision(input);
  if (d.kind === 'noCollision') return null;
  return d.closeDirection === 'outgoing' ? self : String(input.remoteId);
}

describe('resolveCollision (RFC 4271 §6.8)', () => {
  it('local id lower: close our own connection (the existing outgoing one), keep the peer’s', () => {
    const d = resolveCollision({
      localId: '10.0.0.1',
      remoteId: '10.0.0.2',
      existing: OUT_OC,
      arriving: IN_OS,
    });
    expect(d).toEqual({
      kind: 'close',
      close: 'existing',
      closeDirection: 'outgoing',
      rule: 'bgpIdentifier',
      code: 6,
      subcode: 7,
    });
  });

  it('local id higher: close the newly arrived connection the peer initiated', () => {
    const d = resolveCollision({
      localId: '10.0.0.2',
      remoteId: '10.0.0.1',
      existing: OUT_OC,
      arriving: IN_OS,
    });
    expect(d).toMatchObject({ kind: 'close', close: 'arriving', closeDirection: 'incoming' });
  });

  it('both speakers close the same connection: the one initiated by the lower identifier', () => {
    const a = '192.0.2.10';
    const b = '192.0.2.9'; // lower as a number, higher as a string
    // A's view: A's outgoing connection in OpenConfirm, B's connection arrives.
    const aLoser = loserInitiator(a, { localId: a, remoteId: b, existing: OUT_OC, arriving: IN_OS });
    // B's view of the same two connections, in the other order.
    const bLoser = loserInitiator(b, {
      localId: b,
      remoteId: a,
      existing: { direction: 'incoming', state: 'OpenConfirm' },
      arriving: { direction: 'outgoing', state: 'OpenSent' },
    });
    expect(aLoser).toBe(b);
    expect(bLoser).toBe(b);
  });

  it('compares identifiers as unsigned 32-bit numbers', () => {
    expect(bgpIdToNumber('255.255.255.255')).toBe(0xffffffff);
    expect(bgpIdToNumber('128.0.0.1')).toBeGreaterThan(bgpIdToNumber('1.0.0.1'));
    expect(bgpIdToNumber('10.0.0.300')).toBeNaN();
    // 200.0.0.1 is negative as int32; it must still win over 10.0.0.1.
    const d = resolveCollision({
      localId: '200.0.0.1',
      remoteId: '10.0.0.1',
      existing: OUT_OC,
      arriving: IN_OS,
    });
    expect(d).toMatchObject({ close: 'arriving', closeDirection: 'incoming' });
    const n = resolveCollision({
      localId: 0xc8000001,
      remoteId: 0x0a000001,
      existing: OUT_OC,
      arriving: IN_OS,
    });
    expect(n).toEqual(d);
  });

  it('an Established connection always wins against a new one', () => {
    const pairs: [string, string][] = [
      ['10.0.0.1', '10.0.0.2'],
      ['10.0.0.2', '10.0.0.1'],
    ];
    for (const [localId, remoteId] of pairs) {
      const d = resolveCollision({
        localId,
        remoteId,
        existing: { direction: 'outgoing', state: 'Established' },
        arriving: IN_OS,
      });
      expect(d).toMatchObject({ kind: 'close', close: 'arriving', rule: 'established' });
    }
  });

  it('no collision with a connection that has not exchanged OPEN (Idle, Connect, Active)', () => {
    for (const state of ['Idle', 'Connect', 'Active'] as const) {
      const d = resolveCollision({
        localId: '10.0.0.1',
        remoteId: '10.0.0.2',
        existing: { direction: 'outgoing', state },
        arriving: IN_OS,
      });
      expect(d).toEqual({ kind: 'noCollision' });
    }
  });

  it('equal identifiers: the larger AS number keeps its connection (RFC 6286 §2.3), else keep the existing', () => {
    const base = { localId: '10.0.0.1', remoteId: '10.0.0.1', existing: OUT_OC, arriving: IN_OS };
    expect(resolveCollision({ ...base, localAsn: 65001, remoteAsn: 65002 })).toMatchObject({
      close: 'existing',
      closeDirection: 'outgoing',
      rule: 'asNumber',
    });
    expect(resolveCollision({ ...base, localAsn: 65002, remoteAsn: 65001 })).toMatchObject({
      close: 'arriving',
      closeDirection: 'incoming',
      rule: 'asNumber',
    });
    expect(resolveCollision(base)).toMatchObject({ close: 'arriving', rule: 'identicalIdentifiers' });
  });

  it('the losing FSM sends Cease / Connection Collision Resolution and goes Idle', () => {
    const cfg = config();
    for (const name of ['OpenSent', 'OpenConfirm'] as const) {
      const r = step(cfg, reach(cfg, name), { type: 'OpenCollisionDump' }, env(5_000));
      expect(fmtAll(r.actions)[0]).toBe('notify 6/7');
      expect(r.reason).toEqual({
        kind: 'collision',
        code: 6,
        subcode: 7,
        message: 'Error: Connection collision resolution',
      });
    }
  });
});
