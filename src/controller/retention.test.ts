import { describe, expect, it } from 'vitest';
import { assessmentsToPrune } from './retention.js';
import type { AssessmentObject } from '../api/objects.js';

const day = 24 * 60 * 60 * 1000;
const now = new Date('2026-11-22T12:00:00Z');

function ra(
  deployment: string,
  revision: number,
  ageDays: number,
  outcome: 'running' | 'succeeded' | 'rolled-back' | undefined,
): AssessmentObject {
  return {
    metadata: {
      namespace: 'shop',
      name: `${deployment}-${revision}`,
      creationTimestamp: new Date(now.getTime() - ageDays * day),
    },
    spec: { deployment, revision },
    status: outcome ? { outcome } : {},
  };
}

describe('assessmentsToPrune', () => {
  it.each([
    ['keeps everything young and few', [ra('web', 1, 1, 'succeeded'), ra('web', 2, 0, 'running')], 90, 10, []],
    [
      'prunes finished ones past the age',
      [ra('web', 1, 100, 'succeeded'), ra('web', 2, 1, 'succeeded')],
      90,
      10,
      ['web-1'],
    ],
    ['never prunes a running one, however old', [ra('web', 1, 400, 'running')], 90, 10, []],
    ['never prunes one not yet assessed', [ra('web', 1, 400, undefined)], 90, 10, []],
    [
      'keeps the newest N per Deployment',
      [ra('web', 1, 3, 'succeeded'), ra('web', 2, 2, 'rolled-back'), ra('web', 3, 1, 'succeeded')],
      90,
      2,
      ['web-1'],
    ],
    [
      'counts per Deployment',
      [ra('web', 1, 3, 'succeeded'), ra('api', 1, 3, 'succeeded'), ra('web', 2, 1, 'succeeded')],
      90,
      1,
      ['web-1'],
    ],
  ])('%s', (_what, list, maxAgeDays, keep, expected) => {
    const pruned = assessmentsToPrune(list, now, { maxAgeMs: maxAgeDays * day, keepPerDeployment: keep }).map(
      (p) => p.name,
    );
    expect(pruned.sort()).toEqual([...expected].sort());
  });
});
