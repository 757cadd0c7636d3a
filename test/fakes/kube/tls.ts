// A throwaway self-signed certificate for the fake API server, valid for 127.0.0.1 and localhost.
// node:crypto can make keys but not X.509 certificates, so this shells out to the openssl CLI once per
// process; the files live in a private temp directory that is removed before the promise settles.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface KeyPair {
  readonly key: string; // PEM
  readonly cert: string; // PEM, also the CA a client must trust
}

let cached: Promise<KeyPair> | undefined;

async function generate(): Promise<KeyPair> {
  const dir = await mkdtemp(join(tmpdir(), 'margay-fake-apiserver-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    await promisify(execFile)(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        keyFile,
        '-out',
        certFile,
        '-days',
        '2',
        '-subj',
        '/CN=margay-fake-kube-apiserver',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { timeout: 10_000 },
    );
    return { key: await readFile(keyFile, 'utf8'), cert: await readFile(certFile, 'utf8') };
  } catch (err) {
    throw new Error('fake kube-apiserver: generating a TLS certificate needs the openssl CLI', {
      cause: err,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function selfSignedCertificate(): Promise<KeyPair> {
  cached ??= generate();
  cached.catch(() => {
    cached = undefined;
  });
  return cached;
}
