// The gate's decision is written twice: in CEL for the API server (src/gate/admission-objects.ts) and in
// TypeScript for the webhook (src/gate/decision.ts). Here the same requests go through the real API server
// with the MutatingAdmissionPolicy installed (server-side dry runs, so nothing rolls out), and the TypeScript
// decision, given the object the API server admitted and the namespace's policies, must say the same.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { mutatingAdmissionPolicy, mutatingAdmissionPolicyBinding } from '../../src/gate/admission-objects.js';
import { decideGate, type DeploymentLike, type PolicyLike } from '../../src/gate/decision.js';
import { operatorIdentity, removeGateObjects, type OperatorIdentity } from '../support/gate.js';
import { kubectl, kubectlJson } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { applyPolicy } from '../support/objects.js';
import { waitFor } from '../support/wait.js';

interface Manifest {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown> & { paused?: boolean; replicas?: number };
}

function manifest(
  namespace: string,
  name: string,
  o: {
    image?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    paused?: boolean;
    replicas?: number;
  } = {},
): Manifest {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name,
      namespace,
      labels: o.labels ?? { team: 'shop' },
      ...(o.annotations ? { annotations: o.annotations } : {}),
    },
    spec: {
      replicas: o.replicas ?? 1,
      ...(o.paused !== undefined ? { paused: o.paused } : {}),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: o.image ?? 'shop:1' }] },
      },
    },
  };
}

let identity: OperatorIdentity;
let dir = '';
let systemNs = '';
const namespaces: Record<'mixed' | 'expressions' | 'creation' | 'none', string> = {
  mixed: '',
  expressions: '',
  creation: '',
  none: '',
};

/** A server-side dry run of an apply; as the operator's identity when `asOperator`. */
async function dryRun(m: Manifest, asOperator: boolean): Promise<DeploymentLike> {
  const args = [
    'apply',
    '--server-side',
    '--force-conflicts',
    '--field-manager=parity',
    '--dry-run=server',
    '-o',
    'json',
    '-f',
    '-',
  ];
  if (asOperator) args.unshift(`--kubeconfig=${identity.kubeconfig}`);
  return JSON.parse(await kubectl(args, JSON.stringify(m))) as DeploymentLike;
}

async function stored(namespace: string, name: string): Promise<DeploymentLike | undefined> {
  const r = await kubectl(['-n', namespace, 'get', 'deployment', name, '-o', 'json', '--ignore-not-found']);
  return r.trim() === '' ? undefined : (JSON.parse(r) as DeploymentLike);
}

describe('the gate decides the same in CEL (API server) and in TypeScript (webhook)', () => {
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'rollguard-parity-'));
    systemNs = await createNamespace('parity-system');
    identity = await operatorIdentity(systemNs, dir);
    for (const key of Object.keys(namespaces) as (keyof typeof namespaces)[])
      namespaces[key] = await createNamespace(`parity-${key}`);
    await applyPolicy(namespaces.mixed, 'shop', { selector: { matchLabels: { team: 'shop' } } });
    await applyPolicy(namespaces.mixed, 'everything-advisory', { selector: {}, mode: 'advisory' });
    await applyPolicy(namespaces.mixed, 'batch-no-gate', {
      selector: { matchLabels: { team: 'batch' } },
      gate: { enabled: false },
    });
    await applyPolicy(namespaces.expressions, 'exprs', {
      selector: {
        matchExpressions: [
          { key: 'team', operator: 'In', values: ['shop', 'search'] },
          { key: 'tier', operator: 'NotIn', values: ['experimental'] },
          { key: 'owner', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      },
    });
    await applyPolicy(namespaces.creation, 'new-too', { selector: {}, gate: { creation: true } });
    const options = { operatorUsername: identity.username };
    await kubectl(
      ['apply', '-f', '-'],
      `${stringify(mutatingAdmissionPolicy(options))}---\n${stringify(mutatingAdmissionPolicyBinding(options))}`,
    );
    // The API server loads a new policy within a few seconds: wait until it holds a plain template change.
    await kubectl(
      ['apply', '--kubeconfig', identity.kubeconfig, '-f', '-'],
      JSON.stringify(manifest(namespaces.mixed, 'probe')),
    );
    await waitFor(
      'the MutatingAdmissionPolicy to be in force',
      async () => {
        const d = await dryRun(manifest(namespaces.mixed, 'probe', { image: 'shop:2' }), false);
        return d.spec?.paused === true ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
  });
  afterAll(async () => {
    await removeGateObjects();
    await identity.cleanup();
    for (const ns of [...Object.values(namespaces), systemNs]) await deleteNamespace(ns);
    await rm(dir, { recursive: true, force: true });
  });

  /** Name, namespace, whether the gate holds it, the applied Deployment, applied as the operator. */
  type Case = [string, keyof typeof namespaces, boolean, (ns: string) => Manifest, boolean];
  const cases: Case[] = [
    ['a new image, covered', 'mixed', true, (ns) => manifest(ns, 'a', { image: 'shop:2' }), false],
    ['replicas only', 'mixed', false, (ns) => manifest(ns, 'a', { replicas: 4 }), false],
    ['a Deployment annotation only', 'mixed', false, (ns) => manifest(ns, 'a', { annotations: { owner: 'x' } }), false],
    [
      'a Deployment label only',
      'mixed',
      false,
      (ns) => manifest(ns, 'a', { labels: { team: 'shop', tier: 'web' } }),
      false,
    ],
    [
      'a bypass',
      'mixed',
      false,
      (ns) => manifest(ns, 'a', { image: 'shop:2', annotations: { 'rollguard.io/gate-bypass': 'INC-9' } }),
      false,
    ],
    [
      'an empty bypass',
      'mixed',
      true,
      (ns) => manifest(ns, 'a', { image: 'shop:2', annotations: { 'rollguard.io/gate-bypass': '' } }),
      false,
    ],
    ['paused in the same apply', 'mixed', false, (ns) => manifest(ns, 'a', { image: 'shop:2', paused: true }), false],
    ['rollguard itself', 'mixed', false, (ns) => manifest(ns, 'a', { image: 'shop:2' }), true],
    [
      'covered only by an advisory policy',
      'mixed',
      false,
      (ns) => manifest(ns, 'a', { image: 'shop:2', labels: { team: 'web' } }),
      false,
    ],
    [
      'covered by a policy with the gate off',
      'mixed',
      false,
      (ns) => manifest(ns, 'a', { image: 'shop:2', labels: { team: 'batch' } }),
      false,
    ],
    ['creation, not asked for', 'mixed', false, (ns) => manifest(ns, 'new-one', {}), false],
    ['creation, asked for', 'creation', true, (ns) => manifest(ns, 'new-one', {}), false],
    ['no policy in the namespace', 'none', false, (ns) => manifest(ns, 'a', { image: 'shop:2' }), false],
    [
      'expressions: all hold',
      'expressions',
      true,
      (ns) => manifest(ns, 'a', { image: 'shop:2', labels: { team: 'shop', owner: 'x' } }),
      false,
    ],
    [
      'expressions: In fails',
      'expressions',
      false,
      (ns) => manifest(ns, 'a', { image: 'shop:2', labels: { team: 'ops', owner: 'x' } }),
      false,
    ],
    [
      'expressions: NotIn fails',
      'expressions',
      false,
      (ns) => manifest(ns, 'a', { image: 'shop:2', labels: { team: 'shop', owner: 'x', tier: 'experimental' } }),
      false,
    ],
    [
      'expressions: Exists fails',
      'expressions',
      false,
      (ns) => manifest(ns, 'a', { image: 'shop:2', labels: { team: 'shop' } }),
      false,
    ],
    [
      'expressions: DoesNotExist fails',
      'expressions',
      false,
      (ns) => manifest(ns, 'a', { image: 'shop:2', labels: { team: 'search', owner: 'x', legacy: 'y' } }),
      false,
    ],
  ];

  it.each(cases)('%s', async (_name, key, holds, next, asOperator) => {
    const ns = namespaces[key];
    const m = next(ns);
    // The stored object: the same Deployment at image shop:1 (written by the operator identity, never gated).
    const base = manifest(ns, m.metadata.name, { labels: m.metadata.labels });
    if (m.metadata.name !== 'new-one') {
      await kubectl(
        [
          'apply',
          '--kubeconfig',
          identity.kubeconfig,
          '--server-side',
          '--force-conflicts',
          '--field-manager=parity',
          '-f',
          '-',
        ],
        JSON.stringify(base),
      );
    }
    const old = await stored(ns, m.metadata.name);
    const admitted = await dryRun(m, true); // what the API server admits with the gate out of the way
    const actual = await dryRun(m, asOperator);
    const policies = (await kubectlJson<{ items: PolicyLike[] }>(['-n', ns, 'get', 'deploymentriskpolicies'])).items;
    const expected = decideGate(
      {
        operation: old ? 'UPDATE' : 'CREATE',
        username: asOperator ? identity.username : 'rollguard-admin',
        object: admitted,
        oldObject: old,
      },
      policies,
      identity.username,
    );
    const held = actual.spec?.paused === true && actual.metadata?.annotations?.['rollguard.io/gate'] === 'pending';
    expect(held).toBe(holds);
    expect({ held, paused: actual.spec?.paused === true }).toEqual({
      held: expected.hold,
      paused: expected.hold || admitted.spec?.paused === true,
    });
    if (expected.hold)
      expect(actual.metadata?.annotations?.['rollguard.io/gate-pending-since']).toMatch(
        /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
      );
  });

  it('a template held before is held again, keeping when it was first held; a person’s pause is theirs', async () => {
    const ns = namespaces.mixed;
    const heldBase = manifest(ns, 'held', {
      image: 'shop:2',
      paused: true,
      annotations: {
        'rollguard.io/gate': 'held',
        'rollguard.io/gate-pending-since': '2026-12-01T09:00:00Z',
        'rollguard.io/paused-revision': '2',
      },
    });
    const personBase = manifest(ns, 'mine', { image: 'shop:2', paused: true });
    for (const base of [heldBase, personBase]) {
      await kubectl(
        ['apply', '--kubeconfig', identity.kubeconfig, '--server-side', '--field-manager=parity', '-f', '-'],
        JSON.stringify(base),
      );
    }
    for (const [base, hold] of [
      [heldBase, true],
      [personBase, false],
    ] as const) {
      const next = structuredClone(base);
      const containers = (next.spec.template as { spec: { containers: { image: string }[] } }).spec.containers;
      containers[0] = { ...containers[0], image: 'shop:3' };
      const old = await stored(ns, base.metadata.name);
      const admitted = await dryRun(next, true);
      const actual = await dryRun(next, false);
      const policies = (await kubectlJson<{ items: PolicyLike[] }>(['-n', ns, 'get', 'deploymentriskpolicies'])).items;
      const expected = decideGate(
        { operation: 'UPDATE', username: 'rollguard-admin', object: admitted, oldObject: old },
        policies,
        identity.username,
      );
      expect(expected.hold).toBe(hold);
      expect(actual.metadata?.annotations?.['rollguard.io/gate'] === 'pending').toBe(hold);
    }
  });
});
