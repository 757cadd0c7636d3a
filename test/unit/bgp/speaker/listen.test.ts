// Speaker.start() when a listen address cannot be bound: it throws BGP_ERR_LISTEN with the
// system error as cause, and closes the listeners it had already opened, so a failed start
// leaves no port taken.
import { createServer, type Server, connect as tcpConnect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { BgpError } from '../../../../bgp/errors.ts';
import { Speaker } from '../../../../bgp/speaker/speaker.ts';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => {
      servers.push(s);
      resolve(s);
    });
  });
}

const portOf = (s: Server): number => (s.address() as { port: number }).port;

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const s = await listenOn(0);
  const port = portOf(s);
  servers.splice(servers.indexOf(s), 1);
  await new Promise((r) => s.close(r));
  return port;
}

function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const sock = tcpConnect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(undefined);
    });
    sock.once('error', (e: NodeJS.ErrnoException) => resolve(e.code));
  });
}

describe('Speaker.start with a port in use', () => {
  it('throws BGP_ERR_LISTEN naming the address, and releases the ports it had bound', async () => {
    const taken = portOf(await listenOn(0));
    const first = await freePort();
    const speaker = new Speaker({
      asn: 64512,
      routerId: '192.0.2.1',
      listen: [
        { address: '127.0.0.1', port: first },
        { address: '127.0.0.1', port: taken },
      ],
    });
    const err = (await speaker.start().then(
      () => undefined,
      (e: unknown) => e,
    )) as BgpError | undefined;
    expect(err?.code).toBe('BGP_ERR_LISTEN');
    expect(err?.message).toContain(`[127.0.0.1]:${taken}`);
    expect((err?.cause as NodeJS.ErrnoException | undefined)?.code).toBe('EADDRINUSE');
    expect(speaker.listenPorts).toEqual([]);
    expect(await connectError(first)).toBe('ECONNREFUSED');
    await speaker.stop();
  });
});
