// One assessment, composed from its parts: every input gathered by the caller (the controller, `rollguard
// score`, the score API), every output a plain value. The same inputs always give the same assessment.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { FEATURE_NAMES, type FeatureName } from '../model/contract.js';
import { parseChangeDescription, type AnnotationWarning, type ChangeType } from './change-description.js';
import { checkTemplate, type Finding, type FindingKind } from './checks.js';
import type { CredentialPolicy, ProviderMatches } from './credentials.js';
import { clockFeatures } from './clock.js';
import { historyFeatures, type PastOutcome } from './history.js';
import type { Thresholds } from '../api/policy.js';
import { scoreRollout, type RiskModel, type ScoreResult } from './score.js';
import { diffTemplates } from './template-diff.js';

export interface LiveSignals {
  errorRate?: number | undefined;
  latencyP99Seconds?: number | undefined;
  /** Why live signals are missing, when they are (e.g. "Prometheus unreachable"). */
  unavailable?: string | undefined;
}

export interface AssessmentInput {
  template: V1PodTemplateSpec;
  previousTemplate?: V1PodTemplateSpec | undefined;
  deploymentAnnotations?: Record<string, string> | undefined;
  replicas?: { previous?: number | undefined; next?: number | undefined } | undefined;
  now: Date;
  timeZone: string;
  /** This Deployment's past outcomes; undefined when they could not be read (the features are then missing). */
  history?: readonly PastOutcome[] | undefined;
  live: LiveSignals;
  thresholds: Thresholds;
  blockingFindings: ReadonlySet<FindingKind>;
  /** secretlint's verdicts on the template's literal strings (scanTemplate in secret-scan.ts). */
  providerMatches: ProviderMatches;
  /** Severity of each kind of credential finding, and the allowed exceptions. */
  credentialPolicy?: CredentialPolicy | undefined;
  model?: RiskModel | undefined;
}

export interface Assessment extends ScoreResult {
  features: Partial<Record<FeatureName, number>>;
  missingFeatures: FeatureName[];
  changeType?: ChangeType;
  commit?: string;
  findings: Finding[];
  templateChanges: string[];
  annotationWarnings: AnnotationWarning[];
  liveUnavailable?: string;
}

export function assessRollout(input: AssessmentInput): Assessment {
  const description = parseChangeDescription(input.template.metadata?.annotations, input.deploymentAnnotations);
  const diff = diffTemplates(input.previousTemplate, input.template, input.replicas);
  const findings = checkTemplate(input.template, input.providerMatches, input.credentialPolicy);
  const features: Partial<Record<FeatureName, number>> = {
    ...description.features,
    ...clockFeatures(input.now, input.timeZone),
    ...(input.history ? historyFeatures(input.history, input.now) : {}),
    risky_findings: findings.filter((f) => f.kind !== 'no-resource-limits').length,
  };
  if (input.previousTemplate) {
    features.images_changed = diff.images_changed;
    features.env_changed = diff.env_changed;
    features.config_changed = diff.config_changed;
    features.resources_changed = diff.resources_changed;
    features.probes_changed = diff.probes_changed;
    features.replicas_changed = diff.replicas_changed;
  }
  if (input.live.errorRate !== undefined && Number.isFinite(input.live.errorRate)) {
    features.error_rate_before = input.live.errorRate;
  }
  if (input.live.latencyP99Seconds !== undefined && Number.isFinite(input.live.latencyP99Seconds)) {
    features.latency_p99_before = input.live.latencyP99Seconds;
  }
  const scored = scoreRollout({
    features,
    findings,
    thresholds: input.thresholds,
    blockingFindings: input.blockingFindings,
    model: input.model,
  });
  const assessment: Assessment = {
    ...scored,
    features,
    missingFeatures: FEATURE_NAMES.filter((name) => features[name] === undefined),
    findings,
    templateChanges: diff.changes,
    annotationWarnings: description.warnings,
  };
  if (description.changeType !== undefined) assessment.changeType = description.changeType;
  if (description.commit !== undefined) assessment.commit = description.commit;
  if (input.live.unavailable !== undefined) assessment.liveUnavailable = input.live.unavailable;
  return assessment;
}
