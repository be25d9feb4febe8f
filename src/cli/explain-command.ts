// `rollguard explain`: one RolloutAssessment in full, for a person deciding what to do about a rollout: the
// features with their units, the missing ones, reasons, hard rules, findings, template changes, each action,
// each verification step, and the outcome. Optionally (--narrative) a three-sentence summary from an
// OpenAI-compatible LLM endpoint after the plain explanation; it is never part of any decision.
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { assessmentLabels, labelValue, rolloutAssessmentName } from '../api/assessment.js';
import { durationMs } from '../api/duration.js';
import { parsePolicySpec } from '../api/policy.js';
import { apiClusterView } from '../controller/cluster-view.js';
import type { AssessmentObject } from '../api/objects.js';
import { apiMessage, isNotFound } from '../kube/errors.js';
import { assessmentResource } from '../api/resources.js';
import { FEATURE_CONTRACT } from '../model/contract.js';
import { defaultNarrativeTimeoutMs, narrate } from '../narrative/narrate.js';
import { narrativeFactsOf, type NarrativeResult } from '../narrative/prompt.js';
import {
  contextNamespace,
  errorLine,
  formatAge,
  formatNumber,
  connectCluster,
  nowOf,
  parseCommandLine,
  processIO,
  renderTable,
  section,
  toJson,
  UsageError,
  type CommandIO,
} from './output.js';

export const explainHelp = `Usage: rollguard explain ASSESSMENT [options]

Shows one RolloutAssessment in full: the score, level and who scored it; every feature with its value and
unit, and the features that were missing; the reasons, the hard rules that fired, what the checks found in
the pod template and what changed in it; each action rollguard took or saw; each verification step (time,
metric, value, baseline, limit, verdict) and the outcome.

ASSESSMENT is the RolloutAssessment's name (as 'rollguard history' and 'kubectl get ra' list them) or
DEPLOYMENT/REVISION, e.g. checkout/7.

With --narrative it also asks an OpenAI-compatible chat-completions endpoint (e.g. a local Ollama) for a
three-sentence summary, printed after the plain explanation. It is off by default and never part of any
decision; the model sees only what the assessment records and is told not to add facts. When the endpoint
is down or slow, "narrative unavailable: …" is printed instead and the exit code is unaffected.

Options:
  -n, --namespace NAME     the assessment's namespace (default: the kubeconfig context's)
  --kubeconfig PATH        kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --json                   print one JSON object instead of text
  --narrative              add a summary from the LLM endpoint
  --llm-endpoint URL       its API base, e.g. http://localhost:11434/v1 (or $ROLLGUARD_LLM_ENDPOINT,
                           or the policy's spec.narrative.endpoint)
  --llm-model NAME         the model to ask, e.g. llama3.2 (or $ROLLGUARD_LLM_MODEL, or spec.narrative.model)
  --llm-timeout DURATION   how long to wait for it (default ${defaultNarrativeTimeoutMs / 1000}s)
  --llm-api-key-secret NAMESPACE/NAME
                           read the API key from key "api-key" of this Secret (or $ROLLGUARD_LLM_API_KEY_SECRET)
                           An API key, when the endpoint needs one, is read from $ROLLGUARD_LLM_API_KEY or that
                           Secret (never a flag, so it stays out of shell history and process lists). It is
                           sent only to an endpoint given by --llm-endpoint or $ROLLGUARD_LLM_ENDPOINT, never
                           to one a policy names: anyone who can edit a policy could otherwise collect it.
  -h, --help               show this help

Examples:
  rollguard explain checkout-7 -n shop
  rollguard explain checkout/7 -n shop --json | jq '.status.verification.steps'
  rollguard explain checkout/7 -n shop --narrative --llm-endpoint http://localhost:11434/v1 --llm-model llama3.2
`;

const options = {
  namespace: { type: 'string', short: 'n' },
  kubeconfig: { type: 'string' },
  json: { type: 'boolean' },
  narrative: { type: 'boolean' },
  'llm-endpoint': { type: 'string' },
  'llm-model': { type: 'string' },
  'llm-timeout': { type: 'string' },
  'llm-api-key-secret': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What ASSESSMENT names: an object name, or a Deployment and revision. */
export type AssessmentRef = { name: string } | { deployment: string; revision: number };

export function parseAssessmentRef(text: string): AssessmentRef {
  const slash = text.indexOf('/');
  if (slash < 0) {
    if (text.trim() === '') throw new UsageError('name the assessment: NAME or DEPLOYMENT/REVISION');
    return { name: text };
  }
  const deployment = text.slice(0, slash);
  const revision = text.slice(slash + 1);
  if (deployment === '' || !/^\d+$/.test(revision) || Number(revision) < 1) {
    throw new UsageError(`"${text}" is neither a name nor DEPLOYMENT/REVISION such as checkout/7`);
  }
  return { deployment, revision: Number(revision) };
}

async function findAssessment(
  kc: KubeConfig,
  namespace: string,
  ref: AssessmentRef,
): Promise<AssessmentObject | undefined> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  if (!('name' in ref)) {
    // By its labels first: a Deployment deleted and created again under the same name has its own assessment
    // of this revision (under a tagged name), and the newest is the one about the Deployment there now.
    const list = (await custom.listNamespacedCustomObject({
      ...assessmentResource,
      namespace,
      labelSelector: `${assessmentLabels.deployment}=${labelValue(ref.deployment)},${assessmentLabels.revision}=${ref.revision}`,
    })) as { items: AssessmentObject[] };
    const newest = list.items
      .filter((a) => a.spec?.deployment === ref.deployment)
      .sort((a, b) => createdAt(b) - createdAt(a))[0];
    if (newest) return newest;
  }
  const name = 'name' in ref ? ref.name : rolloutAssessmentName(ref.deployment, ref.revision);
  try {
    return (await custom.getNamespacedCustomObject({ ...assessmentResource, namespace, name })) as AssessmentObject;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  return undefined;
}

function createdAt(a: AssessmentObject): number {
  const at = a.metadata?.creationTimestamp;
  return at === undefined ? 0 : new Date(at).getTime();
}

export interface FeatureRow {
  name: string;
  value: number;
  unit: string;
  source: string;
  description: string;
}

/** The recorded features in contract order with the contract's units; names outside the contract at the end. */
export function featureRows(features: Record<string, number> | undefined): FeatureRow[] {
  const recorded = features ?? {};
  const rows: FeatureRow[] = [];
  for (const spec of FEATURE_CONTRACT) {
    const value = recorded[spec.name];
    if (value !== undefined) {
      rows.push({ name: spec.name, value, unit: spec.unit, source: spec.source, description: spec.description });
    }
  }
  const known = new Set<string>(FEATURE_CONTRACT.map((f) => f.name));
  for (const [name, value] of Object.entries(recorded)) {
    if (!known.has(name))
      rows.push({ name, value, unit: '?', source: '?', description: 'not in this rollguard’s feature contract' });
  }
  return rows;
}

/** A timestamp as recorded: custom objects come back as JSON, so metadata times may be strings or Dates. */
function isoOf(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

function when(at: string | undefined, now: Date): string {
  if (at === undefined) return '-';
  return `${at} (${formatAge(new Date(at), now)} ago)`;
}

export function renderExplanation(a: AssessmentObject, now: Date): string {
  const s = a.status ?? {};
  const spec = a.spec ?? {};
  const out: string[] = [];
  const previous = spec.previousRevision !== undefined ? ` (previous ${spec.previousRevision})` : '';
  out.push(
    `RolloutAssessment ${a.metadata?.namespace ?? ''}/${a.metadata?.name ?? ''}: Deployment ${spec.deployment ?? '?'}, revision ${spec.revision ?? '?'}${previous}\n`,
  );
  out.push(
    `  policy ${spec.policy ?? '?'} (${s.mode ?? '?'} mode), assessed ${when(s.assessedAt ?? isoOf(a.metadata?.creationTimestamp), now)}\n`,
  );
  const scorer = s.scorer === 'model' ? `model ${s.modelVersion ?? ''}`.trim() : (s.scorer ?? '?');
  out.push(`  score ${formatNumber(s.score)}, level ${s.level ?? '?'}, scored by ${scorer}\n`);
  out.push(`  phase ${s.phase ?? '?'}, outcome ${s.outcome ?? '?'}\n`);
  if (s.changeType !== undefined || s.commit !== undefined) {
    out.push(`  change ${s.changeType ?? '?'}${s.commit ? `, commit ${s.commit}` : ''}\n`);
  }
  out.push('\n');
  out.push(section('Reasons', s.reasons ?? [], 'none recorded'));
  out.push(section('Hard rules', s.hardRules ?? [], 'none fired'));
  out.push(section('Findings', s.findings ?? [], 'none'));
  out.push(section('Template changes', s.templateChanges ?? [], 'none (or no previous template)'));
  out.push(section('Ignored annotations', s.annotationWarnings ?? []));
  if (s.liveSignals) out.push(`Live signals before the rollout: missing (${s.liveSignals})\n`);
  if (s.modelError) out.push(`Model error: ${s.modelError}\n`);

  const rows = featureRows(s.features);
  out.push(`\nFeatures (${rows.length} known):\n`);
  out.push(
    rows.length === 0
      ? '  none\n'
      : renderTable(
          ['FEATURE', 'VALUE', 'UNIT', 'FROM'],
          rows.map((r) => [r.name, formatNumber(r.value), r.unit, r.source]),
          '  ',
        ),
  );
  const missing = s.missingFeatures ?? [];
  out.push(`Missing features (${missing.length}): ${missing.length === 0 ? 'none' : missing.join(', ')}\n`);

  const actions = s.actions ?? [];
  out.push(`\nActions (${actions.length}):\n`);
  out.push(
    actions.length === 0
      ? '  none\n'
      : renderTable(
          ['TIME', 'ACTION', 'BY', 'MESSAGE'],
          actions.map((x) => [x.at, x.type, x.by ?? '-', x.message]),
          '  ',
        ),
  );
  if (s.approval) out.push(`Approved by ${s.approval.by} at ${s.approval.at} (revision ${s.approval.revision})\n`);

  const v = s.verification;
  if (!v) {
    out.push('\nVerification: not started\n');
  } else {
    out.push(`\nVerification: ${v.state ?? '?'}${v.message ? ` — ${v.message}` : ''}\n`);
    const facts = [
      v.startedAt ? `started ${v.startedAt}` : '',
      v.rolloutCompletedAt ? `rollout completed ${v.rolloutCompletedAt}` : '',
      v.deadline ? `deadline ${v.deadline}` : '',
      v.completedAt ? `completed ${v.completedAt}` : '',
      v.baselineErrorRate !== undefined ? `baseline error rate ${formatNumber(v.baselineErrorRate, 4)}` : '',
      v.baselineLatencySeconds !== undefined ? `baseline p99 ${formatNumber(v.baselineLatencySeconds, 3)} s` : '',
    ].filter((f) => f !== '');
    if (facts.length > 0) out.push(`  ${facts.join(', ')}\n`);
    const steps = v.steps ?? [];
    out.push(
      steps.length === 0
        ? '  no checks yet\n'
        : renderTable(
            ['TIME', 'METRIC', 'VALUE', 'BASELINE', 'LIMIT', 'VERDICT', 'MESSAGE'],
            steps.map((step) => [
              step.at,
              step.metric,
              formatNumber(step.value, 4),
              formatNumber(step.baseline, 4),
              formatNumber(step.limit, 4),
              step.verdict,
              step.message ?? '',
            ]),
            '  ',
          ),
    );
  }
  out.push(`\nOutcome: ${s.outcome ?? 'unknown'}${s.phase ? ` (phase ${s.phase})` : ''}\n`);
  return out.join('');
}

export function renderNarrative(result: NarrativeResult, model: string): string {
  if ('text' in result) {
    return `\nNarrative (written by ${model} from the facts above; not part of any decision):\n  ${result.text}\n`;
  }
  return `\nnarrative unavailable: ${result.unavailable}\n`;
}

export interface NarrativeSettings {
  /** From --llm-endpoint or the environment; else the assessment's policy (spec.narrative) supplies it. */
  endpoint?: string | undefined;
  model?: string | undefined;
  /** From $ROLLGUARD_LLM_API_KEY; read from the Secret later when only the Secret is named. */
  apiKey?: string | undefined;
  /** `namespace/name` of a Secret whose `api-key` holds the key. */
  apiKeySecret?: { namespace: string; name: string } | undefined;
  timeoutMs?: number | undefined;
}

/** Where the narrative goes and with what: pure, so the rule about the key is tested on its own. */
export function narrativeTarget(
  settings: NarrativeSettings,
  fromPolicy: { endpoint?: string | undefined; model?: string | undefined; timeoutMs?: number | undefined } | undefined,
  apiKey: string | undefined,
): { endpoint: string | undefined; model: string | undefined; timeoutMs: number | undefined; apiKey?: string } {
  const endpoint = settings.endpoint ?? fromPolicy?.endpoint;
  return {
    endpoint,
    model: settings.model ?? fromPolicy?.model,
    timeoutMs: settings.timeoutMs ?? fromPolicy?.timeoutMs,
    // The key goes only where the person running this command (or its environment) pointed it.
    ...(settings.endpoint !== undefined && apiKey !== undefined ? { apiKey } : {}),
  };
}

function parseSecretRef(raw: string | undefined): { namespace: string; name: string } | undefined {
  if (raw === undefined) return undefined;
  const match = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(raw);
  if (!match?.[1] || !match[3]) {
    throw new UsageError(`--llm-api-key-secret must be NAMESPACE/NAME, e.g. rollguard-system/llm, not "${raw}"`);
  }
  return { namespace: match[1], name: match[3] };
}

function narrativeSettings(values: {
  narrative?: boolean | undefined;
  'llm-endpoint'?: string | undefined;
  'llm-model'?: string | undefined;
  'llm-timeout'?: string | undefined;
  'llm-api-key-secret'?: string | undefined;
}): NarrativeSettings | undefined {
  const endpoint = values['llm-endpoint'] ?? process.env.ROLLGUARD_LLM_ENDPOINT;
  const model = values['llm-model'] ?? process.env.ROLLGUARD_LLM_MODEL;
  if (!values.narrative) {
    if (
      values['llm-endpoint'] !== undefined ||
      values['llm-model'] !== undefined ||
      values['llm-timeout'] !== undefined ||
      values['llm-api-key-secret'] !== undefined
    ) {
      throw new UsageError(
        '--llm-endpoint, --llm-model, --llm-timeout and --llm-api-key-secret only apply with --narrative',
      );
    }
    return undefined;
  }
  const apiKeySecret = parseSecretRef(values['llm-api-key-secret'] ?? process.env.ROLLGUARD_LLM_API_KEY_SECRET);
  let timeoutMs: number | undefined;
  if (values['llm-timeout'] !== undefined) {
    const ms = durationMs(values['llm-timeout']);
    if (ms === undefined || ms <= 0) {
      throw new UsageError(`--llm-timeout must be a duration such as 10s or 1m, not "${values['llm-timeout']}"`);
    }
    timeoutMs = ms;
  }
  return { endpoint, model, apiKey: process.env.ROLLGUARD_LLM_API_KEY, apiKeySecret, timeoutMs };
}

async function readApiKey(kc: KubeConfig, ref: { namespace: string; name: string }): Promise<string> {
  const secret = await kc.makeApiClient(CoreV1Api).readNamespacedSecret(ref);
  const value = secret.data?.['api-key'];
  if (value === undefined) throw new Error(`Secret ${ref.namespace}/${ref.name} has no key "api-key"`);
  return Buffer.from(value, 'base64').toString('utf8').trim();
}

/**
 * The narrative, with what the command line or environment did not say taken from the assessment's policy
 * (spec.narrative), so a team names its endpoint once. Never throws: a missing endpoint is "unavailable".
 */
async function narrateWith(
  kc: KubeConfig,
  namespace: string,
  assessment: AssessmentObject,
  settings: NarrativeSettings,
): Promise<{ result: NarrativeResult; model: string }> {
  let fromPolicy: { endpoint?: string; model?: string; timeoutMs?: number } | undefined;
  if (settings.endpoint === undefined || settings.model === undefined || settings.timeoutMs === undefined) {
    const policyName = assessment.spec?.policy;
    const policy = policyName
      ? (
          await apiClusterView(kc)
            .policies(namespace)
            .catch(() => [])
        ).find((p) => p.metadata?.name === policyName)
      : undefined;
    const parsed = policy ? parsePolicySpec(policy.spec) : undefined;
    const narrative = parsed?.ok ? parsed.value.narrative : undefined;
    if (narrative) {
      const policyTimeoutMs = durationMs(narrative.timeout);
      fromPolicy = {
        ...(narrative.endpoint === undefined ? {} : { endpoint: narrative.endpoint }),
        ...(narrative.model === undefined ? {} : { model: narrative.model }),
        ...(policyTimeoutMs === undefined ? {} : { timeoutMs: policyTimeoutMs }),
      };
    }
  }
  let apiKey = settings.apiKey;
  if (apiKey === undefined && settings.apiKeySecret !== undefined && settings.endpoint !== undefined) {
    try {
      apiKey = await readApiKey(kc, settings.apiKeySecret);
    } catch (err) {
      return {
        model: settings.model ?? 'none',
        result: { unavailable: `cannot read the API key: ${apiMessage(err)}` },
      };
    }
  }
  const { endpoint, model, timeoutMs, ...key } = narrativeTarget(settings, fromPolicy, apiKey);
  if (!endpoint || !model) {
    return {
      model: model ?? 'none',
      result: {
        unavailable:
          'no language model named: set spec.narrative.endpoint and spec.narrative.model in the policy, or pass --llm-endpoint and --llm-model',
      },
    };
  }
  const result = await narrate(narrativeFactsOf(assessment), {
    endpoint,
    model,
    apiKey: key.apiKey,
    timeoutMs: timeoutMs ?? defaultNarrativeTimeoutMs,
  });
  return { result, model };
}

export async function runExplainCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  let values;
  let ref: AssessmentRef;
  let narrativeWith: NarrativeSettings | undefined;
  let kc: KubeConfig;
  try {
    const parsed = parseCommandLine(argv, options);
    values = parsed.values;
    if (values.help) {
      io.stdout(explainHelp);
      return 0;
    }
    const [target, ...rest] = parsed.positionals;
    if (target === undefined) throw new UsageError('name the assessment: NAME or DEPLOYMENT/REVISION');
    if (rest.length > 0) throw new UsageError(`name one assessment, not "${parsed.positionals.join(' ')}"`);
    ref = parseAssessmentRef(target);
    narrativeWith = narrativeSettings(values);
    kc = await connectCluster(values.kubeconfig);
  } catch (err) {
    io.stderr(`rollguard explain: ${errorLine(err)}\n`);
    return 2;
  }
  const namespace = values.namespace ?? contextNamespace(kc);
  let assessment: AssessmentObject | undefined;
  try {
    assessment = await findAssessment(kc, namespace, ref);
  } catch (err) {
    io.stderr(`rollguard explain: cannot read RolloutAssessments in namespace ${namespace}: ${apiMessage(err)}\n`);
    return 1;
  }
  if (!assessment) {
    const named = 'name' in ref ? ref.name : `${ref.deployment}/${ref.revision}`;
    const hint =
      'name' in ref ? `; 'rollguard history -n ${namespace} ${ref.name}' lists a Deployment's assessments` : '';
    io.stderr(`rollguard explain: no RolloutAssessment ${named} in namespace ${namespace}${hint}\n`);
    return 1;
  }
  const narrative = narrativeWith ? await narrateWith(kc, namespace, assessment, narrativeWith) : undefined;
  if (values.json) {
    io.stdout(
      toJson({
        name: assessment.metadata?.name,
        namespace: assessment.metadata?.namespace,
        spec: assessment.spec,
        status: assessment.status,
        features: featureRows(assessment.status?.features),
        ...(narrative ? { narrative: narrative.result } : {}),
      }),
    );
    return 0;
  }
  io.stdout(renderExplanation(assessment, nowOf(io)));
  if (narrative) io.stdout(renderNarrative(narrative.result, narrative.model));
  return 0;
}
