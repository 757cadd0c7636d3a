// Integrity of the golden captures themselves (not of the codec, which has its own golden test):
// every message is framed correctly, the JSON matches the raw pcap it claims to come from, and
// each scenario contains the messages and attributes it was made to capture. Parsing here is
// the independent TLV walk in tools/describe.ts; bgp/wire is deliberately not imported.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { CAPTURES_DIR, type Capture, loadCaptures, messageBytes } from './load.ts';
import { type MessageSummary, summarize } from './tools/describe.ts';
import { bgpMessagesFromPcap } from './tools/pcap.ts';

const captures = loadCaptures();

interface Expectation {
  readonly from: string;
  readonly what: string;
  readonly match: (s: MessageSummary) => boolean;
}

const open =
  (...caps: number[]) =>
  (s: MessageSummary) =>
    s.type === 1 && caps.every((c) => s.capabilities?.includes(c));
const update =
  (...attrs: number[]) =>
  (s: MessageSummary) =>
    s.type === 2 && !s.isEndOfRib && attrs.every((a) => s.attributes?.includes(a));
const eor = (s: MessageSummary) => s.isEndOfRib === true;
const withdrawal = (s: MessageSummary) => s.type === 2 && s.hasWithdrawn === true;
const mpUnreach = (s: MessageSummary) =>
  s.type === 2 && s.hasWithdrawn === true && !!s.attributes?.includes(15);
const v4Withdrawn = (s: MessageSummary) =>
  s.type === 2 && s.hasWithdrawn === true && !s.attributes?.includes(15);
const refresh = (subtype: number) => (s: MessageSummary) => s.type === 5 && s.subcode === subtype;
const keepalive = (s: MessageSummary) => s.type === 4;
const ceaseShutdown = (s: MessageSummary) =>
  s.type === 3 && s.code === 6 && s.subcode === 2 && s.note.includes('shutdown communication "maintenance');
const noExport = (s: MessageSummary) => s.type === 2 && s.note.includes('(NO_EXPORT)');
const linkLocalNh = (s: MessageSummary) => s.type === 2 && s.note.includes('ipv6/unicast nh 32B');

// Capability codes: 1 MP, 2 RR, 5 ENH, 6 ext msg, 64 GR, 65 AS4, 69 ADD-PATH, 70 enhanced RR, 73 FQDN.
const EXPECTED: Readonly<Record<string, readonly Expectation[]>> = {
  'bird-gobgp-ebgp-ipv4': [
    {
      from: 'bird',
      what: 'OPEN with AS4, MP, RR, ENH, ext msg, GR, ADD-PATH, ERR',
      match: open(65, 1, 2, 5, 6, 64, 69, 70),
    },
    { from: 'gobgp', what: 'OPEN with FQDN, GR, ADD-PATH, ENH', match: open(73, 64, 69, 5, 65) },
    {
      from: 'gobgp',
      what: 'UPDATE with MED, COMMUNITIES, LARGE_COMMUNITY',
      match: update(1, 2, 3, 4, 8, 32),
    },
    {
      from: 'bird',
      what: 'IPv4 via MP_REACH (extended next hop negotiated) with ext/large communities',
      match: update(14, 16, 32),
    },
    { from: 'bird', what: 'End-of-RIB', match: eor },
    { from: 'gobgp', what: 'End-of-RIB', match: eor },
    { from: 'bird', what: 'ROUTE-REFRESH', match: refresh(0) },
    { from: 'gobgp', what: 'IPv4 withdrawn routes', match: v4Withdrawn },
    { from: 'bird', what: 'MP_UNREACH withdrawal', match: mpUnreach },
    { from: 'bird', what: 'KEEPALIVE', match: keepalive },
    { from: 'bird', what: 'Cease/Administrative Shutdown with communication', match: ceaseShutdown },
  ],
  'bird-gobgp-ebgp-ipv6': [
    { from: 'bird', what: 'OPEN ipv6 MP', match: open(1, 65) },
    { from: 'bird', what: 'MP_REACH with global + link-local next hop', match: linkLocalNh },
    { from: 'gobgp', what: 'MP_REACH UPDATE', match: update(14) },
    { from: 'bird', what: 'End-of-RIB (MP_UNREACH form)', match: eor },
    { from: 'gobgp', what: 'End-of-RIB (MP_UNREACH form)', match: eor },
    { from: 'bird', what: 'ROUTE-REFRESH', match: refresh(0) },
    { from: 'gobgp', what: 'MP_UNREACH withdrawal', match: mpUnreach },
    { from: 'bird', what: 'Cease/Administrative Shutdown with communication', match: ceaseShutdown },
  ],
  'gobgp-frr-ebgp-ipv4': [
    { from: 'frr', what: 'OPEN with FQDN, ERR, ext msg, ADD-PATH, GR', match: open(73, 70, 6, 69, 64) },
    { from: 'gobgp', what: 'UPDATE with ATOMIC_AGGREGATE + AGGREGATOR', match: update(6, 7) },
    { from: 'frr', what: 'UPDATE with EXTENDED_COMMUNITIES and LARGE_COMMUNITY', match: update(16, 32) },
    { from: 'frr', what: 'ROUTE-REFRESH', match: refresh(0) },
    { from: 'frr', what: 'End-of-RIB', match: eor },
    { from: 'frr', what: 'IPv4 withdrawn routes', match: v4Withdrawn },
    { from: 'gobgp', what: 'Cease/Administrative Shutdown with communication', match: ceaseShutdown },
  ],
  'bird-exabgp-2octet-as': [
    {
      from: 'bird',
      what: 'OPEN with My AS = AS_TRANS (23456)',
      match: (s) => s.type === 1 && s.note.startsWith('OPEN as 23456'),
    },
    { from: 'exabgp', what: 'OPEN without AS4', match: (s) => s.type === 1 && !s.capabilities?.includes(65) },
    { from: 'bird', what: 'UPDATE with AS4_PATH', match: update(2, 17) },
    { from: 'exabgp', what: 'UPDATE with ATOMIC_AGGREGATE + 2-octet AGGREGATOR', match: update(6, 7) },
    { from: 'bird', what: 'IPv4 withdrawn routes', match: withdrawal },
    { from: 'bird', what: 'Cease/Administrative Shutdown with communication', match: ceaseShutdown },
  ],
  'frr-bird-ibgp-rr-ipv4': [
    { from: 'frr', what: 'OPEN with FQDN', match: open(73, 70) },
    {
      from: 'frr',
      what: 'UPDATE with LOCAL_PREF, MED, NO_EXPORT, ext + large communities',
      match: (s) => update(4, 5, 16, 32)(s) && noExport(s),
    },
    { from: 'frr', what: 'aggregate with ATOMIC_AGGREGATE + AGGREGATOR', match: update(6, 7) },
    { from: 'bird', what: 'reflected UPDATE with ORIGINATOR_ID + CLUSTER_LIST', match: update(5, 9, 10) },
    { from: 'frr', what: 'ROUTE-REFRESH', match: refresh(0) },
    { from: 'bird', what: 'enhanced ROUTE-REFRESH BoRR', match: refresh(1) },
    { from: 'bird', what: 'enhanced ROUTE-REFRESH EoRR', match: refresh(2) },
    { from: 'frr', what: 'IPv4 withdrawn routes', match: v4Withdrawn },
    { from: 'frr', what: 'Cease/Administrative Shutdown with communication', match: ceaseShutdown },
  ],
  'frr-bird-ibgp-rr-ipv6': [
    {
      from: 'frr',
      what: 'MP_REACH with LOCAL_PREF and global + link-local next hop',
      match: (s) => update(5, 14)(s) && linkLocalNh(s),
    },
    { from: 'frr', what: 'End-of-RIB', match: eor },
    { from: 'frr', what: 'ROUTE-REFRESH', match: refresh(0) },
    { from: 'frr', what: 'MP_UNREACH withdrawal', match: mpUnreach },
    { from: 'frr', what: 'Cease/Administrative Shutdown with communication', match: ceaseShutdown },
  ],
  'gobgp-bird-ibgp-rr': [
    { from: 'gobgp', what: 'UPDATE with LOCAL_PREF', match: update(5) },
    {
      from: 'bird',
      what: 'reflected UPDATE with ORIGINATOR_ID, CLUSTER_LIST, NO_EXPORT',
      match: (s) => update(9, 10)(s) && noExport(s),
    },
    { from: 'bird', what: 'reflected aggregate (ATOMIC_AGGREGATE + AGGREGATOR)', match: update(6, 7, 9, 10) },
    { from: 'bird', what: 'ROUTE-REFRESH', match: refresh(0) },
    { from: 'bird', what: 'reflected withdrawal', match: v4Withdrawn },
    { from: 'gobgp', what: 'Cease/Administrative Shutdown with communication', match: ceaseShutdown },
  ],
};

describe('golden captures: integrity', () => {
  test('the loader found the captures, and every capture has an expectation entry', () => {
    expect(captures.length).toBeGreaterThanOrEqual(Object.keys(EXPECTED).length);
    expect(captures.map((c) => c.name).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  test('loadCaptures throws when a directory holds no capture', () => {
    expect(() => loadCaptures(join(CAPTURES_DIR, '..', 'tools'))).toThrow(/no golden captures/);
  });

  describe.each(captures.map((c): [string, Capture] => [c.name, c]))('%s', (_name, cap) => {
    test('provenance names the daemons, tool, configs and pcap', () => {
      const p = cap.provenance;
      expect(p.sender).toMatch(/^(bird|frr|gobgp|exabgp) \d/);
      expect(p.receiver).toMatch(/^(bird|frr|gobgp|exabgp) \d/);
      expect(p.capturedWith).toMatch(/^tcpdump /);
      expect(p.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(Object.keys(p.configs).length).toBeGreaterThanOrEqual(2);
      expect(existsSync(join(CAPTURES_DIR, p.pcap))).toBe(true);
    });

    test('every message is framed: marker, length field = byte length, type 1..5', () => {
      const labels = Object.keys(cap.provenance.peers);
      for (const [i, m] of cap.messages.entries()) {
        const b = messageBytes(m);
        const where = `${cap.name} message ${i} (${m.note})`;
        expect(m.hex.slice(0, 32), where).toBe('f'.repeat(32));
        expect((b[16]! << 8) | b[17]!, where).toBe(b.length);
        expect(b.length, where).toBeGreaterThanOrEqual(19);
        expect(b[18], where).toBe(m.type);
        expect([1, 2, 3, 4, 5], where).toContain(m.type);
        expect(labels, where).toContain(m.from);
      }
    });

    test('the JSON is exactly what the raw pcap holds', () => {
      const fromPcap = bgpMessagesFromPcap(readFileSync(join(CAPTURES_DIR, cap.provenance.pcap)));
      expect(fromPcap.map((f) => Buffer.from(f.bytes).toString('hex'))).toEqual(
        cap.messages.map((m) => m.hex),
      );
    });

    test('contains the messages its scenario was made to capture', () => {
      const summaries = cap.messages.map((m) => ({ from: m.from, s: summarize(messageBytes(m)) }));
      const types = new Set(cap.messages.map((m) => m.type));
      for (const t of [1, 2, 3, 4]) expect(types, `${cap.name} has message type ${t}`).toContain(t);
      const missing = (EXPECTED[cap.name] ?? []).filter(
        (e) => !summaries.some((x) => x.from === e.from && e.match(x.s)),
      );
      expect(missing.map((e) => `${e.from}: ${e.what}`)).toEqual([]);
    });
  });
});
