// Reconciles one DeploymentRiskPolicy's status: whether its spec is usable (Ready), which Deployments it
// governs and which another policy overrules, its counts, the model's drift and what Prometheus thinks of its
// queries (computePolicyStatus, pure). Writes only when the status changed.
import type { V1Deployment } from '@kubernetes/client-node';
import type { Caches } from '../api/objects.js';
import { selectorMatches } from '../api/selector.js';
import type { ClusterWriter } from '../kube/writer.js';
import { governingPolicy } from './policy-choice.js';
import { parsedPolicies, parsedPolicy } from './policy-specs.js';
import { computePolicyStatus, policyStatusChanged, type Condition } from './policy-status.js';

export interface PolicyReconcilerDeps {
  caches: Caches;
  writer: ClusterWriter;
  clock: () => Date;
  /** The learning loop's drift verdict, shown as each policy's ModelDrift condition. */
  modelDrift?: (() => { high: boolean; message: string } | undefined) | undefined;
  /** Asks for a policy's status to be reconciled again (when a query problem appears or clears). */
  requeue: (namespace: string, name: string) => void;
}

export class PolicyReconciler {
  /** Per policy (`namespace/name`): why Prometheus refused its queries, while it does. Shown in Ready. */
  private readonly queryProblems = new Map<string, string>();

  constructor(private readonly deps: PolicyReconcilerDeps) {}

  /** What the verifier learned of a policy's queries (see Verifier's reportQueryProblem); keyed namespace/name. */
  reportQueryProblem(policyKey: string, problem: string | undefined): void {
    if (this.queryProblems.get(policyKey) === problem) return;
    if (problem === undefined) this.queryProblems.delete(policyKey);
    else this.queryProblems.set(policyKey, problem);
    const [namespace = '', name = ''] = policyKey.split('/', 2);
    this.deps.requeue(namespace, name);
  }

  async reconcile(namespace: string, name: string): Promise<void> {
    const { caches } = this.deps;
    const policy = caches.policies(namespace).find((p) => p.metadata?.name === name);
    if (!policy || policy.metadata?.deletionTimestamp !== undefined) return;
    const parsed = parsedPolicy(policy);
    const governed: V1Deployment[] = [];
    const overruledBy: { deployment: string; policy: string }[] = [];
    if (parsed.ok) {
      const policies = parsedPolicies(caches.policies(namespace));
      for (const d of caches.deployments(namespace)) {
        if (!selectorMatches(parsed.value.selector, d.metadata?.labels ?? {})) continue;
        const chosen = governingPolicy(policies, d.metadata?.labels ?? {}).policy?.object.metadata?.name;
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
      assessments: caches.assessments(namespace).filter((a) => a.spec?.policy === name),
      previousConditions: (policy.status?.conditions as Condition[] | undefined) ?? [],
      now: this.deps.clock(),
      drift: this.deps.modelDrift?.(),
      queryProblem: this.queryProblems.get(`${namespace}/${name}`),
    });
    if (!policyStatusChanged(policy.status, status)) return;
    await this.deps.writer.mergePatchPolicyStatus(namespace, name, status);
  }
}
