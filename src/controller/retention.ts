// Which RolloutAssessments to delete: they are the audit trail and the training data, so they outlive their
// Deployment and are pruned only by age and count — the newest `keepPerDeployment` of each Deployment stay,
// finished ones older than `maxAgeMs` go, and an assessment still running is never deleted. Pure; the
// controller deletes what this names, periodically, on the leader only.
import type { AssessmentObject } from '../api/objects.js';

export interface RetentionRule {
  maxAgeMs: number;
  keepPerDeployment: number;
}

export function assessmentsToPrune(
  assessments: readonly AssessmentObject[],
  now: Date,
  rule: RetentionRule,
): { namespace: string; name: string }[] {
  const byDeployment = new Map<string, AssessmentObject[]>();
  for (const a of assessments) {
    const key = `${a.metadata?.namespace ?? ''}/${a.spec?.deployment ?? ''}`;
    byDeployment.set(key, [...(byDeployment.get(key) ?? []), a]);
  }
  const prune: { namespace: string; name: string }[] = [];
  for (const list of byDeployment.values()) {
    const newestFirst = [...list].sort((x, y) => (y.spec?.revision ?? 0) - (x.spec?.revision ?? 0));
    newestFirst.forEach((a, index) => {
      if (a.status?.outcome === 'running' || a.status?.outcome === undefined) return;
      const created = a.metadata?.creationTimestamp ? new Date(a.metadata.creationTimestamp).getTime() : now.getTime();
      const tooMany = index >= rule.keepPerDeployment;
      const tooOld = now.getTime() - created > rule.maxAgeMs;
      if (tooMany || tooOld) prune.push({ namespace: a.metadata?.namespace ?? '', name: a.metadata?.name ?? '' });
    });
  }
  return prune;
}
