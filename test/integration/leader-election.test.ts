// Two replicas of the operator, as the Helm chart runs them: exactly one holds the Lease and acts; when it dies
// the other takes over within the lease duration; a graceful stop hands the Lease over at once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubectlJson } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { applyDeployment, applyPolicy, assessmentsOf, eventsOf } from '../support/objects.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
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
  afterAll(async () => {
    for (const o of operators) await o.stop();
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
    expect(lease.spec.holderIdentity ?? '').toBe('');
    await waitFor('b to lead', async () => ((await leading(b)) ? true : undefined), { timeoutMs: 15_000 });
    // Released, not expired: the handover takes about one retry period, not the 15 s lease duration.
    expect(Date.now() - stoppedAt).toBeLessThan(8_000);
  });
});
