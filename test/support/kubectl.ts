// The real kubectl, as a user would run it, against the cluster the integration run started.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { inject } from 'vitest';

export interface KubectlResult {
  stdout: string;
  stderr: string;
  code: number;
}

export async function kubectlResult(args: string[], stdin?: string): Promise<KubectlResult> {
  const kubectl = path.join(inject('binDir'), 'kubectl');
  return new Promise((resolve) => {
    const child = execFile(
      kubectl,
      [`--kubeconfig=${inject('kubeconfig')}`, ...args],
      { maxBuffer: 32 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ stdout, stderr, code });
      },
    );
    child.stdin?.end(stdin ?? '');
  });
}

/** Runs kubectl and returns stdout; throws with kubectl's own message when it fails. */
export async function kubectl(args: string[], stdin?: string): Promise<string> {
  const result = await kubectlResult(args, stdin);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr.trim()}`);
  return result.stdout;
}

export async function kubectlJson<T>(args: string[]): Promise<T> {
  return JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
}
