// RolloutAssessments as training data. A finished assessment is a labelled example: rolled back or failed =
// risky (1), succeeded (verified and kept) = safe (0). Running and superseded ones are not: the first has no
// outcome yet, the second never ran long enough to have one. The features are the ones the assessment recorded
// (status.features), so a retrained model learns from exactly what the scorer saw.
import type { AssessmentObject } from '../api/objects.js';
import { isFeatureName, toFeatureVector, type FeatureName } from '../model/contract.js';

export type FinishedOutcome = 'succeeded' | 'rolled-back' | 'failed';

export interface LearningExample {
  /** namespace/name of the RolloutAssessment. */
  readonly key: string;
  readonly outcome: FinishedOutcome;
  /** 1 = risky (rolled back or failed), 0 = safe (succeeded). */
  readonly label: 0 | 1;
  /** The recorded features that belong to the contract; absent ones are missing. */
  readonly features: Partial<Record<FeatureName, number>>;
  /** The same in contract order, missing = -1: a model's input row. */
  readonly row: readonly number[];
  /** When the rollout was assessed (status.assessedAt, else metadata.creationTimestamp), epoch ms. */
  readonly time: number;
  /**
   * When the outcome was known, epoch ms: the latest of `time`, verification.completedAt and the actions'
   * times. New outcomes are counted by this, not by `time`: a rollout assessed before the last training may
   * finish after it, and must then count as new.
   */
  readonly outcomeAt: number;
}

/** The label of an outcome; undefined when it is not a finished rollout. */
export function labelOf(outcome: string | undefined): 0 | 1 | undefined {
  switch (outcome) {
    case 'rolled-back':
    case 'failed':
      return 1;
    case 'succeeded':
      return 0;
    default:
      return undefined;
  }
}

function epochMs(value: unknown): number | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  if (typeof value !== 'string' || value === '') return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** When an assessment was made: status.assessedAt, else when the object was created; undefined if neither. */
export function timeOf(assessment: AssessmentObject): number | undefined {
  return epochMs(assessment.status?.assessedAt) ?? epochMs(assessment.metadata?.creationTimestamp);
}

/**
 * The contract features an assessment recorded. Names outside the contract (from a newer rollguard, or typed by
 * hand) and values that are not finite numbers >= 0 are left out, so they are missing rather than wrong.
 */
export function featuresOf(assessment: AssessmentObject): Partial<Record<FeatureName, number>> {
  const recorded: unknown = assessment.status?.features;
  const features: Partial<Record<FeatureName, number>> = {};
  if (typeof recorded !== 'object' || recorded === null) return features;
  for (const [name, value] of Object.entries(recorded)) {
    if (isFeatureName(name) && typeof value === 'number' && Number.isFinite(value) && value >= 0) {
      features[name] = value;
    }
  }
  return features;
}

function keyOf(assessment: AssessmentObject): string {
  return `${assessment.metadata?.namespace ?? ''}/${assessment.metadata?.name ?? ''}`;
}

function outcomeTime(assessment: AssessmentObject, time: number): number {
  let latest = time;
  const status = assessment.status;
  // The cache holds what the API server has, which a person may have edited: read defensively.
  const actions: unknown[] = Array.isArray(status?.actions) ? status.actions : [];
  const times: unknown[] = actions.map((action) =>
    typeof action === 'object' && action !== null ? (action as { at?: unknown }).at : undefined,
  );
  for (const at of [status?.verification?.completedAt, ...times]) {
    const ms = epochMs(at);
    if (ms !== undefined && ms > latest) latest = ms;
  }
  return latest;
}

function byTime(a: { time: number; key: string }, b: { time: number; key: string }): number {
  return a.time - b.time || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}

/**
 * The labelled examples among the assessments, oldest first (ties by key, so the order never depends on the
 * cache's). Assessments without any time are left out: they cannot be placed in the time-ordered holdout.
 */
export function examplesFrom(assessments: readonly AssessmentObject[]): LearningExample[] {
  const examples: LearningExample[] = [];
  for (const assessment of assessments) {
    const outcome = assessment.status?.outcome;
    const label = labelOf(outcome);
    const time = timeOf(assessment);
    if (label === undefined || time === undefined) continue;
    const features = featuresOf(assessment);
    examples.push({
      key: keyOf(assessment),
      outcome: outcome as FinishedOutcome,
      label,
      features,
      row: toFeatureVector(features),
      time,
      outcomeAt: outcomeTime(assessment, time),
    });
  }
  return examples.sort(byTime);
}

/**
 * The model inputs of the newest `limit` assessed rollouts, whatever their outcome (drift is about what the
 * model is asked to score, running rollouts included), oldest first. An assessment counts once rollguard has
 * assessed it (assessedAt or features recorded).
 */
export function recentRows(assessments: readonly AssessmentObject[], limit: number): number[][] {
  const assessed: { time: number; key: string; row: number[] }[] = [];
  for (const assessment of assessments) {
    const status = assessment.status;
    if (status?.assessedAt === undefined && status?.features === undefined) continue;
    const time = timeOf(assessment);
    if (time === undefined) continue;
    assessed.push({ time, key: keyOf(assessment), row: toFeatureVector(featuresOf(assessment)) });
  }
  if (limit <= 0) return [];
  return assessed
    .sort(byTime)
    .slice(-limit)
    .map((entry) => entry.row);
}

/** Outcomes known after `through` (epoch ms); all of them when there is no previous training. */
export function newOutcomes(examples: readonly LearningExample[], through: number | undefined): number {
  return through === undefined ? examples.length : examples.filter((example) => example.outcomeAt > through).length;
}

/** The newest outcome time among examples: what a model trained on them has seen up to. */
export function latestOutcome(examples: readonly LearningExample[]): number | undefined {
  let latest: number | undefined;
  for (const example of examples) if (latest === undefined || example.outcomeAt > latest) latest = example.outcomeAt;
  return latest;
}
