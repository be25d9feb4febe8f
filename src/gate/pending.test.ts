import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Plan } from '../controller/plan.js';
import { abandonedHeldRecords, adjustPlanForGate, bypassReason, gateView, type GateAdjustInput } from './pending.js';

const uid = 'd-uid';
const template = (image: string) => ({
  metadata: { labels: { app: 'shop' } },
  spec: { containers: [{ name: 'app', image }] },
});

function deployment(o: {
  image: string;
  revision?: number;
  annotations?: Record<string, string>;
  paused?: boolean;
}): V1Deployment {
  return {
    metadata: {
      name: 'shop',
      namespace: 'ns',
      uid,
      annotations: {
        ...(o.revision !== undefined ? { 'deployment.kubernetes.io/revision': String(o.revision) } : {}),
        ...o.annotations,
      },
    },
    spec: { selector: { matchLabels: { app: 'shop' } }, paused: o.paused ?? true, template: template(o.image) },
  };
}

function replicaSet(image: string, revision: number, hash: string): V1ReplicaSet {
  return {
    metadata: {
      name: `shop-${hash}`,
      labels: { 'pod-template-hash': hash },
      annotations: { 'deployment.kubernetes.io/revision': String(revision) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'shop', uid, controller: true }],
    },
    spec: {
      selector: { matchLabels: { app: 'shop' } },
      template: { ...template(image), metadata: { labels: { app: 'shop', 'pod-template-hash': hash } } },
    },
  };
}

const pending = { 'rollguard.io/gate': 'pending' };

describe('gateView', () => {
  const running = [replicaSet('shop:1', 1, 'aaa'), replicaSet('shop:2', 2, 'bbb')];
  it('is open when the gate does not hold the Deployment', () => {
    expect(gateView(deployment({ image: 'shop:3', revision: 2 }), running)).toEqual({ kind: 'open' });
    expect(
      gateView(deployment({ image: 'shop:3', revision: 2, annotations: pending, paused: false }), running),
    ).toEqual({
      kind: 'open',
    });
    expect(
      gateView(deployment({ image: 'shop:3', revision: 2, annotations: { 'rollguard.io/gate': 'passed' } }), running),
    ).toEqual({
      kind: 'open',
    });
  });
  it('a new template becomes the next revision, its hash pending, the running one its previous', () => {
    const view = gateView(deployment({ image: 'shop:3', revision: 2, annotations: pending }), running);
    if (view.kind !== 'holding') throw new Error('expected holding');
    expect(view.rollout.current.revision).toBe(3);
    expect(view.rollout.current.podTemplateHash).toBe('pending');
    expect(view.rollout.current.replicaSet.spec?.template?.spec?.containers[0]?.image).toBe('shop:3');
    expect(view.rollout.previous?.revision).toBe(2);
  });
  it('a template an old ReplicaSet has is a return to it: its hash, and the revision history', () => {
    const view = gateView(deployment({ image: 'shop:1', revision: 2, annotations: pending }), running);
    if (view.kind !== 'holding') throw new Error('expected holding');
    expect(view.rollout.current).toMatchObject({ revision: 3, podTemplateHash: 'aaa' });
    expect(view.rollout.current.replicaSet.metadata?.annotations?.['deployment.kubernetes.io/revision-history']).toBe(
      '1',
    );
  });
  it('once the controller has renumbered the reused ReplicaSet, that is the rollout', () => {
    const renumbered = [replicaSet('shop:1', 3, 'aaa'), replicaSet('shop:2', 2, 'bbb')];
    const view = gateView(deployment({ image: 'shop:1', revision: 3, annotations: pending }), renumbered);
    if (view.kind !== 'holding') throw new Error('expected holding');
    expect(view.rollout.current).toMatchObject({ revision: 3, podTemplateHash: 'aaa' });
    expect(view.rollout.previous?.revision).toBe(2);
  });
  it('a Deployment held at creation becomes revision 1 with nothing before it', () => {
    const view = gateView(deployment({ image: 'shop:1', annotations: pending }), []);
    if (view.kind !== 'holding') throw new Error('expected holding');
    expect(view.rollout.current.revision).toBe(1);
    expect(view.rollout.previous).toBeUndefined();
  });
});

describe('bypassReason', () => {
  it.each([
    [{ 'rollguard.io/gate-bypass': ' INC-1 ' }, 'INC-1'],
    [{ 'rollguard.io/gate-bypass': '  ' }, undefined],
    [{}, undefined],
  ])('%o → %s', (annotations, expected) => {
    expect(bypassReason(deployment({ image: 'x', annotations }))).toBe(expected);
  });
});

describe('abandonedHeldRecords', () => {
  it('finds running assessments of other templates held at the same revision', () => {
    const record = (digest: string, hash = 'pending', outcome = 'running') => ({
      spec: { deploymentUID: uid, revision: 3, podTemplateHash: hash, templateDigest: digest },
      status: { outcome },
    });
    const records = [record('d1'), record('d2'), record('d3', 'pending', 'superseded'), record('d4', 'ccc')];
    expect(abandonedHeldRecords(records as never, uid, 3, 'd2').map((r) => r.spec?.templateDigest)).toEqual(['d1']);
  });
});

describe('adjustPlanForGate', () => {
  const empty: Plan = { annotations: {}, events: [], actions: [] };
  const now = new Date('2026-12-01T10:00:00Z');
  const input = (
    o: Partial<GateAdjustInput> & { annotations?: Record<string, string>; paused?: boolean },
  ): GateAdjustInput => ({
    holding: true,
    deployment: { name: 'shop', annotations: o.annotations ?? pending, paused: o.paused ?? true },
    mode: 'enforce',
    revision: 3,
    level: 'safe',
    pauseForApproval: false,
    bypass: undefined,
    recorded: new Set(),
    now,
    ...o,
  });

  it('resumes a held template that may go, marks it passed and says so', () => {
    const plan = adjustPlanForGate(
      empty,
      input({ annotations: { ...pending, 'rollguard.io/gate-pending-since': 'x' } }),
    );
    expect(plan.paused).toBe(false);
    expect(plan.annotations).toEqual({ 'rollguard.io/gate': 'passed', 'rollguard.io/gate-pending-since': null });
    expect(plan.actions.map((a) => a.type)).toEqual(['gate-passed']);
    expect(plan.events.map((e) => e.reason)).toEqual(['GatePassed']);
  });
  it('keeps holding what waits for approval, marked held', () => {
    const plan = adjustPlanForGate(
      { ...empty, annotations: { 'rollguard.io/paused-revision': '3' } },
      input({ level: 'block', pauseForApproval: true }),
    );
    expect(plan.paused).toBeUndefined();
    expect(plan.annotations['rollguard.io/gate']).toBe('held');
    expect(plan.actions.map((a) => a.type)).toEqual(['gate-held']);
    // Planning again once applied adds nothing.
    const again = adjustPlanForGate(
      empty,
      input({
        level: 'block',
        pauseForApproval: true,
        annotations: { 'rollguard.io/gate': 'held', 'rollguard.io/paused-revision': '3' },
        recorded: new Set(['gate-held']),
      }),
    );
    expect(again).toEqual(empty);
  });
  it('an approval resumes it (planActions) and the gate is passed', () => {
    const plan = adjustPlanForGate(
      { ...empty, paused: false, annotations: { 'rollguard.io/paused-revision': null } },
      input({ annotations: { 'rollguard.io/gate': 'held', 'rollguard.io/paused-revision': '3' } }),
    );
    expect(plan.paused).toBe(false);
    expect(plan.annotations['rollguard.io/gate']).toBe('passed');
  });
  it('a paused-revision left by an earlier template at the same number does not hold a safe one', () => {
    const plan = adjustPlanForGate(empty, input({ annotations: { ...pending, 'rollguard.io/paused-revision': '3' } }));
    expect(plan.paused).toBe(false);
    expect(plan.annotations['rollguard.io/paused-revision']).toBeNull();
  });
  it('advisory mode never holds', () => {
    const plan = adjustPlanForGate(
      empty,
      input({
        mode: 'advisory',
        pauseForApproval: true,
        annotations: { ...pending, 'rollguard.io/paused-revision': '3' },
      }),
    );
    expect(plan.paused).toBe(false);
    expect(plan.annotations['rollguard.io/paused-revision']).toBeNull();
  });
  it('a bypass is recorded once with a Warning; a held template with a bypass is let go', () => {
    const plan = adjustPlanForGate(empty, input({ bypass: 'INC-1', level: 'block' }));
    expect(plan.paused).toBe(false);
    expect(plan.annotations['rollguard.io/gate']).toBe('bypassed');
    expect(plan.actions[0]?.message).toContain('INC-1');
    expect(plan.events[0]).toMatchObject({ type: 'Warning', reason: 'GateBypassed' });
    const shipped = adjustPlanForGate(
      empty,
      input({
        holding: false,
        paused: false,
        bypass: 'INC-1',
        annotations: { 'rollguard.io/gate': 'bypassed' },
        recorded: new Set(['gate-bypassed']),
      }),
    );
    expect(shipped).toEqual(empty);
  });
  it('a held template a person resumed by hand is marked so, and not paused again', () => {
    const plan = adjustPlanForGate(empty, input({ holding: false, paused: false }));
    expect(plan.paused).toBeUndefined();
    expect(plan.annotations['rollguard.io/gate']).toBe('resumed-by-hand');
  });
});
