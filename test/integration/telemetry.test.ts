// rollguard's own endpoints as Prometheus and Kubernetes see them: /metrics passes `promtool check metrics`
// (names, units, help texts) once it has samples from real work, and /healthz and /readyz answer.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { safeChange } from '../support/changes.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { applyDeployment, applyPolicy, assessmentOf } from '../support/objects.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(path.join(inject('prometheusDir'), 'promtool'), ['check', 'metrics'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    child.on('exit', (code) => {
      resolve({ code: code ?? 1, output });
    });
    child.stdin.end(text);
  });
}

describe("rollguard's own telemetry", () => {
  let ns = '';
  let operator: RunningOperator;
  beforeAll(async () => {
    ns = await createNamespace('telemetry');
    operator = await startOperator();
  });
  afterAll(async () => {
    await operator.stop();
    await deleteNamespace(ns);
  });

  it('serves metrics that pass promtool check metrics, with samples from real work', async () => {
    await applyPolicy(ns, 'guard', {
      selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
      prometheus: { address: inject('prometheusUrl') },
      verification: { interval: '2s' },
    });
    await applyDeployment({ namespace: ns, name: 'web', annotations: safeChange });
    await waitFor('the assessment', async () => ((await assessmentOf(ns, 'web', 1))?.status?.level ? true : undefined));
    const text = await waitFor(
      'verification checks in the metrics',
      async () => {
        const t = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
        return t.includes('rollguard_verification_checks_total{') ? t : undefined;
      },
      { timeoutMs: 30_000 },
    );
    for (const name of [
      'rollguard_assessments_total{level="safe",scorer="model",mode="enforce"} 1',
      'rollguard_risk_score_count 1',
      'rollguard_reconcile_duration_seconds_count{kind="deployment"}',
      'rollguard_leader 1',
      // A first rollout: nothing served before it to read early.
      'rollguard_live_signal_readings_total{read="at-assessment"} 1',
      'rollguard_model_info{version="jit-apachejit-v1-',
    ]) {
      expect(text).toContain(name);
    }
    // Queries by what they were for: the assessment's live signals, then verification's checks.
    for (const purpose of ['live-signals', 'verification']) {
      expect(text).toMatch(
        new RegExp(
          `^rollguard_prometheus_query_duration_seconds_count\\{outcome="[a-z-]+",purpose="${purpose}"\\} [1-9]`,
          'm',
        ),
      );
    }
    const check = await promtoolCheck(text);
    expect(check.output).toBe('');
    expect(check.code).toBe(0);
  });

  it('answers /healthz and /readyz', async () => {
    expect((await fetch(`${operator.metricsUrl}/healthz`)).status).toBe(200);
    const ready = await fetch(`${operator.metricsUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.text()).toBe('ok\n');
  });

  it('serves the dashboard on its own loopback address, never on the metrics port', async () => {
    const withDashboard = await startOperator(['--dashboard', '--dashboard-address=127.0.0.1:0']);
    try {
      const started = withDashboard.logs().find((l) => l.includes('"dashboardPort"'));
      const port = /"dashboardPort":(\d+)/.exec(started ?? '')?.[1];
      expect(port).toBeDefined();
      const page = await fetch(`http://127.0.0.1:${port ?? ''}/dashboard`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html');
      // The metrics port, which a Service exposes to every scraper, has no dashboard.
      expect((await fetch(`${withDashboard.metricsUrl}/dashboard`)).status).toBe(404);
      expect((await fetch(`${withDashboard.metricsUrl}/dashboard/api/state`)).status).toBe(404);
    } finally {
      await withDashboard.stop();
    }
  });
});
