// Wires the parts together: the informers (informers.ts) turn every change to a Deployment, one of its
// ReplicaSets, a policy or an assessment into a key on the work queue (`deployment:ns/name`, `verify:ns/name`
// or `policy:ns/name`), and the queue's workers hand each key to its reconciler: the Deployment reconciler
// (assessment and actions) with the verifier, and the policy reconciler (status). The retention pruner runs
// beside them on the leader.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Caches } from '../api/objects.js';
import { inBackgroundLane } from '../kube/api-client.js';
import { DeploymentEvents, type EventSink } from '../kube/events.js';
import { WorkQueue } from '../kube/workqueue.js';
import type { ClusterWriter } from '../kube/writer.js';
import type { Logger } from '../telemetry/logger.js';
import type { OperatorMetrics } from '../telemetry/metrics.js';
import { DeploymentReconciler } from './deployment-reconciler.js';
import type { LiveSignalSource, ModelSource } from './revision-assessor.js';
import { ClusterInformers } from './informers.js';
import { PolicyReconciler } from './policy-reconciler.js';
import type { PrometheusAccess } from './prometheus-access.js';
import { RetentionPruner } from './retention-pruner.js';
import type { RetentionRule } from './retention.js';
import { VerificationBatcher } from './verification-batcher.js';
import type { OperatorGate } from '../gate/operator-hooks.js';
import { Verifier } from './verifier.js';

export interface ControllerOptions {
  kubeConfig: KubeConfig;
  writer: ClusterWriter;
  events: EventSink;
  live: LiveSignalSource;
  model: ModelSource;
  access: PrometheusAccess;
  metrics: OperatorMetrics;
  logger: Logger;
  clock?: () => Date;
  /** Watch one namespace only (for teams without cluster-wide rights); default: all namespaces. */
  namespace?: string | undefined;
  workers?: number;
  /** See VerifierDeps.quietWritePeriodMs; absent writes every verification interval. */
  quietWritePeriodMs?: number | undefined;
  resyncMs?: number;
  /** How long finished assessments are kept, and how many per Deployment at most. */
  retention?: RetentionRule;
  /** Sharding (src/shard): whether this replica acts on a namespace now; default: on every namespace. */
  owns?: (namespace: string) => boolean;
  /** The learning loop's drift verdict, shown as each policy's ModelDrift condition. */
  modelDrift?: () => { high: boolean; message: string } | undefined;
  /** The admission gate's hooks, when the gate is on (src/gate). */
  gate?: OperatorGate | undefined;
}

export type KeyKind = 'deployment' | 'policy' | 'verify';

/** How long a policy's counts may trail its assessments, so a burst of changes is one status write. */
const policyCountsDelayMs = 2000;

/** Workers when none are given (the command's default is larger: see --workers). */
const defaultWorkers = 4;

/** How many workers verification passes may hold at once: all but a quarter, and all of a single worker. */
export function backgroundWorkersOf(workers: number): number {
  return workers <= 1 ? 1 : workers - Math.max(1, Math.floor(workers / 4));
}

export const workKey = (kind: KeyKind, namespace: string, name: string) => `${kind}:${namespace}/${name}`;

export function parseWorkKey(k: string): { kind: string; namespace: string; name: string } {
  const [kind = '', rest = ''] = k.split(':', 2);
  const [namespace = '', name = ''] = rest.split('/', 2);
  return { kind, namespace, name };
}

/**
 * Verification passes and policy status wait while Deployments wait: at a verification tick hundreds of
 * passes fall due at once, and a new rollout's assessment (and its pause) must not queue behind them. A pass
 * is on a 10 s clock and tolerates a wait; the queue still gives it a turn under a burst (see WorkQueue).
 */
export function isBackgroundKey(k: string): boolean {
  const { kind } = parseWorkKey(k);
  return kind === 'verify' || kind === 'policy';
}

/** The reconcilers a key is handed to; each returns when to look again, if it must. */
export interface KeyHandlers {
  deployment(namespace: string, name: string): Promise<{ requeueAfterMs?: number }>;
  verify(namespace: string, name: string): Promise<{ requeueAfterMs?: number }>;
  policy(namespace: string, name: string): Promise<void>;
}

/** Routes a work-queue key to its reconciler, timing it; a key of no known kind is dropped. */
export async function dispatchKey(
  k: string,
  handlers: KeyHandlers,
  metrics: Pick<OperatorMetrics, 'reconcileDuration'>,
): Promise<{ requeueAfterMs?: number } | undefined> {
  const { kind, namespace, name } = parseWorkKey(k);
  const end = metrics.reconcileDuration.startTimer({ kind });
  try {
    if (kind === 'deployment') return await handlers.deployment(namespace, name);
    if (kind === 'verify') return await handlers.verify(namespace, name);
    if (kind === 'policy') await handlers.policy(namespace, name);
    return undefined;
  } finally {
    end();
  }
}

export class Controller {
  readonly queue: WorkQueue;
  readonly batcher = new VerificationBatcher();
  /** Read-only views of the informer caches, for the score API and the dashboard. */
  readonly caches: Caches;
  private readonly informers: ClusterInformers;
  private readonly reconciler: DeploymentReconciler;
  private readonly policyReconciler: PolicyReconciler;
  private readonly pruner: RetentionPruner;
  private running: Promise<void> | undefined;
  private depthTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: ControllerOptions) {
    const { logger, metrics } = options;
    const clock = options.clock ?? (() => new Date());
    this.queue = new WorkQueue(
      { baseMs: 200, maxMs: 60_000 },
      (k, err, retryInMs) => {
        const { kind, namespace, name } = parseWorkKey(k);
        metrics.reconcileErrors.inc({ kind });
        logger.warn(
          { err, namespace, [kind]: name, retryInMs },
          `reconcile of ${kind} ${namespace}/${name} failed; retrying`,
        );
      },
      {
        background: isBackgroundKey,
        // A quarter of the workers is kept for new rollouts, pauses and rollbacks: the verification passes due
        // at a tick hold a worker each while they wait for Prometheus.
        backgroundWorkers: backgroundWorkersOf(options.workers ?? defaultWorkers),
        onTaken: (k, waitedMs) => {
          metrics.queueWait.observe({ kind: parseWorkKey(k).kind }, waitedMs / 1000);
        },
      },
    );
    const enqueue = (kind: KeyKind) => (namespace: string, name: string) => {
      this.queue.add(workKey(kind, namespace, name));
    };
    this.informers = new ClusterInformers(
      {
        kubeConfig: options.kubeConfig,
        logger,
        metrics,
        namespace: options.namespace,
        resyncMs: options.resyncMs ?? 5 * 60_000,
      },
      {
        deployment: enqueue('deployment'),
        policy: enqueue('policy'),
        // Every status write of an assessment (a verification interval, say) touches its policy's counts: one
        // status write per policy per moment, not one per assessment write (100 in a burst of 100 rollouts).
        policyCounts: (namespace, name) => {
          this.queue.addAfter(workKey('policy', namespace, name), policyCountsDelayMs);
        },
      },
    );
    this.caches = this.informers.caches;
    this.policyReconciler = new PolicyReconciler({
      caches: this.caches,
      writer: options.writer,
      clock,
      modelDrift: options.modelDrift,
      requeue: enqueue('policy'),
    });
    this.pruner = new RetentionPruner({
      caches: this.caches,
      writer: options.writer,
      logger,
      clock,
      rule: options.retention,
      owns: options.owns,
    });
    // One path for Events, shared, so an Event the verifier sent is not sent again by the reconciler.
    const events = new DeploymentEvents(options.events);
    this.reconciler = new DeploymentReconciler({
      caches: this.caches,
      writer: options.writer,
      events,
      live: options.live,
      model: options.model,
      metrics,
      logger,
      clock,
      verifier: new Verifier({
        caches: this.caches,
        writer: options.writer,
        events,
        access: options.access,
        batcher: this.batcher,
        metrics,
        clock,
        ...(options.quietWritePeriodMs !== undefined ? { quietWritePeriodMs: options.quietWritePeriodMs } : {}),
        reportQueryProblem: (policyKey, problem) => {
          this.policyReconciler.reportQueryProblem(policyKey, problem);
        },
      }),
      requestVerification: enqueue('verify'),
      gate: options.gate,
    });
  }

  /** True once every cache holds a first full list. */
  hasSynced(): boolean {
    return this.informers.hasSynced();
  }

  /**
   * Fills the caches and keeps them current. Every replica does this, leader or not, so a standby that takes
   * over has nothing to catch up on; keys queue up meanwhile and are worked off once it leads.
   */
  async startCaches(): Promise<void> {
    await this.informers.start();
    this.options.logger.info({ namespace: this.options.namespace ?? 'all' }, 'caches synced');
  }

  /** Starts reconciling (the leader only). */
  startWorkers(): void {
    if (this.running) return;
    this.options.logger.info({ workers: this.options.workers ?? defaultWorkers }, 'reconciling');
    this.depthTimer = setInterval(() => {
      this.options.metrics.queueDepth.set(this.queue.depth);
      this.options.metrics.rolloutsVerifying.set(this.batcher.activeCount());
    }, 1000).unref();
    const handlers: KeyHandlers = {
      deployment: (namespace, name) => this.reconciler.reconcile(namespace, name),
      verify: (namespace, name) => this.reconciler.verify(namespace, name),
      policy: (namespace, name) => this.policyReconciler.reconcile(namespace, name),
    };
    const owns = this.options.owns;
    this.running = this.queue.run(this.options.workers ?? defaultWorkers, (k, lane) => {
      // Another replica holds this namespace's shard; this one is queued again if it takes the shard over.
      if (owns !== undefined && !owns(parseWorkKey(k).namespace)) return Promise.resolve(undefined);
      const dispatch = () => dispatchKey(k, handlers, this.options.metrics);
      // The key's lane in the queue is its lane at the API rate limit too.
      return lane === 'background' ? inBackgroundLane(dispatch) : dispatch();
    });
    this.pruner.start();
  }

  /** Deletes assessments past the retention rule (see retention.ts). */
  pruneAssessments(): Promise<number> {
    return this.pruner.prune();
  }

  /** Caches, then workers: for a single instance without leader election. */
  async start(): Promise<void> {
    await this.startCaches();
    this.startWorkers();
  }

  /** Stops taking work and waits for the keys in flight; informers stop last. */
  async stop(): Promise<void> {
    this.queue.shutdown();
    if (this.depthTimer) clearInterval(this.depthTimer);
    this.pruner.stop();
    await this.running;
    await this.informers.stop();
  }

  /** Queues every Deployment and policy of the namespaces chosen (a shard just taken over). */
  requeueNamespaces(chosen: (namespace: string) => boolean): void {
    for (const d of this.caches.deployments()) {
      const namespace = d.metadata?.namespace ?? '';
      if (chosen(namespace) && d.metadata?.name) this.queue.add(workKey('deployment', namespace, d.metadata.name));
    }
    for (const p of this.caches.policies()) {
      const namespace = p.metadata?.namespace ?? '';
      if (chosen(namespace) && p.metadata?.name) this.queue.add(workKey('policy', namespace, p.metadata.name));
    }
  }

  /** Stops the batched verification queries for the namespaces chosen (a shard given up). */
  forgetNamespaces(chosen: (namespace: string) => boolean): void {
    for (const d of this.caches.deployments()) {
      const namespace = d.metadata?.namespace ?? '';
      if (chosen(namespace)) this.batcher.forgetDeployment(namespace, d.metadata?.name ?? '');
    }
  }

  /** Re-evaluates every policy's status (e.g. when the model's drift verdict changed). */
  requeuePolicies(): void {
    for (const p of this.caches.policies()) {
      const namespace = p.metadata?.namespace;
      const name = p.metadata?.name;
      if (namespace && name) this.queue.add(workKey('policy', namespace, name));
    }
  }
}
