// The annotations rollguard writes on Deployments and the one people write to approve a paused rollout.
import { assessmentLabels } from './assessment.js';

export const annotations = {
  riskScore: 'rollguard.io/risk-score',
  riskLevel: 'rollguard.io/risk-level',
  riskReasons: 'rollguard.io/risk-reasons',
  assessment: 'rollguard.io/assessment',
  assessedRevision: 'rollguard.io/assessed-revision',
  /** Set by rollguard when it pauses a rollout: the revision it paused. Its presence means "paused by us". */
  pausedRevision: 'rollguard.io/paused-revision',
  /** Set by a person to the paused revision's number to let it continue. */
  approve: 'rollguard.io/approve',
  verification: 'rollguard.io/verification',
  rolledBackFrom: 'rollguard.io/rolled-back-from',
} as const;

/** The labels on every RolloutAssessment (one definition, with its schema). */
export const labels = assessmentLabels;

export const revisionAnnotation = 'deployment.kubernetes.io/revision';
export const revisionHistoryAnnotation = 'deployment.kubernetes.io/revision-history';
export const podTemplateHashLabel = 'pod-template-hash';
