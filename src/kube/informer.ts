// Informers that recover. client-node's ListWatch relists on 410 Gone but stops for good on any other error,
// has no periodic resync, and cannot tell a quiet watch from a dead one. This wrapper restarts it with
// exponential backoff after errors, calls `onResync` for every cached object on a period (so a missed event
// is repaired by the next resync), and restarts a watch that has been silent longer than the watchdog period.
import { makeInformer, type KubeConfig, type KubernetesObject, type ListPromise } from '@kubernetes/client-node';
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
  logger: Logger;
  /** Called for every add, update and delete, and for every cached object at each resync. */
  onObject: (obj: T) => void;
  resyncMs?: number;
  watchdogMs?: number;
  /** Told when an error happens and how long until the restart, for metrics. */
  onRestart?: (reason: string) => void;
}

export class ResilientInformer<T extends KubernetesObject> {
  private readonly informer;
  private failures = 0;
  private lastActivity = Date.now();
  private synced = false;
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly intervals: NodeJS.Timeout[] = [];

  constructor(private readonly options: InformerOptions<T>) {
    this.informer = makeInformer<T>(options.kubeConfig, options.path, options.list);
    const touch = (obj: T) => {
      this.lastActivity = Date.now();
      this.failures = 0;
      options.onObject(obj);
    };
    this.informer.on('add', touch);
    this.informer.on('update', touch);
    this.informer.on('delete', touch);
    this.informer.on('connect', () => {
      this.lastActivity = Date.now();
    });
    this.informer.on('error', (err: unknown) => {
      // Before the first sync, start() owns the retries.
      if (!this.synced) return;
      this.scheduleRestart(`watch failed: ${err instanceof Error ? err.message : String(err)}`);
    });
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
