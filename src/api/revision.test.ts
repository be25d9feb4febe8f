// Which revision of a Deployment is rolling out and which one it replaces, from hand-built Deployments and
// ReplicaSets as the API server returns them.
import type { V1Deployment, V1OwnerReference, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { currentRollout, ownedRevisions, revisionOf, servingBeforeRollout } from './revision.js';

const uid = '6f1c-web';

function podTemplate(image: string): V1PodTemplateSpec {
  return {
    metadata: { labels: { app: 'web' }, annotations: { 'rollguard.io/change-type': 'feature' } },
    spec: { containers: [{ name: 'web', image, ports: [{ containerPort: 8080 }] }] },
  };
}

function deployment(revision: string | undefined, image: string): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid,
      ...(revision === undefined ? {} : { annotations: { 'deployment.kubernetes.io/revision': revision } }),
    },
    spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: podTemplate(image) },
  };
}

const controlledBy = (ownerUid: string, controller = true): V1OwnerReference => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  name: 'web',
  uid: ownerUid,
  controller,
  blockOwnerDeletion: true,
});

/** A ReplicaSet the Deployment controller made for `image` at `revision`, with the pod-template-hash label. */
function replicaSet(
  revision: string | undefined,
  hash: string | undefined,
  image: string,
  owner: V1OwnerReference | null = controlledBy(uid),
): V1ReplicaSet {
  const template = podTemplate(image);
  const labels = { ...template.metadata?.labels, ...(hash === undefined ? {} : { 'pod-template-hash': hash }) };
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `web-${hash ?? 'nohash'}`,
      namespace: 'shop',
      labels,
      ...(revision === undefined ? {} : { annotations: { 'deployment.kubernetes.io/revision': revision } }),
      ...(owner ? { ownerReferences: [owner] } : {}),
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: labels },
      template: { ...template, metadata: { ...template.metadata, labels } },
    },
  };
}

const rs1 = replicaSet('1', 'aaa111', 'shop:1.0');
const rs2 = replicaSet('2', 'bbb222', 'shop:1.1');
const rs3 = replicaSet('3', 'ccc333', 'shop:1.2');

describe('revisionOf', () => {
  it.each<[Record<string, string> | undefined, number | undefined]>([
    [{ 'deployment.kubernetes.io/revision': '7' }, 7],
    [{ 'deployment.kubernetes.io/revision': '0' }, 0],
    [{ 'deployment.kubernetes.io/revision': '12x' }, undefined],
    [{ 'deployment.kubernetes.io/revision': '' }, undefined],
    [{ 'deployment.kubernetes.io/revision': '-1' }, undefined],
    [{ other: '3' }, undefined],
    [undefined, undefined],
  ])('%j → %s', (annotations, revision) => {
    expect(revisionOf({ metadata: annotations ? { annotations } : {} })).toBe(revision);
  });
});

describe('currentRollout', () => {
  it('finds the new revision and the one it replaces', () => {
    const result = currentRollout(deployment('3', 'shop:1.2'), [rs1, rs3, rs2]);
    expect(result?.current).toEqual({ revision: 3, podTemplateHash: 'ccc333', replicaSet: rs3 });
    expect(result?.previous).toEqual({ revision: 2, podTemplateHash: 'bbb222', replicaSet: rs2 });
  });

  it('has no previous revision for the first rollout', () => {
    const rs = replicaSet('1', 'aaa111', 'shop:1.0');
    expect(currentRollout(deployment('1', 'shop:1.0'), [rs])).toEqual({
      current: { revision: 1, podTemplateHash: 'aaa111', replicaSet: rs },
    });
  });

  it('takes the highest older revision as the previous one, even with gaps (after a rollback)', () => {
    // `kubectl rollout undo` to revision 1 re-numbers its ReplicaSet to 4; revision 1 no longer exists.
    const undone = replicaSet('4', 'aaa111', 'shop:1.0');
    const result = currentRollout(deployment('4', 'shop:1.0'), [undone, rs2, rs3]);
    expect(result?.current.revision).toBe(4);
    expect(result?.previous?.revision).toBe(3);
  });

  it('waits while the template changed but the new ReplicaSet does not exist yet', () => {
    expect(currentRollout(deployment('3', 'shop:1.3'), [rs1, rs2, rs3])).toBeUndefined();
  });

  it('waits while the Deployment names a revision no ReplicaSet has yet', () => {
    expect(currentRollout(deployment('4', 'shop:1.2'), [rs1, rs2, rs3])).toBeUndefined();
  });

  it('waits for a Deployment the Deployment controller has not seen yet (no revision)', () => {
    expect(currentRollout(deployment(undefined, 'shop:1.2'), [rs3])).toBeUndefined();
  });

  it.each<[string, V1ReplicaSet]>([
    ['owned by another Deployment', replicaSet('3', 'ccc333', 'shop:1.2', controlledBy('other-uid'))],
    ['with a non-controller owner reference', replicaSet('3', 'ccc333', 'shop:1.2', controlledBy(uid, false))],
    ['without owner', replicaSet('3', 'ccc333', 'shop:1.2', null)],
    ['without a pod-template-hash label', replicaSet('3', undefined, 'shop:1.2')],
    ['without a revision', replicaSet(undefined, 'ccc333', 'shop:1.2')],
  ])('ignores a matching ReplicaSet %s', (_what, rs) => {
    expect(currentRollout(deployment('3', 'shop:1.2'), [rs1, rs2, rs])).toBeUndefined();
  });

  it('does not take another Deployment’s older ReplicaSet as the previous revision', () => {
    const foreign = replicaSet('2', 'fff999', 'other:9', controlledBy('other-uid'));
    const result = currentRollout(deployment('3', 'shop:1.2'), [foreign, rs3]);
    expect(result?.current.revision).toBe(3);
    expect(result?.previous).toBeUndefined();
  });
});

describe('servingBeforeRollout', () => {
  it.each<[string, V1Deployment, V1ReplicaSet[], string | undefined]>([
    [
      'the serving ReplicaSet while a changed template waits for its own',
      deployment('3', 'shop:1.3'),
      [rs1, rs2, rs3],
      'ccc333',
    ],
    [
      'the serving one when an undo waits for the old ReplicaSet to be renumbered',
      deployment('3', 'shop:1.0'),
      [rs1, rs2, rs3],
      'ccc333',
    ],
    [
      'nothing once the new ReplicaSet exists (the rollout is current)',
      deployment('3', 'shop:1.2'),
      [rs1, rs2, rs3],
      undefined,
    ],
    ['nothing before a first rollout (no revision)', deployment(undefined, 'shop:1.0'), [], undefined],
    ['nothing when the named revision has no ReplicaSet', deployment('4', 'shop:1.3'), [rs1, rs2, rs3], undefined],
    [
      'nothing from another Deployment’s ReplicaSet',
      deployment('3', 'shop:1.3'),
      [replicaSet('3', 'ccc333', 'shop:1.2', controlledBy('other-uid'))],
      undefined,
    ],
  ])('finds %s', (_what, d, replicaSets, hash) => {
    expect(servingBeforeRollout(d, replicaSets)?.podTemplateHash).toBe(hash);
  });
});

describe('ownedRevisions', () => {
  it('lists only this Deployment’s ReplicaSets, newest first', () => {
    const foreign = replicaSet('9', 'fff999', 'other:9', controlledBy('other-uid'));
    const revisions = ownedRevisions(deployment('3', 'shop:1.2'), [rs2, foreign, rs1, rs3]);
    expect(revisions.map((r) => [r.revision, r.podTemplateHash])).toEqual([
      [3, 'ccc333'],
      [2, 'bbb222'],
      [1, 'aaa111'],
    ]);
  });

  it('is empty for a Deployment without ReplicaSets', () => {
    expect(ownedRevisions(deployment('1', 'shop:1.0'), [])).toEqual([]);
  });
});
