// Which assessment belongs to which rollout: by Deployment uid, revision and pod-template-hash, so a
// Deployment created again under an old name starts afresh, and a template that failed before is known-bad.
import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { templateDigest } from '../api/pod-template.js';
import { eventName } from '../kube/events.js';
import {
  assessmentNameFor,
  candidateNames,
  findAssessment,
  identityOf,
  isAssessmentOf,
  knownBadRule,
  knownBadTemplate,
} from './assessment-identity.js';
import { scopedDedupeKey } from '../kube/events.js';
import type { AssessmentObject } from '../api/objects.js';

const oldApi: V1Deployment = {
  metadata: { name: 'api', namespace: 'shop', uid: 'uid-old', creationTimestamp: new Date('2026-11-01T10:00:00Z') },
};
const newApi: V1Deployment = {
  metadata: { name: 'api', namespace: 'shop', uid: 'uid-new', creationTimestamp: new Date('2026-11-02T10:00:00Z') },
};

function record(
  name: string,
  spec: { revision: number; hash: string; uid?: string },
  created: string,
  status: AssessmentObject['status'] = { score: 0.1, level: 'safe', outcome: 'succeeded' },
): AssessmentObject {
  return {
    metadata: { name, namespace: 'shop', creationTimestamp: new Date(created) },
    spec: {
      deployment: 'api',
      revision: spec.revision,
      podTemplateHash: spec.hash,
      ...(spec.uid ? { deploymentUID: spec.uid } : {}),
    },
    status,
  };
}

describe('isAssessmentOf', () => {
  const id = identityOf(newApi, { revision: 1, podTemplateHash: 'h1' });
  // what, revision, hash, uid (none: written before uids were recorded), written at, this revision's?
  it.each<[string, number, string, string | undefined, string, boolean]>([
    ['this Deployment, revision and template', 1, 'h1', 'uid-new', '2026-11-02T10:00:01Z', true],
    ['the deleted Deployment of the same name', 1, 'h1', 'uid-old', '2026-11-01T10:00:01Z', false],
    ['another template at the same revision', 1, 'h9', 'uid-new', '2026-11-02T10:00:01Z', false],
    ['another revision of the same template', 3, 'h1', 'uid-new', '2026-11-02T10:00:01Z', false],
    ['an older record written before this Deployment existed', 1, 'h1', undefined, '2026-11-01T10:00:01Z', false],
    ['an older record written after this Deployment was created', 1, 'h1', undefined, '2026-11-02T10:00:05Z', true],
  ])('%s → %s', (_what, revision, hash, uid, written, mine) => {
    const r = record(`api-${revision}`, { revision, hash, ...(uid ? { uid } : {}) }, written);
    expect(isAssessmentOf(r, id)).toBe(mine);
  });
});

describe('the assessment name', () => {
  const id = identityOf(newApi, { revision: 1, podTemplateHash: 'h1' });
  const stale = record('api-1', { revision: 1, hash: 'h1', uid: 'uid-old' }, '2026-11-01T10:00:01Z');

  it("is <deployment>-<revision> when free or already this revision's", () => {
    expect(assessmentNameFor(id, undefined)).toBe('api-1');
    expect(assessmentNameFor(id, { ...stale, spec: { ...stale.spec, deploymentUID: 'uid-new' } })).toBe('api-1');
  });

  it('carries a stable tag when an older Deployment of the same name holds the plain name', () => {
    const name = assessmentNameFor(id, stale);
    expect(name).toMatch(/^api-1-[0-9a-f]{8}$/);
    expect(name).toBe(candidateNames(id)[1]);
    expect(assessmentNameFor(identityOf(newApi, { revision: 1, podTemplateHash: 'h1' }), stale)).toBe(name);
    expect(candidateNames(identityOf(oldApi, { revision: 1, podTemplateHash: 'h1' }))[1]).not.toBe(name);
  });

  it('finds the record by identity, whatever its name', () => {
    const mine = record('api-1-abcdef01', { revision: 1, hash: 'h1', uid: 'uid-new' }, '2026-11-02T10:00:01Z');
    expect(findAssessment([stale, mine], id)).toBe(mine);
    expect(findAssessment([stale], id)).toBeUndefined();
  });
});

describe('knownBadTemplate', () => {
  const rolledBack = record('api-2', { revision: 2, hash: 'h2', uid: 'uid-new' }, '2026-11-02T11:00:00Z', {
    outcome: 'rolled-back',
    verification: { message: 'error ratio 0.3 is above the limit 0.05 for 2 consecutive intervals' },
    actions: [
      { type: 'rolled-back', at: '2026-11-02T11:05:00Z', message: 'rolled back to revision 1', by: 'rollguard' },
    ],
  });
  const v1 = record('api-1', { revision: 1, hash: 'h1', uid: 'uid-new' }, '2026-11-02T10:00:01Z');

  it('names when and why the template was rolled back when it comes back', () => {
    const bad = knownBadTemplate([v1, rolledBack], identityOf(newApi, { revision: 4, podTemplateHash: 'h2' }));
    expect(bad).toEqual({
      revision: 2,
      at: '2026-11-02T11:05:00Z',
      why: 'error ratio 0.3 is above the limit 0.05 for 2 consecutive intervals',
      outcome: 'rolled-back',
    });
    if (!bad) return;
    expect(knownBadRule(bad)).toBe(
      'this pod template was rolled back at 2026-11-02T11:05:00Z as revision 2: error ratio 0.3 is above the limit 0.05 for 2 consecutive intervals',
    );
  });

  it.each<[string, AssessmentObject[], number, string]>([
    ['a return to a template that succeeded', [v1, rolledBack], 3, 'h1'],
    ['the revision that was rolled back itself', [rolledBack], 2, 'h2'],
    ['a template never seen before', [v1, rolledBack], 5, 'h5'],
    [
      'a failed template of another Deployment name',
      [{ ...rolledBack, spec: { ...rolledBack.spec, deployment: 'web' } }],
      4,
      'h2',
    ],
  ])('is undefined for %s', (_what, records, revision, hash) => {
    expect(knownBadTemplate(records, identityOf(newApi, { revision, podTemplateHash: hash }))).toBeUndefined();
  });

  it('knows a template rollguard undid before the undo was recorded (a crash in between)', () => {
    const unrecorded = { ...rolledBack, status: { outcome: 'running' as const } };
    const back = identityOf(newApi, { revision: 4, podTemplateHash: 'h2' });
    expect(knownBadTemplate([v1, unrecorded], back, '2')).toMatchObject({ revision: 2, outcome: 'rolled-back' });
    expect(knownBadTemplate([v1, unrecorded], back, undefined)).toBeUndefined();
    expect(knownBadTemplate([v1, unrecorded], back, '1')).toBeUndefined();
  });

  it('also knows a template that failed under an older Deployment of the same name', () => {
    const failedBefore = { ...rolledBack, spec: { ...rolledBack.spec, deploymentUID: 'uid-old', revision: 7 } };
    expect(knownBadTemplate([failedBefore], identityOf(newApi, { revision: 2, podTemplateHash: 'h2' }))?.revision).toBe(
      7,
    );
  });
});

describe('Events and writes scoped to one Deployment', () => {
  it('keeps the same reason and revision in two namespaces, or of a recreated Deployment, apart', () => {
    const teamA: V1Deployment = { metadata: { name: 'api', namespace: 'team-a', uid: 'a' } };
    const teamB: V1Deployment = { metadata: { name: 'api', namespace: 'team-b', uid: 'b' } };
    const keys = [teamA, teamB, oldApi, newApi].map((d) => scopedDedupeKey(d, 'paused/api/2'));
    expect(new Set(keys).size).toBe(4);
    expect(eventName('api', keys[2])).not.toBe(eventName('api', keys[3]));
  });
});

describe('templates held at the admission gate (no pod-template-hash yet)', () => {
  const template = { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'app', image: 'api:2' }] } };
  const other = { metadata: { labels: { app: 'api' } }, spec: { containers: [{ name: 'app', image: 'api:3' }] } };
  const held = (digest: string, outcome = 'running'): AssessmentObject => ({
    metadata: { name: 'api-3', namespace: 'shop', creationTimestamp: new Date('2026-11-03T10:00:00Z') },
    spec: {
      deployment: 'api',
      deploymentUID: 'uid-new',
      revision: 3,
      podTemplateHash: 'pending',
      templateDigest: digest,
    },
    status: { score: 0.1, level: 'safe', outcome: outcome as 'running' },
  });
  const pendingId = (t: object) =>
    identityOf(newApi, { revision: 3, podTemplateHash: 'pending', replicaSet: { spec: { template: t } } });

  it('matches a held record by the template digest, never by the shared "pending" hash', () => {
    const digest = templateDigest(template);
    expect(isAssessmentOf(held(digest), pendingId(template))).toBe(true);
    expect(isAssessmentOf(held(digest), pendingId(other))).toBe(false);
    // Once the ReplicaSet exists its hash is known; the held record is still this revision's.
    const real = identityOf(newApi, { revision: 3, podTemplateHash: 'abc123', replicaSet: { spec: { template } } });
    expect(isAssessmentOf(held(digest), real)).toBe(true);
  });
  it('the digest ignores the pod-template-hash label, and two held templates get different tagged names', () => {
    const withHash = { ...template, metadata: { labels: { app: 'api', 'pod-template-hash': 'abc123' } } };
    expect(templateDigest(withHash)).toBe(templateDigest(template));
    expect(candidateNames(pendingId(template))[1]).not.toBe(candidateNames(pendingId(other))[1]);
  });
  it('a rolled-back template is known-bad by its digest when it comes back without its ReplicaSet', () => {
    const rolledBack: AssessmentObject = {
      ...held(templateDigest(template), 'rolled-back'),
      spec: {
        deployment: 'api',
        deploymentUID: 'uid-new',
        revision: 2,
        podTemplateHash: 'abc123',
        templateDigest: templateDigest(template),
      },
    };
    expect(knownBadTemplate([rolledBack], pendingId(template))?.revision).toBe(2);
    expect(knownBadTemplate([rolledBack], pendingId(other))).toBeUndefined();
  });
});
