// One PromQL query per policy, metric and interval, however many rollouts are being verified. Verification
// checks run just after interval boundaries ("ticks", at the policy's own phase within the interval:
// src/verify/ticks.ts, so policies do not all query at once); the first rollout of a policy to ask in a tick
// runs the batched query for every rollout of that policy known to be verifying, and the others read the same
// answer.
// A rollout that joins after its tick's query was sent gets one more batched query, not one of its own.
// The statistical test's counts (readCounts) are batched the same way; each rollout's window is the time since
// its verification began, and rollouts with different windows share one query joined with `or`.
import type { PolicySpec } from '../api/policy.js';
import {
  bucketsFor,
  buildWindowedBatchQuery,
  planBatchQueries,
  readBatch,
  readingFor,
  type BatchSplit,
  type BucketsReading,
  type PlannedQuery,
} from '../prometheus/batch.js';
import type { MetricsProvider, SingleResult } from '../prometheus/types.js';

export type VerifiedMetric = 'errorRate' | 'latency';
export type CountedMetric = 'requests' | 'errors' | 'latencyBuckets';

/** The counts of one rollout since its verification began: the new ReplicaSet's and the old one's. */
export interface CountReadings {
  readonly requests: { readonly current: SingleResult; readonly old?: SingleResult | undefined };
  readonly errors: { readonly current: SingleResult; readonly old?: SingleResult | undefined };
  readonly latencyBuckets: { readonly current: BucketsReading; readonly old?: BucketsReading | undefined };
  /** The queries as sent, for the verification steps and Events. */
  readonly queries: Readonly<Record<CountedMetric, string>>;
}

/** The window since verification began, in whole seconds (at least one), as a PromQL duration. */
export function windowSince(startedAt: Date, at: Date): string {
  return `${String(Math.max(1, Math.ceil((at.getTime() - startedAt.getTime()) / 1000)))}s`;
}

export interface BatchReading {
  /** The new ReplicaSet's reading and, when it still serves, the old one's. */
  current: SingleResult;
  old?: SingleResult | undefined;
  /** The query as sent, for the verification steps and Events. */
  query: string;
}

interface TickAnswer<M extends string = VerifiedMetric> {
  targets: Set<string>;
  answer: Promise<Map<M, { split: BatchSplit; query: string }>>;
}

interface CountTarget {
  readonly hashes: readonly string[];
  readonly startedAt: Date;
}

const targetKey = (deployment: string, hashes: readonly string[]) => `${deployment}\n${hashes.join(',')}`;

export class VerificationBatcher {
  /** Rollouts verifying now, per policy: deployment → its hashes (new first, then old). */
  private readonly active = new Map<string, Map<string, readonly string[]>>();
  /** The namespace of each policy key, so a Deployment can be found under whichever policy had it. */
  private readonly namespaceOf = new Map<string, string>();
  private readonly ticks = new Map<string, TickAnswer[]>();
  /** Rollouts whose counts are read, per policy: deployment → hashes and when verification began. */
  private readonly counting = new Map<string, Map<string, CountTarget>>();
  private readonly countTicks = new Map<string, TickAnswer<CountedMetric>[]>();
  /** Queries sent, for `make bench` and the tests' assertions on batching. */
  queriesSent = 0;

  /**
   * Records that a rollout is verifying, so the next batch of its policy covers it. A Deployment verifies
   * under one policy at a time: one that moved to another policy leaves the old policy's batch.
   */
  register(policyKey: string, deployment: string, hashes: readonly string[], namespace?: string): void {
    if (namespace !== undefined) this.claim(policyKey, namespace, deployment);
    let byDeployment = this.active.get(policyKey);
    if (!byDeployment) {
      byDeployment = new Map();
      this.active.set(policyKey, byDeployment);
    }
    byDeployment.set(deployment, hashes);
  }

  unregister(policyKey: string, deployment: string): void {
    this.active.get(policyKey)?.delete(deployment);
    this.counting.get(policyKey)?.delete(deployment);
    this.dropIfEmpty(policyKey);
  }

  /** Forgets a Deployment (deleted, or no longer covered) under every policy of its namespace. */
  forgetDeployment(namespace: string, deployment: string): void {
    for (const policyKey of new Set([...this.active.keys(), ...this.counting.keys()])) {
      if (this.namespaceOf.get(policyKey) !== namespace) continue;
      this.active.get(policyKey)?.delete(deployment);
      this.counting.get(policyKey)?.delete(deployment);
      this.dropIfEmpty(policyKey);
    }
  }

  /** A Deployment verifies under one policy at a time: claiming it for one drops it from the others. */
  private claim(policyKey: string, namespace: string, deployment: string): void {
    this.namespaceOf.set(policyKey, namespace);
    for (const [other, byDeployment] of this.active) {
      if (other !== policyKey && this.namespaceOf.get(other) === namespace) byDeployment.delete(deployment);
    }
    for (const [other, byDeployment] of this.counting) {
      if (other !== policyKey && this.namespaceOf.get(other) === namespace) byDeployment.delete(deployment);
    }
  }

  private dropIfEmpty(policyKey: string): void {
    if ((this.active.get(policyKey)?.size ?? 0) !== 0 || (this.counting.get(policyKey)?.size ?? 0) !== 0) return;
    this.active.delete(policyKey);
    this.counting.delete(policyKey);
    this.namespaceOf.delete(policyKey);
    for (const key of this.ticks.keys()) if (key.startsWith(`${policyKey}@`)) this.ticks.delete(key);
    for (const key of this.countTicks.keys()) if (key.startsWith(`${policyKey}@`)) this.countTicks.delete(key);
  }

  activeCount(): number {
    let n = 0;
    for (const m of this.active.values()) n += m.size;
    for (const m of this.counting.values()) n += m.size;
    return n;
  }

  async read(args: {
    policyKey: string;
    namespace: string;
    spec: PolicySpec;
    provider: MetricsProvider;
    tick: number;
    deployment: string;
    newHash: string;
    oldHash?: string | undefined;
  }): Promise<Record<VerifiedMetric, BatchReading>> {
    const hashes = args.oldHash ? [args.newHash, args.oldHash] : [args.newHash];
    this.register(args.policyKey, args.deployment, hashes, args.namespace);
    const tickKey = `${args.policyKey}@${args.tick}`;
    const me = targetKey(args.deployment, hashes);
    let answers = this.ticks.get(tickKey);
    if (!answers) {
      answers = [];
      this.ticks.set(tickKey, answers);
      this.forgetOldTicks(args.policyKey, args.tick);
    }
    let found = answers.find((a) => a.targets.has(me));
    if (!found) {
      const targets = [...(this.active.get(args.policyKey) ?? new Map<string, readonly string[]>()).entries()];
      const set = new Set(targets.map(([d, h]) => targetKey(d, h)));
      const planned = planBatchQueries(
        { errorRate: args.spec.metrics.errorRate.query, latency: args.spec.metrics.latency.query },
        {
          namespace: args.namespace,
          window: args.spec.metrics.rateWindow,
          targets: targets.map(([deployment, podTemplateHashes]) => ({ deployment, podTemplateHashes })),
        },
      );
      found = { targets: set, answer: this.ask(planned, args.provider) };
      answers.push(found);
    }
    const answer = await found.answer;
    const readingOf = (metric: VerifiedMetric): BatchReading => {
      const entry = answer.get(metric);
      if (!entry) return { current: { kind: 'empty', message: `no ${metric} query` }, query: '' };
      return {
        current: readingFor(entry.split, args.deployment, args.newHash),
        old: args.oldHash ? readingFor(entry.split, args.deployment, args.oldHash) : undefined,
        query: entry.query,
      };
    };
    return { errorRate: readingOf('errorRate'), latency: readingOf('latency') };
  }

  /**
   * The statistical test's counts for one rollout since its verification began (`startedAt`), read with one
   * query per count metric for every rollout of the policy that reads counts, in this tick.
   */
  async readCounts(args: {
    policyKey: string;
    namespace: string;
    spec: PolicySpec;
    provider: MetricsProvider;
    tick: number;
    at: Date;
    deployment: string;
    newHash: string;
    oldHash?: string | undefined;
    startedAt: Date;
  }): Promise<CountReadings> {
    const hashes = args.oldHash ? [args.newHash, args.oldHash] : [args.newHash];
    this.claim(args.policyKey, args.namespace, args.deployment);
    let byDeployment = this.counting.get(args.policyKey);
    if (!byDeployment) {
      byDeployment = new Map();
      this.counting.set(args.policyKey, byDeployment);
    }
    byDeployment.set(args.deployment, { hashes, startedAt: args.startedAt });
    const tickKey = `${args.policyKey}@${args.tick}`;
    const me = `${targetKey(args.deployment, hashes)}\n${args.startedAt.toISOString()}`;
    let answers = this.countTicks.get(tickKey);
    if (!answers) {
      answers = [];
      this.countTicks.set(tickKey, answers);
      this.forgetOldTicks(args.policyKey, args.tick);
    }
    let found = answers.find((a) => a.targets.has(me));
    if (!found) {
      const targets = [...byDeployment.entries()].map(([deployment, t]) => ({
        deployment,
        podTemplateHashes: t.hashes,
        window: windowSince(t.startedAt, args.at),
        key: `${targetKey(deployment, t.hashes)}\n${t.startedAt.toISOString()}`,
      }));
      const st = args.spec.metrics.statisticalTest;
      const templates: Record<CountedMetric, string> = {
        requests: st.requestsQuery,
        errors: st.errorsQuery,
        latencyBuckets: st.latencyBucketsQuery,
      };
      const planned = (Object.keys(templates) as CountedMetric[]).sort().map((metric) => ({
        metric,
        render: buildWindowedBatchQuery(templates[metric], args.namespace, targets),
      }));
      found = { targets: new Set(targets.map((t) => t.key)), answer: this.ask(planned, args.provider) };
      answers.push(found);
    }
    const answer = await found.answer;
    const entry = (metric: CountedMetric) =>
      answer.get(metric) ?? {
        split: { kind: 'whole', result: { kind: 'empty', message: `no ${metric} query` } } as BatchSplit,
        query: '',
      };
    const pair = (metric: 'requests' | 'errors') => ({
      current: readingFor(entry(metric).split, args.deployment, args.newHash),
      old: args.oldHash ? readingFor(entry(metric).split, args.deployment, args.oldHash) : undefined,
    });
    const buckets = entry('latencyBuckets').split;
    return {
      requests: pair('requests'),
      errors: pair('errors'),
      latencyBuckets: {
        current: bucketsFor(buckets, args.deployment, args.newHash),
        old: args.oldHash ? bucketsFor(buckets, args.deployment, args.oldHash) : undefined,
      },
      queries: {
        requests: entry('requests').query,
        errors: entry('errors').query,
        latencyBuckets: entry('latencyBuckets').query,
      },
    };
  }

  /** Runs planned queries (a template that cannot be rendered reads as a PromQL error) and splits each answer. */
  private ask<M extends string>(
    planned: readonly PlannedQuery<M>[],
    provider: MetricsProvider,
  ): Promise<Map<M, { split: BatchSplit; query: string }>> {
    return Promise.all(
      planned.map(async (p) => {
        if (p.render.ok) this.queriesSent += 1;
        const reading = await readBatch(provider, p.render, { purpose: 'verification' });
        if (reading.ok) return [p.metric, { split: reading.split, query: reading.query }] as const;
        const split: BatchSplit = {
          kind: 'whole',
          result: {
            kind: 'promql-error',
            status: 0,
            errorType: 'template',
            error: reading.error,
            message: `the policy's ${p.metric} query cannot be used: ${reading.error}`,
          },
        };
        return [p.metric, { split, query: '' }] as const;
      }),
    ).then((entries) => new Map<M, { split: BatchSplit; query: string }>(entries));
  }

  private forgetOldTicks(policyKey: string, tick: number): void {
    for (const ticks of [this.ticks, this.countTicks] as Map<string, unknown>[]) {
      for (const key of ticks.keys()) {
        const [policy, t] = key.split('@');
        if (policy === policyKey && Number(t) < tick - 1) ticks.delete(key);
      }
    }
  }
}
