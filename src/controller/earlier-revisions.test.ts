// Closing the records of earlier revisions: which open record gets which outcome (rolled back by rollguard,
// undone by hand, superseded, of a deleted Deployment, or left alone), and what each writes over an in-memory
// cluster (testing.ts).
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AssessmentObject } from '../api/objects.js';
import type { CurrentRollout } from '../api/revision.js';
import { DeploymentEvents } from '../kube/events.js';
import { closingOf, EarlierRevisions, type Closing, type Succession } from './earlier-revisions.js';
import { MemoryCluster } from './testing.js';

const now = new Date('2026-12-01T10:00:00Z');
const created = new Date('2026-11-01T00:00:00Z');

function record(
  revision: number,
  o: { deployment?: string; uid?: string | null; outcome?: string; createdAt?: Date } = {},
): AssessmentObject {
  return {
    metadata: { namespace: 'shop', name: `web-${revision}`, creationTimestamp: o.createdAt ?? created },
    spec: {
      deployment: o.deployment ?? 'web',
      revision,
      podTemplateHash: `hash${revision}`,
      ...(o.uid === null ? {} : { deploymentUID: o.uid ?? 'u1' }),
    },
    status: { phase: 'Assessed', outcome: (o.outcome ?? 'running') as 'running' },
  };
}

/** Revision 5 of web (uid u1) is current and replaced revision 4. */
function succession(o: Partial<Omit<Succession, 'current'>> = {}): Succession {
  return {
    current: {
      namespace: 'shop',
      deployment: 'web',
      uid: 'u1',
      createdAt: created,
      revision: 5,
      podTemplateHash: 'hash5',
    },
    previousRevision: 4,
    rolledBackFrom: undefined,
    exemptReturn: false,
    ...o,
  };
}

describe('closingOf', () => {
  it.each<[string, AssessmentObject, Succession, Closing | undefined]>([
    ['an earlier revision replaced by a new rollout is superseded', record(4), succession(), 'superseded'],
    ['so is one older than the one replaced', record(2), succession(), 'superseded'],
    ['a finished record is left alone', record(4, { outcome: 'succeeded' }), succession(), undefined],
    ["another Deployment's record is left alone", record(4, { deployment: 'api' }), succession(), undefined],
    ["the current revision's own record is left alone", record(5), succession(), undefined],
    ['a record of a later revision is left alone', record(6), succession(), undefined],
    [
      'a record of a deleted Deployment of the same name (another uid) is closed, whatever its revision',
      record(7, { uid: 'u0' }),
      succession(),
      'deleted-deployment',
    ],
    [
      'so is one written without a uid before this Deployment was created',
      record(2, { uid: null, createdAt: new Date('2026-10-01T00:00:00Z') }),
      succession(),
      'deleted-deployment',
    ],
    ['one without a uid written since is an earlier revision', record(2, { uid: null }), succession(), 'superseded'],
    [
      "the revision rollguard's undo rolled back is rolled back",
      record(4),
      succession({ rolledBackFrom: '4' }),
      'rolled-back',
    ],
    [
      "rollguard's undo is recorded as such, though it too returned to an earlier template",
      record(4),
      succession({ rolledBackFrom: '4', exemptReturn: true }),
      'rolled-back',
    ],
    [
      'the revision undone by hand is recorded as undone',
      record(4),
      succession({ exemptReturn: true }),
      'undone-by-hand',
    ],
    [
      'a revision older than the one undone was superseded before it',
      record(3),
      succession({ exemptReturn: true }),
      'superseded',
    ],
    [
      'a return to a known-bad template is no undo: the replaced revision is superseded',
      record(4),
      succession({ exemptReturn: false }),
      'superseded',
    ],
  ])('%s', (_, earlier, now, expected) => {
    expect(closingOf(earlier, now)).toBe(expected);
  });
});

describe('EarlierRevisions.close', () => {
  const deployment = (annotations: Record<string, string> = {}): V1Deployment => ({
    metadata: { name: 'web', namespace: 'shop', uid: 'u1', creationTimestamp: created, annotations },
  });
  const revision = (n: number) => ({
    revision: n,
    podTemplateHash: `hash${n}`,
    replicaSet: { metadata: { name: `web-hash${n}` } } as V1ReplicaSet,
  });
  const rollout: CurrentRollout = { current: revision(5), previous: revision(4) };

  function setup() {
    const cluster = new MemoryCluster();
    for (const r of [record(3), record(4), record(5), record(2, { outcome: 'succeeded' })]) cluster.putAssessment(r);
    cluster.putAssessment({ ...record(1, { uid: 'u0' }), metadata: { namespace: 'shop', name: 'web-1-old' } });
    const closer = new EarlierRevisions({
      caches: cluster,
      writer: cluster,
      events: new DeploymentEvents(cluster),
      clock: () => now,
    });
    return { cluster, closer };
  }
  const outcomes = (cluster: MemoryCluster) =>
    Object.fromEntries(cluster.assessments('shop').map((a) => [a.metadata?.name ?? '', a.status?.outcome]));

  it('records a revision undone by hand as rolled back and failed, with an Event, and supersedes the rest', async () => {
    const { cluster, closer } = setup();
    await closer.close(deployment(), rollout, true, pino({ level: 'silent' }));

    expect(outcomes(cluster)).toEqual({
      'web-1-old': 'superseded',
      'web-2': 'succeeded',
      'web-3': 'superseded',
      'web-4': 'rolled-back',
      'web-5': 'running',
    });
    const undone = cluster.assessment('shop', 'web-4')?.status;
    expect(undone?.phase).toBe('RolledBack');
    expect(undone?.actions?.map((a) => a.type)).toEqual(['rolled-back-by-hand']);
    expect(undone?.verification).toMatchObject({ state: 'failed', completedAt: now.toISOString() });
    expect(cluster.events.map((e) => e.reason)).toEqual(['RolloutUndoneByHand']);
  });

  it("records the revision rollguard's undo rolled back, without an Event", async () => {
    const { cluster, closer } = setup();
    await closer.close(deployment({ 'rollguard.io/rolled-back-from': '4' }), rollout, true, pino({ level: 'silent' }));

    const rolledBack = cluster.assessment('shop', 'web-4')?.status;
    expect(rolledBack).toMatchObject({ phase: 'RolledBack', outcome: 'rolled-back' });
    expect(rolledBack?.actions).toEqual([
      {
        type: 'rolled-back',
        at: now.toISOString(),
        message: 'rolled back to an earlier template as revision 5',
        by: 'rollguard',
      },
    ]);
    expect(rolledBack?.verification).toBeUndefined();
    expect(cluster.events).toEqual([]);
  });
});
