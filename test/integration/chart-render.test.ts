// What the Helm chart renders and refuses before anything runs, with the real helm and promtool: the chart lints,
// strict too, with every option on; a typo in values is refused, naming the field, and installs nothing; and the
// alerts it renders are rules promtool accepts, over metrics rollguard exports, that fire when they should.
// The installs, the rights they grant and the webhook gate are chart-install.test.ts and chart-gate.test.ts.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { OperatorMetrics } from '../../src/telemetry/metrics.js';
import { chartDir, helmCli, objectsIn, only, runTool, type K8sObject } from '../support/chart.js';
import { kubectl } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';

describe('the rollguard Helm chart, rendered', () => {
  const suffix = randomBytes(3).toString('hex');
  // Where the refused installs would have gone: it must hold no release record afterwards.
  let releaseNs = '';
  const { helm, helmOk, removeHome } = helmCli();

  beforeAll(async () => {
    releaseNs = await createNamespace('chart');
  });

  afterAll(async () => {
    if (releaseNs) await deleteNamespace(releaseNs);
    await removeHome();
  });

  it('passes helm lint, strict too, with the defaults and with every option on', async () => {
    await helmOk(['lint', chartDir]);
    await helmOk(['lint', '--strict', chartDir]);
    await helmOk([
      'lint',
      '--strict',
      chartDir,
      '--set',
      'serviceMonitor.enabled=true,prometheusRule.enabled=true,grafanaDashboard.enabled=true',
      '--set',
      'scoreApi.enabled=true,dashboard.enabled=true,rbac.namespaced=true,watchNamespace=team',
    ]);
  });

  it('refuses a typo in values, naming the field, and installs nothing', async () => {
    const typo = await helm(['install', `typo-${suffix}`, chartDir, '-n', releaseNs, '--set', 'replicaCont=3']);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/additional propert(y|ies) 'replicaCont' not allowed/);

    const nested = await helm([
      'install',
      `typo-${suffix}`,
      chartDir,
      '-n',
      releaseNs,
      '--set',
      'image.pulPolicy=Never',
    ]);
    expect(nested.code).not.toBe(0);
    expect(nested.stderr).toContain("at '/image': additional properties 'pulPolicy' not allowed");

    const wrongType = await helm(['install', `typo-${suffix}`, chartDir, '-n', releaseNs, '--set', 'logLevel=loud']);
    expect(wrongType.code).not.toBe(0);
    expect(wrongType.stderr).toContain('logLevel');

    const namespacedAlone = await helm([
      'install',
      `typo-${suffix}`,
      chartDir,
      '-n',
      releaseNs,
      '--set',
      'rbac.namespaced=true',
    ]);
    expect(namespacedAlone.code).not.toBe(0);
    expect(namespacedAlone.stderr).toContain('rbac.namespaced=true needs watchNamespace');

    // No release record either: Helm stores one Secret per release revision.
    const records = await kubectl(['-n', releaseNs, 'get', 'secrets', '-l', 'owner=helm', '-o', 'name']);
    expect(records.trim()).toBe('');
  });

  it('renders alerts that promtool accepts, over metrics rollguard exports, and that fire when they should', async () => {
    const rendered = objectsIn(
      await helmOk([
        'template',
        'rg',
        chartDir,
        '-n',
        'rgns',
        '--set',
        'prometheusRule.enabled=true,serviceMonitor.enabled=true,grafanaDashboard.enabled=true',
      ]),
    );
    const rule = only(rendered, 'PrometheusRule') as K8sObject & {
      spec: { groups: { rules: { alert: string; expr: string; annotations: Record<string, string> }[] }[] };
    };
    const alerts = rule.spec.groups.flatMap((group) => group.rules);
    expect(alerts.map((a) => a.alert).sort()).toEqual([
      'RollguardDown',
      'RollguardGatePending',
      'RollguardModelDrift',
      'RollguardPrometheusUnreachable',
      'RollguardReconcileErrors',
      'RollguardRolledBack',
    ]);
    for (const alert of alerts) {
      expect(alert.annotations.summary, alert.alert).toBeTruthy();
      expect(alert.annotations.description?.length ?? 0, alert.alert).toBeGreaterThan(150);
      expect(alert.annotations.runbook_url, alert.alert).toBe(
        `https://github.com/rollguard/rollguard/blob/main/README.md#${alert.alert.toLowerCase()}`,
      );
    }

    // Every rollguard_* series the alerts and the dashboard read is one rollguard exports.
    const exported = new Set((await new OperatorMetrics().registry.getMetricsAsJSON()).map((metric) => metric.name));
    const dashboardMap = only(rendered, 'ConfigMap') as K8sObject & { data: Record<string, string> };
    expect(dashboardMap.metadata.labels?.grafana_dashboard).toBe('1');
    const dashboardJson = dashboardMap.data['rollguard.json'] ?? '';
    const dashboard = JSON.parse(dashboardJson) as {
      panels: { title: string; targets?: { expr: string }[] }[];
    };
    const exprs = [
      ...alerts.map((a) => a.expr),
      ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
    ];
    const used = new Set(exprs.flatMap((expr) => expr.match(/\brollguard_[a-z_]+/g) ?? []));
    const unknown = [...used].filter((name) => !exported.has(name.replace(/_(bucket|sum|count)$/, '')));
    expect(unknown, 'metric names the alerts or the dashboard use but rollguard does not export').toEqual([]);
    for (const metric of [
      'rollguard_assessments_total',
      'rollguard_risk_score_bucket',
      'rollguard_pauses_total',
      'rollguard_approvals_total',
      'rollguard_verification_checks_total',
      'rollguard_rollbacks_total',
      'rollguard_prometheus_query_duration_seconds_bucket',
      'rollguard_prometheus_errors_total',
      'rollguard_reconcile_duration_seconds_bucket',
      'rollguard_reconcile_errors_total',
      'rollguard_workqueue_depth',
      'rollguard_leader',
    ]) {
      expect(used, `the dashboard shows ${metric}`).toContain(metric);
    }

    // promtool checks the rules and plays scenarios through them.
    const work = await mkdtemp(path.join(os.tmpdir(), 'rollguard-rules-'));
    try {
      await writeFile(path.join(work, 'rules.yaml'), toYaml(rule.spec));
      const promtool = path.join(inject('prometheusDir'), 'promtool');
      const check = await runTool(promtool, ['check', 'rules', path.join(work, 'rules.yaml')]);
      expect(check.code, check.stdout + check.stderr).toBe(0);

      const me = 'job="rg-rollguard-metrics",namespace="rgns"';
      const firing = (alert: string, at: string, by = '') => ({
        expr: `count${by ? ` by (${by})` : ''}(ALERTS{alertname="${alert}",alertstate="firing"})`,
        eval_time: at,
      });
      const tests = {
        rule_files: ['rules.yaml'],
        evaluation_interval: '1m',
        tests: [
          {
            // A first rollback creates its counter series at 1: the alert fires at once, and stops 10 minutes on.
            interval: '1m',
            input_series: [
              { series: `rollguard_rollbacks_total{result="done",${me},instance="a"}`, values: '_x4 1x30' },
              { series: `rollguard_rollbacks_total{result="skipped-cap",${me},instance="a"}`, values: '0 1 2 3x30' },
            ],
            promql_expr_test: [
              { ...firing('RollguardRolledBack', '3m'), exp_samples: [] },
              { ...firing('RollguardRolledBack', '6m'), exp_samples: [{ labels: '{}', value: 1 }] },
              { ...firing('RollguardRolledBack', '18m'), exp_samples: [] },
            ],
          },
          {
            // Prometheus unreachable for the leader (a) counts; a standby's stale gauge (b) does not.
            interval: '1m',
            input_series: [
              { series: `rollguard_leader{${me},instance="a"}`, values: '1x30' },
              { series: `rollguard_leader{${me},instance="b"}`, values: '0x30' },
              {
                series: `rollguard_prometheus_up{namespace="team",policy="p",${me.split(',')[0] ?? ''},instance="a"}`,
                values: '1 1 0x30',
              },
              {
                series: `rollguard_prometheus_up{namespace="team",policy="q",${me.split(',')[0] ?? ''},instance="b"}`,
                values: '0x30',
              },
            ],
            promql_expr_test: [
              { ...firing('RollguardPrometheusUnreachable', '5m'), exp_samples: [] },
              {
                ...firing('RollguardPrometheusUnreachable', '8m', 'namespace, policy'),
                exp_samples: [{ labels: '{namespace="team",policy="p"}', value: 1 }],
              },
            ],
          },
          {
            // A gate pending for 15 minutes fires, from rollguard's gauge or (rollguard down) kube-state-metrics.
            interval: '1m',
            input_series: [
              { series: `rollguard_gate_pending_deployments{${me},instance="a"}`, values: '0x5 1x20 0x10' },
              {
                series:
                  'kube_deployment_annotations{namespace="shop",deployment="cart",annotation_rollguard_io_gate="pending"}',
                values: '_x40 1x20',
              },
            ],
            promql_expr_test: [
              { ...firing('RollguardGatePending', '10m'), exp_samples: [] },
              { ...firing('RollguardGatePending', '21m'), exp_samples: [{ labels: '{}', value: 1 }] },
              { ...firing('RollguardGatePending', '35m'), exp_samples: [] },
              { ...firing('RollguardGatePending', '57m'), exp_samples: [{ labels: '{}', value: 1 }] },
            ],
          },
          {
            // Both replicas up but neither leads: down. Then one leads again: fine.
            interval: '1m',
            input_series: [
              { series: `up{${me},instance="a"}`, values: '1x30' },
              { series: `up{${me},instance="b"}`, values: '1x30' },
              { series: `rollguard_leader{${me},instance="a"}`, values: '0x10 1x20' },
              { series: `rollguard_leader{${me},instance="b"}`, values: '0x30' },
            ],
            promql_expr_test: [
              { ...firing('RollguardDown', '4m'), exp_samples: [] },
              { ...firing('RollguardDown', '7m'), exp_samples: [{ labels: '{}', value: 1 }] },
              { ...firing('RollguardDown', '12m'), exp_samples: [] },
            ],
          },
          {
            // Not scraped at all (no up series): down.
            interval: '1m',
            input_series: [{ series: `up{job="someone-else",namespace="rgns",instance="z"}`, values: '1x30' }],
            promql_expr_test: [{ ...firing('RollguardDown', '7m'), exp_samples: [{ labels: '{}', value: 1 }] }],
          },
          {
            // 0.2 failed reconciles a second for long enough: fires by kind; 0.05 a second never does.
            interval: '1m',
            input_series: [
              { series: `rollguard_reconcile_errors_total{kind="Deployment",${me},instance="a"}`, values: '0+12x40' },
              { series: `rollguard_reconcile_errors_total{kind="Policy",${me},instance="a"}`, values: '0+3x40' },
            ],
            promql_expr_test: [
              { ...firing('RollguardReconcileErrors', '8m'), exp_samples: [] },
              {
                ...firing('RollguardReconcileErrors', '20m', 'kind'),
                exp_samples: [{ labels: '{kind="Deployment"}', value: 1 }],
              },
            ],
          },
          {
            // A feature drifting past 0.3 for an hour.
            interval: '1m',
            input_series: [
              { series: `rollguard_feature_drift{feature="lines_added",${me},instance="a"}`, values: '0.5x90' },
              { series: `rollguard_feature_drift{feature="hour",${me},instance="a"}`, values: '0.1x90' },
            ],
            promql_expr_test: [
              { ...firing('RollguardModelDrift', '30m'), exp_samples: [] },
              {
                ...firing('RollguardModelDrift', '70m', 'feature'),
                exp_samples: [{ labels: '{feature="lines_added"}', value: 1 }],
              },
            ],
          },
        ],
      };
      await writeFile(path.join(work, 'tests.yaml'), toYaml(tests));
      const unit = await runTool(promtool, ['test', 'rules', path.join(work, 'tests.yaml')]);
      expect(unit.code, unit.stdout + unit.stderr).toBe(0);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
