// What the operator benchmarks share: kubectl against the bench's cluster, waiting for a condition, a
// percentile, and the CRDs installed the way users install them.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { LocalCluster } from '../test/harness/cluster.js';
import { repoRoot } from '../test/harness/tools.js';

const run = promisify(execFile);

export async function kubectl(cluster: LocalCluster, args: string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      path.join(cluster.tools.binDir, 'kubectl'),
      [`--kubeconfig=${cluster.kubeconfig}`, ...args],
      { maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(stdin ?? '');
  });
}

export async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? NaN;
}

/** crds/ applied with kubectl and waited for, as a user installs them. */
export async function installCrds(cluster: LocalCluster): Promise<void> {
  const kubectlBin = path.join(cluster.tools.binDir, 'kubectl');
  await run(kubectlBin, [
    `--kubeconfig=${cluster.kubeconfig}`,
    'apply',
    '--server-side',
    '-f',
    path.join(repoRoot, 'crds'),
  ]);
  await run(kubectlBin, [`--kubeconfig=${cluster.kubeconfig}`, 'wait', '--for=condition=Established', 'crd', '--all']);
}
