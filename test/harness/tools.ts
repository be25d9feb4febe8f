// Finds (building or unpacking on first use) the binaries the local cluster needs, through the two scripts in
// hack/ that own the pinned versions and the cache outside the repository.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface ToolPaths {
  /** kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, etcd, kwok, helm. */
  binDir: string;
  /** prometheus and promtool. */
  prometheusDir: string;
}

async function lastLineOf(script: string): Promise<string> {
  try {
    const { stdout } = await run(path.join(repoRoot, 'hack', script), [], {
      maxBuffer: 64 * 1024 * 1024,
      timeout: 60 * 60 * 1000,
    });
    const line = stdout.trim().split('\n').pop();
    if (!line) throw new Error(`hack/${script} printed no folder`);
    return line;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(
      `hack/${script} failed; the local cluster cannot start without its tools.\n${stderr.slice(-4000)}`,
      {
        cause: err,
      },
    );
  }
}

export async function ensureTools(): Promise<ToolPaths> {
  const [binDir, prometheusDir] = await Promise.all([
    lastLineOf('build-tools.sh'),
    lastLineOf('install-prometheus.sh'),
  ]);
  return { binDir, prometheusDir };
}
