// Re-runnable capture of golden BGP bytes from real daemons, with the provenance that says what
// each daemon was configured and asked to send.
//
//   npx node test/golden/tools/capture.ts            # writes test/golden/captures/*.{json,pcap}
//   npx node test/golden/tools/capture.ts --out DIR  # elsewhere (e.g. to diff against the committed set)
//
// Each scenario builds a lab (test/interop/lib) on one L2 segment, starts one tcpdump per BGP
// session inside one endpoint's namespace *before* the daemons start (so OPENs are captured),
//   tcpdump -i eth0 -U -s 0 -w FILE 'tcp port 179 and host PEER'
// drives the daemons through a script of actions (announce, route refresh, withdraw, shutdown
// with a message; every tap of a scenario records the whole script, since an action on one
// session shows on the others), waiting after each step until the expected message shows up in the pcap, then
// stops tcpdump (SIGTERM flushes), reassembles both TCP directions (tools/pcap.ts), cuts BGP
// messages on the header length and writes one JSON per session with full provenance (daemon
// versions, every config, the tcpdump command, the action script) next to the raw .pcap.
//
// Scenarios:
//   ebgp  — BIRD (AS 4200000001) ↔ GoBGP (AS 65002) over IPv4 and over IPv6; GoBGP ↔ FRR
//           (AS 65003); BIRD ↔ ExaBGP with ExaBGP as a 2-octet-AS speaker (AS4_PATH/AS_TRANS).
//   ibgp  — BIRD as route reflector (AS 65000, cluster id 192.0.2.100) with FRR (IPv4 + IPv6
//           sessions) and GoBGP as clients: LOCAL_PREF, ORIGINATOR_ID, CLUSTER_LIST, NO_EXPORT,
//           FRR aggregate (ATOMIC_AGGREGATE + AGGREGATOR), FRR FQDN capability.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  birdConfig,
  birdRoutes,
  exabgpConfig,
  execHost,
  frrConfig,
  frrRoutes,
  gobgpAddRoute,
  gobgpConfig,
  gobgpDeleteRoute,
  gobgpRib,
  Lab,
  type ProcessHandle,
  startBird,
  startExabgp,
  startFrr,
  startGobgp,
  waitBirdEstablished,
  waitFor,
  waitFrrEstablished,
  waitGobgpEstablished,
} from '../../interop/lib/index.ts';
import { summarize } from './describe.ts';
import { type BgpFrame, bgpMessagesFromPcap } from './pcap.ts';

const here = dirname(fileURLToPath(import.meta.url));

export interface CaptureMessage {
  /** TCP connection ordinal within the capture (a collision or reconnect opens a second one). */
  readonly connection: number;
  readonly from: string;
  readonly type: number;
  readonly hex: string;
  readonly note: string;
}

export interface CaptureFile {
  readonly provenance: {
    readonly sender: string;
    readonly receiver: string;
    readonly peers: Record<string, { daemon: string; address: string; as: number }>;
    readonly capturedWith: string;
    readonly capturedIn: string;
    readonly date: string;
    readonly scenario: string;
    readonly actions: readonly string[];
    readonly configs: Record<string, string>;
    readonly pcap: string;
    readonly tool: string;
  };
  readonly messages: readonly CaptureMessage[];
}

interface Peer {
  readonly label: string;
  readonly daemon: string;
  readonly address: string;
  readonly as: number;
}

interface Tap {
  readonly name: string;
  readonly scenario: string;
  readonly pcapPath: string;
  readonly argv: readonly string[];
  readonly ns: string;
  readonly local: Peer;
  readonly remote: Peer;
  readonly proc: ProcessHandle;
  readonly actions: string[];
}

async function versions(): Promise<Record<'bird' | 'frr' | 'gobgp' | 'exabgp', string>> {
  const v = async (argv: string[], re: RegExp): Promise<string> => {
    const r = await execHost(argv, { allowFailure: true });
    return re.exec(r.stdout + r.stderr)?.[1] ?? 'unknown';
  };
  return {
    bird: `bird ${await v(['bird', '--version'], /BIRD version (\S+)/)}`,
    frr: `frr ${await v(['/usr/lib/frr/bgpd', '--version'], /bgpd version (\S+)/)}`,
    gobgp: `gobgp ${await v(['gobgpd', '--version'], /gobgpd version (\S+)/)}`,
    exabgp: `exabgp ${await v(['exabgp', '--version'], /ExaBGP : (\S+)/)}`,
  };
}

async function startTap(
  lab: Lab,
  scenario: string,
  name: string,
  ns: string,
  local: Peer,
  remote: Peer,
): Promise<Tap> {
  const pcapPath = join(lab.dir, `${name}.pcap`);
  const argv = [
    'tcpdump',
    '-i',
    'eth0',
    '-U',
    '-s',
    '0',
    '-w',
    pcapPath,
    `tcp port 179 and host ${remote.address}`,
  ];
  const proc = lab.spawn(ns, argv, { name: `tcpdump-${name}` });
  await waitFor(
    () => existsSync(proc.logFile) && readFileSync(proc.logFile, 'utf8').includes('listening on'),
    {
      describe: `tcpdump for ${name} listening`,
      timeoutMs: 10_000,
    },
  );
  return { name, scenario, pcapPath, argv, ns, local, remote, proc, actions: [] };
}

function frames(tap: Tap): BgpFrame[] {
  if (!existsSync(tap.pcapPath)) return [];
  return bgpMessagesFromPcap(readFileSync(tap.pcapPath));
}

/** Wait until the tap has seen a message from `from` matching `pred`. */
async function expectOnWire(
  tap: Tap,
  from: Peer,
  what: string,
  pred: (f: BgpFrame) => boolean,
): Promise<void> {
  await waitFor(() => frames(tap).filter((f) => f.src === from.address && pred(f)).length, {
    describe: `${tap.name}: ${from.label} sends ${what}`,
    until: (n) => n > 0,
    timeoutMs: 30_000,
    intervalMs: 200,
  });
}

const isType = (t: number) => (f: BgpFrame) => f.type === t;
const isEor = (f: BgpFrame): boolean => f.type === 2 && summarize(f.bytes).isEndOfRib === true;
const isWithdraw = (f: BgpFrame): boolean => f.type === 2 && summarize(f.bytes).hasWithdrawn === true;
const isReach = (f: BgpFrame): boolean => f.type === 2 && summarize(f.bytes).hasNlri === true;

async function finish(
  tap: Tap,
  outDir: string,
  configs: Record<string, string>,
  date: string,
): Promise<void> {
  await tap.proc.stop();
  const msgs = frames(tap);
  const labels = new Map([
    [tap.local.address, tap.local],
    [tap.remote.address, tap.remote],
  ]);
  const file: CaptureFile = {
    provenance: {
      sender: tap.local.daemon,
      receiver: tap.remote.daemon,
      peers: Object.fromEntries(
        [tap.local, tap.remote].map((p) => [p.label, { daemon: p.daemon, address: p.address, as: p.as }]),
      ),
      capturedWith: tap.argv
        .map((a) => (a === tap.pcapPath ? `${tap.name}.pcap` : a.includes(' ') ? `'${a}'` : a))
        .join(' '),
      capturedIn: `network namespace of ${tap.local.label} (${tap.local.address}), lab segment 192.0.2.0/24 + 2001:db8::/64`,
      date,
      scenario: tap.scenario,
      actions: tap.actions,
      configs,
      pcap: `${tap.name}.pcap`,
      tool: 'test/golden/tools/capture.ts',
    },
    messages: msgs.map((f) => ({
      connection: f.connection,
      from: labels.get(f.src)?.label ?? f.src,
      type: f.type,
      hex: Buffer.from(f.bytes).toString('hex'),
      note: summarize(f.bytes).note,
    })),
  };
  writeFileSync(join(outDir, `${tap.name}.pcap`), readFileSync(tap.pcapPath));
  writeFileSync(join(outDir, `${tap.name}.json`), `${JSON.stringify(file, null, 2)}\n`);
  console.log(`${tap.name}: ${msgs.length} messages`);
}

const log = (taps: readonly Tap[], action: string): void => {
  for (const t of taps) t.actions.push(action);
};

// ---------------------------------------------------------------------------------------------

async function scenarioEbgp(
  outDir: string,
  v: Awaited<ReturnType<typeof versions>>,
  date: string,
): Promise<void> {
  const lab = new Lab();
  try {
    const seg = await lab.addSegment('u');
    const P = {
      bird: { label: 'bird', daemon: v.bird, address: '192.0.2.1', as: 4200000001 },
      bird6: { label: 'bird', daemon: v.bird, address: '2001:db8::1', as: 4200000001 },
      gobgp: { label: 'gobgp', daemon: v.gobgp, address: '192.0.2.2', as: 65002 },
      gobgp6: { label: 'gobgp', daemon: v.gobgp, address: '2001:db8::2', as: 65002 },
      frr: { label: 'frr', daemon: v.frr, address: '192.0.2.3', as: 65003 },
      exabgp: { label: 'exabgp', daemon: v.exabgp, address: '192.0.2.4', as: 65010 },
    } as const;
    const ns: Record<string, string> = {};
    for (const [i, name] of ['bird', 'gobgp', 'frr', 'exabgp'].entries()) {
      ns[name] = await lab.addNamespace(name);
      await seg.attach({
        ns: ns[name] as string,
        ifname: 'eth0',
        ipv4: `192.0.2.${i + 1}/24`,
        ipv6: `2001:db8::${i + 1}/64`,
      });
    }
    const scen = 'ebgp';
    const t4 = await startTap(lab, scen, 'bird-gobgp-ebgp-ipv4', ns.gobgp as string, P.gobgp, P.bird);
    const t6 = await startTap(lab, scen, 'bird-gobgp-ebgp-ipv6', ns.gobgp as string, P.gobgp6, P.bird6);
    const tf = await startTap(lab, scen, 'gobgp-frr-ebgp-ipv4', ns.frr as string, P.frr, P.gobgp);
    const tx = await startTap(lab, scen, 'bird-exabgp-2octet-as', ns.exabgp as string, P.exabgp, P.bird);
    const all = [t4, t6, tf, tx];

    const birdConf = birdConfig({
      routerId: '192.0.2.1',
      localAs: 4200000001,
      neighbors: [
        {
          name: 'gobgp4',
          address: P.gobgp.address,
          localAddress: P.bird.address,
          remoteAs: 65002,
          extendedMessages: true,
          gracefulRestart: true,
          ipv4: { addPaths: 'on', extendedNextHop: true },
        },
        {
          name: 'gobgp6',
          address: P.gobgp6.address,
          localAddress: P.bird6.address,
          remoteAs: 65002,
          extendedMessages: true,
          gracefulRestart: true,
          ipv4: false,
          ipv6: { addPaths: 'on' },
        },
        { name: 'exa', address: P.exabgp.address, localAddress: P.bird.address, remoteAs: 65010 },
      ],
      staticRoutes: [
        {
          prefix: '10.244.1.0/24',
          communities: [[65000, 1]],
          largeCommunities: [[4200000001, 1, 2]],
          extCommunities: [['rt', 65000, 100]],
          med: 10,
        },
        { prefix: '10.244.11.0/24', origin: 'incomplete' },
        {
          prefix: '2001:db8:101::/48',
          communities: [[65000, 6]],
          largeCommunities: [[4200000001, 6, 6]],
          med: 60,
        },
      ],
    });
    const gobgpConf = gobgpConfig({
      routerId: '192.0.2.2',
      localAs: 65002,
      neighbors: [
        {
          address: P.bird.address,
          remoteAs: 4200000001,
          gracefulRestart: true,
          addPaths: { receive: true, sendMax: 4 },
        },
        { address: P.bird6.address, remoteAs: 4200000001, families: ['ipv6-unicast'], gracefulRestart: true },
        // FRR sends End-of-RIB only to peers that negotiated graceful restart.
        { address: P.frr.address, remoteAs: 65003, gracefulRestart: true },
      ],
    });
    const frrConf = frrConfig({
      hostname: 'frr-ebgp',
      routerId: '192.0.2.3',
      localAs: 65003,
      gracefulRestart: true,
      neighbors: [{ address: P.gobgp.address, remoteAs: 65002 }],
      networks: [{ prefix: '10.244.3.0/24', routeMap: 'SET3' }],
      trailer: [
        'route-map SET3 permit 10',
        ' set extcommunity rt 65003:3',
        ' set large-community 65003:3:3',
        ' set metric 30',
        'exit',
      ].join('\n'),
    });
    const exaConf = exabgpConfig([
      {
        address: P.bird.address,
        localAddress: P.exabgp.address,
        remoteAs: 23456, // BIRD's 4-octet AS as a 2-octet speaker sees it: AS_TRANS (RFC 6793)
        localAs: 65010,
        routerId: '192.0.2.4',
        as4: false,
        routes: [
          'route 10.244.4.0/24 next-hop self as-path [ 65010 ] atomic-aggregate aggregator ( 65010:192.0.2.4 ) community [ 65010:4 ];',
        ],
      },
    ]);
    const configs = { bird: birdConf, gobgp: gobgpConf, frr: frrConf, exabgp: exaConf };

    const [bird, gobgp, frr] = await Promise.all([
      startBird(lab, ns.bird as string, birdConf),
      startGobgp(lab, ns.gobgp as string, gobgpConf),
      startFrr(lab, ns.frr as string, frrConf),
    ]);
    await startExabgp(lab, ns.exabgp as string, exaConf);
    log(all, 'start daemons with the configs above');
    await gobgpAddRoute(gobgp, {
      prefix: '10.244.2.0/24',
      nextHop: P.gobgp.address,
      origin: 'egp',
      med: 20,
      communities: ['65002:1', '65002:2'],
      largeCommunities: ['65002:1:1'],
    });
    await gobgpAddRoute(gobgp, {
      prefix: '2001:db8:102::/48',
      nextHop: P.gobgp6.address,
      communities: ['65002:6'],
    });
    log(
      all,
      'gobgp global rib add -a ipv4 10.244.2.0/24 origin egp nexthop 192.0.2.2 med 20 community 65002:1,65002:2 large-community 65002:1:1',
    );
    log(all, 'gobgp global rib add -a ipv6 2001:db8:102::/48 nexthop 2001:db8::2 community 65002:6');
    await waitBirdEstablished(bird, 'gobgp4');
    await waitBirdEstablished(bird, 'gobgp6');
    await waitBirdEstablished(bird, 'exa');
    await waitFrrEstablished(frr, P.gobgp.address);
    await waitGobgpEstablished(gobgp, P.frr.address);
    // Routes and End-of-RIB in every direction before anything else happens.
    await waitFor(async () => (await birdRoutes(bird)).filter((r) => r.protocol.startsWith('gobgp')).length, {
      describe: 'BIRD has both GoBGP routes',
      until: (n) => n >= 2,
    });
    await waitFor(async () => (await frrRoutes(frr)).some((r) => r.prefix === '10.244.1.0/24'), {
      describe: 'FRR has BIRD route via GoBGP',
    });
    await waitFor(async () => (await gobgpRib(gobgp)).some((r) => r.prefix === '10.244.4.0/24'), {
      describe: 'GoBGP has the ExaBGP route via BIRD',
    });
    for (const [tap, a, b] of [
      [t4, P.bird, P.gobgp],
      [t6, P.bird6, P.gobgp6],
      [tf, P.frr, P.gobgp],
      [tx, P.bird, P.exabgp],
    ] as const) {
      await expectOnWire(tap, a, 'End-of-RIB', isEor);
      if (tap !== tx) await expectOnWire(tap, b, 'End-of-RIB', isEor);
      await expectOnWire(tap, a, 'KEEPALIVE', isType(4));
    }

    // ROUTE-REFRESH. (GoBGP never sends one: `gobgp neighbor X softresetin` re-runs policy over
    // its stored Adj-RIB-In locally; so refreshes here come from BIRD and FRR.)
    await bird.birdc('reload in gobgp4');
    await bird.birdc('reload in gobgp6');
    log(all, 'birdc reload in gobgp4; birdc reload in gobgp6');
    await expectOnWire(t4, P.bird, 'ROUTE-REFRESH', isType(5));
    await expectOnWire(t6, P.bird6, 'ROUTE-REFRESH', isType(5));
    await frr.vtysh(`clear bgp ipv4 unicast ${P.gobgp.address} soft in`);
    log(all, `vtysh: clear bgp ipv4 unicast ${P.gobgp.address} soft in`);
    await expectOnWire(tf, P.frr, 'ROUTE-REFRESH', isType(5));

    // Withdrawals: IPv4 withdrawn-routes field and MP_UNREACH_NLRI.
    await bird.birdc('disable static4');
    await bird.birdc('disable static6');
    log(all, 'birdc disable static4; birdc disable static6 (withdraw BIRD routes)');
    await expectOnWire(t4, P.bird, 'IPv4 withdrawal', isWithdraw);
    await expectOnWire(t6, P.bird6, 'MP_UNREACH withdrawal', isWithdraw);
    await expectOnWire(tx, P.bird, 'IPv4 withdrawal', isWithdraw);
    await gobgpDeleteRoute(gobgp, '10.244.2.0/24');
    await gobgpDeleteRoute(gobgp, '2001:db8:102::/48');
    log(all, 'gobgp global rib del -a ipv4 10.244.2.0/24; gobgp global rib del -a ipv6 2001:db8:102::/48');
    await expectOnWire(t4, P.gobgp, 'IPv4 withdrawal', isWithdraw);
    await expectOnWire(t6, P.gobgp6, 'MP_UNREACH withdrawal', isWithdraw);
    await frr.vtysh(
      'configure terminal',
      'router bgp 65003',
      'address-family ipv4 unicast',
      'no network 10.244.3.0/24',
    );
    log(all, 'vtysh: router bgp 65003 / address-family ipv4 unicast / no network 10.244.3.0/24');
    await expectOnWire(tf, P.frr, 'IPv4 withdrawal', isWithdraw);

    // Cease with a shutdown communication (RFC 9003).
    await bird.birdc('disable gobgp4 "maintenance: bird to gobgp v4"');
    await bird.birdc('disable gobgp6 "maintenance: bird to gobgp v6"');
    await bird.birdc('disable exa "maintenance: bird to 2-octet exabgp"');
    log(all, 'birdc disable gobgp4 "maintenance: bird to gobgp v4"');
    log(all, 'birdc disable gobgp6 "maintenance: bird to gobgp v6"');
    log(all, 'birdc disable exa "maintenance: bird to 2-octet exabgp"');
    await gobgp.gobgp(['neighbor', P.frr.address, 'shutdown', '--reason', 'maintenance: gobgp to frr']);
    log(all, 'gobgp neighbor 192.0.2.3 shutdown --reason "maintenance: gobgp to frr"');
    await expectOnWire(t4, P.bird, 'NOTIFICATION', isType(3));
    await expectOnWire(t6, P.bird6, 'NOTIFICATION', isType(3));
    await expectOnWire(tx, P.bird, 'NOTIFICATION', isType(3));
    await expectOnWire(tf, P.gobgp, 'NOTIFICATION', isType(3));
    for (const tap of all) await finish(tap, outDir, configs, date);
  } finally {
    await lab.teardown();
  }
}

async function scenarioIbgp(
  outDir: string,
  v: Awaited<ReturnType<typeof versions>>,
  date: string,
): Promise<void> {
  const lab = new Lab();
  try {
    const seg = await lab.addSegment('u');
    const AS = 65000;
    const P = {
      bird: { label: 'bird', daemon: v.bird, address: '192.0.2.1', as: AS },
      bird6: { label: 'bird', daemon: v.bird, address: '2001:db8::1', as: AS },
      frr: { label: 'frr', daemon: v.frr, address: '192.0.2.2', as: AS },
      frr6: { label: 'frr', daemon: v.frr, address: '2001:db8::2', as: AS },
      gobgp: { label: 'gobgp', daemon: v.gobgp, address: '192.0.2.3', as: AS },
    } as const;
    const ns: Record<string, string> = {};
    for (const [i, name] of ['bird', 'frr', 'gobgp'].entries()) {
      ns[name] = await lab.addNamespace(name);
      await seg.attach({
        ns: ns[name] as string,
        ifname: 'eth0',
        ipv4: `192.0.2.${i + 1}/24`,
        ipv6: `2001:db8::${i + 1}/64`,
      });
    }
    const scen = 'ibgp-route-reflector';
    const tf4 = await startTap(lab, scen, 'frr-bird-ibgp-rr-ipv4', ns.frr as string, P.frr, P.bird);
    const tf6 = await startTap(lab, scen, 'frr-bird-ibgp-rr-ipv6', ns.frr as string, P.frr6, P.bird6);
    const tg = await startTap(lab, scen, 'gobgp-bird-ibgp-rr', ns.gobgp as string, P.gobgp, P.bird);

    const birdConf = birdConfig({
      routerId: '192.0.2.1',
      localAs: AS,
      neighbors: [
        {
          name: 'frr4',
          address: P.frr.address,
          localAddress: P.bird.address,
          remoteAs: AS,
          routeReflectorClient: true,
          rrClusterId: '192.0.2.100',
          ipv4: { addPaths: 'rx' },
        },
        {
          name: 'frr6',
          address: P.frr6.address,
          localAddress: P.bird6.address,
          remoteAs: AS,
          routeReflectorClient: true,
          rrClusterId: '192.0.2.100',
          ipv4: false,
          ipv6: true,
        },
        {
          name: 'gobgp',
          address: P.gobgp.address,
          localAddress: P.bird.address,
          remoteAs: AS,
          routeReflectorClient: true,
          rrClusterId: '192.0.2.100',
        },
      ],
      staticRoutes: [{ prefix: '10.244.10.0/24', localPref: 150, communities: [[65000, 10]] }],
    });
    const frrConf = frrConfig({
      hostname: 'frr-rr-client',
      routerId: '192.0.2.2',
      localAs: AS,
      gracefulRestart: true,
      neighbors: [
        { address: P.bird.address, remoteAs: 'internal', addPathTxAll: true, extendedNextHop: true },
        { address: P.bird6.address, remoteAs: 'internal', ipv4: false, ipv6: true },
      ],
      networks: [
        { prefix: '10.244.20.0/24', routeMap: 'SET4' },
        { prefix: '2001:db8:120::/48', routeMap: 'SET6' },
      ],
      aggregates: ['10.244.16.0/20'],
      trailer: [
        'route-map SET4 permit 10',
        ' set community 65000:20 no-export',
        ' set large-community 65000:20:1',
        ' set extcommunity rt 65000:20',
        ' set local-preference 200',
        ' set metric 20',
        ' set origin incomplete',
        'exit',
        'route-map SET6 permit 10',
        ' set community 65000:21',
        ' set large-community 65000:21:1',
        'exit',
      ].join('\n'),
    });
    const gobgpConf = gobgpConfig({
      routerId: '192.0.2.3',
      localAs: AS,
      neighbors: [{ address: P.bird.address, remoteAs: AS, gracefulRestart: true }],
    });
    const configs = { bird: birdConf, frr: frrConf, gobgp: gobgpConf };

    const [bird, frr, gobgp] = await Promise.all([
      startBird(lab, ns.bird as string, birdConf),
      startFrr(lab, ns.frr as string, frrConf),
      startGobgp(lab, ns.gobgp as string, gobgpConf),
    ]);
    const all = [tf4, tf6, tg];
    log(all, 'start daemons with the configs above');
    await gobgpAddRoute(gobgp, {
      prefix: '10.244.30.0/24',
      nextHop: P.gobgp.address,
      localPref: 120,
      communities: ['65000:30'],
    });
    log(
      all,
      'gobgp global rib add -a ipv4 10.244.30.0/24 nexthop 192.0.2.3 local-pref 120 community 65000:30',
    );
    await waitBirdEstablished(bird, 'frr4');
    await waitBirdEstablished(bird, 'frr6');
    await waitBirdEstablished(bird, 'gobgp');
    // Reflected routes: FRR's at GoBGP, GoBGP's at FRR.
    await waitFor(async () => (await gobgpRib(gobgp)).some((r) => r.prefix === '10.244.20.0/24'), {
      describe: 'GoBGP has FRR route reflected by BIRD',
    });
    await waitFor(async () => (await gobgpRib(gobgp)).some((r) => r.prefix === '10.244.16.0/20'), {
      describe: 'GoBGP has FRR aggregate reflected by BIRD',
    });
    await waitFor(async () => (await frrRoutes(frr)).some((r) => r.prefix === '10.244.30.0/24'), {
      describe: 'FRR has GoBGP route reflected by BIRD',
    });
    await expectOnWire(tf4, P.bird, 'reflected UPDATE', isReach);
    await expectOnWire(tf6, P.frr6, 'IPv6 UPDATE', isReach);
    for (const [tap, a, b] of [
      [tf4, P.frr, P.bird],
      [tf6, P.frr6, P.bird6],
      [tg, P.gobgp, P.bird],
    ] as const) {
      await expectOnWire(tap, a, 'End-of-RIB', isEor);
      await expectOnWire(tap, b, 'End-of-RIB', isEor);
      await expectOnWire(tap, b, 'KEEPALIVE', isType(4));
    }

    await frr.vtysh(`clear bgp ipv4 unicast ${P.bird.address} soft in`);
    await frr.vtysh(`clear bgp ipv6 unicast ${P.bird6.address} soft in`);
    log(all, `vtysh: clear bgp ipv4 unicast ${P.bird.address} soft in`);
    log(all, `vtysh: clear bgp ipv6 unicast ${P.bird6.address} soft in`);
    await expectOnWire(tf4, P.frr, 'ROUTE-REFRESH', isType(5));
    await expectOnWire(tf6, P.frr6, 'ROUTE-REFRESH', isType(5));
    await bird.birdc('reload in gobgp');
    log(all, 'birdc reload in gobgp');
    await expectOnWire(tg, P.bird, 'ROUTE-REFRESH', isType(5));

    await frr.vtysh(
      'configure terminal',
      `router bgp ${AS}`,
      'address-family ipv4 unicast',
      'no network 10.244.20.0/24',
      'exit-address-family',
      'address-family ipv6 unicast',
      'no network 2001:db8:120::/48',
    );
    log(all, 'vtysh: no network 10.244.20.0/24 (ipv4); no network 2001:db8:120::/48 (ipv6)');
    await expectOnWire(tf4, P.frr, 'IPv4 withdrawal', isWithdraw);
    await expectOnWire(tf6, P.frr6, 'MP_UNREACH withdrawal', isWithdraw);
    await expectOnWire(tg, P.bird, 'reflected withdrawal', isWithdraw);

    await frr.vtysh(
      'configure terminal',
      `router bgp ${AS}`,
      `neighbor ${P.bird.address} shutdown message maintenance: frr to bird v4`,
      `neighbor ${P.bird6.address} shutdown message maintenance: frr to bird v6`,
    );
    log(all, `vtysh: neighbor ${P.bird.address} shutdown message maintenance: frr to bird v4`);
    log(all, `vtysh: neighbor ${P.bird6.address} shutdown message maintenance: frr to bird v6`);
    await gobgp.gobgp(['neighbor', P.bird.address, 'shutdown', '--reason', 'maintenance: gobgp to bird']);
    log(all, 'gobgp neighbor 192.0.2.1 shutdown --reason "maintenance: gobgp to bird"');
    await expectOnWire(tf4, P.frr, 'NOTIFICATION', isType(3));
    await expectOnWire(tf6, P.frr6, 'NOTIFICATION', isType(3));
    await expectOnWire(tg, P.gobgp, 'NOTIFICATION', isType(3));
    for (const tap of all) await finish(tap, outDir, configs, date);
  } finally {
    await lab.teardown();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const outIdx = args.indexOf('--out');
  const outDir = resolve(outIdx >= 0 ? (args[outIdx + 1] ?? '') : join(here, '..', 'captures'));
  const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
  mkdirSync(outDir, { recursive: true });
  const v = await versions();
  const date = new Date().toISOString().slice(0, 10);
  if (!only || only === 'ebgp') await scenarioEbgp(outDir, v, date);
  if (!only || only === 'ibgp') await scenarioIbgp(outDir, v, date);
}

await main();
