// `rollguard controller` stopping: SIGTERM ends it within the grace period with "rollguard controller
// stopped" as its last line, and nothing after it; without a reachable cluster it says why in one line and
// exits 2 instead of retrying forever.
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { shutdownGraceMs } from '../../src/cli/controller-command.js';
import { repoRoot } from '../harness/tools.js';
import { startOperator } from '../support/operator.js';

const message = (line: string) => (JSON.parse(line) as { msg?: string }).msg ?? '';

describe('rollguard controller stops cleanly', () => {
  it('stops within the grace period of SIGTERM and logs nothing after its last line', async () => {
    const operator = await startOperator();
    const before = operator.logs().length;
    const started = Date.now();
    await operator.stop();
    const took = Date.now() - started;
    expect(took).toBeLessThan(shutdownGraceMs + 2000);
    const after = operator
      .logs()
      .slice(before)
      .filter((l) => l.startsWith('{'))
      .map(message);
    // Lines written before the stop began (a reconcile of another test's leftovers, say) may come first.
    const stopping = after.indexOf('shutting down: finishing the rollouts in flight');
    expect(stopping).toBeGreaterThanOrEqual(0);
    expect(after.at(-1)).toBe('rollguard controller stopped');
    expect(after.slice(stopping)).not.toContain('reconciling');
  });

  it('without a reachable API server says which and why in one line, and exits 2', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rollguard-controller-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\nusers: [{name: alice, user: {token: t}}]\ncontexts: [{name: staging, context: {cluster: c, user: alice}}]\ncurrent-context: staging\n',
    );
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), 'controller', `--kubeconfig=${kubeconfig}`],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(output).toBe(
      'rollguard controller: cannot reach the API server at https://127.0.0.1:1: connection refused (nothing listens there) (context staging)\n',
    );
  });
});
