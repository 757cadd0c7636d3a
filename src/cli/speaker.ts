// `margay speaker --config FILE`: the BGP speaker alone — peers and static announcements from
// YAML, the REST API, no dataplane. SIGTERM/SIGINT send Cease (Administrative Shutdown) to
// every peer before the process exits.
import { hostname } from 'node:os';
import { Speaker } from '../../bgp/speaker/speaker.ts';
import type { PeerStatus } from '../../bgp/speaker/types.ts';
import { type MetricFamily, ProcessMetrics } from '../api/metrics.ts';
import { type StatusSource, startApi } from '../api/server.ts';
import { loadSpeakerConfig } from '../config/speaker.ts';
import { subscribeBgpLog } from '../log.ts';
import { VERSION } from '../version.ts';

const STATES = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'] as const;

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
  ];
}

export async function runSpeaker(configPath: string): Promise<() => Promise<void>> {
  const config = await loadSpeakerConfig(configPath);
  const unsubscribe = subscribeBgpLog();
  const processMetrics = new ProcessMetrics();
  const speaker = new Speaker({ ...config.speaker, hostname: hostname() });
  speaker.setPeers(config.peers);
  speaker.setLocalRoutes(config.announce);
  await speaker.start();
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
    metrics: () => [...processMetrics.families(), ...speakerMetrics(speaker.peers())],
    live: () => ({ ok: true }),
    ready: () => ({ ok: true }),
  };
  const api = await startApi(source, config.api);
  console.error(
    `margay speaker ${VERSION}: AS ${config.speaker.asn}, router id ${config.speaker.routerId}, ` +
      `${config.peers.length} peer(s), API on ${config.api.host}:${config.api.port}`,
  );

  return async () => {
    await speaker.stop({ message: 'margay speaker shutting down' });
    await api.close();
    processMetrics.close();
    unsubscribe();
  };
}
