// `rollguard score`: the assessment the controller would make for a Deployment manifest now, before it is
// applied, so a CI step can fail on a risky change. Reads the manifest (YAML or JSON, one or several
// documents, a List), optionally a DeploymentRiskPolicy file, and scores every Deployment in it with
// scoreManifest — the controller's own scoring — using the cluster (governing policy, running template,
// history, the policy's Prometheus) when it can be reached and saying which features are missing when not.
import { readFile } from 'node:fs/promises';
import type { KubeConfig } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import type { Assessment } from '../assess/assess.js';
import { describeClock, parseRfc3339 } from '../assess/clock.js';
import type { FieldError } from '../api/issues.js';
import { parsePolicySpec, riskLevels, type PolicySpec, type RiskLevel } from '../api/policy.js';
import { apiClusterView } from '../controller/cluster-view.js';
import { PrometheusLiveSignals } from '../controller/live-signals.js';
import { loadModelSource } from '../controller/model-source.js';
import { KubeSecretReader, PrometheusAccess, type SecretReader } from '../controller/prometheus-access.js';
import { scoreManifest, type ClusterView, type ManifestScoringDeps } from '../controller/score-manifest.js';
import { defaultedByServer } from '../kube/dry-run.js';
import { apiMessage } from '../kube/errors.js';
import { FEATURE_CONTRACT } from '../model/contract.js';
import { createLogger } from '../telemetry/logger.js';
import { OperatorMetrics } from '../telemetry/metrics.js';
import {
  deploymentsIn,
  describeObject,
  helmTemplateError,
  jsonPatchError,
  skippedWorkloads,
} from './manifest-input.js';
import {
  contextNamespace,
  errorLine,
  formatNumber,
  kubeConfigFrom,
  nowOf,
  parseCommandLine,
  probeApiServer,
  processIO,
  section,
  toJson,
  UsageError,
  type CommandIO,
} from './output.js';

/** Exit codes by level when --fail-on is not given: a CI step fails on rollback-ready and block. */
export const levelExitCodes = { safe: 0, monitor: 0, 'rollback-ready': 10, block: 20 } as const satisfies Record<
  RiskLevel,
  number
>;

/** How long the API server gets to answer before the cluster counts as unreachable. */
export const clusterProbeTimeoutMs = 5000;

export const scoreHelp = `Usage: rollguard score -f FILE [options]

Scores a Deployment manifest the way the rollguard controller would score its rollout now, before you apply
it: the risk score (0 to 1), the level, the reasons, the hard rules that fired, what the checks found in the
pod template, what changed against the running Deployment, and which features were missing. The scoring is
the controller's own; only the inputs differ.

With a reachable cluster (your kubeconfig) it also uses what the controller would: the DeploymentRiskPolicy
that covers the Deployment, the running Deployment to compare the template with, this Deployment's past
rollouts, and the live error rate and latency from the policy's Prometheus. The manifest first goes through
a server-side dry run (as 'kubectl diff' does; nothing is stored), so the API server's defaults do not count
as changes; that needs the right to patch Deployments, and without it the manifest is compared as written.
Without a cluster it scores the manifest alone and says which features were missing. The change
description is read from the rollguard.io/* annotations on the pod template (see 'rollguard change-metrics').

Options:
  -f, --filename FILE      the manifest: YAML or JSON, one or several documents or a List; every
                           apps/v1 Deployment in it is scored, other kinds are skipped. '-' reads stdin
  --policy FILE            score under this DeploymentRiskPolicy (YAML or JSON) instead of the one in the
                           cluster; it is validated as the API server would
  -n, --namespace NAME     namespace for manifests that name none (default: the kubeconfig context's)
  --kubeconfig PATH        use this kubeconfig; the cluster is then required (see exit code 2)
  --no-cluster             do not contact the Kubernetes API (the --policy's Prometheus is still asked)
  --model-dir DIR          the risk model (default: the model shipped in models/default)
  --at TIME                score as of this moment, an RFC 3339 time such as 2026-12-01T14:00:00Z or
                           2026-12-01T15:00:00+01:00 (for a planned release, or a CI verdict that does not
                           depend on when CI runs); default: now
  --fail-on LEVEL          exit 1 when any Deployment scores LEVEL or higher, else 0 (monitor,
                           rollback-ready or block); replaces the exit codes by level below
  --json                   print one JSON object instead of text
  -h, --help               show this help

Time of day is a factor: a release at the weekend, late on a Friday or out of hours (before 07:00 or from
19:00 in the policy's time zone, UTC by default) scores higher, so the same manifest can move from safe to
monitor when the clock passes 19:00. Every output says the moment and time zone it scored for; pass --at to
fix it.

Exit codes (by the highest level among the Deployments):
  0   safe or monitor
  10  rollback-ready
  20  block (the controller would pause this rollout for approval in enforce mode)
  1   with --fail-on: a Deployment reached that level
  2   nothing was scored: a usage error, a file that cannot be read or holds no Deployment, an invalid
      --policy, or a cluster named by --kubeconfig that cannot be reached in ${clusterProbeTimeoutMs / 1000} s

The cluster: without --kubeconfig, the default kubeconfig ($KUBECONFIG, ~/.kube/config, in-cluster) is
tried, and a cluster that cannot be reached is a note, not an error: the manifest is scored without it.
With --kubeconfig you asked for that cluster, so not reaching it fails the command (exit 2) rather than
quietly scoring with less.

Examples:
  rollguard score -f deploy/checkout.yaml
  rollguard score -f deploy/checkout.yaml --policy deploy/policy.yaml --no-cluster
  kustomize build overlays/prod | rollguard score -f - --fail-on rollback-ready
  rollguard score -f checkout.yaml --kubeconfig ~/.kube/staging --json | jq '.results[].level'
  rollguard score -f checkout.yaml --at 2026-12-03T10:00:00+01:00   # the planned release window
`;

const options = {
  filename: { type: 'string', short: 'f' },
  policy: { type: 'string' },
  namespace: { type: 'string', short: 'n' },
  kubeconfig: { type: 'string' },
  'no-cluster': { type: 'boolean' },
  'model-dir': { type: 'string' },
  'fail-on': { type: 'string' },
  at: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

// ---------------------------------------------------------------------------------------------------------
// Reading the files (pure but for reading them)

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every object in a YAML or JSON text of one or more documents, Lists flattened; a syntax error throws. */
export function parseObjects(text: string, file: string): Record<string, unknown>[] {
  const objects: Record<string, unknown>[] = [];
  const add = (value: unknown) => {
    if (!isRecord(value)) return;
    if (typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) {
      for (const item of value.items) add(item);
    } else {
      objects.push(value);
    }
  };
  const helm = helmTemplateError(text, file);
  if (helm) throw helm;
  for (const doc of parseAllDocuments(text)) {
    const [problem] = doc.errors;
    if (problem) throw new UsageError(`${file} is not valid YAML or JSON: ${errorLine(problem)}`);
    const value: unknown = doc.toJS();
    const patch = jsonPatchError(value, file);
    if (patch) throw patch;
    add(value);
  }
  return objects;
}

export class PolicyFileError extends UsageError {
  constructor(
    file: string,
    readonly errors: readonly FieldError[],
  ) {
    super(`${file} is not a valid DeploymentRiskPolicy: ${errors.length} problem${errors.length === 1 ? '' : 's'}`);
  }
}

/**
 * The spec of the DeploymentRiskPolicy in a file (the first one, when there are several documents), with
 * every default filled in, or a PolicyFileError listing each invalid field as kubectl would name it.
 */
export function policyFromObjects(objects: readonly Record<string, unknown>[], file: string): PolicySpec {
  const policy = objects.find((o) => o.kind === 'DeploymentRiskPolicy');
  if (!policy) {
    const found = objects.length === 0 ? 'nothing' : objects.map(describeObject).join(', ');
    throw new UsageError(`${file} holds no DeploymentRiskPolicy (found ${found})`);
  }
  const parsed = parsePolicySpec(policy.spec);
  if (!parsed.ok) throw new PolicyFileError(file, parsed.errors);
  return parsed.value;
}

// ---------------------------------------------------------------------------------------------------------
// Exit codes

export function levelRank(level: RiskLevel): number {
  return riskLevels.indexOf(level);
}

export function highestLevel(levels: readonly RiskLevel[]): RiskLevel {
  return levels.reduce<RiskLevel>((high, level) => (levelRank(level) > levelRank(high) ? level : high), 'safe');
}

/** The exit code for the highest level: by level (0, 0, 10, 20), or 1/0 at or above --fail-on. */
export function exitCodeFor(level: RiskLevel, failOn?: RiskLevel): number {
  if (failOn !== undefined) return levelRank(level) >= levelRank(failOn) ? 1 : 0;
  return levelExitCodes[level];
}

function parseLevel(value: string | undefined): RiskLevel | undefined {
  if (value === undefined) return undefined;
  const level = riskLevels.find((l) => l === value);
  if (!level || level === 'safe') {
    throw new UsageError(`--fail-on must be monitor, rollback-ready or block, not "${value}"`);
  }
  return level;
}

// ---------------------------------------------------------------------------------------------------------
// Output

export interface ScoredDeployment {
  namespace: string;
  name: string;
  score: number;
  level: RiskLevel;
  scorer: 'model' | 'rules';
  modelVersion?: string;
  modelError?: string;
  /** The policy whose thresholds and rules applied: its name, `(file)` for --policy, or `(defaults)`. */
  policy: string;
  mode: PolicySpec['mode'];
  /** The moment scored (RFC 3339, UTC) and the time zone its time-of-day features were taken in. */
  scoredAt: string;
  timeZone: string;
  reasons: string[];
  hardRules: string[];
  /** What the checks found; a credential also names its field, and warn means it does not block. */
  findings: { kind: string; container: string; message: string; field?: string; severity?: 'block' | 'warn' }[];
  templateChanges: string[];
  features: Assessment['features'];
  missingFeatures: string[];
  annotationWarnings: string[];
  changeType?: string;
  commit?: string;
  liveSignals?: string;
  notes: string[];
}

export interface ScoreReport {
  results: ScoredDeployment[];
  /** Workloads in the file that are not apps/v1 Deployments, which rollguard does not score. */
  skipped: string[];
  /** The highest level among the results: what the exit code follows. */
  level: RiskLevel;
  exitCode: number;
}

const sourceOf = new Map<string, string>(FEATURE_CONTRACT.map((f) => [f.name, f.source]));

/** Missing features grouped by where they would come from, e.g. "Prometheus: error_rate_before, …". */
export function missingBySource(missing: readonly string[]): string[] {
  const groups = new Map<string, string[]>();
  for (const name of missing) {
    const source = sourceOf.get(name) ?? 'unknown';
    groups.set(source, [...(groups.get(source) ?? []), name]);
  }
  return [...groups].map(([source, names]) => `${source}: ${names.join(', ')}`);
}

export function renderScoreText(report: ScoreReport, failOn?: RiskLevel): string {
  const parts = report.results.map((r) => {
    const model = r.scorer === 'model' ? `model ${r.modelVersion ?? ''}`.trim() : 'rules (no model)';
    const lines = [
      `${r.namespace}/${r.name}: score ${formatNumber(r.score)}, level ${r.level}\n`,
      `  scored as of ${r.scoredAt} (${describeClock(new Date(r.scoredAt), r.timeZone)}, the policy's time zone)\n`,
      `  policy ${r.policy} (${r.mode} mode), scored by ${model}${r.changeType ? `, change type ${r.changeType}` : ''}${r.commit ? `, commit ${r.commit}` : ''}\n`,
      section('Reasons', r.reasons),
      section('Hard rules', r.hardRules, 'none fired'),
      section(
        'Findings',
        r.findings.map((f) => (f.severity === 'warn' ? `(warning, does not block) ${f.message}` : f.message)),
        'none',
      ),
      section('Template changes', r.templateChanges, 'none (or nothing to compare with)'),
      section(`Missing features (${r.missingFeatures.length})`, missingBySource(r.missingFeatures), 'none'),
      section('Ignored annotations', r.annotationWarnings),
      r.modelError ? `Model error: ${r.modelError}\n` : '',
      section('Notes', r.notes),
    ];
    return lines.join('');
  });
  const skipped =
    report.skipped.length > 0
      ? `\nSkipped (rollguard scores apps/v1 Deployments only): ${report.skipped.join(', ')}\n`
      : '';
  const code = report.exitCode;
  const why =
    failOn !== undefined
      ? `exit ${code}: ${code === 1 ? `at or above --fail-on ${failOn}` : `below --fail-on ${failOn}`}`
      : `exit ${code}: highest level ${report.level}`;
  return `${parts.join('\n')}${skipped}\n${why}\n`;
}

function toScored(
  namespace: string,
  name: string,
  result: Awaited<ReturnType<typeof scoreManifest>>,
  at: Date,
): ScoredDeployment {
  const a = result.assessment;
  const scored: ScoredDeployment = {
    namespace,
    name,
    score: a.score,
    level: a.level,
    scorer: a.scorer,
    policy: result.policy,
    mode: result.mode,
    scoredAt: at.toISOString(),
    timeZone: result.timeZone,
    reasons: a.reasons,
    hardRules: a.hardRules,
    findings: a.findings.map((f) => ({
      kind: f.kind,
      container: f.container,
      message: f.message,
      ...(f.field !== undefined ? { field: f.field } : {}),
      ...(f.severity !== undefined ? { severity: f.severity } : {}),
    })),
    templateChanges: a.templateChanges,
    features: a.features,
    missingFeatures: a.missingFeatures,
    annotationWarnings: a.annotationWarnings.map((w) => `${w.annotation}=${JSON.stringify(w.value)} ${w.problem}`),
    notes: result.notes,
  };
  if (a.modelVersion !== undefined) scored.modelVersion = a.modelVersion;
  if (a.modelError !== undefined) scored.modelError = a.modelError;
  if (a.changeType !== undefined) scored.changeType = a.changeType;
  if (a.commit !== undefined) scored.commit = a.commit;
  if (a.liveUnavailable !== undefined) scored.liveSignals = a.liveUnavailable;
  return scored;
}

// ---------------------------------------------------------------------------------------------------------
// The command

/** Secrets cannot be read without a cluster: a policy whose Prometheus needs one gets this as the reason. */
const noClusterSecrets: SecretReader = {
  read(namespace, name) {
    return Promise.reject(new Error(`no cluster to read Secret ${namespace}/${name} from`));
  },
};

/** The view with the API server's own message in its errors (client-node's carry every header and the body). */
function readableErrors(view: ClusterView): ClusterView {
  const readable = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      throw new Error(apiMessage(err), { cause: err });
    }
  };
  return {
    deployment: (namespace, name) => readable(() => view.deployment(namespace, name)),
    policies: (namespace) => readable(() => view.policies(namespace)),
    assessments: (namespace) => readable(() => view.assessments(namespace)),
  };
}

interface ClusterChoice {
  kc?: KubeConfig;
  /** Said before scoreManifest's own "no cluster" note, when the cluster was wanted but not reached. */
  note?: string;
}

async function chooseCluster(kubeconfig: string | undefined, noCluster: boolean): Promise<ClusterChoice> {
  if (noCluster) return { note: '--no-cluster: the Kubernetes API was not contacted' };
  if (kubeconfig !== undefined) {
    const kc = kubeConfigFrom(kubeconfig);
    const probe = await probeApiServer(kc, clusterProbeTimeoutMs);
    if (!probe.ok) {
      throw new UsageError(`${probe.reason} (from --kubeconfig ${kubeconfig}); pass --no-cluster to score without it`);
    }
    return { kc };
  }
  let kc: KubeConfig;
  try {
    kc = kubeConfigFrom(undefined);
  } catch (err) {
    return { note: `${errorLine(err)}: scored without a cluster` };
  }
  const probe = await probeApiServer(kc, clusterProbeTimeoutMs);
  if (!probe.ok) return { note: `the cluster could not be reached: ${probe.reason}` };
  return { kc };
}

async function readInput(file: string, io: CommandIO): Promise<string> {
  if (file === '-') {
    if (!io.readStdin) throw new UsageError('-f - needs a standard input');
    return io.readStdin();
  }
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${errorLine(err)}`);
  }
}

export async function runScoreCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  try {
    const { values, positionals } = parseCommandLine(argv, options);
    if (values.help) {
      io.stdout(scoreHelp);
      return 0;
    }
    if (positionals.length > 0) {
      throw new UsageError(`unexpected argument "${positionals.join(' ')}": name the manifest with -f FILE`);
    }
    const file = values.filename;
    if (file === undefined || file === '') throw new UsageError('name the manifest to score with -f FILE');
    if (values['no-cluster'] && values.kubeconfig !== undefined) {
      throw new UsageError('--no-cluster and --kubeconfig contradict each other: pass one of them');
    }
    const failOn = parseLevel(values['fail-on']);
    const at = values.at === undefined ? nowOf(io) : parseRfc3339(values.at);
    if (at === undefined) {
      throw new UsageError(
        `--at must be an RFC 3339 time with a zone, e.g. 2026-12-01T14:00:00Z or 2026-12-01T15:00:00+01:00, not "${values.at ?? ''}"`,
      );
    }

    const objects = parseObjects(await readInput(file, io), file);
    const manifests = deploymentsIn(objects, file);
    let policy: PolicySpec | undefined;
    if (values.policy !== undefined) {
      const policyFile = values.policy;
      let text: string;
      try {
        text = await readFile(policyFile, 'utf8');
      } catch (err) {
        throw new UsageError(`cannot read ${policyFile}: ${errorLine(err)}`);
      }
      policy = policyFromObjects(parseObjects(text, policyFile), policyFile);
    }

    const cluster = await chooseCluster(values.kubeconfig, values['no-cluster'] ?? false);
    const quiet = createLogger('silent');
    const model = await loadModelSource(values['model-dir'], quiet, new OperatorMetrics({ defaultMetrics: false }));
    if (values['model-dir'] !== undefined && !model.current()) {
      throw new UsageError(
        `cannot load a model from --model-dir ${values['model-dir']}; rollguard doctor --model-dir ${values['model-dir']} says why`,
      );
    }
    const access = new PrometheusAccess(cluster.kc ? new KubeSecretReader(cluster.kc) : noClusterSecrets);
    const deps: ManifestScoringDeps = {
      cluster: cluster.kc ? readableErrors(apiClusterView(cluster.kc)) : undefined,
      live: new PrometheusLiveSignals(access),
      model: model.current(),
      now: at,
    };
    const fallbackNamespace = values.namespace ?? (cluster.kc ? contextNamespace(cluster.kc) : undefined);

    const results: ScoredDeployment[] = [];
    for (const written of manifests) {
      const namespace = written.metadata?.namespace ?? fallbackNamespace ?? 'default';
      let manifest = written;
      const notes: string[] = cluster.note ? [cluster.note] : [];
      if (cluster.kc) {
        const server = await defaultedByServer(cluster.kc, written, namespace);
        if ('manifest' in server) manifest = server.manifest;
        else notes.push(server.note);
      }
      const result = await scoreManifest(manifest, { policy, namespace }, deps);
      result.notes.unshift(...notes);
      results.push(toScored(namespace, written.metadata?.name ?? '(unnamed)', result, at));
    }
    const level = highestLevel(results.map((r) => r.level));
    const report: ScoreReport = {
      results,
      skipped: skippedWorkloads(objects),
      level,
      exitCode: exitCodeFor(level, failOn),
    };
    io.stdout(values.json ? toJson(report) : renderScoreText(report, failOn));
    return report.exitCode;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`rollguard score: ${err.message}\n`);
      if (err instanceof PolicyFileError) {
        for (const e of err.errors) io.stderr(`  ${e.path}: ${e.message}\n`);
      }
      return 2;
    }
    io.stderr(`rollguard score: ${errorLine(err)}\n`);
    return 2;
  }
}
