// This Deployment's rollbacks and failures in the 30 days before now, from its assessments.
import { describe, expect, it } from 'vitest';
import { historyFeatures, historyWindowMs, type PastOutcome } from './history.js';

const now = new Date('2024-06-30T12:00:00Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * 24 * 60 * 60 * 1000);

describe('historyFeatures', () => {
  it('is zero without history', () => {
    expect(historyFeatures([], now)).toEqual({ recent_rollbacks: 0, recent_failures: 0 });
  });

  it('has a window of 30 days', () => {
    expect(historyWindowMs).toBe(30 * 24 * 3600 * 1000);
  });

  it.each<[string, PastOutcome[], number, number]>([
    ['one rollback yesterday', [{ outcome: 'rolled-back', at: daysAgo(1) }], 1, 0],
    ['one failure yesterday', [{ outcome: 'failed', at: daysAgo(1) }], 0, 1],
    [
      'successes, running and superseded rollouts do not count',
      [
        { outcome: 'succeeded', at: daysAgo(1) },
        { outcome: 'running', at: daysAgo(1) },
        { outcome: 'superseded', at: daysAgo(2) },
        { outcome: undefined, at: daysAgo(2) },
      ],
      0,
      0,
    ],
    ['exactly 30 days ago still counts', [{ outcome: 'rolled-back', at: daysAgo(30) }], 1, 0],
    [
      'older than 30 days does not',
      [
        { outcome: 'rolled-back', at: new Date(daysAgo(30).getTime() - 1) },
        { outcome: 'failed', at: daysAgo(45) },
      ],
      0,
      0,
    ],
    ['an outcome without a time does not count', [{ outcome: 'failed', at: undefined }], 0, 0],
    [
      'a mix',
      [
        { outcome: 'rolled-back', at: daysAgo(2) },
        { outcome: 'rolled-back', at: daysAgo(29) },
        { outcome: 'rolled-back', at: daysAgo(31) },
        { outcome: 'failed', at: daysAgo(3) },
        { outcome: 'failed', at: daysAgo(40) },
        { outcome: 'succeeded', at: daysAgo(1) },
      ],
      2,
      1,
    ],
    [
      'outcome names are exact',
      [
        { outcome: 'RolledBack', at: daysAgo(1) },
        { outcome: 'Failed', at: daysAgo(1) },
      ],
      0,
      0,
    ],
  ])('%s', (_what, past, rollbacks, failures) => {
    expect(historyFeatures(past, now)).toEqual({ recent_rollbacks: rollbacks, recent_failures: failures });
  });
});
