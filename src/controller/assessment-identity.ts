// Which RolloutAssessment is about which rollout. A revision is identified by the Deployment's uid, its
// revision number and the ReplicaSet's pod-template-hash, never by the names alone: a Deployment deleted and
// created again under the same name starts again at revision 1, and must not inherit the old one's scores,
// pauses or verdicts. And a template that comes back (an undo, or CI applying an old version again) is told
// apart from one that was rolled back, so a known-bad template is never waved through as "a rollback". Pure.
import { createHash } from 'node:crypto';
import type { V1Deployment } from '@kubernetes/client-node';
import { clip, maxAnnotationValueLength, pendingPodTemplateHash, rolloutAssessmentName } from '../api/assessment.js';
import type { AssessmentObject } from '../api/objects.js';
import { templateDigestOf, type TemplateOwner } from '../api/pod-template.js';

export interface RevisionIdentity {
  namespace: string;
  deployment: string;
  /** The Deployment's metadata.uid. */
  uid: string | undefined;
  /** When the Deployment was created: assessments written before the uid was recorded are judged by it. */
  createdAt: Date | undefined;
  revision: number;
  podTemplateHash: string;
  /** The template's digest (templateDigest in api/pod-template.ts), when the template is known. */
  templateDigest?: string | undefined;
}

export function identityOf(
  deployment: V1Deployment,
  revision: { revision: number; podTemplateHash: string; replicaSet?: TemplateOwner },
): RevisionIdentity {
  const created = deployment.metadata?.creationTimestamp;
  const owner = revision.replicaSet;
  return {
    ...(owner?.spec?.template !== undefined ? { templateDigest: templateDigestOf(owner) } : {}),
    namespace: deployment.metadata?.namespace ?? '',
    deployment: deployment.metadata?.name ?? '',
    uid: deployment.metadata?.uid,
    createdAt: created === undefined ? undefined : new Date(created),
    revision: revision.revision,
    podTemplateHash: revision.podTemplateHash,
  };
}

/** The record was written for this Deployment (this uid), whatever revision it is about. */
export function isOfDeployment(record: AssessmentObject, id: Omit<RevisionIdentity, 'revision' | 'podTemplateHash'>) {
  const spec = record.spec;
  if (record.metadata?.namespace !== undefined && record.metadata.namespace !== id.namespace) return false;
  if (spec?.deployment !== id.deployment) return false;
  if (spec.deploymentUID !== undefined) return id.uid === undefined || spec.deploymentUID === id.uid;
  // Written before rollguard recorded the uid: it belongs to this Deployment only if written after its creation.
  const written = record.metadata?.creationTimestamp;
  if (written === undefined || id.createdAt === undefined) return true;
  return new Date(written).getTime() >= id.createdAt.getTime();
}

/** The record is about exactly this revision: same Deployment (uid), revision and template. */
export function isAssessmentOf(record: AssessmentObject, id: RevisionIdentity): boolean {
  return record.spec?.revision === id.revision && sameTemplateAs(record, id) && isOfDeployment(record, id);
}

/**
 * The record is about the identity's template: the same pod-template-hash, or, while the gate holds a
 * template that has no hash yet, the same digest.
 */
export function sameTemplateAs(record: AssessmentObject, id: RevisionIdentity): boolean {
  const hash = record.spec?.podTemplateHash;
  if (hash !== undefined && hash === id.podTemplateHash && hash !== pendingPodTemplateHash) return true;
  const digest = record.spec?.templateDigest;
  return digest !== undefined && digest === id.templateDigest;
}

export function findAssessment(
  records: readonly AssessmentObject[],
  id: RevisionIdentity,
): AssessmentObject | undefined {
  return records.find((r) => isAssessmentOf(r, id));
}

/** A short, stable tag of the Deployment's uid and the template, for a name the plain one is taken from. */
function disambiguator(id: RevisionIdentity): string {
  return createHash('sha256')
    .update(
      id.podTemplateHash === pendingPodTemplateHash
        ? `${id.uid ?? ''}/${id.templateDigest ?? ''}`
        : `${id.uid ?? ''}/${id.podTemplateHash}`,
    )
    .digest('hex')
    .slice(0, 8);
}

/**
 * The names this revision's assessment may have, in the order to try: `<deployment>-<revision>` (what
 * every assessment was called before, so people and scripts keep finding them), then a name with a tag for
 * when the plain one is held by an assessment of an older Deployment of the same name. Deterministic, so
 * replicas and restarts agree.
 */
export function candidateNames(id: RevisionIdentity): [string, string] {
  return [
    rolloutAssessmentName(id.deployment, id.revision),
    rolloutAssessmentName(id.deployment, id.revision, disambiguator(id)),
  ];
}

/** The name to create this revision's assessment under, given who holds the plain name now (if anyone). */
export function assessmentNameFor(id: RevisionIdentity, holderOfPlainName: AssessmentObject | undefined): string {
  const [plain, tagged] = candidateNames(id);
  return holderOfPlainName === undefined || isAssessmentOf(holderOfPlainName, id) ? plain : tagged;
}

/** An earlier revision with the same template that failed or was rolled back. */
export interface KnownBadTemplate {
  revision: number;
  /** When it failed or was rolled back, when the record says. */
  at: string | undefined;
  /** Why, in words, from the record. */
  why: string;
  outcome: 'rolled-back' | 'failed';
}

const endingActions = new Set(['rolled-back', 'rolled-back-by-hand', 'skipped-rollback', 'gitops-paused']);

/**
 * The most recent earlier verdict against this template: an assessment of the same Deployment name and
 * pod-template-hash (of this Deployment at an earlier revision, or of an older Deployment of the same name)
 * whose outcome was rolled-back or failed. Such a template is known-bad when it comes back.
 */
export function knownBadTemplate(
  records: readonly AssessmentObject[],
  id: RevisionIdentity,
  /** The Deployment's rollguard.io/rolled-back-from: rollguard undid that revision, recorded or not yet. */
  rolledBackFrom?: string,
): KnownBadTemplate | undefined {
  const sameTemplate = records.filter((r) => r.spec?.deployment === id.deployment && sameTemplateAs(r, id));
  const bad = sameTemplate
    .filter(
      (r) =>
        (r.status?.outcome === 'rolled-back' || r.status?.outcome === 'failed') &&
        (!isOfDeployment(r, id) || (r.spec?.revision ?? 0) < id.revision),
    )
    .sort((a, b) => whenEnded(b).localeCompare(whenEnded(a)));
  const latest = bad[0];
  if (latest?.status?.outcome !== 'rolled-back' && latest?.status?.outcome !== 'failed') {
    // The undo landed but its record did not (a crash in between), and the template is back already.
    const undone = sameTemplate.find(
      (r) =>
        isOfDeployment(r, id) && String(r.spec?.revision) === rolledBackFrom && (r.spec?.revision ?? 0) < id.revision,
    );
    if (undone === undefined) return undefined;
    return {
      revision: undone.spec?.revision ?? 0,
      at: undefined,
      why: undone.status?.verification?.message ?? 'rollguard rolled it back (rollguard.io/rolled-back-from)',
      outcome: 'rolled-back',
    };
  }
  const ending = (latest.status.actions ?? []).filter((a) => endingActions.has(a.type)).at(-1);
  const why = latest.status.verification?.message ?? ending?.message ?? 'no reason on record';
  return {
    revision: latest.spec?.revision ?? 0,
    at: ending?.at ?? latest.status.verification?.completedAt,
    why,
    outcome: latest.status.outcome,
  };
}

function whenEnded(record: AssessmentObject): string {
  const ending = (record.status?.actions ?? []).filter((a) => endingActions.has(a.type)).at(-1);
  return ending?.at ?? record.status?.verification?.completedAt ?? '';
}

/** The hard rule a known-bad template brings with it: what happened to it, when and why. */
export function knownBadRule(bad: KnownBadTemplate): string {
  const what = bad.outcome === 'rolled-back' ? 'was rolled back' : 'failed verification';
  const when = bad.at === undefined ? '' : ` at ${bad.at}`;
  return clip(`this pod template ${what}${when} as revision ${bad.revision}: ${bad.why}`, maxAnnotationValueLength);
}
