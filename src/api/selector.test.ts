// Label selectors match as metav1.LabelSelector does, the empty selector included.
import { describe, expect, it } from 'vitest';
import { labelSelectorSchema, selectorMatches, type LabelSelector } from './selector.js';

const app = { app: 'web', tier: 'frontend' };

describe('selectorMatches', () => {
  it.each<[string, LabelSelector, Record<string, string>, boolean]>([
    ['the empty selector matches any labels', {}, app, true],
    ['the empty selector matches no labels at all', {}, {}, true],
    ['empty matchLabels and matchExpressions match everything', { matchLabels: {}, matchExpressions: [] }, app, true],
    ['matchLabels equal', { matchLabels: { app: 'web' } }, app, true],
    ['matchLabels all must hold', { matchLabels: { app: 'web', tier: 'backend' } }, app, false],
    ['matchLabels missing label', { matchLabels: { team: 'a' } }, app, false],
    ['matchLabels value is compared exactly', { matchLabels: { app: 'Web' } }, app, false],
    [
      'In matches a listed value',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['frontend', 'x'] }] },
      app,
      true,
    ],
    [
      'In fails on another value',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['backend'] }] },
      app,
      false,
    ],
    [
      'In fails when the label is missing',
      { matchExpressions: [{ key: 'team', operator: 'In', values: [''] }] },
      app,
      false,
    ],
    [
      'In with an empty value matches an empty label',
      { matchExpressions: [{ key: 'e', operator: 'In', values: [''] }] },
      { e: '' },
      true,
    ],
    [
      'NotIn passes when the label is missing',
      { matchExpressions: [{ key: 'team', operator: 'NotIn', values: ['a'] }] },
      app,
      true,
    ],
    [
      'NotIn fails on a listed value',
      { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['web'] }] },
      app,
      false,
    ],
    [
      'NotIn passes on another value',
      { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['api'] }] },
      app,
      true,
    ],
    ['Exists on a present label', { matchExpressions: [{ key: 'app', operator: 'Exists' }] }, app, true],
    ['Exists on a missing label', { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, app, false],
    ['DoesNotExist on a missing label', { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, app, true],
    ['DoesNotExist on a present label', { matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, app, false],
    [
      'matchLabels and matchExpressions must both hold',
      { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] },
      app,
      false,
    ],
    [
      'In without values matches nothing',
      { matchExpressions: [{ key: 'app', operator: 'In', values: [] }] },
      app,
      false,
    ],
    ['NotIn without values matches everything', { matchExpressions: [{ key: 'app', operator: 'NotIn' }] }, app, true],
    [
      'labels from the prototype do not count',
      { matchExpressions: [{ key: 'toString', operator: 'Exists' }] },
      {},
      false,
    ],
  ])('%s', (_name, selector, labels, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });

  it('treats missing labels as no labels', () => {
    expect(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' }] })).toBe(true);
  });
});

describe('labelSelectorSchema', () => {
  it.each([
    [{}, true],
    [{ matchLabels: { a: 'b' } }, true],
    [{ matchExpressions: [{ key: 'a', operator: 'In', values: ['b'] }] }, true],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists' }] }, true],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: [] }] }, true],
    [{ matchExpressions: [{ key: 'a', operator: 'In' }] }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn', values: [] }] }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists', values: ['b'] }] }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'Equals', values: ['b'] }] }, false],
    [{ matchExpressions: [{ key: '', operator: 'Exists' }] }, false],
    [{ matchLabels: { a: 1 } }, false],
  ])('%j is valid: %s', (selector, valid) => {
    expect(labelSelectorSchema.safeParse(selector).success).toBe(valid);
  });
});
