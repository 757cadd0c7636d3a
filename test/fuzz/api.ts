// The speaker's REST API as the fuzzer uses it: peers, routes of one peer (all pages), one
// prefix, and /healthz. Bearer token, one kept-alive HTTP connection.
import { Agent, request } from 'node:http';

export interface ApiPath {
  readonly prefix: string;
  readonly family: string;
  readonly nextHop: string;
  readonly asPath: string;
  readonly origin: 'igp' | 'egp' | 'incomplete';
  readonly med?: number;
  readonly localPref?: number;
  readonly communities: readonly string[];
  readonly largeCommunities: readonly string[];
  readonly extendedCommunities: readonly string[];
  readonly originatorId?: string;
  readonly clusterList: readonly string[];
  readonly fromPeer: string;
  readonly reason: string;
  readonly stale?: boolean;
}

export interface ApiPeer {
  readonly address: string;
  readonly state: string;
  readonly prefixes: { readonly received: number; readonly accepted: number; readonly advertised: number };
}

export class SpeakerApi {
  readonly #host: string;
  readonly #port: number;
  readonly #token: string;
  readonly #agent = new Agent({ keepAlive: true, maxSockets: 2 });

  constructor(o: { host: string; port: number; token: string }) {
    this.#host = o.host;
    this.#port = o.port;
    this.#token = o.token;
  }

  /** GET a path: status and body text; throws when the connection fails or times out. */
  get(path: string, timeoutMs = 10_000): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.#host,
          port: this.#port,
          path,
          agent: this.#agent,
          headers: { authorization: `Bearer ${this.#token}` },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`GET ${path}: no answer in ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end();
    });
  }

  async json<T>(path: string): Promise<T> {
    const r = await this.get(path);
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text.slice(0, 200)}`);
    return JSON.parse(r.text) as T;
  }

  async peers(): Promise<ApiPeer[]> {
    return (await this.json<{ peers: ApiPeer[] }>('/v1/bgp/peers')).peers;
  }

  /** Every path, or every path from `peer`, following the pages. */
  async routes(peer?: string): Promise<ApiPath[]> {
    const out: ApiPath[] = [];
    let after: string | undefined;
    for (;;) {
      const q = new URLSearchParams({ limit: '10000' });
      if (peer !== undefined) q.set('peer', peer);
      if (after !== undefined) q.set('after', after);
      const page = await this.json<{ routes: ApiPath[]; next?: string }>(`/v1/bgp/routes?${q}`);
      out.push(...page.routes);
      if (page.next === undefined) return out;
      after = page.next;
    }
  }

  async route(prefix: string, peer: string): Promise<ApiPath[]> {
    const q = new URLSearchParams({ prefix, peer });
    return (await this.json<{ routes: ApiPath[] }>(`/v1/bgp/routes?${q}`)).routes;
  }

  close(): void {
    this.#agent.destroy();
  }
}
