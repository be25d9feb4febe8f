// Where a policy's verification intervals begin. Verification runs one check per interval ("tick") for every
// rollout under a policy, and the policy's rollouts share one batched Prometheus query per tick; so a tick is
// when all of them read Prometheus and write their records. If every policy's ticks began on the same
// multiple of the interval, the passes of every rollout under verification in the cluster would fall due in
// the same moment: a burst of queries and writes that delays whatever else the API server and the operator
// are doing then (a new rollout's annotations among them). Each policy's ticks are therefore offset by a phase
// of its own, a stable hash of the policy, so the policies' passes are spread over the interval. Pure: the
// same policy and interval give the same phase in every process and after every restart, which keeps the
// look numbers of the statistical test and the "already judged" check exact across restarts and replicas.
import { stableHash } from '../shard/hash.js';

export interface TickClock {
  readonly intervalMs: number;
  /** Where in the interval this policy's ticks begin, in [0, intervalMs). */
  readonly phaseMs: number;
}

/** The tick clock of a policy (`namespace/name`) at an interval. */
export function tickClockFor(policyKey: string, intervalMs: number): TickClock {
  const interval = Math.max(1, Math.floor(intervalMs));
  return { intervalMs: interval, phaseMs: stableHash(policyKey) % interval };
}

/** The tick a moment falls in. */
export function tickAt(clock: TickClock, ms: number): number {
  return Math.floor((ms - clock.phaseMs) / clock.intervalMs);
}

/** When a tick begins. */
export function tickStartMs(clock: TickClock, tick: number): number {
  return tick * clock.intervalMs + clock.phaseMs;
}
