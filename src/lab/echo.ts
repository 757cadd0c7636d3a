// Traffic for the lab: an echo listener every pod runs (TCP and UDP on each container port) and
// the probe that `margay lab probe` runs inside the source namespace. Both run as small Node
// processes started with `ip netns exec NS node src/lab/echo-main.ts …` (see echo-main.ts).
//
// The reply names the pod that answered ("margay-echo <ns/name> <nonce>"), so a probe proves it
// reached the pod it meant to reach, not some other listener on a stray route.
//
// Outcomes: `reachable` (the echo came back), `blocked` (no answer in time, refused, reset, or an
// ICMP unreachable: what a NetworkPolicy drop or reject looks like from the client), `error`
// (anything else: a wrong answer, a bad address).
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createConnection, createServer, type Server } from 'node:net';
import { ipFamily } from '../../felix/index.ts';

export const ECHO_TAG = 'margay-echo';

export type ProbeProtocol = 'tcp' | 'udp';
export type ProbeOutcome = 'reachable' | 'blocked' | 'error';

export interface ProbeTarget {
  readonly address: string;
  readonly port: number;
  readonly protocol: ProbeProtocol;
  /** Expected responder id ("ns/name"); when set, another responder is an `error`. */
  readonly expect?: string;
}

export interface ProbeResult {
  readonly target: string;
  readonly outcome: ProbeOutcome;
  /** Who answered, when someone did. */
  readonly responder?: string;
  readonly detail?: string;
  readonly ms: number;
}

const BLOCKED_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPERM', // an OUTPUT-chain REJECT/DROP on the sending side
  'EACCES',
]);

export function formatTarget(t: ProbeTarget): string {
  const host = ipFamily(t.address) === 6 ? `[${t.address}]` : t.address;
  return `${host}:${t.port}/${t.protocol}`;
}

/** "10.244.1.10:8080/tcp", "[2001:db8::1]:53/udp". */
export function parseTarget(text: string): ProbeTarget {
  const m = /^(?:\[([^\]]+)\]|([^:/[\]]+)):(\d{1,5})\/(tcp|udp)(?:=(.+))?$/i.exec(text);
  const address = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || address === undefined || ipFamily(address) === undefined || port < 1 || port > 65535)
    throw new Error(`bad probe target "${text}" (want ADDRESS:PORT/tcp|udp[=ns/name])`);
  return {
    address,
    port,
    protocol: (m[4] as string).toLowerCase() as ProbeProtocol,
    ...(m[5] !== undefined ? { expect: m[5] } : {}),
  };
}

export function formatTargetArg(t: ProbeTarget): string {
  return `${formatTarget(t)}${t.expect !== undefined ? `=${t.expect}` : ''}`;
}

function judge(t: ProbeTarget, reply: string, nonce: string, started: number): ProbeResult {
  const ms = Date.now() - started;
  const m = new RegExp(`^${ECHO_TAG} (\\S+) (\\S+)`).exec(reply);
  if (!m || m[2] !== nonce)
    return {
      target: formatTarget(t),
      outcome: 'error',
      detail: `unexpected reply ${JSON.stringify(reply.slice(0, 80))}`,
      ms,
    };
  const responder = m[1] as string;
  if (t.expect !== undefined && responder !== t.expect)
    return {
      target: formatTarget(t),
      outcome: 'error',
      responder,
      detail: `answered by ${responder}, not ${t.expect}`,
      ms,
    };
  return { target: formatTarget(t), outcome: 'reachable', responder, ms };
}

function failure(t: ProbeTarget, err: unknown, started: number): ProbeResult {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  const outcome: ProbeOutcome = BLOCKED_CODES.has(code) ? 'blocked' : 'error';
  return {
    target: formatTarget(t),
    outcome,
    detail: code || (err as Error).message,
    ms: Date.now() - started,
  };
}

/** One TCP connect + echo, or one UDP datagram + echo, within `timeoutMs`. */
export function probe(t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const started = Date.now();
  const nonce = randomBytes(6).toString('hex');
  return new Promise((resolve) => {
    let done = false;
    let cleanup = (): void => {};
    const finish = (r: ProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      cleanup();
      resolve(r);
    };
    const timer = setTimeout(
      () =>
        finish({
          target: formatTarget(t),
          outcome: 'blocked',
          detail: `no answer in ${timeoutMs} ms`,
          ms: Date.now() - started,
        }),
      timeoutMs,
    );
    if (t.protocol === 'tcp') {
      const sock = createConnection({ host: t.address, port: t.port });
      cleanup = () => sock.destroy();
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('connect', () => sock.write(`${nonce}\n`));
      sock.on('data', (d: string) => {
        buf += d;
        const nl = buf.indexOf('\n');
        if (nl >= 0) finish(judge(t, buf.slice(0, nl), nonce, started));
      });
      sock.on('error', (err) => finish(failure(t, err, started)));
      sock.on('end', () =>
        finish({
          target: formatTarget(t),
          outcome: 'blocked',
          detail: 'closed without a reply',
          ms: Date.now() - started,
        }),
      );
    } else {
      const sock: UdpSocket = createSocket(ipFamily(t.address) === 6 ? 'udp6' : 'udp4');
      cleanup = () => {
        try {
          sock.close();
        } catch {
          // already closed
        }
      };
      sock.on('error', (err) => finish(failure(t, err, started)));
      sock.on('message', (msg) => finish(judge(t, msg.toString('utf8'), nonce, started)));
      // connect() so an ICMP port/host unreachable surfaces as ECONNREFUSED/EHOSTUNREACH.
      sock.connect(t.port, t.address, () => {
        sock.send(`${nonce}\n`, (err) => {
          if (err) finish(failure(t, err, started));
        });
      });
    }
  });
}

export interface EchoServerOptions {
  /** Who we are ("ns/name"), put in every reply. */
  readonly id: string;
  readonly ports: readonly { port: number; tcp: boolean; udp: boolean }[];
  /** Default "::" (dual stack; IPv4 arrives as mapped addresses). */
  readonly host?: string;
}

export interface EchoServer {
  close(): Promise<void>;
}

/** TCP: each line gets "margay-echo ID LINE\n". UDP: each datagram gets the same, once. */
export async function startEchoServer(o: EchoServerOptions): Promise<EchoServer> {
  const host = o.host ?? '::';
  const servers: Server[] = [];
  const udps: UdpSocket[] = [];
  const reply = (payload: string): string => `${ECHO_TAG} ${o.id} ${payload.trim().split(/\s+/)[0] ?? ''}\n`;
  for (const p of o.ports) {
    if (p.tcp) {
      const server = createServer((sock) => {
        sock.setEncoding('utf8');
        let buf = '';
        sock.on('data', (d: string) => {
          buf += d;
          for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
            sock.write(reply(buf.slice(0, nl)));
            buf = buf.slice(nl + 1);
          }
          if (buf.length > 4096) sock.destroy();
        });
        sock.on('error', () => sock.destroy());
        sock.setTimeout(10_000, () => sock.destroy());
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port: p.port, ipv6Only: false }, () => resolve());
      });
      servers.push(server);
    }
    if (p.udp) {
      const sock = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only: false });
      sock.on('message', (msg, rinfo) => {
        sock.send(reply(msg.toString('utf8')), rinfo.port, rinfo.address);
      });
      await new Promise<void>((resolve, reject) => {
        sock.once('error', reject);
        sock.bind(p.port, host, () => resolve());
      });
      sock.on('error', () => {});
      udps.push(sock);
    }
  }
  return {
    async close() {
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      await Promise.all(udps.map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
