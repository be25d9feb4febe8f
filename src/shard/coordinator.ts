// Holds this replica's shards: one coordination.k8s.io/v1 Lease per shard, plus a membership Lease per replica
// so every replica knows how many share the work. Every round (the retry period) it lists the group's Leases
// once, renews its membership and its shards, and carries out balance.ts's plan, each write a compare-and-swap
// on the Lease's resourceVersion. The timings and their guarantees are the leader election's
// (src/kube/leader.ts): expiry is judged by when this replica last saw a Lease change, by its own clock; every
// round has a deadline shorter than the renew deadline; and a watchdog drops a shard the moment its last
// successful renewal is older than the renew deadline, whether or not a call is still hanging. A replica that
// takes over waits the full lease duration from the last change it saw, which is longer than the renew
// deadline: the old holder has stopped before anyone else starts.
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from 'pino';
import { isConflict, isNotFound } from '../kube/errors.js';
import { deadline, electionTimings, signalOptions } from '../kube/leader.js';
import { planShards } from './balance.js';
import { memberLeaseName, shardLeaseName, shardOf } from './hash.js';

export const groupLabel = 'rollguard.io/shard-group';
const roleLabel = 'rollguard.io/shard-role';

export interface ShardLeaseStore {
  list(signal: AbortSignal): Promise<V1Lease[]>;
  create(lease: V1Lease, signal: AbortSignal): Promise<V1Lease>;
  /** Throws an error with code 409 when the Lease changed since it was read. */
  replace(lease: V1Lease, signal: AbortSignal): Promise<V1Lease>;
  delete(name: string, signal: AbortSignal): Promise<void>;
}

export class KubeShardLeaseStore implements ShardLeaseStore {
  private readonly api: CoordinationV1Api;
  constructor(
    kc: KubeConfig,
    private readonly namespace: string,
    private readonly group: string,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }
  async list(signal: AbortSignal): Promise<V1Lease[]> {
    const list = await this.api.listNamespacedLease(
      { namespace: this.namespace, labelSelector: `${groupLabel}=${this.group}` },
      signalOptions(signal),
    );
    return list.items;
  }
  create(lease: V1Lease, signal: AbortSignal): Promise<V1Lease> {
    return this.api.createNamespacedLease({ namespace: this.namespace, body: lease }, signalOptions(signal));
  }
  replace(lease: V1Lease, signal: AbortSignal): Promise<V1Lease> {
    return this.api.replaceNamespacedLease(
      { name: lease.metadata?.name ?? '', namespace: this.namespace, body: lease },
      signalOptions(signal),
    );
  }
  async delete(name: string, signal: AbortSignal): Promise<void> {
    try {
      await this.api.deleteNamespacedLease({ name, namespace: this.namespace }, signalOptions(signal));
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

export interface ShardOptions {
  namespace: string;
  /** Names the Leases (`<group>-shard-<i>`, `<group>-member-<identity>`) and labels them. */
  group: string;
  shards: number;
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  attemptTimeoutMs?: number;
}

export interface ShardCallbacks {
  /** This replica now holds the shard: reconcile its namespaces. */
  onAcquired: (shard: number) => void;
  /** It no longer does (lost, or handed over): stop acting on its namespaces at once. */
  onLost: (shard: number, why: string) => void;
}

export class ShardCoordinator {
  readonly identity: string;
  private readonly timings: ReturnType<typeof electionTimings>;
  /** Per Lease name: its resourceVersion and when this replica saw it change. */
  private readonly observed = new Map<string, { resourceVersion: string | undefined; at: number }>();
  /** Shards held, with the start of their last successful renewal and the Lease as last written. */
  private readonly held = new Map<number, { lastRenew: number; lease: V1Lease }>();
  /** This replica's membership Lease as last written; undefined until written, or after a conflict. */
  private member: V1Lease | undefined;
  private callbacks: ShardCallbacks | undefined;
  private timer: NodeJS.Timeout | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private stopped = false;

  static forKube(kc: KubeConfig, options: ShardOptions, logger: Logger): ShardCoordinator {
    return new ShardCoordinator(new KubeShardLeaseStore(kc, options.namespace, options.group), options, logger);
  }

  constructor(
    private readonly store: ShardLeaseStore,
    private readonly options: ShardOptions,
    private readonly logger: Logger,
  ) {
    if (!Number.isInteger(options.shards) || options.shards < 1) throw new Error('shards must be at least 1');
    this.identity = options.identity ?? `${process.env.POD_NAME ?? os.hostname()}_${randomBytes(4).toString('hex')}`;
    this.timings = electionTimings({ ...options, name: options.group });
  }

  /** True only while the shard's last successful renewal is younger than the renew deadline. */
  owns(shard: number): boolean {
    const h = this.held.get(shard);
    return h !== undefined && Date.now() - h.lastRenew < this.timings.renewDeadlineMs;
  }

  ownsNamespace(namespace: string): boolean {
    return this.owns(shardOf(namespace, this.options.shards));
  }

  /** The shards held now, ascending. */
  ownedShards(): number[] {
    return [...this.held.keys()].filter((s) => this.owns(s)).sort((a, b) => a - b);
  }

  private isStopped(): boolean {
    return this.stopped;
  }

  run(callbacks: ShardCallbacks): void {
    this.callbacks = callbacks;
    this.watchdog = setInterval(
      () => {
        this.expire();
      },
      Math.max(100, Math.floor(this.timings.renewDeadlineMs / 10)),
    );
    const tick = async () => {
      if (this.stopped) return;
      const attempt = deadline(this.timings.attemptTimeoutMs, 'the Lease calls');
      try {
        await this.round(Date.now(), attempt.signal);
      } catch (err) {
        this.logger.warn({ err, group: this.options.group }, 'shards: could not reach the Leases');
      } finally {
        attempt.clear();
      }
      this.expire();
      if (this.isStopped()) return;
      this.timer = setTimeout(() => void tick(), this.timings.retryPeriodMs);
    };
    void tick();
  }

  /** Drops every shard whose last renewal is older than the renew deadline. */
  private expire(): void {
    for (const shard of [...this.held.keys()]) {
      if (!this.owns(shard))
        this.drop(shard, `could not renew its Lease within ${this.timings.renewDeadlineMs / 1000}s`);
    }
  }

  private drop(shard: number, why: string): void {
    if (!this.held.delete(shard)) return;
    this.logger.warn({ shard, why }, 'shard given up');
    this.callbacks?.onLost(shard, why);
  }

  private gained(shard: number, startedAt: number, lease: V1Lease): void {
    const had = this.held.has(shard);
    this.held.set(shard, { lastRenew: startedAt, lease });
    if (!had) {
      this.logger.info({ shard, identity: this.identity }, 'shard taken');
      this.callbacks?.onAcquired(shard);
    }
  }

  private seen(lease: V1Lease, now: number): number {
    const name = lease.metadata?.name ?? '';
    const rv = lease.metadata?.resourceVersion;
    const prior = this.observed.get(name);
    if (prior !== undefined && prior.resourceVersion === rv) return prior.at;
    this.observed.set(name, { resourceVersion: rv, at: now });
    return now;
  }

  private live(lease: V1Lease | undefined, now: number): boolean {
    const holder = lease?.spec?.holderIdentity;
    if (!lease || !holder) return false;
    if (holder === this.identity) return true;
    const duration = (lease.spec?.leaseDurationSeconds ?? this.timings.leaseDurationMs / 1000) * 1000;
    return this.seen(lease, now) + duration > now;
  }

  private leaseBody(name: string, role: 'shard' | 'member', holder: string, now: number, prior?: V1Lease): V1Lease {
    const spec = prior?.spec ?? {};
    const takingOver = spec.holderIdentity !== holder;
    return {
      ...(prior ?? {}),
      metadata: {
        ...(prior?.metadata ?? {}),
        name,
        namespace: this.options.namespace,
        labels: { ...(prior?.metadata?.labels ?? {}), [groupLabel]: this.options.group, [roleLabel]: role },
      },
      spec: {
        ...spec,
        holderIdentity: holder,
        leaseDurationSeconds: Math.ceil(this.timings.leaseDurationMs / 1000),
        renewTime: new V1MicroTime(now),
        ...(takingOver || !prior
          ? { acquireTime: new V1MicroTime(now), leaseTransitions: (spec.leaseTransitions ?? -1) + 1 }
          : {}),
      },
    };
  }

  /**
   * Renews a held shard from the Lease as this replica last wrote it: one call, no read first. True when
   * renewed. False on a conflict: the copy is stale (a renewal that timed out here may still have been applied)
   * or another replica took the shard; the round then decides from the list, as for any other shard.
   */
  private async renewHeld(shard: number, signal: AbortSignal, now: number): Promise<boolean> {
    const lease = this.held.get(shard)?.lease;
    if (lease === undefined) return false;
    const name = shardLeaseName(this.options.group, shard);
    const renewed = await ignoreConflict(
      this.store.replace(this.leaseBody(name, 'shard', this.identity, now, lease), signal),
    );
    if (renewed === undefined) return false;
    if (!this.isStopped()) this.gained(shard, now, renewed);
    return true;
  }

  /**
   * One round: renew every held shard and, at the same time, list the group's Leases; then renew the
   * membership and any shard just handed to us, and take or hand over as balance.ts says. The held shards are
   * renewed without waiting for the list: a round on a slow API server then takes one call's time before its
   * renewals land, not two, and a replica keeps its shards while each call answers within half a round's
   * deadline. The writes of a round run side by side: done one after the other, a round's length grew with
   * the shards held, and on a slow API server it ran past its deadline every round, so the plan never ran and
   * no shard was ever handed to a replica that joined.
   */
  private async round(now: number, signal: AbortSignal): Promise<void> {
    const { group, shards } = this.options;
    const memberName = memberLeaseName(group, this.identity);
    const renewedEarly = new Set<number>();
    const early: Promise<unknown>[] = [...this.held.keys()].map(async (shard) => {
      if (await this.renewHeld(shard, signal, now)) renewedEarly.add(shard);
    });
    // The membership too, from the Lease as last written: the others count us in while it keeps changing.
    const lastMember = this.member;
    if (lastMember !== undefined) {
      early.push(
        ignoreConflict(
          this.store.replace(this.leaseBody(memberName, 'member', this.identity, now, lastMember), signal),
        ).then((written) => {
          this.member = written;
        }),
      );
    }
    // Settled from the start: a renewal failing while the list is still out is never an unhandled rejection.
    const earlyDone = Promise.allSettled(early);
    const listed = await this.store.list(signal).then(
      (leases) => ({ leases }),
      (err: unknown) => ({ err }),
    );
    // Never leave a renewal running past the round, whichever way the list went.
    throwFirstFailure(await earlyDone);
    if ('err' in listed) throw listed.err;
    const { leases } = listed;
    if (this.isStopped()) return;
    const byName = new Map(leases.map((l) => [l.metadata?.name ?? '', l]));
    // Membership: renew ours (create it the first time), unless renewed above; others count while their Lease
    // keeps changing.
    const mine = byName.get(memberName);
    const renewMembership = async () => {
      if (this.member !== undefined && lastMember !== undefined) return;
      this.member = mine
        ? await this.store.replace(this.leaseBody(memberName, 'member', this.identity, now, mine), signal)
        : await this.store.create(this.leaseBody(memberName, 'member', this.identity, now), signal);
    };
    const members = leases
      .filter((l) => l.metadata?.labels?.[roleLabel] === 'member' && this.live(l, now))
      .map((l) => l.spec?.holderIdentity ?? '');
    // Renew the shards whose Lease names us (including one just handed to us).
    const holders: (string | undefined)[] = [];
    const renewals: Promise<void>[] = [ignoreConflict(renewMembership())];
    for (let shard = 0; shard < shards; shard++) {
      const name = shardLeaseName(group, shard);
      const lease = byName.get(name);
      const holder = lease?.spec?.holderIdentity;
      if (renewedEarly.has(shard)) {
        // Renewed above; the list may show the Lease from before that renewal.
        holders.push(this.identity);
      } else if (lease && holder === this.identity) {
        holders.push(this.identity);
        renewals.push(
          this.store.replace(this.leaseBody(name, 'shard', this.identity, now, lease), signal).then(
            (renewed) => {
              if (!this.isStopped()) this.gained(shard, now, renewed);
            },
            (err: unknown) => {
              if (!isConflict(err)) throw err;
              // Someone else wrote it since the list: whoever it is, we no longer hold it for sure.
              this.drop(shard, 'its Lease changed under us');
              holders[shard] = '?';
            },
          ),
        );
      } else {
        if (this.held.has(shard)) this.drop(shard, `its Lease is held by ${holder ?? 'nobody'} now`);
        holders.push(this.live(lease, now) ? holder : undefined);
      }
    }
    await allOrFirstError(renewals);
    if (this.isStopped()) return;
    const plan = planShards({ shards, me: this.identity, members: [...members, this.identity], holders });
    if (plan.handover) {
      const { shard, to } = plan.handover;
      const lease = this.held.get(shard)?.lease;
      // Stop acting first, then write: the recipient starts at its next renewal.
      this.drop(shard, `handed over to ${to} for balance`);
      if (lease)
        await ignoreConflict(
          this.store.replace(this.leaseBody(shardLeaseName(group, shard), 'shard', to, now, lease), signal),
        );
    }
    await allOrFirstError(
      plan.acquire.map(async (shard) => {
        const name = shardLeaseName(group, shard);
        const lease = byName.get(name);
        const written = await ignoreConflict(
          lease
            ? this.store.replace(this.leaseBody(name, 'shard', this.identity, now, lease), signal)
            : this.store.create(this.leaseBody(name, 'shard', this.identity, now), signal),
        ); // undefined: another replica was quicker
        if (written && !this.isStopped()) this.gained(shard, now, written);
      }),
    );
  }

  /**
   * Stops: removes the membership, then releases every shard (the others take them at once). The membership
   * goes first: while it shows, the others count this replica in their fair share and may leave a released
   * shard untaken until the membership expires.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.watchdog) clearInterval(this.watchdog);
    const attempt = deadline(this.timings.attemptTimeoutMs, 'the Lease calls');
    try {
      await this.store
        .delete(memberLeaseName(this.options.group, this.identity), attempt.signal)
        .catch((err: unknown) => {
          this.logger.warn({ err }, 'could not remove the membership Lease; it expires by itself');
        });
      await Promise.all(
        [...this.held.entries()].map(async ([shard, { lease }]) => {
          this.held.delete(shard);
          this.callbacks?.onLost(shard, 'shutting down');
          const released = this.leaseBody(lease.metadata?.name ?? '', 'shard', '', Date.now(), lease);
          if (released.spec) released.spec.leaseDurationSeconds = 1;
          await this.store.replace(released, attempt.signal).catch((err: unknown) => {
            this.logger.warn({ err, shard }, 'could not release a shard; another replica takes it when it expires');
          });
        }),
      );
    } finally {
      attempt.clear();
    }
  }
}

/** Undefined instead of a 409: another replica wrote the Lease first. */
async function ignoreConflict<T>(write: Promise<T>): Promise<T | undefined> {
  try {
    return await write;
  } catch (err) {
    if (!isConflict(err)) throw err;
    return undefined;
  }
}

/** Waits for every write (so none is still running when the round ends), then throws the first failure. */
async function allOrFirstError(writes: readonly Promise<unknown>[]): Promise<void> {
  throwFirstFailure(await Promise.allSettled(writes));
}

function throwFirstFailure(results: readonly PromiseSettledResult<unknown>[]): void {
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
}
