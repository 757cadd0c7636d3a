// `margay speaker --config FILE`: the BGP speaker alone — peers and static announcements from
// YAML, the REST API, no dataplane. SIGTERM/SIGINT end the sessions as a graceful restart before
// the process exits (Speaker.stop): peers that can keep our routes until we are back do, the
// others get Cease / Administrative Shutdown.
import { hostname } from 'node:os';
import type { PeerStatus } from '../../bgp/index.ts';
import { BgpError, Speaker } from '../../bgp/index.ts';
import { type MetricFamily, ProcessMetrics } from '../api/metrics.ts';
import { type StatusSource, startApi } from '../api/server.ts';
import { loadSpeakerConfig } from '../config/speaker.ts';
import { MargayError } from '../errors.ts';
import { subscribeBgpLog } from '../log.ts';
import { VERSION } from '../version.ts';

const STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;

type RunningBfd = Exclude<NonNullable<PeerStatus['bfd']>, { state: 'Unavailable' }>;

/** One sample per peer whose BFD session runs. */
function bfdSamples(peers: readonly PeerStatus[], value: (b: RunningBfd) => number) {
  return peers.flatMap((p) =>
    p.bfd === undefined || p.bfd.state === 'Unavailable'
      ? []
      : [{ labels: { peer: p.address }, value: value(p.bfd) }],
  );
}

export function speakerMetrics(peers: readonly PeerStatus[]): MetricFamily[] {
  return [
    {
      name: 'margay_bgp_sessions',
      help: 'BGP sessions by RFC 4271 state.',
      type: 'gauge',
      samples: STATES.map((state) => ({
        labels: { state },
        value: peers.filter((p) => p.state === state).length,
      })),
    },
    {
      name: 'margay_bgp_prefixes',
      help: 'Prefixes per peer: received, accepted (after import checks), advertised.',
      type: 'gauge',
      samples: peers.flatMap((p) =>
        (['received', 'accepted', 'advertised'] as const).map((kind) => ({
          labels: { peer: p.address, kind },
          value: p.prefixes[kind],
        })),
      ),
    },
    {
      name: 'margay_bgp_messages_total',
      help: 'BGP messages per peer and direction.',
      type: 'counter',
      samples: peers.flatMap((p) => [
        { labels: { peer: p.address, direction: 'in' }, value: p.messages.in },
        { labels: { peer: p.address, direction: 'out' }, value: p.messages.out },
      ]),
    },
    {
      name: 'margay_bgp_session_established',
      help: '1 when the session with this peer is Established.',
      type: 'gauge',
      samples: peers.map((p) => ({ labels: { peer: p.address }, value: p.state === 'Established' ? 1 : 0 })),
    },
    {
      name: 'margay_bgp_stale_routes',
      help: 'Routes of an ended session with this peer still kept by graceful restart (RFC 4724, RFC 9494 long-lived).',
      type: 'gauge',
      samples: peers.map((p) => ({ labels: { peer: p.address }, value: p.staleRoutes?.routes ?? 0 })),
    },
    {
      name: 'margay_bfd_session_up',
      help: '1 when the BFD session with this peer is Up (peers with BFD only).',
      type: 'gauge',
      samples: peers.flatMap((p) =>
        p.bfd === undefined ? [] : [{ labels: { peer: p.address }, value: p.bfd.state === 'Up' ? 1 : 0 }],
      ),
    },
    {
      name: 'margay_bfd_session_down_total',
      help: 'Times the BFD session with this peer went from Up to down (for any reason, AdminDown too).',
      type: 'counter',
      samples: bfdSamples(peers, (b) => b.downs),
    },
    {
      name: 'margay_bfd_session_flaps_total',
      help: 'Times the BFD session with this peer went from Up to down because the path failed.',
      type: 'counter',
      samples: bfdSamples(peers, (b) => b.failures),
    },
    {
      name: 'margay_bfd_session_damped',
      help: '1 while the flapping BFD session with this peer is held down by its damping.',
      type: 'gauge',
      samples: bfdSamples(peers, (b) => (b.damping.heldDownMs > 0 ? 1 : 0)),
    },
    {
      name: 'margay_bfd_tx_interval_seconds',
      help: 'The negotiated BFD transmit interval with this peer, before jitter.',
      type: 'gauge',
      samples: bfdSamples(peers, (b) => b.txIntervalMs / 1000),
    },
    {
      name: 'margay_bfd_detection_time_seconds',
      help: 'The BFD Detection Time with this peer: no packet for that long takes the session down.',
      type: 'gauge',
      samples: bfdSamples(peers, (b) => b.detectionTimeMs / 1000),
    },
  ];
}

export async function runSpeaker(configPath: string): Promise<() => Promise<void>> {
  const config = await loadSpeakerConfig(configPath);
  const bgpLog = subscribeBgpLog();
  const processMetrics = new ProcessMetrics();
  const speaker = new Speaker({ ...config.speaker, hostname: hostname() });
  speaker.setPeers(config.peers);
  speaker.setLocalRoutes(config.announce);
  const started = Date.now();

  const source: StatusSource = {
    status: () => {
      const peers = speaker.peers();
      return {
        version: VERSION,
        mode: 'speaker',
        hostname: hostname(),
        asn: config.speaker.asn,
        routerId: config.speaker.routerId,
        uptimeSeconds: (Date.now() - started) / 1000,
        ready: true,
        peers: { total: peers.length, established: peers.filter((p) => p.state === 'Established').length },
      };
    },
    peers: () => speaker.peers(),
    routes: (filter) => speaker.routes(filter),
    metrics: () => [...processMetrics.families(), ...bgpLog.families(), ...speakerMetrics(speaker.peers())],
    live: () => ({ ok: true }),
    ready: () => ({ ok: true }),
  };
  // The API first: a speaker that cannot serve its API exits before any session starts, so it
  // never leaves peers with a session it cannot close cleanly. Then BGP: a listen address it
  // cannot bind stops the API again and exits before any peer is contacted.
  let api: Awaited<ReturnType<typeof startApi>>;
  try {
    api = await startApi(source, config.api);
  } catch (err) {
    processMetrics.close();
    bgpLog.close();
    throw err;
  }
  try {
    await speaker.start();
  } catch (err) {
    await api.close();
    processMetrics.close();
    bgpLog.close();
    if (err instanceof BgpError && err.code === 'BGP_ERR_LISTEN') {
      throw new MargayError('MARGAY_ERR_BGP_LISTEN', `listen: ${err.message}`, { cause: err });
    }
    throw err;
  }
  console.error(
    `margay speaker ${VERSION}: AS ${config.speaker.asn}, router id ${config.speaker.routerId}, ` +
      `${config.peers.length} peer(s), API on ${config.api.host}:${config.api.port}`,
  );

  return async () => {
    await speaker.stop({ message: 'margay speaker shutting down' });
    await api.close();
    processMetrics.close();
    bgpLog.close();
  };
}
