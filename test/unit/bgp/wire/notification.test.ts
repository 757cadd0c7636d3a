import { describe, expect, it } from 'vitest';
import { BgpError } from '../../../../bgp/errors.ts';
import {
  decodeMessage,
  decodeRouteRefresh,
  encodeKeepalive,
  encodeRouteRefresh,
} from '../../../../bgp/wire/messages.ts';
import {
  decodeNotification,
  describeNotification,
  encodeHardReset,
  encodeNotification,
  isHardResetCease,
  truncateUtf8,
} from '../../../../bgp/wire/notification.ts';
import {
  CeaseSubcode,
  FsmSubcode,
  HeaderSubcode,
  NotifyCode,
  OpenSubcode,
  RouteRefreshSubcode,
  UpdateSubcode,
} from '../../../../bgp/wire/types.ts';
import { expectWireError, message, OPTS2, toHex } from './helpers.ts';

describe('NOTIFICATION', () => {
  it('decodes code, subcode and a copy of the data', () => {
    const frame = message(3, [3, 10, 1, 2, 3]);
    const n = decodeNotification(frame);
    frame[frame.length - 1] = 0;
    expect(n).toEqual({ type: 'notification', code: 3, subcode: 10, data: Uint8Array.of(1, 2, 3) });
  });

  it('decodes an RFC 8203 shutdown communication (Cease 2 and 4)', () => {
    const text = [...new TextEncoder().encode('maintenance ✓')];
    for (const sub of [2, 4]) {
      const n = decodeNotification(message(3, [6, sub, text.length, ...text]));
      expect(n.shutdownMessage).toBe('maintenance ✓');
    }
    expect(decodeNotification(message(3, [6, 2, 0])).shutdownMessage).toBe('');
  });

  it('leaves shutdownMessage undefined when the communication is malformed or not Cease 2/4', () => {
    expect(decodeNotification(message(3, [6, 2, 5, 0x61])).shutdownMessage).toBeUndefined(); // length overruns
    expect(decodeNotification(message(3, [6, 2, 2, 0xc3, 0x28])).shutdownMessage).toBeUndefined(); // bad UTF-8
    expect(decodeNotification(message(3, [6, 3, 1, 0x61])).shutdownMessage).toBeUndefined();
    expect(decodeNotification(message(3, [6, 2])).shutdownMessage).toBeUndefined();
  });

  it('encodes with the shutdown message as length + UTF-8 (RFC 8203 §2)', () => {
    const bytes = encodeNotification({ code: 6, subcode: 2, shutdownMessage: 'bye' });
    expect(toHex(bytes)).toBe(['ff'.repeat(16), '0019030602', '03627965'].join(''));
    expect(decodeNotification(bytes).shutdownMessage).toBe('bye');
  });

  it('Hard Reset carries the NOTIFICATION it stands for: ErrCode, Subcode, Data (RFC 8538 §3.1)', () => {
    const bytes = encodeHardReset({ code: 6, subcode: 2, shutdownMessage: 'bye' });
    // Cease / Hard Reset (6/9), then Cease / Administrative Shutdown (6/2) with its RFC 9003 text.
    expect(toHex(bytes)).toBe(['ff'.repeat(16), '001b030609', '0602', '03627965'].join(''));
    const n = decodeNotification(bytes);
    expect(n).toMatchObject({
      code: 6,
      subcode: 9,
      encapsulated: { code: 6, subcode: 2, shutdownMessage: 'bye', data: new Uint8Array(0) },
    });
    expect(n.shutdownMessage).toBeUndefined();
    // The whole Data stays in `data`: the decoded message re-encodes to the same bytes.
    expect(toHex(encodeNotification(n))).toBe(toHex(bytes));
    // Not Cease 2/4 inside: data only; fewer than two bytes: nothing encapsulated.
    expect(decodeNotification(message(3, [6, 9, 3, 1, 7])).encapsulated).toEqual({
      code: 3,
      subcode: 1,
      data: Uint8Array.of(7),
    });
    expect(decodeNotification(message(3, [6, 9, 6])).encapsulated).toBeUndefined();
    expect(() => encodeHardReset({ code: 3, subcode: 1, shutdownMessage: 'x' })).toThrow(BgpError);
  });

  it('RFC 8538 §5.1: which Cease subcodes are sent as a Hard Reset', () => {
    const hard = Object.values(CeaseSubcode).filter((c) => isHardResetCease(c));
    expect(hard).toEqual([
      CeaseSubcode.maxPrefixesReached,
      CeaseSubcode.administrativeShutdown,
      CeaseSubcode.peerDeconfigured,
      CeaseSubcode.hardReset,
      CeaseSubcode.bfdDown,
    ]);
  });

  it('truncates the shutdown message to 255 bytes on a UTF-8 boundary (RFC 9003 §2)', () => {
    const text = `a${'€'.repeat(100)}`; // 1 + 300 bytes; 255 would split a 3-byte €
    const encoded = encodeNotification({ code: 6, subcode: 4, shutdownMessage: text });
    expect(encoded.length).toBe(21 + 1 + 1 + 84 * 3);
    const n = decodeNotification(encoded);
    expect(n.data.length).toBe(0); // the communication is not repeated in data
    expect(n.shutdownMessage).toBe(`a${'€'.repeat(84)}`);
    expect(truncateUtf8(new TextEncoder().encode('é'), 1).length).toBe(0);
    expect(truncateUtf8(new TextEncoder().encode('aé'), 2).length).toBe(1);
  });

  it('refuses a shutdown message on other codes and out-of-range codes', () => {
    expect(() => encodeNotification({ code: 6, subcode: 3, shutdownMessage: 'x' })).toThrow(BgpError);
    expect(() => encodeNotification({ code: 256, subcode: 0 })).toThrow(BgpError);
  });

  it('truncates data so the message stays within 4096 bytes', () => {
    const bytes = encodeNotification({ code: 3, subcode: 1, data: new Uint8Array(5000) });
    expect(bytes.length).toBe(4096);
    expect(decodeNotification(bytes).data.length).toBe(4096 - 21);
  });

  it('describes every code/subcode of the catalog by its RFC name', () => {
    expect(describeNotification(6, 2)).toBe('Cease / Administrative Shutdown');
    expect(describeNotification(4, 0)).toBe('Hold Timer Expired');
    expect(describeNotification(3, 11)).toBe('UPDATE Message Error / Malformed AS_PATH');
    expect(describeNotification(6, 99)).toBe('Cease / subcode 99');
    expect(describeNotification(42, 1)).toBe('Unknown error code 42 / subcode 1');
    const tables: [number, Record<string, number>][] = [
      [NotifyCode.messageHeader, HeaderSubcode],
      [NotifyCode.openMessage, OpenSubcode],
      [NotifyCode.updateMessage, UpdateSubcode],
      [NotifyCode.fsm, FsmSubcode],
      [NotifyCode.cease, CeaseSubcode],
      [NotifyCode.routeRefresh, RouteRefreshSubcode],
    ];
    for (const [code, subs] of tables) {
      for (const sub of Object.values(subs)) {
        expect(describeNotification(code, sub)).not.toMatch(/subcode|Unknown/);
      }
    }
  });
});

describe('KEEPALIVE and ROUTE-REFRESH', () => {
  it('KEEPALIVE is the 19-byte header', () => {
    expect(toHex(encodeKeepalive())).toBe(`${'ff'.repeat(16)}001304`);
    expect(decodeMessage(encodeKeepalive(), OPTS2)).toEqual({ type: 'keepalive' });
  });

  it('ROUTE-REFRESH carries AFI, subtype, SAFI (RFC 2918 §3, RFC 7313 §3)', () => {
    const bytes = encodeRouteRefresh({ afi: 2, safi: 1, subtype: 1 });
    expect(toHex(bytes)).toBe(['ff'.repeat(16), '001705', '00020101'].join(''));
    expect(decodeMessage(bytes, OPTS2)).toEqual({ type: 'routeRefresh', afi: 2, safi: 1, subtype: 1 });
  });

  it('flags an unknown subtype for the caller to ignore (RFC 7313 §5)', () => {
    expect(decodeRouteRefresh(message(5, [0, 1, 7, 1]))).toEqual({
      type: 'routeRefresh',
      afi: 1,
      safi: 1,
      subtype: 0,
      unknownSubtype: 7,
    });
  });

  it('a ROUTE-REFRESH of the wrong length is ROUTE-REFRESH / Invalid Message Length with the message', () => {
    const m = message(5, [0, 1, 1]);
    expectWireError(() => decodeMessage(m, OPTS2), 7, 1, [...m]);
  });

  it('decodeMessage rejects a frame whose header length disagrees with its size', () => {
    const m = encodeKeepalive();
    expectWireError(() => decodeMessage(Uint8Array.from([...m, 0]), OPTS2), 1, 2, [0, 19]);
  });
});
