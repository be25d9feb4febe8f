// What may be recorded of a reading that can only be zero or more.
import { describe, expect, it } from 'vitest';
import { nonNegativeReading } from './types.js';

describe('nonNegativeReading', () => {
  it.each<[number, number | undefined, RegExp | undefined]>([
    [0.02, 0.02, undefined],
    [0, 0, undefined],
    [-0.003, 0, /read as -0\.003 .*recorded as 0/],
    [-2, 0, /read as -2 /],
    [Number.NaN, undefined, /read as NaN; not recorded/],
    [Number.POSITIVE_INFINITY, undefined, /read as \+Inf; not recorded/],
  ])('%d → %s', (raw, value, note) => {
    const r = nonNegativeReading(raw, 'the error rate');
    expect(r.value).toBe(value);
    if (note) expect(r.note).toMatch(note);
    else expect(r.note).toBeUndefined();
  });
});
