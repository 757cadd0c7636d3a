// Loopback helpers for tests that run a daemon as a process and talk to it over 127.0.0.1.
import { connect, createServer } from 'node:net';

/** A port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Connects to 127.0.0.1:`port` and resolves true when the other side closes the connection
 * (a refused BGP peer), false when nothing listens there.
 */
export function refusedConnection(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('error', () => resolve(false));
    socket.once('close', (hadError) => {
      if (!hadError) resolve(true);
    });
    socket.resume();
  });
}
