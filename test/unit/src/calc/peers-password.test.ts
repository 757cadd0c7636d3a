// BGP passwords from Secrets: BGPPeer spec.password and BGPConfiguration spec.nodeMeshPassword
// (Calico's secretKeyRef shape), validated by the model and resolved by the calculation from the
// Secrets of the agent's namespace. A missing Secret or key leaves out only the sessions that
// need it, and the problem names the Secret and the key, never the value.
import { describe, expect, it } from 'vitest';
import { calculate } from '../../../../src/calc/calculate.ts';
import { validateResource } from '../../../../src/model/resource.ts';
import { secretValue } from '../../../../src/model/secret.ts';
import { bgpConfig, bgpPeer, flatNodes, res, snap, validateBgpConfig, validateTorPeer } from './fixtures.ts';

const NS = 'margay-system';
const ME = { name: 'node-1', secretNamespace: NS };

function secret(
  name: string,
  o: { data?: Record<string, string>; stringData?: Record<string, string> },
  ns = NS,
) {
  return res({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, ...o });
}

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const tor = (name: string, ip: string, key = 'password', secretName = 'tor-md5') =>
  bgpPeer(name, { peerIP: ip, asNumber: 65000, password: { secretKeyRef: { name: secretName, key } } });

describe('password validation', () => {
  const peer = (password: unknown) => validateTorPeer({ password });

  it('takes secretKeyRef {name, key}', () => {
    expect(peer({ secretKeyRef: { name: 'tor-md5', key: 'password' } }).ok).toBe(true);
  });

  it('names the field of a bad value', () => {
    const problems = (p: unknown) => {
      const r = peer(p);
      return r.ok ? [] : r.problems;
    };
    expect(problems('s3cret')).toEqual([
      'BGPPeer tor: spec.password: must be an object {secretKeyRef: {name, key}}',
    ]);
    expect(problems({ secretKeyRef: { name: 'Tor_MD5', key: 'password' } })).toEqual([
      'BGPPeer tor: spec.password.secretKeyRef.name: must be a DNS subdomain: lowercase letters, digits, "-" and "."',
    ]);
    expect(problems({ secretKeyRef: { name: 'tor-md5', key: 'a/b' } })).toEqual([
      'BGPPeer tor: spec.password.secretKeyRef.key: must be letters, digits, "-", "_" and "."',
    ]);
    expect(problems({ secretKeyRef: { name: 'tor-md5' } })).toEqual([
      'BGPPeer tor: spec.password.secretKeyRef.key: must be a string',
    ]);
    expect(problems({ secretKeyRef: { name: 'tor-md5', key: 'k' }, namespace: 'x' })).toEqual([
      'BGPPeer tor: spec.password.namespace: unknown field',
    ]);
  });

  it('takes nodeMeshPassword on BGPConfiguration, and names its field', () => {
    const config = (nodeMeshPassword: unknown) => validateBgpConfig({ nodeMeshPassword });
    expect(config({ secretKeyRef: { name: 'mesh', key: 'password' } }).ok).toBe(true);
    const bad = config({ secretKeyRef: { name: 'mesh', key: '' } });
    expect(bad.ok ? [] : bad.problems).toEqual([
      'BGPConfiguration default: spec.nodeMeshPassword.secretKeyRef.key: must not be empty',
    ]);
  });

  it('reads Secrets with base64 data and stringData, stringData first', () => {
    const s = secret('tor-md5', {
      data: { a: b64('from-data'), b: b64('x') },
      stringData: { b: 'from-stringData' },
    });
    if (s.kind !== 'Secret') throw new Error('not a Secret');
    expect(secretValue(s, 'a')).toBe('from-data');
    expect(secretValue(s, 'b')).toBe('from-stringData');
    expect(secretValue(s, 'c')).toBeUndefined();
    const bad = validateResource({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'x', namespace: NS },
      data: { password: 'not base64!' },
    });
    expect(bad.ok ? [] : bad.problems).toEqual([`Secret ${NS}/x: data.password: must be base64`]);
  });
});

describe('password calculation', () => {
  it('gives a router peer the password of its Secret, in the agent namespace only', () => {
    const st = calculate(
      snap(
        ...flatNodes(2),
        bgpConfig({ nodeToNodeMeshEnabled: false }),
        tor('tor-a', '192.0.2.1'),
        tor('tor-b', '192.0.2.2', 'other'),
        secret('tor-md5', { data: { password: b64('s3cret') }, stringData: { other: 'another one' } }),
        secret('tor-md5', { stringData: { password: 'wrong namespace' } }, 'default'),
      ),
      ME,
    );
    expect(st.problems).toEqual([]);
    expect(Object.fromEntries(st.peers.map((p) => [p.address, p.password]))).toEqual({
      '192.0.2.1': 's3cret',
      '192.0.2.2': 'another one',
    });
  });

  it('leaves out only the peer whose Secret or key is missing, naming them', () => {
    const st = calculate(
      snap(
        ...flatNodes(2),
        bgpConfig({ nodeToNodeMeshEnabled: false }),
        tor('no-secret', '192.0.2.1', 'password', 'absent'),
        tor('no-key', '192.0.2.2', 'nokey'),
        tor('good', '192.0.2.3'),
        bgpPeer('plain', { peerIP: '192.0.2.4', asNumber: 65000 }),
        secret('tor-md5', { stringData: { password: 's3cret' } }),
      ),
      ME,
    );
    expect(st.peers.map((p) => [p.address, p.password])).toEqual([
      ['192.0.2.3', 's3cret'],
      ['192.0.2.4', undefined],
    ]);
    expect(st.problems).toEqual([
      `BGPPeer no-key: spec.password: Secret ${NS}/tor-md5 has no key "nokey" (not peered)`,
      `BGPPeer no-secret: spec.password: Secret ${NS}/absent not found (not peered)`,
    ]);
  });

  it('refuses a value of the wrong length, naming the Secret and key but not the value', () => {
    const st = calculate(
      snap(
        ...flatNodes(1),
        tor('tor', '192.0.2.1'),
        secret('tor-md5', { stringData: { password: 'x'.repeat(81) } }),
      ),
      ME,
    );
    expect(st.peers).toEqual([]);
    expect(st.problems).toEqual([
      `BGPPeer tor: spec.password (Secret ${NS}/tor-md5, key password): is 81 octets long, not 1..80 (not peered)`,
    ]);
  });

  it('keys the mesh with nodeMeshPassword, and leaves the mesh out without it', () => {
    const mesh = bgpConfig({ nodeMeshPassword: { secretKeyRef: { name: 'mesh', key: 'pw' } } });
    const withSecret = calculate(
      snap(...flatNodes(3), mesh, secret('mesh', { stringData: { pw: 'mesh-secret' } })),
      ME,
    );
    expect(withSecret.problems).toEqual([]);
    expect(withSecret.peers.map((p) => [p.address, p.password])).toEqual([
      ['192.0.2.12', 'mesh-secret'],
      ['192.0.2.13', 'mesh-secret'],
    ]);
    const without = calculate(snap(...flatNodes(3), mesh, tor('tor', '192.0.2.1', 'password', 'tor')), ME);
    expect(without.peers).toEqual([]);
    expect(without.problems).toEqual([
      `BGPConfiguration default: spec.nodeMeshPassword: Secret ${NS}/mesh not found (node-to-node mesh not peered)`,
      `BGPPeer tor: spec.password: Secret ${NS}/tor not found (not peered)`,
    ]);
  });

  it('gives both ends of a peerSelector peering the BGPPeer password', () => {
    const st = calculate(
      snap(
        ...flatNodes(2),
        bgpConfig({ nodeToNodeMeshEnabled: false }),
        bgpPeer('nodes', {
          peerSelector: 'all()',
          password: { secretKeyRef: { name: 'tor-md5', key: 'password' } },
        }),
        secret('tor-md5', { stringData: { password: 'between-nodes' } }),
      ),
      { name: 'node-2', secretNamespace: NS },
    );
    expect(st.peers.map((p) => [p.address, p.password])).toEqual([['192.0.2.11', 'between-nodes']]);
  });

  it('reads the default namespace when the agent is not told its own', () => {
    const st = calculate(
      snap(
        ...flatNodes(1),
        tor('tor', '192.0.2.1'),
        secret('tor-md5', { stringData: { password: 'p' } }, 'default'),
      ),
      { name: 'node-1' },
    );
    expect(st.peers[0]?.password).toBe('p');
  });
});
