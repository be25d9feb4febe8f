// This Deployment's recent history from its RolloutAssessments: how many of its rollouts in the last 30 days
// were rolled back or failed. A service that has just failed is more likely to fail again.
export interface PastOutcome {
  outcome: string | undefined;
  /** When the outcome was reached (or the assessment created). */
  at: Date | undefined;
}

export interface HistoryFeatures {
  recent_rollbacks: number;
  recent_failures: number;
}

export const historyWindowMs = 30 * 24 * 60 * 60 * 1000;

export function historyFeatures(past: readonly PastOutcome[], now: Date): HistoryFeatures {
  const since = now.getTime() - historyWindowMs;
  const recent = past.filter((p) => p.at !== undefined && p.at.getTime() >= since);
  return {
    recent_rollbacks: recent.filter((p) => p.outcome === 'rolled-back').length,
    recent_failures: recent.filter((p) => p.outcome === 'failed').length,
  };
}
