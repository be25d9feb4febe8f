// Leader election on a coordination.k8s.io Lease, as client-go does it (client-node has none). Every change
// is a compare-and-swap on the Lease's resourceVersion, so two replicas never both believe they lead. Expiry
// is judged by when *this* replica last saw the record change, not by the timestamps in it, so clock skew
// between nodes cannot shorten a lease. Timings follow controller-runtime: 15 s lease, 10 s renew deadline,
// 2 s retry.
//
// Why two clocks guard the leader: a Lease call that hangs (a half-open connection, an API server that stopped
// answering) would otherwise keep the old leader acting while a standby, seeing no renewal for 15 s, takes
// over. So every attempt carries a deadline shorter than the renew deadline, and a separate watchdog timer
// gives up leadership the moment the last successful renewal is older than the renew deadline — whether or
// not the attempt in flight has come back. A standby waits the full lease duration from when it last saw the
// record change, which is later than when the leader started its last successful renewal, and the lease is
// longer than the renew deadline: the old leader has stopped before anyone can take over. A leader shutting
// down releases the Lease so a standby takes over at once.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import {
  CoordinationV1Api,
  Observable,
  V1MicroTime,
  type ConfigurationOptions,
  type KubeConfig,
  type V1Lease,
} from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isConflict, isNotFound } from './errors.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Time limit for one attempt (its read and its write together); must be shorter than the renew deadline. */
  attemptTimeoutMs?: number;
}

export interface LeaderCallbacks {
  onStartedLeading: () => void | Promise<void>;
  /** Called once when leadership is lost (not on a voluntary release). Stop acting at once. */
  onStoppedLeading: (why: string) => void;
}

/** The three Lease calls the elector makes; each honours the signal (the attempt's deadline). */
export interface LeaseStore {
  /** The Lease, or undefined when it does not exist. */
  read(signal: AbortSignal): Promise<V1Lease | undefined>;
  /** Throws an error with code 409 when someone created it first. */
  create(lease: V1Lease, signal: AbortSignal): Promise<V1Lease>;
  /** Throws an error with code 409 when the Lease changed since it was read (resourceVersion). */
  replace(lease: V1Lease, signal: AbortSignal): Promise<V1Lease>;
}

/** client-node request options that abort the request (connect, send and the answer's body) on `signal`. */
export function signalOptions(signal: AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (context) => {
          context.setSignal(signal);
          return new Observable(Promise.resolve(context));
        },
        post: (context) => new Observable(Promise.resolve(context)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

export class KubeLeaseStore implements LeaseStore {
  private readonly api: CoordinationV1Api;
  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly name: string,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }
  async read(signal: AbortSignal): Promise<V1Lease | undefined> {
    try {
      return await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace }, signalOptions(signal));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
  create(lease: V1Lease, signal: AbortSignal): Promise<V1Lease> {
    return this.api.createNamespacedLease({ namespace: this.namespace, body: lease }, signalOptions(signal));
  }
  replace(lease: V1Lease, signal: AbortSignal): Promise<V1Lease> {
    return this.api.replaceNamespacedLease(
      { name: this.name, namespace: this.namespace, body: lease },
      signalOptions(signal),
    );
  }
}

/**
 * An abort signal after `ms` on the ordinary timers (AbortSignal.timeout's are not, and keep no handle). The
 * reason is a plain Error named TimeoutError: a DOMException would log its legacy code constants as well.
 */
export function deadline(ms: number, what = 'the Lease call'): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(Object.assign(new Error(`${what} took longer than ${ms} ms`), { name: 'TimeoutError' }));
  }, ms);
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
    },
  };
}

/** Pure: may `me` take the lease now, given what was observed and when? */
export function canAcquire(
  lease: V1Lease | undefined,
  me: string,
  observedAtMs: number | undefined,
  nowMs: number,
  leaseDurationMs: number,
): boolean {
  const holder = lease?.spec?.holderIdentity;
  if (!lease || !holder || holder === me) return true;
  const duration = (lease.spec?.leaseDurationSeconds ?? leaseDurationMs / 1000) * 1000;
  return observedAtMs !== undefined && observedAtMs + duration <= nowMs;
}

/** The timings, checked: each must leave room for the next, or two replicas could lead at once. */
export function electionTimings(options: LeaderElectionOptions): {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  attemptTimeoutMs: number;
} {
  const leaseDurationMs = options.leaseDurationMs ?? 15_000;
  const renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
  const retryPeriodMs = options.retryPeriodMs ?? 2_000;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? Math.floor(renewDeadlineMs / 2);
  if (!(renewDeadlineMs < leaseDurationMs)) {
    throw new Error('leader election: the renew deadline must be shorter than the lease duration');
  }
  if (!(attemptTimeoutMs > 0 && attemptTimeoutMs < renewDeadlineMs)) {
    throw new Error('leader election: one attempt must time out before the renew deadline');
  }
  if (!(retryPeriodMs > 0 && retryPeriodMs < renewDeadlineMs)) {
    throw new Error('leader election: the retry period must be shorter than the renew deadline');
  }
  return { leaseDurationMs, renewDeadlineMs, retryPeriodMs, attemptTimeoutMs };
}

export class LeaderElector {
  readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly attemptTimeoutMs: number;
  private observed: { resourceVersion: string | undefined; holder: string | undefined; at: number } | undefined;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private lastRenew = 0;
  private callbacks: LeaderCallbacks | undefined;

  static forKube(kc: KubeConfig, options: LeaderElectionOptions, logger: Logger): LeaderElector {
    return new LeaderElector(new KubeLeaseStore(kc, options.namespace, options.name), options, logger);
  }

  constructor(
    private readonly store: LeaseStore,
    private readonly options: LeaderElectionOptions,
    private readonly logger: Logger,
  ) {
    this.identity = options.identity ?? `${process.env.POD_NAME ?? os.hostname()}_${randomBytes(4).toString('hex')}`;
    const timings = electionTimings(options);
    this.leaseDurationMs = timings.leaseDurationMs;
    this.renewDeadlineMs = timings.renewDeadlineMs;
    this.retryPeriodMs = timings.retryPeriodMs;
    this.attemptTimeoutMs = timings.attemptTimeoutMs;
  }

  /** A method, not a field read, so a stop() during an await is seen. */
  private isStopped(): boolean {
    return this.stopped;
  }

  /**
   * True only while the last successful renewal is younger than the renew deadline, even if the watchdog
   * timer has not fired yet (a busy event loop): callers check it before every write.
   */
  isLeader(): boolean {
    return this.leading && Date.now() - this.lastRenew < this.renewDeadlineMs;
  }

  /** Tries to acquire, then keeps renewing, until stop() or the loss of the lease. */
  run(callbacks: LeaderCallbacks): void {
    this.callbacks = callbacks;
    const tick = async () => {
      if (this.stopped) return;
      const startedAt = Date.now();
      let ok = false;
      const attempt = deadline(this.attemptTimeoutMs);
      try {
        ok = await this.tryAcquireOrRenew(startedAt, attempt.signal);
      } catch (err) {
        this.logger.warn({ err, lease: this.options.name }, 'leader election: could not reach the Lease');
      } finally {
        attempt.clear();
      }
      if (this.isStopped()) return;
      if (ok) {
        // The renewal counts from when the attempt started, not when it returned: a standby may have seen
        // the record change any time after that.
        this.lastRenew = startedAt;
        this.armWatchdog();
        if (!this.leading) {
          this.leading = true;
          this.logger.info(
            { lease: `${this.options.namespace}/${this.options.name}`, identity: this.identity },
            'became the leader',
          );
          await callbacks.onStartedLeading();
        }
      } else if (this.leading && Date.now() - this.lastRenew >= this.renewDeadlineMs) {
        this.lose();
        return;
      }
      if (this.isStopped()) return;
      this.timer = setTimeout(() => void tick(), this.retryPeriodMs);
    };
    void tick();
  }

  /** Fires renewDeadline after the last successful renewal; a later renewal moves it. */
  private armWatchdog(): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    const dueIn = Math.max(0, this.lastRenew + this.renewDeadlineMs - Date.now());
    this.watchdog = setTimeout(() => {
      if (this.leading && !this.stopped && Date.now() - this.lastRenew >= this.renewDeadlineMs) this.lose();
    }, dueIn);
  }

  private lose(): void {
    if (this.stopped) return;
    this.leading = false;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.watchdog) clearTimeout(this.watchdog);
    this.callbacks?.onStoppedLeading(`could not renew the lease within ${this.renewDeadlineMs / 1000}s`);
  }

  /** Stops trying; a leader releases the Lease so a standby can take over without waiting for expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.watchdog) clearTimeout(this.watchdog);
    if (!this.leading) return;
    this.leading = false;
    const attempt = deadline(this.attemptTimeoutMs);
    const signal = attempt.signal;
    try {
      const lease = await this.store.read(signal);
      if (lease?.spec?.holderIdentity !== this.identity) return;
      lease.spec.holderIdentity = '';
      lease.spec.leaseDurationSeconds = 1;
      lease.spec.renewTime = new V1MicroTime();
      await this.store.replace(lease, signal);
      this.logger.info({ lease: this.options.name }, 'released the leader lease');
    } catch (err) {
      this.logger.warn({ err }, 'could not release the leader lease; the standby takes over when it expires');
    } finally {
      attempt.clear();
    }
  }

  private async tryAcquireOrRenew(now: number, signal: AbortSignal): Promise<boolean> {
    const { namespace, name } = this.options;
    const lease = await this.store.read(signal);
    const seconds = Math.ceil(this.leaseDurationMs / 1000);
    if (!lease) {
      try {
        await this.store.create(
          {
            metadata: { name, namespace },
            spec: {
              holderIdentity: this.identity,
              leaseDurationSeconds: seconds,
              acquireTime: new V1MicroTime(now),
              renewTime: new V1MicroTime(now),
              leaseTransitions: 0,
            },
          },
          signal,
        );
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    }
    // Remember when the record last changed, by our own clock.
    const rv = lease.metadata?.resourceVersion;
    const observed =
      this.observed !== undefined && this.observed.resourceVersion === rv
        ? this.observed
        : { resourceVersion: rv, holder: lease.spec?.holderIdentity, at: now };
    this.observed = observed;
    if (!canAcquire(lease, this.identity, observed.at, now, this.leaseDurationMs)) return false;
    const spec = lease.spec ?? {};
    const takingOver = spec.holderIdentity !== this.identity;
    lease.spec = {
      ...spec,
      holderIdentity: this.identity,
      leaseDurationSeconds: seconds,
      renewTime: new V1MicroTime(now),
      ...(takingOver ? { acquireTime: new V1MicroTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
    };
    try {
      const updated = await this.store.replace(lease, signal);
      this.observed = { resourceVersion: updated.metadata?.resourceVersion, holder: this.identity, at: now };
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }
}
