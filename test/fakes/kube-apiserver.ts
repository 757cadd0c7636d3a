// A fake kube-apiserver that speaks the real wire protocol, so the Kubernetes datastore's client is
// tested against the protocol (no real API server can run here), and the fake itself is checked
// against `@kubernetes/client-node` unmodified. HTTP or HTTPS on 127.0.0.1.
//
// What it serves: discovery (/api, /apis, /version), LIST with resourceVersion, label and field
// selectors and limit/continue paging, WATCH streams with ADDED/MODIFIED/DELETED/BOOKMARK and the
// 410 Expired ERROR event, GET/POST/PUT/PATCH/DELETE with Status error bodies, `status` subresources.
// The behaviour and the places where it simplifies the real server are described at the top of
// kube/store.ts (storage), kube/rest.ts (list and verbs), kube/watch.ts (watch) and kube/patch.ts.
//
// What tests control (TypeScript, not HTTP): the store (`apply`, `remove`, `get`, `list`), history
// compaction, dropping watch streams, an outage (503s or refused connections), per-path failure
// injection, the request log, the bearer token (which a test may change, as a rotation does), and
// named-resource RBAC rules (kube/rbac.ts: a Role with resourceNames), which a test may change too.
// With `tls.clientCa`, a request presenting a client certificate signed by that CA is authenticated
// by it, as the real server does, without a token.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { stringify as toYaml } from 'yaml';
import type { KubeConfig } from '../../src/datastore/k8s/kubeconfig.ts';
import { discovery, Registry } from './kube/discovery.ts';
import { authorize, type NamedResourceRule } from './kube/rbac.ts';
import type { KubeObject, ResourceDef } from './kube/resources.ts';
import { DEFAULT_RESOURCES } from './kube/resources.ts';
import { route, serveResource } from './kube/rest.ts';
import { ApiError, failure, type Status } from './kube/status.ts';
import { ObjectStore } from './kube/store.ts';
import { selfSignedCertificate } from './kube/tls.ts';
import { WatchStream } from './kube/watch.ts';

export type { NamedResourceRule } from './kube/rbac.ts';
export type { KubeObject, ResourceDef } from './kube/resources.ts';
export { coreV1, customResource } from './kube/resources.ts';

export interface FakeTlsOptions {
  /** The server's key and certificate (PEM). */
  readonly key: string;
  readonly cert: string;
  /** The CA (PEM) whose client certificates authenticate a request without a token. */
  readonly clientCa?: string;
}

export interface FakeKubeApiServerOptions {
  /**
   * Serve HTTPS: `true` with a self-signed certificate (needs the openssl CLI), or with the given
   * key and certificate. Default false.
   */
  readonly tls?: boolean | FakeTlsOptions;
  /** When set, every request needs `Authorization: Bearer <token>`; 401 otherwise. */
  readonly token?: string;
  /** Events kept for watch resumption and consistent paging (the watch window). Default 1000. */
  readonly historyLimit?: number;
  /** Period of BOOKMARK events on watches that allow them. Default 60 s, like the real server. */
  readonly bookmarkIntervalMs?: number;
  /** Resources served besides DEFAULT_RESOURCES. */
  readonly resources?: readonly ResourceDef[];
  /** Namespaces that exist at start. Default `default` and `kube-system`. */
  readonly namespaces?: readonly string[];
  /** Named-resource RBAC rules (kube/rbac.ts); default none, nothing restricted. */
  readonly rbac?: readonly NamedResourceRule[];
  /** A bearer token that the RBAC rules do not restrict (a cluster admin, e.g. a test's writes). */
  readonly adminToken?: string;
}

export interface RequestRecord {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly isWatch: boolean;
  /** The HTTP status answered; 0 while the request is being handled or if the connection was refused. */
  status: number;
}

export interface FailureInjection {
  readonly method?: string;
  /** How many matching requests fail. Default 1. */
  readonly times?: number;
  readonly message?: string;
}

export type Unavailability = false | true | '503' | 'refuse';

interface PendingFailure {
  readonly pattern: RegExp;
  readonly status: number;
  readonly method: string | undefined;
  readonly message: string | undefined;
  remaining: number;
}

const MAX_BODY_BYTES = 3 * 1024 * 1024;

export class FakeKubeApiServer {
  readonly #options: FakeKubeApiServerOptions;
  readonly #registry = new Registry();
  readonly #store: ObjectStore;
  readonly #watches = new Set<WatchStream>();
  readonly #sockets = new Set<Socket>();
  readonly #failures: PendingFailure[] = [];
  readonly #requests: RequestRecord[] = [];
  #server: Server | undefined;
  #port = 0;
  #caData: string | undefined;
  #token: string | undefined;
  #connections = 0;
  #unavailable: false | '503' | 'refuse' = false;
  #rbac: readonly NamedResourceRule[];

  constructor(options: FakeKubeApiServerOptions = {}) {
    this.#options = options;
    this.#token = options.token;
    this.#rbac = options.rbac ?? [];
    this.#store = new ObjectStore({ historyLimit: options.historyLimit ?? 1000, startRevision: 1 });
    for (const def of [...DEFAULT_RESOURCES, ...(options.resources ?? [])]) this.register(def);
    for (const ns of options.namespaces ?? ['default', 'kube-system']) {
      this.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    }
  }

  /** Serves one more resource type (e.g. another CRD). */
  register(def: ResourceDef): void {
    this.#registry.add(def);
    this.#store.register(def);
  }

  async start(): Promise<void> {
    if (this.#server !== undefined) throw new Error('fake kube-apiserver: already started');
    const handler = (req: IncomingMessage, res: ServerResponse): void => this.#onRequest(req, res);
    const tls = this.#options.tls;
    if (typeof tls === 'object') {
      this.#server = createHttpsServer(
        {
          key: tls.key,
          cert: tls.cert,
          ...(tls.clientCa !== undefined
            ? { ca: tls.clientCa, requestCert: true, rejectUnauthorized: false }
            : {}),
        },
        handler,
      );
    } else if (tls === true) {
      const pair = await selfSignedCertificate();
      this.#caData = Buffer.from(pair.cert).toString('base64');
      this.#server = createHttpsServer({ key: pair.key, cert: pair.cert }, handler);
    } else {
      this.#server = createHttpServer(handler);
    }
    this.#server.on('connection', (socket: Socket) => {
      this.#connections++;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    await this.#listen(0);
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    if (server === undefined) return;
    this.#server = undefined;
    this.dropWatches('graceful');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    for (const socket of this.#sockets) socket.destroy();
    await closed;
  }

  get url(): string {
    if (this.#server === undefined) throw new Error('fake kube-apiserver: not started');
    return `${this.#options.tls ? 'https' : 'http'}://127.0.0.1:${this.#port}`;
  }

  /** The current global revision (the resourceVersion a LIST would return now). */
  get revision(): number {
    return this.#store.revision;
  }

  /**
   * Margay's client configuration for this server: its URL, its self-signed certificate as the CA
   * when serving TLS with one, and the bearer token.
   */
  kubeconfig(): KubeConfig {
    return {
      server: this.url,
      token: this.#token ?? 'margay-fake-token',
      ...(this.#caData !== undefined
        ? { certificateAuthority: Buffer.from(this.#caData, 'base64').toString('utf8') }
        : {}),
    };
  }

  /**
   * The same configuration as a kubeconfig file's YAML, for a process given `--kubeconfig FILE` (and
   * for client-node: `insecure-skip-tls-verify` over plain HTTP, which it requires for an http:
   * server).
   */
  kubeconfigYaml(): string {
    const cluster: Record<string, unknown> = { server: this.url };
    if (this.#caData !== undefined) cluster['certificate-authority-data'] = this.#caData;
    else cluster['insecure-skip-tls-verify'] = true;
    return toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'margay-fake', cluster }],
      users: [{ name: 'margay-fake', user: { token: this.#token ?? 'margay-fake-token' } }],
      contexts: [{ name: 'margay-fake', context: { cluster: 'margay-fake', user: 'margay-fake' } }],
      'current-context': 'margay-fake',
    });
  }

  /** Creates or replaces an object wholesale (status included), as a controller elsewhere would. */
  apply<T extends KubeObject>(obj: T): T {
    const def = this.#registry.byKind(obj.apiVersion ?? '', obj.kind ?? '');
    const metadata = { ...obj.metadata };
    if (def.namespaced && !metadata.namespace) metadata.namespace = 'default';
    return this.#store.put(def, { ...obj, metadata }) as T;
  }

  /** Deletes an object; returns what was deleted, or undefined if it did not exist. */
  remove(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const def = this.#registry.find(kind);
    if (this.#store.get(def, namespace, name) === undefined) return undefined;
    return this.#store.delete(def, namespace, name);
  }

  get(kind: string, namespace: string | undefined, name: string): KubeObject | undefined {
    return this.#store.get(this.#registry.find(kind), namespace, name);
  }

  list(kind: string, namespace?: string): KubeObject[] {
    return this.#store.list(this.#registry.find(kind), namespace);
  }

  /**
   * Forgets the event history and moves the revision on, so the next watch that resumes from a
   * resourceVersion handed out before this call gets the 410 Expired ERROR event (and a paged list
   * continued from before it gets 410). Open watches keep streaming.
   */
  compactHistory(): void {
    this.#store.compact();
  }

  /**
   * Closes every open watch stream: 'abrupt' (default) destroys the connection mid-stream, as an
   * API-server crash or a network blip does; 'graceful' ends it cleanly, as a watch timeout does.
   * Returns how many streams were closed.
   */
  dropWatches(mode: 'abrupt' | 'graceful' = 'abrupt'): number {
    const watches = [...this.#watches];
    for (const w of watches) {
      if (mode === 'abrupt') w.destroy();
      else w.end();
    }
    return watches.length;
  }

  /** Sends a BOOKMARK now on every open watch that allows bookmarks; returns how many. */
  sendBookmarks(): number {
    let n = 0;
    for (const w of this.#watches) {
      if (!w.allowsBookmarks) continue;
      w.sendBookmark();
      n++;
    }
    return n;
  }

  /** Open watch streams, optionally of one resource (kind or resource name). */
  watchCount(kind?: string): number {
    if (kind === undefined) return this.#watches.size;
    const def = this.#registry.find(kind);
    return [...this.#watches].filter((w) => w.resource === def).length;
  }

  /**
   * Simulates an outage. `true`/'503': every request is answered 503 ServiceUnavailable;
   * 'refuse': the listener closes, so connections are refused. Either way open watches are cut.
   * `false` ends the outage (listening again on the same port).
   */
  async setUnavailable(mode: Unavailability): Promise<void> {
    const next = mode === true ? '503' : mode;
    const previous = this.#unavailable;
    this.#unavailable = next;
    if (next !== false) this.dropWatches('abrupt');
    const server = this.#server;
    if (server === undefined) return;
    if (next === 'refuse' && previous !== 'refuse') {
      server.close();
      for (const socket of this.#sockets) socket.destroy();
    } else if (next !== 'refuse' && previous === 'refuse') {
      await this.#listen(this.#port);
    }
  }

  /** From now on every request needs this bearer token (undefined: none), as after a rotation. */
  setToken(token: string | undefined): void {
    this.#token = token;
  }

  /** Replaces the named-resource RBAC rules, as an edit of the Role does. */
  setRbac(rules: readonly NamedResourceRule[]): void {
    this.#rbac = rules;
  }

  /** How many TCP connections clients opened since start. */
  get connectionCount(): number {
    return this.#connections;
  }

  /** Every request received, in order. */
  get requests(): readonly RequestRecord[] {
    return this.#requests;
  }

  clearRequests(): void {
    this.#requests.length = 0;
  }

  /** The next request(s) whose path matches (and method, if given) are answered `status` with a Status body. */
  failNext(pathPattern: RegExp, status: number, opts: FailureInjection = {}): void {
    this.#failures.push({
      pattern: pathPattern,
      status,
      method: opts.method?.toUpperCase(),
      message: opts.message,
      remaining: opts.times ?? 1,
    });
  }

  #listen(port: number): Promise<void> {
    const server = this.#server as Server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  #onRequest(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = url.searchParams;
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(query),
      isWatch:
        url.pathname.includes('/watch/') || query.get('watch') === 'true' || query.get('watch') === '1',
      status: 0,
    };
    this.#requests.push(record);
    this.#dispatch(req, res, url, record).catch((err: unknown) => {
      const status =
        err instanceof ApiError ? err.status : failure(500, `fake kube-apiserver: ${(err as Error).message}`);
      this.#sendJson(res, record, status.code, status);
    });
  }

  async #dispatch(req: IncomingMessage, res: ServerResponse, url: URL, record: RequestRecord): Promise<void> {
    if (this.#unavailable !== false) {
      throw new ApiError(
        failure(503, 'the server is currently unable to handle the request', 'ServiceUnavailable'),
      );
    }
    const injected = this.#failures.find(
      (f) =>
        f.remaining > 0 &&
        f.pattern.test(url.pathname) &&
        (f.method === undefined || f.method === req.method),
    );
    if (injected !== undefined) {
      injected.remaining--;
      throw new ApiError(
        failure(injected.status, injected.message ?? `injected failure (HTTP ${injected.status})`),
      );
    }
    const token = this.#token;
    const byCertificate =
      typeof this.#options.tls === 'object' &&
      this.#options.tls.clientCa !== undefined &&
      (req.socket as TLSSocket).authorized === true;
    const isAdmin =
      this.#options.adminToken !== undefined &&
      req.headers.authorization === `Bearer ${this.#options.adminToken}`;
    if (
      token !== undefined &&
      !byCertificate &&
      !isAdmin &&
      req.headers.authorization !== `Bearer ${token}`
    ) {
      throw new ApiError(failure(401, 'Unauthorized', 'Unauthorized'));
    }
    const path = url.pathname;
    if (path === '/healthz' || path === '/livez' || path === '/readyz') {
      record.status = 200;
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ok');
      return;
    }
    const resourceRoute = route(this.#registry, path);
    if (resourceRoute === undefined) {
      const doc =
        req.method === 'GET' ? discovery(this.#registry, path, `127.0.0.1:${this.#port}`) : undefined;
      if (doc === undefined)
        throw new ApiError(failure(404, 'the server could not find the requested resource'));
      this.#sendJson(res, record, 200, doc);
      return;
    }
    if (!isAdmin)
      authorize(
        this.#rbac,
        'system:serviceaccount:margay-system:margay',
        req.method ?? 'GET',
        resourceRoute,
        url.searchParams,
        record.isWatch,
      );
    const result = await serveResource(
      {
        store: this.#store,
        bookmarkIntervalMs: this.#options.bookmarkIntervalMs ?? 60_000,
        openWatch: (response, params) => {
          record.status = 200;
          const stream = new WatchStream(response, this.#store, params, (w) => this.#watches.delete(w));
          this.#watches.add(stream);
          stream.start();
        },
      },
      {
        method: req.method ?? 'GET',
        route: resourceRoute,
        query: url.searchParams,
        headers: req.headers,
        readBody: () => readBody(req),
      },
      res,
    );
    if (result !== 'streaming') this.#sendJson(res, record, result.code, result.body);
  }

  #sendJson(res: ServerResponse, record: RequestRecord, code: number, body: unknown): void {
    record.status = code;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const text = JSON.stringify(body);
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-cache, private',
    };
    if (code === 429 || code === 503) headers['Retry-After'] = 1;
    res.writeHead(code, headers).end(text);
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ApiError(failure(413, 'the request body is too large', 'RequestEntityTooLarge')));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export type { Status };
