// A throwaway PKI for the client's TLS tests, made with the openssl CLI: a CA, a server certificate
// it signs for the name `kube.test` only (not for 127.0.0.1, so reaching the fake API server on
// 127.0.0.1 needs tls-server-name), a client certificate it signs (CN margay-agent), and an unrelated
// second CA. Everything is PEM text; the files live in a temporary directory removed at once.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  readonly ca: string;
  readonly otherCa: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

/** The name the server certificate is issued for. */
export const SERVER_NAME = 'kube.test';

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'margay-pki-'));
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const selfSignedCa = (name: string): void =>
    openssl(
      'req',
      '-x509',
      ...ec,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    );
  const signed = (name: string, subject: string, extensions: string, serial: string): void => {
    openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject);
    writeFileSync(join(dir, `${name}.ext`), extensions);
    openssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-set_serial',
      serial,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.crt`,
    );
  };
  try {
    selfSignedCa('ca');
    selfSignedCa('other-ca');
    signed(
      'server',
      '/CN=kube-apiserver',
      `subjectAltName=DNS:${SERVER_NAME}\nextendedKeyUsage=serverAuth\n`,
      '2',
    );
    signed('client', '/CN=margay-agent', 'extendedKeyUsage=clientAuth\n', '3');
    const read = (file: string): string => readFileSync(join(dir, file), 'utf8');
    return {
      ca: read('ca.crt'),
      otherCa: read('other-ca.crt'),
      serverCert: read('server.crt'),
      serverKey: read('server.key'),
      clientCert: read('client.crt'),
      clientKey: read('client.key'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
