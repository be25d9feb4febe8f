// The RolloutAssessment resource (rollguard.io/v1alpha1): one per assessed Deployment revision, the audit
// trail and the training data. The zod schema of its spec and status (the source of the CRD) and its name.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseFields, type ParseResult } from './issues.js';
import { conditionsSchema, dateTimeSchema, maxDnsSubdomainLength, objectNameSchema } from './meta.js';
import { policyModes, riskLevels } from './policy.js';

/** Labels every RolloutAssessment carries, so they can be listed per Deployment, revision and policy. */
export const assessmentLabels = {
  deployment: 'rollguard.io/deployment',
  revision: 'rollguard.io/revision',
  policy: 'rollguard.io/policy',
  deploymentUID: 'rollguard.io/deployment-uid',
  podTemplateHash: 'rollguard.io/pod-template-hash',
} as const;

const revisionSchema = z.int().min(1);
// pod-template-hash is a label value: at most 63 characters.
const podTemplateHashSchema = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/, { error: 'must be a label value such as 5d8f6c7b9' });

/** The podTemplateHash of a template held at admission, before the Deployment controller has hashed it. */
export const pendingPodTemplateHash = 'pending';

const previousRevisionRuleMessage = 'previousRevision must be lower than revision';

export const assessmentSpecSchema = z
  .object({
    deployment: objectNameSchema.describe('Name of the assessed Deployment, in the same namespace.'),
    revision: revisionSchema.describe(
      "The Deployment's revision (annotation deployment.kubernetes.io/revision) assessed.",
    ),
    deploymentUID: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .describe(
        'metadata.uid of the assessed Deployment: a Deployment deleted and created again under the same name is another Deployment, assessed anew. Absent on assessments written before rollguard recorded it.',
      ),
    podTemplateHash: podTemplateHashSchema.describe(
      `pod-template-hash of the ReplicaSet of this revision: the label that tells the new pods from the old in metrics. "${pendingPodTemplateHash}" while the admission gate holds a new template whose ReplicaSet does not exist yet; rollguard fills it in once it does.`,
    ),
    templateDigest: z
      .string()
      .regex(/^[0-9a-f]{16,64}$/, { error: 'must be a lower-case hex digest' })
      .optional()
      .describe(
        "A digest of the revision's pod template (without pod-template-hash), so a template that comes back is recognised even after its ReplicaSet is gone. Absent on assessments written before rollguard recorded it.",
      ),
    previousRevision: revisionSchema
      .optional()
      .describe('The revision that was serving before this rollout; absent for the first rollout.'),
    previousPodTemplateHash: podTemplateHashSchema
      .optional()
      .describe("pod-template-hash of the previous revision's ReplicaSet: the baseline in verification."),
    policy: objectNameSchema.describe('Name of the DeploymentRiskPolicy that covered the Deployment.'),
  })
  .refine((spec) => spec.previousRevision === undefined || spec.previousRevision < spec.revision, {
    error: previousRevisionRuleMessage,
    path: ['previousRevision'],
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: '!has(self.previousRevision) || self.previousRevision < self.revision',
        message: previousRevisionRuleMessage,
        fieldPath: '.previousRevision',
      },
      // The spec names one revision for good; changing it would rewrite the audit trail and the training data.
      // Except once: the gate records a held template before its ReplicaSet exists, then fills in its hash.
      {
        rule: `self == oldSelf || (oldSelf.podTemplateHash == '${pendingPodTemplateHash}' && has(oldSelf.templateDigest) && has(self.templateDigest) && self.templateDigest == oldSelf.templateDigest && self.deployment == oldSelf.deployment && self.revision == oldSelf.revision && self.policy == oldSelf.policy)`,
        message: 'spec is immutable: it identifies one revision of one Deployment',
      },
    ],
  })
  .describe('Which revision of which Deployment this assessment is about. Set once by rollguard; immutable.');

export type AssessmentSpec = z.output<typeof assessmentSpecSchema>;

export const assessmentPhases = [
  'Assessed',
  'Paused',
  'Verifying',
  'Verified',
  'RolledBack',
  'Failed',
  'Superseded',
] as const;
export type AssessmentPhase = (typeof assessmentPhases)[number];

export const assessmentOutcomes = ['running', 'succeeded', 'rolled-back', 'failed', 'superseded'] as const;
export type AssessmentOutcome = (typeof assessmentOutcomes)[number];

export const scorers = ['model', 'rules'] as const;
export type Scorer = (typeof scorers)[number];

export const actionTypes = [
  'annotated',
  'event',
  'paused',
  'resumed',
  'approved',
  'pre-approved',
  'resumed-by-hand',
  'verified',
  'verification-held',
  'rolled-back',
  'rolled-back-by-hand',
  'skipped-rollback',
  'gitops-paused',
  'aborted',
  'gate-held',
  'gate-passed',
  'gate-bypassed',
] as const;
export type ActionType = (typeof actionTypes)[number];

export const verificationStates = ['pending', 'running', 'passed', 'failed', 'held'] as const;
export type VerificationState = (typeof verificationStates)[number];

export const stepVerdicts = ['pass', 'fail', 'no-data', 'error', 'inconclusive'] as const;
export type StepVerdict = (typeof stepVerdicts)[number];

/** Verification keeps only the most recent steps, so the object stays small however long it verifies. */
export const maxVerificationSteps = 50;

/** The most latency buckets kept for the statistical test's reference; a finer histogram is not kept. */
export const maxBaselineBuckets = 64;

/** The longest message the status keeps (an action's, a step's, verification's, the model's error). */
export const maxMessageLength = 4096;

/** The longest value rollguard writes into one of its Deployment annotations (risk reasons, verification). */
export const maxAnnotationValueLength = 1000;

/** A message cut to `max` characters, so a status or annotation write never fails on length. */
export function clip(text: string, max = maxMessageLength): string {
  return text.length <= max ? text : text.slice(0, max);
}

const countSchema = z.int().min(0);

const actionSchema = z
  .object({
    type: z
      .enum(actionTypes)
      .describe(
        'What was done: annotated (the Deployment), event (emitted), paused, resumed, approved, pre-approved (approved before it was paused), resumed-by-hand (kubectl rollout resume without approval), verified, verification-held (Prometheus down or no data: nothing done), rolled-back, rolled-back-by-hand (someone undid it), skipped-rollback (a rollback was due but not done, e.g. cap reached), gitops-paused (paused instead of undone because Argo CD or Flux manages it), aborted (a person rolled it back with rollguard abort; the message gives their reason), gate-held (held at admission before its first pod), gate-passed (assessed at the gate and let through) or gate-bypassed (a person shipped it past the gate with rollguard.io/gate-bypass; the message gives their reason).',
      ),
    at: dateTimeSchema.describe('When it was done.'),
    message: z.string().max(maxMessageLength).describe('What happened and why, in a sentence.'),
    by: z
      .string()
      .max(512)
      .optional()
      .describe('Who did it: rollguard, or the user who approved (from the approve annotation) or aborted.'),
  })
  .describe('One thing rollguard did, or saw done, to this rollout.');

const stepSchema = z
  .object({
    at: dateTimeSchema.describe('When the interval was judged.'),
    metric: z.string().max(256).describe('Which check: error-rate, latency, or a statistical test.'),
    query: z
      .string()
      .max(8192)
      .optional()
      .describe(
        'The PromQL that was run, placeholders filled in; empty when none could be sent. Left out when it is the same as the previous step of the same metric: the oldest step of each metric always names it.',
      ),
    value: z.number().optional().describe('What the new version measured; absent when there was no data.'),
    baseline: z.number().optional().describe('What the baseline measured, when there is one.'),
    limit: z.number().optional().describe('The limit the value was held to.'),
    verdict: z
      .enum(stepVerdicts)
      .describe('pass, fail, no-data (no samples), error (Prometheus failed), or inconclusive (too little to judge).'),
    message: z.string().max(maxMessageLength).optional().describe('The verdict in words.'),
  })
  .describe('The summary of one verification check in one interval.');

const verificationStatusSchema = z
  .object({
    startedAt: dateTimeSchema.optional().describe('When verification started.'),
    completedAt: dateTimeSchema.optional().describe('When verification ended with a verdict.'),
    state: z
      .enum(verificationStates)
      .optional()
      .describe(
        'pending (not started), running, passed, failed (led to a rollback, if allowed), or held (stopped on no data or provider errors; nothing done).',
      ),
    consecutiveFailures: countSchema
      .optional()
      .describe('Failed intervals in a row; at the failure limit it rolls back.'),
    consecutiveErrors: countSchema.optional().describe('Intervals in a row in which Prometheus could not be queried.'),
    consecutiveNoData: countSchema.optional().describe('Intervals in a row without data or without a clear verdict.'),
    steps: z
      .array(stepSchema)
      .max(maxVerificationSteps)
      .optional()
      .describe(`The last ${maxVerificationSteps} checks, oldest first.`),
    lastCheckAt: dateTimeSchema
      .optional()
      .describe(
        "When the live metrics were last judged, as far as written: intervals that only read healthy metrics are written together, at most the operator's --quiet-write-period (30s) apart.",
      ),
    rolloutCompletedAt: dateTimeSchema
      .optional()
      .describe('When every replica ran the new version; the verification window counts from here.'),
    deadline: dateTimeSchema
      .optional()
      .describe('When verification ends if nothing fails: rolloutCompletedAt plus the window.'),
    baselineErrorRate: z.number().min(0).optional().describe('Error ratio of the service just before the rollout.'),
    baselineLatencySeconds: z
      .number()
      .min(0)
      .optional()
      .describe('p99 latency of the service just before the rollout.'),
    baselineCounts: z
      .object({
        requests: z.number().min(0).describe('Requests to the old version in the window.'),
        errors: z.number().min(0).describe('Failed requests among them.'),
        latencyBounds: z.array(z.number()).max(64).optional().describe('Latency histogram bucket bounds, seconds.'),
        latencyCumulative: z.array(z.number().min(0)).max(64).optional().describe('Requests at or below each bound.'),
        latencyTotal: z.number().min(0).optional().describe('All requests in the histogram (the +Inf bucket).'),
      })
      .optional()
      .describe(
        "The old version's counts over metrics.statisticalTest.baselineWindow before the rollout: the statistical test's reference beside the old pods.",
      ),
    message: z.string().max(maxMessageLength).optional().describe('Where verification stands, in a sentence.'),
  })
  .describe('Live-metric verification of the new version against the baseline.');

export const assessmentStatusSchema = z
  .object({
    phase: z
      .enum(assessmentPhases)
      .optional()
      .describe(
        'Where the rollout is: Assessed, Paused (waiting for approval), Verifying, Verified, RolledBack, Failed, or Superseded (a newer revision came first).',
      ),
    outcome: z
      .enum(assessmentOutcomes)
      .optional()
      .describe('How it ended, the label for learning: running (not yet), succeeded, rolled-back, failed, superseded.'),
    score: z.number().min(0).max(1).optional().describe('Risk score from 0 (safe) to 1 (risky).'),
    level: z.enum(riskLevels).optional().describe("Risk level from the score and the policy's thresholds."),
    scorer: z
      .enum(scorers)
      .optional()
      .describe('What produced the score: model (the trained random forest) or rules (the fallback without a model).'),
    modelVersion: z.string().max(256).optional().describe('Version of the model that scored, e.g. jit-apachejit-v1.'),
    features: z
      .record(z.string(), z.number().min(0))
      .optional()
      .describe(
        'The feature values used, by name (files_changed, hour_of_day, …); features that were unknown are absent.',
      ),
    missingFeatures: z.array(z.string()).optional().describe('Features that could not be determined.'),
    reasons: z.array(z.string()).optional().describe('The few things that pushed the score most, in words.'),
    hardRules: z
      .array(z.string())
      .optional()
      .describe('Hard rules of the policy that fired, in words; any of them means block.'),
    mode: z.enum(policyModes).optional().describe('The mode of the governing policy when the rollout was assessed.'),
    assessedAt: dateTimeSchema.optional().describe('When the rollout was assessed.'),
    modelError: z
      .string()
      .max(maxMessageLength)
      .optional()
      .describe('Why the model could not score and the rules did, when that happened.'),
    findings: z.array(z.string()).optional().describe('What the deterministic checks found in the new pod template.'),
    templateChanges: z
      .array(z.string())
      .optional()
      .describe('What changed between the previous and the new pod template.'),
    annotationWarnings: z
      .array(z.string())
      .optional()
      .describe('Change-description annotations ignored because their value was bad.'),
    changeType: z.string().max(64).optional().describe('The change type from rollguard.io/change-type.'),
    commit: z.string().max(64).optional().describe('The commit from rollguard.io/commit.'),
    liveSignals: z
      .string()
      .max(maxMessageLength)
      .optional()
      .describe('Why the live error rate and latency before the rollout are missing, when they are.'),
    actions: z.array(actionSchema).optional().describe('What was done to the rollout, oldest first.'),
    approval: z
      .object({
        by: z.string().max(512).describe('Who approved.'),
        at: dateTimeSchema.describe('When.'),
        revision: revisionSchema.describe('The revision approved.'),
      })
      .optional()
      .describe('The approval that resumed a paused rollout.'),
    verification: verificationStatusSchema.optional(),
    conditions: conditionsSchema('Standard conditions of the assessment.').optional(),
  })
  .describe('What rollguard found and did; written by rollguard, not by users.');

export type AssessmentStatus = z.output<typeof assessmentStatusSchema>;
export type AssessmentAction = z.output<typeof actionSchema>;
export type VerificationStep = z.output<typeof stepSchema>;
export type VerificationStatus = z.output<typeof verificationStatusSchema>;

export function parseAssessmentSpec(raw: unknown): ParseResult<AssessmentSpec> {
  return parseFields(assessmentSpecSchema, raw, 'spec');
}

export function parseAssessmentStatus(raw: unknown): ParseResult<AssessmentStatus> {
  return parseFields(assessmentStatusSchema, raw, 'status');
}

/** Label values may hold 63 characters; Deployment names 253. Long names keep their start and a hash. */
export const maxLabelValueLength = 63;

/** A label value for an object name (rollguard.io/deployment, rollguard.io/policy), valid however long the name. */
export function labelValue(name: string): string {
  if (name.length <= maxLabelValueLength) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  const prefix = name.slice(0, maxLabelValueLength - hash.length - 1).replace(/[-.]+$/, '');
  return `${prefix}-${hash}`;
}

/**
 * The RolloutAssessment's name for a Deployment revision: `<deployment>-<revision>`, or
 * `<deployment>-<revision>-<disambiguator>` when that name is held by an assessment of another Deployment of
 * the same name (deleted and created again) or of another template. A name longer than a
 * Kubernetes name may be (253) keeps the start of the Deployment's name and ends in `-<hash>-<revision>`,
 * where the hash of the full name keeps two long names that start alike apart.
 */
export function rolloutAssessmentName(deployment: string, revision: number, disambiguator?: string): string {
  if (!Number.isSafeInteger(revision) || revision < 1) {
    throw new RangeError(`a revision is a whole number from 1, not ${revision}`);
  }
  const tail = disambiguator === undefined ? `${revision}` : `${revision}-${disambiguator}`;
  const name = `${deployment}-${tail}`;
  if (name.length <= maxDnsSubdomainLength) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  const suffix = `-${hash}-${tail}`;
  // A name part may not end in - or ., so trim those off where the cut lands.
  const prefix = deployment.slice(0, maxDnsSubdomainLength - suffix.length).replace(/[-.]+$/, '');
  return `${prefix}${suffix}`;
}
