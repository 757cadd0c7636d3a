// Accepts BGP connections on one address and port and hands each to the session of the peer it
// comes from. Connections from addresses that are not configured peers are closed at once and
// reported with the reason (RFC 4271 §8: a speaker only accepts connections from its peers).
import { createServer, type Server, type Socket } from 'node:net';
import { BgpError } from '../errors.ts';
import { canonicalAddress } from './address.ts';

export interface ListenerOptions {
  readonly address: string;
  readonly port: number;
  /** Returns false (with a reason) to refuse the connection. */
  readonly accept: (remoteAddress: string, socket: Socket) => { ok: true } | { ok: false; reason: string };
  readonly refused: (info: { remoteAddress: string; remotePort: number; reason: string }) => void;
}

export class Listener {
  readonly #opts: ListenerOptions;
  #server: Server | null = null;

  constructor(opts: ListenerOptions) {
    this.#opts = opts;
  }

  /** The bound port (useful when configured with port 0). */
  get port(): number {
    const addr = this.#server?.address();
    return typeof addr === 'object' && addr ? addr.port : 0;
  }

  start(): Promise<void> {
    const server = createServer({ noDelay: true, pauseOnConnect: false }, (socket) =>
      this.#onConnection(socket),
    );
    this.#server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        this.#server = null;
        reject(
          new BgpError(
            'BGP_ERR_LISTEN',
            `cannot listen on [${this.#opts.address}]:${this.#opts.port}: ${err.message}`,
            {
              cause: err,
            },
          ),
        );
      };
      server.once('error', onError);
      // "::" accepts IPv4 too (dual stack) unless the address is an explicit IPv6 one.
      server.listen({ host: this.#opts.address, port: this.#opts.port, ipv6Only: false }, () => {
        server.off('error', onError);
        server.on('error', () => {
          // Errors after listen are per-connection (EMFILE…); the server keeps accepting.
        });
        resolve();
      });
    });
  }

  #onConnection(socket: Socket): void {
    const remoteAddress = canonicalAddress(socket.remoteAddress ?? '');
    const remotePort = socket.remotePort ?? 0;
    const verdict = this.#opts.accept(remoteAddress, socket);
    if (!verdict.ok) {
      socket.destroy();
      this.#opts.refused({ remoteAddress, remotePort, reason: verdict.reason });
    }
  }

  close(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
