// One fuzz campaign: two network namespaces joined by a veth pair, `margay speaker` (the real
// program, src/main.ts) in one, the fuzz driver (driver.ts) in the other, and the summary of
// the run. Everything is created through a Lab, so the processes are stopped by PID and the
// namespaces deleted when the campaign ends, fails or is interrupted.
//
//   fz-spk  198.51.100.1/24  margay speaker AS 64512, REST API on 198.51.100.1:9179 (token)
//   fz-peer 198.51.100.2/24  driver: external peer AS 65001
//           198.51.100.3/24  driver: internal peer AS 64512
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab } from '../interop/lib/lab.ts';
import { PEERS, SPEAKER } from './cases.ts';
import type { DriverConfig, DriverSummary } from './driver.ts';

const REPO = join(import.meta.dirname, '..', '..');
const API_PORT = 9179;

export interface CampaignOptions {
  /** Seeds the whole sequence of cases; random when absent. */
  readonly seed?: number;
  readonly durationMs: number;
  /** First case index (to replay from the middle of a campaign). */
  readonly from?: number;
  /** Stop after this many cases, whatever the time. */
  readonly cases?: number;
  /** The driver's progress lines, as they come. */
  readonly onProgress?: (line: string) => void;
  readonly signal?: AbortSignal;
}

const NOTIFICATION_NAMES: Record<string, string> = {
  '1/1': 'Connection Not Synchronized',
  '1/2': 'Bad Message Length',
  '1/3': 'Bad Message Type',
  '2/0': 'OPEN Message Error',
  '2/1': 'Unsupported Version Number',
  '2/2': 'Bad Peer AS',
  '2/3': 'Bad BGP Identifier',
  '2/4': 'Unsupported Optional Parameter',
  '2/6': 'Unacceptable Hold Time',
  '2/7': 'Unsupported Capability',
  '3/0': 'UPDATE Message Error',
  '3/1': 'Malformed Attribute List',
  '3/2': 'Unrecognized Well-known Attribute',
  '3/3': 'Missing Well-known Attribute',
  '3/4': 'Attribute Flags Error',
  '3/5': 'Attribute Length Error',
  '3/6': 'Invalid ORIGIN Attribute',
  '3/8': 'Invalid NEXT_HOP Attribute',
  '3/9': 'Optional Attribute Error',
  '3/10': 'Invalid Network Field',
  '3/11': 'Malformed AS_PATH',
  '4/0': 'Hold Timer Expired',
  '5/0': 'Finite State Machine Error',
  '5/1': 'FSM Error in OpenSent',
  '5/2': 'FSM Error in OpenConfirm',
  '5/3': 'FSM Error in Established',
};

export interface CampaignSummary {
  readonly seed: number;
  readonly replay: string;
  readonly elapsedSeconds: number;
  readonly messagesSent: number;
  readonly cases: {
    readonly run: number;
    readonly update: number;
    readonly open: number;
    readonly first: number;
  };
  readonly resets: Record<string, number>;
  readonly treatAsWithdraw: number;
  readonly attributeDiscards: number;
  readonly accepted: number;
  readonly crashes: number;
  readonly hangs: number;
  readonly disagreements: DriverSummary['disagreements'];
  /** UPDATEs (or an OPEN) from the speaker that the oracle finds malformed. */
  readonly malformedFromSpeaker: DriverSummary['exportErrors'];
  readonly finalRib: DriverSummary['final'];
  readonly speaker: {
    readonly alive: boolean;
    readonly healthz?: number;
    readonly rssMiB?: number;
    readonly peakRssMiB?: number;
    readonly exit?: string;
    readonly logTail?: readonly string[];
    readonly log: Record<string, number>;
  };
  readonly aborted?: string;
  /** When it stopped early: the cases that were being run, and how to replay them. */
  readonly inFlight?: { readonly cases: readonly number[]; readonly replay: string };
}

/** The campaign's verdict: empty when it passed (crashes, hangs, MUST disagreements, RIB, exports). */
export function failures(s: CampaignSummary): string[] {
  const out: string[] = [];
  if (s.crashes > 0) out.push(`the speaker crashed (${s.speaker.exit ?? 'gone'})`);
  if (s.hangs > 0) out.push(`${s.hangs} hang(s)`);
  if (s.disagreements.must > 0)
    out.push(`${s.disagreements.must} MUST-level disagreement(s) with the oracle`);
  if (s.malformedFromSpeaker.count > 0)
    out.push(`${s.malformedFromSpeaker.count} malformed message(s) from the speaker`);
  if (!s.finalRib.ok) out.push(`final RIB: ${s.finalRib.problems.slice(0, 5).join('; ')}`);
  if (!s.speaker.alive) out.push('the speaker is not running at the end');
  if (s.speaker.healthz !== 200) out.push(`/healthz answered ${s.speaker.healthz ?? 'nothing'}`);
  if (s.aborted !== undefined) out.push(`aborted: ${s.aborted.split('\n')[0]}`);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runCampaign(o: CampaignOptions): Promise<CampaignSummary> {
  const seed = o.seed ?? randomInt(0, 2 ** 31);
  const lab = new Lab();
  try {
    const spk = await lab.addNamespace('fz-spk');
    const peer = await lab.addNamespace('fz-peer');
    await lab.connect(
      { ns: spk, ifname: 'eth0', ipv4: `${SPEAKER.address}/24` },
      { ns: peer, ifname: 'eth0', ipv4: `${PEERS.ebgp.address}/24` },
    );
    await lab.exec(peer, ['ip', 'addr', 'add', `${PEERS.ibgp.address}/24`, 'dev', 'eth0']);

    const dir = lab.mkdir('fuzz');
    const token = randomBytes(16).toString('hex');
    const config = join(dir, 'speaker.yaml');
    const families = ['ipv4-unicast', 'ipv6-unicast'];
    writeFileSync(
      config,
      JSON.stringify({
        asn: SPEAKER.asn,
        routerId: SPEAKER.routerId,
        listen: { address: '::', port: 179 },
        api: { listen: `${SPEAKER.address}:${API_PORT}`, token },
        // No graceful restart: a session that ends takes its routes with it at once.
        gracefulRestartTime: 0,
        peers: [PEERS.ebgp, PEERS.ibgp].map((p) => ({
          address: p.address,
          asn: p.asn,
          passive: true,
          families,
          description: `fuzz-${p.name}`,
          // IPv6 routes go to the external peer over this IPv4 session with this next hop.
          ...(p.name === 'ebgp' && { nextHop: { ipv6: '2001:db8:1::1' } }),
        })),
      }),
    );
    const speaker = lab.spawn(
      spk,
      [process.execPath, join(REPO, 'src', 'main.ts'), 'speaker', '--config', config],
      {
        name: 'speaker',
        env: { ...process.env, MARGAY_LOG_LEVEL: 'info' },
      },
    );
    const summaryFile = join(dir, 'summary.json');
    const driverConfig: DriverConfig = {
      seed,
      from: o.from ?? 0,
      ...(o.cases !== undefined && { cases: o.cases }),
      durationMs: o.durationMs,
      speakerPid: speaker.pid,
      speakerLog: speaker.logFile,
      api: { host: SPEAKER.address, port: API_PORT, token },
      summaryFile,
    };
    const driver = lab.spawn(
      peer,
      [process.execPath, join(import.meta.dirname, 'driver.ts'), JSON.stringify(driverConfig)],
      {
        name: 'driver',
      },
    );
    // The driver stops itself at the deadline; the final check and slow machines get ten minutes more.
    const hardDeadline = Date.now() + o.durationMs + 10 * 60_000;
    let shown = 0;
    const relay = () => {
      let text = '';
      try {
        text = readFileSync(driver.logFile, 'utf8');
      } catch {
        return;
      }
      const lines = text.slice(shown).split('\n');
      const complete = lines.slice(0, -1);
      shown += complete.reduce((n, l) => n + l.length + 1, 0);
      for (const l of complete) o.onProgress?.(l);
    };
    while (driver.exitStatus() === undefined) {
      relay();
      if (Date.now() > hardDeadline || o.signal?.aborted === true) {
        await driver.stop(30_000);
        break;
      }
      await sleep(250);
    }
    relay();
    let d: DriverSummary & { speakerLog?: Record<string, number> };
    try {
      d = JSON.parse(readFileSync(summaryFile, 'utf8')) as typeof d;
    } catch {
      const tail = readFileSync(driver.logFile, 'utf8').split('\n').slice(-30).join('\n');
      throw new Error(
        `the fuzz driver ended without a summary (${JSON.stringify(driver.exitStatus())}):\n${tail}`,
      );
    }
    const exit = speaker.exitStatus();
    const crashed = d.crashed || exit !== undefined;
    const logTail = crashed ? readFileSync(speaker.logFile, 'utf8').split('\n').slice(-20) : undefined;
    const resets: Record<string, number> = {};
    for (const [k, n] of Object.entries(d.resets).sort(([a], [b]) =>
      a.localeCompare(b, 'en', { numeric: true }),
    )) {
      resets[`${k} ${NOTIFICATION_NAMES[k] ?? ''}`.trim()] = n;
    }
    const mib = (kib: number | undefined) =>
      kib === undefined ? undefined : Math.round((kib / 1024) * 10) / 10;
    return {
      seed,
      replay: `npm run fuzz -- --seed ${seed} --minutes ${o.durationMs / 60_000}${o.from ? ` --from ${o.from}` : ''}${o.cases ? ` --cases ${o.cases}` : ''}`,
      elapsedSeconds: Math.round(d.elapsedMs / 1000),
      messagesSent: d.messagesSent,
      cases: { run: d.casesRun, update: d.updateCases, open: d.openCases, first: d.firstCase },
      resets,
      treatAsWithdraw: d.treatAsWithdraw,
      attributeDiscards: d.attributeDiscards,
      accepted: d.accepted,
      crashes: crashed ? 1 : 0,
      hangs: d.hangs,
      disagreements: d.disagreements,
      malformedFromSpeaker: d.exportErrors,
      finalRib: d.final,
      speaker: {
        alive: d.alive && exit === undefined,
        ...(d.healthz !== undefined && { healthz: d.healthz }),
        ...(mib(d.rssKiB) !== undefined && { rssMiB: mib(d.rssKiB) }),
        ...(mib(d.peakRssKiB) !== undefined && { peakRssMiB: mib(d.peakRssKiB) }),
        ...(exit !== undefined && { exit: exit.signal ?? `exit code ${exit.code}` }),
        ...(logTail !== undefined && { logTail }),
        log: d.speakerLog ?? {},
      },
      ...(d.aborted !== undefined && { aborted: d.aborted }),
      ...(d.inFlight !== undefined &&
        d.inFlight.length > 0 && {
          inFlight: {
            cases: d.inFlight,
            replay: `npm run fuzz -- --seed ${seed} --from ${d.inFlight[0]} --cases ${d.inFlight.length} --minutes 5`,
          },
        }),
    };
  } finally {
    await lab.teardown();
  }
}
