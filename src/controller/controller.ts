// Wires the informers to the work queue and the queue to the reconcilers. Every change to a Deployment, one
// of its ReplicaSets, a policy or an assessment becomes a key (`deployment:ns/name` or `policy:ns/name`); the
// reconcilers read everything else from the caches. Which event woke a key up is never looked at.
import {
  AppsV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Deployment,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import { parsePolicySpec } from '../api/policy.js';
import { selectorMatches } from '../api/selector.js';
import { ResilientInformer } from '../kube/informer.js';
import type { EventSink } from '../kube/events.js';
import { assessmentResource, policyResource } from '../kube/resources.js';
import { WorkQueue } from '../kube/workqueue.js';
import type { ClusterWriter } from '../kube/writer.js';
import type { Logger } from '../telemetry/logger.js';
import type { OperatorMetrics } from '../telemetry/metrics.js';
import { DeploymentReconciler, type LiveSignalSource, type ModelSource } from './deployment-reconciler.js';
import { computePolicyStatus, policyStatusChanged, type Condition } from './policy-status.js';
import { assessmentsToPrune, type RetentionRule } from './retention.js';
import type { PrometheusAccess } from './prometheus-access.js';
import type { AssessmentObject, Caches, PolicyObject } from './types.js';
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
  resyncMs?: number;
  /** How long finished assessments are kept, and how many per Deployment at most. */
  retention?: RetentionRule;
  /** The learning loop's drift verdict, shown as each policy's ModelDrift condition. */
  modelDrift?: () => { high: boolean; message: string } | undefined;
  /** The admission gate's hooks, when the gate is on (src/gate). */
  gate?: OperatorGate | undefined;
}

const key = (kind: 'deployment' | 'policy' | 'verify', namespace: string, name: string) =>
  `${kind}:${namespace}/${name}`;

function parseKey(k: string): { kind: string; namespace: string; name: string } {
  const [kind = '', rest = ''] = k.split(':', 2);
  const [namespace = '', name = ''] = rest.split('/', 2);
  return { kind, namespace, name };
}

export class Controller {
  readonly queue: WorkQueue;
  readonly batcher = new VerificationBatcher();
  private readonly deployments: ResilientInformer<V1Deployment>;
  private readonly replicaSets: ResilientInformer<V1ReplicaSet>;
  private readonly policies: ResilientInformer<PolicyObject>;
  private readonly assessments: ResilientInformer<AssessmentObject>;
  private readonly reconciler: DeploymentReconciler;
  /** Read-only views of the informer caches, for the score API and the dashboard. */
  readonly caches: Caches;
  private readonly clock: () => Date;
  private running: Promise<void> | undefined;
  private depthTimer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  /** Per policy (`namespace/name`): why Prometheus refused its queries, while it does. Shown in Ready. */
  private readonly queryProblems = new Map<string, string>();

  constructor(private readonly options: ControllerOptions) {
    const { kubeConfig, logger, metrics } = options;
    this.clock = options.clock ?? (() => new Date());
    this.queue = new WorkQueue({ baseMs: 200, maxMs: 60_000 }, (k, err, retryInMs) => {
      const { kind, namespace, name } = parseKey(k);
      metrics.reconcileErrors.inc({ kind });
      logger.warn(
        { err, namespace, [kind]: name, retryInMs },
        `reconcile of ${kind} ${namespace}/${name} failed; retrying`,
      );
    });
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const ns = options.namespace;
    const prefix = ns ? `/namespaces/${ns}` : '';
    const common = {
      kubeConfig,
      logger,
      resyncMs: options.resyncMs ?? 5 * 60_000,
      onRestart: (reason: string) => {
        logger.debug({ reason }, 'informer restart');
      },
    };
    const customList = (resource: { group: string; version: string; plural: string }) => async () =>
      (ns
        ? await custom.listNamespacedCustomObject({ ...resource, namespace: ns })
        : await custom.listClusterCustomObject(resource)) as KubernetesListObject<KubernetesObject>;

    this.deployments = new ResilientInformer<V1Deployment>({
      ...common,
      name: 'deployments',
      path: `/apis/apps/v1${prefix}/deployments`,
      list: () => (ns ? apps.listNamespacedDeployment({ namespace: ns }) : apps.listDeploymentForAllNamespaces()),
      onObject: (d) => {
        this.enqueueDeployment(d.metadata?.namespace, d.metadata?.name);
        this.enqueuePoliciesOf(d.metadata?.namespace);
      },
      onRestart: () => {
        metrics.informerRestarts.inc({ resource: 'deployments' });
      },
    });
    this.replicaSets = new ResilientInformer<V1ReplicaSet>({
      ...common,
      name: 'replicasets',
      path: `/apis/apps/v1${prefix}/replicasets`,
      list: () => (ns ? apps.listNamespacedReplicaSet({ namespace: ns }) : apps.listReplicaSetForAllNamespaces()),
      onObject: (rs) => {
        const owner = rs.metadata?.ownerReferences?.find((o) => o.controller === true && o.kind === 'Deployment');
        if (owner) this.enqueueDeployment(rs.metadata?.namespace, owner.name);
      },
      onRestart: () => {
        metrics.informerRestarts.inc({ resource: 'replicasets' });
      },
    });
    this.policies = new ResilientInformer<PolicyObject>({
      ...common,
      name: 'deploymentriskpolicies',
      path: `/apis/${policyResource.group}/${policyResource.version}${prefix}/${policyResource.plural}`,
      list: customList(policyResource),
      onObject: (p) => {
        const namespace = p.metadata?.namespace;
        if (namespace && p.metadata?.name) this.queue.add(key('policy', namespace, p.metadata.name));
        for (const d of this.deployments.list(namespace)) this.enqueueDeployment(namespace, d.metadata?.name);
      },
      onRestart: () => {
        metrics.informerRestarts.inc({ resource: 'deploymentriskpolicies' });
      },
    });
    this.assessments = new ResilientInformer<AssessmentObject>({
      ...common,
      name: 'rolloutassessments',
      path: `/apis/${assessmentResource.group}/${assessmentResource.version}${prefix}/${assessmentResource.plural}`,
      list: customList(assessmentResource),
      onObject: (a) => {
        const namespace = a.metadata?.namespace;
        this.enqueueDeployment(namespace, a.spec?.deployment);
        const policy = a.spec?.policy;
        if (namespace && policy) this.queue.add(key('policy', namespace, policy));
      },
      onRestart: () => {
        metrics.informerRestarts.inc({ resource: 'rolloutassessments' });
      },
    });

    this.caches = {
      deployment: (namespace, name) => this.deployments.get(name, namespace),
      deployments: (namespace) => this.deployments.list(namespace),
      replicaSets: (namespace) => this.replicaSets.list(namespace),
      policies: (namespace) => this.policies.list(namespace),
      assessment: (namespace, name) => this.assessments.get(name, namespace),
      assessments: (namespace) => this.assessments.list(namespace),
    };
    this.reconciler = new DeploymentReconciler({
      caches: this.caches,
      writer: options.writer,
      events: options.events,
      live: options.live,
      model: options.model,
      metrics,
      logger,
      clock: this.clock,
      verifier: new Verifier({
        caches: this.caches,
        writer: options.writer,
        events: options.events,
        access: options.access,
        batcher: this.batcher,
        metrics,
        clock: this.clock,
        reportQueryProblem: (policyKey, problem) => {
          if (this.queryProblems.get(policyKey) === problem) return;
          if (problem === undefined) this.queryProblems.delete(policyKey);
          else this.queryProblems.set(policyKey, problem);
          const [namespace = '', name = ''] = policyKey.split('/', 2);
          this.queue.add(key('policy', namespace, name));
        },
      }),
      requestVerification: (namespace, name) => {
        this.queue.add(key('verify', namespace, name));
      },
      gate: options.gate,
    });
  }

  /** True once every cache holds a first full list. */
  hasSynced(): boolean {
    return [this.deployments, this.replicaSets, this.policies, this.assessments].every((i) => i.hasSynced());
  }

  /**
   * Fills the caches and keeps them current. Every replica does this, leader or not, so a standby that takes
   * over has nothing to catch up on; keys queue up meanwhile and are worked off once it leads.
   */
  async startCaches(): Promise<void> {
    await Promise.all([
      this.deployments.start(),
      this.replicaSets.start(),
      this.policies.start(),
      this.assessments.start(),
    ]);
    this.options.logger.info({ namespace: this.options.namespace ?? 'all' }, 'caches synced');
  }

  /** Starts reconciling (the leader only). */
  startWorkers(): void {
    if (this.running) return;
    this.options.logger.info({ workers: this.options.workers ?? 4 }, 'reconciling');
    this.depthTimer = setInterval(() => {
      this.options.metrics.queueDepth.set(this.queue.depth);
      this.options.metrics.rolloutsVerifying.set(this.batcher.activeCount());
    }, 1000).unref();
    this.running = this.queue.run(this.options.workers ?? 4, (k) => this.reconcileKey(k));
    const prune = () => {
      void this.pruneAssessments().catch((err: unknown) => {
        this.options.logger.warn({ err }, 'pruning old RolloutAssessments failed; trying again later');
      });
    };
    prune();
    this.pruneTimer = setInterval(prune, 10 * 60_000).unref();
  }

  /** Deletes assessments past the retention rule (see retention.ts). */
  async pruneAssessments(): Promise<number> {
    const rule = this.options.retention ?? { maxAgeMs: 90 * 24 * 3_600_000, keepPerDeployment: 100 };
    const doomed = assessmentsToPrune(this.assessments.list(), this.clock(), rule);
    for (const { namespace, name } of doomed) await this.options.writer.deleteAssessment(namespace, name);
    if (doomed.length > 0) this.options.logger.info({ pruned: doomed.length }, 'pruned old RolloutAssessments');
    return doomed.length;
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
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.running;
    await Promise.all([
      this.deployments.stop(),
      this.replicaSets.stop(),
      this.policies.stop(),
      this.assessments.stop(),
    ]);
  }

  /** Re-evaluates every policy's status (e.g. when the model's drift verdict changed). */
  requeuePolicies(): void {
    for (const p of this.policies.list()) {
      const namespace = p.metadata?.namespace;
      const name = p.metadata?.name;
      if (namespace && name) this.queue.add(key('policy', namespace, name));
    }
  }

  private enqueueDeployment(namespace: string | undefined, name: string | undefined): void {
    if (namespace && name) this.queue.add(key('deployment', namespace, name));
  }

  private enqueuePoliciesOf(namespace: string | undefined): void {
    if (!namespace) return;
    for (const p of this.policies.list(namespace)) {
      if (p.metadata?.name) this.queue.add(key('policy', namespace, p.metadata.name));
    }
  }

  private async reconcileKey(k: string): Promise<{ requeueAfterMs?: number } | undefined> {
    const { kind, namespace, name } = parseKey(k);
    const end = this.options.metrics.reconcileDuration.startTimer({ kind });
    try {
      if (kind === 'deployment') return await this.reconciler.reconcile(namespace, name);
      if (kind === 'verify') return await this.reconciler.verify(namespace, name);
      if (kind === 'policy') {
        await this.reconcilePolicy(namespace, name);
        return undefined;
      }
      return undefined;
    } finally {
      end();
    }
  }

  private async reconcilePolicy(namespace: string, name: string): Promise<void> {
    const policy = this.policies.get(name, namespace);
    if (!policy || policy.metadata?.deletionTimestamp !== undefined) return;
    const parsed = parsePolicySpec(policy.spec);
    const governed: V1Deployment[] = [];
    const overruledBy: { deployment: string; policy: string }[] = [];
    if (parsed.ok) {
      for (const d of this.deployments.list(namespace)) {
        if (!selectorMatches(parsed.value.selector, d.metadata?.labels ?? {})) continue;
        const chosen = this.reconciler.governingPolicy(d).policy?.object.metadata?.name;
        if (chosen === name) governed.push(d);
        else if (chosen) overruledBy.push({ deployment: d.metadata?.name ?? '', policy: chosen });
      }
    }
    const status = computePolicyStatus({
      name,
      generation: policy.metadata?.generation,
      parsed,
      governed,
      overruledBy,
      assessments: this.assessments.list(namespace).filter((a) => a.spec?.policy === name),
      previousConditions: (policy.status?.conditions as Condition[] | undefined) ?? [],
      now: this.clock(),
      drift: this.options.modelDrift?.(),
      queryProblem: this.queryProblems.get(`${namespace}/${name}`),
    });
    if (!policyStatusChanged(policy.status, status)) return;
    await this.options.writer.mergePatchPolicyStatus(namespace, name, status);
  }
}
