// From features to a score, a level and reasons.
//
// With a model: the forest's probability covers the features it learned from data, and the rule factors for
// every feature it did not learn are combined with it as independent risks (noisy-OR):
//   score = 1 - (1 - p_model) * exp(-sum of those factors' hazards)
// Without a model, or when it fails: score = 1 - exp(-(base hazard + every factor's hazard)).
// Hard rules then hold whatever the score says: a finding the policy blocks on makes the level `block`.
import { levelFor, type RiskLevel, type Thresholds } from '../api/policy.js';
import type { Finding, FindingKind } from './checks.js';
import { baseHazard, factorContributions, fmt, type FeatureValues } from './rules.js';

/** What the scorer needs of a model; the adapter in src/model implements it. */
export interface RiskModel {
  version: string;
  /** Features the model learned from data; rules cover the rest. */
  learnedFeatures: ReadonlySet<string>;
  /** Probability of a risky change, and optionally each learned feature's push on it (signed). */
  predict(features: FeatureValues): { probability: number; contributions?: Record<string, number> };
}

export interface ScoreInput {
  features: FeatureValues;
  findings: readonly Finding[];
  thresholds: Thresholds;
  /** Finding kinds that block whatever the score says. */
  blockingFindings: ReadonlySet<FindingKind>;
  model?: RiskModel | undefined;
}

export interface ScoreResult {
  score: number;
  level: RiskLevel;
  scorer: 'model' | 'rules';
  modelVersion?: string;
  /** Why the model could not be used, when it could not. */
  modelError?: string;
  /** The few factors that pushed the score most, in plain words, strongest first. */
  reasons: string[];
  /** Every hard rule that fired. */
  hardRules: string[];
}

const maxReasons = 4;
const round = (n: number) => Math.round(n * 1000) / 1000;

function describeModelContributions(
  contributions: Record<string, number> | undefined,
  features: FeatureValues,
): string[] {
  if (!contributions) return [];
  return Object.entries(contributions)
    .filter(([, push]) => push > 0.01)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 2)
    .map(([name, push]) => {
      const value = features[name];
      const shown = value === undefined || value < 0 ? 'unknown' : fmt(value);
      return `${name.replace(/_/g, ' ')} = ${shown} (model: +${Math.round(push * 100)} points)`;
    });
}

export function scoreRollout(input: ScoreInput): ScoreResult {
  // A credential carries the severity its policy gave it; other findings block when their kind is listed.
  const hardRules = input.findings
    .filter((f) => (f.severity ? f.severity === 'block' : input.blockingFindings.has(f.kind)))
    .map((f) => `blocked by rule: ${f.message}`);

  let scorer: 'model' | 'rules' = 'rules';
  let score: number;
  let reasons: string[];
  let modelError: string | undefined;
  let modelVersion: string | undefined;

  let modelResult: ReturnType<RiskModel['predict']> | undefined;
  if (input.model) {
    try {
      modelResult = input.model.predict(input.features);
      if (!Number.isFinite(modelResult.probability) || modelResult.probability < 0 || modelResult.probability > 1) {
        throw new Error(`the model returned ${modelResult.probability}, not a probability`);
      }
    } catch (err) {
      modelResult = undefined;
      modelError = err instanceof Error ? err.message : String(err);
    }
  }

  if (input.model && modelResult) {
    scorer = 'model';
    modelVersion = input.model.version;
    const rest = factorContributions(input.features, input.model.learnedFeatures);
    const hazard = rest.reduce((sum, c) => sum + c.hazard, 0);
    score = 1 - (1 - modelResult.probability) * Math.exp(-hazard);
    const modelReasons = describeModelContributions(modelResult.contributions, input.features);
    const modelSummary =
      modelResult.probability >= 0.3
        ? [
            `the model rates the change itself risky (${Math.round(modelResult.probability * 100)} %)${modelReasons.length ? `: ${modelReasons.join(', ')}` : ''}`,
          ]
        : [];
    reasons = [...modelSummary, ...rest.map((c) => c.reason)];
  } else {
    const all = factorContributions(input.features, new Set());
    const hazard = baseHazard + all.reduce((sum, c) => sum + c.hazard, 0);
    score = 1 - Math.exp(-hazard);
    reasons = all.map((c) => c.reason);
  }

  score = round(Math.min(1, Math.max(0, score)));
  let level = levelFor(score, input.thresholds);
  if (hardRules.length > 0) level = 'block';
  if (reasons.length === 0) reasons = ['no risk factor stands out'];
  const result: ScoreResult = { score, level, scorer, reasons: reasons.slice(0, maxReasons), hardRules };
  if (modelVersion !== undefined) result.modelVersion = modelVersion;
  if (modelError !== undefined) result.modelError = modelError;
  return result;
}
