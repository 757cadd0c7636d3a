// A minimal client for an FRR daemon's vtysh socket (DIR/bgpd.vty), the protocol vtysh itself speaks
// (FRR lib/vty.c vtysh_read/vtysh_flush): a command is sent NUL-terminated; the reply is the command's
// output followed by three NUL bytes and one status byte (0 = CMD_SUCCESS). Lets the bench poll bgpd
// without spawning vtysh each time.

import { once } from 'node:events';
import net from 'node:net';

export class VtyControl {
  #socket: net.Socket;
  #chunks: Buffer[] = [];
  #waiter: ((reply: { status: number; text: string }) => void) | undefined;
  #failed: ((err: Error) => void) | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (data: Buffer) => {
      this.#chunks.push(data);
      const all = this.#chunks.length === 1 ? data : Buffer.concat(this.#chunks);
      this.#chunks = [all];
      const n = all.length;
      if (n < 4 || all[n - 4] !== 0 || all[n - 3] !== 0 || all[n - 2] !== 0) return;
      this.#chunks = [];
      const w = this.#waiter;
      this.#waiter = undefined;
      w?.({ status: all[n - 1]!, text: all.subarray(0, n - 4).toString('utf8') });
    });
    const fail = (err: Error): void => {
      const f = this.#failed;
      this.#failed = undefined;
      this.#waiter = undefined;
      f?.(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('vty socket closed')));
  }

  static async connect(path: string): Promise<VtyControl> {
    const socket = net.connect(path);
    await once(socket, 'connect');
    return new VtyControl(socket);
  }

  /** Runs one command; rejects unless the daemon answers CMD_SUCCESS (0). */
  command(cmd: string): Promise<string> {
    const p = this.#queue.then(async () => {
      const reply = new Promise<{ status: number; text: string }>((resolve, reject) => {
        this.#waiter = resolve;
        this.#failed = reject;
      });
      this.#socket.write(`${cmd}\0`);
      const r = await reply;
      if (r.status !== 0) throw new Error(`vty "${cmd}" returned status ${r.status}: ${r.text.trim()}`);
      return r.text;
    });
    this.#queue = p.catch(() => undefined);
    return p;
  }

  close(): void {
    this.#socket.destroy();
  }
}
