// `make demo`: the whole product in one command, on a local control plane with a real Prometheus. It installs
// the CRDs and a policy, runs the operator, and plays three releases of a shop's checkout service — a safe one
// that passes, a risky one that is paused and then approved, and a bad one that is rolled back — printing what
// a person would look at as it happens. Then it stops everything.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { startLocalCluster, type LocalCluster } from '../test/harness/cluster.js';
import { repoRoot } from '../test/harness/tools.js';

const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const ns = 'shop';

function say(title: string, detail?: string): void {
  console.log(`\n${bold(`▶ ${title}`)}`);
  if (detail) console.log(dim(detail));
}

async function kubectl(cluster: LocalCluster, args: string[], stdin?: string, quiet = false): Promise<string> {
  const out = await new Promise<string>((resolve, reject) => {
    const child = execFile(
      path.join(cluster.tools.binDir, 'kubectl'),
      [`--kubeconfig=${cluster.kubeconfig}`, ...args],
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl ${args.join(' ')} failed: ${stderr}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(stdin ?? '');
  });
  if (!quiet) {
    console.log(dim(`$ kubectl ${args.join(' ')}`));
    if (out.trim()) console.log(out.trimEnd());
  }
  return out;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`the demo timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

function checkout(version: string, annotations: Record<string, string>): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'checkout', namespace: ns, labels: { 'rollguard.io/enabled': 'true' } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'checkout' } },
      template: {
        metadata: { labels: { app: 'checkout' }, annotations },
        spec: {
          containers: [
            {
              name: 'checkout',
              image: `registry.example/shop/checkout:${version}`,
              readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
            },
          ],
        },
      },
    },
  });
}

async function assessment(
  cluster: LocalCluster,
  revision: number,
): Promise<{ status?: Record<string, unknown> } | undefined> {
  const out = await kubectl(
    cluster,
    ['-n', ns, 'get', 'rolloutassessment', `checkout-${revision}`, '-o', 'json'],
    undefined,
    true,
  ).catch(() => '');
  return out ? (JSON.parse(out) as { status?: Record<string, unknown> }) : undefined;
}

async function showDeployment(cluster: LocalCluster): Promise<void> {
  await kubectl(
    cluster,
    ['-n', ns, 'get', 'deployment', 'checkout', '-o', 'jsonpath={range .metadata.annotations}{end}'],
    undefined,
    true,
  );
  const out = await kubectl(cluster, ['-n', ns, 'get', 'deployment', 'checkout', '-o', 'json'], undefined, true);
  const d = JSON.parse(out) as { metadata: { annotations: Record<string, string> }; spec: { paused?: boolean } };
  console.log(dim('$ kubectl -n shop get deployment checkout -o yaml   # rollguard annotations'));
  for (const [k, v] of Object.entries(d.metadata.annotations)) {
    if (k.startsWith('rollguard.io/') || k === 'deployment.kubernetes.io/revision') console.log(`  ${k}: ${v}`);
  }
  console.log(`  spec.paused: ${String(d.spec.paused ?? false)}`);
}

async function showEvents(cluster: LocalCluster, reasons: string[]): Promise<void> {
  const out = await kubectl(
    cluster,
    ['-n', ns, 'get', 'events', '--field-selector', 'involvedObject.name=checkout', '-o', 'json'],
    undefined,
    true,
  );
  const events = (JSON.parse(out) as { items: { type: string; reason: string; message: string }[] }).items.filter((e) =>
    reasons.includes(e.reason),
  );
  console.log(dim('$ kubectl -n shop describe deployment checkout   # Events'));
  for (const e of events) console.log(`  ${e.type.padEnd(8)} ${e.reason.padEnd(18)} ${e.message}`);
}

const cluster = await startLocalCluster({
  log: (l) => {
    console.log(dim(`[local cluster] ${l}`));
  },
});
let operator: ChildProcess | undefined;
try {
  say(
    'A local Kubernetes control plane, a real Prometheus and a workload simulator are running',
    `kubeconfig: ${cluster.kubeconfig}\nPrometheus: ${cluster.prometheus.url}`,
  );
  await kubectl(cluster, ['get', 'nodes']);

  say('Install the CRDs, as a platform team would');
  await kubectl(cluster, ['apply', '--server-side', '-f', path.join(repoRoot, 'crds')]);
  await kubectl(cluster, ['wait', '--for=condition=Established', 'crd', '--all'], undefined, true);

  say(
    "The shop team's policy",
    'deploy/examples/policy.yaml with two demo changes: the local Prometheus, and 3-second verification intervals so the demo is short.',
  );
  await kubectl(cluster, ['create', 'namespace', ns]);
  const policy = {
    apiVersion: 'rollguard.io/v1alpha1',
    kind: 'DeploymentRiskPolicy',
    metadata: { name: 'default', namespace: ns },
    spec: {
      selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
      mode: 'enforce',
      prometheus: { address: cluster.prometheus.url },
      metrics: { rateWindow: '15s' },
      verification: { interval: '3s' },
      levels: {
        safe: { verificationWindow: '15s' },
        monitor: { verificationWindow: '15s' },
        rollbackReady: { verificationWindow: '20s' },
        block: { pause: true, verificationWindow: '20s' },
      },
    },
  };
  await kubectl(cluster, ['apply', '-f', '-'], JSON.stringify(policy));

  say('Run the operator', 'rollguard controller — the same command the Helm chart runs in the cluster.');
  operator = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(repoRoot, 'src/cli/main.ts'),
      'controller',
      `--kubeconfig=${cluster.kubeconfig}`,
      '--metrics-address=127.0.0.1:0',
      '--log-level=warn',
    ],
    { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] },
  );
  await new Promise((r) => setTimeout(r, 4000));

  // Release 1: safe.
  say(
    'Release 1.0.0: a small, well-tested feature',
    'CI describes the change on the pod template (rollguard change-metrics does this from git).',
  );
  await kubectl(
    cluster,
    ['apply', '-f', '-'],
    checkout('1.0.0', {
      'rollguard.io/change-type': 'feature',
      'rollguard.io/files-changed': '3',
      'rollguard.io/lines-added': '48',
      'rollguard.io/lines-deleted': '9',
      'rollguard.io/test-coverage': '87',
      'rollguard.io/author-experience': '140',
      'sim.rollguard.io/error-rate': '0.002',
      'sim.rollguard.io/latency-ms': '35',
    }),
  );
  await until('release 1.0.0 to be assessed', async () =>
    (await assessment(cluster, 1))?.status?.level ? true : undefined,
  );
  await showDeployment(cluster);
  say('rollguard verifies the new version on live metrics, then marks it verified');
  await until('release 1.0.0 to be verified', async () =>
    (await assessment(cluster, 1))?.status?.outcome === 'succeeded' ? true : undefined,
  );
  await kubectl(cluster, ['-n', ns, 'get', 'rolloutassessments']);

  // Release 2: risky, paused, approved.
  say(
    'Release 1.1.0: a sprawling, barely tested hotfix by a newcomer',
    'rollguard scores it before it spreads and pauses the rollout for approval.',
  );
  await kubectl(
    cluster,
    ['apply', '-f', '-'],
    checkout('1.1.0', {
      'rollguard.io/change-type': 'hotfix',
      'rollguard.io/files-changed': '96',
      'rollguard.io/directories-changed': '31',
      'rollguard.io/subsystems-changed': '8',
      'rollguard.io/lines-added': '12400',
      'rollguard.io/lines-deleted': '3100',
      'rollguard.io/change-entropy': '6.1',
      'rollguard.io/test-coverage': '6',
      'rollguard.io/author-experience': '2',
      'rollguard.io/dependencies-changed': '5',
      'sim.rollguard.io/error-rate': '0.002',
      'sim.rollguard.io/latency-ms': '35',
    }),
  );
  await until('release 1.1.0 to be paused', async () => {
    const out = await kubectl(
      cluster,
      ['-n', ns, 'get', 'deployment', 'checkout', '-o', 'jsonpath={.spec.paused}'],
      undefined,
      true,
    );
    return out === 'true' ? true : undefined;
  });
  await showDeployment(cluster);
  await showEvents(cluster, ['RolloutPaused']);
  say('The release manager reads the reasons and approves revision 2');
  await kubectl(cluster, ['-n', ns, 'annotate', 'deployment/checkout', 'rollguard.io/approve=2', '--overwrite']);
  await until('release 1.1.0 to resume', async () =>
    (await assessment(cluster, 2))?.status?.approval ? true : undefined,
  );
  await showEvents(cluster, ['RolloutPaused', 'RolloutApproved']);
  await until('release 1.1.0 to be verified', async () =>
    (await assessment(cluster, 2))?.status?.outcome === 'succeeded' ? true : undefined,
  );
  await kubectl(cluster, ['-n', ns, 'get', 'rolloutassessments']);

  // Release 3: bad, rolled back.
  say(
    'Release 1.2.0: looks harmless, but answers 25 % of requests with errors',
    'rollguard sees the new pods fail against the baseline and rolls back, as kubectl rollout undo would.',
  );
  await kubectl(
    cluster,
    ['apply', '-f', '-'],
    checkout('1.2.0', {
      'rollguard.io/change-type': 'feature',
      'rollguard.io/files-changed': '4',
      'rollguard.io/lines-added': '60',
      'rollguard.io/test-coverage': '80',
      'rollguard.io/author-experience': '90',
      'sim.rollguard.io/error-rate': '0.25',
      'sim.rollguard.io/latency-ms': '35',
    }),
  );
  await until('release 1.2.0 to be rolled back', async () =>
    (await assessment(cluster, 3))?.status?.outcome === 'rolled-back' ? true : undefined,
  );
  await showDeployment(cluster);
  await showEvents(cluster, ['RolledBack']);
  await kubectl(cluster, ['-n', ns, 'get', 'rolloutassessments']);
  const bad = await assessment(cluster, 3);
  const steps = (
    (bad?.status?.verification as { steps?: { metric: string; verdict: string; message?: string }[] } | undefined)
      ?.steps ?? []
  ).filter((s) => s.verdict === 'fail');
  console.log(dim('$ kubectl -n shop get rolloutassessment checkout-3 -o yaml   # the failing verification steps'));
  for (const s of steps) console.log(`  ${s.metric}: ${s.verdict}: ${s.message ?? ''}`);

  say(
    'Done',
    'Everything above is in the cluster: annotations, Events and RolloutAssessments. Stopping the operator and the local cluster.',
  );
} finally {
  operator?.kill('SIGTERM');
  await cluster.stop();
}
