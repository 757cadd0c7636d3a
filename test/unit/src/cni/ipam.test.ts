// margay-cni IPAM on a temp directory: which addresses are handed out, round-robin, freeing,
// a full CIDR, all-or-nothing dual stack, GC, state kept across "reboots" (a new store on the same
// files), and 50 separate processes allocating at the same moment.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AddressRange, IpamStore, parseRange } from '../../../../src/cni/ipam.ts';
import { CniError } from '../../../../src/cni/spec.ts';

const ROOT = resolve(import.meta.dirname, '..', '..', '..', '..');
let dataDir = '';
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'mgy-ipam-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

const store = () => new IpamStore({ dataDir, network: 'net' });
const owner = (n: number | string) => ({ containerId: `ctr-${n}`, ifName: 'eth0', pod: `default/pod-${n}` });
const v4 = (
  subnet: string,
  extra: Partial<{ rangeStart: string; rangeEnd: string }> = {},
): AddressRange[] => [parseRange({ subnet, ...extra })];

describe('ranges', () => {
  it('IPv4 skips the network (VXLAN tunnel) and broadcast addresses; .1 is a pod address', () => {
    const r = parseRange({ subnet: '10.244.1.0/24' });
    expect([r.first, r.last]).toEqual([0x0af40101n, 0x0af401fen]);
    const small = parseRange({ subnet: '10.244.1.0/30' });
    expect(small.last - small.first + 1n).toBe(2n);
  });
  it('IPv6 skips only the all-zero host', () => {
    const r = parseRange({ subnet: '2001:db8::/126' });
    expect(r.last - r.first + 1n).toBe(3n);
  });
  it('normalizes host bits and rejects what cannot hand out anything', () => {
    expect(parseRange({ subnet: '10.244.1.7/24' }).subnet).toBe('10.244.1.0/24');
    expect(() => parseRange({ subnet: '10.244.1.0/31' })).toThrow(/no address/);
    expect(() => parseRange({ subnet: '10.244.1.1' })).toThrow(/not a CIDR/);
    expect(() => parseRange({ subnet: '10.244.1.0/24', rangeStart: '10.244.1.0' })).toThrow(/rangeStart/);
    expect(() => parseRange({ subnet: '10.244.1.0/24', rangeEnd: '2001:db8::1' })).toThrow(/rangeEnd/);
  });
});

describe('allocation', () => {
  it('hands out .1, .2, … and records owner, interface and pod in the file', () => {
    const s = store();
    expect(s.allocate(owner(1), [v4('10.244.1.0/24')])).toEqual([
      { address: '10.244.1.1', family: 4, subnet: '10.244.1.0/24' },
    ]);
    expect(s.allocate(owner(2), [v4('10.244.1.0/24')])[0]?.address).toBe('10.244.1.2');
    expect(readFileSync(join(dataDir, 'net', '10.244.1.1'), 'utf8')).toBe('ctr-1\neth0\ndefault/pod-1\n');
    expect(s.list()).toHaveLength(2);
  });

  it('the same attachment asking again gets the same address (a retried ADD)', () => {
    const s = store();
    const a = s.allocate(owner(1), [v4('10.244.1.0/24')]);
    expect(s.allocate(owner(1), [v4('10.244.1.0/24')])).toEqual(a);
    expect(s.list()).toHaveLength(1);
  });

  it('round-robin: a freed address is not handed out again at once', () => {
    const s = store();
    const r = [v4('10.244.1.0/24')];
    s.allocate(owner(1), r);
    s.allocate(owner(2), r);
    expect(s.release(owner(1))).toEqual(['10.244.1.1']);
    expect(s.allocate(owner(3), r)[0]?.address).toBe('10.244.1.3');
  });

  it('wraps around to freed addresses once the end is reached', () => {
    const s = store();
    const r = [v4('10.244.1.0/24', { rangeStart: '10.244.1.10', rangeEnd: '10.244.1.12' })];
    for (const n of [1, 2, 3]) s.allocate(owner(n), r);
    s.release(owner(2));
    expect(s.allocate(owner(4), r)[0]?.address).toBe('10.244.1.11');
  });

  it('a full CIDR is CNI error 100 naming the CIDR', () => {
    const s = store();
    const r = [v4('10.244.1.0/30')];
    s.allocate(owner(1), r);
    s.allocate(owner(2), r);
    let err: unknown;
    try {
      s.allocate(owner(3), r);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).cniCode).toBe(100);
    expect((err as CniError).message).toBe('pod CIDR 10.244.1.0/30 is full: every address is allocated');
  });

  it('dual stack is all or nothing: a full IPv6 range frees the IPv4 address again', () => {
    const s = store();
    const full6 = [parseRange({ subnet: '2001:db8::/127' })];
    s.allocate(owner(1), [full6]);
    expect(() => s.allocate(owner(2), [v4('10.244.1.0/24'), full6])).toThrow(/2001:db8::\/127 is full/);
    expect(s.find(owner(2))).toEqual([]);
    const both = s.allocate(owner(3), [v4('10.244.2.0/24'), [parseRange({ subnet: '2001:db8:1::/64' })]]);
    expect(both.map((a) => a.address)).toEqual(['10.244.2.1', '2001:db8:1::1']);
  });

  it('DEL frees by container and interface only; freeing twice is fine', () => {
    const s = store();
    const r = [v4('10.244.1.0/24')];
    s.allocate(owner(1), r);
    s.allocate({ ...owner(1), ifName: 'net1' }, r);
    expect(s.release(owner(1))).toEqual(['10.244.1.1']);
    expect(s.release(owner(1))).toEqual([]);
    expect(s.find({ ...owner(1), ifName: 'net1' })).toEqual(['10.244.1.2']);
  });

  it('state survives a restart: a new store on the same directory sees and respects it', () => {
    store().allocate(owner(1), [v4('10.244.1.0/24')]);
    const after = store();
    expect(after.find(owner(1))).toEqual(['10.244.1.1']);
    expect(after.allocate(owner(2), [v4('10.244.1.0/24')])[0]?.address).toBe('10.244.1.2');
  });

  it('ignores stray files and a corrupt hint', () => {
    const s = store();
    s.allocate(owner(1), [v4('10.244.1.0/24')]);
    writeFileSync(join(dataDir, 'net', 'README'), 'x');
    writeFileSync(join(dataDir, 'net', 'last_reserved_ip.0'), 'garbage');
    expect(s.allocate(owner(2), [v4('10.244.1.0/24')])[0]?.address).toBe('10.244.1.2');
  });

  it('GC (CNI 1.1) frees every attachment not listed as valid', () => {
    const s = store();
    for (const n of [1, 2, 3]) s.allocate(owner(n), [v4('10.244.1.0/24')]);
    const freed = s.gc([{ containerID: 'ctr-2', ifname: 'eth0' }]);
    expect(freed.map((f) => f.address).sort()).toEqual(['10.244.1.1', '10.244.1.3']);
    expect(s.list().map((r) => r.containerId)).toEqual(['ctr-2']);
  });

  it('an unwritable data directory is CNI error 101', () => {
    writeFileSync(join(dataDir, 'file'), '');
    const s = new IpamStore({ dataDir: join(dataDir, 'file'), network: 'net' });
    expect(() => s.allocate(owner(1), [v4('10.244.1.0/24')])).toThrow(
      expect.objectContaining({ cniCode: 101 }) as unknown as Error,
    );
  });
});

describe('concurrency', () => {
  it('50 processes allocating at once get 50 distinct addresses', async () => {
    const node = join(ROOT, 'node_modules', 'node', 'bin', 'node');
    const script = `
      import { IpamStore, parseRange } from ${JSON.stringify(join(ROOT, 'src', 'cni', 'ipam.ts'))};
      const s = new IpamStore({ dataDir: process.argv[1], network: 'net' });
      const [a] = s.allocate({ containerId: 'ctr-' + process.argv[2], ifName: 'eth0' },
        [[parseRange({ subnet: '10.244.1.0/26' })]]);
      process.stdout.write(a.address);`;
    const run = (n: number) =>
      new Promise<string>((res, rej) => {
        const c = spawn(node, ['--input-type=module', '-e', script, dataDir, String(n)], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        c.stdout.on('data', (b: Buffer) => (out += b));
        c.stderr.on('data', (b: Buffer) => (err += b));
        c.on('close', (code) =>
          code === 0 ? res(out) : rej(new Error(`process ${n}: exit ${code}: ${err}`)),
        );
      });
    const got = await Promise.all(Array.from({ length: 50 }, (_, i) => run(i)));
    expect(new Set(got).size).toBe(50);
    const files = readdirSync(join(dataDir, 'net')).filter((f) => f.startsWith('10.'));
    expect(files.sort()).toEqual([...got].sort());
    for (const f of files) expect(readFileSync(join(dataDir, 'net', f), 'utf8')).toMatch(/^ctr-\d+\neth0\n/);
    expect(readdirSync(join(dataDir, 'net')).filter((f) => f.startsWith('.tmp'))).toEqual([]);
  }, 60_000);
});
