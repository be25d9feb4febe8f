// The RolloutAssessment as stored: the object created once per revision, and its status written from an
// assessment. Pure, so what is recorded can be read and tested without a cluster.
import type { Assessment } from '../assess/assess.js';
import { apiVersion, assessmentResource } from '../kube/resources.js';
import { labels } from './annotations.js';
import type { ActionRecord, Mode } from './plan.js';

export interface AssessmentSubject {
  namespace: string;
  name: string;
  deployment: string;
  revision: number;
  podTemplateHash: string;
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
        [labels.deployment]: subject.deployment,
        [labels.revision]: String(subject.revision),
        [labels.policy]: subject.policy,
      },
    },
    spec: {
      deployment: subject.deployment,
      revision: subject.revision,
      podTemplateHash: subject.podTemplateHash,
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
