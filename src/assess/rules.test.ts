// The rule-based risk factors, one at a time: when each one fires, how much hazard it adds, and the reason a
// person reads.
import { describe, expect, it } from 'vitest';
import { baseHazard, factorContributions, riskFactors, type FeatureValues } from './rules.js';

const none = new Set<string>();

describe('factorContributions: each factor', () => {
  type Row = [features: FeatureValues, hazard: number, reason: string];
  it.each<Row>([
    [{ lines_added: 900, lines_deleted: 100 }, 0.22, 'large change: 1,000 lines added or deleted'],
    [{ lines_added: 10_000 }, 0.44, 'large change: 10,000 lines added or deleted'],
    [{ files_changed: 50 }, 0.18, '50 files changed'],
    [{ subsystems_changed: 2 }, 0.05, 'change spread across 2 subsystems and 0 directories'],
    [{ subsystems_changed: 1, directories_changed: 13 }, 0.25, 'change spread across 1 subsystems and 13 directories'],
    [{ directories_changed: 100 }, 0.25, 'change spread across 0 subsystems and 100 directories'],
    [{ change_entropy: 3.5 }, 0.09, 'change scattered across files (entropy 3.5 bits)'],
    [{ change_type: 2, is_fix: 1 }, 0.2, 'a hotfix'],
    [{ change_type: 4 }, 0.08, 'a config'],
    [{ change_type: 5 }, 0.08, 'a dependency'],
    [{ change_type: 1, is_fix: 1 }, 0.05, 'a bugfix'],
    [{ is_fix: 1 }, 0.05, 'a fix, and fixes often introduce defects of their own'],
    [{ test_coverage: 30 }, 0.15, 'low test coverage (30 %)'],
    [{ test_coverage: 0 }, 0.3, 'low test coverage (0 %)'],
    [{ test_coverage: 59.5 }, 0.0025, 'low test coverage (59.5 %)'],
    [{ author_experience: 0 }, 0.1, 'author new to the code (0 prior commits)'],
    [{ author_experience: 10 }, 0.05, 'author new to the code (10 prior commits)'],
    [{ dependencies_changed: 2 }, 0.08, '2 dependencies changed'],
    [{ dependencies_changed: 40 }, 0.25, '40 dependencies changed'],
    [{ recent_rollbacks: 1 }, 0.25, 'this Deployment was rolled back 1 times in the last 30 days'],
    [{ recent_rollbacks: 5 }, 0.6, 'this Deployment was rolled back 5 times in the last 30 days'],
    [{ recent_failures: 2 }, 0.3, '2 failed rollouts of this Deployment in the last 30 days'],
    [{ recent_failures: 9 }, 0.45, '9 failed rollouts of this Deployment in the last 30 days'],
    [{ hour_of_day: 12, day_of_week: 6 }, 0.15, 'released at the weekend'],
    [{ hour_of_day: 3, day_of_week: 0 }, 0.15, 'released at the weekend'],
    [{ hour_of_day: 15, day_of_week: 5 }, 0.15, 'released late on a Friday'],
    [{ hour_of_day: 22, day_of_week: 5 }, 0.15, 'released late on a Friday'],
    [{ hour_of_day: 22, day_of_week: 3 }, 0.1, "released out of hours (22:00 in the policy's time zone)"],
    [{ hour_of_day: 19, day_of_week: 1 }, 0.1, "released out of hours (19:00 in the policy's time zone)"],
    [{ hour_of_day: 6, day_of_week: 2 }, 0.1, "released out of hours (6:00 in the policy's time zone)"],
    [{ images_changed: 1 }, 0.05, '1 container images changed'],
    [{ images_changed: 7 }, 0.15, '7 container images changed'],
    [{ env_changed: 2 }, 0.06, '2 environment variables changed'],
    [{ env_changed: 30 }, 0.12, '30 environment variables changed'],
    [{ config_changed: 1 }, 0.1, 'configuration sources (volumes, envFrom) changed'],
    [{ resources_changed: 1 }, 0.05, 'CPU or memory requests or limits changed'],
    [{ probes_changed: 1 }, 0.1, 'health probes changed'],
    [{ risky_findings: 2 }, 0.3, '2 risky settings in the new pod template'],
    [{ risky_findings: 6 }, 0.45, '6 risky settings in the new pod template'],
    [{ error_rate_before: 0.05 }, 0.15, 'the service is already failing 5 % of requests'],
    [{ error_rate_before: 0.5 }, 0.3, 'the service is already failing 50 % of requests'],
    [{ latency_p99_before: 1.5 }, 0.15, 'the service is already slow (p99 1.5 s)'],
    [{ latency_p99_before: 4 }, 0.2, 'the service is already slow (p99 4 s)'],
  ])('%j → hazard %d: %s', (features, hazard, reason) => {
    const contributions = factorContributions(features, none);
    expect(contributions).toHaveLength(1);
    expect(contributions[0]?.reason).toBe(reason);
    expect(contributions[0]?.hazard).toBeCloseTo(hazard, 6);
  });

  it.each<[string, FeatureValues]>([
    ['nothing known', {}],
    ['a change of exactly 100 lines', { lines_added: 60, lines_deleted: 40 }],
    ['5 files', { files_changed: 5 }],
    ['a spread of 3 directories', { subsystems_changed: 1, directories_changed: 3 }],
    ['entropy of 2 bits', { change_entropy: 2 }],
    ['a feature', { change_type: 0, is_fix: 0 }],
    ['a refactor', { change_type: 3 }],
    ['is-fix false', { is_fix: 0 }],
    ['60 % coverage', { test_coverage: 60 }],
    ['an experienced author', { author_experience: 20 }],
    ['no dependencies', { dependencies_changed: 0 }],
    ['a clean history', { recent_rollbacks: 0, recent_failures: 0 }],
    ['Wednesday 10:00', { hour_of_day: 10, day_of_week: 3 }],
    ['Wednesday 07:00', { hour_of_day: 7, day_of_week: 3 }],
    ['Friday 14:00', { hour_of_day: 14, day_of_week: 5 }],
    ['an hour without a day', { hour_of_day: 23 }],
    ['a day without an hour', { day_of_week: 6 }],
    [
      'nothing in the template changed',
      { images_changed: 0, env_changed: 0, config_changed: 0, resources_changed: 0, probes_changed: 0 },
    ],
    ['replicas changed (not a risk factor)', { replicas_changed: 1 }],
    ['no risky findings', { risky_findings: 0 }],
    ['a healthy service', { error_rate_before: 0.01, latency_p99_before: 1 }],
    // -1 is the contract's "missing"; it must never read as 0 % coverage or a brand-new author.
    [
      'every feature missing (-1)',
      Object.fromEntries(riskFactors.flatMap((f) => f.features).map((name) => [name, -1])),
    ],
  ])('no factor fires for %s', (_what, features) => {
    expect(factorContributions(features, none)).toEqual([]);
  });

  // Regression test for a fixed bug (src/assess/rules.ts, the time-of-day factor's reason, lines 120-125): the hazard for a Friday before
  // 15:00 correctly falls through to the out-of-hours rule (06:00 → 0.1), but the reason checks only
  // `day === 5` and says "released late on a Friday" for a release at 06:00 on a Friday morning.
  // Expected: "released out of hours (6:00 in the policy's time zone)".
  it('a Friday-morning release is out of hours, not "late on a Friday"', () => {
    expect(factorContributions({ hour_of_day: 6, day_of_week: 5 }, none)).toEqual([
      {
        features: ['hour_of_day', 'day_of_week'],
        hazard: 0.1,
        reason: "released out of hours (6:00 in the policy's time zone)",
      },
    ]);
  });
});

describe('factorContributions: together', () => {
  const features: FeatureValues = {
    lines_added: 4000,
    lines_deleted: 1000,
    test_coverage: 10,
    images_changed: 1,
    hour_of_day: 10,
    day_of_week: 2,
    probes_changed: 1,
  };

  it('lists the contributing factors strongest first and leaves the zero ones out', () => {
    const contributions = factorContributions(features, none);
    expect(contributions.map((c) => c.reason)).toEqual([
      'large change: 5,000 lines added or deleted',
      'low test coverage (10 %)',
      'health probes changed',
      '1 container images changed',
    ]);
    const hazards = contributions.map((c) => c.hazard);
    expect(hazards).toEqual([...hazards].sort((a, b) => b - a));
  });

  it.each<[string, string[], string[]]>([
    [
      'learned lines added and deleted: the churn factor is the model’s',
      ['lines_added', 'lines_deleted'],
      ['lines_added', 'lines_deleted'],
    ],
    ['learned only lines added: the churn factor still counts', ['lines_added'], []],
    ['learned test coverage and the clock', ['hour_of_day', 'day_of_week', 'test_coverage'], ['test_coverage']],
    ['learned features unrelated to any factor', ['authors'], []],
  ])('a model that %s', (_what, learned, gone) => {
    const remaining = factorContributions(features, new Set(learned)).flatMap((c) => c.features);
    for (const name of gone) expect(remaining).not.toContain(name);
    const all = factorContributions(features, none).flatMap((c) => c.features);
    expect(remaining).toEqual(all.filter((name) => !gone.includes(name)));
  });

  it('has a small base hazard for an undescribed change', () => {
    expect(baseHazard).toBe(0.08);
  });
});
