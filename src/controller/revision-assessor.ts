// Assessing one revision of a Deployment, once: scoring it (src/assess) from its template, its history and
// the service's live signals while its RolloutAssessment is created, and then writing the score onto that
// record, from which point the revision is never assessed again. The record's creation runs beside the
// scoring, not before it, so the annotations (which need only the score) are one API round trip from the new
// revision; the reconciler (deployment-reconciler.ts) decides what waits for the record and carries out the
// plan. Which name the record gets, and who holds it when it already exists, is settled here.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { assessRollout, type Assessment, type LiveSignals } from '../assess/assess.js';
import type { RiskModel } from '../assess/score.js';
import { scanTemplate } from '../assess/secret-scan.js';
import type { AssessmentAction, AssessmentStatus } from '../api/assessment.js';
import type { AssessmentObject, Caches } from '../api/objects.js';
import type { PolicySpec } from '../api/policy.js';
import type { CurrentRollout } from '../api/revision.js';
import { isAlreadyExists } from '../kube/errors.js';
import type { DeploymentEvents } from '../kube/events.js';
import type { ClusterWriter } from '../kube/writer.js';
import type { Logger } from '../telemetry/logger.js';
import type { OperatorMetrics } from '../telemetry/metrics.js';
import {
  candidateNames,
  isAssessmentOf,
  knownBadRule,
  type KnownBadTemplate,
  type RevisionIdentity,
} from './assessment-identity.js';
import { assessedStatus, assessmentObject, pastOutcomes, statusWithActions } from './assessment-record.js';
import type { GoverningPolicy } from './policy-choice.js';
import { blockingFindingKinds, credentialPolicy } from './score-manifest.js';

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

export interface RevisionAssessorDeps {
  caches: Caches;
  writer: ClusterWriter;
  events: DeploymentEvents;
  live: LiveSignalSource;
  model: ModelSource;
  metrics: OperatorMetrics;
  clock: () => Date;
}

/** A revision scored, its record being created, the score not yet written onto the record. */
export interface Assessed {
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

export class RevisionAssessor {
  /** Assessments this process created recently (identity → name): the informer cache may not show them yet. */
  private readonly written = new Map<string, string>();

  constructor(private readonly deps: RevisionAssessorDeps) {}

  /** The name this process recently created the revision's record under, if it did. */
  createdName(id: RevisionIdentity): string | undefined {
    return this.written.get(identityKey(id));
  }

  /**
   * Waits for a new assessment's record to be created. Undefined when it got the name the plan gives it;
   * otherwise when to plan again: once another writer's record is in the cache, or at once with the name it got.
   */
  async replanUnlessCreatedAsPlanned(
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
    await this.record({ ...assessed, assessmentName: created.name }, deployment, policy, log);
    return { requeueAfterMs: 200 };
  }

  /**
   * Scores the revision while its record is created (unless it exists). The caller waits for that creation
   * before writing the score, and plans again when another reconcile or an earlier life of this controller
   * created the record (its status is the truth) or the record got another name.
   */
  async assess(
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
  async record(
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

  async warnAboutAnnotations(deployment: V1Deployment, revision: number, assessment: Assessment): Promise<void> {
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
}

function identityKey(id: RevisionIdentity): string {
  return `${id.namespace}/${id.deployment}/${id.uid ?? ''}/${id.revision}/${id.podTemplateHash}`;
}

function desiredReplicas(rs: V1ReplicaSet | undefined): number | undefined {
  const raw = rs?.metadata?.annotations?.['deployment.kubernetes.io/desired-replicas'];
  return raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : undefined;
}
