// For the admission gate's tests: an operator identity of its own (the gate lets that identity's requests
// through, so it must not be the admin the tests act as), a Pod watch started before an apply, and removing
// the admission objects afterwards so later test files see a cluster without a gate.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { inject } from 'vitest';
import { parse, stringify } from 'yaml';
import { kubectl } from './kubectl.js';
import { waitFor } from './wait.js';

export interface OperatorIdentity {
  kubeconfig: string;
  username: string;
  cleanup(): Promise<void>;
}

/** A ServiceAccount bound to cluster-admin in `namespace`, and a kubeconfig in `dir` that acts as it. */
export async function operatorIdentity(namespace: string, dir: string): Promise<OperatorIdentity> {
  const name = 'rollguard';
  const binding = `${namespace}-rollguard-admin`;
  await kubectl(['-n', namespace, 'create', 'serviceaccount', name]);
  await kubectl([
    'create',
    'clusterrolebinding',
    binding,
    '--clusterrole=cluster-admin',
    `--serviceaccount=${namespace}:${name}`,
  ]);
  const token = (await kubectl(['-n', namespace, 'create', 'token', name, '--duration=2h'])).trim();
  const config = parse(await readFile(inject('kubeconfig'), 'utf8')) as { users: { user: Record<string, unknown> }[] };
  for (const u of config.users) u.user = { token };
  const kubeconfig = path.join(dir, 'operator-kubeconfig');
  await writeFile(kubeconfig, stringify(config), { mode: 0o600 });
  return {
    kubeconfig,
    username: `system:serviceaccount:${namespace}:${name}`,
    cleanup: async () => {
      await kubectl(['delete', 'clusterrolebinding', binding, '--ignore-not-found']);
    },
  };
}

/** Removes whatever gate objects an operator installed (named rollguard-gate). */
export async function removeGateObjects(): Promise<void> {
  await kubectl(['delete', 'mutatingadmissionpolicybinding', 'rollguard-gate', '--ignore-not-found']);
  await kubectl(['delete', 'mutatingadmissionpolicy', 'rollguard-gate', '--ignore-not-found']);
  await kubectl(['delete', 'mutatingwebhookconfiguration', 'rollguard-gate', '--ignore-not-found']);
  // The webhook's certificate, kept where the operator keeps its state (the kubeconfig's namespace here).
  await kubectl(['-n', 'default', 'delete', 'secret', 'rollguard-gate-tls', '--ignore-not-found']);
}

export interface PodWatch {
  /** Every Pod the watch saw, by name, with its image and pod-template-hash. */
  seen(): Map<string, { image: string; hash: string }>;
  /** Pods seen running the image. */
  withImage(image: string): string[];
  stop(): Promise<void>;
}

/**
 * `kubectl get pods -w` on the Deployment's Pods, started before the apply it watches: every Pod created
 * from then on is seen, however briefly it lived.
 */
export async function watchPods(namespace: string, app: string): Promise<PodWatch> {
  const seen = new Map<string, { image: string; hash: string }>();
  const child: ChildProcess = spawn(
    path.join(inject('binDir'), 'kubectl'),
    [
      `--kubeconfig=${inject('kubeconfig')}`,
      '-n',
      namespace,
      'get',
      'pods',
      '-l',
      `app=${app}`,
      '--watch',
      '--no-headers',
      '-o',
      'custom-columns=NAME:.metadata.name,IMAGE:.spec.containers[0].image,HASH:.metadata.labels.pod-template-hash',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const line of lines) {
      const [name, image, hash] = line.trim().split(/\s+/);
      if (name && image) seen.set(name, { image, hash: hash ?? '' });
    }
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  // The watch is established once kubectl has listed the Pods already running (the callers have some).
  await waitFor('kubectl get pods --watch to list the running Pods', () =>
    Promise.resolve(seen.size > 0 ? true : undefined),
  );
  return {
    seen: () => new Map(seen),
    withImage: (image) => [...seen].filter(([, p]) => p.image === image).map(([name]) => name),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
