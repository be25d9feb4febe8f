// Leader election on a coordination.k8s.io Lease, as client-go does it (client-node has none). Every change
// is a compare-and-swap on the Lease's resourceVersion, so two replicas never both believe they lead. Expiry
// is judged by when *this* replica last saw the record change, not by the timestamps in it, so clock skew
// between nodes cannot shorten a lease. Timings follow controller-runtime: 15 s lease, 10 s renew deadline,
// 2 s retry. A leader that cannot renew within the deadline stops at once (the caller exits, as
// controller-runtime does), and a leader shutting down releases the Lease so a standby takes over at once.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isConflict, isNotFound } from './errors.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface LeaderCallbacks {
  onStartedLeading: () => void | Promise<void>;
  /** Called once when leadership is lost (not on a voluntary release). Stop acting at once. */
  onStoppedLeading: (why: string) => void;
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

export class LeaderElector {
  readonly identity: string;
  private readonly api: CoordinationV1Api;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private observed: { resourceVersion: string | undefined; holder: string | undefined; at: number } | undefined;
  private leading = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private lastRenew = 0;

  constructor(
    kc: KubeConfig,
    private readonly options: LeaderElectionOptions,
    private readonly logger: Logger,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
    this.identity = options.identity ?? `${process.env.POD_NAME ?? os.hostname()}_${randomBytes(4).toString('hex')}`;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
  }

  /** A method, not a field read, so a stop() during an await is seen. */
  private isStopped(): boolean {
    return this.stopped;
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** Tries to acquire, then keeps renewing, until stop() or the loss of the lease. */
  run(callbacks: LeaderCallbacks): void {
    const tick = async () => {
      if (this.stopped) return;
      const now = Date.now();
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew(now);
      } catch (err) {
        this.logger.warn({ err, lease: this.options.name }, 'leader election: could not reach the Lease');
      }
      if (this.isStopped()) return;
      if (ok) {
        this.lastRenew = now;
        if (!this.leading) {
          this.leading = true;
          this.logger.info(
            { lease: `${this.options.namespace}/${this.options.name}`, identity: this.identity },
            'became the leader',
          );
          await callbacks.onStartedLeading();
        }
      } else if (this.leading && Date.now() - this.lastRenew > this.renewDeadlineMs) {
        this.leading = false;
        this.stopped = true;
        callbacks.onStoppedLeading(`could not renew the lease within ${this.renewDeadlineMs / 1000}s`);
        return;
      }
      this.timer = setTimeout(() => void tick(), this.retryPeriodMs);
    };
    void tick();
  }

  /** Stops trying; a leader releases the Lease so a standby can take over without waiting for expiry. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.api.readNamespacedLease({ name: this.options.name, namespace: this.options.namespace });
      if (lease.spec?.holderIdentity !== this.identity) return;
      lease.spec.holderIdentity = '';
      lease.spec.leaseDurationSeconds = 1;
      lease.spec.renewTime = new V1MicroTime();
      await this.api.replaceNamespacedLease({
        name: this.options.name,
        namespace: this.options.namespace,
        body: lease,
      });
      this.logger.info({ lease: this.options.name }, 'released the leader lease');
    } catch (err) {
      this.logger.warn({ err }, 'could not release the leader lease; the standby takes over when it expires');
    }
  }

  private async tryAcquireOrRenew(now: number): Promise<boolean> {
    const { namespace, name } = this.options;
    let lease: V1Lease | undefined;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const seconds = Math.ceil(this.leaseDurationMs / 1000);
    if (!lease) {
      try {
        await this.api.createNamespacedLease({
          namespace,
          body: {
            metadata: { name, namespace },
            spec: {
              holderIdentity: this.identity,
              leaseDurationSeconds: seconds,
              acquireTime: new V1MicroTime(now),
              renewTime: new V1MicroTime(now),
              leaseTransitions: 0,
            },
          },
        });
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
      const updated = await this.api.replaceNamespacedLease({ name, namespace, body: lease });
      this.observed = { resourceVersion: updated.metadata?.resourceVersion, holder: this.identity, at: now };
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }
}
