// The DeploymentRiskPolicy resource (rollguard.io/v1alpha1): the zod schema of its spec and status, which is
// the single source of the CRD in crds/, the parse that fills in defaults, and the risk levels it defines.
import { z } from 'zod';
import { durationFieldSchema, durationMs, positiveDurationSchema } from './duration.js';
import { parseFields, type ParseResult } from './issues.js';
import { queryTemplateCelRule, queryTemplateProblem } from './query-template.js';
import { conditionsSchema, objectNameSchema, secretKeyRefSchema } from './meta.js';
import { labelSelectorSchema } from './selector.js';
import { credentialSeverities, type CredentialSeverity } from '../assess/credentials.js';

// ---------------------------------------------------------------------------------------------------------
// Risk levels

/** The four risk levels, from lowest to highest; a score falls into the highest level whose threshold it reaches. */
export const riskLevels = ['safe', 'monitor', 'rollback-ready', 'block'] as const;
export type RiskLevel = (typeof riskLevels)[number];

/** The key under spec.levels for each risk level (field names cannot carry the dash). */
export const levelSpecKey = {
  safe: 'safe',
  monitor: 'monitor',
  'rollback-ready': 'rollbackReady',
  block: 'block',
} as const satisfies Record<RiskLevel, string>;
export type LevelSpecKey = (typeof levelSpecKey)[RiskLevel];

export interface Thresholds {
  monitor: number;
  rollbackReady: number;
  block: number;
}

/**
 * The level of a risk score: below `monitor` is safe, then monitor, rollback-ready, and block from `block`
 * up; each threshold belongs to the level it starts. Throws a RangeError for NaN, which no scorer may return.
 */
export function levelFor(score: number, thresholds: Thresholds): RiskLevel {
  if (Number.isNaN(score)) throw new RangeError('a risk score must be a number, not NaN');
  if (score >= thresholds.block) return 'block';
  if (score >= thresholds.rollbackReady) return 'rollback-ready';
  if (score >= thresholds.monitor) return 'monitor';
  return 'safe';
}

// ---------------------------------------------------------------------------------------------------------
// Spec

export const policyModes = ['enforce', 'advisory', 'shadow'] as const;
export type PolicyMode = (typeof policyModes)[number];
export const noDataBehaviours = ['hold', 'pass', 'fail'] as const;
export const providerErrorBehaviours = ['hold', 'fail'] as const;
export const gitOpsBehaviours = ['pause', 'undo', 'alert'] as const;

/** The placeholders a query template may use; anything else in {{...}} is a mistake. */
export const queryPlaceholders = [
  'namespace',
  'deployment',
  'podTemplateHash',
  'window',
  'deploymentRegex',
  'hashRegex',
] as const;

/** Error ratio per Deployment and ReplicaSet from the standard http_requests_total{code} counter. */
export const defaultErrorRateQuery =
  'sum by (deployment, pod_template_hash) (rate(http_requests_total{namespace="{{namespace}}",deployment=~"{{deploymentRegex}}",code=~"5.."}[{{window}}]))' +
  ' / sum by (deployment, pod_template_hash) (rate(http_requests_total{namespace="{{namespace}}",deployment=~"{{deploymentRegex}}"}[{{window}}]))';

/** p99 latency in seconds per Deployment and ReplicaSet from the standard http_request_duration_seconds histogram. */
export const defaultLatencyQuery =
  'histogram_quantile(0.99, sum by (deployment, pod_template_hash, le) (rate(http_request_duration_seconds_bucket{namespace="{{namespace}}",deployment=~"{{deploymentRegex}}"}[{{window}}])))';

const requestsSelector =
  'http_requests_total{namespace="{{namespace}}",deployment=~"{{deploymentRegex}}",pod_template_hash=~"{{hashRegex}}"';

/** Requests per Deployment and ReplicaSet in the window, for the statistical test. */
export const defaultRequestsQuery = `sum by (deployment, pod_template_hash) (increase(${requestsSelector}}[{{window}}]))`;

/** Failed (5xx) requests per Deployment and ReplicaSet in the window, for the statistical test. */
export const defaultErrorsQuery = `sum by (deployment, pod_template_hash) (increase(${requestsSelector},code=~"5.."}[{{window}}]))`;

/** Latency histogram buckets per Deployment and ReplicaSet in the window, for the statistical test. */
export const defaultLatencyBucketsQuery =
  'sum by (deployment, pod_template_hash, le) (increase(http_request_duration_seconds_bucket{namespace="{{namespace}}",deployment=~"{{deploymentRegex}}",pod_template_hash=~"{{hashRegex}}"}[{{window}}]))';

/** Placeholders in a query template that rollguard does not know, e.g. a misspelt {{namspace}}. */
export function unknownPlaceholders(template: string): string[] {
  const known: readonly string[] = queryPlaceholders;
  return [...template.matchAll(/\{\{([^}]*)\}\}/g)]
    .map(([, name = '']) => name)
    .filter((name) => !known.includes(name));
}

function queryTemplateSchema(defaultQuery: string, what: string, field: string) {
  return z
    .string()
    .min(1)
    .max(8192)
    .refine((template) => unknownPlaceholders(template).length === 0, {
      error: (issue) =>
        `uses unknown placeholders ${unknownPlaceholders(String(issue.input))
          .map((name) => `{{${name}}}`)
          .join(', ')}; the known ones are ${queryPlaceholders.map((name) => `{{${name}}}`).join(', ')}`,
    })
    .refine((template) => unknownPlaceholders(template).length > 0 || queryTemplateProblem(template) === undefined, {
      error: (issue) => `cannot be rendered: ${queryTemplateProblem(String(issue.input)) ?? ''}`,
    })
    .meta({
      'x-kubernetes-validations': [
        {
          rule: queryTemplateCelRule,
          message: `${field} cannot be rendered: use only the known placeholders, put {{namespace}}, {{deployment}}, {{podTemplateHash}}, {{deploymentRegex}} and {{hashRegex}} inside double quotes (label="{{namespace}}"), and close every string`,
        },
      ],
    })
    .default(defaultQuery)
    .describe(
      `PromQL template for ${what}, one series per deployment and pod_template_hash label. Placeholders: {{namespace}}, {{deployment}}, {{podTemplateHash}}, {{window}} (the rate window), and for batched queries {{deploymentRegex}} and {{hashRegex}}; values are escaped before they are put in. The default fits the standard http_requests_total / http_request_duration_seconds metrics.`,
    );
}

/**
 * True when the runtime knows the IANA time zone. Only TypeScript can check this: the API server has no time
 * zone database in CEL, so a misspelt zone passes `kubectl apply` and shows up in the policy's Ready condition.
 */
export function isKnownTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const thresholdsRuleMessage = 'thresholds must rise strictly between 0 and 1: 0 < monitor < rollbackReady < block < 1';

/** True when 0 < monitor < rollbackReady < block < 1, the rule the CRD's CEL states for the API server. */
export function thresholdsAreOrdered(t: Thresholds): boolean {
  return 0 < t.monitor && t.monitor < t.rollbackReady && t.rollbackReady < t.block && t.block < 1;
}

/** The thresholds from the oldest seed of this product: safe < 0.4 ≤ monitor < 0.6 ≤ rollback-ready < 0.8 ≤ block. */
export const defaultThresholds = { monitor: 0.4, rollbackReady: 0.6, block: 0.8 } as const satisfies Thresholds;

function thresholdSchema(level: RiskLevel, defaultValue: number) {
  return z
    .number()
    .gt(0)
    .lt(1)
    .default(defaultValue)
    .describe(`Lowest risk score (0 to 1, exclusive) that counts as ${level}.`);
}

const thresholdsSchema = z
  .object({
    monitor: thresholdSchema('monitor', defaultThresholds.monitor),
    rollbackReady: thresholdSchema('rollback-ready', defaultThresholds.rollbackReady),
    block: thresholdSchema('block', defaultThresholds.block),
  })
  .refine(thresholdsAreOrdered, {
    error: (issue) => {
      const t = issue.input as Thresholds;
      return `${thresholdsRuleMessage}, got monitor=${t.monitor}, rollbackReady=${t.rollbackReady}, block=${t.block}`;
    },
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: '0.0 < self.monitor && self.monitor < self.rollbackReady && self.rollbackReady < self.block && self.block < 1.0',
        // A fixed message: the API server prices string(double) as unbounded and refuses a messageExpression
        // that prints the values; kubectl shows the object it refused anyway.
        message: thresholdsRuleMessage,
      },
    ],
  })
  // The full default, not {}: the API server checks a default against the CEL rule before filling in the
  // fields' own defaults, and `self.monitor` on {} would fail.
  .default({ ...defaultThresholds })
  .describe(
    'Where the risk levels start: a score below monitor is safe, from monitor it is monitor, from rollbackReady rollback-ready, and from block it is block. Must rise strictly: 0 < monitor < rollbackReady < block < 1.',
  );

export interface LevelAction {
  pause: boolean;
  verificationWindow: string;
  failureLimit: number;
}

/**
 * What each level does unless the policy says otherwise: riskier rollouts are watched longer and tolerate no
 * more failed intervals than safer ones. Even a safe rollout is rolled back after two failed intervals in a row.
 */
export const defaultLevelActions = {
  safe: { pause: false, verificationWindow: '2m', failureLimit: 2 },
  monitor: { pause: false, verificationWindow: '5m', failureLimit: 2 },
  rollbackReady: { pause: false, verificationWindow: '10m', failureLimit: 1 },
  block: { pause: true, verificationWindow: '15m', failureLimit: 1 },
} as const satisfies Record<LevelSpecKey, LevelAction>;

function levelActionSchema(level: RiskLevel) {
  const defaults = defaultLevelActions[levelSpecKey[level]];
  return z
    .object({
      pause: z
        .boolean()
        .default(defaults.pause)
        .describe(
          `Pause the rollout (spec.paused) until someone approves it by setting the Deployment annotation rollguard.io/approve to the revision. Only in enforce mode. Default ${defaults.pause} for ${level}.`,
        ),
      verificationWindow: durationFieldSchema(`levels.${levelSpecKey[level]}.verificationWindow`)
        .default(defaults.verificationWindow)
        .describe(
          `How long to keep verifying live metrics after the rollout completes, e.g. 10m; 0s stops when it completes. Default ${defaults.verificationWindow} for ${level}.`,
        ),
      failureLimit: z
        .int()
        .min(1)
        .optional()
        .describe(
          `Consecutive failed verification intervals that trigger a rollback at this level (plain limits; with metrics.statisticalTest on, one failed look of the test is enough, its error being bounded over all looks). When the level is left out entirely it is ${defaults.failureLimit} for ${level}; when the level is written without failureLimit, verification.failureLimit applies.`,
        ),
    })
    .default({ ...defaults })
    .describe(
      `What rollguard does with a rollout scored ${level}. Default: pause ${defaults.pause}, verificationWindow ${defaults.verificationWindow}, failureLimit ${defaults.failureLimit}.`,
    );
}

const levelsSchema = z
  .object({
    safe: levelActionSchema('safe'),
    monitor: levelActionSchema('monitor'),
    rollbackReady: levelActionSchema('rollback-ready'),
    block: levelActionSchema('block'),
  })
  .prefault({})
  .describe(
    'What each risk level does: whether to pause for approval, how long to verify, and how many failed intervals trigger a rollback.',
  );

const prometheusSchema = z
  .object({
    address: z
      .string()
      .max(2048)
      .regex(new RegExp('^https?://[^\\s/?#]+(/[^\\s?#]*)?$'), {
        error: 'must be an http:// or https:// URL without query or fragment, e.g. http://prometheus.monitoring:9090',
      })
      .optional()
      .describe(
        'Base URL of the Prometheus HTTP API, e.g. http://prometheus.monitoring:9090. Without it rollguard uses no live metrics: no pre-rollout signals and no verification.',
      ),
    timeout: positiveDurationSchema('prometheus.timeout')
      .default('5s')
      .describe('How long one Prometheus query may take before it counts as a provider error.'),
    insecureSkipVerify: z
      .boolean()
      .default(false)
      .describe('Accept any TLS certificate from Prometheus. Only for testing; prefer caSecretRef.'),
    caSecretRef: secretKeyRefSchema('the PEM CA bundle that signs the Prometheus server certificate')
      .optional()
      .describe('Secret key holding the PEM CA bundle to trust for an https address, instead of the system roots.'),
    bearerTokenSecretRef: secretKeyRefSchema('the bearer token sent to Prometheus')
      .optional()
      .describe('Secret key holding a bearer token sent in the Authorization header.'),
    basicAuthSecretRef: z
      .object({
        name: objectNameSchema.describe(
          'Name of the Secret, in the same namespace as the policy, with keys username and password.',
        ),
      })
      .optional()
      .describe('Secret with keys username and password for HTTP basic authentication.'),
  })
  .refine((p) => p.bearerTokenSecretRef === undefined || p.basicAuthSecretRef === undefined, {
    error: 'set at most one of bearerTokenSecretRef and basicAuthSecretRef',
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: '!(has(self.bearerTokenSecretRef) && has(self.basicAuthSecretRef))',
        message: 'set at most one of prometheus.bearerTokenSecretRef and prometheus.basicAuthSecretRef',
      },
    ],
  })
  .prefault({})
  .describe('Where and how to query Prometheus for live error rates and latency.');

const metricsSchema = z
  .object({
    rateWindow: durationFieldSchema('metrics.rateWindow', { positive: true, prometheus: true })
      .default('1m')
      .describe('The range of rate() in the queries (the {{window}} placeholder), e.g. 1m.'),
    errorRate: z
      .object({
        query: queryTemplateSchema(defaultErrorRateQuery, 'the error ratio (0 to 1)', 'metrics.errorRate.query'),
        maxAbsolute: z
          .number()
          .min(0)
          .max(1)
          .default(0.05)
          .describe('Highest acceptable error ratio of the new version, e.g. 0.05 for 5 %.'),
        maxIncrease: z
          .number()
          .min(0)
          .max(1)
          .default(0.02)
          .describe(
            'Highest acceptable rise of the error ratio over the baseline, in ratio points: 0.02 allows 1 % to become 3 %. Not used with statisticalTest on (margin instead).',
          ),
      })
      .prefault({})
      .describe('The error-ratio check: the new version fails an interval when either limit is exceeded.'),
    latency: z
      .object({
        query: queryTemplateSchema(defaultLatencyQuery, 'the p99 latency in seconds', 'metrics.latency.query'),
        maxAbsoluteSeconds: z
          .number()
          .gt(0)
          .default(1)
          .describe('Highest acceptable latency of the new version, in seconds.'),
        maxRelative: z
          .number()
          .min(1)
          .default(1.5)
          .describe(
            'Highest acceptable latency of the new version divided by the baseline, e.g. 1.5 allows 50 % slower. Not used with statisticalTest on (margin instead).',
          ),
      })
      .prefault({})
      .describe('The latency check: the new version fails an interval when either limit is exceeded.'),
    statisticalTest: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            "Judge counts instead of one interval's ratio and quantile: errors and requests of the new pods since verification began against the old version's (its pods serving at the same time plus baselineWindow before the rollout) by an exact test, and latency at histogram bucket bounds. Built for noise: low traffic neither rolls back a good version nor passes a bad one on a lucky interval. When on, errorRate.maxIncrease and latency.maxRelative are replaced by margin; maxAbsolute and maxAbsoluteSeconds stay hard floors, judged on the same counts (a p99 above maxAbsoluteSeconds means more than 1 % of requests slower). Needs the three count queries below to match your metrics.",
          ),
        confidence: z
          .number()
          .gt(0)
          .lt(1)
          .default(0.995)
          .describe(
            'The guarantee: a version no worse than the old one (and within the floors) is failed by these tests with probability at most 1 - confidence over its whole verification, however long the window and however many intervals are looked at (the budget is spent as 1/(k(k+1)) at interval k and split over error rate, latency and the floors). Measured in bench/verification-quality.ts. Because that bound already covers every look, one failed look of the test is enough to roll back: failureLimit (failed intervals in a row) applies to the plain limits only.',
          ),
        margin: z
          .number()
          .min(1)
          .max(100)
          .default(1.1)
          .describe(
            "How much worse than the old version counts as a regression, as a ratio: 1.1 fails the new version only when its error rate, or its share of requests slower than a bucket bound at the old version's median, 90th or 99th percentile, is proven above 1.1 times the old one's. Smaller rises are never blamed, however much traffic proves them.",
          ),
        minRequests: z
          .int()
          .min(1)
          .default(100)
          .describe(
            'Requests to the new pods since verification began before any judgement. Fewer is no data (see verification.onNoData), never a failure.',
          ),
        baselineWindow: positiveDurationSchema('metrics.statisticalTest.baselineWindow')
          .default('30m')
          .describe(
            "How far back before the rollout the old version's counts are read, as the reference beside the old pods still serving. Longer gives a sharper reference at low traffic; margin absorbs slow drift.",
          ),
        requestsQuery: queryTemplateSchema(
          defaultRequestsQuery,
          'the number of requests',
          'metrics.statisticalTest.requestsQuery',
        ).describe(
          'PromQL template for the number of requests in {{window}}, one series per deployment and pod_template_hash label. {{window}} is the time since verification began (or baselineWindow for the reference before the rollout). Placeholders as for errorRate.query.',
        ),
        errorsQuery: queryTemplateSchema(
          defaultErrorsQuery,
          'the number of failed requests',
          'metrics.statisticalTest.errorsQuery',
        ).describe(
          'PromQL template for the number of failed requests in {{window}}, grouped as requestsQuery. No series for a ReplicaSet means no errors.',
        ),
        latencyBucketsQuery: queryTemplateSchema(
          defaultLatencyBucketsQuery,
          'the latency histogram',
          'metrics.statisticalTest.latencyBucketsQuery',
        ).describe(
          'PromQL template for the latency histogram buckets in {{window}}: the number of requests per le label (seconds, with +Inf), grouped by deployment, pod_template_hash and le.',
        ),
      })
      .prefault({})
      .describe(
        'A verdict built for noise: counts since verification began, compared with the old version by exact tests whose false-rollback guarantee holds however long verification runs. Off by default: the plain limits apply per interval.',
      ),
  })
  .prefault({})
  .describe('Which live metrics to compare between the new version and the baseline, and their limits.');

const verificationSchema = z
  .object({
    interval: positiveDurationSchema('verification.interval')
      .default('10s')
      .describe('How often to query and judge the live metrics during verification.'),
    failureLimit: z
      .int()
      .min(1)
      .default(2)
      .describe('Consecutive failed intervals that trigger a rollback, for levels whose failureLimit is not set.'),
    inconclusiveLimit: z
      .int()
      .min(1)
      .default(6)
      .describe('Consecutive intervals without data or without a clear verdict before onNoData decides the outcome.'),
    errorLimit: z
      .int()
      .min(1)
      .default(6)
      .describe(
        'Consecutive intervals in which Prometheus could not be queried before onProviderError decides the outcome.',
      ),
    onNoData: z
      .enum(noDataBehaviours)
      .default('hold')
      .describe(
        'What happens after inconclusiveLimit intervals without data: hold (keep the rollout as it is and say so), pass (treat as verified), fail (count as failure, may roll back).',
      ),
    onProviderError: z
      .enum(providerErrorBehaviours)
      .default('hold')
      .describe(
        'What happens after errorLimit intervals in which Prometheus failed: hold (keep the rollout and say so) or fail (may roll back). A monitoring outage should not roll back, hence hold.',
      ),
  })
  .prefault({})
  .describe('How the live metrics of a new version are checked while it rolls out and afterwards.');

const rollbackSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        'Roll back automatically (as kubectl rollout undo does) when verification fails. Only in enforce mode.',
      ),
    maxRollbacks: z
      .int()
      .min(1)
      .default(3)
      .describe('Most automatic rollbacks per Deployment within window; beyond it rollguard only reports.'),
    window: positiveDurationSchema('rollback.window')
      .default('24h')
      .describe('The sliding window maxRollbacks counts in, e.g. 24h.'),
    gitOps: z
      .enum(gitOpsBehaviours)
      .default('pause')
      .describe(
        'For Deployments managed by Argo CD or Flux, whose next sync would re-apply the bad version: pause (pause the rollout instead of undoing it), undo (roll back anyway), alert (only report).',
      ),
  })
  .prefault({})
  .describe('Automatic rollback when verification fails.');

const severitySchema = (kind: string, fallback: CredentialSeverity) =>
  z
    .enum(credentialSeverities)
    .default(fallback)
    .describe(`${kind}: block (a hard rule), warn (a finding and a risk factor) or off. Default ${fallback}.`);

const credentialRulesSchema = z
  .object({
    providerKey: severitySchema(
      'A value in a known provider format (AWS, Stripe, GitHub, Slack, a private key, a JWT, …)',
      'block',
    ),
    urlPassword: severitySchema(
      'A password inside a URL or connection string (postgres://u:p@h/db, …;Password=…)',
      'block',
    ),
    secretByName: severitySchema(
      'A literal value under a secret-looking name (DB_PASSWORD, API_KEY, SECRET_KEY_BASE)',
      'block',
    ),
    weakSecret: severitySchema('A placeholder or weak value under a secret-looking name (changeme, 123456)', 'warn'),
    randomValue: severitySchema(
      'A random-looking value of no provider rollguard knows, under a name that does not say what it is',
      'warn',
    ),
    exceptions: z
      .array(
        z.object({
          container: objectNameSchema.describe('The container (or init or ephemeral container) the exception is for.'),
          env: z
            .string()
            .min(1)
            .max(256)
            .describe('The env variable, or for args and command the option name (e.g. --db-password).'),
          reason: z
            .string()
            .min(1)
            .max(1024)
            .describe('Why this is not a secret, or why it may stay: kept for reviewers.'),
        }),
      )
      .max(100)
      .default([])
      .describe('Credential findings that are allowed, by container and name, each with a reason.'),
  })
  .prefault({})
  .describe(
    'How each kind of plain-text credential in env values, args and command is treated. blockOnHardcodedSecret: false turns every block here into warn.',
  );

const rulesSchema = z
  .object({
    blockOnHardcodedSecret: z
      .boolean()
      .default(true)
      .describe('Treat a rollout as block when its pod template has what looks like a secret in a plain env value.'),
    blockOnLatestTag: z
      .boolean()
      .default(false)
      .describe('Treat a rollout as block when an image uses the :latest tag or no tag.'),
    blockOnPrivileged: z
      .boolean()
      .default(false)
      .describe('Treat a rollout as block when a container runs privileged.'),
    credentials: credentialRulesSchema,
  })
  .prefault({})
  .describe('Hard rules that put a rollout at level block whatever its score.');

const learningSchema = z
  .object({
    enabled: z.boolean().default(true).describe("Learn from this policy's finished assessments and retrain the model."),
    minNewOutcomes: z
      .int()
      .min(1)
      .default(20)
      .describe('Finished assessments since the last training needed before retraining.'),
    minTotalOutcomes: z
      .int()
      .min(1)
      .default(50)
      .describe('Finished assessments in total needed before the first training.'),
  })
  .prefault({})
  .describe('Learning from outcomes: a new model is kept only if it does not score worse on held-out outcomes.');

const gateSchema = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        "Hold a covered Deployment's new pod template at admission, before its first pod, until rollguard has assessed it (needs the gate installed: chart value gate.enabled or `rollguard controller --gate`). Only in enforce mode.",
      ),
    creation: z
      .boolean()
      .default(false)
      .describe(
        'Also hold a newly created Deployment until it is assessed. Off by default: a first version has nothing to compare with, and holding every new Deployment surprises people.',
      ),
  })
  .prefault({})
  .describe(
    'The admission gate: with it installed, a new pod template of a covered Deployment starts no pod until rollguard has assessed it. A person can ship without waiting by setting the annotation rollguard.io/gate-bypass to the reason in the same apply; it is recorded.',
  );

const narrativeSchema = z
  .object({
    endpoint: z
      .string()
      .max(2048)
      .regex(/^https?:\/\/[^\s?#]+$/, {
        error: 'must be an http:// or https:// URL without query or fragment, e.g. http://ollama.ai-tools:11434/v1',
      })
      .optional()
      .describe(
        'Base URL of an OpenAI-compatible chat-completions API (for example a local Ollama: http://ollama:11434/v1). Without it there is no narrative.',
      ),
    model: z.string().min(1).max(256).optional().describe('The model to ask, e.g. llama3.2.'),
    timeout: positiveDurationSchema('narrative.timeout')
      .default('10s')
      .describe('How long to wait for the narrative before giving up on it.'),
  })
  .prefault({})
  .describe(
    'Optional: where `rollguard explain --narrative` asks a language model for a plain-language summary of an assessment. Never part of any decision; the plain reasons are always there without it.',
  );

export const policySpecSchema = z
  .object({
    selector: labelSelectorSchema.describe(
      "Which Deployments in the policy's namespace it covers, as a standard label selector. The empty selector {} covers every Deployment in the namespace.",
    ),
    mode: z
      .enum(policyModes)
      .default('enforce')
      .describe(
        'enforce: annotate, pause and roll back; advisory: annotate and emit Events only; shadow: only record RolloutAssessments, to measure the model before trusting it.',
      ),
    priority: z
      .int()
      .min(-2147483648)
      .max(2147483647)
      .default(0)
      .describe(
        'When several policies cover one Deployment, the highest priority wins; on a tie the oldest policy, then the first name in alphabetical order.',
      ),
    timeZone: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z][A-Za-z0-9_+\-/]*$/, { error: 'must be an IANA time zone name, e.g. UTC or Europe/Berlin' })
      .refine((name) => !/^[A-Za-z][A-Za-z0-9_+\-/]*$/.test(name) || isKnownTimeZone(name), {
        error: 'is not a time zone known to rollguard; use an IANA name such as UTC or Europe/Berlin',
      })
      .default('UTC')
      .describe('IANA time zone for the hour-of-day and day-of-week features, e.g. Europe/Berlin.'),
    thresholds: thresholdsSchema,
    levels: levelsSchema,
    prometheus: prometheusSchema,
    metrics: metricsSchema,
    verification: verificationSchema,
    rollback: rollbackSchema,
    rules: rulesSchema,
    learning: learningSchema,
    narrative: narrativeSchema,
    gate: gateSchema,
  })
  .describe('Which Deployments rollguard guards in this namespace, and how.');

/** A policy spec as written by a user (defaults not yet applied). */
export type PolicySpecInput = z.input<typeof policySpecSchema>;
/** A policy spec with every default filled in. */
export type PolicySpec = z.output<typeof policySpecSchema>;

/**
 * Validates a DeploymentRiskPolicy's spec and fills in every default. On failure, every problem with the
 * field's path (spec.thresholds, spec.verification.interval, …) and what is wrong.
 */
export function parsePolicySpec(raw: unknown): ParseResult<PolicySpec> {
  return parseFields(policySpecSchema, raw, 'spec');
}

/** What a level does once the level's and verification's settings are combined. */
export interface ResolvedLevelAction {
  pause: boolean;
  verificationWindowMs: number;
  failureLimit: number;
}

/** The level's action with durations in milliseconds and failureLimit falling back to verification.failureLimit. */
export function resolveLevelAction(
  spec: Pick<PolicySpec, 'levels' | 'verification'>,
  level: RiskLevel,
): ResolvedLevelAction {
  const action = spec.levels[levelSpecKey[level]];
  return {
    pause: action.pause,
    verificationWindowMs: durationMs(action.verificationWindow) ?? 0,
    failureLimit: action.failureLimit ?? spec.verification.failureLimit,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Status

export const policyConditionTypes = ['Ready', 'ModelDrift'] as const;

const countSchema = z.int().min(0);

export const policyStatusSchema = z
  .object({
    conditions: conditionsSchema(
      'Ready is True when the spec is valid and in force (reason InvalidSpec and the problems when not); ModelDrift is True when live features drift from the training data.',
    ).optional(),
    observedGeneration: countSchema
      .optional()
      .describe('The .metadata.generation the controller last acted on; behind the current one means not yet seen.'),
    coveredDeployments: countSchema
      .optional()
      .describe('Deployments this policy covers now (those it wins when several policies match).'),
    assessments: countSchema.optional().describe('Rollouts assessed under this policy since it was created.'),
    pauses: countSchema.optional().describe('Rollouts paused for approval under this policy since it was created.'),
    rollbacks: countSchema.optional().describe('Automatic rollbacks under this policy since it was created.'),
  })
  .describe('What the controller observed; written by rollguard, not by users.');

export type PolicyStatus = z.output<typeof policyStatusSchema>;

export function parsePolicyStatus(raw: unknown): ParseResult<PolicyStatus> {
  return parseFields(policyStatusSchema, raw, 'status');
}
