// The speaker with BFD on a peer (PeerConfig.bfd) against BIRD 2 with `bfd on`, in network
// namespaces, IPv4: the BFD session comes Up beside the BGP session, and a link cut in BIRD's
// namespace takes our BGP session down (Cease / BFD Down) and BIRD's routes out of our RIB long
// before the 9 s hold time would.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PathView, PeerStatus, SpeakerOptions } from '../../bgp/speaker/types.ts';
import {
  type BirdHandle,
  birdConfig,
  birdProtocol,
  Lab,
  startBird,
  waitBirdEstablished,
  waitFor,
} from './lib/index.ts';

const OUR_AS = 64512;
const BIRD_AS = 64513;

/** The speaker child (speaker-child.ts) inside a namespace, driven over stdin/stdout. */
class SpeakerProcess {
  readonly child: ChildProcess;
  readonly #waiting = new Map<number, (v: { result?: unknown; error?: string }) => void>();
  #next = 1;
  readonly started: Promise<unknown>;
  readonly exited: Promise<number | null>;

  constructor(ns: string, logFile: string, config: object) {
    const log = openSync(logFile, 'a');
    try {
      this.child = spawn(
        'ip',
        [
          'netns',
          'exec',
          ns,
          process.execPath,
          join(import.meta.dirname, 'speaker-child.ts'),
          JSON.stringify(config),
        ],
        { stdio: ['pipe', 'pipe', log] },
      );
    } finally {
      closeSync(log);
    }
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
    this.started = new Promise((resolve, reject) => {
      this.#waiting.set(0, (v) => (v.error ? reject(new Error(v.error)) : resolve(v.result)));
      void this.exited.then((code) => reject(new Error(`speaker child exited with ${code}, see ${logFile}`)));
    });
    const out = this.child.stdout;
    if (out === null) throw new Error('no stdout');
    createInterface({ input: out }).on('line', (line) => {
      const msg = JSON.parse(line) as { id: number; result?: unknown; error?: string };
      this.#waiting.get(msg.id)?.(msg);
      this.#waiting.delete(msg.id);
    });
  }

  request<T>(op: string, extra: object = {}): Promise<T> {
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, (v) => (v.error ? reject(new Error(v.error)) : resolve(v.result as T)));
      this.child.stdin?.write(`${JSON.stringify({ id, op, ...extra })}\n`);
    });
  }

  async peer(): Promise<PeerStatus> {
    const [p] = await this.request<PeerStatus[]>('peers');
    if (p === undefined) throw new Error('no peer');
    return p;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

describe('Speaker with BFD ↔ BIRD 2 bfd on', () => {
  const lab = new Lab();
  let bird: BirdHandle;
  let speaker: SpeakerProcess | undefined;
  let b = '';

  beforeAll(async () => {
    const m = await lab.addNamespace('m');
    b = await lab.addNamespace('b');
    await lab.connect(
      { ns: m, ifname: 'to-b', ipv4: '192.0.2.1/24' },
      { ns: b, ifname: 'to-m', ipv4: '192.0.2.2/24' },
    );
    bird = await startBird(
      lab,
      b,
      birdConfig({
        routerId: '192.0.2.2',
        localAs: BIRD_AS,
        neighbors: [{ name: 'm4', address: '192.0.2.1', remoteAs: OUR_AS, holdTime: 9, extra: ['bfd on;'] }],
        staticRoutes: [{ prefix: '10.50.0.0/24' }],
        extra: [
          'protocol bfd {',
          '  interface "*" { min rx interval 100 ms; min tx interval 100 ms; multiplier 3; };',
          '}',
        ].join('\n'),
      }),
    );
    const options: SpeakerOptions = { asn: OUR_AS, routerId: '192.0.2.1' };
    speaker = new SpeakerProcess(m, join(lab.dir, 'speaker.log'), {
      options,
      peers: [
        {
          address: '192.0.2.2',
          asn: BIRD_AS,
          holdTime: 9,
          connectRetryTime: 1,
          bfd: { minRxMs: 100, minTxMs: 100, multiplier: 3 },
        },
      ],
      routes: [{ prefix: '10.244.1.0/24' }],
    });
    await speaker.started;
  });

  afterAll(async () => {
    speaker?.kill();
    await speaker?.exited;
    await lab.teardown();
  });

  test('BGP Established and BFD Up, the status showing both sides of BFD', async () => {
    await waitBirdEstablished(bird, 'm4');
    const p = await waitFor(() => speaker!.peer(), {
      describe: 'our peer Established with BFD Up at 100 ms',
      until: (p) => p.state === 'Established' && p.bfd?.state === 'Up' && p.bfd.txIntervalMs === 100,
    });
    expect(p.bfd).toMatchObject({
      remoteState: 'Up',
      minTxMs: 100,
      minRxMs: 100,
      multiplier: 3,
      remoteMultiplier: 3,
    });
    expect(p.bfd && 'detectionTimeMs' in p.bfd && p.bfd.detectionTimeMs).toBe(300);
    await waitFor(() => speaker!.request<PathView[]>('routes'), {
      describe: "BIRD's route at our speaker",
      until: (rs) => rs.some((r) => r.prefix === '10.50.0.0/24'),
    });
  });

  test("a cut takes our BGP session down by BFD, and BIRD's routes with it, within a second", async () => {
    const started = performance.now();
    await lab.exec(b, ['iptables-nft', '-I', 'INPUT', '-s', '192.0.2.1', '-j', 'DROP']);
    try {
      const p = await waitFor(() => speaker!.peer(), {
        describe: 'our peer down by BFD',
        until: (p) => p.state !== 'Established',
        intervalMs: 20,
        timeoutMs: 5_000,
      });
      const downMs = performance.now() - started;
      expect(p.lastError).toMatch(/BFD/);
      expect(p.bfd?.state).not.toBe('Up');
      await waitFor(() => speaker!.request<PathView[]>('routes'), {
        describe: "BIRD's route gone from our RIB",
        until: (rs) => !rs.some((r) => r.prefix === '10.50.0.0/24'),
        intervalMs: 20,
        timeoutMs: 2_000,
      });
      // 300 ms of BIRD's Detection Time, its Down packet, the polling: far below the 9 s hold time.
      expect(downMs).toBeLessThan(1_000);
      const theirs = await birdProtocol(bird, 'm4');
      expect(theirs.bgpState).not.toBe('Established');
    } finally {
      await lab.exec(b, ['iptables-nft', '-D', 'INPUT', '-s', '192.0.2.1', '-j', 'DROP']);
    }
    await waitBirdEstablished(bird, 'm4');
    await waitFor(() => speaker!.peer(), {
      describe: 'our peer back, BFD Up, one flap counted',
      until: (p) => p.state === 'Established' && p.bfd?.state === 'Up',
      timeoutMs: 20_000,
    });
    const p = await speaker!.peer();
    expect(p.bfd && 'downs' in p.bfd && p.bfd.downs).toBe(1);
  });
});
