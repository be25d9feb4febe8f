// Policies are parsed once per version, and the governing policy is one pure choice over the parsed ones.
import { describe, expect, it } from 'vitest';
import type { PolicyObject } from '../api/objects.js';
import { governingPolicy } from './policy-choice.js';
import { parsedPolicies, parsedPolicy } from './policy-specs.js';

function policy(name: string, spec: unknown, extra: Partial<NonNullable<PolicyObject['metadata']>> = {}): PolicyObject {
  return {
    metadata: {
      name,
      namespace: 'shop',
      resourceVersion: '1',
      creationTimestamp: new Date('2026-01-01T00:00:00Z'),
      ...extra,
    },
    spec,
  };
}

const web = { app: 'web' };

describe('parsedPolicy', () => {
  it('parses one version of one object once', () => {
    const p = policy('guard', { selector: {} });
    const first = parsedPolicy(p);
    expect(first.ok).toBe(true);
    expect(parsedPolicy(p)).toBe(first);
  });

  it('parses again when the object carries another resourceVersion, or none', () => {
    const p = policy('guard', { selector: {} });
    const first = parsedPolicy(p);
    p.metadata = { ...p.metadata, resourceVersion: '2' };
    expect(parsedPolicy(p)).not.toBe(first);
    const unversioned: PolicyObject = { metadata: { name: 'guard', namespace: 'shop' }, spec: { selector: {} } };
    expect(parsedPolicy(unversioned)).not.toBe(parsedPolicy(unversioned));
  });

  it('explains an invalid spec', () => {
    const parsed = parsedPolicy(policy('bad', { selector: {}, mode: 'sometimes' }));
    expect(parsed.ok).toBe(false);
  });
});

describe('governingPolicy', () => {
  it.each<[string, PolicyObject[], string | undefined, boolean]>([
    ['no policies', [], undefined, false],
    ['a policy whose selector matches', [policy('guard', { selector: { matchLabels: web } })], 'guard', false],
    [
      'a policy for other Deployments',
      [policy('other', { selector: { matchLabels: { app: 'db' } } })],
      undefined,
      false,
    ],
    ['an invalid policy', [policy('bad', { selector: {}, mode: 'sometimes' })], undefined, false],
    [
      'a policy being deleted',
      [policy('going', { selector: {} }, { deletionTimestamp: new Date('2026-02-01T00:00:00Z') })],
      undefined,
      false,
    ],
    [
      'two policies: the higher priority governs, and the other is named',
      [policy('low', { selector: {} }), policy('high', { selector: {}, priority: 5 })],
      'high',
      true,
    ],
  ])('%s', (_what, policies, governs, conflict) => {
    const choice = governingPolicy(parsedPolicies(policies), web);
    expect(choice.policy?.object.metadata?.name).toBe(governs);
    expect(choice.conflict !== undefined).toBe(conflict);
    if (conflict) expect(choice.conflict).toContain('low (priority 0)');
  });
});
