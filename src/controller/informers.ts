// The four informers the controller reads everything from (Deployments, ReplicaSets, policies, assessments),
// their read-only view as Caches, and which keys each change wakes up. Which event woke a key up is never
// looked at: the reconcilers read everything from the caches.
import {
  AppsV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type V1Deployment,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import type { AssessmentObject, Caches, PolicyObject } from '../api/objects.js';
import { assessmentResource, policyResource } from '../api/resources.js';
import { ResilientInformer } from '../kube/informer.js';
import { slimDeployment, withoutManagedFields } from '../kube/informer-transform.js';
import type { Logger } from '../telemetry/logger.js';
import type { OperatorMetrics } from '../telemetry/metrics.js';
import { ReplicaSetScope } from './cache-scope.js';

export interface InformerOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics: OperatorMetrics;
  /** Watch one namespace only; default: all namespaces. */
  namespace?: string | undefined;
  resyncMs: number;
}

/** What to reconcile when something changes. */
export interface ChangeHandlers {
  deployment(namespace: string, name: string): void;
  policy(namespace: string, name: string): void;
  /** A policy's counts may have changed (one of its assessments did): may wait a moment and be coalesced. */
  policyCounts(namespace: string, name: string): void;
}

export class ClusterInformers {
  readonly deployments: ResilientInformer<V1Deployment>;
  readonly replicaSets: ResilientInformer<V1ReplicaSet>;
  readonly policies: ResilientInformer<PolicyObject>;
  readonly assessments: ResilientInformer<AssessmentObject>;
  /** Read-only views of the caches, for the reconcilers, the score API and the dashboard. */
  readonly caches: Caches;
  private readonly replicaSetScope: ReplicaSetScope;

  constructor(options: InformerOptions, on: ChangeHandlers) {
    const { kubeConfig, logger, metrics } = options;
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const ns = options.namespace;
    const prefix = ns ? `/namespaces/${ns}` : '';
    const common = (resource: string) => ({
      kubeConfig,
      logger,
      resyncMs: options.resyncMs,
      name: resource,
      onRestart: (reason: string) => {
        logger.debug({ reason }, 'informer restart');
        metrics.informerRestarts.inc({ resource });
      },
    });
    const customList = (resource: { group: string; version: string; plural: string }) => async () =>
      (ns
        ? await custom.listNamespacedCustomObject({ ...resource, namespace: ns })
        : await custom.listClusterCustomObject(resource)) as KubernetesListObject<KubernetesObject>;
    const deployment = (namespace: string | undefined, name: string | undefined) => {
      if (namespace && name) on.deployment(namespace, name);
    };
    const policiesOf = (namespace: string | undefined) => {
      if (!namespace) return;
      for (const p of this.policies.list(namespace)) if (p.metadata?.name) on.policy(namespace, p.metadata.name);
    };

    this.deployments = new ResilientInformer<V1Deployment>({
      ...common('deployments'),
      path: `/apis/apps/v1${prefix}/deployments`,
      list: () => (ns ? apps.listNamespacedDeployment({ namespace: ns }) : apps.listDeploymentForAllNamespaces()),
      listPage: (token, limit) =>
        ns
          ? apps.listNamespacedDeployment({ namespace: ns, limit, ...(token ? { _continue: token } : {}) })
          : apps.listDeploymentForAllNamespaces({ limit, ...(token ? { _continue: token } : {}) }),
      transform: slimDeployment,
      onObject: (d) => {
        deployment(d.metadata?.namespace, d.metadata?.name);
        policiesOf(d.metadata?.namespace);
      },
    });
    this.replicaSets = new ResilientInformer<V1ReplicaSet>({
      ...common('replicasets'),
      path: `/apis/apps/v1${prefix}/replicasets`,
      list: () => (ns ? apps.listNamespacedReplicaSet({ namespace: ns }) : apps.listReplicaSetForAllNamespaces()),
      listPage: (token, limit) =>
        ns
          ? apps.listNamespacedReplicaSet({ namespace: ns, limit, ...(token ? { _continue: token } : {}) })
          : apps.listReplicaSetForAllNamespaces({ limit, ...(token ? { _continue: token } : {}) }),
      transform: (rs) => this.replicaSetScope.transform(rs),
      onObject: (rs) => {
        const owner = rs.metadata?.ownerReferences?.find((o) => o.controller === true && o.kind === 'Deployment');
        if (owner) deployment(rs.metadata?.namespace, owner.name);
      },
    });
    this.policies = new ResilientInformer<PolicyObject>({
      ...common('deploymentriskpolicies'),
      path: `/apis/${policyResource.group}/${policyResource.version}${prefix}/${policyResource.plural}`,
      list: customList(policyResource),
      transform: withoutManagedFields,
      onObject: (p) => {
        const namespace = p.metadata?.namespace;
        this.replicaSetScope.policyChanged(namespace, this.replicaSets.hasSynced());
        if (namespace && p.metadata?.name) on.policy(namespace, p.metadata.name);
        for (const d of this.deployments.list(namespace)) deployment(namespace, d.metadata?.name);
      },
    });
    this.assessments = new ResilientInformer<AssessmentObject>({
      ...common('rolloutassessments'),
      path: `/apis/${assessmentResource.group}/${assessmentResource.version}${prefix}/${assessmentResource.plural}`,
      list: customList(assessmentResource),
      transform: withoutManagedFields,
      onObject: (a) => {
        const namespace = a.metadata?.namespace;
        deployment(namespace, a.spec?.deployment);
        const policy = a.spec?.policy;
        if (namespace && policy) on.policyCounts(namespace, policy);
      },
    });

    this.replicaSetScope = new ReplicaSetScope({
      policiesIn: (namespace) => this.policies.list(namespace),
      relist: () => this.replicaSets.relist(),
      logger,
    });

    this.caches = {
      deployment: (namespace, name) => this.deployments.get(name, namespace),
      deployments: (namespace) => this.deployments.list(namespace),
      replicaSets: (namespace) => this.replicaSets.list(namespace),
      policies: (namespace) => this.policies.list(namespace),
      assessment: (namespace, name) => this.assessments.get(name, namespace),
      assessments: (namespace) => this.assessments.list(namespace),
    };
  }

  private get all() {
    return [this.deployments, this.replicaSets, this.policies, this.assessments] as const;
  }

  /** True once every cache holds a first full list. */
  hasSynced(): boolean {
    return this.all.every((i) => i.hasSynced());
  }

  async start(): Promise<void> {
    // Policies first: which ReplicaSets are cached depends on where policies are (cache-scope.ts).
    await this.policies.start();
    await Promise.all([this.deployments.start(), this.replicaSets.start(), this.assessments.start()]);
  }

  async stop(): Promise<void> {
    this.replicaSetScope.stop();
    await Promise.all(this.all.map((i) => i.stop()));
  }
}
