// `rollguard score -f - --no-cluster` on a text, as a user piping a manifest in would run it: the exit code and
// everything printed. The clock is fixed (Tuesday noon UTC) so time of day does not move the score.
import type { CommandIO } from '../../src/cli/output.js';
import { runScoreCommand } from '../../src/cli/score-command.js';

export async function scoreFromStdin(
  text: string,
  args: string[] = [],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  const io: CommandIO = {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
    now: () => new Date('2025-03-04T12:00:00Z'),
    readStdin: () => Promise.resolve(text),
  };
  const code = await runScoreCommand(['-f', '-', '--no-cluster', ...args], io);
  return { code, ...out };
}
