// What rollguard does to a Deployment for an assessed revision, by mode and level: the annotations it writes,
// the pause, the Events, and the actions it records. Every scenario applies the plan to a simulated
// Deployment and plans again, as the reconcile loop does, to show that nothing happens twice.
import { describe, expect, it } from 'vitest';
import type { PolicyMode as Mode } from '../api/policy.js';
import {
  approveCommand,
  isEmptyPlan,
  planActions,
  reasonsText,
  type ActionType,
  type Assessed,
  type Plan,
  type PlanInput,
} from './plan.js';

const A = {
  riskScore: 'rollguard.io/risk-score',
  riskLevel: 'rollguard.io/risk-level',
  riskReasons: 'rollguard.io/risk-reasons',
  assessment: 'rollguard.io/assessment',
  assessedRevision: 'rollguard.io/assessed-revision',
  pausedRevision: 'rollguard.io/paused-revision',
  approve: 'rollguard.io/approve',
} as const;

const blocked: Assessed = {
  score: 0.856,
  level: 'block',
  reasons: ['large change: 5,000 lines added or deleted', 'low test coverage (0 %)'],
  hardRules: [],
};
const safe: Assessed = { score: 0.12, level: 'safe', reasons: ['1 container images changed'], hardRules: [] };

const now = new Date('2024-05-02T09:30:00Z');

/** The Deployment and the assessment's record as the reconcile loop sees them. */
interface World {
  annotations: Record<string, string>;
  paused: boolean;
  recorded: ActionType[];
}

function world(annotations: Record<string, string> = {}, paused = false, recorded: ActionType[] = []): World {
  return {
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', ...annotations },
    paused,
    recorded,
  };
}

function plan(w: World, overrides: Partial<PlanInput> = {}): Plan {
  return planActions({
    mode: 'enforce',
    deploymentName: 'web',
    revision: 4,
    assessmentName: 'web-4',
    assessed: blocked,
    pauseForApproval: true,
    deployment: { annotations: w.annotations, paused: w.paused },
    recorded: new Set(w.recorded),
    now,
    ...overrides,
  });
}

/** What the reconciler does with a plan: merge-patch the Deployment and append the actions. */
function apply(w: World, p: Plan): World {
  const annotations = { ...w.annotations };
  for (const [key, value] of Object.entries(p.annotations)) {
    if (value === null) Reflect.deleteProperty(annotations, key);
    else annotations[key] = value;
  }
  return { annotations, paused: p.paused ?? w.paused, recorded: [...w.recorded, ...p.actions.map((a) => a.type)] };
}

const assessedAnnotations = {
  [A.riskScore]: '0.86',
  [A.riskLevel]: 'block',
  [A.riskReasons]: 'large change: 5,000 lines added or deleted; low test coverage (0 %)',
  [A.assessment]: 'web-4',
  [A.assessedRevision]: '4',
};

describe('planActions: shadow mode', () => {
  it.each<[string, World]>([
    ['a fresh Deployment', world()],
    ['a Deployment with a stale pause annotation', world({ [A.pausedRevision]: '3' })],
    ['a Deployment carrying an approval', world({ [A.approve]: '4' }, true)],
  ])('changes nothing on %s', (_what, w) => {
    expect(plan(w, { mode: 'shadow' })).toEqual({ annotations: {}, events: [], actions: [] });
  });
});

describe('planActions: advisory mode', () => {
  it.each<[string, Assessed, boolean, 'Normal' | 'Warning']>([
    ['a blocked rollout', blocked, true, 'Warning'],
    ['a rollback-ready rollout', { ...blocked, score: 0.7, level: 'rollback-ready' }, false, 'Warning'],
    ['a safe rollout', safe, false, 'Normal'],
    ['a monitor rollout', { ...safe, score: 0.45, level: 'monitor' }, false, 'Normal'],
    [
      'a safe score with a hard rule',
      { ...safe, hardRules: ['blocked by rule: container web runs privileged'] },
      true,
      'Warning',
    ],
  ])('annotates %s and emits RiskAssessed, but never pauses', (_what, assessed, pauseForApproval, eventType) => {
    const first = plan(world(), { mode: 'advisory', assessed, pauseForApproval });
    expect(first.paused).toBeUndefined();
    expect(first.annotations).toEqual({
      [A.riskScore]: assessed.score.toFixed(2),
      [A.riskLevel]: assessed.level,
      [A.riskReasons]: reasonsText(assessed),
      [A.assessment]: 'web-4',
      [A.assessedRevision]: '4',
    });
    expect(first.events).toEqual([
      {
        type: eventType,
        reason: 'RiskAssessed',
        action: 'Assess',
        note: `Revision 4 scored ${assessed.score.toFixed(2)} (${assessed.level}): ${reasonsText(assessed)}. Details: kubectl get rolloutassessment web-4 -o yaml`,
        dedupeKey: `assessed/web/4/${assessed.score.toFixed(2)}`,
      },
    ]);
    expect(first.actions).toEqual([
      { type: 'annotated', at: now.toISOString(), message: 'annotations and an Event written for revision 4' },
    ]);

    const again = plan(apply(world(), first), { mode: 'advisory', assessed, pauseForApproval });
    expect(isEmptyPlan(again)).toBe(true);
    // Recorded as annotated: the Event went out before that, so a restarted controller sends nothing again.
    expect(again.events).toEqual([]);
  });

  it('leaves a paused-revision annotation alone (only enforce mode owns pauses)', () => {
    expect(plan(world({ [A.pausedRevision]: '3' }), { mode: 'advisory' }).annotations).not.toHaveProperty(
      A.pausedRevision,
    );
  });
});

describe('planActions: enforce mode, a level that does not pause', () => {
  it('annotates and emits the Event only', () => {
    const first = plan(world(), { assessed: safe, pauseForApproval: false });
    expect(first.paused).toBeUndefined();
    expect(first.annotations).not.toHaveProperty(A.pausedRevision);
    expect(first.events.map((e) => [e.type, e.reason])).toEqual([['Normal', 'RiskAssessed']]);
    expect(first.actions.map((a) => a.type)).toEqual(['annotated']);
    expect(isEmptyPlan(plan(apply(world(), first), { assessed: safe, pauseForApproval: false }))).toBe(true);
  });

  it('only rewrites the annotations that differ', () => {
    const w = world({ ...assessedAnnotations, [A.riskScore]: '0.50' }, false, ['annotated']);
    expect(plan(w, { pauseForApproval: false }).annotations).toEqual({ [A.riskScore]: '0.86' });
  });
});

describe('planActions: enforce mode, a level that pauses', () => {
  it('pauses, records the paused revision and tells people how to approve', () => {
    const first = plan(world());
    expect(first.paused).toBe(true);
    expect(first.annotations).toEqual({ ...assessedAnnotations, [A.pausedRevision]: '4' });
    expect(first.actions).toEqual([
      { type: 'annotated', at: '2024-05-02T09:30:00.000Z', message: 'annotations and an Event written for revision 4' },
      { type: 'paused', at: '2024-05-02T09:30:00.000Z', message: 'rollout of revision 4 paused for approval (block)' },
    ]);
    expect(first.events.map((e) => [e.type, e.reason, e.action, e.dedupeKey])).toEqual([
      ['Warning', 'RiskAssessed', 'Assess', 'assessed/web/4/0.86'],
      ['Warning', 'RolloutPaused', 'Pause', 'paused/web/4'],
    ]);
    const note = first.events[1]?.note ?? '';
    expect(note).toBe(
      'Rollout of revision 4 paused: risk 0.86 (block). large change: 5,000 lines added or deleted; low test coverage (0 %). To let it continue: kubectl annotate deployment/web rollguard.io/approve=4 --overwrite',
    );
    expect(note).toContain(approveCommand('web', 4));
  });

  it('plans nothing new once the pause is applied and recorded', () => {
    const paused = apply(world(), plan(world()));
    expect(paused.paused).toBe(true);
    const again = plan(paused);
    expect(isEmptyPlan(again)).toBe(true);
    expect(again.paused).toBeUndefined();
    // RiskAssessed is not planned again once recorded; RolloutPaused is named after what it says, so the sink
    // sends it once.
    expect(again.events.map((e) => e.reason)).toEqual(['RolloutPaused']);
  });

  it.each<[string, ActionType[]]>([
    ['the patch landed but the record did not', ['annotated']],
    ['the patch and the record landed but the Event did not', ['annotated', 'paused']],
  ])('sends the RolloutPaused Event again after a crash: %s', (_what, recorded) => {
    const patchedOnly: World = { ...apply(world(), plan(world())), recorded };
    const again = plan(patchedOnly);
    expect(again.paused).toBeUndefined();
    expect(again.annotations).toEqual({});
    expect(again.actions.map((a) => a.type)).toEqual(recorded.includes('paused') ? [] : ['paused']);
    const paused = again.events.find((e) => e.reason === 'RolloutPaused');
    expect(paused?.dedupeKey).toBe('paused/web/4');
    expect(paused?.note).toContain(approveCommand('web', 4));
  });

  it('resumes when the approve annotation names this revision, and says who approved', () => {
    const paused = apply(world(), plan(world()));
    const approvedWorld = { ...paused, annotations: { ...paused.annotations, [A.approve]: '4' } };
    const approver = { by: 'kubectl-annotate', at: '2024-05-02T10:00:00.000Z' };
    const resume = plan(approvedWorld, { approver });
    expect(resume.paused).toBe(false);
    expect(resume.annotations).toEqual({ [A.pausedRevision]: null });
    expect(resume.actions).toEqual([
      {
        type: 'approved',
        at: '2024-05-02T10:00:00.000Z',
        message: 'revision 4 approved by kubectl-annotate; rollout resumed',
        by: 'kubectl-annotate',
      },
    ]);
    expect(resume.events).toContainEqual({
      type: 'Normal',
      reason: 'RolloutApproved',
      action: 'Resume',
      note: 'Revision 4 was approved by kubectl-annotate (rollguard.io/approve=4); rollguard resumed the rollout.',
      dedupeKey: 'approved/web/4',
    });

    const resumed = apply(approvedWorld, resume);
    expect(resumed.paused).toBe(false);
    expect(resumed.annotations).not.toHaveProperty(A.pausedRevision);
    const after = plan(resumed, { approver });
    expect(isEmptyPlan(after)).toBe(true);
    expect(after.paused).toBeUndefined();
  });

  it('resumes an approval whose approver the API does not tell, at the time of the reconcile', () => {
    const paused = apply(world(), plan(world()));
    const resume = plan({ ...paused, annotations: { ...paused.annotations, [A.approve]: '4' } });
    expect(resume.paused).toBe(false);
    expect(resume.actions).toEqual([
      { type: 'approved', at: now.toISOString(), message: 'revision 4 approved; rollout resumed' },
    ]);
    expect(resume.events.find((e) => e.reason === 'RolloutApproved')?.note).toBe(
      'Revision 4 was approved (rollguard.io/approve=4); rollguard resumed the rollout.',
    );
  });

  it.each(['3', '5', 'yes', ' 4'])('stays paused when the approve annotation says %j instead of 4', (value) => {
    const paused = apply(world(), plan(world()));
    const p = plan({ ...paused, annotations: { ...paused.annotations, [A.approve]: value } });
    expect(p.paused).toBeUndefined();
    expect(isEmptyPlan(p)).toBe(true);
  });

  it('respects a resume by hand: records it, removes its annotation and never pauses again', () => {
    const paused = apply(world(), plan(world()));
    const byHand = { ...paused, paused: false };
    const p = plan(byHand);
    expect(p.paused).toBeUndefined();
    expect(p.annotations).toEqual({ [A.pausedRevision]: null });
    expect(p.actions).toEqual([
      {
        type: 'resumed-by-hand',
        at: now.toISOString(),
        message: 'revision 4 was resumed without the approve annotation',
      },
    ]);
    expect(p.events).toContainEqual({
      type: 'Normal',
      reason: 'RolloutResumedByHand',
      action: 'Resume',
      note: 'Revision 4 was resumed by hand while waiting for approval; rollguard will not pause it again.',
      dedupeKey: 'resumed-by-hand/web/4',
    });

    let w = apply(byHand, p);
    for (let i = 0; i < 3; i++) {
      const next = plan(w);
      expect(next.paused).toBeUndefined();
      expect(isEmptyPlan(next)).toBe(true);
      w = apply(w, next);
    }
    expect(w.paused).toBe(false);
  });

  it('does not pause a revision approved before rollguard got to it', () => {
    const preApproved = world({ [A.approve]: '4' });
    const p = plan(preApproved);
    expect(p.paused).toBeUndefined();
    expect(p.annotations).not.toHaveProperty(A.pausedRevision);
    expect(p.actions.map((a) => a.type)).toEqual(['annotated', 'pre-approved']);
    expect(p.events).toContainEqual({
      type: 'Normal',
      reason: 'RolloutPreApproved',
      action: 'Assess',
      note: 'Revision 4 needs approval (block) and already carries rollguard.io/approve=4; not pausing.',
      dedupeKey: 'pre-approved/web/4',
    });
    const again = plan(apply(preApproved, p));
    expect(isEmptyPlan(again)).toBe(true);
  });

  it('does not take over a rollout someone else paused, but records that it needs approval', () => {
    const pausedByOps = world({}, true);
    const p = plan(pausedByOps);
    expect(p.paused).toBeUndefined();
    expect(p.annotations[A.pausedRevision]).toBe('4');
    expect(p.actions.map((a) => a.type)).toEqual(['annotated', 'paused']);
    expect(p.events.map((e) => e.reason)).toEqual(['RiskAssessed', 'RolloutPaused']);
    const after = apply(pausedByOps, p);
    expect(after.paused).toBe(true);
    expect(isEmptyPlan(plan(after))).toBe(true);
  });

  it('removes a stale paused-revision left by an older revision that is no longer paused', () => {
    const stale = world({ ...assessedAnnotations, [A.pausedRevision]: '3' }, false, ['annotated']);
    const p = plan(stale, { assessed: blocked, pauseForApproval: false });
    expect(p.annotations).toEqual({ [A.pausedRevision]: null });
    expect(p.paused).toBeUndefined();
    expect(isEmptyPlan(plan(apply(stale, p), { pauseForApproval: false }))).toBe(true);
  });

  it('replaces a stale paused-revision with this revision when this one must pause too', () => {
    const stale = world({ [A.pausedRevision]: '3' });
    const p = plan(stale);
    expect(p.paused).toBe(true);
    expect(p.annotations[A.pausedRevision]).toBe('4');
  });

  it('keeps an older revision’s paused-revision while the Deployment is still paused', () => {
    const p = plan(world({ ...assessedAnnotations, [A.pausedRevision]: '3' }, true, ['annotated']), {
      pauseForApproval: false,
    });
    expect(p.annotations).toEqual({});
    expect(p.paused).toBeUndefined();
  });

  it.each<[string, World]>([
    [
      'approved and resumed',
      world({ ...assessedAnnotations, [A.approve]: '4' }, false, ['annotated', 'paused', 'approved']),
    ],
    ['resumed by hand', world(assessedAnnotations, false, ['annotated', 'paused', 'resumed-by-hand'])],
    ['pre-approved, approval since removed', world(assessedAnnotations, false, ['annotated', 'pre-approved'])],
  ])('never pauses again a revision already %s', (_what, w) => {
    const p = plan(w);
    expect(p.paused).toBeUndefined();
    expect(isEmptyPlan(p)).toBe(true);
  });
});

describe('reasonsText and approveCommand', () => {
  it('puts hard rules before reasons', () => {
    expect(reasonsText({ score: 0.1, level: 'block', hardRules: ['blocked by rule: x'], reasons: ['a', 'b'] })).toBe(
      'blocked by rule: x; a; b',
    );
  });

  it.each([
    [1000, 1000, false],
    [1001, 1000, true],
    [5000, 1000, true],
  ])('a %d-character text becomes %d characters (truncated: %s)', (length, expected, truncated) => {
    const text = reasonsText({ score: 0, level: 'safe', hardRules: [], reasons: ['x'.repeat(length)] });
    expect(text).toHaveLength(expected);
    expect(text.endsWith('...')).toBe(truncated);
  });

  it('writes a command people can paste', () => {
    expect(approveCommand('checkout-api', 12)).toBe(
      'kubectl annotate deployment/checkout-api rollguard.io/approve=12 --overwrite',
    );
  });
});

describe('isEmptyPlan', () => {
  it.each<[string, Plan, boolean]>([
    ['nothing at all', { annotations: {}, events: [], actions: [] }, true],
    [
      'only an Event (deduplicated by the sink)',
      {
        annotations: {},
        events: [{ type: 'Normal', reason: 'R', action: 'A', note: 'n', dedupeKey: 'k' }],
        actions: [],
      },
      true,
    ],
    ['an annotation to remove', { annotations: { x: null }, events: [], actions: [] }, false],
    ['a pause', { annotations: {}, paused: true, events: [], actions: [] }, false],
    [
      'an action to record',
      { annotations: {}, events: [], actions: [{ type: 'annotated', at: 't', message: 'm' }] },
      false,
    ],
  ])('%s → %s', (_what, p, empty) => {
    expect(isEmptyPlan(p)).toBe(empty);
  });
});

describe('planActions across modes', () => {
  it.each<[Mode, boolean]>([
    ['enforce', true],
    ['advisory', false],
    ['shadow', false],
  ])('%s pauses a block-level rollout: %s', (mode, pauses) => {
    expect(plan(world(), { mode }).paused === true).toBe(pauses);
  });
});
