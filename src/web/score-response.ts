// What `POST /v1/score` answers: the assessment the controller would make, in the words and field names of the
// RolloutAssessment's status, plus which policy applied and what could not be consulted. The zod schema is the
// source of the OpenAPI document's response schema, and unit tests hold every shaped response to it. Pure.
import { z } from 'zod';
import { changeTypes } from '../assess/change-description.js';
import type { FindingKind } from '../assess/checks.js';
import { policyModes, riskLevels } from '../api/policy.js';
import { scorers } from '../api/assessment.js';
import type { ManifestScore } from '../controller/score-manifest.js';

const findingKinds = [
  'hardcoded-secret',
  'latest-image',
  'no-readiness-probe',
  'no-resource-limits',
  'privileged',
] as const satisfies readonly FindingKind[];

export const scoreResponseSchema = z
  .object({
    namespace: z.string().describe('The namespace the assessment was made for.'),
    deployment: z.string().nullable().describe('The Deployment assessed, or null when the request named none.'),
    score: z.number().min(0).max(1).describe('Risk score from 0 (safe) to 1 (risky).'),
    level: z
      .enum(riskLevels)
      .describe("Risk level from the score and the policy's thresholds; block also when a hard rule fired."),
    scorer: z.enum(scorers).describe('model (the trained random forest) or rules (the fallback without a model).'),
    modelVersion: z.string().nullable().describe('Version of the model that scored, or null when the rules did.'),
    modelError: z.string().optional().describe('Why the model could not score and the rules did, when that happened.'),
    reasons: z.array(z.string()).describe('The few things that pushed the score most, in words, strongest first.'),
    hardRules: z.array(z.string()).describe('Hard rules of the policy that fired; any of them means block.'),
    findings: z
      .array(
        z.object({
          kind: z.enum(findingKinds).describe('Which check found it.'),
          container: z.string().describe('The container it is about.'),
          message: z.string().describe('What was found, in words (never a secret’s value).'),
        }),
      )
      .describe('What the deterministic checks found in the pod template.'),
    templateChanges: z
      .array(z.string())
      .describe('What changed between the running pod template and this one; empty when nothing is running.'),
    features: z
      .record(z.string(), z.number())
      .describe('The feature values used, by name (files_changed, hour_of_day, …); unknown features are absent.'),
    missingFeatures: z.array(z.string()).describe('Features that could not be determined.'),
    annotationWarnings: z
      .array(z.object({ annotation: z.string(), value: z.string(), problem: z.string() }))
      .describe('Change-description annotations ignored because their value was bad.'),
    changeType: z.enum(changeTypes).optional().describe('The change type from rollguard.io/change-type.'),
    commit: z.string().optional().describe('The commit from rollguard.io/commit.'),
    liveSignals: z
      .string()
      .optional()
      .describe('Why the live error rate and latency before the rollout are missing, when they are.'),
    policy: z
      .string()
      .describe('The DeploymentRiskPolicy whose thresholds and rules applied, or (defaults) when none covers it.'),
    mode: z.enum(policyModes).describe('That policy’s mode: what the controller would do with this level.'),
    notes: z.array(z.string()).describe('What could not be consulted, in words.'),
    assessedAt: z.iso.datetime().describe('When the assessment was made.'),
  })
  .describe('The assessment the controller would make for this rollout now.');

export type ScoreResponse = z.output<typeof scoreResponseSchema>;

export function toScoreResponse(
  result: ManifestScore,
  subject: { namespace: string; deployment?: string | undefined },
  at: Date,
): ScoreResponse {
  const a = result.assessment;
  const features: Record<string, number> = {};
  for (const [name, value] of Object.entries(a.features)) features[name] = value;
  const response: ScoreResponse = {
    namespace: subject.namespace,
    deployment: subject.deployment ?? null,
    score: a.score,
    level: a.level,
    scorer: a.scorer,
    modelVersion: a.modelVersion ?? null,
    reasons: [...a.reasons],
    hardRules: [...a.hardRules],
    findings: a.findings.map((f) => ({ kind: f.kind, container: f.container, message: f.message })),
    templateChanges: [...a.templateChanges],
    features,
    missingFeatures: [...a.missingFeatures],
    annotationWarnings: a.annotationWarnings.map((w) => ({
      annotation: w.annotation,
      value: w.value,
      problem: w.problem,
    })),
    policy: result.policy,
    mode: result.mode,
    notes: [...result.notes],
    assessedAt: at.toISOString(),
  };
  if (a.modelError !== undefined) response.modelError = a.modelError;
  if (a.changeType !== undefined) response.changeType = a.changeType;
  if (a.commit !== undefined) response.commit = a.commit;
  if (a.liveUnavailable !== undefined) response.liveSignals = a.liveUnavailable;
  return response;
}
