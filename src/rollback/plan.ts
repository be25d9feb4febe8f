// The rollback plan: what `kubectl rollout undo` would send (kubectl's polymorphichelpers/rollback.go), or
// why rollguard must not send it. Pure: the reconciler gathers the inputs and applies the patch.
import type { V1Deployment, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';
import { clip, maxAnnotationValueLength } from '../api/assessment.js';
import type { JsonPatchOp } from '../api/meta.js';
import { annotations as rg, revisionHistoryAnnotation } from '../api/annotations.js';
import { sameTemplate, withoutHash } from '../api/pod-template.js';
import { ownedRevisions, type Revision } from '../api/revision.js';
import { gitOpsManagerOf } from './gitops.js';

/** Deployment annotations kubectl keeps from the Deployment itself when it copies the target's annotations. */
const deploymentOwnedAnnotations = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  'deployment.kubernetes.io/revision',
  revisionHistoryAnnotation,
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

export type GitOpsBehaviour = 'pause' | 'undo' | 'alert';

export interface RollbackInput {
  deployment: V1Deployment;
  replicaSets: readonly V1ReplicaSet[];
  /** The revision being rolled back (the bad one). */
  badRevision: number;
  /** The bad revision is itself a return to an older template (a rollback, by rollguard or by hand). */
  badRevisionIsRollback: boolean;
  /** When rollguard's earlier automatic rollbacks of this Deployment happened. */
  previousRollbacks: readonly Date[];
  maxRollbacks: number;
  windowMs: number;
  gitOps: GitOpsBehaviour;
  now: Date;
  /** Why: the failing checks in words, for the annotation and the Event. */
  reason: string;
}

export type RollbackPlan =
  | { kind: 'undo'; target: Revision; ops: JsonPatchOp[]; summary: string }
  | { kind: 'pause'; summary: string }
  | {
      kind: 'skip';
      why: 'rollback-of-rollback' | 'no-previous-revision' | 'cap-reached' | 'gitops-alert' | 'same-template';
      summary: string;
    };

export function planRollback(input: RollbackInput): RollbackPlan {
  const { deployment, badRevision } = input;
  const name = deployment.metadata?.name ?? '';
  if (input.badRevisionIsRollback) {
    return {
      kind: 'skip',
      why: 'rollback-of-rollback',
      summary: `revision ${badRevision} is itself a rollback; rollguard never rolls back a rollback. Investigate and fix forward.`,
    };
  }
  const since = input.now.getTime() - input.windowMs;
  const recent = input.previousRollbacks.filter((d) => d.getTime() >= since).length;
  if (recent >= input.maxRollbacks) {
    return {
      kind: 'skip',
      why: 'cap-reached',
      summary: `rollguard already rolled back ${name} ${recent} times within the policy's window, its cap (spec.rollback.maxRollbacks=${input.maxRollbacks}); leaving revision ${badRevision} in place. Roll back by hand if needed: kubectl rollout undo deployment/${name}`,
    };
  }
  const target = ownedRevisions(deployment, input.replicaSets).find((r) => r.revision < badRevision);
  if (!target) {
    return {
      kind: 'skip',
      why: 'no-previous-revision',
      summary: `revision ${badRevision} of ${name} has no earlier revision to return to (the first rollout, or its ReplicaSets were pruned by revisionHistoryLimit). Fix forward, or scale it down: kubectl scale deployment/${name} --replicas=0`,
    };
  }
  const template = target.replicaSet.spec?.template;
  if (sameTemplate(template, deployment.spec?.template)) {
    return {
      kind: 'skip',
      why: 'same-template',
      summary: `${name} already runs the template of revision ${target.revision}, so undoing revision ${badRevision} would change nothing; fix forward`,
    };
  }
  const manager = gitOpsManagerOf(deployment);
  if (manager && input.gitOps !== 'undo') {
    const owner = manager.owner ? ` (${manager.owner})` : '';
    if (input.gitOps === 'alert') {
      return {
        kind: 'skip',
        why: 'gitops-alert',
        summary: `${name} is managed by ${manager.tool}${owner}, and the policy says to alert only: revert revision ${badRevision} in git.`,
      };
    }
    return {
      kind: 'pause',
      summary: `${name} is managed by ${manager.tool}${owner}: an in-place undo would be re-applied by the next sync, so rollguard paused the rollout instead. Revert revision ${badRevision} in git, then resume: kubectl rollout resume deployment/${name}`,
    };
  }

  const current = deployment.metadata?.annotations ?? {};
  const next: Record<string, string> = {};
  for (const [key, value] of Object.entries(current)) if (deploymentOwnedAnnotations.has(key)) next[key] = value;
  for (const [key, value] of Object.entries(target.replicaSet.metadata?.annotations ?? {})) {
    if (!deploymentOwnedAnnotations.has(key)) next[key] = value;
  }
  // What rollguard adds so the next revision is known to be a rollback, and people can see why.
  next[rg.rolledBackFrom] = String(badRevision);
  next[rg.verification] = clip(`failed: ${input.reason}`, maxAnnotationValueLength);

  const restored: V1PodTemplateSpec = withoutHash(template);
  const ops: JsonPatchOp[] = [
    { op: 'test', path: '/metadata/resourceVersion', value: deployment.metadata?.resourceVersion ?? '' },
    { op: 'replace', path: '/spec/template', value: restored },
    { op: 'replace', path: '/metadata/annotations', value: next },
  ];
  // kubectl refuses a paused Deployment; rollguard resumes one it paused itself, since undoing is the point.
  if (deployment.spec?.paused === true && current[rg.pausedRevision] !== undefined) {
    ops.push({ op: 'replace', path: '/spec/paused', value: false });
  }
  return {
    kind: 'undo',
    target,
    ops,
    summary: `rolled back ${name} from revision ${badRevision} to the template of revision ${target.revision}: ${input.reason}`,
  };
}
