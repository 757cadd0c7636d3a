import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../../../src/config/agent.ts';

const datastore = { type: 'file', path: '/var/lib/margay/cluster.yaml' };

function errorOf(doc: unknown): string {
  try {
    parseAgentConfig(doc, 'agent.yaml');
  } catch (err) {
    expect((err as { code?: string }).code).toBe('MARGAY_ERR_CONFIG');
    return (err as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

describe('margay agent config', () => {
  it('listens for BGP on every address by default, or on one address of this host', () => {
    expect(parseAgentConfig({ datastore }).bgp.listenAddress).toBe('::');
    expect(parseAgentConfig({ datastore, bgp: { listenAddress: '0.0.0.0' } }).bgp.listenAddress).toBe(
      '0.0.0.0',
    );
    expect(parseAgentConfig({ datastore, bgp: { listenAddress: '192.0.2.11' } }).bgp.listenAddress).toBe(
      '192.0.2.11',
    );
  });

  it('needs api.token for an API beyond loopback, and only there', () => {
    expect(errorOf({ datastore, api: { listen: '0.0.0.0:9099' } })).toContain(
      'api.token: required when api.listen (0.0.0.0:9099) is not a loopback address',
    );
    expect(errorOf({ datastore, api: { listen: '[2001:db8::1]:9099' } })).toContain('api.token: required');
    const token = 'a-token-of-20-chars!';
    expect(parseAgentConfig({ datastore, api: { listen: '0.0.0.0:9099', token } }).api.token).toBe(token);
    expect(parseAgentConfig({ datastore, api: { listen: '127.0.0.2:9099' } }).api.listen.host).toBe(
      '127.0.0.2',
    );
    expect(parseAgentConfig({ datastore, api: { listen: '[::1]:9099' } }).api.listen.host).toBe('::1');
  });

  it('rejects a BGP listen address no listener can have, naming the field', () => {
    expect(errorOf({ datastore, bgp: { listenAddress: 'ff02::1' } })).toContain(
      'bgp.listenAddress: ff02::1 is a multicast address',
    );
    expect(errorOf({ datastore, bgp: { listenAddress: '255.255.255.255' } })).toContain(
      'bgp.listenAddress: 255.255.255.255 is the broadcast address',
    );
  });
});
