// Tests for when verification runs: from the new pods serving to the window after the rollout completes.
import { describe, expect, it } from 'vitest';
import { verificationClock, verificationDeadline, verificationTimeline, type RolloutTimes } from './timeline.js';

const t = (iso: string): Date => new Date(`2026-11-22T${iso}Z`);
const window = 10 * 60_000;

describe('verificationTimeline', () => {
  it.each<[string, RolloutTimes, string, string, string | undefined]>([
    ['before the new pods serve', {}, '12:00:00', 'waiting', undefined],
    ['while the rollout progresses', { newPodsServingSince: t('12:00:00') }, '12:30:00', 'verifying', undefined],
    [
      'inside the window after completion',
      { newPodsServingSince: t('12:00:00'), completedAt: t('12:05:00') },
      '12:14:59',
      'verifying',
      '2026-11-22T12:15:00.000Z',
    ],
    [
      'when the window has elapsed',
      { newPodsServingSince: t('12:00:00'), completedAt: t('12:05:00') },
      '12:15:00',
      'window-elapsed',
      '2026-11-22T12:15:00.000Z',
    ],
    [
      'past the progress deadline',
      { newPodsServingSince: t('12:00:00'), progressDeadlineExceeded: true },
      '12:11:00',
      'progress-deadline-exceeded',
      undefined,
    ],
  ])('%s', (_name, times, now, phase, deadline) => {
    const timeline = verificationTimeline(times, window, t(now));
    expect(timeline.phase).toBe(phase);
    expect(timeline.deadline?.toISOString()).toBe(deadline);
  });

  it('explains the phase', () => {
    expect(verificationTimeline({ newPodsServingSince: t('12:00:00') }, window, t('12:01:00')).message).toBe(
      'verifying while the rollout progresses; the 10m window starts when it completes',
    );
  });

  it('deadline is completion plus the window', () => {
    expect(verificationDeadline(t('12:05:00'), window)?.toISOString()).toBe('2026-11-22T12:15:00.000Z');
    expect(verificationDeadline(undefined, window)).toBeUndefined();
  });

  it('gives the clock for nextVerificationState', () => {
    expect(
      verificationClock(
        { newPodsServingSince: t('12:00:00'), completedAt: t('12:01:00') },
        window,
        t('12:20:00'),
        true,
      ),
    ).toEqual({ windowElapsed: true, progressDeadlineExceeded: false, providerHealthy: true });
  });
});
