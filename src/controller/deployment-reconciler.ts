// Reconciles one Deployment: which policy governs it, which revision is rolling out, whether that revision
// has been assessed (assess it once, record it before pausing or resuming it; the annotations, which only
// inform, go out as soon as the score is known, while the record is created and written), and then makes the
// Deployment, its Events and its assessment match the plan. Then it has earlier-revisions.ts close the records
// of the revisions this one replaced. Level-based: it never asks what event woke it up.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { assessRollout, type Assessment, type LiveSignals } from '../assess/assess.js';
import type { RiskModel } from '../assess/score.js';
import type { AssessmentAction, AssessmentStatus } from '../api/assessment.js';
import { resolveLevelAction, type PolicySpec } from '../api/policy.js';
import { isAlreadyExists, isConflict, isInvalid } from '../kube/errors.js';
import type { DeploymentEvents } from '../kube/events.js';
import type { ClusterWriter } from '../kube/writer.js';
import { rolloutLogger, type Logger } from '../telemetry/logger.js';
import type { OperatorMetrics } from '../telemetry/metrics.js';
import { annotations } from '../api/annotations.js';
import { guardedDeploymentPatch } from './deployment-patch.js';
import { approverOf } from './approval.js';
import { EarlierRevisions } from './earlier-revisions.js';
import {
  assessmentNameFor,
  candidateNames,
  findAssessment,
  identityOf,
  isAssessmentOf,
  knownBadRule,
  knownBadTemplate,
  type KnownBadTemplate,
  type RevisionIdentity,
} from './assessment-identity.js';
import {
  appendActions,
  assessedStatus,
  assessmentObject,
  pastOutcomes,
  statusWithActions,
} from './assessment-record.js';
import { governingPolicy, type GoverningPolicy } from './policy-choice.js';
import { parsedPolicies } from './policy-specs.js';
import { planActions } from './plan.js';
import { currentRollout, isRollbackRevision, servingBeforeRollout, type CurrentRollout } from '../api/revision.js';
import { blockingFindingKinds, credentialPolicy } from './score-manifest.js';
import { scanTemplate } from '../assess/secret-scan.js';
import type { Verifier } from './verifier.js';
import type { AssessmentObject, Caches } from '../api/objects.js';
import { bypassReason, type GateView } from '../gate/pending.js';
import type { OperatorGate } from '../gate/operator-hooks.js';

export interface LiveSignalSource {
  /**
   * The service's error rate and latency now, or why they are unknown. Must not throw, must be quick. The
   * hashes: the serving ReplicaSet's first. `uid`: the Deployment's, to match a reading prefetched for it.
   */
  sample(
    policy: PolicySpec,
    namespace: string,
    deployment: string,
    podTemplateHashes: readonly string[],
    uid?: string,
  ): Promise<LiveSignals>;
  /** Starts reading them for a rollout about to start (see live-signal-prefetch.ts); optional. */
  prefetch?(policy: PolicySpec, namespace: string, deployment: string, uid: string, servingHash: string): void;
}

export interface ModelSource {
  current(): RiskModel | undefined;
}

export interface DeploymentReconcilerDeps {
  caches: Caches;
  writer: ClusterWriter;
  events: DeploymentEvents;
  live: LiveSignalSource;
  model: ModelSource;
  metrics: OperatorMetrics;
  logger: Logger;
  clock: () => Date;
  verifier: Verifier;
  /** Queues a verification pass for the Deployment; it runs under its own key, so a slow Prometheus never delays an assessment or a pause. */
  requestVerification: (namespace: string, name: string) => void;
  /** The admission gate's hooks, when the gate is on (src/gate). */
  gate?: OperatorGate | undefined;
}

/** A revision scored, its record being created, the score not yet written onto the record. */
interface Assessed {
  /** The name its record is expected to get (see assessmentNameFor); `created` says which it got. */
  assessmentName: string;
  /**
   * The record's creation, started beside the live-signal reading and never rejected (so nothing is left
   * unhandled while the score is worked out): the name it was created under, undefined when another
   * reconcile or an earlier life of this controller holds it (its status is the truth), or the error.
   */
  created: Promise<{ name: string | undefined } | { error: unknown }>;
  assessment: Assessment;
  status: AssessmentStatus;
  /** performance.now() when the assessment began. */
  startedMs: number;
  revision: number;
}

export class DeploymentReconciler {
  /** Assessments this process created recently (identity → name): the informer cache may not show them yet. */
  private readonly written = new Map<string, string>();
  private readonly earlierRevisions: EarlierRevisions;

  constructor(private readonly deps: DeploymentReconcilerDeps) {
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
    const writtenName = this.written.get(identityKey(id));
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
      unwritten = await this.assess(deployment, rollout, policy, {
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
      const replan = await this.replanUnlessCreatedAsPlanned(unwritten, deployment, policy, log);
      if (replan) return replan;
      record = await this.recordAssessment(unwritten, deployment, policy, log);
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
          const replan = await this.replanUnlessCreatedAsPlanned(unwritten, deployment, policy, log);
          if (replan) return replan;
          if (!foldActions) return this.recordAssessment(unwritten, deployment, policy, log);
          for (const event of plan.events) await this.deps.events.emit(deployment, event);
          return this.recordAssessment(unwritten, deployment, policy, log, plan.actions);
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
      if (assessedNow && mode !== 'shadow') await this.warnAboutAnnotations(deployment, revision, assessedNow);
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
    if (assessedNow && mode !== 'shadow') await this.warnAboutAnnotations(deployment, revision, assessedNow);
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
   * Waits for a new assessment's record to be created. Undefined when it got the name the plan gives it;
   * otherwise when to plan again: once another writer's record is in the cache, or at once with the name it got.
   */
  private async replanUnlessCreatedAsPlanned(
    assessed: Assessed,
    deployment: V1Deployment,
    policy: GoverningPolicy,
    log: Logger,
  ): Promise<{ requeueAfterMs: number } | undefined> {
    const created = await assessed.created;
    if ('error' in created) throw created.error;
    if (created.name === undefined) return { requeueAfterMs: 1000 };
    if (created.name === assessed.assessmentName) return undefined;
    // The expected name was taken (an assessment of an older Deployment of this name the cache did not show):
    // the score goes on the record it got, and the next pass plans again with that name.
    await this.recordAssessment({ ...assessed, assessmentName: created.name }, deployment, policy, log);
    return { requeueAfterMs: 200 };
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

  /**
   * Scores the revision while its record is created (unless it exists). The caller waits for that creation
   * before writing the score, and plans again when another reconcile or an earlier life of this controller
   * created the record (its status is the truth) or the record got another name.
   */
  private async assess(
    deployment: V1Deployment,
    rollout: CurrentRollout,
    policy: GoverningPolicy,
    target: {
      id: RevisionIdentity;
      assessmentName: string;
      existing: AssessmentObject | undefined;
      knownBad: KnownBadTemplate | undefined;
      log: Logger;
    },
  ): Promise<Assessed> {
    const started = performance.now();
    const { id, existing, knownBad, log } = target;
    const namespace = deployment.metadata?.namespace ?? '';
    const name = deployment.metadata?.name ?? '';
    const now = this.deps.clock();
    const policyName = policy.object.metadata?.name ?? '';
    // The record and the live signals do not depend on each other: ask for both at once.
    const create = async (): Promise<string | undefined> => {
      if (existing) return target.assessmentName;
      // The plain name may be held by an assessment of an older Deployment of the same name that the cache
      // has not shown us: then the tagged name (see candidateNames).
      const [plain, tagged] = candidateNames(id);
      for (const assessmentName of target.assessmentName === tagged ? [tagged] : [plain, tagged]) {
        try {
          await this.deps.writer.createAssessment(
            namespace,
            assessmentObject({
              namespace,
              name: assessmentName,
              deployment: name,
              deploymentUID: id.uid,
              revision: rollout.current.revision,
              podTemplateHash: rollout.current.podTemplateHash,
              templateDigest: id.templateDigest,
              previousRevision: rollout.previous?.revision,
              previousPodTemplateHash: rollout.previous?.podTemplateHash,
              policy: policyName,
            }),
          );
          if (this.written.size >= 10_000) this.written.clear();
          this.written.set(identityKey(id), assessmentName);
          return assessmentName;
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          const holder = (await this.deps.writer.readAssessment(namespace, assessmentName)) as
            AssessmentObject | undefined;
          // Another reconcile (or a previous life of this controller) created it: its status is the truth.
          if (holder === undefined || isAssessmentOf(holder, id)) return undefined;
        }
      }
      throw new Error(`both names for the assessment of ${namespace}/${name} revision ${id.revision} are taken`);
    };
    const sample = async () =>
      policy.spec.prometheus.address
        ? this.deps.live.sample(
            policy.spec,
            namespace,
            name,
            [rollout.previous?.podTemplateHash, rollout.current.podTemplateHash].filter(
              (h): h is string => h !== undefined,
            ),
            id.uid,
          )
        : { unavailable: 'no Prometheus address in the policy' };
    // Created beside the reading and the scoring, not before them: the annotations need only the score.
    const created = create().then(
      (name) => ({ name }),
      (error: unknown) => ({ error }),
    );
    const live = await sample();
    const template = rollout.current.replicaSet.spec?.template ?? deployment.spec?.template ?? {};
    const assessment = assessRollout({
      template,
      previousTemplate: rollout.previous?.replicaSet.spec?.template,
      deploymentAnnotations: deployment.metadata?.annotations,
      replicas: { previous: desiredReplicas(rollout.previous?.replicaSet), next: deployment.spec?.replicas },
      now,
      timeZone: policy.spec.timeZone,
      history: pastOutcomes(this.deps.caches.assessments(namespace), name, rollout.current.revision),
      live,
      thresholds: policy.spec.thresholds,
      blockingFindings: blockingFindingKinds(policy.spec),
      providerMatches: await scanTemplate(template),
      credentialPolicy: credentialPolicy(policy.spec),
      model: this.deps.model.current(),
    });
    if (knownBad) {
      // Known-bad: at least as strict as the first time, whatever the score says now.
      const rule = knownBadRule(knownBad);
      assessment.hardRules = [rule, ...assessment.hardRules];
      assessment.level = 'block';
      log.warn({ earlierRevision: knownBad.revision }, 'a template that failed before is back; treated as block');
    }
    return {
      assessmentName: target.assessmentName,
      created,
      assessment,
      status: assessedStatus(assessment, policy.spec.mode, now),
      startedMs: started,
      revision: rollout.current.revision,
    };
  }

  /**
   * Writes a new assessment's score onto its record, with any actions already carried out: from here on the
   * revision is never assessed again.
   */
  private async recordAssessment(
    assessed: Assessed,
    deployment: V1Deployment,
    policy: GoverningPolicy,
    log: Logger,
    actions: readonly AssessmentAction[] = [],
  ): Promise<AssessmentObject> {
    const { assessment } = assessed;
    const status =
      actions.length === 0
        ? assessed.status
        : { ...assessed.status, ...statusWithActions(assessed.status, actions, {}, assessed.revision) };
    const written = (await this.deps.writer.mergePatchAssessmentStatus(
      deployment.metadata?.namespace ?? '',
      assessed.assessmentName,
      status,
    )) as AssessmentObject;
    const seconds = (performance.now() - assessed.startedMs) / 1000;
    this.deps.metrics.assessments.inc({ level: assessment.level, scorer: assessment.scorer, mode: policy.spec.mode });
    this.deps.metrics.riskScore.observe(assessment.score);
    this.deps.metrics.assessmentDuration.observe(seconds);
    log.info(
      {
        score: assessment.score,
        level: assessment.level,
        scorer: assessment.scorer,
        reasons: assessment.reasons,
        ms: Math.round(seconds * 1000),
      },
      'rollout assessed',
    );
    return written;
  }

  private async warnAboutAnnotations(
    deployment: V1Deployment,
    revision: number,
    assessment: Assessment,
  ): Promise<void> {
    for (const warning of assessment.annotationWarnings) {
      this.deps.metrics.annotationWarnings.inc();
      await this.deps.events.emit(deployment, {
        type: 'Warning',
        reason: 'InvalidAnnotation',
        action: 'Assess',
        note: `${warning.annotation}=${JSON.stringify(warning.value)} ${warning.problem}. Revision ${revision} was assessed without it.`,
        dedupeKey: `annotation/${deployment.metadata?.name ?? ''}/${revision}/${warning.annotation}`,
      });
    }
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

function identityKey(id: RevisionIdentity): string {
  return `${id.namespace}/${id.deployment}/${id.uid ?? ''}/${id.revision}/${id.podTemplateHash}`;
}

function desiredReplicas(rs: V1ReplicaSet | undefined): number | undefined {
  const raw = rs?.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}
