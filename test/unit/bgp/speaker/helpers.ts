// Shared helpers for the session/speaker tests: speakers on 127.0.0.1 with ephemeral ports,
// polling with deadlines, and a raw BGP peer we fully control (to freeze it, or to send bytes
// no real speaker would).
import { spawn } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { Speaker } from '../../../../bgp/speaker/speaker.ts';
import type { PeerConfig, PeerStatus, SpeakerOptions } from '../../../../bgp/speaker/types.ts';
import {
  type BgpMessage,
  type Capability,
  DEFAULT_CODEC_OPTIONS,
  decodeMessage,
  encodeKeepalive,
  encodeOpen,
  FrameReader,
  MAX_EXTENDED_MESSAGE_LENGTH,
} from '../../../../bgp/wire/index.ts';

/** Polls `probe` until it returns a truthy value; throws with `what` after `timeoutMs`. */
export async function waitFor<T>(probe: () => T, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    last = probe();
    if (last) return last as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function peerOf(speaker: Speaker, address = '127.0.0.1'): PeerStatus | undefined {
  return speaker.peers().find((p) => p.address === address);
}

export function stateOf(speaker: Speaker, address = '127.0.0.1'): string | undefined {
  return peerOf(speaker, address)?.state;
}

const running = new Set<Speaker>();

/** A speaker listening on 127.0.0.1 with an ephemeral port; stopped by `stopAll`. */
export async function startSpeaker(
  options: Partial<SpeakerOptions> & Pick<SpeakerOptions, 'asn' | 'routerId'>,
  peers: readonly PeerConfig[] = [],
): Promise<Speaker> {
  const speaker = new Speaker({ listen: { address: '127.0.0.1', port: 0 }, ...options });
  speaker.setPeers(peers);
  await speaker.start();
  running.add(speaker);
  return speaker;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop({ message: 'test over' })));
  running.clear();
}

export function portOf(speaker: Speaker): number {
  return speaker.listenPorts[0] as number;
}

/** Collects the messages published on a diagnostics channel while the test runs. */
export function collect(channelName: string): { readonly messages: unknown[]; readonly close: () => void } {
  const messages: unknown[] = [];
  const fn = (m: unknown) => messages.push(m);
  subscribe(channelName, fn);
  return { messages, close: () => unsubscribe(channelName, fn) };
}

/**
 * A raw BGP speaker over one TCP connection: sends what the test says, records what it gets.
 * It answers nothing by itself (no KEEPALIVEs unless asked), so it can be "frozen".
 */
export class RawPeer {
  readonly received: BgpMessage[] = [];
  socket: Socket | null = null;
  closed = false;
  readonly #reader = new FrameReader(MAX_EXTENDED_MESSAGE_LENGTH);
  readonly #server: Server | null;

  private constructor(server: Server | null) {
    this.#server = server;
  }

  /** Listens on 127.0.0.1 (ephemeral port) and takes the first connection. */
  static async listen(): Promise<{ raw: RawPeer; port: number }> {
    const server = createServer();
    const raw = new RawPeer(server);
    server.on('connection', (socket) => {
      if (raw.socket === null) raw.#attach(socket);
      else socket.destroy();
    });
    await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, r));
    const addr = server.address();
    return { raw, port: typeof addr === 'object' && addr ? addr.port : 0 };
  }

  /** Connects to 127.0.0.1:port (from `localAddress` when given). */
  static async connect(port: number, localAddress?: string): Promise<RawPeer> {
    const raw = new RawPeer(null);
    const socket = tcpConnect({
      host: '127.0.0.1',
      port,
      ...(localAddress !== undefined && { localAddress }),
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    raw.#attach(socket);
    return raw;
  }

  #attach(socket: Socket): void {
    this.socket = socket;
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
    });
    socket.on('data', (chunk) => {
      this.#reader.push(chunk);
      for (let f = this.#reader.next(); f !== null; f = this.#reader.next()) {
        try {
          this.received.push(decodeMessage(f, { ...DEFAULT_CODEC_OPTIONS, fourOctetAs: true }));
        } catch {
          // Not our problem here: tests look at what decoded.
        }
      }
    });
  }

  send(frame: Uint8Array): void {
    this.socket?.write(frame);
  }

  sendOpen(o: {
    asn: number;
    routerId: string;
    holdTime: number;
    capabilities?: readonly Capability[];
  }): void {
    this.send(
      encodeOpen({
        version: 4,
        myAsn: o.asn > 0xffff ? 23456 : o.asn,
        holdTime: o.holdTime,
        bgpId: o.routerId,
        capabilities: o.capabilities ?? [
          { kind: 'multiprotocol', afi: 1, safi: 1 },
          { kind: 'fourOctetAs', asn: o.asn },
        ],
      }),
    );
  }

  sendKeepalive(): void {
    this.send(encodeKeepalive());
  }

  /** The NOTIFICATIONs received so far. */
  get notifications(): Extract<BgpMessage, { type: 'notification' }>[] {
    return this.received.filter(
      (m): m is Extract<BgpMessage, { type: 'notification' }> => m.type === 'notification',
    );
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    if (this.#server !== null) await new Promise<void>((r) => this.#server?.close(() => r()));
  }
}

/** How a child process ended: its exit code (null when it had to be killed), time, and output. */
export interface ChildRun {
  readonly code: number | null;
  readonly ms: number;
  readonly out: string;
}

/**
 * Runs an ES module `script` in a child node (inside network namespace `ns` when given) and waits
 * for it to exit by itself; kills it after `timeoutMs`. For tests of what keeps a process alive.
 */
export function runScript(script: string, options: { ns?: string; timeoutMs: number }): Promise<ChildRun> {
  const argv = [process.execPath, '--input-type=module', '-e', script];
  const [cmd, ...args] = options.ns === undefined ? argv : ['ip', 'netns', 'exec', options.ns, ...argv];
  const child = spawn(cmd as string, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const started = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, ms: Date.now() - started, out });
    });
  });
}
