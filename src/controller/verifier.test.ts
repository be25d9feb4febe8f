// The verifier's writes and reports, with fakes for the cluster and Prometheus: an interval's status write is
// conditional on the record it was judged from (a stale cache never erases a newer interval, and a refused
// write is judged again, not lost), and a query Prometheus rejects holds verification and is reported as the
// policy's problem, whatever onProviderError says.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AssessmentStatus } from '../api/assessment.js';
import { parsePolicySpec } from '../api/policy.js';
import { DeploymentEvents, type EventInput } from '../kube/events.js';
import type { JsonPatchOp } from '../api/meta.js';
import type { ClusterWriter } from '../kube/writer.js';
import type { HealthResult, MetricsProvider, QueryResult } from '../prometheus/types.js';
import { OperatorMetrics } from '../telemetry/metrics.js';
import { tickClockFor } from '../verify/ticks.js';
import type { PrometheusAccess } from './prometheus-access.js';
import { currentRollout } from '../api/revision.js';
import type { Caches } from '../api/objects.js';
import { VerificationBatcher } from './verification-batcher.js';
import { Verifier, type VerifyInput } from './verifier.js';

const conflict = Object.assign(new Error('Operation cannot be fulfilled: the object has been modified'), { code: 409 });

/** Status writes, refused with a conflict when they name a resourceVersion other than the stored one. */
class FakeWriter implements ClusterWriter {
  storedVersion = '7';
  readonly statusWrites: { status: Record<string, unknown>; resourceVersion: string | undefined }[] = [];

  mergePatchAssessmentStatus(_ns: string, _name: string, status: object, resourceVersion?: string): Promise<object> {
    if (resourceVersion !== undefined && resourceVersion !== this.storedVersion) return Promise.reject(conflict);
    this.statusWrites.push({ status: status as Record<string, unknown>, resourceVersion });
    this.storedVersion = String(Number(this.storedVersion) + 1);
    return Promise.resolve({});
  }
  readAssessment(): Promise<object | undefined> {
    return Promise.resolve({
      metadata: { name: 'web-2', resourceVersion: this.storedVersion },
      spec: { revision: 2 },
      status: { actions: [] },
    });
  }
  mergePatchDeployment(): Promise<V1Deployment> {
    return Promise.resolve({});
  }
  jsonPatchDeployment(_ns: string, _name: string, _ops: JsonPatchOp[]): Promise<V1Deployment> {
    return Promise.resolve({});
  }
  readDeployment(): Promise<V1Deployment> {
    return Promise.resolve({});
  }
  createAssessment(): Promise<object> {
    return Promise.resolve({});
  }
  deleteAssessment(): Promise<void> {
    return Promise.resolve();
  }
  mergePatchPolicyStatus(): Promise<object> {
    return Promise.resolve({});
  }
}

function replicaSet(revision: number, hash: string): V1ReplicaSet {
  return {
    metadata: {
      name: `web-${hash}`,
      namespace: 'shop',
      labels: { 'pod-template-hash': hash },
      annotations: { 'deployment.kubernetes.io/revision': String(revision) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u1', controller: true }],
    },
    spec: { selector: {}, template: { metadata: { labels: { app: 'web', v: hash } } } },
    status: { replicas: 1, readyReplicas: 1 },
  };
}

const deployment: V1Deployment = {
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: 'u1',
    generation: 2,
    annotations: { 'deployment.kubernetes.io/revision': '2' },
  },
  spec: { replicas: 2, selector: {}, template: { metadata: { labels: { app: 'web', v: 'new222' } } } },
  status: { observedGeneration: 2, replicas: 3, updatedReplicas: 1, availableReplicas: 2 },
};
const replicaSets = [replicaSet(1, 'old111'), replicaSet(2, 'new222')];

/** One sample per ReplicaSet of web, as the batched queries return them. */
function perReplicaSet(value: number): QueryResult {
  const samples = ['old111', 'new222'].map((h) => ({
    labels: { deployment: 'web', pod_template_hash: h },
    timestamp: 1,
    value,
  }));
  return { kind: 'vector', samples, message: '' };
}

/** Prometheus answering the batched error-rate query with `errorRate()`, and good latency. */
function provider(errorRate: () => QueryResult): MetricsProvider {
  return {
    instant: (query) => Promise.resolve(query.startsWith('histogram_quantile') ? perReplicaSet(0.1) : errorRate()),
    range: () => Promise.resolve({ kind: 'empty', message: '' }),
    healthy: (): Promise<HealthResult> => Promise.resolve({ healthy: true, via: 'ready-endpoint', message: 'ready' }),
  };
}

const goodErrors = perReplicaSet(0.001);
const rejected: QueryResult = {
  kind: 'promql-error',
  status: 400,
  errorType: 'bad_data',
  error: '1:80: parse error: unexpected end of input',
  message: 'Prometheus rejected the query (bad_data): 1:80: parse error: unexpected end of input',
};

function setup(answer: QueryResult, verification: object = {}, quietWritePeriodMs?: number, assessmentName = 'web-2') {
  const writer = new FakeWriter();
  const prometheus = { answer };
  const reports: [string, string | undefined][] = [];
  const events: EventInput[] = [];
  const caches = {
    replicaSets: () => replicaSets,
    assessments: () => [],
  } as unknown as Caches;
  const access = {
    providerFor: () =>
      Promise.resolve({ ok: true, provider: provider(() => prometheus.answer), address: 'http://prom:9090' }),
  } as unknown as PrometheusAccess;
  let now = new Date('2026-12-01T10:00:00.200Z');
  const metrics = new OperatorMetrics();
  const verifier = new Verifier({
    caches,
    writer,
    events: new DeploymentEvents({ emit: (e) => Promise.resolve(void events.push(e)) }),
    access,
    batcher: new VerificationBatcher(),
    metrics,
    clock: () => now,
    reportQueryProblem: (key, problem) => reports.push([key, problem]),
    ...(quietWritePeriodMs !== undefined ? { quietWritePeriodMs } : {}),
  });
  const parsed = parsePolicySpec({
    selector: {},
    prometheus: { address: 'http://prom:9090' },
    verification: { interval: '10s', ...verification },
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  const rollout = currentRollout(deployment, replicaSets);
  if (!rollout) throw new Error('no rollout');
  const status: AssessmentStatus = {
    outcome: 'running',
    phase: 'Verifying',
    level: 'safe',
    score: 0.1,
    mode: 'enforce',
    assessedAt: '2026-12-01T09:59:00Z',
    verification: { startedAt: '2026-12-01T09:59:30Z', baselineErrorRate: 0.001, baselineLatencySeconds: 0.1 },
  };
  const input = (resourceVersion: string, current: AssessmentStatus = status): VerifyInput => ({
    deployment,
    rollout,
    policy: { object: { metadata: { name: 'guard', namespace: 'shop' } }, spec: parsed.value },
    assessmentName,
    resourceVersion,
    exemptReturn: false,
    status: current,
    log: pino({ level: 'silent' }),
  });
  /** The record as the cluster now holds it: the initial status with every written status merged over it. */
  const stored = (): AssessmentStatus =>
    t.writer.statusWrites.reduce<AssessmentStatus>((s, w) => ({ ...s, ...w.status }), status);
  const t = { writer };
  return {
    writer,
    reports,
    events,
    verifier,
    metrics,
    prometheus,
    input,
    /** The next pass as the reconciler makes it: from the stored record at its current version. */
    pass: () => verifier.verify(input(writer.storedVersion, stored())),
    stored,
    tick: () => (now = new Date(now.getTime() + 10_000)),
    advance: (ms: number) => (now = new Date(now.getTime() + ms)),
  };
}

describe('Verifier: conditional status writes', () => {
  it('writes an interval only onto the record it judged, and judges it again when that record was stale', async () => {
    const t = setup(goodErrors);
    // The cache shows version 6; the API server has 7 (another write landed meanwhile).
    const stale = await t.verifier.verify(t.input('6'));
    expect(stale).toEqual({ requeueAfterMs: 200 });
    expect(t.writer.statusWrites).toHaveLength(0);
    // Retried from the fresh record, in the same interval: judged and written, not skipped as done.
    await t.verifier.verify(t.input('7'));
    expect(t.writer.statusWrites).toHaveLength(1);
    expect(t.writer.statusWrites[0]?.resourceVersion).toBe('7');
    expect(t.writer.statusWrites[0]?.status).toMatchObject({ verification: { state: 'running' } });
  });
});

describe('Verifier: a query the policy got wrong', () => {
  it('holds at once, never rolls back even with onProviderError: fail, and reports it as the policy problem', async () => {
    const t = setup(rejected, { errorLimit: 1, onProviderError: 'fail' });
    await t.verifier.verify(t.input(t.writer.storedVersion));
    t.tick();
    await t.verifier.verify(t.input(t.writer.storedVersion));
    const states = t.writer.statusWrites.map((w) => (w.status.verification as { state?: string } | undefined)?.state);
    expect(states.filter((s) => s !== undefined)).toEqual(['held', 'held']);
    expect(t.writer.statusWrites.some((w) => w.status.outcome !== undefined)).toBe(false);
    expect(t.events.map((e) => e.reason)).toContain('VerificationHeld');
    expect(t.events.map((e) => e.reason)).not.toContain('RolledBack');
    expect(t.reports.at(-1)).toEqual([
      'shop/guard',
      'spec.metrics.errorRate.query: Prometheus rejected the query (bad_data): 1:80: parse error: unexpected end of input',
    ]);
  });

  it('clears the report once Prometheus answers both queries', async () => {
    const t = setup(goodErrors);
    await t.verifier.verify(t.input('7'));
    expect(t.reports).toEqual([['shop/guard', undefined]]);
  });
});

describe('Verifier: each policy checks on its own tick clock', () => {
  it('judges an interval once per tick of the policy, and comes back at the policy’s next tick', async () => {
    // shop/guard's ticks begin 3.019 s into every 10 s (src/verify/ticks.ts), not on the 10 s boundary.
    expect(tickClockFor('shop/guard', 10_000).phaseMs).toBe(3019);
    const t = setup(goodErrors);
    // 10:00:00.200: the first check; the next tick begins at 10:00:03.019, and the check 150 ms after it.
    expect(await t.pass()).toEqual({ requeueAfterMs: 2969 });
    expect(t.writer.statusWrites).toHaveLength(1);
    t.advance(2_900); // 10:00:03.100: a new tick of the policy, though the same 10 s of the wall clock
    expect(await t.pass()).toEqual({ requeueAfterMs: 10_069 });
    expect(t.writer.statusWrites).toHaveLength(2);
    t.advance(5_000); // 10:00:08.100: the same tick, already judged
    expect(await t.pass()).toEqual({ requeueAfterMs: 5_069 });
    expect(t.writer.statusWrites).toHaveLength(2);
    expect(t.stored().verification?.steps?.map((s) => s.at)).toContain('2026-12-01T10:00:03.100Z');
  });
});

describe('Verifier: quiet intervals are written together', () => {
  const stepTimes = (s: AssessmentStatus) => [...new Set((s.verification?.steps ?? []).map((x) => x.at))];
  /**
   * shop/web-1's turn (see mustWriteInterval) is the first interval of each period on shop/guard's tick clock
   * (src/verify/ticks.ts), so only the period decides.
   */
  const onPeriod = 'web-1';

  it('carries intervals that only read healthy metrics and writes them once the record is the period old', async () => {
    const t = setup(goodErrors, {}, 30_000, onPeriod);
    await t.pass(); // 10:00:00: the first interval has no lastCheckAt to go by, so it is written
    expect(t.writer.statusWrites).toHaveLength(1);
    t.tick();
    await t.pass(); // 10:00:10
    t.tick();
    await t.pass(); // 10:00:20
    expect(t.writer.statusWrites).toHaveLength(1);
    expect((await t.metrics.verificationIntervalsCarried.get()).values[0]?.value).toBe(2);
    t.tick();
    await t.pass(); // 10:00:30: 30 s after the record's lastCheckAt
    expect(t.writer.statusWrites).toHaveLength(2);
    const record = t.stored();
    expect(stepTimes(record)).toEqual([
      '2026-12-01T10:00:00.200Z',
      '2026-12-01T10:00:10.200Z',
      '2026-12-01T10:00:20.200Z',
      '2026-12-01T10:00:30.200Z',
    ]);
    expect(record.verification?.lastCheckAt).toBe('2026-12-01T10:00:30.200Z');
    expect(record.verification?.consecutiveFailures).toBe(0);
  });

  it('writes a failed check at once, with the quiet readings before it', async () => {
    const t = setup(goodErrors, {}, 30_000, onPeriod);
    await t.pass();
    t.tick();
    await t.pass(); // quiet, carried
    t.prometheus.answer = {
      kind: 'vector',
      samples: [
        { labels: { deployment: 'web', pod_template_hash: 'old111' }, timestamp: 1, value: 0.001 },
        { labels: { deployment: 'web', pod_template_hash: 'new222' }, timestamp: 1, value: 0.5 },
      ],
      message: '',
    };
    t.tick();
    await t.pass(); // 10:00:20: a failure changes the counter: written now
    expect(t.writer.statusWrites).toHaveLength(2);
    const record = t.stored();
    expect(record.verification?.consecutiveFailures).toBe(1);
    expect(stepTimes(record)).toHaveLength(3);
    expect(record.verification?.steps?.filter((s) => s.verdict === 'fail').map((s) => s.at)).toEqual([
      '2026-12-01T10:00:20.200Z',
    ]);
  });

  it('drops what it carried when someone else wrote the record, and judges from what they wrote', async () => {
    const t = setup(goodErrors, {}, 30_000, onPeriod);
    await t.pass();
    t.tick();
    await t.pass(); // 10:00:10, carried on version 8
    t.writer.storedVersion = '9'; // another writer (an approval, another replica) changed the record
    t.tick();
    t.tick();
    await t.pass(); // 10:00:30: due; the 10:00:10 reading was carried on a record that is gone
    expect(t.writer.statusWrites).toHaveLength(2);
    expect(t.writer.statusWrites[1]?.resourceVersion).toBe('9');
    expect(stepTimes(t.stored())).toEqual(['2026-12-01T10:00:00.200Z', '2026-12-01T10:00:30.200Z']);
  });

  it('writes a quiet interval on the record’s turn, so rollouts released together are written in turns', async () => {
    // shop/web-3's turn is the second interval of each period: 10:00:10, 10:00:40.
    const t = setup(goodErrors, {}, 30_000, 'web-3');
    for (let i = 0; i < 6; i++) {
      await t.pass();
      t.tick();
    }
    expect(t.writer.statusWrites.map((w) => (w.status as AssessmentStatus).verification?.lastCheckAt)).toEqual([
      '2026-12-01T10:00:00.200Z',
      '2026-12-01T10:00:10.200Z',
      '2026-12-01T10:00:40.200Z',
    ]);
  });

  it('writes every interval with a period of 0', async () => {
    const t = setup(goodErrors, {}, 0);
    for (let i = 0; i < 3; i++) {
      await t.pass();
      t.tick();
    }
    expect(t.writer.statusWrites).toHaveLength(3);
  });
});
