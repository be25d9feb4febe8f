// Which revision of a Deployment is rolling out now, and which one it replaces. A new rollout is a new
// `deployment.kubernetes.io/revision` with a new ReplicaSet (new `pod-template-hash`). Until the Deployment
// controller has created the ReplicaSet for a changed template, there is no new revision to assess yet.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { podTemplateHashLabel, revisionAnnotation, revisionHistoryAnnotation } from './annotations.js';
import { sameTemplateOf } from './pod-template.js';

export interface Revision {
  revision: number;
  podTemplateHash: string;
  replicaSet: V1ReplicaSet;
}

export interface CurrentRollout {
  current: Revision;
  previous?: Revision;
}

export function revisionOf(obj: { metadata?: { annotations?: Record<string, string> } }): number | undefined {
  const raw = obj.metadata?.annotations?.[revisionAnnotation];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/** The ReplicaSets the Deployment controls, with their revision numbers, newest first. */
export function ownedRevisions(deployment: V1Deployment, replicaSets: readonly V1ReplicaSet[]): Revision[] {
  const uid = deployment.metadata?.uid;
  return replicaSets
    .filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.controller === true && o.uid === uid))
    .flatMap((rs) => {
      const revision = revisionOf(rs);
      const hash = rs.metadata?.labels?.[podTemplateHashLabel];
      return revision === undefined || !hash ? [] : [{ revision, podTemplateHash: hash, replicaSet: rs }];
    })
    .sort((a, b) => b.revision - a.revision);
}

/** The ReplicaSet of the revision the Deployment's annotation names, and all the Deployment's revisions. */
function namedRevision(
  deployment: V1Deployment,
  replicaSets: readonly V1ReplicaSet[],
): { named: Revision; owned: Revision[] } | undefined {
  const revision = revisionOf(deployment);
  if (revision === undefined) return undefined;
  const owned = ownedRevisions(deployment, replicaSets);
  const named = owned.find((r) => r.revision === revision);
  return named === undefined ? undefined : { named, owned };
}

export function currentRollout(
  deployment: V1Deployment,
  replicaSets: readonly V1ReplicaSet[],
): CurrentRollout | undefined {
  const found = namedRevision(deployment, replicaSets);
  // The template changed but its ReplicaSet does not exist yet: wait for it.
  if (!found || !sameTemplateOf(found.named.replicaSet, deployment)) return undefined;
  const current = found.named;
  const previous = found.owned.find((r) => r.revision < current.revision);
  return previous ? { current, previous } : { current };
}

/**
 * The revision still serving while a changed template waits for its ReplicaSet: the moment a rollout is about to
 * start, when the service's live signals are what "before the change" means. Undefined when no change waits (or
 * nothing serves yet: a first rollout).
 */
export function servingBeforeRollout(
  deployment: V1Deployment,
  replicaSets: readonly V1ReplicaSet[],
): Revision | undefined {
  const found = namedRevision(deployment, replicaSets);
  return found !== undefined && !sameTemplateOf(found.named.replicaSet, deployment) ? found.named : undefined;
}

/** The revision is itself a return to an older template (kubectl rollout undo, or rollguard's own). */
export function isRollbackRevision(rollout: CurrentRollout): boolean {
  return rollout.current.replicaSet.metadata?.annotations?.[revisionHistoryAnnotation] !== undefined;
}
