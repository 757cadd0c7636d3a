// The file datastore holds Secrets (core/v1 shape, base64 `data` and plain `stringData`) beside the
// BGPPeers whose passwords name them: loaded, changed in place, and an invalid one reported with
// its field while the last good version stays in force. Against a real file in a temporary
// directory, on the host's timers with short intervals.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDatastore } from '../../../../../src/datastore/file/file-datastore.ts';
import type { DatastoreEvents } from '../../../../../src/datastore/types.ts';
import { secretValue } from '../../../../../src/model/secret.ts';

const PEER = `apiVersion: margay.io/v1
kind: BGPPeer
metadata: {name: tor}
spec:
  peerIP: 192.0.2.1
  asNumber: 65001
  password: {secretKeyRef: {name: tor-md5, key: password}}
`;
const secret = (body: string) => `apiVersion: v1
kind: Secret
metadata: {name: tor-md5, namespace: margay-system}
type: Opaque
${body}
`;

function next<E extends keyof DatastoreEvents>(
  ds: FileDatastore,
  event: E,
): Promise<Parameters<DatastoreEvents[E]>[0]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within 5 s`)), 5000);
    const listener = ((payload: Parameters<DatastoreEvents[E]>[0]) => {
      clearTimeout(timer);
      ds.off(event, listener);
      resolve(payload);
    }) as DatastoreEvents[E];
    ds.on(event, listener);
  });
}

let dir: string;
let file: string;
let ds: FileDatastore | undefined;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'margay-file-secrets-'));
  file = join(dir, 'cluster.yaml');
});

afterEach(async () => {
  await ds?.stop();
  ds = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('FileDatastore Secrets', () => {
  it('loads a Secret, follows a change of its value, and keeps it through an invalid edit', async () => {
    const b64 = Buffer.from('first').toString('base64');
    writeFileSync(file, [PEER, secret(`data: {password: ${b64}}`)].join('---\n'));
    ds = new FileDatastore({ path: file, debounceMs: 20, settleMs: 40, confirmMs: 400 });
    await ds.start();
    const key = 'margay-system/tor-md5';
    const loaded = ds.snapshot().secrets.get(key);
    expect(loaded !== undefined && secretValue(loaded, 'password')).toBe('first');

    const changed = next(ds, 'changed');
    writeFileSync(file, [PEER, secret('stringData: {password: second}')].join('---\n'));
    const e = await changed;
    expect(e.changes.map((c) => `${c.type} ${c.kind} ${c.key}`)).toEqual([`modified Secret ${key}`]);
    const now = ds.snapshot().secrets.get(key);
    expect(now !== undefined && secretValue(now, 'password')).toBe('second');

    const error = next(ds, 'error');
    writeFileSync(file, [PEER, secret('data: {password: "not base64!"}')].join('---\n'));
    expect((await error).message).toContain(`Secret ${key}: data.password: must be base64`);
    const kept = ds.snapshot().secrets.get(key);
    expect(kept !== undefined && secretValue(kept, 'password')).toBe('second');
  });
});
