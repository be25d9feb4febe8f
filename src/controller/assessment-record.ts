// The RolloutAssessment as stored: the object created once per revision, and its status written from an
// assessment. Pure, so what is recorded can be read and tested without a cluster.
import type { Assessment } from '../assess/assess.js';
import type { PastOutcome } from '../assess/history.js';
import { labelValue, type AssessmentAction, type AssessmentStatus } from '../api/assessment.js';
import { isConflict } from '../kube/errors.js';
import type { ClusterWriter } from '../kube/writer.js';
import type { AssessmentObject } from '../api/objects.js';
import { apiVersion, assessmentResource } from '../api/resources.js';
import { labels } from '../api/annotations.js';
import type { PolicyMode } from '../api/policy.js';

export interface AssessmentSubject {
  namespace: string;
  name: string;
  deployment: string;
  /** The Deployment's metadata.uid: another Deployment of the same name is another subject. */
  deploymentUID?: string | undefined;
  revision: number;
  podTemplateHash: string;
  /** See templateDigest in api/pod-template.ts. */
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

export function assessedStatus(assessment: Assessment, mode: PolicyMode, at: Date): AssessmentStatus {
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
export function phaseAfter(actions: readonly AssessmentAction[], current: string | undefined): string | undefined {
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
 * The status patch that appends actions not yet on record (by type) to `current`, with any other status
 * fields. The phase follows the actions unless `alsoSet` says otherwise; an approval is recorded as such.
 */
export function statusWithActions(
  current: { actions?: readonly AssessmentAction[] | undefined; phase?: string | undefined } | undefined,
  added: readonly AssessmentAction[],
  alsoSet: object = {},
  revision?: number,
): Record<string, unknown> {
  const existing = current?.actions ?? [];
  const known = new Set(existing.map((a) => a.type));
  const fresher = added.filter((a) => !known.has(a.type));
  const status: Record<string, unknown> = {};
  if (fresher.length > 0) {
    const actions = [...existing, ...fresher];
    status.actions = actions;
    const phase = phaseAfter(actions, current?.phase);
    if (phase !== undefined) status.phase = phase;
    const approval = fresher.find((a) => a.type === 'approved');
    if (approval && revision !== undefined)
      status.approval = { by: approval.by ?? 'unknown', at: approval.at, revision };
  }
  return { ...status, ...alsoSet };
}

/** Attempts of appendActions before a conflict is handed to the caller's retry. */
const appendAttempts = 5;

/**
 * Appends actions not yet on record to an assessment, with any other status fields, in one write (see
 * statusWithActions). It reads the assessment fresh, so a reconcile working from a cache that trails its own
 * writes never records an action twice, and sends the resourceVersion, so a concurrent writer's change is
 * never overwritten. On a conflict it reads again and retries here: the caller may be finishing a
 * verification whose verdict (the steps in `alsoSet`) exists only in this call, and the other writer (the
 * reconciler closing the revision after the undo it just saw) must not make it lost.
 */
export async function appendActions(
  writer: ClusterWriter,
  namespace: string,
  assessmentName: string,
  added: readonly AssessmentAction[],
  alsoSet: object = {},
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const fresh = (await writer.readAssessment(namespace, assessmentName)) as AssessmentObject | undefined;
      if (!fresh) return;
      const status = statusWithActions(fresh.status, added, alsoSet, fresh.spec?.revision);
      if (Object.keys(status).length === 0) return;
      await writer.mergePatchAssessmentStatus(namespace, assessmentName, status, fresh.metadata?.resourceVersion);
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= appendAttempts) throw err;
    }
  }
}
