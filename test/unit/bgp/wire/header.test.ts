import { describe, expect, it } from 'vitest';
import { FrameReader } from '../../../../bgp/wire/frame-reader.ts';
import { readHeader } from '../../../../bgp/wire/header.ts';
import { encodeKeepalive } from '../../../../bgp/wire/messages.ts';
import { expectWireError, message, u16 } from './helpers.ts';

describe('readHeader (RFC 4271 §4.1, §6.1)', () => {
  it('returns length and type of a KEEPALIVE', () => {
    expect(readHeader(message(4, []), 0, 4096)).toEqual({ length: 19, type: 4 });
  });

  it('reads at an offset', () => {
    const buf = new Uint8Array(5 + 19);
    buf.set(message(4, []), 5);
    expect(readHeader(buf, 5, 4096)).toEqual({ length: 19, type: 4 });
  });

  it('rejects a marker that is not all ones: Connection Not Synchronized', () => {
    const m = message(4, []);
    m[7] = 0xfe;
    expectWireError(() => readHeader(m, 0, 4096), 1, 1, []);
  });

  it.each([
    [18, 'below the header'],
    [4097, 'above 4096'],
  ])('rejects length %i (%s) with the length as data', (len) => {
    const m = message(2, new Array(8).fill(0), len);
    expectWireError(() => readHeader(m, 0, 4096), 1, 2, u16(len));
  });

  it('accepts a 65535-byte UPDATE after RFC 8654, not before', () => {
    const m = message(2, [0, 0, 0, 0], 65535);
    expect(readHeader(m, 0, 65535)).toEqual({ length: 65535, type: 2 });
    expectWireError(() => readHeader(m, 0, 4096), 1, 2, u16(65535));
  });

  it('never accepts an OPEN above 4096, even with extended messages (RFC 8654 §5)', () => {
    expectWireError(() => readHeader(message(1, new Array(10).fill(0), 5000), 0, 65535), 1, 2, u16(5000));
  });

  it.each([0, 6, 255])('rejects message type %i: Bad Message Type with the type as data', (t) => {
    expectWireError(() => readHeader(message(t, []), 0, 4096), 1, 3, [t]);
  });

  it.each([
    [1, 28],
    [2, 22],
    [3, 20],
  ])('rejects type %i shorter than its minimum (%i)', (type, len) => {
    expectWireError(() => readHeader(message(type, [], len), 0, 4096), 1, 2, u16(len));
  });

  it.each([
    [1, 29],
    [2, 23],
    [3, 21],
  ])('accepts type %i at its minimum length %i', (type, len) => {
    expect(readHeader(message(type, [], len), 0, 4096)).toEqual({ length: len, type });
  });

  it('a KEEPALIVE must be exactly 19 bytes', () => {
    expectWireError(() => readHeader(message(4, [0], 20), 0, 4096), 1, 2, u16(20));
  });

  it('a ROUTE-REFRESH must be exactly 23 bytes: RFC 7313 §5 Invalid Message Length, message as data', () => {
    const m = message(5, [0, 1, 0, 1, 9]);
    const e = expectWireError(() => readHeader(m, 0, 4096), 7, 1);
    expect(Array.from(e.data)).toEqual(Array.from(m));
    expect(readHeader(message(5, [0, 1, 0, 1]), 0, 4096)).toEqual({ length: 23, type: 5 });
  });

  it('fails cleanly on fewer than 19 bytes', () => {
    expectWireError(() => readHeader(new Uint8Array(10).fill(0xff), 0, 4096), 1, 2);
  });
});

describe('FrameReader', () => {
  const ka = encodeKeepalive();
  const upd = message(2, [0, 0, 0, 0, 24, 10, 0, 0]);

  it('returns frames in one chunk as views of that chunk (zero copy)', () => {
    const chunk = Uint8Array.from([...ka, ...upd]);
    const r = new FrameReader();
    r.push(chunk);
    const a = r.next();
    const b = r.next();
    expect(r.next()).toBeNull();
    expect(Array.from(a ?? [])).toEqual(Array.from(ka));
    expect(Array.from(b ?? [])).toEqual(Array.from(upd));
    expect(a?.buffer).toBe(chunk.buffer);
    expect(b?.byteOffset).toBe(chunk.byteOffset + 19);
    expect(r.bufferedBytes).toBe(0);
  });

  it('assembles a frame that straddles chunks, one byte at a time', () => {
    const r = new FrameReader();
    const out: number[][] = [];
    for (const byte of [...upd, ...ka]) {
      r.push(Uint8Array.of(byte));
      for (let f = r.next(); f; f = r.next()) out.push(Array.from(f));
    }
    expect(out).toEqual([Array.from(upd), Array.from(ka)]);
  });

  it('checks the header as soon as 19 bytes are there, before the body arrives', () => {
    const r = new FrameReader();
    const bad = message(2, [], 5000); // announces 5000 bytes
    expect(() => r.push(bad.subarray(0, 18))).not.toThrow();
    expectWireError(() => r.push(bad.subarray(18, 19)), 1, 2, u16(5000));
    // The stream is unsynchronized from now on: the same error again.
    expectWireError(() => r.next(), 1, 2, u16(5000));
    expectWireError(() => r.push(ka), 1, 2, u16(5000));
  });

  it('detects a bad marker on the second frame of a chunk when asked for it', () => {
    const bad = Uint8Array.from(ka);
    bad[0] = 0;
    const r = new FrameReader();
    r.push(Uint8Array.from([...ka, ...bad]));
    expect(r.next()).not.toBeNull();
    expectWireError(() => r.next(), 1, 1);
  });

  it('setMaxLength raises the limit for extended messages', () => {
    const big = message(2, new Array(5000 - 19).fill(0));
    big.set([...u16(0), ...u16(0)], 19);
    const r = new FrameReader();
    r.setMaxLength(65535);
    r.push(big);
    expect(r.next()?.length).toBe(5000);
  });

  it('waits for the rest of a frame without copying it early', () => {
    const r = new FrameReader();
    r.push(upd.subarray(0, 20));
    expect(r.next()).toBeNull();
    expect(r.bufferedBytes).toBe(20);
    r.push(upd.subarray(20));
    expect(Array.from(r.next() ?? [])).toEqual(Array.from(upd));
  });

  it('handles many small chunks without falling behind (list compaction)', () => {
    const r = new FrameReader();
    let frames = 0;
    for (let i = 0; i < 5000; i++) {
      for (let j = 0; j < ka.length; j += 7) r.push(ka.subarray(j, j + 7));
      while (r.next()) frames++;
    }
    expect(frames).toBe(5000);
    expect(r.bufferedBytes).toBe(0);
  });
});
