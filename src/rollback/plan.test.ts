// The rollback plan against hand-built Deployments and ReplicaSets shaped like the API server returns them:
// the patch must be what `kubectl rollout undo` sends (kubectl's polymorphichelpers/rollback.go), plus
// rollguard's two annotations, and every refusal must say why in words a person can act on.
import type { V1Deployment, V1OwnerReference, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { planRollback, type GitOpsBehaviour, type RollbackInput, type RollbackPlan } from './plan.js';

const uid = 'uid-web';
const hourMs = 3_600_000;
const now = new Date('2025-06-02T12:00:00Z');

function podTemplate(image: string, hash?: string): V1PodTemplateSpec {
  return {
    metadata: {
      labels: { app: 'web', ...(hash === undefined ? {} : { 'pod-template-hash': hash }) },
      annotations: { 'rollguard.io/change-type': 'feature' },
    },
    spec: { containers: [{ name: 'web', image, ports: [{ containerPort: 8080 }] }] },
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

/** A ReplicaSet as the Deployment controller makes it: the Deployment's annotations copied, hash label added. */
function replicaSet(
  revision: number,
  hash: string,
  image: string,
  extra: { annotations?: Record<string, string>; owner?: V1OwnerReference } = {},
): V1ReplicaSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `web-${hash}`,
      namespace: 'shop',
      labels: { app: 'web', 'pod-template-hash': hash },
      annotations: {
        'deployment.kubernetes.io/revision': String(revision),
        'deployment.kubernetes.io/desired-replicas': '3',
        'deployment.kubernetes.io/max-replicas': '4',
        ...extra.annotations,
      },
      ownerReferences: [extra.owner ?? controlledBy(uid)],
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: 'web', 'pod-template-hash': hash } },
      template: podTemplate(image, hash),
    },
  };
}

interface DeploymentOptions {
  image?: string;
  revision?: number;
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
  paused?: boolean;
}

function deployment(options: DeploymentOptions = {}): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid,
      resourceVersion: '48213',
      generation: 5,
      labels: { app: 'web', ...options.labels },
      annotations: {
        'deployment.kubernetes.io/revision': String(options.revision ?? 3),
        ...options.annotations,
      },
    },
    spec: {
      replicas: 3,
      ...(options.paused === undefined ? {} : { paused: options.paused }),
      selector: { matchLabels: { app: 'web' } },
      template: podTemplate(options.image ?? 'shop:1.2'),
    },
  };
}

const rs1 = replicaSet(1, 'aaa111', 'shop:1.0', { annotations: { team: 'checkout-v1' } });
const rs2 = replicaSet(2, 'bbb222', 'shop:1.1', {
  annotations: {
    team: 'checkout',
    'example.com/release-notes': 'https://example.com/1.1',
    // An earlier rollguard verdict the RS inherited: replaced by the new one, not kept.
    'rollguard.io/verification': 'passed',
  },
});
const rs3 = replicaSet(3, 'ccc333', 'shop:1.2', { annotations: { team: 'checkout' } });

function input(overrides: Partial<RollbackInput> = {}): RollbackInput {
  return {
    deployment: deployment(),
    replicaSets: [rs1, rs2, rs3],
    badRevision: 3,
    badRevisionIsRollback: false,
    previousRollbacks: [],
    maxRollbacks: 3,
    windowMs: 24 * hourMs,
    gitOps: 'pause',
    now,
    reason: 'error ratio 0.12 above the limit 0.05',
    ...overrides,
  };
}

function undo(plan: RollbackPlan): Extract<RollbackPlan, { kind: 'undo' }> {
  if (plan.kind !== 'undo') throw new Error(`expected an undo, got ${plan.kind}: ${plan.summary}`);
  return plan;
}

/** The value of the op on `path`, or undefined. */
function opValue(plan: RollbackPlan, path: string): unknown {
  const op = undo(plan).ops.find((o) => o.path === path);
  return op && 'value' in op ? op.value : undefined;
}

describe('planRollback: the undo kubectl would send', () => {
  it('sends test resourceVersion, the target template without its hash, and the rebuilt annotations', () => {
    const d = deployment({
      annotations: {
        'kubectl.kubernetes.io/last-applied-configuration': '{"kind":"Deployment"}',
        'deployment.kubernetes.io/revision-history': '1',
        'deployment.kubernetes.io/desired-replicas': '3',
        'deployment.kubernetes.io/max-replicas': '4',
        'rollguard.io/risk-score': '0.71',
        team: 'checkout-new',
        note: 'only on the Deployment',
      },
    });
    const plan = undo(planRollback(input({ deployment: d })));
    expect(plan.target.revision).toBe(2);
    expect(plan.target.podTemplateHash).toBe('bbb222');
    expect(plan.ops).toEqual([
      { op: 'test', path: '/metadata/resourceVersion', value: '48213' },
      { op: 'replace', path: '/spec/template', value: podTemplate('shop:1.1') },
      {
        op: 'replace',
        path: '/metadata/annotations',
        value: {
          // Kept from the Deployment.
          'kubectl.kubernetes.io/last-applied-configuration': '{"kind":"Deployment"}',
          'deployment.kubernetes.io/revision': '3',
          'deployment.kubernetes.io/revision-history': '1',
          'deployment.kubernetes.io/desired-replicas': '3',
          'deployment.kubernetes.io/max-replicas': '4',
          // Copied from the target ReplicaSet.
          team: 'checkout',
          'example.com/release-notes': 'https://example.com/1.1',
          // rollguard's own.
          'rollguard.io/rolled-back-from': '3',
          'rollguard.io/verification': 'failed: error ratio 0.12 above the limit 0.05',
        },
      },
    ]);
  });

  it('restores the template without the pod-template-hash label but with every other label', () => {
    const template = opValue(planRollback(input()), '/spec/template') as V1PodTemplateSpec;
    expect(template.metadata?.labels).toEqual({ app: 'web' });
    expect(template.spec?.containers[0]?.image).toBe('shop:1.1');
    // The ReplicaSet in the cache is not modified.
    expect(rs2.spec?.template?.metadata?.labels?.['pod-template-hash']).toBe('bbb222');
  });

  it('keeps the Deployment-owned annotations from the Deployment, not from the ReplicaSet', () => {
    const target = replicaSet(2, 'bbb222', 'shop:1.1', {
      annotations: {
        'deployment.kubernetes.io/desired-replicas': '9',
        'deployment.kubernetes.io/max-replicas': '12',
        'deployment.kubernetes.io/revision-history': '7',
      },
    });
    const d = deployment({
      annotations: {
        'deployment.kubernetes.io/desired-replicas': '3',
        'deployment.kubernetes.io/max-replicas': '4',
      },
    });
    const annotations = opValue(
      planRollback(input({ deployment: d, replicaSets: [target, rs3] })),
      '/metadata/annotations',
    ) as Record<string, string>;
    expect(annotations['deployment.kubernetes.io/revision']).toBe('3');
    expect(annotations['deployment.kubernetes.io/desired-replicas']).toBe('3');
    expect(annotations['deployment.kubernetes.io/max-replicas']).toBe('4');
    // The Deployment has no revision-history, so none is written, whatever the ReplicaSet says.
    expect(annotations).not.toHaveProperty(['deployment.kubernetes.io/revision-history']);
  });

  it('drops annotations only the Deployment had (as kubectl does)', () => {
    const d = deployment({ annotations: { 'rollguard.io/risk-score': '0.71', note: 'x' } });
    const annotations = opValue(planRollback(input({ deployment: d })), '/metadata/annotations') as Record<
      string,
      string
    >;
    expect(annotations).not.toHaveProperty(['rollguard.io/risk-score']);
    expect(annotations).not.toHaveProperty(['note']);
  });

  it('bounds the verification annotation to 1000 characters', () => {
    const annotations = opValue(planRollback(input({ reason: 'x'.repeat(5000) })), '/metadata/annotations') as Record<
      string,
      string
    >;
    expect(annotations['rollguard.io/verification']).toHaveLength(1000);
    expect(annotations['rollguard.io/verification']?.startsWith('failed: xxx')).toBe(true);
  });

  it.each<[string, number[], number, number]>([
    ['the next lower revision', [1, 2, 3], 3, 2],
    ['the highest lower revision across a gap (revisions pruned or renumbered)', [1, 2, 5], 5, 2],
    ['a lower one when a newer revision also exists', [1, 2, 3], 2, 1],
    ['the highest lower one whatever the list order', [2, 7, 1, 4], 7, 4],
  ])('targets %s', (_what, revisions, bad, expected) => {
    const images = new Map(revisions.map((r) => [r, `shop:1.${r}`]));
    const replicaSets = revisions.map((r) => replicaSet(r, `hash${r}`, images.get(r) ?? ''));
    const plan = undo(
      planRollback(
        input({
          deployment: deployment({ revision: bad, image: images.get(bad) ?? '' }),
          replicaSets,
          badRevision: bad,
        }),
      ),
    );
    expect(plan.target.revision).toBe(expected);
    expect(plan.target.podTemplateHash).toBe(`hash${expected}`);
    expect(plan.summary).toContain(`from revision ${bad} to the template of revision ${expected}`);
  });

  it('names the Deployment, both revisions and the reason in its summary', () => {
    expect(undo(planRollback(input())).summary).toBe(
      'rolled back web from revision 3 to the template of revision 2: error ratio 0.12 above the limit 0.05',
    );
  });

  it('guards against a concurrent change even when the cache has no resourceVersion', () => {
    const d = deployment();
    delete d.metadata?.resourceVersion;
    expect(undo(planRollback(input({ deployment: d }))).ops[0]).toEqual({
      op: 'test',
      path: '/metadata/resourceVersion',
      value: '',
    });
  });
});

describe('planRollback: a paused Deployment', () => {
  it.each<[string, DeploymentOptions, boolean]>([
    ['paused by rollguard', { paused: true, annotations: { 'rollguard.io/paused-revision': '3' } }, true],
    ['paused by someone else', { paused: true }, false],
    [
      'not paused, with a stale paused-revision',
      { paused: false, annotations: { 'rollguard.io/paused-revision': '2' } },
      false,
    ],
    ['not paused', {}, false],
  ])('%s → resumes it: %s', (_what, options, resumes) => {
    const plan = undo(planRollback(input({ deployment: deployment(options) })));
    const pausedOps = plan.ops.filter((o) => o.path === '/spec/paused');
    expect(pausedOps).toEqual(resumes ? [{ op: 'replace', path: '/spec/paused', value: false }] : []);
    expect(plan.ops.slice(0, 3).map((o) => [o.op, o.path])).toEqual([
      ['test', '/metadata/resourceVersion'],
      ['replace', '/spec/template'],
      ['replace', '/metadata/annotations'],
    ]);
  });
});

describe('planRollback: when it must not undo', () => {
  const foreign = replicaSet(2, 'fff999', 'other:9', { owner: controlledBy('uid-other') });
  const notController = replicaSet(2, 'bbb222', 'shop:1.1', { owner: controlledBy(uid, false) });

  it.each<[string, Partial<RollbackInput>, Extract<RollbackPlan, { kind: 'skip' }>['why'], string[]]>([
    [
      'the bad revision is itself a rollback',
      { badRevisionIsRollback: true },
      'rollback-of-rollback',
      ['revision 3', 'never rolls back a rollback', 'fix forward'],
    ],
    [
      'the cap is reached within the window',
      { maxRollbacks: 2, previousRollbacks: [new Date(now.getTime() - hourMs), new Date(now.getTime() - 5 * hourMs)] },
      'cap-reached',
      ['web 2 times', 'maxRollbacks=2', 'revision 3', 'kubectl rollout undo deployment/web'],
    ],
    [
      'this is the first rollout',
      { replicaSets: [rs3] },
      'no-previous-revision',
      ['revision 3 of web', 'no earlier revision'],
    ],
    [
      'the earlier ReplicaSets were pruned',
      {
        deployment: deployment({ revision: 5, image: 'shop:1.5' }),
        replicaSets: [replicaSet(5, 'eee555', 'shop:1.5')],
        badRevision: 5,
      },
      'no-previous-revision',
      ['revision 5 of web', 'revisionHistoryLimit'],
    ],
    [
      'the only earlier ReplicaSet belongs to another Deployment',
      { replicaSets: [foreign, rs3] },
      'no-previous-revision',
      ['revision 3'],
    ],
    [
      'the earlier ReplicaSet has this Deployment only as a non-controller owner',
      { replicaSets: [notController, rs3] },
      'no-previous-revision',
      ['revision 3'],
    ],
    [
      'the Deployment already runs the target template',
      { deployment: deployment({ image: 'shop:1.1' }) },
      'same-template',
      ['revision 2'],
    ],
  ])('skips when %s', (_what, overrides, why, mentions) => {
    const plan = planRollback(input(overrides));
    expect(plan.kind).toBe('skip');
    if (plan.kind !== 'skip') return;
    expect(plan.why).toBe(why);
    for (const text of mentions) expect(plan.summary).toContain(text);
  });

  it.each<[string, number[], number, RollbackPlan['kind']]>([
    ['only rollbacks older than the window', [25, 30, 48], 1, 'undo'],
    ['two inside the window and many outside, cap 3', [1, 23, 25, 26, 27, 100], 3, 'undo'],
    ['three inside the window, cap 3', [1, 2, 23.9], 3, 'skip'],
    ['no rollbacks yet, cap 1', [], 1, 'undo'],
  ])('counts towards the cap %s', (_what, hoursAgo, maxRollbacks, kind) => {
    const previousRollbacks = hoursAgo.map((h) => new Date(now.getTime() - h * hourMs));
    expect(planRollback(input({ previousRollbacks, maxRollbacks })).kind).toBe(kind);
  });

  it('treats a template equal but for the pod-template-hash label as the same template', () => {
    const d = deployment({ image: 'shop:1.1' });
    if (d.spec) d.spec.template = podTemplate('shop:1.1', 'bbb222');
    const plan = planRollback(input({ deployment: d }));
    expect(plan.kind === 'skip' && plan.why).toBe('same-template');
  });

  it('checks "rollback of a rollback" before anything else, even a reached cap', () => {
    const plan = planRollback(
      input({ badRevisionIsRollback: true, maxRollbacks: 0, replicaSets: [rs3], gitOps: 'alert' }),
    );
    expect(plan.kind === 'skip' && plan.why).toBe('rollback-of-rollback');
  });

  // Regression test for a fixed bug: src/rollback/plan.ts, the 'no-previous-revision' summary (line 71) names the revision but not what to
  // do; every other refusal ends with an action (fix forward, roll back by hand, revert in git). Input: the
  // first rollout failing verification. Expected: e.g. "... fix forward or roll back by hand". Actual: "revision
  // 3 of web has no earlier revision to return to (the first rollout, or its ReplicaSets were pruned by
  // revisionHistoryLimit)".
  it('tells the user what to do when there is no earlier revision', () => {
    const plan = planRollback(input({ replicaSets: [rs3] }));
    expect(plan.summary).toMatch(/fix forward|by hand|kubectl|revert/i);
  });

  // Regression test for a fixed bug: src/rollback/plan.ts, the 'same-template' summary (line 79) omits the bad revision and the Deployment's
  // name: "the Deployment already runs the template of revision 2". Expected: it names web and revision 3 (the
  // revision that failed verification), like every other summary, so the Event can be read on its own.
  it('names the Deployment and the bad revision when it already runs the target template', () => {
    const plan = planRollback(input({ deployment: deployment({ image: 'shop:1.1' }) }));
    expect(plan.summary).toContain('revision 3');
    expect(plan.summary).toContain('web');
  });
});

describe('planRollback: Deployments managed by GitOps', () => {
  const managed: [string, DeploymentOptions, string, string][] = [
    [
      'Argo CD (tracking-id annotation)',
      { annotations: { 'argocd.argoproj.io/tracking-id': 'shop-web:apps/Deployment:shop/web' } },
      'Argo CD',
      'shop-web',
    ],
    ['Argo CD (instance label)', { labels: { 'argocd.argoproj.io/instance': 'shop-web' } }, 'Argo CD', 'shop-web'],
    [
      'Flux (kustomize labels)',
      {
        labels: { 'kustomize.toolkit.fluxcd.io/name': 'apps', 'kustomize.toolkit.fluxcd.io/namespace': 'flux-system' },
      },
      'Flux',
      'flux-system/apps',
    ],
    [
      'Flux (helm labels)',
      { labels: { 'helm.toolkit.fluxcd.io/name': 'web', 'helm.toolkit.fluxcd.io/namespace': 'shop' } },
      'Flux',
      'shop/web',
    ],
  ];

  it.each(managed)('%s with gitOps: pause → pauses instead of undoing', (_what, options, tool, owner) => {
    const plan = planRollback(input({ deployment: deployment(options), gitOps: 'pause' }));
    expect(plan.kind).toBe('pause');
    expect(plan.summary).toContain(`web is managed by ${tool} (${owner})`);
    expect(plan.summary).toContain('Revert revision 3 in git');
    expect(plan.summary).toContain('kubectl rollout resume deployment/web');
  });

  it.each(managed)('%s with gitOps: alert → skips with gitops-alert', (_what, options, tool, owner) => {
    const plan = planRollback(input({ deployment: deployment(options), gitOps: 'alert' }));
    expect(plan.kind === 'skip' && plan.why).toBe('gitops-alert');
    expect(plan.summary).toContain(`${tool} (${owner})`);
    expect(plan.summary).toContain('revert revision 3 in git');
  });

  it.each(managed)('%s with gitOps: undo → a normal undo', (_what, options) => {
    const plan = undo(planRollback(input({ deployment: deployment(options), gitOps: 'undo' })));
    expect(plan.target.revision).toBe(2);
    expect(plan.ops.map((o) => o.path)).toEqual([
      '/metadata/resourceVersion',
      '/spec/template',
      '/metadata/annotations',
    ]);
  });

  it.each<GitOpsBehaviour>(['pause', 'alert', 'undo'])(
    'an unmanaged Deployment is undone with gitOps: %s',
    (gitOps) => {
      expect(planRollback(input({ gitOps })).kind).toBe('undo');
    },
  );

  it('still refuses a rollback of a rollback before considering GitOps', () => {
    const d = deployment({ labels: { 'argocd.argoproj.io/instance': 'shop-web' } });
    const plan = planRollback(input({ deployment: d, badRevisionIsRollback: true }));
    expect(plan.kind === 'skip' && plan.why).toBe('rollback-of-rollback');
  });
});
