// The operator at work on a real control plane: every rollout of a covered Deployment is assessed once,
// annotated, and paused when too risky until someone approves; advisory and shadow modes hold back; a
// hard-coded secret blocks; bad annotations become warning Events; deleting the policy stops all action.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { riskyChange, safeChange } from '../support/changes.js';
import { kubectl, kubectlJson } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import {
  applyDeployment,
  applyPolicy,
  assessmentOf,
  assessmentsOf,
  eventsOf,
  getDeployment,
  type DeploymentView,
} from '../support/objects.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

// Thresholds a team that wants to stop risky changes early might choose; valid and ascending.
const policySpec = (mode: string) => ({
  selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
  mode,
  thresholds: { monitor: 0.3, rollbackReady: 0.45, block: 0.6 },
});

async function annotated(namespace: string, name: string, revision: number): Promise<DeploymentView> {
  return waitFor(
    `Deployment ${name} to carry the assessment of revision ${revision}`,
    async () => {
      const d = await getDeployment(namespace, name);
      return d.metadata.annotations?.['rollguard.io/assessed-revision'] === String(revision) ? d : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

describe('rollguard controller: assess, annotate, pause and approve', () => {
  let ns = '';
  let operator: RunningOperator;

  beforeAll(async () => {
    ns = await createNamespace('assess');
    await applyPolicy(ns, 'guard', policySpec('enforce'));
    operator = await startOperator();
  });
  afterAll(async () => {
    await operator.stop();
    await deleteNamespace(ns);
  });

  it('annotates a safe rollout and lets it run', async () => {
    // Given a covered Deployment whose change is small and well tested
    await applyDeployment({ namespace: ns, name: 'catalog', annotations: safeChange });
    // Then it is assessed as safe, annotated, and not paused
    const d = await annotated(ns, 'catalog', 1);
    expect(d.metadata.annotations?.['rollguard.io/risk-level']).toBe('safe');
    expect(Number(d.metadata.annotations?.['rollguard.io/risk-score'])).toBeLessThan(0.3);
    expect(d.metadata.annotations?.['rollguard.io/assessment']).toBe('catalog-1');
    expect(d.spec.paused).not.toBe(true);
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/catalog', '--timeout=60s']);
    const ra = await assessmentOf(ns, 'catalog', 1);
    expect(ra?.status?.level).toBe('safe');
    expect(ra?.status?.features?.lines_added).toBe(30);
    expect(ra?.status?.features?.test_coverage).toBe(88);
    expect(ra?.status?.actions?.map((a) => a.type)).toEqual(['annotated']);
    const events = await eventsOf(ns, 'catalog');
    expect(events.filter((e) => e.reason === 'RiskAssessed')).toHaveLength(1);
  });

  it('pauses a risky rollout until the revision is approved, and records who approved', async () => {
    // Given a running Deployment
    await applyDeployment({ namespace: ns, name: 'checkout', annotations: safeChange });
    await annotated(ns, 'checkout', 1);
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/checkout', '--timeout=60s']);
    // When a sprawling, untested hotfix rolls out
    await applyDeployment({
      namespace: ns,
      name: 'checkout',
      annotations: riskyChange,
      image: 'registry.example/shop:1.1.0',
    });
    // Then revision 2 is blocked and the rollout paused, with an Event that says how to approve
    const d = await annotated(ns, 'checkout', 2);
    expect(d.metadata.annotations?.['rollguard.io/risk-level']).toBe('block');
    const paused = await waitFor('the rollout to be paused', async () => {
      const now = await getDeployment(ns, 'checkout');
      return now.spec.paused === true ? now : undefined;
    });
    expect(paused.metadata.annotations?.['rollguard.io/paused-revision']).toBe('2');
    expect(paused.metadata.annotations?.['rollguard.io/risk-reasons']).toMatch(/lines|files|coverage/);
    const pausedEvent = (await eventsOf(ns, 'checkout')).find((e) => e.reason === 'RolloutPaused');
    expect(pausedEvent?.type).toBe('Warning');
    expect(pausedEvent?.message).toContain('kubectl annotate deployment/checkout rollguard.io/approve=2');
    const ra = await assessmentOf(ns, 'checkout', 2);
    expect(ra?.status?.phase).toBe('Paused');
    expect(ra?.status?.actions?.map((a) => a.type)).toContain('paused');

    // When someone approves revision 2
    await kubectl(['-n', ns, 'annotate', 'deployment/checkout', 'rollguard.io/approve=2', '--overwrite']);
    // Then the rollout resumes and completes, and the approval is on record
    await waitFor('the rollout to resume', async () =>
      (await getDeployment(ns, 'checkout')).spec.paused ? undefined : true,
    );
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/checkout', '--timeout=60s']);
    const approved = await waitFor('the approval to be recorded', async () => {
      const a = await assessmentOf(ns, 'checkout', 2);
      return a?.status?.approval ? a : undefined;
    });
    expect(approved.status?.approval?.revision).toBe(2);
    expect(approved.status?.approval?.by).toBe('kubectl-annotate');
    expect(approved.status?.phase).toBe('Assessed');
    expect((await eventsOf(ns, 'checkout')).some((e) => e.reason === 'RolloutApproved')).toBe(true);
    expect(
      (await getDeployment(ns, 'checkout')).metadata.annotations?.['rollguard.io/paused-revision'],
    ).toBeUndefined();
  });

  it('blocks a rollout that hard-codes a credential, whatever the score', async () => {
    await applyDeployment({ namespace: ns, name: 'billing', annotations: safeChange });
    await annotated(ns, 'billing', 1);
    await applyDeployment({
      namespace: ns,
      name: 'billing',
      annotations: safeChange,
      env: [{ name: 'AWS_ACCESS_KEY_ID', value: 'AKIAIOSFODNN7EXAMPLE' }],
    });
    const d = await annotated(ns, 'billing', 2);
    expect(d.metadata.annotations?.['rollguard.io/risk-level']).toBe('block');
    expect(d.metadata.annotations?.['rollguard.io/risk-reasons']).toContain('AWS_ACCESS_KEY_ID');
    expect(d.metadata.annotations?.['rollguard.io/risk-reasons']).not.toContain('AKIAIOSFODNN7EXAMPLE');
    await waitFor('the rollout to be paused', async () =>
      (await getDeployment(ns, 'billing')).spec.paused ? true : undefined,
    );
    const ra = await assessmentOf(ns, 'billing', 2);
    expect(ra?.status?.hardRules?.[0]).toMatch(/AWS access key/);
  });

  it('turns bad annotation values into warning Events and still assesses', async () => {
    await applyDeployment({
      namespace: ns,
      name: 'search',
      annotations: {
        ...safeChange,
        'rollguard.io/lines-added': 'lots',
        'rollguard.io/test-coverage': '140',
        'rollguard.io/authors': '-2',
      },
    });
    await annotated(ns, 'search', 1);
    const warnings = await waitFor('three InvalidAnnotation Events', async () => {
      const found = (await eventsOf(ns, 'search')).filter((e) => e.reason === 'InvalidAnnotation');
      return found.length === 3 ? found : undefined;
    });
    expect(warnings.every((w) => w.type === 'Warning')).toBe(true);
    const messages = warnings.map((w) => w.message).join('\n');
    expect(messages).toContain('rollguard.io/lines-added="lots" is not a number');
    expect(messages).toContain('rollguard.io/test-coverage="140" is out of range');
    expect(messages).toContain('rollguard.io/authors="-2" is out of range');
    const ra = await assessmentOf(ns, 'search', 1);
    expect(ra?.status?.missingFeatures).toEqual(expect.arrayContaining(['lines_added', 'test_coverage', 'authors']));
    expect(ra?.status?.features?.files_changed).toBe(2);
  });
});

describe('rollguard controller: policy status and overlapping policies', () => {
  let ns = '';
  let operator: RunningOperator;
  beforeAll(async () => {
    ns = await createNamespace('policies');
    operator = await startOperator();
  });
  afterAll(async () => {
    await operator.stop();
    await deleteNamespace(ns);
  });

  interface PolicyView {
    status?: {
      observedGeneration?: number;
      coveredDeployments?: number;
      assessments?: number;
      pauses?: number;
      conditions?: { type: string; status: string; reason: string; message: string }[];
    };
  }

  it('reports what it guards in its status, and names the governing policy when two cover a Deployment', async () => {
    await applyPolicy(ns, 'team', { ...policySpec('enforce'), priority: 0 });
    await applyDeployment({ namespace: ns, name: 'orders', annotations: riskyChange });
    await annotated(ns, 'orders', 1);
    const status = await waitFor('the policy status to count the pause', async () => {
      const p = await kubectlJson<PolicyView>(['-n', ns, 'get', 'drp', 'team']);
      return p.status?.pauses === 1 && p.status.assessments === 1 ? p.status : undefined;
    });
    expect(status.coveredDeployments).toBe(1);
    expect(status.observedGeneration).toBe(1);
    const ready = status.conditions?.find((c) => c.type === 'Ready');
    expect(ready?.status).toBe('True');
    expect(ready?.reason).toBe('Guarding');
    expect(ready?.message).toMatch(/1 Deployment is assessed, paused when too risky/);
    expect(ready?.message).toMatch(/No Prometheus address/);

    // When a second, higher-priority policy covers the same Deployment
    await applyPolicy(ns, 'platform', { ...policySpec('advisory'), priority: 10 });
    await kubectl(['-n', ns, 'rollout', 'resume', 'deployment/orders']);
    await applyDeployment({
      namespace: ns,
      name: 'orders',
      annotations: riskyChange,
      image: 'registry.example/shop:3.0.0',
    });
    // Then the higher priority governs (advisory: no pause) and an Event says which policy was ignored
    const conflict = await waitFor('the PolicyConflict Event', async () =>
      (await eventsOf(ns, 'orders')).find((e) => e.reason === 'PolicyConflict'),
    );
    expect(conflict.message).toMatch(/platform \(priority 10\) governs it and team \(priority 0\) is ignored/);
    await annotated(ns, 'orders', 2);
    expect((await assessmentOf(ns, 'orders', 2))?.spec.policy).toBe('platform');
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/orders', '--timeout=60s']);
    const team = await waitFor('the overruled policy to say so', async () => {
      const p = await kubectlJson<PolicyView>(['-n', ns, 'get', 'drp', 'team']);
      return p.status?.coveredDeployments === 0 ? p.status : undefined;
    });
    expect(team.conditions?.find((c) => c.type === 'Ready')?.message).toMatch(
      /governed by another policy \(platform\)/,
    );
  });
});

describe('rollguard controller: advisory and shadow modes', () => {
  let ns = '';
  let operator: RunningOperator;
  beforeAll(async () => {
    ns = await createNamespace('modes');
    operator = await startOperator();
  });
  afterAll(async () => {
    await operator.stop();
    await deleteNamespace(ns);
  });

  it('advisory mode annotates a blocked rollout but never pauses it', async () => {
    await applyPolicy(ns, 'advise', { ...policySpec('advisory'), selector: { matchLabels: { team: 'advised' } } });
    await applyDeployment({ namespace: ns, name: 'api', labels: { team: 'advised' }, annotations: riskyChange });
    const d = await annotated(ns, 'api', 1);
    expect(d.metadata.annotations?.['rollguard.io/risk-level']).toBe('block');
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/api', '--timeout=60s']);
    expect((await getDeployment(ns, 'api')).spec.paused).not.toBe(true);
    expect((await eventsOf(ns, 'api')).some((e) => e.reason === 'RiskAssessed')).toBe(true);
  });

  it('shadow mode records the assessment and leaves the Deployment untouched', async () => {
    await applyPolicy(ns, 'measure', { ...policySpec('shadow'), selector: { matchLabels: { team: 'shadowed' } } });
    await applyDeployment({ namespace: ns, name: 'worker', labels: { team: 'shadowed' }, annotations: riskyChange });
    const ra = await waitFor('the shadow assessment', async () => {
      const a = await assessmentOf(ns, 'worker', 1);
      return a?.status?.level ? a : undefined;
    });
    expect(ra.status?.level).toBe('block');
    expect(ra.status?.actions ?? []).toEqual([]);
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/worker', '--timeout=60s']);
    const d = await getDeployment(ns, 'worker');
    expect(Object.keys(d.metadata.annotations ?? {}).filter((k) => k.startsWith('rollguard.io/'))).toEqual([]);
    expect(d.spec.paused).not.toBe(true);
    expect((await eventsOf(ns, 'worker')).filter((e) => e.reportingComponent === 'rollguard.io/controller')).toEqual(
      [],
    );
  });
});

describe('rollguard controller: restarts and policy removal', () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('restart');
    await applyPolicy(ns, 'guard', policySpec('enforce'));
  });
  afterAll(async () => {
    await deleteNamespace(ns);
  });

  it('a controller killed in the middle and restarted assesses and pauses exactly once', async () => {
    const first = await startOperator();
    await applyDeployment({ namespace: ns, name: 'orders', annotations: riskyChange });
    // Kill it the moment the assessment exists, before it has necessarily acted on it
    await waitFor(
      'the assessment to be created',
      async () => ((await assessmentOf(ns, 'orders', 1)) ? true : undefined),
      {
        intervalMs: 20,
      },
    );
    await first.kill();
    const second = await startOperator();
    await waitFor('the rollout to be paused', async () =>
      (await getDeployment(ns, 'orders')).spec.paused ? true : undefined,
    );
    await waitFor('the pause to be recorded', async () =>
      (await assessmentOf(ns, 'orders', 1))?.status?.actions?.some((a) => a.type === 'paused') ? true : undefined,
    );
    await second.stop();
    const before = await assessmentOf(ns, 'orders', 1);
    // A third life sees nothing left to do
    const third = await startOperator();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await third.stop();
    const after = await assessmentOf(ns, 'orders', 1);
    expect(await assessmentsOf(ns, 'orders')).toHaveLength(1);
    expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
    expect(after?.status?.actions?.filter((a) => a.type === 'paused')).toHaveLength(1);
    const events = await eventsOf(ns, 'orders');
    expect(events.filter((e) => e.reason === 'RolloutPaused')).toHaveLength(1);
    expect(events.filter((e) => e.reason === 'RiskAssessed')).toHaveLength(1);
  });

  it('after the policy is deleted, rollguard takes no further action and says the paused rollout stays paused', async () => {
    const operator = await startOperator();
    try {
      await applyDeployment({ namespace: ns, name: 'ledger', annotations: safeChange });
      await annotated(ns, 'ledger', 1);
      await applyDeployment({
        namespace: ns,
        name: 'ledger',
        annotations: riskyChange,
        image: 'registry.example/shop:2.0.0',
      });
      await waitFor('the rollout to be paused', async () =>
        (await getDeployment(ns, 'ledger')).spec.paused ? true : undefined,
      );
      // When the policy is deleted
      await kubectl(['-n', ns, 'delete', 'deploymentriskpolicy', 'guard']);
      // Then an Event says the rollout stays paused and how to resume it
      const left = await waitFor('the LeftPaused Event', async () =>
        (await eventsOf(ns, 'ledger')).find((e) => e.reason === 'LeftPaused'),
      );
      expect(left.message).toContain('kubectl rollout resume deployment/ledger');
      // And a new revision after a manual resume is neither assessed nor annotated
      await kubectl(['-n', ns, 'rollout', 'resume', 'deployment/ledger']);
      await kubectl(['-n', ns, 'rollout', 'status', 'deployment/ledger', '--timeout=60s']);
      await applyDeployment({
        namespace: ns,
        name: 'ledger',
        annotations: riskyChange,
        image: 'registry.example/shop:2.0.1',
      });
      await kubectl(['-n', ns, 'rollout', 'status', 'deployment/ledger', '--timeout=60s']);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      const d = await getDeployment(ns, 'ledger');
      expect(d.spec.paused).not.toBe(true);
      expect(d.metadata.annotations?.['rollguard.io/assessed-revision']).toBe('2');
      expect(await assessmentOf(ns, 'ledger', 3)).toBeUndefined();
    } finally {
      await operator.stop();
    }
  });
});
