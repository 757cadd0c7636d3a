// Proves the interop harness itself: links carry IPv4 and IPv6, each launcher brings up a real
// daemon whose sessions reach Established with the others and whose routes arrive, and teardown
// leaves no namespace and no process behind.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type BirdHandle,
  birdConfig,
  birdProtocol,
  birdRoutes,
  cleanupStale,
  exabgpConfig,
  exabgpSend,
  type FrrHandle,
  frrConfig,
  frrRoutes,
  type GobgpHandle,
  gobgpAddRoute,
  gobgpConfig,
  gobgpRib,
  Lab,
  listNamespaces,
  ping,
  startBird,
  startExabgp,
  startFrr,
  startGobgp,
  waitBirdEstablished,
  waitExabgpUp,
  waitFor,
  waitFrrEstablished,
  waitGobgpEstablished,
} from './lib/index.ts';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('netns links', () => {
  const lab = new Lab();
  afterAll(() => lab.teardown());

  test('a veth pair carries IPv4 and IPv6 (no DAD wait)', async () => {
    const a = await lab.addNamespace('a');
    const b = await lab.addNamespace('b');
    await lab.connect(
      { ns: a, ifname: 'to-b', ipv4: '192.0.2.1/24', ipv6: '2001:db8::1/64' },
      { ns: b, ifname: 'to-a', ipv4: '192.0.2.2/24', ipv6: '2001:db8::2/64' },
    );
    expect(await ping(a, '192.0.2.2')).toBe(true);
    expect(await ping(b, '192.0.2.1')).toBe(true);
    expect(await ping(a, '2001:db8::2')).toBe(true);
    expect(await ping(b, '2001:db8::1')).toBe(true);
    // And an address nobody has does not answer (the probe can fail).
    expect(await ping(a, '192.0.2.99', 500)).toBe(false);
  });

  test('a bridge segment joins three namespaces on one L2', async () => {
    const seg = await lab.addSegment('u');
    const names = await Promise.all(['x', 'y', 'z'].map((n) => lab.addNamespace(n)));
    for (const [i, ns] of names.entries()) {
      await seg.attach({
        ns,
        ifname: 'eth0',
        ipv4: `198.51.100.${i + 1}/24`,
        ipv6: `2001:db8:1::${i + 1}/64`,
      });
    }
    expect(await ping(names[0] as string, '198.51.100.3')).toBe(true);
    expect(await ping(names[2] as string, '2001:db8:1::2')).toBe(true);
  });
});

describe('daemon launchers: BIRD, FRR, GoBGP, ExaBGP peer with each other', () => {
  const lab = new Lab();
  let bird: BirdHandle;
  let frr: FrrHandle;
  let gobgp: GobgpHandle;
  const ip = { bird: '192.0.2.1', frr: '192.0.2.2', gobgp: '192.0.2.3', exa: '192.0.2.4' } as const;

  beforeAll(async () => {
    const seg = await lab.addSegment('u');
    const ns: Record<string, string> = {};
    for (const [name, addr] of Object.entries(ip)) {
      ns[name] = await lab.addNamespace(name);
      await seg.attach({ ns: ns[name] as string, ifname: 'eth0', ipv4: `${addr}/24` });
    }
    [bird, frr, gobgp] = await Promise.all([
      startBird(
        lab,
        ns.bird as string,
        birdConfig({
          routerId: ip.bird,
          localAs: 65001,
          neighbors: [
            { name: 'frr', address: ip.frr, remoteAs: 65002 },
            { name: 'gobgp', address: ip.gobgp, remoteAs: 65003 },
            { name: 'exa', address: ip.exa, remoteAs: 65004, passive: true },
          ],
          staticRoutes: [
            { prefix: '10.244.1.0/24', communities: [[65001, 1]], largeCommunities: [[65001, 1, 2]] },
          ],
        }),
      ),
      startFrr(
        lab,
        ns.frr as string,
        frrConfig({
          routerId: ip.frr,
          localAs: 65002,
          neighbors: [
            { address: ip.bird, remoteAs: 65001 },
            { address: ip.gobgp, remoteAs: 65003 },
          ],
          networks: ['10.244.2.0/24'],
        }),
      ),
      startGobgp(
        lab,
        ns.gobgp as string,
        gobgpConfig({
          routerId: ip.gobgp,
          localAs: 65003,
          neighbors: [
            { address: ip.bird, remoteAs: 65001 },
            { address: ip.frr, remoteAs: 65002 },
          ],
        }),
      ),
    ]);
    await gobgpAddRoute(gobgp, { prefix: '10.244.3.0/24', nextHop: ip.gobgp, communities: ['65003:3'] });
    const exa = await startExabgp(
      lab,
      ns.exa as string,
      exabgpConfig([
        { address: ip.bird, localAddress: ip.exa, remoteAs: 65001, localAs: 65004, routerId: ip.exa },
      ]),
    );
    exabgpSend(exa, `neighbor ${ip.bird} announce route 10.244.4.0/24 next-hop self`);
    await waitExabgpUp(exa, ip.bird);
  });
  afterAll(() => lab.teardown());

  test('BIRD ↔ FRR: established, routes both ways', async () => {
    await waitBirdEstablished(bird, 'frr');
    await waitFrrEstablished(frr, ip.bird);
    await waitFor(
      async () => (await birdRoutes(bird)).find((r) => r.prefix === '10.244.2.0/24' && r.protocol === 'frr'),
      {
        describe: 'BIRD has 10.244.2.0/24 from FRR',
      },
    ).then((r) => expect(r?.asPath).toEqual([65002]));
    await waitFor(
      async () => (await frrRoutes(frr)).find((r) => r.prefix === '10.244.1.0/24' && r.asPath === '65001'),
      {
        describe: 'FRR has 10.244.1.0/24 with AS path 65001',
      },
    );
  });

  test('BIRD ↔ GoBGP: established, routes both ways with communities', async () => {
    await waitBirdEstablished(bird, 'gobgp');
    await waitGobgpEstablished(gobgp, ip.bird);
    const r = await waitFor(
      async () =>
        (await birdRoutes(bird)).find((x) => x.prefix === '10.244.3.0/24' && x.protocol === 'gobgp'),
      { describe: 'BIRD has 10.244.3.0/24 from GoBGP' },
    );
    expect(r?.communities).toEqual([[65003, 3]]);
    expect(r?.bgpNextHop).toEqual([ip.gobgp]);
    const p = await waitFor(
      async () => (await gobgpRib(gobgp)).find((x) => x.prefix === '10.244.1.0/24' && x.nextHop === ip.bird),
      { describe: 'GoBGP has 10.244.1.0/24 via BIRD' },
    );
    expect(JSON.stringify(p?.attrs)).toContain('65001');
  });

  test('FRR ↔ GoBGP: established, routes both ways', async () => {
    await waitFrrEstablished(frr, ip.gobgp);
    await waitGobgpEstablished(gobgp, ip.frr);
    await waitFor(
      async () => (await frrRoutes(frr)).find((r) => r.prefix === '10.244.3.0/24' && r.asPath === '65003'),
      {
        describe: 'FRR has 10.244.3.0/24 with AS path 65003',
      },
    );
    await waitFor(
      async () => (await gobgpRib(gobgp)).find((x) => x.prefix === '10.244.2.0/24' && x.nextHop === ip.frr),
      {
        describe: 'GoBGP has 10.244.2.0/24 via FRR',
      },
    );
  });

  test('ExaBGP → BIRD: a route injected through the command file arrives', async () => {
    await waitBirdEstablished(bird, 'exa');
    const r = await waitFor(async () => (await birdRoutes(bird)).find((x) => x.prefix === '10.244.4.0/24'), {
      describe: 'BIRD has 10.244.4.0/24 from ExaBGP',
    });
    expect(r?.asPath).toEqual([65004]);
    expect((await birdProtocol(bird, 'exa')).channels.ipv4?.imported).toBe(1);
  });
});

describe('teardown', () => {
  test('cleanupStale removes namespaces and processes of a run by prefix', async () => {
    const lab = new Lab();
    const ns = await lab.addNamespace('stale');
    const p = lab.spawn(ns, ['sleep', '300'], { name: 'stale-sleep' });
    // As if the run had crashed: nothing but the prefix is known.
    expect(await cleanupStale(lab.prefix)).toEqual([ns]);
    await waitFor(() => !isAlive(p.pid), { describe: `pid ${p.pid} gone` });
    expect(await listNamespaces()).not.toContain(ns);
    await expect(cleanupStale('mgy-')).rejects.toThrow(/not a lab prefix/);
    await lab.teardown();
  });

  test('removes every namespace and process, and is safe to call twice', async () => {
    const lab = new Lab();
    const a = await lab.addNamespace('a');
    const b = await lab.addNamespace('b');
    await lab.connect(
      { ns: a, ifname: 'v0', ipv4: '203.0.113.1/30' },
      { ns: b, ifname: 'v1', ipv4: '203.0.113.2/30' },
    );
    const bird = await startBird(
      lab,
      a,
      birdConfig({
        routerId: '203.0.113.1',
        localAs: 65001,
        neighbors: [{ name: 'p', address: '203.0.113.2', remoteAs: 65002 }],
      }),
    );
    const frr = await startFrr(
      lab,
      b,
      frrConfig({
        routerId: '203.0.113.2',
        localAs: 65002,
        neighbors: [{ address: '203.0.113.1', remoteAs: 65001 }],
      }),
    );
    const pids = [bird.pid, frr.bgpd.pid, frr.zebra.pid];
    // A stray process started with plain exec-in-namespace semantics (not via spawn) is also found.
    const stray = lab.spawn(a, ['sleep', '300'], { name: 'stray' });
    pids.push(stray.pid);
    expect(pids.every(isAlive)).toBe(true);
    expect((await listNamespaces()).filter((n) => n.startsWith(lab.prefix)).sort()).toEqual([a, b].sort());

    await lab.teardown();
    await lab.teardown();

    expect((await listNamespaces()).filter((n) => n.startsWith(lab.prefix))).toEqual([]);
    expect(pids.filter(isAlive)).toEqual([]);
  });
});
