// The DeploymentRiskPolicy spec: its defaults, the errors it reports, and the risk levels it defines.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { formatFieldErrors } from './issues.js';
import {
  defaultErrorRateQuery,
  defaultErrorsQuery,
  defaultLatencyBucketsQuery,
  defaultLatencyQuery,
  defaultRequestsQuery,
  defaultThresholds,
  isKnownTimeZone,
  levelFor,
  parsePolicySpec,
  parsePolicyStatus,
  resolveLevelAction,
  thresholdsAreOrdered,
  unknownPlaceholders,
  type PolicySpec,
  type RiskLevel,
  type Thresholds,
} from './policy.js';

const fullyDefaulted: PolicySpec = {
  selector: {},
  mode: 'enforce',
  priority: 0,
  timeZone: 'UTC',
  thresholds: { monitor: 0.4, rollbackReady: 0.6, block: 0.8 },
  levels: {
    safe: { pause: false, verificationWindow: '2m', failureLimit: 2 },
    monitor: { pause: false, verificationWindow: '5m', failureLimit: 2 },
    rollbackReady: { pause: false, verificationWindow: '10m', failureLimit: 1 },
    block: { pause: true, verificationWindow: '15m', failureLimit: 1 },
  },
  prometheus: { timeout: '5s', insecureSkipVerify: false },
  metrics: {
    rateWindow: '1m',
    errorRate: { query: defaultErrorRateQuery, maxAbsolute: 0.05, maxIncrease: 0.02 },
    latency: { query: defaultLatencyQuery, maxAbsoluteSeconds: 1, maxRelative: 1.5 },
    statisticalTest: {
      enabled: false,
      confidence: 0.995,
      margin: 1.1,
      minRequests: 100,
      baselineWindow: '30m',
      requestsQuery: defaultRequestsQuery,
      errorsQuery: defaultErrorsQuery,
      latencyBucketsQuery: defaultLatencyBucketsQuery,
    },
  },
  verification: {
    interval: '10s',
    failureLimit: 2,
    inconclusiveLimit: 6,
    errorLimit: 6,
    onNoData: 'hold',
    onProviderError: 'hold',
  },
  rollback: { enabled: true, maxRollbacks: 3, window: '24h', gitOps: 'pause' },
  rules: {
    blockOnHardcodedSecret: true,
    blockOnLatestTag: false,
    blockOnPrivileged: false,
    credentials: {
      providerKey: 'block',
      urlPassword: 'block',
      secretByName: 'block',
      weakSecret: 'warn',
      randomValue: 'warn',
      exceptions: [],
    },
  },
  learning: { enabled: true, minNewOutcomes: 20, minTotalOutcomes: 50 },
  narrative: { timeout: '10s' },
  gate: { enabled: true, creation: false },
};

function parsed(raw: unknown): PolicySpec {
  const result = parsePolicySpec(raw);
  if (!result.ok) throw new Error(formatFieldErrors(result.errors));
  return result.value;
}

describe('parsePolicySpec defaults', () => {
  it('fills in every default of docs/contracts.md around a bare selector', () => {
    expect(parsed({ selector: {} })).toEqual(fullyDefaulted);
  });

  it.each<[string, unknown, (spec: PolicySpec) => unknown, unknown]>([
    ['keeps what the user wrote', { selector: {}, mode: 'shadow' }, (s) => s.mode, 'shadow'],
    [
      'defaults the thresholds the user left out',
      { selector: {}, thresholds: { block: 0.9 } },
      (s) => s.thresholds,
      { monitor: 0.4, rollbackReady: 0.6, block: 0.9 },
    ],
    [
      'fills in the fields of a level the user wrote, from that level',
      { selector: {}, levels: { block: { failureLimit: 3 } } },
      (s) => s.levels.block,
      { pause: true, verificationWindow: '15m', failureLimit: 3 },
    ],
    [
      'leaves failureLimit unset in a level written without it, so verification.failureLimit applies',
      { selector: {}, levels: { monitor: { pause: true } } },
      (s) => s.levels.monitor,
      { pause: true, verificationWindow: '5m' },
    ],
    [
      'defaults the nested metrics around a custom query',
      { selector: {}, metrics: { latency: { query: 'my_p99{namespace="{{namespace}}"}' } } },
      (s) => s.metrics.latency,
      { query: 'my_p99{namespace="{{namespace}}"}', maxAbsoluteSeconds: 1, maxRelative: 1.5 },
    ],
    [
      'keeps the Prometheus address and credentials',
      {
        selector: {},
        prometheus: {
          address: 'https://prom.example:9090/prefix',
          bearerTokenSecretRef: { name: 'prom', key: 'token' },
        },
      },
      (s) => s.prometheus,
      {
        address: 'https://prom.example:9090/prefix',
        timeout: '5s',
        insecureSkipVerify: false,
        bearerTokenSecretRef: { name: 'prom', key: 'token' },
      },
    ],
    [
      'accepts a real IANA zone',
      { selector: {}, timeZone: 'America/Port-au-Prince' },
      (s) => s.timeZone,
      'America/Port-au-Prince',
    ],
  ])('%s', (_name, raw, pick, expected) => {
    expect(pick(parsed(raw))).toEqual(expected);
  });

  it('agrees with the example policy, which spells out every default', async () => {
    const example = parseYaml(
      await readFile(new URL('../../deploy/examples/policy.yaml', import.meta.url), 'utf8'),
    ) as {
      metadata: { name: string };
      spec: unknown;
    };
    expect(example.metadata.name).toBe('default');
    expect(parsed(example.spec)).toEqual({
      ...fullyDefaulted,
      selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
    });
  });
});

describe('parsePolicySpec errors', () => {
  it.each<[string, unknown, string, RegExp]>([
    ['a missing spec', undefined, 'spec', /is required/],
    ['a missing selector', { selector: undefined }, 'spec.selector', /is required/],
    ['a mode not in the enum', { mode: 'yolo' }, 'spec.mode', /must be one of enforce, advisory, shadow, not "yolo"/],
    [
      'thresholds out of order',
      { thresholds: { monitor: 0.7 } },
      'spec.thresholds',
      /0 < monitor < rollbackReady < block < 1, got monitor=0.7, rollbackReady=0.6, block=0.8/,
    ],
    ['equal thresholds', { thresholds: { monitor: 0.6, rollbackReady: 0.6 } }, 'spec.thresholds', /rise strictly/],
    ['a threshold of 1', { thresholds: { block: 1 } }, 'spec.thresholds.block', /must be less than 1/],
    ['a threshold of 0', { thresholds: { monitor: 0 } }, 'spec.thresholds.monitor', /must be greater than 0/],
    [
      'a bad duration',
      { verification: { interval: '10 seconds' } },
      'spec.verification.interval',
      /must be a duration/,
    ],
    ['a zero interval', { verification: { interval: '0s' } }, 'spec.verification.interval', /longer than zero/],
    [
      'a credential severity not in the enum',
      { rules: { credentials: { providerKey: 'loud' } } },
      'spec.rules.credentials.providerKey',
      /must be one of block, warn, off, not "loud"/,
    ],
    [
      'a credential exception without a reason',
      { rules: { credentials: { exceptions: [{ container: 'web', env: 'PUBLIC_KEY' }] } } },
      'spec.rules.credentials.exceptions[0].reason',
      /is required/,
    ],
    ['a zero rate window', { metrics: { rateWindow: '0m' } }, 'spec.metrics.rateWindow', /longer than zero/],
    ['a zero rollback window', { rollback: { window: '0h' } }, 'spec.rollback.window', /longer than zero/],
    [
      'a rate window Prometheus cannot read',
      { metrics: { rateWindow: '30s1m' } },
      'spec.metrics.rateWindow',
      /largest first.*1m30s, not 30s1m/,
    ],
    // Node.js fires a timer longer than 2^31-1 ms after 1 ms: such an interval would spin the queue.
    ['an interval past the timer limit', { verification: { interval: '600h' } }, 'spec.verification.interval', /596h/],
    ['a timeout past the timer limit', { prometheus: { timeout: '597h' } }, 'spec.prometheus.timeout', /596h/],
    [
      'a verification window past the timer limit',
      { levels: { block: { verificationWindow: '35791m' } } },
      'spec.levels.block.verificationWindow',
      /at most 596h/,
    ],
    ['a rollback window past the limit', { rollback: { window: '1000h' } }, 'spec.rollback.window', /596h/],
    [
      'a placeholder outside quotes',
      { metrics: { errorRate: { query: 'up{namespace={{namespace}}}' } } },
      'spec.metrics.errorRate.query',
      /cannot be rendered: placeholder \{\{namespace\}\} must sit inside double quotes/,
    ],
    [
      'a string never closed',
      { metrics: { latency: { query: 'up{namespace="{{namespace}}}' } } },
      'spec.metrics.latency.query',
      /cannot be rendered: has a quoted string that is never closed/,
    ],
    ['a fractional limit', { verification: { failureLimit: 1.5 } }, 'spec.verification.failureLimit', /whole number/],
    ['a zero failure limit', { levels: { safe: { failureLimit: 0 } } }, 'spec.levels.safe.failureLimit', /at least 1/],
    [
      'text where a number belongs',
      { metrics: { errorRate: { maxAbsolute: '5%' } } },
      'spec.metrics.errorRate.maxAbsolute',
      /must be a number, not "5%"/,
    ],
    ['an unknown time zone', { timeZone: 'Mars/Olympus_Mons' }, 'spec.timeZone', /not a time zone/],
    ['an empty time zone', { timeZone: '' }, 'spec.timeZone', /must not be empty/],
    [
      'onNoData outside its enum',
      { verification: { onNoData: 'retry' } },
      'spec.verification.onNoData',
      /hold, pass, fail/,
    ],
    [
      'onProviderError cannot pass',
      { verification: { onProviderError: 'pass' } },
      'spec.verification.onProviderError',
      /hold, fail/,
    ],
    ['a gitOps outside its enum', { rollback: { gitOps: 'sync' } }, 'spec.rollback.gitOps', /pause, undo, alert/],
    ['an address without scheme', { prometheus: { address: 'prometheus:9090' } }, 'spec.prometheus.address', /http/],
    [
      'two kinds of credentials',
      { prometheus: { bearerTokenSecretRef: { name: 'a', key: 't' }, basicAuthSecretRef: { name: 'b' } } },
      'spec.prometheus',
      /at most one of bearerTokenSecretRef and basicAuthSecretRef/,
    ],
    [
      'a Secret name with capitals',
      { prometheus: { caSecretRef: { name: 'My-CA', key: 'ca.crt' } } },
      'spec.prometheus.caSecretRef.name',
      /object name/,
    ],
    [
      'a misspelt placeholder',
      { metrics: { errorRate: { query: 'x{ns="{{namspace}}"}' } } },
      'spec.metrics.errorRate.query',
      /unknown placeholders \{\{namspace\}\}/,
    ],
    [
      'In without values',
      { selector: { matchExpressions: [{ key: 'app', operator: 'In' }] } },
      'spec.selector.matchExpressions[0].values',
      /at least one value for operators In and NotIn/,
    ],
    [
      'an unknown selector operator',
      { selector: { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['x'] }] } },
      'spec.selector.matchExpressions[0].operator',
      /In, NotIn, Exists, DoesNotExist/,
    ],
  ])('%s is reported at its path', (_name, patch, path, message) => {
    const raw = patch === undefined ? undefined : { selector: {}, ...(patch as object) };
    const result = parsePolicySpec(raw);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = result.errors.find((e) => e.path === path);
    expect(error, `errors: ${formatFieldErrors(result.errors)}`).toBeDefined();
    expect(error?.message).toMatch(message);
  });

  it('reports every problem at once', () => {
    const result = parsePolicySpec({ selector: {}, mode: 'x', priority: 'high', verification: { interval: 'soon' } });
    expect(result.ok ? [] : result.errors.map((e) => e.path)).toEqual([
      'spec.mode',
      'spec.priority',
      'spec.verification.interval',
    ]);
  });
});

describe('levelFor', () => {
  it.each<[number, RiskLevel]>([
    [0, 'safe'],
    [0.39, 'safe'],
    [0.4, 'monitor'],
    [0.59, 'monitor'],
    [0.6, 'rollback-ready'],
    [0.79, 'rollback-ready'],
    [0.8, 'block'],
    [1, 'block'],
    [-0.5, 'safe'],
    [7, 'block'],
  ])('with the default thresholds, %d is %s', (score, level) => {
    expect(levelFor(score, defaultThresholds)).toBe(level);
  });

  it.each<[number, Thresholds, RiskLevel]>([
    [0.15, { monitor: 0.1, rollbackReady: 0.2, block: 0.3 }, 'monitor'],
    [0.3, { monitor: 0.1, rollbackReady: 0.2, block: 0.3 }, 'block'],
    [0.95, { monitor: 0.5, rollbackReady: 0.9, block: 0.99 }, 'rollback-ready'],
  ])('%d under %j is %s', (score, thresholds, level) => {
    expect(levelFor(score, thresholds)).toBe(level);
  });

  it('refuses NaN', () => {
    expect(() => levelFor(Number.NaN, defaultThresholds)).toThrow(RangeError);
  });
});

describe('thresholdsAreOrdered', () => {
  it.each<[Thresholds, boolean]>([
    [{ monitor: 0.4, rollbackReady: 0.6, block: 0.8 }, true],
    [{ monitor: 0.01, rollbackReady: 0.02, block: 0.99 }, true],
    [{ monitor: 0.6, rollbackReady: 0.4, block: 0.8 }, false],
    [{ monitor: 0.4, rollbackReady: 0.4, block: 0.8 }, false],
    [{ monitor: 0, rollbackReady: 0.6, block: 0.8 }, false],
    [{ monitor: 0.4, rollbackReady: 0.6, block: 1 }, false],
  ])('%j: %s', (thresholds, ordered) => {
    expect(thresholdsAreOrdered(thresholds)).toBe(ordered);
  });
});

describe('resolveLevelAction', () => {
  const custom = parsed({ selector: {}, verification: { failureLimit: 4 }, levels: { monitor: { pause: true } } });
  it.each<[PolicySpec, RiskLevel, { pause: boolean; verificationWindowMs: number; failureLimit: number }]>([
    [fullyDefaulted, 'safe', { pause: false, verificationWindowMs: 120_000, failureLimit: 2 }],
    [fullyDefaulted, 'rollback-ready', { pause: false, verificationWindowMs: 600_000, failureLimit: 1 }],
    [fullyDefaulted, 'block', { pause: true, verificationWindowMs: 900_000, failureLimit: 1 }],
    [custom, 'monitor', { pause: true, verificationWindowMs: 300_000, failureLimit: 4 }],
    [custom, 'safe', { pause: false, verificationWindowMs: 120_000, failureLimit: 2 }],
  ])('%#: %s', (spec, level, expected) => {
    expect(resolveLevelAction(spec, level)).toEqual(expected);
  });
});

describe('unknownPlaceholders', () => {
  it.each<[string, string[]]>([
    [defaultErrorRateQuery, []],
    [defaultLatencyQuery, []],
    ['up{pod_template_hash=~"{{hashRegex}}",deployment="{{deployment}}",h="{{podTemplateHash}}"}', []],
    ['up{ns="{{ namespace }}"}', [' namespace ']],
    ['up{ns="{{Namespace}}", x="{{foo}}"}', ['Namespace', 'foo']],
    ['no placeholders at all', []],
  ])('%s', (template, unknown) => {
    expect(unknownPlaceholders(template)).toEqual(unknown);
  });
});

describe('isKnownTimeZone', () => {
  it.each([
    ['UTC', true],
    ['Europe/Berlin', true],
    ['Etc/GMT+5', true],
    ['Mars/Base', false],
    ['', false],
  ])('%j: %s', (zone, known) => {
    expect(isKnownTimeZone(zone)).toBe(known);
  });
});

describe('parsePolicyStatus', () => {
  it('reads what the controller writes', () => {
    const status = {
      observedGeneration: 3,
      coveredDeployments: 2,
      assessments: 10,
      pauses: 1,
      rollbacks: 0,
      conditions: [
        {
          type: 'Ready',
          status: 'False',
          reason: 'InvalidSpec',
          message: 'spec.timeZone: is not a time zone known to rollguard',
          lastTransitionTime: '2025-01-31T12:00:00Z',
          observedGeneration: 3,
        },
      ],
    };
    expect(parsePolicyStatus(status)).toEqual({ ok: true, value: status });
  });

  it('refuses a condition status outside True, False, Unknown', () => {
    const result = parsePolicyStatus({
      conditions: [
        { type: 'Ready', status: 'Yes', reason: 'R', message: '', lastTransitionTime: '2025-01-31T12:00:00Z' },
      ],
    });
    expect(result.ok ? [] : result.errors.map((e) => e.path)).toEqual(['status.conditions[0].status']);
  });
});
