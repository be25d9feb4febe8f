// Field paths as kubectl prints them, and zod's issues in plain words.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fieldPath, formatFieldErrors, parseFields } from './issues.js';

describe('fieldPath', () => {
  it.each<[string, PropertyKey[], string]>([
    ['spec', [], 'spec'],
    ['spec', ['thresholds', 'monitor'], 'spec.thresholds.monitor'],
    ['spec', ['selector', 'matchExpressions', 0, 'values', 1], 'spec.selector.matchExpressions[0].values[1]'],
    ['', ['mode'], 'mode'],
  ])('%s + %j is %s', (root, path, text) => {
    expect(fieldPath(root, path)).toBe(text);
  });
});

describe('parseFields messages', () => {
  const schema = z.object({
    name: z.string().min(1),
    count: z.int().min(1).max(5),
    ratio: z.number().gt(0).lt(1),
    list: z.array(z.string()).min(1).max(2),
    mode: z.enum(['a', 'b']),
    flag: z.boolean(),
    when: z.iso.datetime(),
  });
  const valid = { name: 'n', count: 1, ratio: 0.5, list: ['x'], mode: 'a', flag: true, when: '2025-01-31T12:00:00Z' };

  it.each<[string, Record<string, unknown>, string]>([
    ['a missing field', { name: undefined }, 'x.name: is required'],
    ['an empty string', { name: '' }, 'x.name: must not be empty'],
    ['a wrong type', { flag: 'yes' }, 'x.flag: must be true or false, not "yes"'],
    ['an object for a number', { ratio: {} }, 'x.ratio: must be a number, not an object'],
    ['a list for a string', { name: ['a'] }, 'x.name: must be text, not a list'],
    ['a fraction for a whole number', { count: 1.5 }, 'x.count: must be a whole number, not 1.5'],
    ['below an inclusive minimum', { count: 0 }, 'x.count: must be at least 1'],
    ['above an inclusive maximum', { count: 6 }, 'x.count: must be at most 5'],
    ['at an exclusive minimum', { ratio: 0 }, 'x.ratio: must be greater than 0'],
    ['at an exclusive maximum', { ratio: 1 }, 'x.ratio: must be less than 1'],
    ['too few items', { list: [] }, 'x.list: must have at least 1 item'],
    ['too many items', { list: ['a', 'b', 'c'] }, 'x.list: must have at most 2 items'],
    ['a value outside the enum', { mode: 'c' }, 'x.mode: must be one of a, b, not "c"'],
    ['a bad time', { when: 'yesterday' }, 'x.when: must be a time like 2025-01-31T12:00:00Z'],
  ])('%s', (_name, patch, message) => {
    const result = parseFields(schema, { ...valid, ...patch }, 'x');
    expect(result.ok ? '' : formatFieldErrors(result.errors)).toBe(message);
  });

  it('passes valid input through', () => {
    expect(parseFields(schema, valid, 'x')).toEqual({ ok: true, value: valid });
  });
});
