// Margay's Kubernetes API client: the two requests the datastore makes, LIST and WATCH, as plain GETs
// on node:http/node:https, answering the JSON the server sent (no typed models, no conversion).
//
// - One keep-alive agent per client, so LIST pages reuse a connection; a watch holds its own
//   connection for as long as it streams. Sockets get TCP keep-alive probes, so a peer that vanished
//   without a FIN or RST is noticed; an idle pooled socket is closed after FREE_SOCKET_MS (before an
//   API server or load balancer would drop it under us) and never keeps the process alive.
// - The bearer token is read from its file on every request when the configuration names one (the
//   service account's bound token, which the kubelet rotates), so a rotated token is used at once.
// - A failed request rejects with `KubeApiError` carrying the HTTP status and the server's Status
//   message; a connection or TLS failure rejects with Node's own error (ECONNREFUSED, …).
// - A LIST whose connection stays silent for LIST_IDLE_MS fails. A watch asks the server to end it
//   after `timeoutSeconds`; one still open WATCH_GRACE_MS after that is cut on our side, as a
//   connection that died silently would otherwise hold the reflector forever.

import { readFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { StringDecoder } from 'node:string_decoder';
import type { KubeConfig } from './kubeconfig.ts';

/** TCP keep-alive: the first probe after this much silence. */
const KEEPALIVE_PROBE_MS = 30_000;
/** An unused pooled connection is closed after this long. */
const FREE_SOCKET_MS = 4_000;
/** A LIST fails when its connection is silent this long. */
const LIST_IDLE_MS = 60_000;
/** A watch still open this long after its `timeoutSeconds` is cut. */
const WATCH_GRACE_MS = 30_000;
/** The most a response body (or one watch event line) may hold before the request fails. */
const MAX_LINE_BYTES = 64 * 1024 * 1024;
/** Of an error response, this much is read for the Status message. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** A non-2xx answer: the HTTP status and, when the body is a Status, its message and reason. */
export class KubeApiError extends Error {
  readonly statusCode: number;
  readonly reason: string | undefined;

  constructor(statusCode: number, message: string, reason: string | undefined) {
    super(message);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
    this.reason = reason;
  }
}

export interface ListQuery {
  readonly limit?: number;
  readonly continueToken?: string;
  readonly resourceVersion?: string;
  readonly resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  /** `metadata.name=NAME`: RBAC grants a LIST on named resources (resourceNames) only with it. */
  readonly fieldSelector?: string;
}

/** One page of a LIST, as wire JSON. */
export interface ListPage {
  readonly items: readonly unknown[];
  readonly resourceVersion: string;
  /** The continue token of the next page; undefined on the last page. */
  readonly continueToken: string | undefined;
}

export interface WatchQuery {
  readonly resourceVersion?: string;
  readonly allowWatchBookmarks?: boolean;
  readonly timeoutSeconds?: number;
  /** As ListQuery.fieldSelector. */
  readonly fieldSelector?: string;
}

/** One watch event: `type` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR (object: a Status). */
export type WatchListener = (type: string, object: unknown) => void;

export interface WatchStream {
  /** Resolves when the server answered 200 and streams; rejects when the request failed. */
  readonly opened: Promise<void>;
  /**
   * Settles once the stream is over: undefined when the server ended it cleanly or `abort()` was
   * called, the error when it was cut or sent something that is not a watch event. Never rejects.
   */
  readonly ended: Promise<Error | undefined>;
  /** Ends the request (idempotent); `opened` rejects if it had not yet resolved. */
  abort(): void;
}

export class KubeClient {
  readonly #config: KubeConfig;
  readonly #base: URL;
  readonly #agent: HttpAgent;
  readonly #request: typeof httpRequest;

  constructor(config: KubeConfig) {
    this.#config = config;
    this.#base = new URL(config.server);
    const isHttps = this.#base.protocol === 'https:';
    const agentOptions = {
      keepAlive: true,
      keepAliveMsecs: KEEPALIVE_PROBE_MS,
      timeout: FREE_SOCKET_MS,
      scheduling: 'lifo' as const,
    };
    if (isHttps) {
      this.#agent = new HttpsAgent({
        ...agentOptions,
        rejectUnauthorized: config.insecureSkipTlsVerify !== true,
        ...(config.certificateAuthority !== undefined ? { ca: config.certificateAuthority } : {}),
        ...(config.clientCertificate !== undefined ? { cert: config.clientCertificate } : {}),
        ...(config.clientKey !== undefined ? { key: config.clientKey } : {}),
        ...(config.tlsServerName !== undefined ? { servername: config.tlsServerName } : {}),
      });
      this.#request = httpsRequest as typeof httpRequest;
    } else {
      this.#agent = new HttpAgent(agentOptions);
      this.#request = httpRequest;
    }
  }

  /** GET `path` (a collection) with the query; the page's items as the server sent them. */
  async list(path: string, query: ListQuery = {}, signal?: AbortSignal): Promise<ListPage> {
    const params = new URLSearchParams();
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.continueToken !== undefined) params.set('continue', query.continueToken);
    if (query.resourceVersion !== undefined) params.set('resourceVersion', query.resourceVersion);
    if (query.resourceVersionMatch !== undefined)
      params.set('resourceVersionMatch', query.resourceVersionMatch);
    if (query.fieldSelector !== undefined) params.set('fieldSelector', query.fieldSelector);
    const res = await this.#send(path, params, LIST_IDLE_MS, signal);
    const text = await readAll(res, MAX_LINE_BYTES);
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch (err) {
      throw new Error(`LIST ${path}: the answer is not JSON: ${(err as Error).message}`, { cause: err });
    }
    const l = (list ?? {}) as {
      items?: unknown;
      metadata?: { resourceVersion?: unknown; continue?: unknown };
    };
    if (!Array.isArray(l.items) && l.items !== null && l.items !== undefined)
      throw new Error(`LIST ${path}: the answer has no items list`);
    const rv = l.metadata?.resourceVersion;
    const token = l.metadata?.continue;
    return {
      items: Array.isArray(l.items) ? l.items : [],
      resourceVersion: typeof rv === 'string' ? rv : '',
      continueToken: typeof token === 'string' && token !== '' ? token : undefined,
    };
  }

  /** A streaming GET with watch=1; each newline-delimited event goes to `listener`. */
  watch(path: string, query: WatchQuery, listener: WatchListener): WatchStream {
    const params = new URLSearchParams({ watch: '1' });
    if (query.resourceVersion !== undefined && query.resourceVersion !== '')
      params.set('resourceVersion', query.resourceVersion);
    if (query.allowWatchBookmarks === true) params.set('allowWatchBookmarks', 'true');
    if (query.timeoutSeconds !== undefined) params.set('timeoutSeconds', String(query.timeoutSeconds));
    if (query.fieldSelector !== undefined) params.set('fieldSelector', query.fieldSelector);
    const controller = new AbortController();
    let finish: (error: Error | undefined) => void = () => {};
    const ended = new Promise<Error | undefined>((resolve) => {
      finish = resolve;
    });
    let isOver = false;
    let deadline: NodeJS.Timeout | undefined;
    const over = (error: Error | undefined): void => {
      if (isOver) return;
      isOver = true;
      clearTimeout(deadline);
      finish(error);
    };
    const opened = this.#send(path, params, 0, controller.signal).then((res) => {
      if (isOver) {
        res.destroy(); // aborted just as the answer came
        return;
      }
      if (query.timeoutSeconds !== undefined)
        deadline = setTimeout(
          () => {
            const error = new Error(
              `watch ${path}: still open ${WATCH_GRACE_MS / 1000} s after its timeoutSeconds ` +
                `(${query.timeoutSeconds}); cutting it`,
            );
            over(error);
            res.destroy(error);
          },
          query.timeoutSeconds * 1000 + WATCH_GRACE_MS,
        );
      streamEvents(res, listener, controller.signal, over);
    });
    opened.catch((err: unknown) => over(err instanceof Error ? err : new Error(String(err))));
    return {
      opened,
      ended,
      abort: () => {
        controller.abort();
        over(undefined);
      },
    };
  }

  /** Closes the pooled connections (an open watch is ended by its own `abort()`). */
  close(): void {
    this.#agent.destroy();
  }

  /** Sends the GET; resolves with a 2xx response, rejects with KubeApiError or Node's error. */
  async #send(
    path: string,
    params: URLSearchParams,
    idleMs: number,
    signal: AbortSignal | undefined,
  ): Promise<IncomingMessage> {
    const headers: Record<string, string> = { Accept: 'application/json', 'User-Agent': 'margay' };
    const token = await this.#token();
    if (token !== undefined) headers.Authorization = `Bearer ${token}`;
    signal?.throwIfAborted();
    const basePath = this.#base.pathname.replace(/\/+$/, '');
    const query = params.toString();
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = this.#request(
        {
          protocol: this.#base.protocol,
          hostname: this.#base.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: this.#base.port,
          path: `${basePath}${path}${query !== '' ? `?${query}` : ''}`,
          method: 'GET',
          headers,
          agent: this.#agent,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve(res);
            return;
          }
          readAll(res, MAX_ERROR_BODY_BYTES, true).then(
            (body) => reject(apiError(status, res.statusMessage, body)),
            (err: unknown) => reject(err),
          );
        },
      );
      // Aborting destroys the request without an error event (the caller asked for it): a request
      // still waiting for its answer rejects, a streaming answer just ends.
      const onAbort = (): void => {
        reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
        req.destroy();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('close', () => signal?.removeEventListener('abort', onAbort));
      req.setTimeout(idleMs, () => {
        req.destroy(new Error(`GET ${path}: no answer for ${idleMs / 1000} s`));
      });
      req.on('error', reject);
      req.end();
    });
  }

  /** The bearer token: the token file's current contents when there is one, else the token. */
  async #token(): Promise<string | undefined> {
    const file = this.#config.tokenFile;
    if (file === undefined) return this.#config.token;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new Error(`reading the bearer token file ${file}: ${(err as Error).message}`, { cause: err });
    }
    const token = text.trim();
    return token !== '' ? token : this.#config.token;
  }
}

const clients = new WeakMap<KubeConfig, KubeClient>();

/** The one client of a configuration, so every kind's LIST and WATCH share one agent. */
export function clientFor(config: KubeConfig): KubeClient {
  let client = clients.get(config);
  if (client === undefined) {
    client = new KubeClient(config);
    clients.set(config, client);
  }
  return client;
}

/** KubeApiError from an error answer: the Status message if the body is one, else the body's text. */
function apiError(status: number, statusMessage: string | undefined, body: string): KubeApiError {
  let message = statusMessage !== undefined && statusMessage !== '' ? statusMessage : `HTTP ${status}`;
  let reason: string | undefined;
  try {
    const parsed = JSON.parse(body) as { message?: unknown; reason?: unknown } | null;
    if (typeof parsed?.message === 'string' && parsed.message !== '') message = parsed.message;
    if (typeof parsed?.reason === 'string' && parsed.reason !== '') reason = parsed.reason;
  } catch {
    const text = body.trim().split('\n')[0] ?? '';
    if (text !== '') message = text;
  }
  return new KubeApiError(status, message, reason);
}

/** The body as text; more than `max` bytes fail it, or with `truncate` are cut off. */
function readAll(res: IncomingMessage, max: number, truncate = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      if (size >= max) return;
      size += chunk.length;
      chunks.push(chunk);
      if (size < max) return;
      if (truncate) {
        resolve(Buffer.concat(chunks).subarray(0, max).toString('utf8'));
        res.destroy();
      } else {
        res.destroy(new Error(`the answer is larger than ${max} bytes`));
      }
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new Error('the connection closed before the answer was complete'));
    });
  });
}

/**
 * Splits a watch response into its newline-delimited JSON events (an event may arrive in several
 * chunks, a multi-byte character split between two) and calls `over` once: undefined when the
 * server ended the stream or it was aborted, the error when it was cut or carried a bad line.
 */
function streamEvents(
  res: IncomingMessage,
  listener: WatchListener,
  signal: AbortSignal,
  over: (error: Error | undefined) => void,
): void {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let isDone = false;
  const done = (error: Error | undefined): void => {
    if (isDone) return;
    isDone = true;
    if (error !== undefined) res.destroy();
    over(signal.aborted ? undefined : error);
  };
  const line = (text: string): void => {
    if (text.trim() === '') return;
    let event: { type?: unknown; object?: unknown };
    try {
      event = JSON.parse(text) as { type?: unknown; object?: unknown };
    } catch (err) {
      done(new Error(`watch: a line of the stream is not JSON: ${(err as Error).message}`));
      return;
    }
    if (typeof event?.type !== 'string') {
      done(new Error('watch: a line of the stream is not a watch event (no type)'));
      return;
    }
    listener(event.type, event.object);
  };
  res.on('data', (chunk: Buffer) => {
    if (isDone) return;
    pending += decoder.write(chunk);
    let start = 0;
    let newline = pending.indexOf('\n');
    while (newline !== -1 && !isDone) {
      line(pending.slice(start, newline));
      start = newline + 1;
      newline = pending.indexOf('\n', start);
    }
    pending = pending.slice(start);
    if (pending.length > MAX_LINE_BYTES)
      done(new Error(`watch: an event is larger than ${MAX_LINE_BYTES} bytes`));
  });
  res.on('end', () => {
    if (isDone) return;
    pending += decoder.end();
    line(pending);
    pending = '';
    done(undefined);
  });
  res.on('error', (err) => done(err));
  res.on('close', () => {
    if (!res.complete) done(new Error('watch: the connection was cut'));
    else done(undefined);
  });
}
