// What the dashboard shows, as one JSON document built from what the controller already holds — the informer
// caches (RolloutAssessments, DeploymentRiskPolicies), the model in use, and the drift gauge in its metrics
// registry. Read-only: nothing here writes anywhere. buildDashboardState is pure; readFeatureDrift reads the
// registry.
import type { Registry } from 'prom-client';
import type { AssessmentStatus, VerificationStep } from '../api/assessment.js';
import { parsePolicySpec, parsePolicyStatus } from '../api/policy.js';
import type { ModelBundle } from '../model/store.js';
import type { AssessmentObject, PolicyObject } from '../api/objects.js';

export interface StepView {
  at: string;
  metric: string;
  value?: number;
  limit?: number;
  baseline?: number;
  verdict: string;
  message?: string;
}

export interface RolloutView {
  /** namespace/name of the RolloutAssessment: stable across refreshes, for keeping a selection. */
  key: string;
  namespace: string;
  name: string;
  deployment: string;
  revision?: number;
  policy?: string;
  mode?: string;
  phase?: string;
  outcome?: string;
  score?: number;
  level?: string;
  scorer?: string;
  modelVersion?: string;
  reasons: string[];
  hardRules: string[];
  assessedAt?: string;
  verification?: {
    state?: string;
    message?: string;
    startedAt?: string;
    completedAt?: string;
    rolloutCompletedAt?: string;
    deadline?: string;
    steps: StepView[];
  };
  /** When it was rolled back (by rollguard or by hand), for the chart's marker. */
  rollbackAt?: string;
  actions: { type: string; at: string; message: string; by?: string }[];
}

export interface ConditionView {
  type: string;
  status: string;
  reason: string;
  message: string;
  lastTransitionTime?: string;
}

export interface PolicyView {
  key: string;
  namespace: string;
  name: string;
  mode?: string;
  /** Why the spec cannot be used, when it cannot (the Ready condition says the same once reconciled). */
  specProblems?: string[];
  conditions: ConditionView[];
  coveredDeployments?: number;
  assessments?: number;
  pauses?: number;
  rollbacks?: number;
}

export interface FeatureValue {
  feature: string;
  value: number;
}

export type ModelCard =
  | { loaded: false; drift: FeatureValue[] }
  | {
      loaded: true;
      version: string;
      trainedAt: string;
      data: { description: string; rows: number; positives: number };
      evaluation: {
        method: string;
        auc: number;
        precision: number;
        recall: number;
        f1: number;
        threshold: number;
        testRows: number;
      } | null;
      learnedFeatures: string[];
      /** Strongest first. */
      importances: FeatureValue[];
      /** From the rollguard_feature_drift gauge; largest first; empty when nothing measured drift yet. */
      drift: FeatureValue[];
    };

export interface DashboardState {
  generatedAt: string;
  /** False while the controller's caches are still filling: the lists may be incomplete. */
  synced: boolean;
  namespace: string | null;
  /** Newest first. */
  rollouts: RolloutView[];
  /** How many assessments there are in all (rollouts holds the newest of them). */
  totalRollouts: number;
  policies: PolicyView[];
  model: ModelCard;
}

export interface DashboardInput {
  assessments: readonly AssessmentObject[];
  policies: readonly PolicyObject[];
  bundle: ModelBundle | undefined;
  drift: readonly FeatureValue[];
  now: Date;
  namespace?: string | undefined;
  limit: number;
  synced?: boolean | undefined;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []);

/** T with every optional field also allowed to be undefined, which `defined` then leaves out. */
type Loose<T> = { [K in keyof T]: T[K] | undefined };

/** Copies only the keys whose value is defined (the state is JSON: undefined would vanish anyway). */
function defined<T extends object>(value: Loose<T>): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** client-node types creationTimestamp as a Date; from a watch it may still be the API server's string. */
function timestamp(value: unknown): string | undefined {
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  return str(value);
}

function stepView(step: Partial<VerificationStep>): StepView | undefined {
  const at = str(step.at);
  const metric = str(step.metric);
  if (at === undefined || metric === undefined) return undefined;
  return defined<StepView>({
    at,
    metric,
    value: num(step.value),
    limit: num(step.limit),
    baseline: num(step.baseline),
    verdict: str(step.verdict) ?? 'unknown',
    message: str(step.message),
  });
}

function rollbackMoment(status: AssessmentStatus): string | undefined {
  const action = (status.actions ?? []).find((a) => a.type === 'rolled-back' || a.type === 'rolled-back-by-hand');
  if (action) return action.at;
  if (status.outcome === 'rolled-back') return status.verification?.completedAt ?? status.verification?.lastCheckAt;
  return undefined;
}

function rolloutView(a: AssessmentObject): RolloutView {
  const namespace = a.metadata?.namespace ?? '';
  const name = a.metadata?.name ?? '';
  const status: AssessmentStatus = a.status ?? {};
  const verification = status.verification;
  return defined<RolloutView>({
    key: `${namespace}/${name}`,
    namespace,
    name,
    deployment: str(a.spec?.deployment) ?? name,
    revision: num(a.spec?.revision),
    policy: str(a.spec?.policy),
    mode: str(status.mode),
    phase: str(status.phase),
    outcome: str(status.outcome),
    score: num(status.score),
    level: str(status.level),
    scorer: str(status.scorer),
    modelVersion: str(status.modelVersion),
    reasons: strings(status.reasons),
    hardRules: strings(status.hardRules),
    assessedAt: str(status.assessedAt) ?? timestamp(a.metadata?.creationTimestamp),
    verification: verification
      ? defined<NonNullable<RolloutView['verification']>>({
          state: str(verification.state),
          message: str(verification.message),
          startedAt: str(verification.startedAt),
          completedAt: str(verification.completedAt),
          rolloutCompletedAt: str(verification.rolloutCompletedAt),
          deadline: str(verification.deadline),
          steps: (verification.steps ?? []).flatMap((s) => {
            const view = stepView(s);
            return view ? [view] : [];
          }),
        })
      : undefined,
    rollbackAt: rollbackMoment(status),
    actions: (status.actions ?? []).map((x) =>
      defined<RolloutView['actions'][number]>({ type: x.type, at: x.at, message: x.message, by: str(x.by) }),
    ),
  });
}

function timeOf(view: RolloutView): number {
  const t = view.assessedAt ? Date.parse(view.assessedAt) : NaN;
  return Number.isNaN(t) ? 0 : t;
}

function policyView(p: PolicyObject): PolicyView {
  const namespace = p.metadata?.namespace ?? '';
  const name = p.metadata?.name ?? '';
  const spec = parsePolicySpec(p.spec);
  const status = parsePolicyStatus(p.status ?? {});
  const s = status.ok ? status.value : undefined;
  const rawMode = typeof p.spec === 'object' && p.spec !== null && 'mode' in p.spec ? str(p.spec.mode) : undefined;
  return defined<PolicyView>({
    key: `${namespace}/${name}`,
    namespace,
    name,
    mode: spec.ok ? spec.value.mode : rawMode,
    specProblems: spec.ok ? undefined : spec.errors.map((e) => `${e.path}: ${e.message}`),
    conditions: (s?.conditions ?? []).map((c) =>
      defined<ConditionView>({
        type: c.type,
        status: c.status,
        reason: c.reason,
        message: c.message,
        lastTransitionTime: c.lastTransitionTime,
      }),
    ),
    coveredDeployments: s?.coveredDeployments,
    assessments: s?.assessments,
    pauses: s?.pauses,
    rollbacks: s?.rollbacks,
  });
}

function modelCard(bundle: ModelBundle | undefined, drift: readonly FeatureValue[]): ModelCard {
  const sortedDrift = [...drift].sort((a, b) => b.value - a.value || a.feature.localeCompare(b.feature));
  if (!bundle) return { loaded: false, drift: sortedDrift };
  const { meta } = bundle;
  const e = meta.evaluation;
  return {
    loaded: true,
    version: meta.modelVersion,
    trainedAt: meta.trainedAt,
    data: { description: meta.data.description, rows: meta.data.rows, positives: meta.data.positives },
    evaluation: e
      ? {
          method: e.method,
          auc: e.auc,
          precision: e.precision,
          recall: e.recall,
          f1: e.f1,
          threshold: e.threshold,
          testRows: e.testRows,
        }
      : null,
    learnedFeatures: [...meta.learnedFeatures],
    importances: Object.entries(meta.importances)
      .map(([feature, value]) => ({ feature, value }))
      .sort((a, b) => b.value - a.value || a.feature.localeCompare(b.feature)),
    drift: sortedDrift,
  };
}

export function buildDashboardState(input: DashboardInput): DashboardState {
  const inScope = <T extends { metadata?: { namespace?: string } | undefined }>(items: readonly T[]) =>
    input.namespace === undefined ? items : items.filter((i) => i.metadata?.namespace === input.namespace);
  const rollouts = inScope(input.assessments)
    .map(rolloutView)
    .sort((a, b) => timeOf(b) - timeOf(a) || (b.revision ?? 0) - (a.revision ?? 0) || a.key.localeCompare(b.key));
  const policies = inScope(input.policies)
    .map(policyView)
    .sort((a, b) => a.key.localeCompare(b.key));
  return {
    generatedAt: input.now.toISOString(),
    synced: input.synced ?? true,
    namespace: input.namespace ?? null,
    rollouts: rollouts.slice(0, input.limit),
    totalRollouts: rollouts.length,
    policies,
    model: modelCard(input.bundle, input.drift),
  };
}

/** Drift per feature from the registry's rollguard_feature_drift gauge; empty when absent or unset. */
export async function readFeatureDrift(registry: Registry | undefined): Promise<FeatureValue[]> {
  const metric = registry?.getSingleMetric('rollguard_feature_drift');
  if (!metric) return [];
  const { values } = await metric.get();
  return values.flatMap((v) => {
    const feature = v.labels.feature;
    return typeof feature === 'string' && Number.isFinite(v.value) ? [{ feature, value: v.value }] : [];
  });
}
