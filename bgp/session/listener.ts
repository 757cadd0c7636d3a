// Accepts BGP connections on one address and port and hands each to the session of the peer it
// comes from. Connections from addresses that are not configured peers are closed at once and
// reported with the reason (RFC 4271 §8: a speaker only accepts connections from its peers).
//
// TCP-MD5 (RFC 2385): the listening socket holds one key per peer address that has a password,
// so the kernel answers only that peer's correctly signed SYNs and the accepted connection
// inherits the key. `setSecurity` adds, changes and removes keys one address at a time: the
// other peers' keys, and the connections already accepted, are untouched. With TTL security on
// any peer the listener sends with TTL 255, so that our SYN-ACK passes the peer's minimum TTL;
// it also keeps each SYN's headers, so that the TTL the SYN arrived with can be checked once the
// connection is accepted; each accepted connection then gets its own peer's TTL options (the
// speaker sets them).
import { createServer, type Server, type Socket } from 'node:net';
import { ipFamily } from '../addr.ts';
import { BgpError } from '../errors.ts';
import { canonicalAddress } from './address.ts';
import { descriptorOf, setMd5Key, setSaveSyn, setTtl, socketFamilyOf } from './sockopt.ts';

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
  /** Peer address → the key the listening socket should hold. */
  #wantedKeys: ReadonlyMap<string, string> = new Map();
  /** Peer address → the key the listening socket holds. */
  readonly #keys = new Map<string, string>();
  #wantsTtl255 = false;
  #hasTtl255 = false;

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
        // Keys set before listening; what fails here, the next setSecurity reports again.
        this.#applySecurity();
        resolve();
      });
    });
  }

  /**
   * True while the listening socket sends with TTL 255 and saves each SYN's headers (a peer has
   * TTL security): the speaker checks the TTL of an accepted connection's SYN (sockopt.ts).
   */
  get hasTtl255(): boolean {
    return this.#hasTtl255;
  }

  /**
   * The TCP-MD5 keys (peer address → password) and whether to send with TTL 255, applied to the
   * listening socket (kept for `start()` when it is not listening yet). Peers of the other
   * family on an IPv4 listener are left out. Returns what could not be set, one line each (the
   * rest is set).
   */
  setSecurity(keys: ReadonlyMap<string, string>, ttl255: boolean): string[] {
    this.#wantedKeys = keys;
    this.#wantsTtl255 = ttl255;
    return this.#applySecurity();
  }

  #applySecurity(): string[] {
    const server = this.#server;
    if (server === null || !server.listening) return [];
    // Nothing asked and nothing set: no system call (and no FFI where it cannot load).
    const isUnchanged = this.#wantsTtl255 === this.#hasTtl255;
    if (isUnchanged && this.#wantedKeys.size === 0 && this.#keys.size === 0) return [];
    const problems: string[] = [];
    const attempt = (what: string, f: () => void): boolean => {
      try {
        f();
        return true;
      } catch (err) {
        problems.push(`${what}: ${(err as Error).message}`);
        return false;
      }
    };
    let fd = -1;
    let family: 4 | 6 = 4;
    if (
      !attempt('listener', () => {
        fd = descriptorOf(server);
        family = socketFamilyOf(fd);
      })
    )
      return problems;
    for (const address of this.#keys.keys()) {
      if (this.#wantedKeys.has(address)) continue;
      if (attempt(`TCP-MD5 key of ${address}`, () => setMd5Key(fd, address, null)))
        this.#keys.delete(address);
    }
    for (const [address, key] of this.#wantedKeys) {
      if (this.#keys.get(address) === key || (family === 4 && ipFamily(address) === 6)) continue;
      if (attempt(`TCP-MD5 key of ${address}`, () => setMd5Key(fd, address, key)))
        this.#keys.set(address, key);
    }
    if (this.#wantsTtl255 !== this.#hasTtl255) {
      const ttl = this.#wantsTtl255 ? 255 : -1;
      const on = this.#wantsTtl255;
      const applied = attempt('listener TTL', () => {
        setTtl(fd, ttl);
        setSaveSyn(fd, on);
      });
      if (applied) this.#hasTtl255 = on;
    }
    return problems;
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
    this.#keys.clear();
    this.#hasTtl255 = false;
    if (!server) return Promise.resolve();
    return new Promise((resolve) => server.close(() => resolve()));
  }
}
