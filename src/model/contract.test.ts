// The feature contract: order and names as docs/contracts.md lists them, and the vector fill rules.
import { describe, expect, it } from 'vitest';

import {
  FEATURE_CONTRACT,
  FEATURE_CONTRACT_VERSION,
  FEATURE_NAMES,
  LEARNED_FEATURES,
  MISSING_VALUE,
  toContractRows,
  toFeatureVector,
} from './contract.js';

describe('feature contract v1', () => {
  it('lists the 25 features in the documented order', () => {
    expect(FEATURE_CONTRACT_VERSION).toBe(1);
    expect(FEATURE_NAMES).toEqual([
      'files_changed',
      'directories_changed',
      'subsystems_changed',
      'lines_added',
      'lines_deleted',
      'change_entropy',
      'is_fix',
      'authors',
      'author_experience',
      'test_coverage',
      'dependencies_changed',
      'change_type',
      'hour_of_day',
      'day_of_week',
      'recent_rollbacks',
      'recent_failures',
      'images_changed',
      'env_changed',
      'config_changed',
      'resources_changed',
      'probes_changed',
      'replicas_changed',
      'risky_findings',
      'error_rate_before',
      'latency_p99_before',
    ]);
    for (const feature of FEATURE_CONTRACT) {
      expect(feature.unit).not.toBe('');
      expect(feature.description).not.toBe('');
    }
  });

  it('learns only change-annotation features from real data, and not authors', () => {
    for (const name of LEARNED_FEATURES) {
      expect(FEATURE_CONTRACT.find((feature) => feature.name === name)?.source).toBe('change annotation');
    }
    expect(LEARNED_FEATURES).not.toContain('authors');
  });
});

describe('toFeatureVector', () => {
  const cases: { name: string; input: Parameters<typeof toFeatureVector>[0]; expected: Record<number, number> }[] = [
    { name: 'nothing known', input: {}, expected: { 0: -1, 12: -1, 24: -1 } },
    {
      name: 'values in their slots',
      input: { files_changed: 3, hour_of_day: 14, latency_p99_before: 0.25 },
      expected: { 0: 3, 12: 14, 24: 0.25 },
    },
    { name: 'zero is a value', input: { is_fix: 0 }, expected: { 6: 0 } },
    {
      name: 'NaN and Infinity are missing',
      input: { lines_added: NaN, lines_deleted: Infinity },
      expected: { 3: -1, 4: -1 },
    },
  ];
  it.each(cases)('$name', ({ input, expected }) => {
    const vector = toFeatureVector(input);
    expect(vector).toHaveLength(25);
    for (const [index, value] of Object.entries(expected)) expect(vector[Number(index)]).toBe(value);
    expect(vector.every((value) => value === MISSING_VALUE || value >= 0)).toBe(true);
  });
});

describe('toContractRows', () => {
  it('moves named columns into contract order and fills the rest', () => {
    const rows = toContractRows(['lines_added', 'files_changed'], [[10, 2]]);
    expect(rows?.[0]?.slice(0, 5)).toEqual([2, -1, -1, 10, -1]);
    expect(rows?.[0]).toHaveLength(25);
  });
  it('refuses columns outside the contract', () => {
    expect(toContractRows(['files_changed', 'nf'], [[1, 2]])).toBeUndefined();
  });
});
