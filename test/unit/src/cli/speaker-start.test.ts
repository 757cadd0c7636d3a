// `margay speaker` refuses to run BGP without its API: a configuration error (an API beyond
// loopback without a token) exits 2, a port in use (the API's or BGP's) exits 1, and in every
// case before any session starts — no peer is contacted, so no peer ever sees a session that the
// process then cannot close with a Cease. A configured active peer would log its first state
// change (Idle → Connect) the moment the speaker starts; its absence shows nothing started.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const MAIN = join(import.meta.dirname, '..', '..', '..', '..', 'src/main.ts');

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A port on 127.0.0.1 held by this test for as long as it runs. */
function holdPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      servers.push(s);
      resolve((s.address() as { port: number }).port);
    });
  });
}

function config(lines: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'margay-speaker-start-'));
  const path = join(dir, 'speaker.yaml');
  writeFileSync(
    path,
    `asn: 64512\nrouterId: 192.0.2.1\n${lines}\npeers:\n  - { address: 192.0.2.2, asn: 64513 }\n`,
  );
  return path;
}

interface Exit {
  readonly code: number | null;
  readonly output: string;
}

/** Runs the speaker; a process still running after 20 s is killed and has no exit code. */
function runSpeaker(path: string): Promise<Exit> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, 'speaker', '--config', path], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => {
      output += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      output += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('margay speaker start-up failures', () => {
  it('exits 2 before any session when the API is beyond loopback without a token', async () => {
    const apiPort = await holdPort();
    const r = await runSpeaker(config(`listen: null\napi: { listen: "0.0.0.0:${apiPort}" }`));
    expect(r.code).toBe(2);
    expect(r.output).toContain('MARGAY_ERR_CONFIG');
    expect(r.output).toContain('api.token: required when api.listen (0.0.0.0:');
    expect(r.output).not.toContain('peerStateChanged');
  });

  it('exits 1 before any session when the API port is in use', async () => {
    const apiPort = await holdPort();
    const r = await runSpeaker(config(`listen: null\napi: { listen: "127.0.0.1:${apiPort}" }`));
    expect(r.code).toBe(1);
    expect(r.output).toContain(`api.listen 127.0.0.1:${apiPort}`);
    expect(r.output).toContain('(MARGAY_ERR_API_LISTEN)');
    expect(r.output).not.toContain('peerStateChanged');
  });

  it('exits 1 before any session when the BGP port is in use, closing its API (it would hang)', async () => {
    const bgpPort = await holdPort();
    const apiPort = await holdPort();
    // Free the API port for the speaker: it starts its API, then fails on BGP and must close it.
    const api = servers.pop() as Server;
    await new Promise((r) => api.close(r));
    const r = await runSpeaker(
      config(`listen: { address: 127.0.0.1, port: ${bgpPort} }\napi: { listen: "127.0.0.1:${apiPort}" }`),
    );
    expect(r.code).toBe(1);
    expect(r.output).toContain('(MARGAY_ERR_BGP_LISTEN)');
    expect(r.output).toContain(String(bgpPort));
    expect(r.output).not.toMatch(/ at .*\.ts:\d+:\d+/);
    expect(r.output).not.toContain('peerStateChanged');
  });
});
