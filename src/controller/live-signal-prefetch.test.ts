// A reading taken when the template changed is used once, by that rollout's assessment, and only when it is
// still about the same Deployment, serving ReplicaSet and policy settings, and fresh. The inner source is a fake
// that numbers its readings, so the test sees which one the assessment got.
import { describe, expect, it } from 'vitest';
import { parsePolicySpec, type PolicySpec } from '../api/policy.js';
import type { LiveSignals } from '../assess/assess.js';
import { PrefetchingLiveSignals } from './live-signal-prefetch.js';

function policySpec(prometheus: Record<string, unknown> = { address: 'http://prom:9090' }): PolicySpec {
  const parsed = parsePolicySpec({ selector: {}, prometheus });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.value;
}

function numbered() {
  const asked: { deployment: string; hashes: readonly string[] }[] = [];
  return {
    asked,
    sample: (_policy: PolicySpec, _namespace: string, deployment: string, hashes: readonly string[]) => {
      asked.push({ deployment, hashes });
      return Promise.resolve<LiveSignals>({ errorRate: asked.length });
    },
  };
}

describe('PrefetchingLiveSignals', () => {
  it('hands the reading taken at the template change to the assessment, once', async () => {
    const inner = numbered();
    const used: boolean[] = [];
    const live = new PrefetchingLiveSignals(inner, { onReading: (prefetched) => used.push(prefetched) });
    live.prefetch(policySpec(), 'shop', 'web', 'u1', 'old111');
    // Every pass while the ReplicaSet is awaited asks again; one reading is under way.
    live.prefetch(policySpec(), 'shop', 'web', 'u1', 'old111');
    expect(await live.sample(policySpec(), 'shop', 'web', ['old111', 'new222'], 'u1')).toEqual({ errorRate: 1 });
    expect(inner.asked).toEqual([{ deployment: 'web', hashes: ['old111'] }]);
    // Used up: a second assessment (after a failed write, say) reads afresh.
    expect(await live.sample(policySpec(), 'shop', 'web', ['old111', 'new222'], 'u1')).toEqual({ errorRate: 2 });
    expect(live.waiting).toBe(0);
    expect(used).toEqual([true, false]);
  });

  it.each<
    [
      string,
      {
        namespace?: string;
        deployment?: string;
        uid?: string | undefined;
        hashes?: string[];
        policy?: PolicySpec;
        ageMs?: number;
      },
    ]
  >([
    ['a Deployment deleted and created again under the name (another uid)', { uid: 'u2' }],
    ['an assessment that does not say which Deployment', { uid: undefined }],
    ['another serving ReplicaSet (the template changed again meanwhile)', { hashes: ['mid555', 'new222'] }],
    ['a first rollout (nothing served before it)', { hashes: ['new222'] }],
    ['a policy pointed at another Prometheus since', { policy: policySpec({ address: 'http://other:9090' }) }],
    ['a reading older than 30 s', { ageMs: 30_001 }],
    ['the same name in another namespace', { namespace: 'billing' }],
  ])('reads afresh for %s', async (_what, o) => {
    const inner = numbered();
    let clock = 0;
    const live = new PrefetchingLiveSignals(inner, { now: () => clock });
    live.prefetch(policySpec(), 'shop', 'web', 'u1', 'old111');
    clock += o.ageMs ?? 1000;
    const reading = await live.sample(
      o.policy ?? policySpec(),
      o.namespace ?? 'shop',
      o.deployment ?? 'web',
      o.hashes ?? ['old111', 'new222'],
      'uid' in o ? o.uid : 'u1',
    );
    expect(reading).toEqual({ errorRate: 2 });
    expect(inner.asked).toHaveLength(2);
  });

  it('hands over a reading that failed as unavailable, with the reason', async () => {
    const live = new PrefetchingLiveSignals({ sample: () => Promise.reject(new Error('no provider')) });
    live.prefetch(policySpec(), 'shop', 'web', 'u1', 'old111');
    expect(await live.sample(policySpec(), 'shop', 'web', ['old111', 'new222'], 'u1')).toEqual({
      unavailable: 'no provider',
    });
  });

  it('takes a reading exactly 30 s old', async () => {
    const inner = numbered();
    let clock = 0;
    const live = new PrefetchingLiveSignals(inner, { now: () => clock });
    live.prefetch(policySpec(), 'shop', 'web', 'u1', 'old111');
    clock = 30_000;
    expect(await live.sample(policySpec(), 'shop', 'web', ['old111', 'new222'], 'u1')).toEqual({ errorRate: 1 });
  });

  it('reads again at a template change once the earlier reading went stale', async () => {
    const inner = numbered();
    let clock = 0;
    const live = new PrefetchingLiveSignals(inner, { now: () => clock });
    live.prefetch(policySpec(), 'shop', 'web', 'u1', 'old111');
    clock = 31_000;
    live.prefetch(policySpec(), 'shop', 'web', 'u1', 'old111');
    expect(await live.sample(policySpec(), 'shop', 'web', ['old111', 'new222'], 'u1')).toEqual({ errorRate: 2 });
  });

  it('lets readings whose rollout never came go once stale, so they do not pile up', () => {
    const inner = numbered();
    let clock = 0;
    const live = new PrefetchingLiveSignals(inner, { now: () => clock });
    for (let i = 0; i < 1000; i++) live.prefetch(policySpec(), 'shop', `app-${String(i)}`, `u${String(i)}`, 'h1');
    expect(live.waiting).toBe(1000);
    clock = 60_000;
    live.prefetch(policySpec(), 'shop', 'web', 'u1', 'old111');
    expect(live.waiting).toBe(1);
  });
});
