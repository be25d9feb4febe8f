// How the operator's Kubernetes client behaves under load, set once on the KubeConfig every API client and
// watch is made from:
//   - one connection pool. client-node 2.0 builds a new undici Agent for every request, so every call opens a
//     new TLS connection (a handshake on the API server and here, and an idle socket left behind). The first
//     Agent is kept and handed to every later call, so calls reuse warm keep-alive connections.
//   - a client-side rate limit (token bucket: `qps` per second, bursts up to `burst`), as client-go has, so a
//     burst of rollouts or a resync never floods the API server. Watches are not limited: they are long-lived.
//     Requests wait in two lanes (inBackgroundLane): a verification pass waits while an assessment goes.
//   - a count of requests by verb, for rollguard_kube_api_requests_total.
import { AsyncLocalStorage } from 'node:async_hooks';
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

export interface ApiClientOptions {
  /** Requests per second on average; 0 or less: no limit. */
  qps: number;
  /** Requests allowed at once above the average. */
  burst: number;
  /** Told about every request (not watches) once it may go. */
  onRequest?: (verb: string, waitedMs: number) => void;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export type RequestLane = 'foreground' | 'background';

const laneOfCaller = new AsyncLocalStorage<RequestLane>();

/**
 * Runs `work` with every API request it makes in the background lane: while the rate limit makes requests
 * wait, foreground requests (a new rollout's assessment and pause) go ahead of these (verification passes,
 * policy status). Requests made outside any lane are foreground.
 */
export function inBackgroundLane<T>(work: () => Promise<T>): Promise<T> {
  return laneOfCaller.run('background', work);
}

/** Runs `work` in the foreground lane, even inside background work: a rollback must not wait behind assessments. */
export function inForegroundLane<T>(work: () => Promise<T>): Promise<T> {
  return laneOfCaller.run('foreground', work);
}

/** The lane of the request being made now (see inBackgroundLane). */
export function currentLane(): RequestLane {
  return laneOfCaller.getStore() ?? 'foreground';
}

/**
 * A token bucket: `take()` resolves when a request may go. Waiting requests go in the order asked within a
 * lane, and a foreground request before any background one.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly waiting: Record<RequestLane, (() => void)[]> = { foreground: [], background: [] };
  private draining = false;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {
    this.tokens = Math.max(1, burst);
    this.last = now();
  }

  /** Milliseconds waited. */
  take(lane: RequestLane = 'foreground'): Promise<number> {
    if (!(this.qps > 0)) return Promise.resolve(0);
    const started = this.now();
    const granted = new Promise<void>((resolve) => {
      this.waiting[lane].push(resolve);
    });
    void this.drain();
    return granted.then(() => this.now() - started);
  }

  /** Hands out tokens as they come, one waiting request at a time; the lane is chosen when the token is there. */
  private async drain(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    try {
      for (;;) {
        if (this.waiting.foreground.length === 0 && this.waiting.background.length === 0) return;
        this.refill();
        if (this.tokens < 1) {
          await this.sleep(((1 - this.tokens) / this.qps) * 1000);
          continue;
        }
        this.tokens -= 1;
        (this.waiting.foreground.shift() ?? this.waiting.background.shift())?.();
      }
    } finally {
      this.draining = false;
    }
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(Math.max(1, this.burst), this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
  }
}

/** The verb of a request as the API server's audit log names it (get/list/create/patch/update/delete/watch). */
export function verbOf(method: string, url: string): string {
  const u = new URL(url);
  if (u.searchParams.get('watch') === 'true') return 'watch';
  const parts = u.pathname.split('/').filter((p) => p !== '');
  // /api/v1/{resource} or /api/v1/namespaces/{ns}/{resource}: a collection; one more segment: an object.
  const base = parts[0] === 'api' ? 2 : 3;
  const rest = parts.slice(base);
  const collection = rest[0] === 'namespaces' ? rest.length === 1 || rest.length === 3 : rest.length === 1;
  switch (method.toUpperCase()) {
    case 'GET':
      return collection ? 'list' : 'get';
    case 'POST':
      return 'create';
    case 'PATCH':
      return 'patch';
    case 'PUT':
      return 'update';
    case 'DELETE':
      return collection ? 'deletecollection' : 'delete';
    default:
      return method.toLowerCase();
  }
}

/** Changes `kc` in place: shared connections, the rate limit and the request count (see the header). */
export function tuneApiClient(kc: KubeConfig, options: ApiClientOptions): KubeConfig {
  const bucket = new TokenBucket(options.qps, options.burst, options.now, options.sleep);
  const original = kc.applySecurityAuthentication.bind(kc);
  let shared: ReturnType<RequestContext['getDispatcher']>;
  // Not even made: an Agent built only to be closed cost its construction and an error object for its
  // destroy() on every request, a few percent of the operator's CPU under a burst of rollouts. The method is
  // client-node's own (private in its types); should a later version not call it, the swap below still holds.
  const dispatcherMaker = kc as unknown as { createDispatcher?: (...args: unknown[]) => typeof shared };
  const makeDispatcher = dispatcherMaker.createDispatcher?.bind(kc);
  if (makeDispatcher !== undefined) {
    dispatcherMaker.createDispatcher = (...args: unknown[]) => (shared ??= makeDispatcher(...args));
  }
  kc.applySecurityAuthentication = async (context: RequestContext): Promise<void> => {
    await original(context);
    const fresh = context.getDispatcher();
    if (fresh !== undefined) {
      if (shared === undefined) shared = fresh;
      else if (fresh !== shared) {
        context.setDispatcher(shared);
        // Never used: it has no connection to close, only its bookkeeping.
        void fresh.close().catch(() => undefined);
      }
    }
    const verb = verbOf(context.getHttpMethod(), context.getUrl());
    if (verb === 'watch') return;
    const waited = await bucket.take(currentLane());
    options.onRequest?.(verb, waited);
  };
  return kc;
}

/**
 * A client of its own for the Lease calls of leader election and sharding: the same cluster and credentials,
 * but its own connections and rate limit, as client-go's leader election builds its own clientset. Sharing the
 * controller's, a renewal waited in line behind a wave of rollouts' requests, ran past its deadline, and the
 * replica gave its shards up; taken again, they queued every rollout of their namespaces once more.
 */
export function separateApiClient(kc: KubeConfig, options: ApiClientOptions): KubeConfig {
  const own = new KubeConfig();
  own.loadFromOptions({
    clusters: kc.clusters,
    contexts: kc.contexts,
    users: kc.users,
    currentContext: kc.getCurrentContext(),
  });
  return tuneApiClient(own, options);
}
