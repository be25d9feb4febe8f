// The operator's gate hooks, called from the Deployment reconciler: the held template as a rollout to
// assess, the plan completed for the gate, a held template released when there is nothing to assess, and the
// held template's assessment given its pod-template-hash once the ReplicaSet exists. The decisions are the
// pure functions of pending.ts; this class only reads the caches' results and writes.
import {
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Deployment,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import { pendingPodTemplateHash } from '../api/assessment.js';
import type { RevisionIdentity } from '../controller/assessment-identity.js';
import type { Plan } from '../controller/plan.js';
import type { AssessmentObject } from '../api/objects.js';
import { isConflict, isNotFound, statusCode } from '../kube/errors.js';
import { assessmentResource } from '../api/resources.js';
import type { ClusterWriter } from '../kube/writer.js';
import type { Logger } from '../telemetry/logger.js';
import { gateAnnotations, pausedRevisionAnnotation } from './annotations.js';
import {
  abandonedHeldRecords,
  adjustPlanForGate,
  gateView,
  pendingGates,
  type GateAdjustInput,
  type GateView,
} from './pending.js';
import type { OperatorMetrics } from '../telemetry/metrics.js';

/** The one write the gate needs beyond ClusterWriter: an assessment's spec (its hash, filled in once). */
export interface AssessmentSpecWriter {
  mergePatchAssessment(namespace: string, name: string, patch: object): Promise<object>;
}

export class KubeAssessmentSpecWriter implements AssessmentSpecWriter {
  private readonly custom: CustomObjectsApi;
  constructor(kc: KubeConfig) {
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }
  async mergePatchAssessment(namespace: string, name: string, patch: object): Promise<object> {
    return (await this.custom.patchNamespacedCustomObject(
      { ...assessmentResource, namespace, name, body: patch, fieldManager: 'rollguard' },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as object;
  }
}

export interface OperatorGateDeps {
  writer: ClusterWriter;
  specs: AssessmentSpecWriter;
  logger: Logger;
  metrics?: OperatorMetrics;
}

export class OperatorGate {
  constructor(private readonly deps: OperatorGateDeps) {}

  view(deployment: V1Deployment, replicaSets: readonly V1ReplicaSet[]): GateView {
    return gateView(deployment, replicaSets);
  }

  adjust(plan: Plan, input: GateAdjustInput): Plan {
    const adjusted = adjustPlanForGate(plan, input);
    const next = adjusted.annotations[gateAnnotations.gate];
    if (next === 'passed' || next === 'held' || next === 'bypassed')
      this.deps.metrics?.gateDecisions.inc({ result: next });
    return adjusted;
  }

  /** Keeps the pending-gate gauges current from the Deployment cache, every few seconds. */
  watchPending(deployments: () => readonly V1Deployment[], clock: () => Date): NodeJS.Timeout {
    return setInterval(() => {
      const { count, oldestSeconds } = pendingGates(deployments(), clock());
      this.deps.metrics?.gatePending.set(count);
      this.deps.metrics?.gateOldestPending.set(oldestSeconds);
    }, 5000).unref();
  }

  /**
   * Lets a held template go without an assessment: it is the template already running, or no enforcing
   * policy covers the Deployment any more. Conditional on the resourceVersion seen.
   */
  async release(deployment: V1Deployment, why: string, log: Logger): Promise<void> {
    const namespace = deployment.metadata?.namespace ?? '';
    const name = deployment.metadata?.name ?? '';
    const annotations: Record<string, string | null> = {
      [gateAnnotations.gate]: 'passed',
      [gateAnnotations.pendingSince]: null,
    };
    if (deployment.metadata?.annotations?.[pausedRevisionAnnotation] !== undefined) {
      annotations[pausedRevisionAnnotation] = null;
    }
    try {
      await this.deps.writer.mergePatchDeployment(namespace, name, {
        metadata: { annotations, resourceVersion: deployment.metadata?.resourceVersion },
        spec: { paused: false },
      });
      log.info({ why }, 'gate released the Deployment without an assessment');
    } catch (err) {
      // Changed meanwhile: the next pass sees the new state.
      if (!isConflict(err) && !isNotFound(err)) throw err;
    }
  }

  /**
   * Once a held template's ReplicaSet exists, its assessment learns the real pod-template-hash (it was
   * `pending`), and assessments of templates held at the same revision that never ran are closed. Returns
   * the assessment of `id` as now written, when it changed.
   */
  async reconcileRecords(
    records: readonly AssessmentObject[],
    id: RevisionIdentity,
  ): Promise<AssessmentObject | undefined> {
    let adopted: AssessmentObject | undefined;
    for (const stale of abandonedHeldRecords(records, id.uid, id.revision, id.templateDigest)) {
      const name = stale.metadata?.name ?? '';
      await this.deps.writer.mergePatchAssessmentStatus(id.namespace, name, {
        phase: 'Superseded',
        outcome: 'superseded',
      });
      this.deps.logger.info(
        { namespace: id.namespace, assessment: name },
        'a held template was replaced before it ran',
      );
    }
    if (id.podTemplateHash === pendingPodTemplateHash || id.templateDigest === undefined) return undefined;
    const held = records.find(
      (r) =>
        r.spec?.deploymentUID === id.uid &&
        r.spec?.revision === id.revision &&
        r.spec.podTemplateHash === pendingPodTemplateHash &&
        r.spec.templateDigest === id.templateDigest,
    );
    if (held === undefined) return undefined;
    try {
      adopted = await this.deps.specs.mergePatchAssessment(id.namespace, held.metadata?.name ?? '', {
        metadata: {
          resourceVersion: held.metadata?.resourceVersion,
          labels: { 'rollguard.io/pod-template-hash': id.podTemplateHash },
        },
        spec: { podTemplateHash: id.podTemplateHash },
      });
    } catch (err) {
      if (!isConflict(err) && !isNotFound(err) && statusCode(err) !== 403) throw err;
      // Without the right (an RBAC older than this rollguard) the record is still found by its digest.
      if (statusCode(err) === 403)
        this.deps.logger.warn(
          { err },
          'may not patch RolloutAssessments; the held template keeps podTemplateHash pending',
        );
    }
    return adopted;
  }
}
