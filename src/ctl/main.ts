#!/usr/bin/env node
// `margayctl`: queries a node's REST API. Exit 0 ok, 1 the API could not be reached or
// answered an error (one line naming the address), 2 bad usage.
import { stringify as toYaml } from 'yaml';
import type { PathView } from '../../bgp/index.ts';
import { ROUTES_PAGE } from '../api/schemas.ts';
import { parseArgs } from '../cli/args.ts';
import { renderTable } from '../cli/table.ts';
import { MargayError } from '../errors.ts';
import { collectClusterStatus, renderClusterStatus } from './cluster-status.ts';
import { loadSnapshot } from './datastore.ts';
import { GET_KINDS, type GetKind, renderGet } from './get.ts';
import { CALICO_NOT_RUNNING, calicoNodeStatus, nodeStatusReport, type PeerJson } from './status.ts';

const USAGE = `usage:
  margayctl node status [--api HOST:PORT] [--token T] [-o table|wide|json|yaml]
    (table: exactly what calicoctl node status prints; wide: Margay's peer types, prefix counts, BFD)
  margayctl node status --all DATASTORE [--api-port 9099] [--token T] [-o table|json|yaml]
  margayctl get nodes|bgppeers|ippools DATASTORE [-o table|wide|json|yaml]
DATASTORE is --datastore-file PATH, --kubeconfig PATH or --kubernetes (in-cluster credentials).
  margayctl bgp routes [PREFIX] [--peer ADDRESS] [--family ipv4-unicast|ipv6-unicast] [--api HOST:PORT] [-o table|wide|json|yaml]
The API address defaults to $MARGAY_API or 127.0.0.1:9099; the token to $MARGAY_API_TOKEN.
`;

const FLAGS = {
  api: 'string',
  token: 'string',
  o: 'string',
  output: 'string',
  peer: 'string',
  family: 'string',
  all: 'boolean',
  'api-port': 'string',
  'datastore-file': 'string',
  kubeconfig: 'string',
  kubernetes: 'boolean',
} as const;

/** The API did not answer at all (nothing listens, or no answer in time), as opposed to an error answer. */
class NoAnswer extends MargayError {}

async function get(api: string, path: string, token: string | undefined): Promise<unknown> {
  const url = `http://${api}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(5000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new NoAnswer('MARGAY_ERR_API_UNREACHABLE', `cannot reach the Margay API at ${api}: ${cause}`);
  }
  const body = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok) {
    throw new MargayError(
      'MARGAY_ERR_API_UNREACHABLE',
      `the Margay API at ${api} answered ${res.status}: ${body.error?.message ?? res.statusText}`,
    );
  }
  return body;
}

function output(format: string, value: unknown, table: () => string): string {
  if (format === 'json') return `${JSON.stringify(value, null, 2)}\n`;
  if (format === 'yaml') return toYaml(value);
  return `${table()}\n`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [noun, verb, ...rest] = argv;
  const args = parseArgs(rest, FLAGS, `margayctl ${noun ?? ''} ${verb ?? ''}`.trim());
  const api = (args.flags.api as string | undefined) ?? process.env.MARGAY_API ?? '127.0.0.1:9099';
  const token = (args.flags.token as string | undefined) ?? process.env.MARGAY_API_TOKEN;
  const format = ((args.flags.o ?? args.flags.output) as string | undefined) ?? 'table';
  if (!['table', 'wide', 'json', 'yaml'].includes(format)) {
    throw new MargayError('MARGAY_ERR_USAGE', `-o must be table, wide, json or yaml, not "${format}"`);
  }
  const source = () =>
    loadSnapshot({
      file: args.flags['datastore-file'] as string | undefined,
      kubeconfig: args.flags.kubeconfig as string | undefined,
      inCluster: args.flags.kubernetes === true,
    });
  if (noun === 'get') {
    const kind = verb as GetKind;
    if (!GET_KINDS.includes(kind)) {
      throw new MargayError('MARGAY_ERR_USAGE', `margayctl get: kind must be one of ${GET_KINDS.join(', ')}`);
    }
    process.stdout.write(renderGet(kind, await source(), format));
    return 0;
  }
  if (noun === 'node' && verb === 'status' && args.flags.all === true) {
    const port = Number(args.flags['api-port'] ?? 9099);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new MargayError('MARGAY_ERR_USAGE', '--api-port must be 1..65535');
    }
    const reports = await collectClusterStatus(await source(), port, (a, path) => get(a, path, token));
    process.stdout.write(output(format, reports, () => renderClusterStatus(reports).trimEnd()));
    return reports.every((r) => r.error === undefined) ? 0 : 1;
  }
  if (noun === 'node' && verb === 'status') {
    let status: { mode: string; version: string };
    try {
      status = (await get(api, '/v1/status', token)) as { mode: string; version: string };
    } catch (err) {
      // calicoctl's words on stdout for scripts; the reason still goes to stderr.
      if (err instanceof NoAnswer && format === 'table') process.stdout.write(CALICO_NOT_RUNNING);
      throw err;
    }
    const { peers } = (await get(api, '/v1/bgp/peers', token)) as { peers: PeerJson[] };
    if (format === 'table') {
      process.stdout.write(calicoNodeStatus(peers));
      return 0;
    }
    process.stdout.write(output(format, { status, peers }, () => nodeStatusReport(status, peers, true)));
    return 0;
  }
  if (noun === 'bgp' && verb === 'routes') {
    const q = new URLSearchParams();
    const prefix = args.positionals[0];
    if (prefix) q.set('prefix', prefix);
    if (typeof args.flags.peer === 'string') q.set('peer', args.flags.peer);
    if (typeof args.flags.family === 'string') q.set('family', args.flags.family);
    // The API pages the listing (a full table is 1M prefixes); follow `next` to the end, in the
    // largest pages it serves: fewer round trips, each still bounded on the server.
    q.set('limit', String(ROUTES_PAGE.max));
    const routes: PathView[] = [];
    for (;;) {
      const page = (await get(api, `/v1/bgp/routes?${q}`, token)) as { routes: PathView[]; next?: string };
      for (const r of page.routes) routes.push(r);
      if (page.next === undefined) break;
      q.set('after', page.next);
    }
    const wide = format === 'wide';
    process.stdout.write(
      output(format, routes, () =>
        routes.length === 0
          ? 'No routes found.'
          : renderTable(
              [
                'PREFIX',
                'NEXT HOP',
                'FROM',
                'AS PATH',
                'BEST',
                ...(wide ? ['LOCAL PREF', 'MED', 'COMMUNITIES', 'REASON'] : []),
              ],
              routes.map((r) => [
                r.prefix,
                r.nextHop,
                r.fromPeer,
                r.asPath || '(local)',
                r.best ? (r.multipath ? '* (ecmp)' : '*') : '',
                ...(wide
                  ? [
                      String(r.localPref ?? ''),
                      String(r.med ?? ''),
                      [...r.communities, ...r.largeCommunities].join(' '),
                      r.reason,
                    ]
                  : []),
              ]),
            ),
      ),
    );
    return 0;
  }
  process.stdout.write(USAGE);
  return noun === undefined || noun === 'help' || noun === '--help' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const e = err instanceof MargayError ? err : undefined;
    // The code after the message lets scripts tell the errors apart (README error table).
    process.stderr.write(`margayctl: ${e ? `${e.message} (${e.code})` : String(err)}\n`);
    process.exitCode = e ? e.exitCode : 1;
  },
);
