// The Kubernetes control plane as local processes: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler and kwok, on 127.0.0.1, in one directory. kwok plays the kubelet for Nodes carrying its
// annotation, so pods are bound by the real scheduler, reported Running and Ready, and rollouts complete.
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { httpsGet } from './https.js';
import { freePort } from './ports.js';
import { startProcess, startRestartable, type ManagedProcess, type RestartableProcess } from './processes.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);
const kwokStages = fileURLToPath(new URL('./kwok-stages.yaml', import.meta.url));

export interface ControlPlane {
  kubeconfig: string;
  server: string;
  /** Admin bearer token (group system:masters). */
  token: string;
  /** PEM of the API server's serving certificate chain, for clients that verify TLS. */
  caPem: string;
  processes: ManagedProcess[];
  /** Bearer tokens of the extra users asked for (each in system:masters), by name. */
  userTokens: Record<string, string>;
  /** The API server's audit log (JSON lines), when an audit policy was given. */
  auditLog?: string;
  /** etcd's client URL (its HTTP gateway takes compaction requests). */
  etcdUrl: string;
  /** etcd and kube-apiserver, to stop and start again on the same ports and data (the fault suite). */
  etcd: Restartable;
  apiserver: Restartable;
}

export interface Restartable {
  stop(): Promise<void>;
  /** Starts it again and resolves when it is healthy. */
  start(): Promise<void>;
}

export interface ControlPlaneOptions {
  nodes?: number;
  /** More kube-apiserver flags (e.g. shorter watch timeouts). */
  apiserverArgs?: string[];
  /** Extra users, each with its own token in system:masters, so the audit log tells their requests apart. */
  users?: string[];
  /** An audit policy (YAML); the log goes to `auditLog`. */
  auditPolicy?: string;
  /**
   * More flags for kube-controller-manager and kube-scheduler alike (e.g. a higher --kube-api-qps, so
   * thousands of pods are created and bound in minutes, not the quarter hour their default 20/s takes).
   */
  componentArgs?: string[];
}

export const kwokNodeAnnotation = 'kwok.x-k8s.io/node';

export async function startControlPlane(
  dir: string,
  binDir: string,
  options: ControlPlaneOptions = {},
): Promise<ControlPlane> {
  const logDir = path.join(dir, 'logs');
  await mkdir(logDir, { recursive: true });
  const bin = (name: string) => path.join(binDir, name);
  const processes: ManagedProcess[] = [];
  const failIfExited = () => {
    const dead = processes.find((p) => p.exited());
    if (dead) throw new Error(`${dead.name} exited during start-up; see ${dead.logFile}`);
  };

  try {
    // etcd
    const [etcdClient, etcdPeer] = [await freePort(), await freePort()];
    const etcd = startRestartable(
      'etcd',
      bin('etcd'),
      [
        `--data-dir=${path.join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
        '--unsafe-no-fsync=true',
        '--quota-backend-bytes=4294967296',
        '--log-level=warn',
      ],
      { logDir },
    );
    processes.push(etcd);
    const etcdHealthy = () =>
      waitFor('etcd to report healthy', async () => {
        failIfExited();
        const res = await fetch(`http://127.0.0.1:${etcdClient}/health`);
        const body = (await res.json()) as { health?: string };
        return body.health === 'true' ? true : undefined;
      });
    await etcdHealthy();

    // kube-apiserver: a static admin token in system:masters, a service-account key pair for tokens.
    const token = randomBytes(24).toString('hex');
    const userTokens = Object.fromEntries((options.users ?? []).map((u) => [u, randomBytes(24).toString('hex')]));
    const tokenLines = [
      `${token},rollguard-admin,rollguard-admin,"system:masters"`,
      ...Object.entries(userTokens).map(([user, t]) => `${t},${user},${user},"system:masters"`),
    ];
    await writeFile(path.join(dir, 'tokens.csv'), `${tokenLines.join('\n')}\n`, { mode: 0o600 });
    const auditLog = options.auditPolicy === undefined ? undefined : path.join(logDir, 'audit.jsonl');
    const auditArgs: string[] = [];
    if (options.auditPolicy !== undefined && auditLog !== undefined) {
      const policyFile = path.join(dir, 'audit-policy.yaml');
      await writeFile(policyFile, options.auditPolicy);
      auditArgs.push(
        `--audit-policy-file=${policyFile}`,
        `--audit-log-path=${auditLog}`,
        '--audit-log-format=json',
        '--audit-log-mode=blocking',
        '--audit-log-maxsize=0',
      );
    }
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const saPub = path.join(dir, 'sa.pub');
    const saKey = path.join(dir, 'sa.key');
    await writeFile(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    await writeFile(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const apiPort = await freePort();
    const certDir = path.join(dir, 'apiserver-certs');
    const apiserver = startRestartable(
      'kube-apiserver',
      bin('kube-apiserver'),
      [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${apiPort}`,
        `--cert-dir=${certDir}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--authorization-mode=RBAC',
        '--disable-admission-plugins=ServiceAccount,TaintNodesByCondition',
        `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
        `--service-account-key-file=${saPub}`,
        `--service-account-signing-key-file=${saKey}`,
        '--service-account-issuer=https://kubernetes.default.svc',
        '--allow-privileged=true',
        '--enable-priority-and-fairness=false',
        '--event-ttl=1h',
        ...auditArgs,
        ...(options.apiserverArgs ?? []),
      ],
      { logDir },
    );
    processes.push(apiserver);
    const server = `https://127.0.0.1:${apiPort}`;
    const caPem = await waitFor(
      "kube-apiserver's serving certificate",
      async () => {
        failIfExited();
        return await readFile(path.join(certDir, 'apiserver.crt'), 'utf8');
      },
      { timeoutMs: 120_000 },
    );
    const apiserverReady = () =>
      waitFor(
        'kube-apiserver to be ready',
        async () => {
          failIfExited();
          const ready = await httpsGet(`${server}/readyz`, { ca: caPem, token });
          if (ready.status !== 200) return undefined;
          const ns = await httpsGet(`${server}/api/v1/namespaces/default`, { ca: caPem, token });
          return ns.status === 200 ? true : undefined;
        },
        { timeoutMs: 180_000, intervalMs: 500 },
      );
    await apiserverReady();
    const restartable = (p: RestartableProcess, healthy: () => Promise<unknown>): Restartable => ({
      stop: () => p.stop(),
      start: async () => {
        p.start();
        await healthy();
      },
    });

    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(kubeconfig, kubeconfigYaml(server, caPem, token), { mode: 0o600 });

    // kube-controller-manager: the controllers that make Deployments roll out and clean up after them, and the
    // one that aggregates ClusterRoles (the chart adds rollguard's resources to view, edit and admin).
    processes.push(
      startProcess(
        'kube-controller-manager',
        bin('kube-controller-manager'),
        [
          ...(await componentArgs(kubeconfig, path.join(dir, 'kcm-certs'))),
          '--controllers=deployment-controller,replicaset-controller,garbage-collector-controller,namespace-controller,serviceaccount-controller,serviceaccount-token-controller,endpointslice-controller,clusterrole-aggregation-controller',
          `--service-account-private-key-file=${saKey}`,
          '--use-service-account-credentials=false',
          ...(options.componentArgs ?? []),
        ],
        { logDir },
      ),
    );
    processes.push(
      startProcess(
        'kube-scheduler',
        bin('kube-scheduler'),
        [...(await componentArgs(kubeconfig, path.join(dir, 'scheduler-certs'))), ...(options.componentArgs ?? [])],
        { logDir },
      ),
    );
    processes.push(
      startProcess(
        'kwok',
        bin('kwok'),
        [
          `--kubeconfig=${kubeconfig}`,
          '--manage-all-nodes=false',
          `--manage-nodes-with-annotation-selector=${kwokNodeAnnotation}=fake`,
          '--cidr=10.244.0.0/16',
          '--node-ip=10.0.1.1',
          `--server-address=127.0.0.1:${await freePort()}`,
          `--config=${kwokStages}`,
        ],
        { logDir },
      ),
    );

    await createNodes(bin('kubectl'), kubeconfig, options.nodes ?? 2);
    await waitFor(
      'kwok to mark the Nodes Ready',
      async () => {
        failIfExited();
        const { stdout } = await run(bin('kubectl'), [
          `--kubeconfig=${kubeconfig}`,
          'get',
          'nodes',
          '-o',
          'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
        ]);
        const states = stdout.trim().split('\n');
        return states.length === (options.nodes ?? 2) && states.every((s) => s === 'True') ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    return {
      kubeconfig,
      server,
      token,
      caPem,
      processes,
      userTokens,
      ...(auditLog === undefined ? {} : { auditLog }),
      etcdUrl: `http://127.0.0.1:${etcdClient}`,
      etcd: restartable(etcd, etcdHealthy),
      apiserver: restartable(apiserver, apiserverReady),
    };
  } catch (err) {
    await stopAll(processes);
    throw err;
  }
}

/** What kube-controller-manager and kube-scheduler share: admin credentials, one instance, loopback only. */
async function componentArgs(kubeconfig: string, certDir: string): Promise<string[]> {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    `--secure-port=${await freePort()}`,
    `--cert-dir=${certDir}`,
  ];
}

export async function stopAll(processes: ManagedProcess[]): Promise<void> {
  // Reverse order: the last started depends on the first.
  for (const p of [...processes].reverse()) await p.stop();
}

function kubeconfigYaml(server: string, caPem: string, token: string): string {
  const ca = Buffer.from(caPem).toString('base64');
  return `apiVersion: v1
kind: Config
clusters:
- name: rollguard-local
  cluster:
    server: ${server}
    certificate-authority-data: ${ca}
users:
- name: rollguard-admin
  user:
    token: ${token}
contexts:
- name: rollguard-local
  context:
    cluster: rollguard-local
    user: rollguard-admin
    namespace: default
current-context: rollguard-local
`;
}

async function createNodes(kubectl: string, kubeconfig: string, count: number): Promise<void> {
  const nodes = Array.from({ length: count }, (_, i) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: `kwok-node-${i}`,
      annotations: { [kwokNodeAnnotation]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': `kwok-node-${i}`,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        type: 'kwok',
      },
    },
    status: {
      allocatable: { cpu: '64', memory: '256Gi', pods: '500' },
      capacity: { cpu: '64', memory: '256Gi', pods: '500' },
    },
  }));
  const manifest = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: nodes });
  await new Promise<void>((resolve, reject) => {
    const child = execFile(kubectl, [`--kubeconfig=${kubeconfig}`, 'apply', '-f', '-'], (err, _stdout, stderr) => {
      if (err) reject(new Error(`creating kwok Nodes failed: ${stderr}`));
      else resolve();
    });
    child.stdin?.end(manifest);
  });
}
