// PrometheusClient: the MetricsProvider over Prometheus's HTTP API, on axios. The imperative shell around
// classify(): it sends the request (with timeout, cancellation, credentials and TLS settings) and hands the
// raw answer or transport error to the pure classifier. It never throws, so an outage is just another result.
import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance, type AxiosRequestConfig } from 'axios';
import { classify, transportErrorKind, type RawAnswer, type TransportErrorKind } from './classify.js';
import {
  expectSingle,
  isProviderFailure,
  type HealthResult,
  type InstantQueryOptions,
  type MetricsProvider,
  type QueryPurpose,
  type QueryResult,
  type QueryResultKind,
  type RangeQueryOptions,
} from './types.js';

export interface PrometheusClientOptions {
  /** Base URL, including any route prefix, e.g. `http://prometheus.monitoring:9090`. */
  readonly address: string;
  /** Time limit for one request, in milliseconds (default 5000). Also sent as the query's server-side timeout. */
  readonly timeoutMs?: number;
  /** Sent as `Authorization: Bearer`. Takes precedence over basicAuth when both are given. */
  readonly bearerToken?: string;
  readonly basicAuth?: { readonly username: string; readonly password: string };
  /** PEM bundle trusted for https addresses; like a custom CA in Prometheus's own clients, it replaces the system roots. */
  readonly caPem?: string;
  readonly insecureSkipVerify?: boolean;
  /** Called after every query (not the readiness probe) with its duration and outcome; for telemetry. */
  readonly onQuery?: (durationSeconds: number, outcome: QueryResultKind, purpose: QueryPurpose) => void;
  /**
   * Longest URL-encoded query sent with GET; longer ones (a batch over many Deployments) go as a form POST,
   * which Prometheus accepts on the same endpoints, so proxies' URL length limits never cut a query short.
   */
  readonly maxGetQueryLength?: number;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_GET_QUERY_LENGTH = 4096;
/** A batched answer for a few hundred series is well under this; a runaway query should not exhaust memory. */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** The HTTPS agent for the policy's TLS settings; exported so its options can be checked without a server. */
export function httpsAgentFor(options: Pick<PrometheusClientOptions, 'caPem' | 'insecureSkipVerify'>): https.Agent {
  return new https.Agent({
    keepAlive: true,
    rejectUnauthorized: options.insecureSkipVerify !== true,
    ...(options.caPem === undefined ? {} : { ca: options.caPem }),
  });
}

/**
 * Connection pools shared by every client with the same TLS settings, counted by their users. A client per
 * policy namespace keeps each namespace's credentials apart, but one pool per client held 360 idle sockets to
 * the same Prometheus at 100 policies (measured by bench/scale.ts), each with its buffers. Sharing a pool is
 * safe: credentials travel in each request's headers, and no client certificate identifies a connection.
 */
interface SharedAgents {
  readonly http: http.Agent;
  readonly https: https.Agent;
  users: number;
}
const sharedAgents = new Map<string, SharedAgents>();

function tlsKey(options: Pick<PrometheusClientOptions, 'caPem' | 'insecureSkipVerify'>): string {
  const ca = options.caPem === undefined ? '' : createHash('sha256').update(options.caPem).digest('hex');
  return `${options.insecureSkipVerify === true ? 'insecure' : 'verify'}/${ca}`;
}

function acquireAgents(options: Pick<PrometheusClientOptions, 'caPem' | 'insecureSkipVerify'>): {
  agents: SharedAgents;
  release: () => void;
} {
  const key = tlsKey(options);
  let agents = sharedAgents.get(key);
  if (!agents) {
    agents = { http: new http.Agent({ keepAlive: true }), https: httpsAgentFor(options), users: 0 };
    sharedAgents.set(key, agents);
  }
  agents.users++;
  let released = false;
  const held = agents;
  return {
    agents: held,
    release: () => {
      if (released) return;
      released = true;
      held.users--;
      if (held.users > 0) return;
      held.http.destroy();
      held.https.destroy();
      if (sharedAgents.get(key) === held) sharedAgents.delete(key);
    },
  };
}

/** How many connection pools are open (for tests). */
export function openConnectionPools(): number {
  return sharedAgents.size;
}

/** The address without credentials, for messages that end up in Events and status. */
function describeAddress(url: URL): string {
  const path = url.pathname === '/' ? '' : url.pathname;
  return `Prometheus at ${url.origin}${path}`;
}

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, cause } = error as { code?: unknown; cause?: unknown };
  if (typeof code === 'string') return code;
  return errorCode(cause);
}

function errorDetail(error: unknown): string {
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  if (code === undefined) return message;
  return message === '' || message.includes(code) ? (message === '' ? code : message) : `${code}: ${message}`;
}

export class PrometheusClient implements MetricsProvider {
  readonly #http: AxiosInstance | undefined;
  readonly #configError: string | undefined;
  readonly #source: string;
  readonly #timeoutMs: number;
  readonly #maxGetQueryLength: number;
  readonly #onQuery: PrometheusClientOptions['onQuery'];
  #releaseAgents: () => void = () => undefined;

  constructor(options: PrometheusClientOptions) {
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#maxGetQueryLength = options.maxGetQueryLength ?? DEFAULT_MAX_GET_QUERY_LENGTH;
    this.#onQuery = options.onQuery;
    let url: URL | undefined;
    try {
      url = new URL(options.address);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      // A bad address is reported on every call as "unreachable" instead of thrown from here, so a policy
      // with a typo cannot crash the reconcile that builds its client.
      this.#source = 'Prometheus';
      this.#configError = `prometheus.address ${JSON.stringify(options.address)} is not an http(s) URL`;
      this.#http = undefined;
      return;
    }
    this.#source = describeAddress(url);
    this.#configError = undefined;
    const { agents, release } = acquireAgents(options);
    this.#releaseAgents = release;
    const httpAgent = agents.http;
    const httpsAgent = agents.https;
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (options.bearerToken !== undefined) headers.Authorization = `Bearer ${options.bearerToken}`;
    const config: AxiosRequestConfig = {
      baseURL: options.address,
      headers,
      // Raw text and every status: classify() decides what they mean, including non-JSON and error pages.
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      maxContentLength: MAX_RESPONSE_BYTES,
      httpAgent,
      httpsAgent,
    };
    if (options.bearerToken === undefined && options.basicAuth !== undefined) {
      config.auth = { username: options.basicAuth.username, password: options.basicAuth.password };
    }
    this.#http = axios.create(config);
  }

  async instant(query: string, options: InstantQueryOptions = {}): Promise<QueryResult> {
    const params: Record<string, string> = { query, timeout: this.#serverTimeout() };
    if (options.time !== undefined) params.time = String(options.time.getTime() / 1000);
    return this.#query('/api/v1/query', params, options.signal, options.purpose);
  }

  async range(query: string, options: RangeQueryOptions): Promise<QueryResult> {
    const params: Record<string, string> = {
      query,
      start: String(options.start.getTime() / 1000),
      end: String(options.end.getTime() / 1000),
      step: String(options.step),
      timeout: this.#serverTimeout(),
    };
    return this.#query('/api/v1/query_range', params, options.signal, options.purpose);
  }

  /**
   * Ready when `/-/ready` says so; when that endpoint is missing or refused (a proxy exposing only the API,
   * another Prometheus-compatible server), a trivial `vector(1)` query decides. A transport failure decides
   * at once: a second request would hit the same wall.
   */
  async healthy(options: { readonly signal?: AbortSignal } = {}): Promise<HealthResult> {
    const answer = await this.#send('/-/ready', undefined, options.signal);
    if (answer.type === 'response' && answer.status >= 200 && answer.status < 300) {
      return { healthy: true, via: 'ready-endpoint', message: `${this.#source} is ready` };
    }
    if (answer.type === 'transport-error') {
      const failure = classify(answer, this.#context());
      if (isProviderFailure(failure)) {
        return { healthy: false, failure, message: `${this.#source} is not healthy: ${failure.message}` };
      }
    }
    const probe = expectSingle(await this.instant('vector(1)', { ...options, purpose: 'health' }));
    if (probe.kind === 'value' && probe.value === 1) {
      return { healthy: true, via: 'query', message: `${this.#source} answers queries` };
    }
    const failure = isProviderFailure(probe)
      ? probe
      : ({ kind: 'invalid-response', message: `vector(1) returned ${probe.message}` } as const);
    return { healthy: false, failure, message: `${this.#source} is not healthy: ${failure.message}` };
  }

  /** Closes the kept-alive connections, e.g. when a policy changes its Prometheus settings. */
  /** Gives up this client's share of its connection pool (closed when no client uses it). */
  close(): void {
    this.#releaseAgents();
  }

  #serverTimeout(): string {
    return String(this.#timeoutMs / 1000);
  }

  #context(): { source: string; timeoutSeconds: number } {
    return { source: this.#source, timeoutSeconds: this.#timeoutMs / 1000 };
  }

  async #query(
    path: string,
    params: Record<string, string>,
    signal: AbortSignal | undefined,
    purpose: QueryPurpose = 'other',
  ): Promise<QueryResult> {
    const started = performance.now();
    const answer = await this.#send(path, params, signal);
    const result = classify(answer, this.#context());
    if (this.#onQuery !== undefined) {
      try {
        this.#onQuery((performance.now() - started) / 1000, result.kind, purpose);
      } catch {
        // Telemetry must never turn a query result into an exception.
      }
    }
    return result;
  }

  /** One HTTP request, as a RawAnswer. Never rejects. */
  async #send(
    path: string,
    params: Record<string, string> | undefined,
    signal: AbortSignal | undefined,
  ): Promise<RawAnswer> {
    const transport = (kind: TransportErrorKind, detail: string): RawAnswer => ({
      type: 'transport-error',
      error: { kind, detail },
    });
    // A function, not a narrowed expression: the signal can flip while the request is in flight.
    const cancelled = (): boolean => signal?.aborted === true;
    if (this.#http === undefined) return transport('other', this.#configError ?? 'no address');
    if (cancelled()) return transport('aborted', '');
    // Our own deadline covers the whole exchange (axios's `timeout` is per socket inactivity), and telling
    // it apart from the caller's signal is what separates "slow server" from "cancelled".
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal === undefined ? deadline : AbortSignal.any([deadline, signal]);
    const body = params === undefined ? undefined : new URLSearchParams(params);
    const usePost = body !== undefined && body.toString().length > this.#maxGetQueryLength;
    try {
      const response = await this.#http.request<unknown>({
        url: path,
        method: usePost ? 'POST' : 'GET',
        signal: combined,
        ...(usePost ? { data: body } : params === undefined ? {} : { params }),
      });
      const contentType = response.headers['content-type'];
      return {
        type: 'response',
        status: response.status,
        contentType: typeof contentType === 'string' ? contentType : undefined,
        body: response.data,
      };
    } catch (error) {
      if (deadline.aborted) return transport('timeout', '');
      if (cancelled()) return transport('aborted', '');
      return transport(transportErrorKind(errorCode(error)), errorDetail(error));
    }
  }
}
