// A minimal client for BIRD's control socket (the protocol birdc speaks), so the bench can poll BIRD
// every millisecond without spawning birdc. Replies are lines "DDDD-text" or " text" (continuation)
// ending with a line "DDDD text"; codes 8xxx/9xxx are errors (BIRD doc/reply_codes).

import { once } from 'node:events';
import net from 'node:net';

export class BirdControl {
  #socket: net.Socket;
  #buffer = '';
  #waiter: ((reply: string) => void) | undefined;
  #failed: ((err: Error) => void) | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      this.#buffer += data;
      const end = /^\d{4} [^\n]*\n/m.exec(this.#buffer);
      if (!end) return;
      const cut = end.index + end[0].length;
      const reply = this.#buffer.slice(0, cut);
      this.#buffer = this.#buffer.slice(cut);
      const w = this.#waiter;
      this.#waiter = undefined;
      w?.(reply);
    });
    const fail = (err: Error): void => {
      const f = this.#failed;
      this.#failed = undefined;
      this.#waiter = undefined;
      f?.(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('BIRD control socket closed')));
  }

  static async connect(path: string): Promise<BirdControl> {
    const socket = net.connect(path);
    await once(socket, 'connect');
    const ctl = new BirdControl(socket);
    await ctl.#next(); // "0001 BIRD x.y.z ready."
    return ctl;
  }

  #next(): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      this.#waiter = resolve;
      this.#failed = reject;
    });
  }

  /** Sends one command, resolves with the reply text; rejects on a 8xxx/9xxx reply. */
  command(cmd: string): Promise<string> {
    const p = this.#queue.then(async () => {
      const reply = this.#next();
      this.#socket.write(`${cmd}\n`);
      const text = await reply;
      const last = /^(\d{4}) (.*)$/m.exec(text);
      if (last && (last[1]!.startsWith('8') || last[1]!.startsWith('9'))) {
        throw new Error(`birdc ${cmd}: ${last[2]}`);
      }
      return text;
    });
    this.#queue = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.#socket.destroy();
  }
}

/** "Routes: N imported, …" from `show protocols all NAME`; undefined before the channel is up. */
export function parseImported(reply: string): number | undefined {
  const m = /Routes:\s+(\d+) imported/.exec(reply);
  return m ? Number(m[1]) : undefined;
}

/** The protocol state column ("Established", "Active", …) from `show protocols all NAME`. */
export function parseBgpState(reply: string): string | undefined {
  const m = /BGP state:\s+(\S+)/.exec(reply);
  return m ? m[1] : undefined;
}

/** "N of M routes for K networks in table master4" from `show route count`. */
export function parseRouteCount(reply: string): { routes: number; networks: number } | undefined {
  const m = /(\d+) of (\d+) routes for (\d+) networks/.exec(reply);
  return m ? { routes: Number(m[2]), networks: Number(m[3]) } : undefined;
}
