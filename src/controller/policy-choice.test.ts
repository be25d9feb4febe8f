// Which of several matching policies governs a Deployment, and the sentence that tells people why.
import { describe, expect, it } from 'vitest';
import { choosePolicy, comparePolicies, describeChoice, type CandidatePolicy } from './policy-choice.js';

const at = (iso: string) => new Date(iso);
const policy = (name: string, priority: number, createdAt: Date | undefined): CandidatePolicy => ({
  name,
  priority,
  createdAt,
});

describe('choosePolicy', () => {
  it('chooses nothing from no candidates', () => {
    expect(choosePolicy([])).toBeUndefined();
  });

  it.each<[string, CandidatePolicy[], string, string[]]>([
    ['a single policy', [policy('only', 0, at('2024-01-01T00:00:00Z'))], 'only', []],
    [
      'the highest priority, however young',
      [
        policy('old', 0, at('2023-01-01T00:00:00Z')),
        policy('urgent', 10, at('2024-06-01T00:00:00Z')),
        policy('low', -5, at('2022-01-01T00:00:00Z')),
      ],
      'urgent',
      ['old', 'low'],
    ],
    [
      'on equal priority, the oldest',
      [policy('b-new', 1, at('2024-03-01T00:00:00Z')), policy('z-old', 1, at('2024-01-01T00:00:00Z'))],
      'z-old',
      ['b-new'],
    ],
    [
      'on equal priority and age, the name that sorts first',
      [policy('beta', 1, at('2024-01-01T00:00:00Z')), policy('alpha', 1, at('2024-01-01T00:00:00Z'))],
      'alpha',
      ['beta'],
    ],
    [
      'a policy without a creation time counts as the youngest',
      [policy('a-unknown', 1, undefined), policy('b-dated', 1, at('2024-01-01T00:00:00Z'))],
      'b-dated',
      ['a-unknown'],
    ],
    [
      'two without creation time fall back to the name',
      [policy('m', 0, undefined), policy('k', 0, undefined)],
      'k',
      ['m'],
    ],
    [
      'negative priorities still order',
      [policy('minus-ten', -10, at('2020-01-01T00:00:00Z')), policy('minus-one', -1, at('2024-01-01T00:00:00Z'))],
      'minus-one',
      ['minus-ten'],
    ],
    [
      'the extreme int32 priorities',
      [policy('min', -2147483648, at('2020-01-01T00:00:00Z')), policy('max', 2147483647, at('2024-01-01T00:00:00Z'))],
      'max',
      ['min'],
    ],
  ])('%s', (_what, candidates, chosen, overruled) => {
    const choice = choosePolicy(candidates);
    expect(choice?.chosen.name).toBe(chosen);
    expect(choice?.overruled.map((p) => p.name)).toEqual(overruled);
  });

  it('chooses the same whatever order the candidates come in, and leaves the input alone', () => {
    const candidates = [
      policy('c', 1, at('2024-01-02T00:00:00Z')),
      policy('a', 1, at('2024-01-02T00:00:00Z')),
      policy('b', 2, at('2024-01-03T00:00:00Z')),
      policy('d', 1, at('2024-01-01T00:00:00Z')),
    ];
    const snapshot = candidates.map((c) => c.name);
    const orders = [
      candidates,
      [...candidates].reverse(),
      [candidates[2], candidates[0], candidates[3], candidates[1]],
    ];
    for (const order of orders) {
      const choice = choosePolicy(order.filter((c): c is CandidatePolicy => c !== undefined));
      expect([choice?.chosen.name, ...(choice?.overruled.map((p) => p.name) ?? [])]).toEqual(['b', 'd', 'a', 'c']);
    }
    expect(candidates.map((c) => c.name)).toEqual(snapshot);
  });

  it('keeps extra fields of the candidates', () => {
    const choice = choosePolicy([{ ...policy('x', 0, undefined), spec: { mode: 'advisory' } }]);
    expect(choice?.chosen.spec).toEqual({ mode: 'advisory' });
  });

  it('compares a policy with itself as equal', () => {
    const p = policy('same', 3, at('2024-01-01T00:00:00Z'));
    expect(comparePolicies(p, { ...p })).toBe(0);
  });
});

describe('describeChoice', () => {
  it('names the governing policy and the one ignored', () => {
    const choice = choosePolicy([
      policy('strict', 5, at('2024-01-01T00:00:00Z')),
      policy('team-default', 0, at('2023-01-01T00:00:00Z')),
    ]);
    if (!choice) throw new Error('expected a choice');
    expect(describeChoice(choice)).toBe(
      'Several DeploymentRiskPolicies cover this Deployment; strict (priority 5) governs it and team-default (priority 0) is ignored. The highest spec.priority wins, then the oldest policy, then the name that sorts first.',
    );
  });

  it('lists several ignored policies in the order they lost', () => {
    const choice = choosePolicy([
      policy('c', 0, at('2024-02-01T00:00:00Z')),
      policy('a', 1, at('2024-01-01T00:00:00Z')),
      policy('b', 0, at('2024-01-01T00:00:00Z')),
    ]);
    if (!choice) throw new Error('expected a choice');
    expect(describeChoice(choice)).toBe(
      'Several DeploymentRiskPolicies cover this Deployment; a (priority 1) governs it and b (priority 0), c (priority 0) are ignored. The highest spec.priority wins, then the oldest policy, then the name that sorts first.',
    );
  });
});
