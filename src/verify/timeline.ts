// When verification runs: from the moment the new pods serve until the level's verification window after
// the rollout completes. A rollout that exceeds its progress deadline never completes, so it counts as
// failed rather than being verified forever. Pure: the controller reads the times from the Deployment and
// its ReplicaSets and passes "now".
import { formatDuration } from '../api/duration.js';
import type { VerificationClock } from './verdict.js';

export interface RolloutTimes {
  /** When the first pod of the new ReplicaSet became ready; undefined until then. */
  readonly newPodsServingSince?: Date | undefined;
  /** When every replica was updated and available; undefined while the rollout progresses. */
  readonly completedAt?: Date | undefined;
  /** The Deployment's Progressing condition says ProgressDeadlineExceeded. */
  readonly progressDeadlineExceeded?: boolean | undefined;
}

export type VerificationPhase = 'waiting' | 'verifying' | 'window-elapsed' | 'progress-deadline-exceeded';

export interface VerificationTimeline {
  readonly phase: VerificationPhase;
  /** The end of the window: the rollout's completion plus the window; undefined before completion. */
  readonly deadline: Date | undefined;
  readonly message: string;
}

export function verificationDeadline(completedAt: Date | undefined, windowMs: number): Date | undefined {
  return completedAt === undefined ? undefined : new Date(completedAt.getTime() + windowMs);
}

export function verificationTimeline(times: RolloutTimes, windowMs: number, now: Date): VerificationTimeline {
  const deadline = verificationDeadline(times.completedAt, windowMs);
  const window = formatDuration(windowMs);
  if (times.progressDeadlineExceeded === true && times.completedAt === undefined) {
    return { phase: 'progress-deadline-exceeded', deadline, message: 'the rollout exceeded its progress deadline' };
  }
  if (times.newPodsServingSince === undefined && times.completedAt === undefined) {
    return { phase: 'waiting', deadline, message: 'waiting for the new pods to serve' };
  }
  if (deadline === undefined) {
    return {
      phase: 'verifying',
      deadline,
      message: `verifying while the rollout progresses; the ${window} window starts when it completes`,
    };
  }
  if (now.getTime() >= deadline.getTime()) {
    return {
      phase: 'window-elapsed',
      deadline,
      message: `the ${window} verification window after the rollout completed has elapsed`,
    };
  }
  return {
    phase: 'verifying',
    deadline,
    message: `verifying until ${deadline.toISOString()} (${window} after the rollout completed)`,
  };
}

/** The clock input of nextVerificationState for this moment. */
export function verificationClock(
  times: RolloutTimes,
  windowMs: number,
  now: Date,
  providerHealthy?: boolean,
): VerificationClock {
  const { phase } = verificationTimeline(times, windowMs, now);
  return {
    windowElapsed: phase === 'window-elapsed',
    progressDeadlineExceeded: phase === 'progress-deadline-exceeded',
    ...(providerHealthy === undefined ? {} : { providerHealthy }),
  };
}
