// Pure parts of margay-cni: result shapes per cniVersion, the error object, CNI_* parsing and
// the network configuration (every error names its field and carries the spec's code).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseNetConf, parsePodCidrFile, resolveRanges } from '../../../../src/cni/config.ts';
import { parseCniArgs, parseEnv } from '../../../../src/cni/env.ts';
import {
  CniError,
  type CniResult,
  formatError,
  formatResult,
  parsePrevResult,
  versionResult,
} from '../../../../src/cni/spec.ts';
import { MargayErrorCode } from '../../../../src/errors.ts';

const result: CniResult = {
  interfaces: [
    { name: 'mgy0123456789a', mac: '02:00:00:00:00:01' },
    { name: 'eth0', mac: '02:00:00:00:00:02', sandbox: '/var/run/netns/p' },
  ],
  ips: [
    { address: '10.244.1.5/32', gateway: '169.254.1.1', interface: 1 },
    { address: '2001:db8:1::5/128', gateway: 'fe80::1', interface: 1 },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '169.254.1.1' },
    { dst: '::/0', gw: 'fe80::1' },
  ],
  dns: { nameservers: ['10.96.0.10'] },
};

function cniCode(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof CniError) return e.cniCode;
    throw e;
  }
  return undefined;
}

function message(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

describe('results per cniVersion', () => {
  it('1.0.0: interface indexes, no ips[].version', () => {
    const r = formatResult(result, '1.0.0');
    expect(r).toEqual({
      cniVersion: '1.0.0',
      interfaces: result.interfaces,
      ips: result.ips,
      routes: result.routes,
      dns: { nameservers: ['10.96.0.10'] },
    });
    expect(JSON.stringify(r)).not.toContain('"version"');
  });

  it('0.4.0 and 0.3.1: ips[].version "4"/"6" as well', () => {
    for (const v of ['0.4.0', '0.3.1'] as const) {
      const r = formatResult(result, v) as { cniVersion: string; ips: { version: string }[] };
      expect(r.cniVersion).toBe(v);
      expect(r.ips.map((i) => i.version)).toEqual(['4', '6']);
    }
  });

  it('1.1.0 has the 1.0.0 shape', () => {
    expect(formatResult(result, '1.1.0')).toEqual({ ...formatResult(result, '1.0.0'), cniVersion: '1.1.0' });
  });

  it('a prevResult of either shape reads back to the same result', () => {
    expect(parsePrevResult(formatResult(result, '0.4.0'))).toEqual(result);
    expect(parsePrevResult(formatResult(result, '1.0.0'))).toEqual(result);
    expect(parsePrevResult('nope')).toBeUndefined();
  });

  it('VERSION lists what formatResult produces', () => {
    expect(versionResult('1.0.0')).toEqual({
      cniVersion: '1.0.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
  });
});

describe('errors', () => {
  it('every CNI code of the catalog is the spec one or plugin-specific (100+), and unique', () => {
    const codes = Object.entries(MargayErrorCode)
      .filter(([k]) => k.startsWith('MARGAY_ERR_CNI_'))
      .map(([, v]) => (v as { cniCode: number }).cniCode);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes).toEqual(expect.arrayContaining([1, 2, 3, 4, 5, 6, 7, 11, 50, 100]));
    for (const c of codes) expect(c < 100 ? [1, 2, 3, 4, 5, 6, 7, 11, 50].includes(c) : true).toBe(true);
  });

  it('the error object: cniVersion, code, msg, details from the cause chain', () => {
    const e = new CniError('MARGAY_ERR_CNI_POOL_FULL', 'pod CIDR 10.244.1.0/24 is full', { details: 'd' });
    expect(formatError(e, '0.4.0')).toEqual({
      cniVersion: '0.4.0',
      code: 100,
      msg: 'pod CIDR 10.244.1.0/24 is full',
      details: 'd',
    });
    const chained = new CniError('MARGAY_ERR_CNI_WIRING', 'wiring failed', {
      cause: new Error('ip: File exists'),
    });
    expect(formatError(chained, '1.0.0')).toMatchObject({ code: 103, details: 'ip: File exists' });
    expect(formatError(new TypeError('boom'), '1.0.0')).toEqual({
      cniVersion: '1.0.0',
      code: 999,
      msg: 'margay-cni internal error: boom',
    });
  });
});

describe('CNI_* environment', () => {
  const base = {
    CNI_COMMAND: 'ADD',
    CNI_CONTAINERID: 'abc123',
    CNI_NETNS: '/var/run/netns/x',
    CNI_IFNAME: 'eth0',
    CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
    CNI_ARGS:
      'IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=coredns-1;K8S_POD_INFRA_CONTAINER_ID=abc123',
  };

  it('parses a kubelet invocation', () => {
    const env = parseEnv(base);
    expect(env).toMatchObject({
      command: 'ADD',
      containerId: 'abc123',
      netns: '/var/run/netns/x',
      ifName: 'eth0',
      podNamespace: 'kube-system',
      podName: 'coredns-1',
      path: ['/opt/cni/bin', '/usr/lib/cni'],
    });
  });

  it('CNI_ARGS values may contain "="; a pair without one is code 4', () => {
    expect(parseCniArgs('A=b=c;;B=')).toEqual(
      new Map([
        ['A', 'b=c'],
        ['B', ''],
      ]),
    );
    expect(cniCode(() => parseCniArgs('A=1;junk'))).toBe(4);
  });

  it.each([
    [{ CNI_COMMAND: undefined }, 'CNI_COMMAND is not set'],
    [{ CNI_COMMAND: 'FROB' }, 'FROB'],
    [{ CNI_CONTAINERID: undefined }, 'CNI_CONTAINERID'],
    [{ CNI_CONTAINERID: '-bad' }, 'CNI_CONTAINERID'],
    [{ CNI_IFNAME: 'a-very-long-ifname0' }, 'CNI_IFNAME'],
    [{ CNI_IFNAME: 'eth/0' }, 'CNI_IFNAME'],
    [{ CNI_NETNS: undefined }, 'CNI_NETNS is not set'],
    [{ CNI_NETNS: 'relative/ns' }, 'absolute'],
  ])('%o is code 4 naming the variable', (over, text) => {
    const env = { ...base, ...over } as Record<string, string | undefined>;
    expect(cniCode(() => parseEnv(env))).toBe(4);
    expect(message(() => parseEnv(env))).toContain(text);
  });

  it('DEL needs no CNI_NETNS; VERSION needs nothing else', () => {
    expect(parseEnv({ ...base, CNI_COMMAND: 'DEL', CNI_NETNS: '' }).netns).toBeUndefined();
    expect(parseEnv({ CNI_COMMAND: 'VERSION' }).command).toBe('VERSION');
  });
});

describe('network configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mgy-cni-conf-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const good = {
    cniVersion: '1.0.0',
    name: 'k8s-pod-network',
    type: 'margay-cni',
    mtu: 1450,
    ipam: { type: 'margay', ranges: [[{ subnet: '10.244.1.0/24' }], [{ subnet: '2001:db8:1::/64' }]] },
  };
  const text = (o: unknown) => JSON.stringify(o);

  it('parses the documented form with defaults', () => {
    const c = parseNetConf(text({ ...good, runtimeConfig: { portMappings: [] }, args: {} }));
    expect(c).toMatchObject({
      cniVersion: '1.0.0',
      name: 'k8s-pod-network',
      mtu: 1450,
      routeProtocol: 109,
      logLevel: 'info',
      ipam: { dataDir: '/var/lib/margay/ipam', podCIDRsFile: undefined },
    });
    expect(c.ipam.ranges?.map((s) => s.map((r) => [r.subnet, r.first, r.last]))).toEqual([
      [['10.244.1.0/24', 0x0af40101n, 0x0af401fen]],
      [['2001:db8:1::/64', 0x20010db8000100000000000000000001n, 0x20010db800010000ffffffffffffffffn]],
    ]);
  });

  it.each([
    ['{not json', 6, 'network configuration'],
    [text({ ...good, cniVersion: '2.0.0' }), 1, '2.0.0'],
    [text({ ...good, cniVersion: undefined }), 7, 'cniVersion'],
    [text({ ...good, name: 'bad name' }), 7, 'name'],
    [text({ ...good, mtu: 20 }), 7, 'mtu'],
    [text({ ...good, ipam: { ...good.ipam, type: 'host-local' } }), 2, 'host-local'],
    [text({ ...good, ipam: { ...good.ipam, subnett: 'x' } }), 7, 'ipam'],
    [text({ ...good, ipam: { type: 'margay' } }), 7, 'exactly one of ranges and podCIDRsFile'],
    [text({ ...good, ipam: { type: 'margay', ranges: [[{ subnet: '10.244.1.0/31' }]] } }), 7, 'no address'],
    [text({ ...good, ipam: { type: 'margay', ranges: [[{ subnet: 'x' }]] } }), 7, 'ipam.ranges[0][0]'],
    [
      text({
        ...good,
        ipam: { type: 'margay', ranges: [[{ subnet: '10.244.1.0/24', rangeStart: '10.244.2.1' }]] },
      }),
      7,
      'rangeStart',
    ],
    [
      text({
        ...good,
        ipam: { type: 'margay', ranges: [[{ subnet: '10.244.1.0/24' }, { subnet: '2001:db8::/64' }]] },
      }),
      7,
      'mixes',
    ],
  ])('%s → code %d naming %s', (input, code, what) => {
    expect(cniCode(() => parseNetConf(input))).toBe(code);
    expect(message(() => parseNetConf(input))).toContain(what);
  });

  it('podCIDRsFile: lines or JSON; missing = try again later (11)', () => {
    const file = join(dir, 'pod-cidrs');
    const c = parseNetConf(text({ ...good, ipam: { type: 'margay', podCIDRsFile: file } }));
    expect(cniCode(() => resolveRanges(c.ipam))).toBe(11);
    expect(message(() => resolveRanges(c.ipam))).toContain(file);
    writeFileSync(file, '# written by the agent\n10.244.3.0/24\n2001:db8:3::/64\n10.244.9.0/24\n');
    expect(resolveRanges(c.ipam).map((s) => s.map((r) => r.subnet))).toEqual([
      ['10.244.3.0/24'],
      ['2001:db8:3::/64'],
    ]);
    writeFileSync(file, '{"podCIDRs": ["10.244.4.0/24"]}');
    expect(resolveRanges(c.ipam).map((s) => s.map((r) => r.subnet))).toEqual([['10.244.4.0/24']]);
    writeFileSync(file, '\n');
    expect(cniCode(() => resolveRanges(c.ipam))).toBe(11);
    writeFileSync(file, 'not-a-cidr\n');
    expect(cniCode(() => resolveRanges(c.ipam))).toBe(7);
    expect(parsePodCidrFile('["10.0.0.0/24"]', 'f')).toEqual(['10.0.0.0/24']);
  });
});
