// The RolloutAssessment as stored: the object created once per revision, and its status written from an
// assessment. Pure, so what is recorded can be read and tested without a cluster.
import type { Assessment } from '../assess/assess.js';
import type { PastOutcome } from '../assess/history.js';
import { labelValue } from '../api/assessment.js';
import type { ClusterWriter } from '../kube/writer.js';
import type { AssessmentObject } from './types.js';
import { apiVersion, assessmentResource } from '../kube/resources.js';
import { labels } from './annotations.js';
import type { ActionRecord, Mode } from './plan.js';

export interface AssessmentSubject {
  namespace: string;
  name: string;
  deployment: string;
  /** The Deployment's metadata.uid: another Deployment of the same name is another subject. */
  deploymentUID?: string | undefined;
  revision: number;
  podTemplateHash: string;
  /** See templateDigest in assessment-identity.ts. */
  templateDigest?: string | undefined;
  previousRevision?: number | undefined;
  previousPodTemplateHash?: string | undefined;
  policy: string;
}

export function assessmentObject(subject: AssessmentSubject): object {
  return {
    apiVersion,
    kind: assessmentResource.kind,
    metadata: {
      name: subject.name,
      namespace: subject.namespace,
      labels: {
        [labels.deployment]: labelValue(subject.deployment),
        [labels.revision]: String(subject.revision),
        [labels.policy]: labelValue(subject.policy),
        [labels.podTemplateHash]: subject.podTemplateHash,
        ...(subject.deploymentUID !== undefined ? { [labels.deploymentUID]: labelValue(subject.deploymentUID) } : {}),
      },
    },
    spec: {
      deployment: subject.deployment,
      ...(subject.deploymentUID !== undefined ? { deploymentUID: subject.deploymentUID } : {}),
      revision: subject.revision,
      podTemplateHash: subject.podTemplateHash,
      ...(subject.templateDigest !== undefined ? { templateDigest: subject.templateDigest } : {}),
      ...(subject.previousRevision !== undefined ? { previousRevision: subject.previousRevision } : {}),
      ...(subject.previousPodTemplateHash !== undefined
        ? { previousPodTemplateHash: subject.previousPodTemplateHash }
        : {}),
      policy: subject.policy,
    },
  };
}

export function assessedStatus(assessment: Assessment, mode: Mode, at: Date): Record<string, unknown> {
  return {
    phase: 'Assessed',
    outcome: 'running',
    mode,
    assessedAt: at.toISOString(),
    score: assessment.score,
    level: assessment.level,
    scorer: assessment.scorer,
    ...(assessment.modelVersion !== undefined ? { modelVersion: assessment.modelVersion } : {}),
    ...(assessment.modelError !== undefined ? { modelError: assessment.modelError } : {}),
    features: assessment.features,
    missingFeatures: assessment.missingFeatures,
    reasons: assessment.reasons,
    hardRules: assessment.hardRules,
    findings: assessment.findings.map((f) => f.message),
    templateChanges: assessment.templateChanges,
    annotationWarnings: assessment.annotationWarnings.map(
      (w) => `${w.annotation}=${JSON.stringify(w.value)} ${w.problem}`,
    ),
    ...(assessment.changeType !== undefined ? { changeType: assessment.changeType } : {}),
    ...(assessment.commit !== undefined ? { commit: assessment.commit } : {}),
    ...(assessment.liveUnavailable !== undefined ? { liveSignals: assessment.liveUnavailable } : {}),
    actions: [],
  };
}

/** The phase an assessment shows after the given actions (a later action wins). */
export function phaseAfter(actions: readonly ActionRecord[], current: string | undefined): string | undefined {
  const last = actions.at(-1);
  switch (last?.type) {
    case 'paused':
      return 'Paused';
    case 'approved':
    case 'pre-approved':
    case 'resumed-by-hand':
      return 'Assessed';
    default:
      return current;
  }
}

/** A Deployment's past outcomes from its assessments (all but `exceptRevision`), for the history features. */
export function pastOutcomes(
  assessments: readonly AssessmentObject[],
  deployment: string,
  exceptRevision?: number,
): PastOutcome[] {
  return assessments
    .filter(
      (a) => a.spec?.deployment === deployment && (exceptRevision === undefined || a.spec.revision !== exceptRevision),
    )
    .map((a) => {
      const when = a.status?.verification?.completedAt ?? a.metadata?.creationTimestamp;
      return { outcome: a.status?.outcome, at: when ? new Date(when) : undefined };
    });
}

/**
 * Appends actions not yet on record to an assessment, with any other status fields, in one write. It reads
 * the assessment fresh, so a reconcile working from a cache that trails its own writes never records an
 * action twice, and sends the resourceVersion, so a concurrent writer's change is a conflict (retried), not
 * lost. The phase follows the actions unless `alsoSet` says otherwise; an approval is recorded as such.
 */
export async function appendActions(
  writer: ClusterWriter,
  namespace: string,
  assessmentName: string,
  added: readonly ActionRecord[],
  alsoSet: Record<string, unknown> = {},
): Promise<void> {
  const fresh = (await writer.readAssessment(namespace, assessmentName)) as AssessmentObject | undefined;
  if (!fresh) return;
  const existing = (fresh.status?.actions ?? []) as ActionRecord[];
  const known = new Set(existing.map((a) => a.type));
  const fresher = added.filter((a) => !known.has(a.type));
  if (fresher.length === 0 && Object.keys(alsoSet).length === 0) return;
  const status: Record<string, unknown> = {};
  if (fresher.length > 0) {
    const actions = [...existing, ...fresher];
    status.actions = actions;
    const phase = phaseAfter(actions, fresh.status?.phase);
    if (phase !== undefined) status.phase = phase;
    const approval = fresher.find((a) => a.type === 'approved');
    const revision = fresh.spec?.revision;
    if (approval && revision !== undefined)
      status.approval = { by: approval.by ?? 'unknown', at: approval.at, revision };
  }
  await writer.mergePatchAssessmentStatus(
    namespace,
    assessmentName,
    { ...status, ...alsoSet },
    fresh.metadata?.resourceVersion,
  );
}
