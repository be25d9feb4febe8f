// Closes the assessments of a Deployment's earlier revisions still marked running, once a newer revision is
// current, with what happened to them: rolled back by rollguard (its undo left rolled-back-from on the
// Deployment), undone by hand (the Deployment went back to an older template), superseded by a newer rollout,
// or left open by a deleted Deployment of the same name. Noticed and recorded, never fought. Which record gets
// which outcome is pure (`closingOf`); `EarlierRevisions` writes it.
import type { V1Deployment } from '@kubernetes/client-node';
import type { AssessmentObject, Caches } from '../api/objects.js';
import { annotations } from '../api/annotations.js';
import type { CurrentRollout } from '../api/revision.js';
import type { DeploymentEvents } from '../kube/events.js';
import type { ClusterWriter } from '../kube/writer.js';
import type { Logger } from '../telemetry/logger.js';
import { identityOf, isOfDeployment, type RevisionIdentity } from './assessment-identity.js';
import { appendActions } from './assessment-record.js';

/** Where the Deployment stands now, as far as its earlier revisions' records are concerned. */
export interface Succession {
  /** The Deployment (its uid) and its current revision. */
  current: RevisionIdentity;
  /** The revision the current one replaced, if known. */
  previousRevision: number | undefined;
  /** The Deployment's rolled-back-from annotation: the revision rollguard's own undo rolled back. */
  rolledBackFrom: string | undefined;
  /** The current revision went back to an earlier template that is not known-bad: an undo, by hand or not. */
  exemptReturn: boolean;
}

/** How an earlier revision's record is closed. */
export type Closing = 'rolled-back' | 'undone-by-hand' | 'superseded' | 'deleted-deployment';

/** How to close a record, or undefined when it is not an open record of an earlier revision of this Deployment. */
export function closingOf(record: AssessmentObject, now: Succession): Closing | undefined {
  if (record.spec?.deployment !== now.current.deployment || record.status?.outcome !== 'running') return undefined;
  // Written for a Deployment of the same name that was deleted: nothing more will happen to it.
  if (!isOfDeployment(record, now.current)) return 'deleted-deployment';
  const revision = record.spec.revision ?? 0;
  if (revision >= now.current.revision) return undefined;
  if (now.rolledBackFrom === String(revision)) return 'rolled-back';
  // Only the revision the undo replaced was undone; older ones were superseded before it.
  if (now.exemptReturn && revision === now.previousRevision) return 'undone-by-hand';
  return 'superseded';
}

export interface EarlierRevisionsDeps {
  caches: Pick<Caches, 'assessments'>;
  writer: ClusterWriter;
  events: Pick<DeploymentEvents, 'emit'>;
  clock: () => Date;
}

export class EarlierRevisions {
  constructor(private readonly deps: EarlierRevisionsDeps) {}

  /** Closes every open record of a revision before `rollout.current`; `exemptReturn` as in `Succession`. */
  async close(deployment: V1Deployment, rollout: CurrentRollout, exemptReturn: boolean, log: Logger): Promise<void> {
    const namespace = deployment.metadata?.namespace ?? '';
    const name = deployment.metadata?.name ?? '';
    const succession: Succession = {
      current: identityOf(deployment, rollout.current),
      previousRevision: rollout.previous?.revision,
      rolledBackFrom: deployment.metadata?.annotations?.[annotations.rolledBackFrom],
      exemptReturn,
    };
    // Decided over the cache as read, before any write.
    const closings = this.deps.caches.assessments(namespace).flatMap((record) => {
      const closing = closingOf(record, succession);
      return closing === undefined ? [] : [{ record, closing }];
    });
    for (const { record: earlier, closing } of closings) {
      const revision = earlier.spec?.revision ?? 0;
      const assessmentName = earlier.metadata?.name ?? '';
      const at = this.deps.clock().toISOString();
      switch (closing) {
        case 'deleted-deployment':
        case 'superseded':
          await this.deps.writer.mergePatchAssessmentStatus(namespace, assessmentName, {
            phase: 'Superseded',
            outcome: 'superseded',
          });
          break;
        case 'rolled-back':
          await appendActions(
            this.deps.writer,
            namespace,
            assessmentName,
            [
              {
                type: 'rolled-back',
                at,
                message: `rolled back to an earlier template as revision ${rollout.current.revision}`,
                by: 'rollguard',
              },
            ],
            { phase: 'RolledBack', outcome: 'rolled-back' },
          );
          break;
        case 'undone-by-hand':
          log.info({ undone: revision }, 'revision was undone by hand; recording it');
          await appendActions(
            this.deps.writer,
            namespace,
            assessmentName,
            [
              {
                type: 'rolled-back-by-hand',
                at,
                message: `undone by hand (kubectl rollout undo or an equivalent change) as revision ${rollout.current.revision}`,
              },
            ],
            {
              phase: 'RolledBack',
              outcome: 'rolled-back',
              verification: {
                ...(earlier.status?.verification ?? {}),
                state: 'failed',
                completedAt: at,
                message: `undone by hand: revision ${rollout.current.revision} went back to an earlier template`,
              },
            },
          );
          await this.deps.events.emit(deployment, {
            type: 'Normal',
            reason: 'RolloutUndoneByHand',
            action: 'Verify',
            note: `Revision ${revision} was rolled back by hand as revision ${rollout.current.revision} while rollguard verified it; recorded as rolled back, and rollguard does not interfere.`,
            dedupeKey: `undone-by-hand/${name}/${revision}`,
          });
          break;
      }
    }
  }
}
