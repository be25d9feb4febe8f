// The Helm chart and the plain manifests in deploy/ installed on a real API server, driven by the real helm and
// kubectl the way a platform team runs them: every object is accepted (and pods admitted under the restricted Pod
// Security Standard), and the ServiceAccount is granted exactly the rights the controller needs, cluster-wide or
// confined to one namespace, with the rights options adding only theirs. The tests in this file build on each
// other, in order: the releases installed early are checked, upgraded and uninstalled later. Every
// cluster-scoped object they create is removed in afterAll. What the chart renders and refuses is
// chart-render.test.ts; the webhook gate is chart-gate.test.ts.
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { repoRoot } from '../harness/tools.js';
import { chartDir, crdNames, helmCli, objectsIn, typeOf, type DeploymentJson } from '../support/chart.js';
import {
  can,
  expectRights,
  secretRights,
  selfRights,
  tokenReviewRights,
  union,
  workloadRights,
} from '../support/chart-rights.js';
import { kubectl, kubectlJson, kubectlResult } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { waitFor } from '../support/wait.js';

describe('the rollguard Helm chart and deploy/ manifests, installed', () => {
  const suffix = randomBytes(3).toString('hex');
  // Cluster-wide release, namespaced release, and where each lives.
  const clusterRelease = `rg-${suffix}`;
  const namespacedRelease = `rgns-${suffix}`;
  let clusterNs = '';
  let namespacedNs = '';
  let teamNs = '';
  let otherNs = '';
  let deployApplied = false;

  const { helm, helmOk, removeHome } = helmCli();
  const sa = (release: string) => `${release}-rollguard`;

  beforeAll(async () => {
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
    await removeHome();
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
      // Passing verification intervals written together, at least every 30 s.
      '--quiet-write-period=30s',
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
});
