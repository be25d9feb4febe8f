// Informers that recover. client-node's ListWatch relists on 410 Gone but stops for good on any other error,
// has no periodic resync, and cannot tell a quiet watch from a dead one. This wrapper restarts it with
// exponential backoff after errors, calls `onResync` for every cached object on a period (so a missed event
// is repaired by the next resync), and restarts a watch that has been silent longer than the watchdog period.
//
// At scale (thousands of Deployments and their ReplicaSets) two more things matter. A `transform` slims every
// object before it is cached, or leaves it out (see informer-transform.ts); an object that stops passing the
// filter is removed from the cache as if deleted. And the first list is read in pages (`listPage`), so the
// whole list is never in memory at once as client-node's model objects.
import {
  ListWatch,
  Watch,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ListPromise,
} from '@kubernetes/client-node';
import { inspect } from 'node:util';
import type { Logger } from 'pino';
import { backoffDelay } from './workqueue.js';
import { apiMessage } from './errors.js';

export interface InformerOptions<T extends KubernetesObject> {
  name: string;
  kubeConfig: KubeConfig;
  /** The watch path, e.g. /apis/apps/v1/deployments. */
  path: string;
  list: ListPromise<T>;
  /**
   * One page of the list (`continueToken` undefined for the first); when given, it is used instead of `list`,
   * so the first list never holds every object at once.
   */
  listPage?: (continueToken: string | undefined, limit: number) => Promise<KubernetesListObject<T>>;
  /** Objects per page (default 500, as client-go's pager). */
  pageSize?: number;
  /**
   * What the cache keeps of an object (undefined: leave it out). Must be pure and cheap: it runs for every
   * event. An object it leaves out that is in the cache is removed as if deleted.
   */
  transform?: (obj: T) => T | undefined;
  logger: Logger;
  /** Called for every add, update and delete, and for every cached object at each resync. */
  onObject: (obj: T) => void;
  resyncMs?: number;
  watchdogMs?: number;
  /** Told when an error happens and how long until the restart, for metrics. */
  onRestart?: (reason: string) => void;
}

/** A Watch whose events pass through `transform` before the cache sees them. */
class TransformingWatch<T extends KubernetesObject> extends Watch {
  constructor(
    kc: KubeConfig,
    private readonly transform: (obj: T) => T | undefined,
  ) {
    super(kc);
  }
  override watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: unknown, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<AbortController> {
    return super.watch(
      path,
      queryParams,
      (phase: string, obj: T, raw?: unknown) => {
        if (phase !== 'ADDED' && phase !== 'MODIFIED') {
          callback(phase, obj, raw);
          return;
        }
        const kept = this.transform(obj);
        // Left out now: if it was cached, it goes (the cache only reads namespace and name of a deletion).
        if (kept === undefined) callback('DELETED', obj, raw);
        else callback(phase, kept, raw);
      },
      done,
    );
  }
}

/** The list function the ListWatch calls: paged and transformed when the options say so. */
export function listFunction<T extends KubernetesObject>(options: {
  list: ListPromise<T>;
  listPage?: (continueToken: string | undefined, limit: number) => Promise<KubernetesListObject<T>>;
  pageSize?: number;
  transform?: (obj: T) => T | undefined;
}): ListPromise<T> {
  const keep = (items: readonly T[]): T[] => {
    const transform = options.transform;
    if (!transform) return [...items];
    const out: T[] = [];
    for (const item of items) {
      const kept = transform(item);
      if (kept !== undefined) out.push(kept);
    }
    return out;
  };
  const listPage = options.listPage;
  if (!listPage) {
    return async () => {
      const list = await options.list();
      return { ...list, items: keep(list.items) };
    };
  }
  return async () => {
    const limit = options.pageSize ?? 500;
    const first = await listPage(undefined, limit);
    const items = keep(first.items);
    let token = first.metadata?._continue;
    // Every page comes from the first page's snapshot: its resourceVersion is the one to watch from.
    while (token) {
      const page = await listPage(token, limit);
      for (const item of keep(page.items)) items.push(item);
      token = page.metadata?._continue;
    }
    const { _continue: _last, ...metadata } = first.metadata ?? {};
    return { ...first, metadata, items };
  };
}

export class ResilientInformer<T extends KubernetesObject> {
  private informer: ListWatch<T>;
  private failures = 0;
  private lastActivity = Date.now();
  private synced = false;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly intervals: NodeJS.Timeout[] = [];

  constructor(private readonly options: InformerOptions<T>) {
    this.informer = this.makeListWatch();
  }

  private makeListWatch(): ListWatch<T> {
    const options = this.options;
    const transform = options.transform;
    const watch = transform ? new TransformingWatch(options.kubeConfig, transform) : new Watch(options.kubeConfig);
    const informer = new ListWatch<T>(options.path, watch, listFunction(options), false);
    const touch = (obj: T) => {
      this.lastActivity = Date.now();
      this.failures = 0;
      // Whoever is told reads the cache next, so only the cache that reads use may tell: a relist's fresh
      // cache stays quiet until it is swapped in (relist() then tells about everything it holds), and a
      // replaced one is not heard from again.
      if (informer === this.informer) options.onObject(obj);
    };
    informer.on('add', touch);
    informer.on('update', touch);
    informer.on('delete', touch);
    informer.on('connect', () => {
      this.lastActivity = Date.now();
    });
    informer.on('error', (err: unknown) => {
      // Before the first sync, start() owns the retries; an informer replaced by relist() is no longer ours.
      if (!this.synced || informer !== this.informer) return;
      this.scheduleRestart(`watch failed: ${err instanceof Error ? err.message : String(err)}`);
    });
    return informer;
  }

  /**
   * Lists everything again into a fresh cache and swaps it in once it is complete (reads keep using the old
   * one meanwhile). For when the transform's filter lets more through than before, e.g. a namespace that just
   * got its first policy: objects it left out earlier were never cached and no event will bring them.
   */
  async relist(): Promise<void> {
    if (this.stopped || !this.synced) return;
    const fresh = this.makeListWatch();
    const old = this.informer;
    let failed: unknown;
    const onError = (err: unknown) => {
      failed = err;
    };
    fresh.on('error', onError);
    try {
      await fresh.start();
    } finally {
      fresh.off('error', onError);
    }
    if (failed !== undefined || this.isStopped()) {
      await fresh.stop();
      if (failed !== undefined) throw failed instanceof Error ? failed : new Error(inspect(failed));
      return;
    }
    this.informer = fresh;
    await old.stop();
    // Everything the swap may have changed, now readable: what the fresh list holds, and what only the old
    // cache held (deleted meanwhile, with no event to say so).
    for (const obj of fresh.list()) this.options.onObject(obj);
    for (const obj of old.list()) {
      const meta = obj.metadata;
      if (meta?.name && fresh.get(meta.name, meta.namespace) === undefined) this.options.onObject(obj);
    }
  }

  /** Resolves once the first list has been cached (retrying with backoff until then). */
  async start(): Promise<void> {
    this.stopped = false;
    for (;;) {
      try {
        await this.startOnce();
        break;
      } catch (err) {
        this.failures += 1;
        const delay = backoffDelay(this.failures, { baseMs: 500, maxMs: 30_000 });
        this.options.logger.warn(
          // The reason in one line (refused, TLS, HTTP 403 …), not client-node's exception with every header.
          { informer: this.options.name, error: apiMessage(err), retryInMs: delay },
          `could not list ${this.options.name}; retrying`,
        );
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (this.isStopped()) return;
      }
    }
    this.synced = true;
    const resyncMs = this.options.resyncMs ?? 5 * 60_000;
    const watchdogMs = this.options.watchdogMs ?? 10 * 60_000;
    this.intervals.push(
      setInterval(() => {
        for (const obj of this.informer.list()) this.options.onObject(obj);
      }, resyncMs).unref(),
      setInterval(
        () => {
          if (Date.now() - this.lastActivity > watchdogMs) {
            this.scheduleRestart(`no watch activity for ${Math.round(watchdogMs / 1000)}s`, 0);
          }
        },
        Math.max(1000, watchdogMs / 4),
      ).unref(),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    for (const interval of this.intervals) clearInterval(interval);
    await this.informer.stop();
  }

  /** A method, not a field read, so a stop() during an await is seen. */
  private isStopped(): boolean {
    return this.stopped;
  }

  hasSynced(): boolean {
    return this.synced;
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  private async startOnce(): Promise<void> {
    let failed: unknown;
    const onError = (err: unknown) => {
      failed = err;
    };
    this.informer.on('error', onError);
    try {
      await this.informer.start();
    } finally {
      this.informer.off('error', onError);
    }
    if (failed !== undefined) throw failed instanceof Error ? failed : new Error(inspect(failed));
    this.lastActivity = Date.now();
  }

  private scheduleRestart(reason: string, delayOverride?: number): void {
    if (this.stopped || this.restartTimer) return;
    this.failures += 1;
    const delay = delayOverride ?? backoffDelay(this.failures, { baseMs: 500, maxMs: 30_000 });
    this.options.onRestart?.(reason);
    this.options.logger.warn({ informer: this.options.name, reason, retryInMs: delay }, 'restarting informer');
    this.lastActivity = Date.now();
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped) return;
      void this.informer
        .stop()
        .then(() => this.informer.start())
        .catch((err: unknown) => {
          this.scheduleRestart(`restart failed: ${err instanceof Error ? err.message : String(err)}`);
        });
    }, delay);
    this.restartTimer.unref();
  }
}
