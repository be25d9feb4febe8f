// Two replicas of the operator, as the Helm chart runs them: exactly one holds the Lease and acts; when it dies
// the other takes over within the lease duration; a graceful stop hands the Lease over at once.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startHangableProxy, type HangableProxy } from '../harness/tcp-proxy.js';
import { kubectlJson } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { applyDeployment, applyPolicy, assessmentsOf, eventsOf } from '../support/objects.js';
import { apiServerOf, kubeconfigVia, startOperator, type RunningOperator } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

async function leading(operator: RunningOperator): Promise<boolean> {
  const text = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
  return /^rollguard_leader 1$/m.test(text);
}

async function holder(namespace: string): Promise<string | undefined> {
  const lease = await kubectlJson<{ spec: { holderIdentity?: string } }>([
    '-n',
    namespace,
    'get',
    'lease',
    'rollguard-controller',
  ]);
  // A released Lease has an empty holder.
  const identity = lease.spec.holderIdentity ?? '';
  return identity === '' ? undefined : identity;
}

describe('leader election', () => {
  let ns = '';
  const operators: RunningOperator[] = [];
  beforeAll(async () => {
    ns = await createNamespace('leader');
    await applyPolicy(ns, 'guard', { selector: { matchLabels: { 'rollguard.io/enabled': 'true' } } });
  });
  const proxies: HangableProxy[] = [];
  let dir = '';
  afterAll(async () => {
    for (const o of operators) await o.stop();
    for (const p of proxies) await p.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    await deleteNamespace(ns);
  });

  it('one of two replicas leads and acts; the other takes over when the leader dies', async () => {
    const args = ['--leader-elect', `--leader-election-namespace=${ns}`];
    const a = await startOperator(args, { POD_NAME: 'replica-a' });
    const b = await startOperator(args, { POD_NAME: 'replica-b' });
    operators.push(a, b);
    // Exactly one leads
    const first = await waitFor('a leader', async () => {
      const [la, lb] = [await leading(a), await leading(b)];
      if (la && lb) throw new Error('both replicas lead');
      return la ? a : lb ? b : undefined;
    });
    const standby = first === a ? b : a;
    const firstName = first === a ? 'replica-a' : 'replica-b';
    expect((await holder(ns))?.startsWith(firstName)).toBe(true);
    expect(await leading(standby)).toBe(false);

    // A rollout is assessed exactly once although two replicas watch it
    await applyDeployment({ namespace: ns, name: 'api', annotations: { 'rollguard.io/lines-added': '10' } });
    await waitFor('the assessment', async () => ((await assessmentsOf(ns, 'api')).length === 1 ? true : undefined));
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect((await eventsOf(ns, 'api')).filter((e) => e.reason === 'RiskAssessed')).toHaveLength(1);

    // When the leader dies without releasing the Lease, the standby takes over within the lease duration (15 s)
    const killedAt = Date.now();
    await first.kill();
    await waitFor('the standby to lead', async () => ((await leading(standby)) ? true : undefined), {
      timeoutMs: 30_000,
    });
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThan(15_000 + 2 * 2_000 + 3_000);
    expect((await holder(ns))?.startsWith(firstName)).toBe(false);

    // And the new leader acts
    await applyDeployment({
      namespace: ns,
      name: 'api',
      annotations: { 'rollguard.io/lines-added': '12' },
      image: 'registry.example/shop:1.0.1',
    });
    await waitFor('revision 2 assessed by the new leader', async () =>
      (await assessmentsOf(ns, 'api')).some((ra) => ra.spec.revision === 2) ? true : undefined,
    );
  });

  it('a leader stopped gracefully releases the Lease so a standby takes over at once', async () => {
    const args = ['--leader-elect', `--leader-election-namespace=${ns}`, '--leader-election-id=graceful'];
    const a = await startOperator(args, { POD_NAME: 'graceful-a' });
    await waitFor('a to lead', async () => ((await leading(a)) ? true : undefined));
    const b = await startOperator(args, { POD_NAME: 'graceful-b' });
    operators.push(b);
    expect(await leading(b)).toBe(false);
    const stoppedAt = Date.now();
    await a.stop();
    const lease = await kubectlJson<{ spec: { holderIdentity?: string } }>(['-n', ns, 'get', 'lease', 'graceful']);
    // Released (empty), or already taken by b when the read comes a retry period later on a busy machine.
    expect(lease.spec.holderIdentity ?? '').toMatch(/^(|graceful-b_.*)$/);
    await waitFor('b to lead', async () => ((await leading(b)) ? true : undefined), { timeoutMs: 15_000 });
    // Released, not expired: the handover takes about one retry period, not the 15 s lease duration.
    expect(Date.now() - stoppedAt).toBeLessThan(8_000);
  });

  it('a leader whose API connection hangs stops acting before the standby takes over', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'rollguard-hang-'));
    const server = new URL(await apiServerOf(inject('kubeconfig')));
    const args = ['--leader-elect', `--leader-election-namespace=${ns}`, '--leader-election-id=hang'];
    const replicas: { name: string; proxy: HangableProxy; operator: RunningOperator }[] = [];
    for (const name of ['hang-a', 'hang-b']) {
      const proxy = await startHangableProxy(server.hostname, Number(server.port));
      proxies.push(proxy);
      const kubeconfig = await kubeconfigVia(inject('kubeconfig'), proxy.address, dir);
      const operator = await startOperator(args, { POD_NAME: name }, { kubeconfig });
      operators.push(operator);
      replicas.push({ name, proxy, operator });
    }
    const leader = await waitFor('a leader', async () => {
      const states = await Promise.all(replicas.map(async (r) => ({ r, leads: await leading(r.operator) })));
      const leaders = states.filter((s) => s.leads);
      if (leaders.length > 1) throw new Error('both replicas lead');
      return leaders[0]?.r;
    });
    const standby = replicas.find((r) => r !== leader);
    if (!standby) throw new Error('no standby');

    // The leader's connection to the API server hangs: no error, no answer.
    const hungAt = Date.now();
    leader.proxy.hang();
    await waitFor('the standby to lead', async () => ((await leading(standby.operator)) ? true : undefined), {
      timeoutMs: 40_000,
    });
    await waitFor('the old leader to exit', () => Promise.resolve(leader.operator.exited() ? true : undefined), {
      timeoutMs: 5_000,
    });
    const timeOf = (operator: RunningOperator, msg: string) => {
      const line = operator.logs().find((l) => l.includes(`"msg":"${msg}`));
      const raw = line ? (JSON.parse(line) as { time?: number | string }).time : undefined;
      const time = typeof raw === 'string' ? Date.parse(raw) : raw;
      if (time === undefined || Number.isNaN(time))
        throw new Error(`no "${msg}" in the log:\n${operator.logs().join('\n')}`);
      return time;
    };
    const gaveUpAt = timeOf(leader.operator, 'lost the leader lease');
    const tookOverAt = timeOf(standby.operator, 'became the leader');
    // No overlap: the hung leader stopped (within the 10 s renew deadline) before the standby started.
    expect(gaveUpAt - hungAt).toBeLessThanOrEqual(10_000 + 3_000);
    expect(tookOverAt).toBeGreaterThan(gaveUpAt);
    const lease = await kubectlJson<{ spec: { holderIdentity?: string } }>(['-n', ns, 'get', 'lease', 'hang']);
    expect(lease.spec.holderIdentity?.startsWith(standby.name)).toBe(true);
  });
});
