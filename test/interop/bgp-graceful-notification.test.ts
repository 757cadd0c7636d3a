// RFC 8538 (Notification Message Support for BGP Graceful Restart) against FRR 8.4 and BIRD
// 2.0.12: our Speaker (the library, in a lab namespace through bgp/driver.ts) advertises the N
// bit and stops the way `margay agent` does on SIGTERM.
// - FRR 8.4 advertises N (`bgp graceful-restart notification` is on by default; it sets R too
//   in the OPENs after bgpd starts) and honours it: after our graceful stop (Cease /
//   Administrative Reset) it keeps our route, flagged stale, until we are back (it sees our R,
//   N and F bits) and have sent End-of-RIB; after a hard stop it flushes at once and shows the
//   Cease inside the Hard Reset (lastNotificationHardReset). Its own `clear bgp` is a Hard Reset
//   wrapping Administrative Reset (`bgp hard-administrative-reset`, on by default): we flush.
// - BIRD 2.0.12 advertises graceful restart without N, so a Cease would make it flush (RFC 4724
//   §4.2): our graceful stop closes that connection without a NOTIFICATION and BIRD keeps our
//   route as a graceful restart helper; our hard stop is Cease / Administrative Shutdown and it
//   flushes.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type DriverHandle, startDriver } from './bgp/driver.ts';
import {
  type BirdHandle,
  birdConfig,
  birdProtocol,
  type FrrHandle,
  frrConfig,
  frrNeighbor,
  frrRoutes,
  Lab,
  parseRoutesAll,
  startBird,
  startFrr,
  waitFor,
} from './lib/index.ts';

const IP = { m: '192.0.2.1', frr: '192.0.2.2', bird: '192.0.2.3' } as const;
const AS = { m: 64512, frr: 65002, bird: 65003 } as const;
const ROUTE = '10.244.1.0/24';
const FRR_ROUTE = '10.244.200.0/24';

describe('RFC 8538 graceful / hard stop of our speaker, seen by FRR and BIRD', () => {
  const lab = new Lab();
  let nsM: string;
  let frr: FrrHandle;
  let bird: BirdHandle;
  let m: DriverHandle;

  const startOurs = (isRestart: boolean) =>
    startDriver(lab, nsM, {
      options: {
        asn: AS.m,
        routerId: IP.m,
        listen: { address: '::', port: 179 },
        gracefulRestartTime: 120,
        gracefulRestartForwardingPreserved: true,
        gracefulRestartRestarting: isRestart,
      },
      peers: [
        { address: IP.frr, asn: AS.frr, holdTime: 9 },
        { address: IP.bird, asn: AS.bird, holdTime: 9 },
      ],
      routes: [{ prefix: ROUTE }],
    });

  const frrPath = async () => (await frrRoutes(frr)).find((r) => r.prefix === ROUTE);
  const birdHas = async () => {
    try {
      return parseRoutesAll(await bird.birdc(`show route ${ROUTE} all`)).some((r) => r.prefix === ROUTE);
    } catch {
      return false; // "Network not found"
    }
  };
  const bothHaveIt = async () => {
    await waitFor(frrPath, { describe: `FRR has ${ROUTE}`, until: (p) => p?.raw.stale !== true });
    await waitFor(birdHas, { describe: `BIRD has ${ROUTE}`, until: (has) => has });
  };

  beforeAll(async () => {
    const seg = await lab.addSegment('u');
    nsM = await lab.addNamespace('m');
    const nsFrr = await lab.addNamespace('frr');
    const nsBird = await lab.addNamespace('bird');
    await seg.attach({ ns: nsM, ifname: 'eth0', ipv4: `${IP.m}/24` });
    await seg.attach({ ns: nsFrr, ifname: 'eth0', ipv4: `${IP.frr}/24` });
    await seg.attach({ ns: nsBird, ifname: 'eth0', ipv4: `${IP.bird}/24` });
    [frr, bird, m] = await Promise.all([
      startFrr(
        lab,
        nsFrr,
        frrConfig({
          routerId: IP.frr,
          localAs: AS.frr,
          gracefulRestart: true,
          neighbors: [{ address: IP.m, remoteAs: AS.m, ipv4: true }],
          networks: [FRR_ROUTE],
        }),
      ),
      startBird(
        lab,
        nsBird,
        birdConfig({
          routerId: IP.bird,
          localAs: AS.bird,
          neighbors: [{ name: 'm', address: IP.m, remoteAs: AS.m, gracefulRestart: true }],
        }),
      ),
      startOurs(false),
    ]);
  });
  afterAll(() => lab.teardown());

  test('capabilities: FRR advertises the N bit, BIRD does not', async () => {
    const caps = async (address: string) =>
      (
        await waitFor(() => m.peer(address), {
          describe: `our session with ${address} Established`,
          until: (p) => p.state === 'Established',
          timeoutMs: 30_000,
        })
      ).capabilities.remote.find((c) => c.startsWith('graceful-restart'));
    const frrGr = await caps(IP.frr);
    const birdGr = await caps(IP.bird);
    expect(frrGr).toMatch(/^graceful-restart \d+s (R )?N\b/);
    expect(birdGr).toMatch(/^graceful-restart /);
    expect(birdGr).not.toMatch(/ N\b/);
    await bothHaveIt();
  }, 60_000);

  test('graceful stop: FRR (Administrative Reset) and BIRD (no NOTIFICATION) keep our route', async () => {
    await m.stopSpeaker({ message: 'margay agent restarting' });
    const stale = await waitFor(frrPath, {
      describe: `FRR marks ${ROUTE} stale`,
      until: (p) => p?.raw.stale === true,
    });
    expect(stale?.nextHops).toEqual([IP.m]);
    const n = await frrNeighbor(frr, IP.m);
    expect(n.state).not.toBe('Established');
    expect(n.raw).toMatchObject({
      lastNotificationReason: 'Cease/Administrative Reset',
      lastNotificationHardReset: false,
    });
    const birdDown = await waitFor(() => bird.birdc('show protocols all m'), {
      describe: 'BIRD: graceful restart of m active',
      until: (out) => /Neighbor graceful restart active/.test(out),
    });
    console.log(`[graceful-notification] BIRD after our graceful stop:\n${birdDown}`);
    expect((await birdProtocol(bird, 'm')).lastError).toBe('Socket: Connection closed');
    // Still held a while later (the restart time is 120 s).
    await new Promise((r) => setTimeout(r, 2_000));
    expect((await frrPath())?.raw.stale).toBe(true);
    expect(await birdHas()).toBe(true);
  }, 60_000);

  test('restart (R bit) with End-of-RIB: FRR refreshes the stale route, BIRD relearns it', async () => {
    await m.stop();
    m = await startOurs(true);
    await bothHaveIt();
    const n = await frrNeighbor(frr, IP.m);
    expect(n.state).toBe('Established');
    // FRR saw the R bit (RFC 4724 §4.1), N, and F for IPv4 unicast, and our End-of-RIB.
    expect(n.raw.gracefulRestartInfo).toMatchObject({
      rBit: true,
      nBit: true,
      endOfRibRecv: { ipv4Unicast: true },
      ipv4Unicast: { fBit: true },
    });
  }, 60_000);

  test("FRR's `clear bgp` is a Hard Reset (Administrative Reset inside): we flush FRR's route", async () => {
    await waitFor(() => m.routes({ prefix: FRR_ROUTE }), {
      describe: `FRR's ${FRR_ROUTE} at us`,
      until: (r) => r.length === 1,
    });
    await frr.vtysh(`clear bgp ipv4 unicast ${IP.m}`);
    const down = await waitFor(() => m.peer(IP.frr), {
      describe: 'our session with FRR reset',
      until: (p) => p.lastError !== undefined,
    });
    expect(down.lastError).toBe('Received: Hard reset (Administrative reset)');
    expect(await m.routes({ prefix: FRR_ROUTE })).toEqual([]);
    // Back up for the next test; FRR's route and ours are exchanged again.
    await waitFor(() => m.routes({ prefix: FRR_ROUTE }), {
      describe: `FRR's ${FRR_ROUTE} back`,
      until: (r) => r.length === 1,
      timeoutMs: 30_000,
    });
    await bothHaveIt();
  }, 60_000);

  test('hard stop: Cease / Hard Reset, FRR flushes our route at once', async () => {
    await m.stopSpeaker({ message: 'node removed', hardReset: true });
    await waitFor(frrPath, {
      describe: `FRR without ${ROUTE}`,
      until: (p) => p === undefined,
      timeoutMs: 5_000,
    });
    const n = await frrNeighbor(frr, IP.m);
    // FRR decapsulates the Hard Reset (RFC 8538 §3.1) and shows the Cease inside it.
    expect(n.raw).toMatchObject({
      lastNotificationReason: 'Cease/Administrative Shutdown',
      lastNotificationHardReset: true,
    });
    await waitFor(birdHas, { describe: `BIRD without ${ROUTE}`, until: (has) => !has });
  }, 60_000);
});
