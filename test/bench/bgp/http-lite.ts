// A minimal HTTP/1.1 client for polling a receiver's REST API: one kept-alive connection, one
// request at a time, `GET path` with a Host header and nothing else, responses framed by
// Content-Length or chunked transfer coding.
//
// Intent: the poll is the benchmark's measuring instrument and should cost the receiver as little
// as that receiver allows. BIRD is polled with one line on its control socket. `fetch` sends seven
// headers (accept, accept-language, sec-fetch-mode, user-agent, accept-encoding…) that the
// receiver's HTTP server parses on every poll, and it is heavy in the probe process, which shares
// the machine's two cores with the receiver. curl and Prometheus send two or three headers.

import { connect, type Socket } from 'node:net';

export interface LiteResponse {
  readonly status: number;
  readonly body: string;
}

interface Pending {
  readonly path: string;
  readonly resolve: (r: LiteResponse) => void;
  readonly reject: (e: Error) => void;
}

const HEAD_END = Buffer.from('\r\n\r\n');

export class HttpLite {
  readonly #host: string;
  readonly #port: number;
  #socket: Socket | undefined;
  #buf: Buffer = Buffer.alloc(0);
  readonly #queue: Pending[] = [];
  #current: Pending | undefined;

  constructor(host: string, port: number) {
    this.#host = host;
    this.#port = port;
  }

  get(path: string, timeoutMs: number): Promise<LiteResponse> {
    return new Promise<LiteResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        const error = new Error(`GET ${path}: no response within ${timeoutMs} ms`);
        if (this.#current === req) {
          this.#fail(error);
        } else {
          this.#queue.splice(this.#queue.indexOf(req), 1);
          reject(error);
        }
      }, timeoutMs);
      const req: Pending = {
        path,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#queue.push(req);
      this.#next();
    });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = undefined;
  }

  #next(): void {
    if (this.#current !== undefined) return;
    const req = this.#queue.shift();
    if (req === undefined) return;
    this.#current = req;
    const socket = this.#connection();
    socket.write(`GET ${req.path} HTTP/1.1\r\nHost: ${this.#host}:${this.#port}\r\n\r\n`);
  }

  #connection(): Socket {
    if (this.#socket !== undefined) return this.#socket;
    const socket = connect({ host: this.#host, port: this.#port, noDelay: true });
    this.#buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
      this.#parse();
    });
    // Only the connection in use fails the current request: one dropped after a timeout closes
    // later, when the next request may already be on its successor.
    socket.on('error', (err) => {
      if (this.#socket === socket) this.#fail(err);
    });
    socket.on('close', () => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      if (this.#current !== undefined) this.#fail(new Error('connection closed before the response'));
    });
    this.#socket = socket;
    return socket;
  }

  /** Completes the current request when its whole response is buffered. */
  #parse(): void {
    const cur = this.#current;
    if (cur === undefined) return;
    const headEnd = this.#buf.indexOf(HEAD_END);
    if (headEnd < 0) return;
    const head = this.#buf.subarray(0, headEnd).toString('latin1').split('\r\n');
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? '');
    if (!status) {
      this.#fail(new Error(`GET ${cur.path}: bad status line ${JSON.stringify(head[0])}`));
      return;
    }
    const header = (name: string): string | undefined => {
      for (const line of head.slice(1)) {
        const colon = line.indexOf(':');
        if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name)
          return line.slice(colon + 1).trim();
      }
      return undefined;
    };
    const start = headEnd + HEAD_END.length;
    let body: Buffer;
    let end: number;
    const length = header('content-length');
    if (length !== undefined) {
      end = start + Number(length);
      if (this.#buf.length < end) return;
      body = this.#buf.subarray(start, end);
    } else if (header('transfer-encoding')?.toLowerCase() === 'chunked') {
      const chunks: Buffer[] = [];
      let at = start;
      for (;;) {
        const lineEnd = this.#buf.indexOf('\r\n', at);
        if (lineEnd < 0) return;
        const size = Number.parseInt(this.#buf.subarray(at, lineEnd).toString('latin1'), 16);
        if (!Number.isFinite(size)) {
          this.#fail(new Error(`GET ${cur.path}: bad chunk size`));
          return;
        }
        if (this.#buf.length < lineEnd + 2 + size + 2) return;
        if (size === 0) {
          end = lineEnd + 4;
          break;
        }
        chunks.push(this.#buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        at = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(chunks);
    } else {
      this.#fail(new Error(`GET ${cur.path}: response has neither Content-Length nor chunked coding`));
      return;
    }
    const text = body.toString('utf8');
    this.#buf = this.#buf.subarray(end);
    this.#current = undefined;
    if (header('connection')?.toLowerCase() === 'close') this.close();
    cur.resolve({ status: Number(status[1]), body: text });
    this.#next();
  }

  /** Fails the current request and drops the connection; queued requests get a new one. */
  #fail(err: Error): void {
    const cur = this.#current;
    this.#current = undefined;
    this.close();
    cur?.reject(err);
    this.#next();
  }
}
