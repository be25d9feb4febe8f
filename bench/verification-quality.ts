// `tsx bench/verification-quality.ts [--json] [--releases N] [--seed S] [--margin M] [--base-error E]
// [--baseline-window 10m] [--level safe|monitor|rollback-ready|block]`: how often verification rolls back a
// good release and how fast it catches a bad one, under the noise real services have. Releases are drawn from
// the workload simulator's traffic model (test/harness/noise.ts: Poisson arrivals, Bernoulli failures,
// log-normal latencies), at 0.5, 5 and 50 requests per second per pod with 2 and 10 pods: good ones (new =
// old) and bad ones (error rate ×1.5, ×2, ×5; latency p99 ×1.5 with the same median). Each release is judged
// interval by interval, over the policy's default interval and window, by the verdict with
// metrics.statisticalTest on (counts since verification began) and by the previous verdict (plain limits on
// each interval's ratio and p99 over rateWindow), on the very same traffic. Prints a table, then the goals:
// false rollback rate ≤ 0.5 %; ≥ 95 % of ×2 error regressions caught at ≥ 5 req/s/pod, median ≤ 3 intervals;
// ×5 caught at 0.5 req/s/pod. With --json the last line is the figures as JSON.
import { parseDuration } from '../src/api/duration.js';
import { parsePolicySpec, riskLevels, type PolicySpec, type RiskLevel } from '../src/api/policy.js';
import { singleValue, type SingleResult } from '../src/prometheus/types.js';
import { histogramQuantile, type Histogram } from '../src/verify/counts.js';
import { verificationLimitsFor } from '../src/verify/levels.js';
import { plannedLooks, type ErrorCounts } from '../src/verify/sequential.js';
import {
  checkInterval,
  INITIAL_COUNTERS,
  nextVerificationState,
  type IntervalObservations,
  type MetricLimits,
} from '../src/verify/verdict.js';
import { drawTraffic, latencyBuckets, poissonStream, type Draw, type TrafficModel } from '../test/harness/noise.js';

const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  const value = i < 0 ? NaN : Number(args[i + 1]);
  return Number.isFinite(value) ? value : fallback;
};
const json = args.includes('--json');
/** Good releases per traffic case (six cases), and bad releases per case and kind. */
const goodPerCase = option('releases', 200);
const badPerCase = Math.max(20, Math.round(goodPerCase / 2));
const seed = option('seed', 1);

/** The service before the release: 2 % errors, 50 ms median latency with sigma 0.3 (p99 about 100 ms). */
const base: TrafficModel = {
  requestRate: 1,
  errorRate: option('base-error', 0.02),
  latencySeconds: 0.05,
  latencySpread: 0.3,
};
/** The level whose default window is judged: by default a change of no particular risk (5m window). */
const levelArg = args.includes('--level') ? args[args.indexOf('--level') + 1] : undefined;
const level: RiskLevel = riskLevels.find((l) => l === levelArg) ?? 'monitor';

const kinds = ['good', 'errors x1.5', 'errors x2', 'errors x5', 'p99 x1.5'] as const;
type Kind = (typeof kinds)[number];

function released(kind: Kind): TrafficModel {
  switch (kind) {
    case 'good':
      return base;
    case 'errors x1.5':
      return { ...base, errorRate: base.errorRate * 1.5 };
    case 'errors x2':
      return { ...base, errorRate: base.errorRate * 2 };
    case 'errors x5':
      return { ...base, errorRate: base.errorRate * 5 };
    case 'p99 x1.5':
      // Same median, a spread whose 99th percentile (z = 2.326) is 1.5 times the old one.
      return { ...base, latencySpread: base.latencySpread + Math.log(1.5) / 2.326 };
  }
}

interface Window {
  readonly counts: ErrorCounts;
  readonly histogram: Histogram;
}

const emptyWindow: Window = {
  counts: { requests: 0, errors: 0 },
  histogram: { bounds: latencyBuckets, cumulative: latencyBuckets.map(() => 0), total: 0 },
};

function windowOf(draw: Draw, model: TrafficModel, pods: number, seconds: number): Window {
  if (pods <= 0) return emptyWindow;
  const t = drawTraffic(draw, { ...model, requestRate: model.requestRate * pods }, seconds);
  let running = 0;
  const cumulative = latencyBuckets.map((_, i) => (running += t.regions[i] ?? 0));
  return {
    counts: { requests: t.ok + t.errors, errors: t.errors },
    histogram: { bounds: latencyBuckets, cumulative, total: t.ok + t.errors },
  };
}

function add(a: Window, b: Window): Window {
  return {
    counts: { requests: a.counts.requests + b.counts.requests, errors: a.counts.errors + b.counts.errors },
    histogram: {
      bounds: latencyBuckets,
      cumulative: a.histogram.cumulative.map((c, i) => c + (b.histogram.cumulative[i] ?? 0)),
      total: a.histogram.total + b.histogram.total,
    },
  };
}

const sum = (ws: readonly Window[]): Window => ws.reduce(add, emptyWindow);

/** The plain verdict's readings of a window: the error ratio and the p99, NaN (no data) without requests. */
function ratio(w: Window): SingleResult {
  return singleValue(w.counts.requests > 0 ? w.counts.errors / w.counts.requests : NaN);
}
function p99(w: Window): SingleResult {
  return singleValue(histogramQuantile(0.99, w.histogram));
}

interface Outcome {
  /** The interval (from 1, the first with new pods serving) at which it was rolled back; undefined if kept. */
  readonly rolledBackAt: number | undefined;
  /** The first interval that failed (before failureLimit asked for more), when it was rolled back. */
  readonly firstFailAt: number | undefined;
}

interface Verdict {
  readonly limits: MetricLimits;
  readonly observe: (
    look: number,
    history: Interval[],
    before: { long: Window; short: Window },
  ) => IntervalObservations;
}

interface Interval {
  readonly fresh: Window;
  readonly old: Window;
  readonly oldServing: boolean;
}

function judge(
  verdict: Verdict,
  spec: PolicySpec,
  history: Interval[],
  before: { long: Window; short: Window },
  completeLook: number,
): Outcome {
  const limits = verificationLimitsFor(level, spec);
  const windowLooks = Math.ceil(limits.windowMs / limits.intervalMs);
  let counters = INITIAL_COUNTERS;
  let firstFailAt: number | undefined;
  for (let look = 1; look <= history.length; look++) {
    const checks = checkInterval(verdict.limits, verdict.observe(look, history.slice(0, look), before));
    const step = nextVerificationState(counters, checks, limits, {
      windowElapsed: look >= completeLook + windowLooks,
    });
    counters = step.counters;
    if (step.outcome === 'fail') firstFailAt ??= look;
    if (step.decision.action === 'rollback') return { rolledBackAt: look, firstFailAt };
    if (step.decision.action === 'pass') break;
  }
  return { rolledBackAt: undefined, firstFailAt: undefined };
}

function verdicts(spec: PolicySpec): Record<'new' | 'previous', Verdict> {
  const m = spec.metrics;
  const plainLimits: MetricLimits = { errorRate: m.errorRate, latency: m.latency };
  const rateIntervals = Math.max(1, Math.round(60_000 / verificationLimitsFor(level, spec).intervalMs));
  return {
    new: {
      limits: { ...plainLimits, statisticalTest: m.statisticalTest },
      observe: (look, history, before) => {
        const fresh = sum(history.map((h) => h.fresh));
        const served = history.filter((h) => h.oldServing);
        const old = served.length === 0 ? undefined : sum(served.map((h) => h.old));
        return {
          counts: {
            look,
            plannedLooks: plannedLooks(verificationLimitsFor(level, spec)),
            errorRate: {
              current: { kind: 'counted', value: fresh.counts },
              oldReplicaSet: old?.counts,
              baseline: before.long.counts,
            },
            latency: {
              current: { kind: 'counted', value: fresh.histogram },
              oldReplicaSet: old?.histogram,
              baseline: before.long.histogram,
            },
          },
        };
      },
    },
    previous: {
      limits: plainLimits,
      // Each reading is the last rateWindow (1m) of the ReplicaSet's traffic, as rate() over [1m] gives it.
      observe: (_look, history, before) => {
        const last = history.slice(-rateIntervals);
        const fresh = sum(last.map((h) => h.fresh));
        const current = history.at(-1);
        const old = current?.oldServing === true ? sum(last.map((h) => h.old)) : undefined;
        return {
          errorRate: {
            current: ratio(fresh),
            baseline: ratio(before.short),
            ...(old ? { oldReplicaSet: ratio(old) } : {}),
          },
          latency: { current: p99(fresh), baseline: p99(before.short), ...(old ? { oldReplicaSet: p99(old) } : {}) },
        };
      },
    },
  };
}

/** One release: the baseline before it, then a rolling update one step per interval, then the window. */
function simulate(
  spec: PolicySpec,
  kind: Kind,
  perPod: number,
  pods: number,
  releaseSeed: string,
): Record<'new' | 'previous', Outcome> {
  const draw = poissonStream(seed, releaseSeed);
  const limits = verificationLimitsFor(level, spec);
  const interval = limits.intervalMs / 1000;
  const oldModel = { ...base, requestRate: perPod };
  const newModel = { ...released(kind), requestRate: perPod };
  const baselineSeconds = parseDuration(spec.metrics.statisticalTest.baselineWindow) / 1000;
  const before = {
    long: windowOf(draw, oldModel, pods, baselineSeconds - 60),
    short: windowOf(draw, oldModel, pods, 60),
  };
  const long = add(before.long, before.short);
  // maxSurge 25 %: a quarter of the pods more per interval.
  const step = Math.max(1, Math.ceil(pods / 4));
  const completeLook = Math.ceil(pods / step);
  const total = completeLook + Math.ceil(limits.windowMs / limits.intervalMs) + 2 * limits.failureLimit + 6;
  const history: Interval[] = [];
  for (let look = 1; look <= total; look++) {
    const newPods = Math.min(pods, step * look);
    history.push({
      fresh: windowOf(draw, newModel, newPods, interval),
      old: windowOf(draw, oldModel, pods - newPods, interval),
      oldServing: pods - newPods > 0,
    });
  }
  const v = verdicts(spec);
  return {
    new: judge(v.new, spec, history, { long, short: before.short }, completeLook),
    previous: judge(v.previous, spec, history, { long, short: before.short }, completeLook),
  };
}

interface Row {
  readonly kind: Kind;
  readonly perPod: number;
  readonly pods: number;
  readonly releases: number;
  readonly rolledBack: Record<'new' | 'previous', number>;
  readonly intervals: Record<'new' | 'previous', number[]>;
  readonly firstFails: Record<'new' | 'previous', number[]>;
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function parsed(raw: unknown): PolicySpec {
  const result = parsePolicySpec(raw);
  if (!result.ok) throw new Error('the bench policy does not parse');
  return result.value;
}

const margin = option('margin', NaN);
const baselineWindow = args.includes('--baseline-window') ? args[args.indexOf('--baseline-window') + 1] : undefined;
const spec = parsed({
  selector: {},
  metrics: {
    statisticalTest: {
      enabled: true,
      ...(Number.isFinite(margin) ? { margin } : {}),
      ...(baselineWindow === undefined ? {} : { baselineWindow }),
    },
  },
});
const started = performance.now();
const rows: Row[] = [];
for (const kind of kinds) {
  for (const perPod of [0.5, 5, 50]) {
    for (const pods of [2, 10]) {
      const releases = kind === 'good' ? goodPerCase : badPerCase;
      const row: Row = {
        kind,
        perPod,
        pods,
        releases,
        rolledBack: { new: 0, previous: 0 },
        intervals: { new: [], previous: [] },
        firstFails: { new: [], previous: [] },
      };
      for (let i = 0; i < releases; i++) {
        const outcome = simulate(spec, kind, perPod, pods, `${kind}/${perPod}/${pods}/${i}`);
        for (const which of ['new', 'previous'] as const) {
          const at = outcome[which].rolledBackAt;
          if (at === undefined) continue;
          row.rolledBack[which] += 1;
          row.intervals[which].push(at);
          row.firstFails[which].push(outcome[which].firstFailAt ?? at);
        }
      }
      rows.push(row);
    }
  }
}

const limits = verificationLimitsFor(level, spec);
const pctText = (n: number, d: number): string => (d === 0 ? '-' : `${((100 * n) / d).toFixed(1)} %`);
const medText = (xs: readonly number[]): string => (xs.length === 0 ? '-' : String(median(xs)));
console.log(
  `Verification quality: ${String(6 * goodPerCase)} good and ${String(24 * badPerCase)} bad releases, ` +
    `interval ${String(limits.intervalMs / 1000)}s, window ${String(limits.windowMs / 60_000)}m after the rollout (level ${level}), ` +
    `failureLimit ${String(limits.failureLimit)}; service before the release: ${String(100 * base.errorRate)} % errors, ` +
    `median ${String(base.latencySeconds * 1000)} ms, sigma ${String(base.latencySpread)}.`,
);
console.log('Rolled back (for good releases: false rollbacks) and median intervals to the rollback:');
console.log(
  ['release', 'req/s/pod', 'pods', 'n', 'new: rolled back', 'new: median', 'previous: rolled back', 'previous: median']
    .map((h) => h.padEnd(13))
    .join(' '),
);
for (const r of rows) {
  console.log(
    [
      r.kind,
      String(r.perPod),
      String(r.pods),
      String(r.releases),
      pctText(r.rolledBack.new, r.releases),
      medText(r.intervals.new),
      pctText(r.rolledBack.previous, r.releases),
      medText(r.intervals.previous),
    ]
      .map((c) => c.padEnd(13))
      .join(' '),
  );
}

function figures(which: 'new' | 'previous') {
  const good = rows.filter((r) => r.kind === 'good');
  const twice = rows.filter((r) => r.kind === 'errors x2' && r.perPod >= 5);
  const fivefoldLow = rows.filter((r) => r.kind === 'errors x5' && r.perPod === 0.5);
  const rate = (rs: readonly Row[]) =>
    rs.reduce((n, r) => n + r.rolledBack[which], 0) /
    Math.max(
      1,
      rs.reduce((n, r) => n + r.releases, 0),
    );
  return {
    falseRollbackRate: rate(good),
    detectionRate2x: rate(twice),
    medianIntervalsToDetect2x: median(twice.flatMap((r) => r.intervals[which])),
    medianIntervalsToFirstFail2x: median(twice.flatMap((r) => r.firstFails[which])),
    detectionRate5xAtHalfRps: rate(fivefoldLow),
    goodReleases: good.reduce((n, r) => n + r.releases, 0),
  };
}

const now = figures('new');
const previous = figures('previous');
const goals = {
  falseRollbackRate: now.falseRollbackRate <= 0.005,
  detectionRate2x: now.detectionRate2x >= 0.95,
  medianIntervalsToDetect2x: now.medianIntervalsToDetect2x <= 3,
  detectionRate5xAtHalfRps: now.detectionRate5xAtHalfRps >= 0.95,
};
console.log(
  `\nnew verdict:      false rollbacks ${pctText(now.falseRollbackRate, 1)} of ${String(now.goodReleases)} good releases ` +
    `(goal ≤ 0.5 %: ${goals.falseRollbackRate ? 'met' : 'NOT met'}); ×2 errors at ≥ 5 req/s/pod caught ${pctText(now.detectionRate2x, 1)} ` +
    `(goal ≥ 95 %: ${goals.detectionRate2x ? 'met' : 'NOT met'}), median ${String(now.medianIntervalsToDetect2x)} intervals ` +
    `(goal ≤ 3: ${goals.medianIntervalsToDetect2x ? 'met' : 'NOT met'}; the first failed interval at ${String(now.medianIntervalsToFirstFail2x)}); ×5 at 0.5 req/s/pod caught ${pctText(now.detectionRate5xAtHalfRps, 1)} ` +
    `(goal ≥ 95 %: ${goals.detectionRate5xAtHalfRps ? 'met' : 'NOT met'})`,
);
console.log(
  `previous verdict: false rollbacks ${pctText(previous.falseRollbackRate, 1)}; ×2 errors at ≥ 5 req/s/pod caught ${pctText(previous.detectionRate2x, 1)}, ` +
    `median ${String(previous.medianIntervalsToDetect2x)} intervals; ×5 at 0.5 req/s/pod caught ${pctText(previous.detectionRate5xAtHalfRps, 1)}`,
);
console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`);
if (json) {
  console.log(
    JSON.stringify({
      falseRollbackRate: now.falseRollbackRate,
      detectionRate2x: now.detectionRate2x,
      medianIntervalsToDetect2x: now.medianIntervalsToDetect2x,
      medianIntervalsToFirstFail2x: now.medianIntervalsToFirstFail2x,
      detectionRate5xAtHalfRps: now.detectionRate5xAtHalfRps,
      goodReleases: now.goodReleases,
      goals,
      previous,
    }),
  );
}
