// The Helm chart and the plain manifests in deploy/ on a real API server, driven by the real helm and kubectl the
// way a platform team runs them: the chart lints, renders alerts that promtool accepts and that fire when they
// should, installs with every object accepted (and pods admitted under the restricted Pod Security Standard),
// refuses typos in values, and grants its ServiceAccount exactly the rights the controller needs, cluster-wide or
// confined to one namespace. The tests in this file build on each other, in order: the releases installed early
// are checked, upgraded and uninstalled later. Every cluster-scoped object they create is removed in afterAll.
import { execFile } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml, parseAllDocuments, stringify as toYaml } from 'yaml';
import { mutatingWebhookConfiguration } from '../../src/gate/admission-objects.js';
import { OperatorMetrics } from '../../src/telemetry/metrics.js';
import { kubectl, kubectlJson, kubectlResult } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { apiServerOf, kubeconfigVia, startOperator, type RunningOperator } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const chartDir = path.join(repoRoot, 'charts/rollguard');
const crdNames = ['deploymentriskpolicies.rollguard.io', 'rolloutassessments.rollguard.io'];

interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

function runTool(file: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: repoRoot, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 1) : 0 });
      },
    );
  });
}

// --- the rights the chart must grant, as `kubectl auth can-i --list` names them ------------------------------

type Rights = Set<string>;

function rights(lines: string[]): Rights {
  const out = new Set<string>();
  for (const line of lines) {
    const [resource, verbs = ''] = line.split(':');
    for (const verb of verbs.trim().split(/\s+/)) out.add(`${resource ?? ''} ${verb}`);
  }
  return out;
}

/** On Deployments, policies and assessments: cluster-wide, or in watchNamespace with rbac.namespaced=true. */
const workloadRights = rights([
  'deployments.apps: get list watch patch',
  'replicasets.apps: list watch',
  'deploymentriskpolicies.rollguard.io: get list watch',
  'deploymentriskpolicies.rollguard.io/status: patch',
  // patch: a template the admission gate held is assessed before its ReplicaSet exists; its hash is filled in later.
  'rolloutassessments.rollguard.io: get list watch create delete patch',
  'rolloutassessments.rollguard.io/status: patch',
  'events.events.k8s.io: create',
]);
/** Where Secrets may be read: the watched namespace with rbac.namespaced=true, or rbac.secretNamespaces. */
const secretRights = rights(['secrets: get']);
/** In the release namespace only: leader election and the learned model. */
const selfRights = rights([
  'leases.coordination.k8s.io: get list create update delete',
  'configmaps: get create update',
]);
/** With the webhook gate: its own MutatingWebhookConfiguration's caBundle (cluster-scoped, so in every list). */
const gateWebhookRights = (gate: string) =>
  rights([`mutatingwebhookconfigurations.admissionregistration.k8s.io[${gate}]: patch`]);
/** With the webhook gate, in the release namespace: its certificate's Secret, and making it the first time. */
const gateSecretRights = (gate: string) => rights([`secrets[${gate}-tls]: get update`, 'secrets: create']);
/** Cluster-wide, only with scoreApi.enabled. */
const tokenReviewRights = rights([
  'tokenreviews.authentication.k8s.io: create',
  'subjectaccessreviews.authorization.k8s.io: create',
]);

function union(...sets: Rights[]): string[] {
  return [...new Set(sets.flatMap((set) => [...set]))].sort();
}

function identity(namespace: string, serviceAccount: string): string[] {
  return [
    `--as=system:serviceaccount:${namespace}:${serviceAccount}`,
    '--as-group=system:serviceaccounts',
    `--as-group=system:serviceaccounts:${namespace}`,
  ];
}

/** Parses the table `kubectl auth can-i --list` prints into "resource verb" (or "url:/path verb") entries. */
async function canIList(namespace: string, serviceAccount: string, where: string): Promise<Rights> {
  const out = await kubectl(['auth', 'can-i', '--list', '-n', where, ...identity(namespace, serviceAccount)]);
  const result = new Set<string>();
  for (const line of out.split('\n').slice(1)) {
    if (line.trim() === '') continue;
    const match = /^(\S+)?\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s+\[([^\]]*)\]\s*$/.exec(line);
    if (!match) throw new Error(`cannot read this line of kubectl auth can-i --list: ${JSON.stringify(line)}`);
    const [, resource, urls = '', names = '', verbs = ''] = match;
    const subjects = resource
      ? [names.trim() ? `${resource}[${names.trim()}]` : resource]
      : urls
          .trim()
          .split(/\s+/)
          .map((url) => `url:${url}`);
    for (const subject of subjects) for (const verb of verbs.trim().split(/\s+/)) result.add(`${subject} ${verb}`);
  }
  return result;
}

/**
 * The rights a ServiceAccount holds in a namespace beyond those every ServiceAccount there holds (discovery,
 * self-reviews, whatever the cluster grants to all): what the chart added, compared with a ServiceAccount that
 * nothing binds.
 */
async function grantedRights(namespace: string, serviceAccount: string, where: string): Promise<string[]> {
  const [held, baseline] = await Promise.all([
    canIList(namespace, serviceAccount, where),
    canIList(namespace, 'nobody-binds-this-one', where),
  ]);
  return [...held].filter((right) => !baseline.has(right)).sort();
}

/**
 * Asserts the rights granted, once the API server's RBAC authorizer has seen the latest Roles and bindings (it
 * reads them from its informers, a moment after they change).
 */
async function expectRights(namespace: string, serviceAccount: string, where: string, expected: string[]) {
  let last: string[] = [];
  await waitFor(
    `the rights of ${serviceAccount} in ${where} to settle`,
    async () => {
      last = await grantedRights(namespace, serviceAccount, where);
      return JSON.stringify(last) === JSON.stringify(expected) ? true : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 500 },
  ).catch(() => undefined);
  expect(last, `the rights of ${serviceAccount} in ${where}, beyond every ServiceAccount's`).toEqual(expected);
}

/**
 * `kubectl auth can-i VERB RESOURCE[/SUBRESOURCE]`: a SubjectAccessReview, what the API server itself will
 * decide.
 */
async function can(namespace: string, serviceAccount: string, verb: string, resource: string, where: string[]) {
  const [name = resource, subresource] = resource.split('/');
  const result = await kubectlResult([
    'auth',
    'can-i',
    verb,
    name,
    ...(subresource ? [`--subresource=${subresource}`] : []),
    ...where,
    ...identity(namespace, serviceAccount),
  ]);
  const answer = result.stdout.trim();
  if (answer !== 'yes' && answer !== 'no') throw new Error(`kubectl auth can-i said ${answer}: ${result.stderr}`);
  return answer;
}

// --- rendered objects ------------------------------------------------------------------------------------------

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

function objectsIn(manifest: string): K8sObject[] {
  return parseAllDocuments(manifest)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((obj): obj is K8sObject => obj !== null && typeof obj === 'object' && 'kind' in obj);
}

function only(objects: K8sObject[], kind: string): K8sObject {
  const found = objects.filter((obj) => obj.kind === kind);
  const [first] = found;
  if (found.length !== 1 || !first) throw new Error(`expected one ${kind}, found ${found.length}`);
  return first;
}

/** kubectl's name for an object's type: kind.group, or the kind alone for the core group. */
function typeOf(obj: K8sObject): string {
  const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
  return group ? `${obj.kind.toLowerCase()}.${group}` : obj.kind.toLowerCase();
}

interface DeploymentJson {
  spec: {
    replicas: number;
    template: {
      spec: {
        serviceAccountName: string;
        terminationGracePeriodSeconds: number;
        securityContext: Record<string, unknown>;
        topologySpreadConstraints?: { topologyKey: string; whenUnsatisfiable: string }[];
        containers: {
          image: string;
          args: string[];
          env: { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
          ports: { name: string; containerPort: number }[];
          livenessProbe: { httpGet: { path: string; port: string } };
          readinessProbe: { httpGet: { path: string; port: string } };
          resources: { requests?: Record<string, string>; limits?: Record<string, string> };
          securityContext: Record<string, unknown>;
        }[];
      };
    };
  };
}

describe('the rollguard Helm chart and deploy/ manifests', () => {
  const suffix = randomBytes(3).toString('hex');
  // Cluster-wide release, namespaced release, and where each lives.
  const clusterRelease = `rg-${suffix}`;
  const namespacedRelease = `rgns-${suffix}`;
  let helmHome = '';
  let clusterNs = '';
  let namespacedNs = '';
  let teamNs = '';
  let otherNs = '';
  let deployApplied = false;

  const helm = (args: string[]) =>
    runTool(path.join(inject('binDir'), 'helm'), [...args, `--kubeconfig=${inject('kubeconfig')}`], {
      HELM_CONFIG_HOME: path.join(helmHome, 'config'),
      HELM_CACHE_HOME: path.join(helmHome, 'cache'),
      HELM_DATA_HOME: path.join(helmHome, 'data'),
    });
  const helmOk = async (args: string[]) => {
    const result = await helm(args);
    if (result.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
    return result.stdout;
  };
  const sa = (release: string) => `${release}-rollguard`;

  beforeAll(async () => {
    helmHome = await mkdtemp(path.join(os.tmpdir(), 'rollguard-helm-'));
    [clusterNs, namespacedNs, teamNs, otherNs] = await Promise.all([
      createNamespace('chart'),
      createNamespace('chart-ns'),
      createNamespace('chart-team'),
      createNamespace('chart-other'),
    ]);
    // The controller's pods must pass the restricted Pod Security Standard: make the API server enforce it.
    for (const ns of [clusterNs, namespacedNs]) {
      await kubectl(['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted']);
    }
  });

  afterAll(async () => {
    for (const [release, ns] of [
      [clusterRelease, clusterNs],
      [namespacedRelease, namespacedNs],
    ] as const) {
      if (ns) await helm(['uninstall', release, '-n', ns, '--ignore-not-found']);
    }
    if (deployApplied) {
      await kubectlResult([
        'delete',
        '--ignore-not-found',
        '--wait=true',
        '--timeout=120s',
        '-f',
        path.join(repoRoot, 'deploy/20-rollguard.yaml'),
        '-f',
        path.join(repoRoot, 'deploy/00-namespace.yaml'),
      ]);
    }
    for (const ns of [clusterNs, namespacedNs, teamNs, otherNs]) if (ns) await deleteNamespace(ns);
    if (helmHome) await rm(helmHome, { recursive: true, force: true });
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
    const typo = await helm(['install', `typo-${suffix}`, chartDir, '-n', clusterNs, '--set', 'replicaCont=3']);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toMatch(/additional propert(y|ies) 'replicaCont' not allowed/);

    const nested = await helm([
      'install',
      `typo-${suffix}`,
      chartDir,
      '-n',
      clusterNs,
      '--set',
      'image.pulPolicy=Never',
    ]);
    expect(nested.code).not.toBe(0);
    expect(nested.stderr).toContain("at '/image': additional properties 'pulPolicy' not allowed");

    const wrongType = await helm(['install', `typo-${suffix}`, chartDir, '-n', clusterNs, '--set', 'logLevel=loud']);
    expect(wrongType.code).not.toBe(0);
    expect(wrongType.stderr).toContain('logLevel');

    const namespacedAlone = await helm([
      'install',
      `typo-${suffix}`,
      chartDir,
      '-n',
      clusterNs,
      '--set',
      'rbac.namespaced=true',
    ]);
    expect(namespacedAlone.code).not.toBe(0);
    expect(namespacedAlone.stderr).toContain('rbac.namespaced=true needs watchNamespace');

    // No release record either: Helm stores one Secret per release revision.
    const records = await kubectl(['-n', clusterNs, 'get', 'secrets', '-l', 'owner=helm', '-o', 'name']);
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

  it('installs cluster-wide with every object accepted, and pods admitted under the restricted profile', async () => {
    // --wait=hookOnly is Helm 4's --wait=false: do not wait for the pods (kwok plays the kubelet here).
    const install = await helmOk(['install', clusterRelease, chartDir, '-n', clusterNs, '--wait=hookOnly']);
    expect(install).toContain('STATUS: deployed');
    expect(install).toContain('kubectl get rolloutassessments -A');
    expect(install).toContain('deploy/examples/policy.yaml');
    // The minimal policy NOTES.txt shows is one the API server accepts.
    const notesPolicy = /<<'POLICY'\n([\s\S]*?)\n\s*POLICY\n/.exec(install)?.[1];
    expect(notesPolicy, 'NOTES.txt shows an inline policy').toBeDefined();
    const policyYaml = (notesPolicy ?? '').replace(/^ {5}/gm, '');
    await kubectl(['apply', '-n', otherNs, '--dry-run=server', '-f', '-'], policyYaml);

    const manifest = objectsIn(await helmOk(['get', 'manifest', clusterRelease, '-n', clusterNs]));
    expect(manifest.map((obj) => `${obj.kind}/${obj.metadata.name}`).sort()).toEqual(
      [
        `ClusterRole/${clusterRelease}-rollguard`,
        // Aggregated into the default view, edit and admin roles for people (rbac.aggregateToDefaultRoles).
        `ClusterRole/${clusterRelease}-rollguard-edit`,
        // Bound nowhere until a namespace opts in (rbac.secretNamespaces or a team's RoleBinding).
        `ClusterRole/${clusterRelease}-rollguard-secret-reader`,
        `ClusterRole/${clusterRelease}-rollguard-view`,
        `ClusterRoleBinding/${clusterRelease}-rollguard`,
        `Deployment/${clusterRelease}-rollguard`,
        // rollguard's own share of the API server under priority and fairness (flowControl.enabled).
        `FlowSchema/${clusterRelease}-rollguard`,
        `PodDisruptionBudget/${clusterRelease}-rollguard`,
        `PriorityLevelConfiguration/${clusterRelease}-rollguard`,
        `Role/${clusterRelease}-rollguard-self`,
        `RoleBinding/${clusterRelease}-rollguard-self`,
        `Service/${clusterRelease}-rollguard-metrics`,
        `ServiceAccount/${clusterRelease}-rollguard`,
      ].sort(),
    );
    for (const obj of manifest) {
      const where = obj.metadata.namespace ? ['-n', obj.metadata.namespace] : [];
      const got = await kubectlResult(['get', `${typeOf(obj)}/${obj.metadata.name}`, ...where, '-o', 'name']);
      expect(got.code, `${obj.kind}/${obj.metadata.name}: ${got.stderr}`).toBe(0);
    }
    // The CRDs were there already (the run's setup applied crds/): Helm leaves existing CRDs alone.
    for (const crd of crdNames) await kubectl(['get', 'crd', crd, '-o', 'name']);

    const deployment = await kubectlJson<DeploymentJson>(['-n', clusterNs, 'get', 'deployment', sa(clusterRelease)]);
    expect(deployment.spec.replicas).toBe(2);
    const pod = deployment.spec.template.spec;
    expect(pod.serviceAccountName).toBe(sa(clusterRelease));
    expect(pod.terminationGracePeriodSeconds).toBe(30);
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.topologySpreadConstraints?.map((c) => c.topologyKey)).toContain('kubernetes.io/hostname');
    const [container] = pod.containers;
    expect(container?.image).toMatch(/^ghcr\.io\/rollguard\/rollguard:\d+\.\d+\.\d+/);
    expect(container?.args).toEqual([
      'controller',
      '--metrics-address=:8080',
      '--leader-elect',
      '--leader-election-namespace=$(POD_NAMESPACE)',
      // One Lease per release, so two installs in one namespace never share a leader.
      `--leader-election-id=${clusterRelease}-rollguard`,
      '--log-level=info',
      '--workers=16',
      // One shard: the single leader does all the work; the client-side API limit the chart sets.
      '--shards=1',
      '--lease-duration=15s',
      '--kube-api-qps=50',
      '--kube-api-burst=300',
    ]);
    expect(container?.env.map((e) => [e.name, e.valueFrom?.fieldRef?.fieldPath])).toEqual([
      ['POD_NAME', 'metadata.name'],
      ['POD_NAMESPACE', 'metadata.namespace'],
    ]);
    expect(container?.ports).toEqual([expect.objectContaining({ name: 'http-metrics', containerPort: 8080 })]);
    expect(container?.livenessProbe.httpGet).toMatchObject({ path: '/healthz', port: 'http-metrics' });
    expect(container?.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'http-metrics' });
    expect(container?.resources.requests).toBeDefined();
    expect(container?.resources.limits).toBeDefined();
    expect(container?.securityContext).toMatchObject({
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });

    // The namespace enforces the restricted Pod Security Standard: the ReplicaSet's pods are only created if the
    // pod template passes it.
    await kubectl(['-n', clusterNs, 'rollout', 'status', `deployment/${sa(clusterRelease)}`, '--timeout=90s']);
    const denied = await kubectl([
      '-n',
      clusterNs,
      'get',
      'events',
      '--field-selector=reason=FailedCreate',
      '-o',
      'name',
    ]);
    expect(denied.trim()).toBe('');

    const service = await kubectlJson<{ spec: { ports: { name: string; port: number }[] } }>([
      '-n',
      clusterNs,
      'get',
      'service',
      `${clusterRelease}-rollguard-metrics`,
    ]);
    expect(service.spec.ports).toEqual([expect.objectContaining({ name: 'http-metrics', port: 8080 })]);
    const pdb = await kubectlJson<{ spec: { minAvailable: number } }>([
      '-n',
      clusterNs,
      'get',
      'pdb',
      sa(clusterRelease),
    ]);
    expect(pdb.spec.minAvailable).toBe(1);
  });

  it('grants its ServiceAccount exactly the rights the controller needs, and nothing more', async () => {
    const account = sa(clusterRelease);
    // Everywhere: the workload rights. In the release namespace: leader election and the model too.
    await expectRights(clusterNs, account, otherNs, union(workloadRights));
    await expectRights(clusterNs, account, 'kube-system', union(workloadRights));
    await expectRights(clusterNs, account, clusterNs, union(workloadRights, selfRights));

    const allowed: [string, string, string[]][] = [
      ['get', 'deployments.apps', ['-n', otherNs]],
      ['list', 'deployments.apps', ['--all-namespaces']],
      ['watch', 'deployments.apps', ['--all-namespaces']],
      ['patch', 'deployments.apps', ['-n', otherNs]],
      ['list', 'replicasets.apps', ['--all-namespaces']],
      ['watch', 'replicasets.apps', ['--all-namespaces']],
      ['watch', 'deploymentriskpolicies.rollguard.io', ['--all-namespaces']],
      ['patch', 'deploymentriskpolicies.rollguard.io/status', ['-n', otherNs]],
      ['create', 'rolloutassessments.rollguard.io', ['-n', otherNs]],
      ['delete', 'rolloutassessments.rollguard.io', ['-n', otherNs]],
      ['patch', 'rolloutassessments.rollguard.io', ['-n', otherNs]],
      ['patch', 'rolloutassessments.rollguard.io/status', ['-n', otherNs]],
      ['create', 'events.events.k8s.io', ['-n', otherNs]],
      ['update', 'leases.coordination.k8s.io', ['-n', clusterNs]],
      ['create', 'configmaps', ['-n', clusterNs]],
    ];
    const refused: [string, string, string[]][] = [
      ['delete', 'deployments.apps', ['-n', otherNs]],
      ['update', 'deployments.apps', ['-n', otherNs]],
      ['create', 'deployments.apps', ['-n', otherNs]],
      ['delete', 'replicasets.apps', ['-n', otherNs]],
      ['patch', 'replicasets.apps', ['-n', otherNs]],
      ['create', 'pods', ['-n', otherNs]],
      // No right on Secrets anywhere until a namespace opts in (rbac.secretNamespaces or a team's RoleBinding).
      ['get', 'secrets', ['-n', 'kube-system']],
      ['get', 'secrets', ['-n', otherNs]],
      ['list', 'secrets', ['-n', otherNs]],
      ['watch', 'secrets', ['--all-namespaces']],
      ['patch', 'nodes', []],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io', []],
      ['escalate', 'clusterroles.rbac.authorization.k8s.io', []],
      ['impersonate', 'serviceaccounts', ['-n', otherNs]],
      ['update', 'deploymentriskpolicies.rollguard.io', ['-n', otherNs]],
      ['update', 'rolloutassessments.rollguard.io', ['-n', otherNs]],
      ['create', 'events', ['-n', otherNs]],
      ['update', 'leases.coordination.k8s.io', ['-n', otherNs]],
      ['get', 'configmaps', ['-n', otherNs]],
      ['delete', 'configmaps', ['-n', clusterNs]],
      ['create', 'tokenreviews.authentication.k8s.io', []],
      ['update', 'customresourcedefinitions.apiextensions.k8s.io', []],
    ];
    for (const [verb, resource, where] of allowed) {
      expect(await can(clusterNs, account, verb, resource, where), `${verb} ${resource} ${where.join(' ')}`).toBe(
        'yes',
      );
    }
    for (const [verb, resource, where] of refused) {
      expect(await can(clusterNs, account, verb, resource, where), `${verb} ${resource} ${where.join(' ')}`).toBe('no');
    }
  });

  /** `helm upgrade --set values` of the cluster-wide release. */
  const upgradeClusterRelease = (values: string) =>
    helmOk(['upgrade', clusterRelease, chartDir, '-n', clusterNs, '--wait=hookOnly', '--set', values]);

  it('adds the TokenReview right and the flags only with scoreApi.enabled and dashboard.enabled', async () => {
    const account = sa(clusterRelease);
    await upgradeClusterRelease('scoreApi.enabled=true,dashboard.enabled=true');
    await expectRights(clusterNs, account, otherNs, union(workloadRights, tokenReviewRights));
    const deployment = await kubectlJson<DeploymentJson>(['-n', clusterNs, 'get', 'deployment', account]);
    expect(deployment.spec.template.spec.containers[0]?.args).toEqual(
      expect.arrayContaining(['--score-api', '--dashboard']),
    );

    // Without --reset-values an upgrade with no --set reuses the last release's values.
    await helmOk(['upgrade', clusterRelease, chartDir, '-n', clusterNs, '--wait=hookOnly', '--reset-values']);
    await expectRights(clusterNs, account, otherNs, union(workloadRights));
    const tokenRole = await kubectlResult(['get', 'clusterrole', `${clusterRelease}-rollguard-tokenreview`]);
    expect(tokenRole.code).not.toBe(0);
  });

  it('reads Secrets only in the namespaces rbac.secretNamespaces names', async () => {
    const account = sa(clusterRelease);
    await upgradeClusterRelease(`rbac.secretNamespaces={${otherNs}}`);
    await expectRights(clusterNs, account, otherNs, union(workloadRights, secretRights));
    await expectRights(clusterNs, account, 'kube-system', union(workloadRights));
    expect(await can(clusterNs, account, 'get', 'secrets', ['-n', otherNs])).toBe('yes');
    expect(await can(clusterNs, account, 'list', 'secrets', ['-n', otherNs])).toBe('no');
    expect(await can(clusterNs, account, 'get', 'secrets', ['--all-namespaces'])).toBe('no');
    await helmOk(['upgrade', clusterRelease, chartDir, '-n', clusterNs, '--wait=hookOnly', '--reset-values']);
    expect(await can(clusterNs, account, 'get', 'secrets', ['-n', otherNs])).toBe('no');
  });

  it('confines the rights to the watched namespace with rbac.namespaced=true', async () => {
    const install = await helmOk([
      'install',
      namespacedRelease,
      chartDir,
      '-n',
      namespacedNs,
      '--wait=hookOnly',
      '--set',
      `rbac.namespaced=true,watchNamespace=${teamNs}`,
    ]);
    expect(install).toContain(`It watches the Deployments of namespace ${teamNs} only`);
    const account = sa(namespacedRelease);

    await expectRights(namespacedNs, account, teamNs, union(workloadRights, secretRights));
    await expectRights(namespacedNs, account, namespacedNs, union(selfRights));
    await expectRights(namespacedNs, account, otherNs, []);
    await expectRights(namespacedNs, account, 'kube-system', []);

    expect(await can(namespacedNs, account, 'patch', 'deployments.apps', ['-n', teamNs])).toBe('yes');
    expect(await can(namespacedNs, account, 'get', 'secrets', ['-n', teamNs])).toBe('yes');
    expect(await can(namespacedNs, account, 'update', 'leases.coordination.k8s.io', ['-n', namespacedNs])).toBe('yes');
    expect(await can(namespacedNs, account, 'patch', 'deployments.apps', ['-n', otherNs])).toBe('no');
    expect(await can(namespacedNs, account, 'list', 'deployments.apps', ['--all-namespaces'])).toBe('no');
    expect(await can(namespacedNs, account, 'get', 'secrets', ['-n', 'kube-system'])).toBe('no');
    expect(await can(namespacedNs, account, 'get', 'secrets', ['-n', namespacedNs])).toBe('no');

    const manifest = objectsIn(await helmOk(['get', 'manifest', namespacedRelease, '-n', namespacedNs]));
    expect(manifest.filter((obj) => obj.kind.startsWith('Cluster'))).toEqual([]);
    const deployment = await kubectlJson<DeploymentJson>(['-n', namespacedNs, 'get', 'deployment', account]);
    expect(deployment.spec.template.spec.containers[0]?.args).toContain(`--namespace=${teamNs}`);
    await kubectl(['-n', namespacedNs, 'rollout', 'status', `deployment/${account}`, '--timeout=90s']);
  });

  it('deploy/ installs the same controller with kubectl apply, and is what the chart renders', async () => {
    const deployDir = path.join(repoRoot, 'deploy');
    const [namespaceFile, crdFile, controllerFile] = await Promise.all(
      ['00-namespace.yaml', '10-crds.yaml', '20-rollguard.yaml'].map((f) => readFile(path.join(deployDir, f), 'utf8')),
    );
    for (const text of [namespaceFile, crdFile, controllerFile])
      expect(text).toMatch(/^# .*\n# Generated by `make deploy`/);

    // The same objects as `helm template` renders today (make deploy-check guards the exact text).
    const rendered = objectsIn(
      await helmOk(['template', 'rollguard', chartDir, '--namespace', 'rollguard-system', '--include-crds']),
    );
    const deployed = objectsIn([crdFile, controllerFile].join('\n---\n'));
    expect(deployed).toEqual(rendered);
    expect(
      deployed
        .filter((obj) => obj.kind === 'CustomResourceDefinition')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(crdNames);
    for (const crd of deployed.filter((obj) => obj.kind === 'CustomResourceDefinition')) {
      const source = parseYaml(
        await readFile(
          path.join(repoRoot, 'crds', `rollguard.io_${crd.metadata.name.split('.')[0] ?? ''}.yaml`),
          'utf8',
        ),
      ) as unknown;
      expect(crd, `deploy/10-crds.yaml's ${crd.metadata.name} is crds/'s`).toEqual(source);
    }

    // The CRDs are installed already; a server-side dry run proves deploy/'s apply cleanly over them.
    await kubectl(['apply', '--server-side', '--dry-run=server', '-f', path.join(deployDir, '10-crds.yaml')]);

    const before = await kubectlResult(['get', 'namespace', 'rollguard-system', '-o', 'name']);
    expect(before.code, 'namespace rollguard-system exists before this test: something left it behind').not.toBe(0);
    deployApplied = true;
    await kubectl([
      'apply',
      '--server-side',
      '-f',
      path.join(deployDir, '00-namespace.yaml'),
      '-f',
      path.join(deployDir, '20-rollguard.yaml'),
    ]);
    await kubectl(['-n', 'rollguard-system', 'rollout', 'status', 'deployment/rollguard', '--timeout=90s']);
    await expectRights('rollguard-system', 'rollguard', otherNs, union(workloadRights));

    await kubectl([
      'delete',
      '--wait=true',
      '--timeout=120s',
      '-f',
      path.join(deployDir, '20-rollguard.yaml'),
      '-f',
      path.join(deployDir, '00-namespace.yaml'),
    ]);
    deployApplied = false;
  });

  it('helm uninstall removes every object it installed, and leaves the CRDs', async () => {
    const installed = [
      ...objectsIn(await helmOk(['get', 'manifest', clusterRelease, '-n', clusterNs])),
      ...objectsIn(await helmOk(['get', 'manifest', namespacedRelease, '-n', namespacedNs])),
    ];
    await helmOk(['uninstall', clusterRelease, '-n', clusterNs, '--wait']);
    await helmOk(['uninstall', namespacedRelease, '-n', namespacedNs, '--wait']);
    for (const obj of installed) {
      const where = obj.metadata.namespace ? ['-n', obj.metadata.namespace] : [];
      await waitFor(
        `${obj.kind}/${obj.metadata.name} to be gone`,
        async () => {
          const got = await kubectlResult(['get', `${typeOf(obj)}/${obj.metadata.name}`, ...where, '-o', 'name']);
          return got.code !== 0 && /NotFound|not found/.test(got.stderr) ? true : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    }
    const leftovers = await kubectl(['get', 'clusterroles,clusterrolebindings', '-o', 'name']);
    expect(leftovers).not.toContain(suffix);
    for (const crd of crdNames) await kubectl(['get', 'crd', crd, '-o', 'name']);
  });
  describe('the admission gate as a webhook, for Kubernetes 1.30-1.35', () => {
    const webhookRelease = `rgwh-${suffix}`;
    const gate = `${webhookRelease}-rollguard-gate`;
    let webhookNs = '';
    let operatorDir = '';
    let operator: RunningOperator | undefined;
    let installed = false;

    interface Webhook {
      failurePolicy: string;
      clientConfig: { caBundle?: string; service?: Record<string, unknown>; url?: string };
    }
    const webhookOf = (obj: K8sObject) => {
      const [webhook] = (obj as K8sObject & { webhooks: Webhook[] }).webhooks;
      if (!webhook) throw new Error(`${obj.metadata.name} has no webhook`);
      return webhook;
    };
    const liveWebhook = async () =>
      kubectlJson<
        K8sObject & {
          webhooks: Webhook[];
          metadata: { managedFields?: { manager: string; operation: string; fieldsV1: unknown }[] };
        }
      >(['get', 'mutatingwebhookconfiguration', gate, '--show-managed-fields']);

    beforeAll(async () => {
      webhookNs = await createNamespace('chart-gate');
      await kubectl(['label', 'namespace', webhookNs, 'pod-security.kubernetes.io/enforce=restricted']);
      operatorDir = await mkdtemp(path.join(os.tmpdir(), 'rollguard-chart-gate-'));
    });

    afterAll(async () => {
      await operator?.stop();
      // The webhook configuration is cluster-wide: never leave it behind for the other test files.
      if (installed) await helm(['uninstall', webhookRelease, '-n', webhookNs, '--wait']);
      if (webhookNs) await deleteNamespace(webhookNs);
      if (operatorDir) await rm(operatorDir, { recursive: true, force: true });
    });

    it('renders the webhook, its Service, the operator flags and its rights for 1.33, and the policy for 1.36', async () => {
      await helmOk(['lint', '--strict', chartDir, '--set', 'gate.enabled=true,gate.mode=webhook']);
      const render = async (...extra: string[]) =>
        objectsIn(await helmOk(['template', 'rg', chartDir, '-n', 'rgns', '--set', 'gate.enabled=true', ...extra]));
      const old = await render('--kube-version', '1.33.0');
      expect(old.filter((obj) => obj.kind.startsWith('MutatingAdmissionPolicy'))).toEqual([]);

      // The webhook configuration is the one the operator's TypeScript builds, pointing at the chart's Service,
      // without a caBundle (the operator fills it in), failing open by default.
      const configuration = only(old, 'MutatingWebhookConfiguration');
      expect(configuration.metadata.labels?.['app.kubernetes.io/instance']).toBe('rg');
      expect({ ...configuration, metadata: { name: configuration.metadata.name } }).toEqual(
        mutatingWebhookConfiguration({
          name: 'rg-rollguard-gate',
          operatorUsername: 'system:serviceaccount:rgns:rg-rollguard',
          service: { namespace: 'rgns', name: 'rg-rollguard-gate', port: 443 },
        }),
      );
      const webhook = webhookOf(configuration);
      expect(webhook.failurePolicy).toBe('Ignore');
      expect(webhook.clientConfig).toEqual({
        service: { namespace: 'rgns', name: 'rg-rollguard-gate', port: 443, path: '/gate' },
      });

      const service = old.find((obj) => obj.kind === 'Service' && obj.metadata.name === 'rg-rollguard-gate') as
        (K8sObject & { spec: { selector: Record<string, string>; ports: unknown[] } }) | undefined;
      const deployment = only(old, 'Deployment') as K8sObject &
        DeploymentJson & {
          spec: { template: { metadata: { labels: Record<string, string> } } };
        };
      expect(service?.spec.ports).toEqual([
        { name: 'https-webhook', port: 443, targetPort: 'webhook', protocol: 'TCP' },
      ]);
      expect(deployment.spec.template.metadata.labels).toMatchObject(service?.spec.selector ?? { missing: 'selector' });
      const [container] = deployment.spec.template.spec.containers;
      expect(container?.args.slice(-6)).toEqual([
        '--gate',
        '--gate-mode=webhook',
        '--gate-name=rg-rollguard-gate',
        '--webhook-address=:9443',
        '--webhook-service=rgns/rg-rollguard-gate:443',
        '--webhook-ca-bundle-only',
      ]);
      expect(container?.ports).toContainEqual(expect.objectContaining({ name: 'webhook', containerPort: 9443 }));
      expect(container?.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'http-metrics' });

      const ruleOf = (kind: string) =>
        (
          old.find((obj) => obj.kind === kind && obj.metadata.name === 'rg-rollguard-gate') as
            (K8sObject & { rules: unknown[] }) | undefined
        )?.rules;
      expect(ruleOf('ClusterRole')).toEqual([
        {
          apiGroups: ['admissionregistration.k8s.io'],
          resources: ['mutatingwebhookconfigurations'],
          resourceNames: ['rg-rollguard-gate'],
          verbs: ['patch'],
        },
      ]);
      expect(ruleOf('Role')).toEqual([
        { apiGroups: [''], resources: ['secrets'], resourceNames: ['rg-rollguard-gate-tls'], verbs: ['get', 'update'] },
        { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
      ]);
      expect(old.filter((obj) => obj.kind === 'NetworkPolicy')).toEqual([]);

      const failClosed = await render('--kube-version', '1.33.0', '--set', 'gate.failurePolicy=Fail');
      expect(webhookOf(only(failClosed, 'MutatingWebhookConfiguration')).failurePolicy).toBe('Fail');

      // With cert-manager: a Certificate for the Service's name, its CA injected; the operator only reads its Secret.
      const viaCertManager = await render('--kube-version', '1.33.0', '--set', 'gate.webhook.certManager.enabled=true');
      const injected = only(viaCertManager, 'MutatingWebhookConfiguration') as K8sObject & {
        metadata: { annotations?: Record<string, string> };
      };
      expect(injected.metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': 'rgns/rg-rollguard-gate' });
      expect(webhookOf(injected).clientConfig.caBundle).toBeUndefined();
      expect(only(viaCertManager, 'Certificate')).toMatchObject({
        metadata: { name: 'rg-rollguard-gate', namespace: 'rgns' },
        spec: {
          secretName: 'rg-rollguard-gate-tls',
          dnsNames: ['rg-rollguard-gate.rgns.svc'],
          issuerRef: { name: 'rg-rollguard-gate-selfsigned', kind: 'Issuer' },
        },
      });
      expect(only(viaCertManager, 'Issuer')).toMatchObject({ spec: { selfSigned: {} } });
      const certManagerArgs = (only(viaCertManager, 'Deployment') as K8sObject & DeploymentJson).spec.template.spec
        .containers[0]?.args;
      expect(certManagerArgs).toContain('--webhook-cert-from-secret');
      expect(certManagerArgs).not.toContain('--webhook-ca-bundle-only');
      expect(
        viaCertManager.filter((obj) => obj.kind === 'ClusterRole' && obj.metadata.name === 'rg-rollguard-gate'),
      ).toEqual([]);
      expect(
        (
          viaCertManager.find((obj) => obj.kind === 'Role' && obj.metadata.name === 'rg-rollguard-gate') as
            (K8sObject & { rules: unknown[] }) | undefined
        )?.rules,
      ).toEqual([
        { apiGroups: [''], resources: ['secrets'], resourceNames: ['rg-rollguard-gate-tls'], verbs: ['get'] },
      ]);
      const corporate = await render(
        '--kube-version',
        '1.33.0',
        '--set',
        'gate.webhook.certManager.enabled=true,gate.webhook.certManager.issuerRef.name=corp-ca,gate.webhook.certManager.issuerRef.kind=ClusterIssuer',
      );
      expect(corporate.filter((obj) => obj.kind === 'Issuer')).toEqual([]);
      expect(only(corporate, 'Certificate')).toMatchObject({
        spec: { issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer' } },
      });

      // 1.36 serves MutatingAdmissionPolicy: auto takes the policy, and nothing of the webhook is rendered.
      const current = await render('--kube-version', '1.36.0');
      expect(current.map((obj) => obj.kind).filter((kind) => kind.startsWith('Mutating'))).toEqual([
        'MutatingAdmissionPolicy',
        'MutatingAdmissionPolicyBinding',
      ]);
      expect(
        current.filter((obj) => obj.metadata.name === 'rg-rollguard-gate' && !obj.kind.startsWith('Mutating')),
      ).toEqual([]);
      const currentArgs = (only(current, 'Deployment') as K8sObject & DeploymentJson).spec.template.spec.containers[0]
        ?.args;
      expect(currentArgs?.filter((arg) => arg.startsWith('--gate') || arg.startsWith('--webhook'))).toEqual([]);
    });

    it('installs on the real API server with every object accepted, granting exactly the webhook rights', async () => {
      installed = true;
      await helmOk([
        'install',
        webhookRelease,
        chartDir,
        '-n',
        webhookNs,
        '--wait=hookOnly',
        '--set',
        'gate.enabled=true,gate.mode=webhook',
      ]);
      const manifest = objectsIn(await helmOk(['get', 'manifest', webhookRelease, '-n', webhookNs]));
      expect(manifest.map((obj) => `${obj.kind}/${obj.metadata.name}`)).toEqual(
        expect.arrayContaining([
          `MutatingWebhookConfiguration/${gate}`,
          `Service/${gate}`,
          `ClusterRole/${gate}`,
          `ClusterRoleBinding/${gate}`,
          `Role/${gate}`,
          `RoleBinding/${gate}`,
        ]),
      );
      for (const obj of manifest) {
        const where = obj.metadata.namespace ? ['-n', obj.metadata.namespace] : [];
        const got = await kubectlResult(['get', `${typeOf(obj)}/${obj.metadata.name}`, ...where, '-o', 'name']);
        expect(got.code, `${obj.kind}/${obj.metadata.name}: ${got.stderr}`).toBe(0);
      }
      const webhook = webhookOf(await liveWebhook());
      expect(webhook.clientConfig.service).toEqual({ namespace: webhookNs, name: gate, port: 443, path: '/gate' });
      expect(webhook.clientConfig.caBundle).toBeUndefined();
      await kubectl(['-n', webhookNs, 'rollout', 'status', `deployment/${webhookRelease}-rollguard`, '--timeout=90s']);

      const account = `${webhookRelease}-rollguard`;
      await expectRights(webhookNs, account, otherNs, union(workloadRights, gateWebhookRights(gate)));
      await expectRights(
        webhookNs,
        account,
        webhookNs,
        union(workloadRights, selfRights, gateWebhookRights(gate), gateSecretRights(gate)),
      );
      const named = async (verb: string, target: string, where: string[]) => {
        const result = await kubectlResult(['auth', 'can-i', verb, target, ...where, ...identity(webhookNs, account)]);
        return result.stdout.trim();
      };
      const mwc = 'mutatingwebhookconfigurations.admissionregistration.k8s.io';
      expect(await named('patch', `${mwc}/${gate}`, [])).toBe('yes');
      expect(await named('get', `secrets/${gate}-tls`, ['-n', webhookNs])).toBe('yes');
      expect(await named('update', `secrets/${gate}-tls`, ['-n', webhookNs])).toBe('yes');
      expect(await named('create', 'secrets', ['-n', webhookNs])).toBe('yes');
      for (const [verb, target, where] of [
        ['patch', `${mwc}/someone-elses-webhook`, []],
        ['update', `${mwc}/${gate}`, []],
        ['delete', `${mwc}/${gate}`, []],
        ['create', mwc, []],
        ['list', mwc, []],
        ['patch', `validatingwebhookconfigurations.admissionregistration.k8s.io/${gate}`, []],
        ['get', 'secrets/someone-elses-secret', ['-n', webhookNs]],
        ['list', 'secrets', ['-n', webhookNs]],
        ['delete', `secrets/${gate}-tls`, ['-n', webhookNs]],
        ['get', `secrets/${gate}-tls`, ['-n', otherNs]],
        ['create', 'secrets', ['-n', otherNs]],
      ] as [string, string, string[]][]) {
        expect(await named(verb, target, where), `${verb} ${target} ${where.join(' ')}`).toBe('no');
      }
    });

    it("runs with the chart's flags under its ServiceAccount: makes its certificate, fills in the caBundle only, Ready once it serves it", async () => {
      const account = `${webhookRelease}-rollguard`;
      const deployment = await kubectlJson<DeploymentJson>(['-n', webhookNs, 'get', 'deployment', account]);
      // The pods are simulated here: run the same flags locally, as that ServiceAccount (listening on loopback).
      const args = (deployment.spec.template.spec.containers[0]?.args ?? [])
        .filter((arg) => arg !== 'controller' && !arg.startsWith('--metrics-address='))
        .map((arg) =>
          arg.startsWith('--webhook-address=')
            ? '--webhook-address=127.0.0.1:0'
            : arg.replace('$(POD_NAMESPACE)', webhookNs),
        );
      expect(args).toContain(`--webhook-service=${webhookNs}/${gate}:443`);
      const token = (await kubectl(['-n', webhookNs, 'create', 'token', account, '--duration=1h'])).trim();
      const kubeconfig = await kubeconfigVia(
        inject('kubeconfig'),
        new URL(await apiServerOf(inject('kubeconfig'))).host,
        operatorDir,
        token,
      );
      // startOperator waits for /readyz: with the webhook gate, only after the webhook answered itself over TLS
      // verified against its CA under the Service's name.
      operator = await startOperator(args, { POD_NAMESPACE: webhookNs, POD_NAME: 'local' }, { kubeconfig });
      expect(operator.logs().join('\n')).toContain('gate webhook serving');

      const secret = await kubectlJson<{ type: string; data: Record<string, string> }>([
        '-n',
        webhookNs,
        'get',
        'secret',
        `${gate}-tls`,
      ]);
      expect(secret.type).toBe('kubernetes.io/tls');
      const decode = (key: string) => Buffer.from(secret.data[key] ?? '', 'base64').toString('utf8');
      const cert = new X509Certificate(decode('tls.crt'));
      expect(cert.checkHost(`${gate}.${webhookNs}.svc`)).toBe(`${gate}.${webhookNs}.svc`);
      expect(cert.verify(new X509Certificate(decode('ca.crt')).publicKey)).toBe(true);

      const live = await liveWebhook();
      expect(Buffer.from(webhookOf(live).clientConfig.caBundle ?? '', 'base64').toString('utf8')).toBe(
        decode('ca.crt'),
      );
      expect(webhookOf(live).clientConfig.service).toEqual({
        namespace: webhookNs,
        name: gate,
        port: 443,
        path: '/gate',
      });
      // The operator owns the caBundle and nothing else: Helm's next apply of the rest cannot conflict with it.
      const mine = (live.metadata.managedFields ?? []).filter((f) => f.manager === 'rollguard-gate');
      expect(mine.map((f) => f.operation)).toEqual(['Apply']);
      const owned = JSON.stringify(mine[0]?.fieldsV1);
      expect(owned).toContain('f:caBundle');
      for (const field of ['f:failurePolicy', 'f:service', 'f:rules', 'f:matchConditions', 'f:labels']) {
        expect(owned).not.toContain(field);
      }

      // helm upgrade (server-side apply in Helm 4) changes the failure policy without a conflict, and keeps the CA.
      await helmOk([
        'upgrade',
        webhookRelease,
        chartDir,
        '-n',
        webhookNs,
        '--wait=hookOnly',
        '--reuse-values',
        '--set',
        'gate.failurePolicy=Fail',
      ]);
      const upgraded = webhookOf(await liveWebhook());
      expect(upgraded.failurePolicy).toBe('Fail');
      expect(upgraded.clientConfig.caBundle).toBe(webhookOf(live).clientConfig.caBundle);
      expect((await fetch(`${operator.metricsUrl}/readyz`)).status).toBe(200);
    });

    it('helm uninstall removes the webhook configuration, its Service and its rights', async () => {
      await operator?.stop();
      operator = undefined;
      await helmOk(['uninstall', webhookRelease, '-n', webhookNs, '--wait']);
      installed = false;
      for (const target of [
        `mutatingwebhookconfiguration/${gate}`,
        `clusterrole/${gate}`,
        `clusterrolebinding/${gate}`,
      ]) {
        const got = await kubectlResult(['get', target, '-o', 'name']);
        expect(got.code, target).not.toBe(0);
      }
      for (const target of [`service/${gate}`, `role/${gate}`, `rolebinding/${gate}`]) {
        const got = await kubectlResult(['-n', webhookNs, 'get', target, '-o', 'name']);
        expect(got.code, target).not.toBe(0);
      }
    });
  });
});
