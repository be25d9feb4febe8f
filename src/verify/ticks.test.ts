// Tests for where a policy's verification intervals begin: a phase of its own, the same in every process.
import { describe, expect, it } from 'vitest';
import { tickAt, tickClockFor, tickStartMs } from './ticks.js';

const interval = 10_000;

describe('tickClockFor', () => {
  it('gives a policy the same phase every time, within the interval', () => {
    const a = tickClockFor('team-a/web', interval);
    expect(tickClockFor('team-a/web', interval)).toEqual(a);
    expect(a.phaseMs).toBeGreaterThanOrEqual(0);
    expect(a.phaseMs).toBeLessThan(interval);
    expect(Number.isInteger(a.phaseMs)).toBe(true);
  });

  it('keeps the namespace in the key: the same policy name in two namespaces is two phases', () => {
    expect(tickClockFor('team-a/web', interval).phaseMs).not.toBe(tickClockFor('team-b/web', interval).phaseMs);
  });

  it('spreads 100 policies over the interval: no tenth of it holds more than a quarter of them', () => {
    const tenths = new Array<number>(10).fill(0);
    for (let i = 0; i < 100; i++) {
      const { phaseMs } = tickClockFor(`ns-${i}/policy-${i % 4}`, interval);
      const tenth = Math.floor(phaseMs / (interval / 10));
      tenths[tenth] = (tenths[tenth] ?? 0) + 1;
    }
    expect(Math.max(...tenths)).toBeLessThanOrEqual(25);
    expect(tenths.filter((n) => n > 0).length).toBeGreaterThanOrEqual(8);
  });

  it.each([
    [1, 1],
    [0, 1],
    [0.5, 1],
    [2500.7, 2500],
  ])('an interval of %s ms is one of %s ms, so a tick is always a whole number', (given, used) => {
    const clock = tickClockFor('team-a/web', given);
    expect(clock.intervalMs).toBe(used);
    expect(clock.phaseMs).toBeLessThan(used);
  });
});

describe('tickAt and tickStartMs', () => {
  const clock = { intervalMs: interval, phaseMs: 3_000 };

  it.each<[string, number, number]>([
    ['the phase itself begins tick 0', 3_000, 0],
    ['a millisecond before it is still the tick before', 2_999, -1],
    ['the last millisecond of tick 0', 12_999, 0],
    ['the next tick begins a whole interval later', 13_000, 1],
    ['a moment long after', 1_764_000_007_500, 176_400_000],
  ])('%s', (_name, ms, tick) => {
    expect(tickAt(clock, ms)).toBe(tick);
    expect(tickStartMs(clock, tick)).toBeLessThanOrEqual(ms);
    expect(tickStartMs(clock, tick + 1)).toBeGreaterThan(ms);
  });

  it('with no phase, ticks are plain multiples of the interval', () => {
    const plain = { intervalMs: interval, phaseMs: 0 };
    expect(tickAt(plain, 25_000)).toBe(2);
    expect(tickStartMs(plain, 3)).toBe(30_000);
  });
});
