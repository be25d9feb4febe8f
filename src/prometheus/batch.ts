// Batching: one query per policy, metric and interval for every Deployment being verified in the namespace,
// grouped by deployment and pod_template_hash, then split back into one reading per ReplicaSet. The number of
// queries thus grows with policies, not with rollouts. Pure: the controller runs the queries.
import { renderQuery, type RenderResult } from './template.js';
import {
  emptyResult,
  formatLabels,
  isProviderFailure,
  multipleSeries,
  singleValue,
  type InstantQueryOptions,
  type MetricsProvider,
  type QueryResult,
  type Series,
  type SingleResult,
} from './types.js';

/** One Deployment under verification: its new ReplicaSet's hash, and the old one's while both serve. */
export interface VerificationTarget {
  readonly deployment: string;
  readonly podTemplateHashes: readonly string[];
}

export interface BatchScope {
  readonly namespace: string;
  /** The policy's `metrics.rateWindow`. */
  readonly window: string;
  readonly targets: readonly VerificationTarget[];
}

export interface PlannedQuery<M extends string> {
  readonly metric: M;
  readonly render: RenderResult;
}

/** Renders one template for every target of the scope at once (`{{deploymentRegex}}`, `{{hashRegex}}`). */
export function buildBatchQuery(template: string, scope: BatchScope): RenderResult {
  return renderQuery(template, {
    namespace: scope.namespace,
    window: scope.window,
    deployments: scope.targets.map((t) => t.deployment),
    podTemplateHashes: scope.targets.flatMap((t) => t.podTemplateHashes),
  });
}

/**
 * One query per metric for the whole scope, e.g. `{ errorRate, latency }` → two queries whether one or a
 * hundred rollouts are being verified. No targets, no queries.
 */
export function planBatchQueries<M extends string>(
  templates: Readonly<Record<M, string>>,
  scope: BatchScope,
): PlannedQuery<M>[] {
  if (scope.targets.length === 0) return [];
  return (Object.keys(templates) as M[])
    .sort()
    .map((metric) => ({ metric, render: buildBatchQuery(templates[metric], scope) }));
}

export interface SplitLabels {
  readonly deployment: string;
  readonly podTemplateHash: string;
}

export const DEFAULT_SPLIT_LABELS: SplitLabels = { deployment: 'deployment', podTemplateHash: 'pod_template_hash' };

/**
 * A batched answer keyed by (deployment, pod_template_hash). When the whole query failed or was empty, that
 * one result stands for every key: an outage reads as an outage for each rollout, not as "no data".
 */
export type BatchSplit =
  | { readonly kind: 'split'; readonly series: ReadonlyMap<string, readonly Series[]> }
  | { readonly kind: 'whole'; readonly result: SingleResult };

function keyOf(deployment: string, podTemplateHash: string): string {
  return JSON.stringify([deployment, podTemplateHash]);
}

export function splitByReplicaSet(result: QueryResult, labels: SplitLabels = DEFAULT_SPLIT_LABELS): BatchSplit {
  if (isProviderFailure(result) || result.kind === 'empty') return { kind: 'whole', result };
  let all: readonly Series[];
  switch (result.kind) {
    case 'vector':
      all = result.samples.map((s) => ({ labels: s.labels, points: [{ timestamp: s.timestamp, value: s.value }] }));
      break;
    case 'matrix':
      all = result.series;
      break;
    case 'value':
    case 'not-a-number':
    case 'multiple-series':
      all = [];
      break;
  }
  const series = new Map<string, Series[]>();
  for (const s of all) {
    const deployment = s.labels[labels.deployment];
    const hash = s.labels[labels.podTemplateHash];
    if (deployment === undefined || hash === undefined) continue;
    const key = keyOf(deployment, hash);
    series.set(key, [...(series.get(key) ?? []), s]);
  }
  if (series.size === 0) {
    const example = all[0] === undefined ? 'a single number' : `series such as ${formatLabels(all[0].labels)}`;
    return {
      kind: 'whole',
      result: {
        kind: 'invalid-response',
        message:
          `the batched query returned ${example} without the ${labels.deployment} and ` +
          `${labels.podTemplateHash} labels; group it with sum by (${labels.deployment}, ${labels.podTemplateHash})`,
      },
    };
  }
  return { kind: 'split', series };
}

function seriesFor(split: BatchSplit & { kind: 'split' }, deployment: string, hash: string): readonly Series[] {
  return split.series.get(keyOf(deployment, hash)) ?? [];
}

function noSeries(deployment: string, hash: string): SingleResult {
  return emptyResult(
    `no series for Deployment ${deployment}, pod-template-hash ${hash} (no traffic to these pods in the window yet)`,
  );
}

/** A rendered query's answer split per ReplicaSet, or why the query could not be rendered (nothing was asked). */
export type BatchReading = { ok: true; query: string; split: BatchSplit } | { ok: false; error: string };

/**
 * The one way rollguard reads Prometheus for its rollouts: a query rendered for a scope (buildBatchQuery), asked
 * at one moment, its answer split per Deployment and ReplicaSet. Live signals, the baseline and the
 * verification batcher all read through it. The provider never throws (see types.ts).
 */
export async function readBatch(
  provider: Pick<MetricsProvider, 'instant'>,
  render: RenderResult,
  options?: InstantQueryOptions,
): Promise<BatchReading> {
  if (!render.ok) return { ok: false, error: render.error };
  return { ok: true, query: render.query, split: splitByReplicaSet(await provider.instant(render.query, options)) };
}

/** The reading of one ReplicaSet: its value, `empty`, `not-a-number`, `multiple-series`, or the query's failure. */
export function readingFor(split: BatchSplit, deployment: string, podTemplateHash: string): SingleResult {
  if (split.kind === 'whole') return split.result;
  const found = seriesFor(split, deployment, podTemplateHash);
  const [only, ...rest] = found;
  if (only === undefined) return noSeries(deployment, podTemplateHash);
  if (rest.length > 0) return multipleSeries(found.map((s) => s.labels));
  const last = only.points.at(-1);
  if (last === undefined) return noSeries(deployment, podTemplateHash);
  return singleValue(last.value, only.labels, last.timestamp);
}

/** One target with a window of its own, e.g. the time since its verification began. */
export interface WindowedTarget extends VerificationTarget {
  /** A PromQL duration such as `95s`. */
  readonly window: string;
}

/**
 * One query for targets whose windows differ: the template rendered once per distinct window (for every
 * target with that window) and the parts joined with `or`. Each part keeps its own deployments, so the
 * series of the parts never collide; the number of queries stays one per policy and metric.
 */
export function buildWindowedBatchQuery(
  template: string,
  namespace: string,
  targets: readonly WindowedTarget[],
): RenderResult {
  const byWindow = new Map<string, WindowedTarget[]>();
  for (const t of targets) byWindow.set(t.window, [...(byWindow.get(t.window) ?? []), t]);
  const parts: string[] = [];
  for (const [window, group] of [...byWindow.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const render = buildBatchQuery(template, { namespace, window, targets: group });
    if (!render.ok) return render;
    parts.push(byWindow.size === 1 ? render.query : `(${render.query})`);
  }
  if (parts.length === 0) return { ok: false, error: 'no rollout to query' };
  return { ok: true, query: parts.join(' or ') };
}

export type BucketsReading =
  | { readonly kind: 'buckets'; readonly buckets: readonly { readonly le: number; readonly count: number }[] }
  | SingleResult;

/**
 * One ReplicaSet's histogram buckets: its series told apart by the `le` label (seconds; "+Inf" is Infinity).
 * A series without a readable `le` means the query does not group by it, which is said, not guessed at.
 */
export function bucketsFor(split: BatchSplit, deployment: string, podTemplateHash: string): BucketsReading {
  if (split.kind === 'whole') return split.result;
  const found = seriesFor(split, deployment, podTemplateHash);
  if (found.length === 0) return noSeries(deployment, podTemplateHash);
  const buckets: { le: number; count: number }[] = [];
  for (const s of found) {
    const raw = s.labels.le;
    const le = raw === '+Inf' ? Infinity : Number(raw);
    if (raw === undefined || Number.isNaN(le)) {
      return {
        kind: 'invalid-response',
        message: `the histogram query returned ${formatLabels(s.labels)} without a numeric le label; group it with sum by (deployment, pod_template_hash, le)`,
      };
    }
    const last = s.points.at(-1);
    if (last !== undefined) buckets.push({ le, count: last.value });
  }
  return { kind: 'buckets', buckets };
}
