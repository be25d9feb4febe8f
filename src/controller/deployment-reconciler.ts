// Reconciles one Deployment: which policy governs it, which revision is rolling out, whether that revision
// has been assessed (revision-assessor.ts assesses it once; the score is recorded before the rollout is paused
// or resumed, while the annotations, which only inform, go out as soon as the score is known), and then makes
// the Deployment, its Events and its assessment match the plan. Then it has earlier-revisions.ts close the
// records of the revisions this one replaced. Level-based: it never asks what event woke it up.
import type { V1Deployment } from '@kubernetes/client-node';
import type { Assessment } from '../assess/assess.js';
import { annotations } from '../api/annotations.js';
import type { AssessmentAction } from '../api/assessment.js';
import type { AssessmentObject } from '../api/objects.js';
import { resolveLevelAction } from '../api/policy.js';
import { currentRollout, isRollbackRevision, servingBeforeRollout } from '../api/revision.js';
import { bypassReason, type GateView } from '../gate/pending.js';
import type { OperatorGate } from '../gate/operator-hooks.js';
import { isConflict, isInvalid } from '../kube/errors.js';
import { rolloutLogger, type Logger } from '../telemetry/logger.js';
import { approverOf } from './approval.js';
import {
  assessmentNameFor,
  candidateNames,
  findAssessment,
  identityOf,
  isAssessmentOf,
  knownBadTemplate,
} from './assessment-identity.js';
import { appendActions, statusWithActions } from './assessment-record.js';
import { guardedDeploymentPatch } from './deployment-patch.js';
import { EarlierRevisions } from './earlier-revisions.js';
import { planActions } from './plan.js';
import { governingPolicy, type GoverningPolicy } from './policy-choice.js';
import { parsedPolicies } from './policy-specs.js';
import { RevisionAssessor, type Assessed, type RevisionAssessorDeps } from './revision-assessor.js';
import type { Verifier } from './verifier.js';

export interface DeploymentReconcilerDeps extends RevisionAssessorDeps {
  logger: Logger;
  verifier: Verifier;
  /** Queues a verification pass for the Deployment; it runs under its own key, so a slow Prometheus never delays an assessment or a pause. */
  requestVerification: (namespace: string, name: string) => void;
  /** The admission gate's hooks, when the gate is on (src/gate). */
  gate?: OperatorGate | undefined;
}

export class DeploymentReconciler {
  private readonly assessor: RevisionAssessor;
  private readonly earlierRevisions: EarlierRevisions;

  constructor(private readonly deps: DeploymentReconcilerDeps) {
    this.assessor = new RevisionAssessor(deps);
    this.earlierRevisions = new EarlierRevisions(deps);
  }

  /** The policy governing a Deployment (see policy-choice.ts), with an Event when several cover it. */
  governingPolicy(deployment: V1Deployment): { policy?: GoverningPolicy; conflict?: string } {
    const policies = parsedPolicies(this.deps.caches.policies(deployment.metadata?.namespace ?? ''));
    return governingPolicy(policies, deployment.metadata?.labels ?? {});
  }

  async reconcile(namespace: string, name: string): Promise<{ requeueAfterMs?: number }> {
    const deployment = this.deps.caches.deployment(namespace, name);
    if (!deployment) return {};
    const { policy, conflict } = this.governingPolicy(deployment);
    const replicaSets = this.deps.caches.replicaSets(namespace);
    // A template held at admission has no ReplicaSet yet: the gate says which revision it will become.
    const gated: GateView = this.deps.gate?.view(deployment, replicaSets) ?? { kind: 'open' };
    const rollout = gated.kind === 'holding' ? gated.rollout : currentRollout(deployment, replicaSets);
    const log = rolloutLogger(this.deps.logger, {
      policy: policy?.object.metadata?.name,
      namespace,
      deployment: name,
      revision: rollout?.current.revision,
    });

    if (this.deps.gate && gated.kind === 'holding' && policy?.spec.mode !== 'enforce') {
      // No enforcing policy covers it now: nothing to hold. Assessed, if at all, once its ReplicaSet exists.
      await this.deps.gate.release(deployment, 'not enforced', log);
      return {};
    }
    if (!policy) {
      await this.warnIfLeftPaused(deployment, log);
      return {};
    }
    if (!rollout) {
      // A changed template waiting for its ReplicaSet: read the service now, while it is still the old version.
      // Not while the Deployment is paused: its controller makes no ReplicaSet until it is resumed.
      const waiting = gated.kind !== 'holding' && deployment.spec?.paused !== true;
      const serving = waiting ? servingBeforeRollout(deployment, replicaSets) : undefined;
      const uid = deployment.metadata?.uid;
      if (serving !== undefined && uid !== undefined && policy.spec.prometheus.address) {
        this.deps.live.prefetch?.(policy.spec, namespace, name, uid, serving.podTemplateHash);
      }
      return {};
    }

    const mode = policy.spec.mode;
    const revision = rollout.current.revision;
    const id = identityOf(deployment, rollout.current);
    const records = this.deps.caches.assessments(namespace);
    let record = (await this.deps.gate?.reconcileRecords(records, id)) ?? findAssessment(records, id);
    const writtenName = this.assessor.createdName(id);
    let assessmentName =
      record?.metadata?.name ??
      writtenName ??
      assessmentNameFor(id, this.deps.caches.assessment(namespace, candidateNames(id)[0]));
    const knownBad = knownBadTemplate(records, id, deployment.metadata?.annotations?.[annotations.rolledBackFrom]);
    // A return to an earlier template (an undo) is the way out and is not held back or undone again, unless
    // that template already failed or was rolled back: then it is judged at least as strictly as before.
    const exemptReturn = isRollbackRevision(rollout) && knownBad === undefined;
    if (conflict) {
      await this.deps.events.emit(deployment, {
        type: 'Warning',
        reason: 'PolicyConflict',
        action: 'SelectPolicy',
        note: conflict,
        dedupeKey: `conflict/${name}/${revision}/${conflict}`,
      });
    }

    // The cache may trail a write: ours (we remember those) or, rarely, another replica's. Workers start only
    // after the caches synced, so a record missing from the cache that we did not write is new, and creating
    // it is safe (a conflict means someone else did, and is handled); only otherwise ask the API server.
    const mayTrail = record !== undefined || writtenName !== undefined;
    if (record?.status?.score === undefined && mayTrail) {
      // Never assess a revision twice: the API server has the last word.
      const fresh = (await this.deps.writer.readAssessment(namespace, assessmentName)) as AssessmentObject | undefined;
      record = fresh !== undefined && isAssessmentOf(fresh, id) ? fresh : undefined;
    }
    let status = record?.status;
    let assessedNow: Assessment | undefined;
    /** A new assessment, scored but not yet written to its record. */
    let unwritten: Assessed | undefined;
    if (status?.score === undefined) {
      unwritten = await this.assessor.assess(deployment, rollout, policy, {
        id,
        assessmentName,
        existing: record,
        knownBad,
        log,
      });
      assessmentName = unwritten.assessmentName;
      assessedNow = unwritten.assessment;
      status = unwritten.status;
    }
    if (status.score === undefined || status.level === undefined) return {};

    const bypass = this.deps.gate ? bypassReason(deployment) : undefined;
    const pauseForApproval =
      resolveLevelAction(policy.spec, status.level).pause && !exemptReturn && bypass === undefined;
    const planned = planActions({
      mode,
      deploymentName: name,
      revision,
      assessmentName,
      assessed: {
        score: status.score,
        level: status.level,
        reasons: status.reasons ?? [],
        hardRules: status.hardRules ?? [],
      },
      // A rollback is never held back for approval: it is the way out (unless its template is known-bad).
      pauseForApproval,
      deployment: { annotations: deployment.metadata?.annotations ?? {}, paused: deployment.spec?.paused === true },
      recorded: new Set((status.actions ?? []).map((a) => a.type)),
      approver: approverOf(deployment.metadata?.managedFields),
      now: this.deps.clock(),
    });
    const plan = this.deps.gate
      ? this.deps.gate.adjust(planned, {
          holding: gated.kind === 'holding',
          deployment: {
            name,
            annotations: deployment.metadata?.annotations ?? {},
            paused: deployment.spec?.paused === true,
          },
          mode,
          revision,
          level: status.level,
          pauseForApproval,
          bypass,
          recorded: new Set((status.actions ?? []).map((a) => a.type)),
          now: this.deps.clock(),
        })
      : planned;
    const gatePassed = gated.kind === 'holding' && plan.paused === false && planned.paused !== false;

    const patchDeployment = async (): Promise<'patched' | 'unchanged' | 'changed-meanwhile'> => {
      if (Object.keys(plan.annotations).length === 0 && plan.paused === undefined) return 'unchanged';
      try {
        await this.deps.writer.jsonPatchDeployment(namespace, name, guardedDeploymentPatch(plan, deployment));
        return 'patched';
      } catch (err) {
        if (!isConflict(err) && !isInvalid(err)) throw err;
        return 'changed-meanwhile';
      }
    };
    let patched: Awaited<ReturnType<typeof patchDeployment>>;
    /** The plan's Events went out and its actions were recorded with the score, in the same write. */
    let actedWithScore = false;
    if (unwritten === undefined) {
      patched = await patchDeployment();
    } else if (plan.paused !== undefined) {
      // A pause (or a resume at the gate) is acted on only once the score that decided it is on the record: a
      // controller that died in between would otherwise assess again, and could leave a pause no score explains.
      const replan = await this.assessor.replanUnlessCreatedAsPlanned(unwritten, deployment, policy, log);
      if (replan) return replan;
      record = await this.assessor.record(unwritten, deployment, policy, log);
      patched = await patchDeployment();
    } else {
      // Annotations only inform, so they go out as soon as the score is known, while the record is created and
      // the score written onto it: one API round trip from the new revision to its annotations instead of two.
      // Should the record's creation or write fail, the next pass finds no score, assesses again and sets the
      // annotations to that score; should another writer hold the record, the next pass sets them to its score.
      // When the plan only informs (annotations and their Event), its action rides on the score's write: one
      // status write fewer per new rollout. An action on record stops its Event being planned again, so the
      // Event goes out first: a controller that dies in between finds no score, assesses again, and its Event
      // (keyed by the score) says what is recorded. Any other action (a pause recorded on a Deployment someone
      // else paused, a template held at the gate) stands on the Deployment's patch, which may find the
      // Deployment changed and not land: it is recorded only after that patch, or the next pass would read
      // it as done and let the rollout go.
      const foldActions = plan.actions.every((a) => a.type === 'annotated');
      const [recorded, annotated] = await Promise.allSettled([
        (async () => {
          const replan = await this.assessor.replanUnlessCreatedAsPlanned(unwritten, deployment, policy, log);
          if (replan) return replan;
          if (!foldActions) return this.assessor.record(unwritten, deployment, policy, log);
          for (const event of plan.events) await this.deps.events.emit(deployment, event);
          return this.assessor.record(unwritten, deployment, policy, log, plan.actions);
        })(),
        patchDeployment(),
      ]);
      if (recorded.status === 'rejected') throw recorded.reason;
      if (annotated.status === 'rejected') throw annotated.reason;
      if ('requeueAfterMs' in recorded.value) return recorded.value;
      record = recorded.value;
      patched = annotated.value;
      actedWithScore = foldActions;
    }
    if (patched === 'changed-meanwhile') {
      // The Deployment changed since the cache showed it (a newer revision, say): plan again from the new state.
      log.debug('Deployment changed while planning; planning again');
      // The next pass finds this assessment recorded and does not assess again: its warnings go out now.
      if (assessedNow && mode !== 'shadow') await this.assessor.warnAboutAnnotations(deployment, revision, assessedNow);
      return { requeueAfterMs: 200 };
    }
    if (patched === 'patched') {
      if (plan.paused === true) {
        this.deps.metrics.pauses.inc();
        log.warn({ score: status.score, level: status.level }, 'rollout paused for approval');
      } else if (gatePassed) {
        log.info({ score: status.score, level: status.level }, 'held template assessed at the gate; rollout resumed');
      } else if (plan.paused === false) {
        this.deps.metrics.approvals.inc({ how: 'annotation' });
        log.info('approved rollout resumed');
      }
    }
    if (!actedWithScore) {
      for (const event of plan.events) await this.deps.events.emit(deployment, event);
      if (plan.actions.length > 0) await this.recordActions(namespace, assessmentName, record, plan.actions);
    }
    if (plan.actions.some((a) => a.type === 'resumed-by-hand')) this.deps.metrics.approvals.inc({ how: 'by-hand' });
    // Warnings and bookkeeping for earlier revisions come after acting on this one, so they never delay a pause.
    if (assessedNow && mode !== 'shadow') await this.assessor.warnAboutAnnotations(deployment, revision, assessedNow);
    // While the gate holds the next template, the running revision is still the one serving: left open.
    if (gated.kind === 'holding') return {};
    await this.earlierRevisions.close(deployment, rollout, exemptReturn, log);
    this.deps.requestVerification(namespace, name);
    return {};
  }

  /** One verification pass for the Deployment's current revision (key `verify:namespace/name`). */
  async verify(namespace: string, name: string): Promise<{ requeueAfterMs?: number }> {
    const deployment = this.deps.caches.deployment(namespace, name);
    const { policy } = deployment ? this.governingPolicy(deployment) : {};
    const rollout = deployment && currentRollout(deployment, this.deps.caches.replicaSets(namespace));
    if (!deployment || !policy || !rollout) {
      // Deleted, or no longer covered: its policy's batched queries must stop asking for it.
      this.deps.verifier.forget(namespace, name);
      return {};
    }
    const id = identityOf(deployment, rollout.current);
    const records = this.deps.caches.assessments(namespace);
    const record = findAssessment(records, id);
    const status = record?.status;
    // Not assessed yet (or the cache has not seen it): the assessment pass queues verification again.
    if (record === undefined || status?.score === undefined) return {};
    return this.deps.verifier.verify({
      deployment,
      rollout,
      policy,
      assessmentName: record.metadata?.name ?? '',
      resourceVersion: record.metadata?.resourceVersion,
      exemptReturn:
        isRollbackRevision(rollout) &&
        knownBadTemplate(records, id, deployment.metadata?.annotations?.[annotations.rolledBackFrom]) === undefined,
      status,
      log: rolloutLogger(this.deps.logger, {
        policy: policy.object.metadata?.name,
        namespace,
        deployment: name,
        revision: rollout.current.revision,
      }),
    });
  }

  /**
   * Appends the plan's actions onto the record as read (or as the assessment write returned it), in one write
   * conditional on its resourceVersion; only when that version is stale does it read the record again.
   */
  private async recordActions(
    namespace: string,
    assessmentName: string,
    record: AssessmentObject | undefined,
    actions: readonly AssessmentAction[],
  ): Promise<void> {
    const resourceVersion = record?.metadata?.resourceVersion;
    if (record !== undefined && resourceVersion !== undefined) {
      const status = statusWithActions(record.status, actions, {}, record.spec?.revision);
      if (Object.keys(status).length === 0) return;
      try {
        await this.deps.writer.mergePatchAssessmentStatus(namespace, assessmentName, status, resourceVersion);
        return;
      } catch (err) {
        if (!isConflict(err)) throw err;
      }
    }
    await appendActions(this.deps.writer, namespace, assessmentName, actions);
  }

  /** A Deployment rollguard paused that no enforce-mode policy governs any more stays paused, with an Event saying so. */
  private async warnIfLeftPaused(deployment: V1Deployment, log: Logger): Promise<void> {
    const pausedRevision = deployment.metadata?.annotations?.[annotations.pausedRevision];
    if (pausedRevision === undefined || deployment.spec?.paused !== true) return;
    const name = deployment.metadata?.name ?? '';
    log.warn('paused by rollguard but no policy governs it any more; leaving it paused');
    await this.deps.events.emit(deployment, {
      type: 'Warning',
      reason: 'LeftPaused',
      action: 'Assess',
      note: `rollguard paused revision ${pausedRevision} of this Deployment for approval, and no DeploymentRiskPolicy covers it any more, so rollguard will take no further action. It stays paused until you resume it: kubectl rollout resume deployment/${name}`,
      dedupeKey: `left-paused/${name}/${pausedRevision}`,
    });
  }
}
