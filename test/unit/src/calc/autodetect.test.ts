// chooseAddress: every autodetection method on one host's interfaces, and failures that name the
// method.
import { describe, expect, it } from 'vitest';
import type { AutodetectInput, InterfaceInfo } from '../../../../src/calc/autodetect.ts';
import { chooseAddress } from '../../../../src/calc/autodetect.ts';

const interfaces: InterfaceInfo[] = [
  { name: 'lo', addresses: [{ address: '127.0.0.1', prefixLength: 8, family: 4 }] },
  { name: 'docker0', addresses: [{ address: '172.17.0.1', prefixLength: 16, family: 4 }] },
  { name: 'mgy0123456789a', addresses: [{ address: 'fe80::1', prefixLength: 64, family: 6 }] },
  { name: 'vxlan.margay', addresses: [{ address: '10.244.1.0', prefixLength: 32, family: 4 }] },
  { name: 'ens3', addresses: [{ address: '169.254.10.10', prefixLength: 16, family: 4 }] },
  {
    name: 'eth0',
    addresses: [
      { address: 'fe80::5054:ff:fe12:3456', prefixLength: 64, family: 6 },
      { address: '192.0.2.11', prefixLength: 24, family: 4 },
      { address: '2001:DB8::11', prefixLength: 64, family: 6 },
    ],
  },
  { name: 'eth1', addresses: [{ address: '198.51.100.11', prefixLength: 24, family: 4 }] },
];

const v4: AutodetectInput = { family: 4, interfaces };
const v6: AutodetectInput = { family: 6, interfaces };

describe('chooseAddress', () => {
  it('first-found: the first global address outside the exclude list and our own devices', () => {
    expect(chooseAddress('first-found', v4)).toEqual({
      ok: true,
      address: '192.0.2.11',
      prefixLength: 24,
      interfaceName: 'eth0',
      cidr: '192.0.2.11/24',
    });
    expect(chooseAddress('first-found', v6)).toMatchObject({ ok: true, cidr: '2001:db8::11/64' });
  });

  it('first-found fails naming the method when nothing qualifies', () => {
    expect(chooseAddress('first-found', { family: 6, interfaces: interfaces.slice(0, 3) })).toEqual({
      ok: false,
      error:
        'autodetection method "first-found" (IPv6): no IPv6 address on any interface outside the default exclude list',
    });
  });

  it('interface=REGEX[,REGEX]: the first address on a matching interface', () => {
    expect(chooseAddress('interface=eth1', v4)).toMatchObject({ ok: true, cidr: '198.51.100.11/24' });
    expect(chooseAddress('interface=eth.*', v4)).toMatchObject({ ok: true, interfaceName: 'eth0' });
    expect(chooseAddress('interface=wlan0,eth1', v4)).toMatchObject({ ok: true, interfaceName: 'eth1' });
    // Our own devices never qualify, even when named.
    expect(chooseAddress('interface=vxlan.margay', v4)).toEqual({
      ok: false,
      error:
        'autodetection method "interface=vxlan.margay" (IPv4): no interface matching vxlan.margay has an IPv4 address',
    });
    expect(chooseAddress('interface=(', v4)).toMatchObject({
      ok: false,
      error: expect.stringMatching(
        /^autodetection method "interface=\(" \(IPv4\): invalid regular expression/,
      ),
    });
  });

  it('skip-interface=REGEX: first-found with the given exclusions instead of the default list', () => {
    expect(chooseAddress('skip-interface=eth0', v4)).toMatchObject({ ok: true, cidr: '172.17.0.1/16' });
    expect(chooseAddress('skip-interface=docker.*,eth0', v4)).toMatchObject({
      ok: true,
      cidr: '198.51.100.11/24',
    });
  });

  it('cidr=CIDR[,CIDR]: the first address inside one of them', () => {
    expect(chooseAddress('cidr=198.51.100.0/24', v4)).toMatchObject({ ok: true, interfaceName: 'eth1' });
    expect(chooseAddress('cidr=2001:db8::/32,192.0.2.0/24', v4)).toMatchObject({
      ok: true,
      cidr: '192.0.2.11/24',
    });
    expect(chooseAddress('cidr=2001:db8::/32,192.0.2.0/24', v6)).toMatchObject({
      ok: true,
      cidr: '2001:db8::11/64',
    });
    expect(chooseAddress('cidr=10.9.0.0/16', v4)).toEqual({
      ok: false,
      error: 'autodetection method "cidr=10.9.0.0/16" (IPv4): no interface has an address inside 10.9.0.0/16',
    });
    expect(chooseAddress('cidr=nope', v4)).toMatchObject({
      ok: false,
      error: expect.stringContaining('"nope" is not a CIDR'),
    });
  });

  it('can-reach=IP: the kernel source address towards it, with the prefix of its interface', () => {
    expect(chooseAddress('can-reach=198.51.100.1', { ...v4, canReachSource: '198.51.100.11' })).toMatchObject(
      {
        ok: true,
        cidr: '198.51.100.11/24',
        interfaceName: 'eth1',
      },
    );
    // A source address on no listed interface gets a host prefix.
    expect(chooseAddress('can-reach=203.0.113.1', { ...v4, canReachSource: '10.0.0.1' })).toEqual({
      ok: true,
      address: '10.0.0.1',
      prefixLength: 32,
      cidr: '10.0.0.1/32',
    });
    expect(chooseAddress('can-reach=192.0.2.99', v4)).toEqual({
      ok: false,
      error: 'autodetection method "can-reach=192.0.2.99" (IPv4): no route to 192.0.2.99',
    });
    expect(chooseAddress('can-reach=192.0.2.99', { ...v4, canReachSource: '127.0.0.1' })).toMatchObject({
      ok: false,
      error: expect.stringContaining('a loopback or link-local address'),
    });
    expect(chooseAddress('can-reach=2001:db8::1', { ...v4, canReachSource: '2001:db8::11' })).toMatchObject({
      ok: false,
      error: expect.stringContaining('is not an IPv4 destination'),
    });
  });

  it('kubernetes-internal-ip: the Node InternalIP of the family, prefix from its interface', () => {
    const addresses = [
      { type: 'Hostname', address: 'node-1' },
      { type: 'InternalIP', address: '192.0.2.11' },
      { type: 'InternalIP', address: '2001:db8::11' },
    ];
    const node = { status: { addresses } };
    expect(chooseAddress('kubernetes-internal-ip', { ...v4, node })).toMatchObject({
      ok: true,
      cidr: '192.0.2.11/24',
      interfaceName: 'eth0',
    });
    expect(chooseAddress('kubernetes-internal-ip', { ...v6, node })).toMatchObject({
      ok: true,
      cidr: '2001:db8::11/64',
    });
    expect(
      chooseAddress('kubernetes-internal-ip', {
        ...v6,
        node: { status: { addresses: addresses.slice(0, 2) } },
      }),
    ).toEqual({
      ok: false,
      error:
        'autodetection method "kubernetes-internal-ip" (IPv6): the Node has no IPv6 InternalIP in status.addresses',
    });
    expect(chooseAddress('kubernetes-internal-ip', v4)).toMatchObject({
      ok: false,
      error: expect.stringContaining('this node is not in the datastore'),
    });
  });

  it('an unknown method is an error that lists the known ones', () => {
    expect(chooseAddress('first', v4)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^autodetection method "first" \(IPv4\): unknown method; use first-found/),
    });
  });
});
