// The benchmark probe's HTTP client (http-lite.ts) against Node's own HTTP server on 127.0.0.1:
// bodies framed by Content-Length and by chunked coding, status codes passed through, one
// kept-alive connection for a series of requests, and a request that gets no answer times out.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpLite } from './http-lite.ts';

let server: Server | undefined;
let client: HttpLite | undefined;
afterEach(async () => {
  client?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(
  handler: Parameters<typeof createServer>[1],
): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  server = createServer(handler);
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, connections: () => connections };
}

describe('HttpLite', () => {
  it('reads Content-Length and chunked bodies over one kept-alive connection', async () => {
    const big = 'x'.repeat(200_000);
    const { port, connections } = await serve((req, res) => {
      if (req.url === '/length') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ peers: [{ address: '192.0.2.1', headers: Object.keys(req.headers) }] }));
      } else if (req.url === '/chunked') {
        res.write('first ');
        res.write(big);
        res.end(' last');
      } else {
        res.statusCode = 404;
        res.end('nope');
      }
    });
    client = new HttpLite('127.0.0.1', port);
    const a = await client.get('/length', 2000);
    expect(a.status).toBe(200);
    // Only the Host header is sent (what the receiver has to parse per poll).
    expect(JSON.parse(a.body)).toEqual({ peers: [{ address: '192.0.2.1', headers: ['host'] }] });
    const b = await client.get('/chunked', 2000);
    expect(b).toEqual({ status: 200, body: `first ${big} last` });
    expect(await client.get('/missing', 2000)).toEqual({ status: 404, body: 'nope' });
    // Requests issued together are answered in order, on the same connection.
    const [c, d] = await Promise.all([client.get('/length', 2000), client.get('/missing', 2000)]);
    expect([c.status, d.status]).toEqual([200, 404]);
    expect(connections()).toBe(1);
  });

  it('fails a request that gets no answer, and the next one gets a new connection', async () => {
    let n = 0;
    const { port, connections } = await serve((_req, res) => {
      if (n++ === 0) return; // never answered
      res.end('ok');
    });
    client = new HttpLite('127.0.0.1', port);
    await expect(client.get('/slow', 200)).rejects.toThrow('GET /slow: no response within 200 ms');
    expect(await client.get('/again', 2000)).toEqual({ status: 200, body: 'ok' });
    expect(connections()).toBe(2);
  });
});
