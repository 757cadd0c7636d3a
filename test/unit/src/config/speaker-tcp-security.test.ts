// The speaker YAML's password, passwordFile, ttlSecurity and multihop: what reaches PeerConfig,
// and the errors that name the peer and the field.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSpeakerConfig } from '../../../../src/config/speaker.ts';
import { MargayError } from '../../../../src/errors.ts';

const base = { asn: 64512, routerId: '192.0.2.1' };
const peer = { address: '192.0.2.2', asn: 64513 };

function errorOf(peers: object[]): string {
  try {
    parseSpeakerConfig({ ...base, peers }, 'test.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(MargayError);
    expect((err as MargayError).code).toBe('MARGAY_ERR_CONFIG');
    return (err as Error).message;
  }
  throw new Error('expected the config to be rejected');
}

function fileWith(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'margay-pw-')), 'password');
  writeFileSync(path, text);
  return path;
}

describe('speaker YAML: TCP-MD5 and TTL fields', () => {
  it('hands password, ttlSecurity and multihop to the speaker', () => {
    const cfg = parseSpeakerConfig({
      ...base,
      peers: [
        { ...peer, password: 'tor secret', ttlSecurity: 1 },
        { address: '192.0.2.3', asn: 64514, multihop: 3 },
      ],
    });
    expect(cfg.peers[0]).toMatchObject({ password: 'tor secret', ttlSecurity: 1 });
    expect(cfg.peers[1]).toMatchObject({ multihop: 3 });
    expect(cfg.peers[1]).not.toHaveProperty('password');
  });

  it('reads passwordFile at load, without its final line end', () => {
    const cfg = parseSpeakerConfig({ ...base, peers: [{ ...peer, passwordFile: fileWith('from file\n') }] });
    expect(cfg.peers[0]?.password).toBe('from file');
    expect(cfg.peers[0]).not.toHaveProperty('passwordFile');
  });

  it('names the peer and field for a missing or bad password file', () => {
    expect(errorOf([{ ...peer, passwordFile: '/nonexistent/margay-password' }])).toBe(
      'test.yaml: peers[0].passwordFile: cannot read /nonexistent/margay-password: ENOENT',
    );
    const empty = fileWith('\n');
    expect(errorOf([peer, { address: '192.0.2.3', asn: 64514, passwordFile: empty }])).toBe(
      `test.yaml: peers[1].passwordFile: the password in ${empty} must be 1..80 octets (is 0)`,
    );
  });

  it('refuses passwords outside 1..80 octets and both password fields', () => {
    expect(errorOf([{ ...peer, password: '' }])).toContain('peers[0].password: must be 1..80 octets (is 0)');
    expect(errorOf([{ ...peer, password: 'x'.repeat(81) }])).toContain(
      'peers[0].password: must be 1..80 octets (is 81)',
    );
    expect(errorOf([{ ...peer, password: 'a', passwordFile: '/x' }])).toContain(
      'peers[0].passwordFile: password and passwordFile are exclusive',
    );
  });

  it('refuses ttlSecurity and multihop out of range or together, naming both', () => {
    expect(errorOf([{ ...peer, ttlSecurity: 255 }])).toContain('peers[0].ttlSecurity: must be 1..254');
    expect(errorOf([{ ...peer, multihop: 0 }])).toContain('peers[0].multihop: must be 1..255');
    expect(errorOf([{ ...peer, ttlSecurity: 1, multihop: 2 }])).toContain(
      'peers[0].ttlSecurity: ttlSecurity and multihop are exclusive',
    );
  });
});
