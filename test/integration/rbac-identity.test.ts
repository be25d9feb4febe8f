// The chart's RBAC is enough: the operator, running with nothing but the token of the ServiceAccount that
// `helm install` created (and leader election in the release namespace, as the chart runs it), assesses a
// rollout, records it, and rolls a bad version back.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { readFile } from 'node:fs/promises';
import { repoRoot } from '../harness/tools.js';
import { kubectl } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { applyDeployment, applyPolicy, assessmentOf, eventsOf, getDeployment } from '../support/objects.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const run = promisify(execFile);

async function helm(args: string[]): Promise<string> {
  const { stdout } = await run(path.join(inject('binDir'), 'helm'), [`--kubeconfig=${inject('kubeconfig')}`, ...args], {
    cwd: repoRoot,
  });
  return stdout;
}

describe('the chart ServiceAccount is enough to run rollguard', () => {
  let releaseNs = '';
  let appNs = '';
  let dir = '';
  let operator: RunningOperator | undefined;
  const release = `rbac-${Math.random().toString(36).slice(2, 7)}`;

  beforeAll(async () => {
    releaseNs = await createNamespace('rbac-system');
    appNs = await createNamespace('rbac-app');
    dir = await mkdtemp(path.join(os.tmpdir(), 'rollguard-rbac-'));
    // The chart's own pods cannot pull an image here; kwok reports them running, and they act on nothing.
    await helm(['install', release, 'charts/rollguard', '--namespace', releaseNs, '--skip-crds']);
  });
  afterAll(async () => {
    await operator?.stop();
    await helm(['uninstall', release, '--namespace', releaseNs]).catch(() => undefined);
    await deleteNamespace(appNs);
    await deleteNamespace(releaseNs);
    await rm(dir, { recursive: true, force: true });
  });

  it('assesses and rolls back with the chart ServiceAccount identity', async () => {
    const sa = (
      await kubectl([
        '-n',
        releaseNs,
        'get',
        'serviceaccounts',
        '-l',
        `app.kubernetes.io/instance=${release}`,
        '-o',
        'jsonpath={.items[0].metadata.name}',
      ])
    ).trim();
    expect(sa).not.toBe('');
    const token = (await kubectl(['-n', releaseNs, 'create', 'token', sa, '--duration=1h'])).trim();
    const admin = parse(await readFile(inject('kubeconfig'), 'utf8')) as { users: { user: Record<string, unknown> }[] };
    const first = admin.users[0];
    if (!first) throw new Error('the admin kubeconfig has no user');
    first.user = { token };
    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(kubeconfig, stringify(admin), { mode: 0o600 });
    // A sanity check that this identity really is limited: it may not create Deployments.
    const canCreate = await run(path.join(inject('binDir'), 'kubectl'), [
      `--kubeconfig=${kubeconfig}`,
      'auth',
      'can-i',
      'create',
      'deployments',
      '-n',
      appNs,
    ]).then(
      () => 'yes',
      () => 'no',
    );
    expect(canCreate).toBe('no');

    // As the chart runs it: POD_NAMESPACE from the downward API places the Lease and the learned model's
    // ConfigMap in the release namespace, where the chart's Role allows them.
    operator = await startOperator(
      [`--kubeconfig=${kubeconfig}`, '--leader-elect', `--leader-election-namespace=${releaseNs}`, '--learning'],
      {
        POD_NAMESPACE: releaseNs,
      },
    );
    await applyPolicy(appNs, 'guard', {
      selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
      prometheus: { address: inject('prometheusUrl'), timeout: '2s' },
      metrics: { rateWindow: '10s' },
      verification: { interval: '2s', failureLimit: 2 },
      levels: {
        safe: { verificationWindow: '10s' },
        monitor: { verificationWindow: '10s' },
        rollbackReady: { verificationWindow: '10s' },
        block: { verificationWindow: '10s', pause: false },
      },
    });
    await applyDeployment({
      namespace: appNs,
      name: 'store',
      annotations: {
        'sim.rollguard.io/exact': 'true',
        'sim.rollguard.io/error-rate': '0',
        'rollguard.io/lines-added': '10',
      },
    });
    await waitFor(
      'revision 1 verified',
      async () => ((await assessmentOf(appNs, 'store', 1))?.status?.outcome === 'succeeded' ? true : undefined),
      { timeoutMs: 60_000 },
    );
    await applyDeployment({
      namespace: appNs,
      name: 'store',
      annotations: {
        'sim.rollguard.io/exact': 'true',
        'sim.rollguard.io/error-rate': '0.4',
        'rollguard.io/lines-added': '12',
      },
      image: 'registry.example/shop:1.0.1',
    });
    const ra = await waitFor(
      'revision 2 rolled back',
      async () => {
        const a = await assessmentOf(appNs, 'store', 2);
        return a?.status?.outcome === 'rolled-back' ? a : undefined;
      },
      { timeoutMs: 60_000 },
    );
    expect(ra.status?.actions?.map((a) => a.type)).toContain('rolled-back');
    expect((await getDeployment(appNs, 'store')).metadata.annotations?.['rollguard.io/rolled-back-from']).toBe('2');
    expect((await eventsOf(appNs, 'store')).some((e) => e.reason === 'RolledBack')).toBe(true);
    const policyReady = await kubectl([
      '-n',
      appNs,
      'get',
      'drp',
      'guard',
      '-o',
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ]);
    expect(policyReady).toBe('True');
    // Nothing in its logs says RBAC denied it anything. (The API server also answers "forbidden" for writes
    // into a namespace being deleted, e.g. another test's; that is admission, not authorization.)
    expect(operator.logs().filter((l) => /forbidden: User .{1,300}? cannot /i.test(l))).toEqual([]);
  });
});
