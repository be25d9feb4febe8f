// Tests for batching: N rollouts → one query per metric, and the split back to one reading per ReplicaSet.
import { describe, expect, it } from 'vitest';
import {
  bucketsFor,
  buildWindowedBatchQuery,
  planBatchQueries,
  readingFor,
  splitByReplicaSet,
  type VerificationTarget,
} from './batch.js';
import type { QueryResult, Sample } from './types.js';

const templates = {
  errorRate:
    'sum by (deployment, pod_template_hash) (rate(http_requests_total{namespace="{{namespace}}",deployment=~"{{deploymentRegex}}",code=~"5.."}[{{window}}]))' +
    ' / sum by (deployment, pod_template_hash) (rate(http_requests_total{namespace="{{namespace}}",deployment=~"{{deploymentRegex}}"}[{{window}}]))',
  latency:
    'histogram_quantile(0.99, sum by (deployment, pod_template_hash, le) (rate(http_request_duration_seconds_bucket{namespace="{{namespace}}",deployment=~"{{deploymentRegex}}"}[{{window}}])))',
};

function targets(n: number): VerificationTarget[] {
  return Array.from({ length: n }, (_, i) => ({ deployment: `svc-${i}`, podTemplateHashes: [`new${i}`, `old${i}`] }));
}

describe('planBatchQueries', () => {
  it.each([1, 10, 100])('%i rollouts → one query per metric', (n) => {
    const planned = planBatchQueries(templates, { namespace: 'shop', window: '1m', targets: targets(n) });
    expect(planned.map((p) => p.metric)).toEqual(['errorRate', 'latency']);
    for (const p of planned) {
      if (!p.render.ok) throw new Error(p.render.error);
      for (let i = 0; i < n; i++) expect(p.render.query).toContain(`svc-${i}`);
    }
  });

  it('plans nothing when nothing is being verified', () => {
    expect(planBatchQueries(templates, { namespace: 'shop', window: '1m', targets: [] })).toEqual([]);
  });

  it('passes a template error through per metric', () => {
    const planned = planBatchQueries(
      { errorRate: 'up{job="{{job}}"}' },
      { namespace: 'shop', window: '1m', targets: targets(1) },
    );
    expect(planned[0]?.render.ok).toBe(false);
  });
});

function sample(deployment: string | undefined, hash: string | undefined, value: number): Sample {
  const labels: Record<string, string> = {};
  if (deployment !== undefined) labels.deployment = deployment;
  if (hash !== undefined) labels.pod_template_hash = hash;
  return { labels, timestamp: 1763770000, value };
}

const vector: QueryResult = {
  kind: 'vector',
  message: '',
  samples: [sample('web', 'new', 0.31), sample('web', 'old', 0.01), sample('api', 'new', NaN)],
};

describe('splitByReplicaSet / readingFor', () => {
  const split = splitByReplicaSet(vector);

  it.each([
    ['web', 'new', { kind: 'value', value: 0.31 }],
    ['web', 'old', { kind: 'value', value: 0.01 }],
    ['api', 'new', { kind: 'not-a-number' }],
    ['api', 'old', { kind: 'empty' }],
    ['cart', 'new', { kind: 'empty' }],
  ])('%s/%s → %o', (deployment, hash, expected) => {
    expect(readingFor(split, deployment, hash)).toMatchObject(expected);
  });

  it('reports several series for one ReplicaSet as multiple-series', () => {
    const twice: QueryResult = {
      kind: 'vector',
      message: '',
      samples: [
        { ...sample('web', 'new', 1), labels: { deployment: 'web', pod_template_hash: 'new', code: '500' } },
        { ...sample('web', 'new', 2), labels: { deployment: 'web', pod_template_hash: 'new', code: '503' } },
      ],
    };
    expect(readingFor(splitByReplicaSet(twice), 'web', 'new')).toMatchObject({ kind: 'multiple-series', count: 2 });
  });

  it.each([
    [{ kind: 'unreachable', reason: 'refused', message: 'Prometheus refused the connection' }, 'unreachable'],
    [{ kind: 'timeout', reason: 'slow', message: 'slow' }, 'timeout'],
    [{ kind: 'empty', message: 'nothing' }, 'empty'],
  ] as const)('a whole-query %o reads the same for every rollout', (result, kind) => {
    const split = splitByReplicaSet(result);
    expect(readingFor(split, 'web', 'new').kind).toBe(kind);
    expect(readingFor(split, 'api', 'old').kind).toBe(kind);
  });

  it('explains a batched query that lost the grouping labels', () => {
    const ungrouped: QueryResult = { kind: 'vector', message: '', samples: [sample(undefined, undefined, 0.2)] };
    const reading = readingFor(splitByReplicaSet(ungrouped), 'web', 'new');
    expect(reading.kind).toBe('invalid-response');
    expect(reading.message).toMatch(/sum by \(deployment, pod_template_hash\)/);
  });
});

describe('buildWindowedBatchQuery', () => {
  const template =
    'sum by (deployment, pod_template_hash) (increase(x{deployment=~"{{deploymentRegex}}"}[{{window}}]))';
  it('renders one part per window and joins them with or', () => {
    const render = buildWindowedBatchQuery(template, 'shop', [
      { deployment: 'a', podTemplateHashes: ['1'], window: '30s' },
      { deployment: 'b', podTemplateHashes: ['2'], window: '120s' },
      { deployment: 'c', podTemplateHashes: ['3'], window: '30s' },
    ]);
    expect(render).toEqual({
      ok: true,
      query:
        '(sum by (deployment, pod_template_hash) (increase(x{deployment=~"b"}[120s]))) or ' +
        '(sum by (deployment, pod_template_hash) (increase(x{deployment=~"a|c"}[30s])))',
    });
  });
  it('is the plain query when every window is the same', () => {
    const render = buildWindowedBatchQuery(template, 'shop', [
      { deployment: 'a', podTemplateHashes: ['1'], window: '30s' },
    ]);
    expect(render).toEqual({
      ok: true,
      query: 'sum by (deployment, pod_template_hash) (increase(x{deployment=~"a"}[30s]))',
    });
  });
  it('refuses a window that is not a duration, and no targets', () => {
    expect(
      buildWindowedBatchQuery(template, 'shop', [{ deployment: 'a', podTemplateHashes: ['1'], window: '1m]' }]).ok,
    ).toBe(false);
    expect(buildWindowedBatchQuery(template, 'shop', []).ok).toBe(false);
  });
});

describe('bucketsFor', () => {
  const bucket = (hash: string, le: string | undefined, value: number): Sample => ({
    labels: { deployment: 'web', pod_template_hash: hash, ...(le === undefined ? {} : { le }) },
    timestamp: 1763770000,
    value,
  });
  const split = splitByReplicaSet({
    kind: 'vector',
    message: '',
    samples: [bucket('new', '0.1', 40), bucket('new', '+Inf', 50), bucket('odd', undefined, 3)],
  });
  it("reads one ReplicaSet's buckets, +Inf as Infinity", () => {
    expect(bucketsFor(split, 'web', 'new')).toEqual({
      kind: 'buckets',
      buckets: [
        { le: 0.1, count: 40 },
        { le: Infinity, count: 50 },
      ],
    });
  });
  it('says so when the query does not group by le', () => {
    expect(bucketsFor(split, 'web', 'odd')).toMatchObject({
      kind: 'invalid-response',
      message: /without a numeric le label/,
    });
  });
  it('is no data for a ReplicaSet without series', () => {
    expect(bucketsFor(split, 'web', 'gone').kind).toBe('empty');
  });
});
