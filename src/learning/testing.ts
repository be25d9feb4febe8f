// Synthetic finished rollouts for the learning tests (unit and integration): seeded, so every run sees the same
// outcomes. Risky rollouts are large, poorly tested changes; a share of outcomes is flipped as noise, as in a
// real cluster where a small change can still fail and a big one can go fine.
import type { AssessmentOutcome } from '../api/assessment.js';
import type { AssessmentObject } from '../api/objects.js';
import type { FeatureName } from '../model/contract.js';
import { createRandom } from '../model/random.js';

export interface SyntheticRollout {
  readonly name: string;
  readonly outcome: AssessmentOutcome;
  readonly features: Partial<Record<FeatureName, number>>;
  readonly assessedAt: string;
}

export interface SyntheticOptions {
  readonly count: number;
  readonly seed?: number;
  /** Share of finished outcomes flipped (risky ↔ safe). */
  readonly noise?: number;
  /** When the first rollout was assessed; one an hour after it. */
  readonly start?: Date;
  /** Every n-th rollout is still running, and the one after it superseded (not examples); 0 for none. */
  readonly unfinishedEvery?: number;
  /** Multiplies lines_added, to play drift. */
  readonly scale?: number;
  readonly prefix?: string;
}

export function syntheticRollouts(options: SyntheticOptions): SyntheticRollout[] {
  const random = createRandom(options.seed ?? 1);
  const start = (options.start ?? new Date('2025-01-01T00:00:00Z')).getTime();
  const noise = options.noise ?? 0.1;
  const scale = options.scale ?? 1;
  const every = options.unfinishedEvery ?? 0;
  return Array.from({ length: options.count }, (_, i) => {
    const risky = random() < 0.4;
    const features: Partial<Record<FeatureName, number>> = {
      lines_added: Math.round((risky ? 400 + random() * 1600 : 5 + random() * 300) * scale),
      lines_deleted: Math.round(random() * 200),
      files_changed: 1 + Math.floor(random() * (risky ? 40 : 10)),
      test_coverage: Math.round(risky ? 10 + random() * 45 : 50 + random() * 45),
      change_type: Math.floor(random() * 4),
      is_fix: random() < 0.3 ? 1 : 0,
      hour_of_day: Math.floor(random() * 24),
      day_of_week: Math.floor(random() * 7),
    };
    const flipped = random() < noise ? !risky : risky;
    let outcome: AssessmentOutcome = flipped ? (random() < 0.7 ? 'rolled-back' : 'failed') : 'succeeded';
    if (every > 0 && i % every === every - 1) outcome = 'running';
    if (every > 0 && i % every === 0 && i > 0) outcome = 'superseded';
    return {
      name: `${options.prefix ?? 'app'}-${i + 1}`,
      outcome,
      features,
      assessedAt: new Date(start + i * 3_600_000).toISOString(),
    };
  });
}

/** As RolloutAssessment objects, as the controller's cache holds them. */
export function assessmentObjects(rollouts: readonly SyntheticRollout[], namespace = 'shop'): AssessmentObject[] {
  return rollouts.map((rollout, i) => ({
    apiVersion: 'rollguard.io/v1alpha1',
    kind: 'RolloutAssessment',
    metadata: { name: rollout.name, namespace },
    spec: { deployment: 'app', revision: i + 1, podTemplateHash: `h${i + 1}`, policy: 'default' },
    status: {
      outcome: rollout.outcome,
      features: rollout.features,
      assessedAt: rollout.assessedAt,
    },
  }));
}
