// The imperative shell around git: runs the `git` executable with execFile and turns its failures into
// errors a person can act on. We run git itself rather than a git library because git is the reference
// implementation (renames, .mailmap, shallow clones, every object format behave exactly as the user's own
// `git log` shows them) and it is always present where CI runs, which is where this command is meant to run.

import { execFile } from 'node:child_process';

/** A problem with the user's input (not a repository, unknown revision, empty range): exit code 2. */
export class ChangeMetricsError extends Error {
  override name = 'ChangeMetricsError';
}

/** git failed in a way we did not expect; carries its first line of stderr. */
export class GitError extends Error {
  override name = 'GitError';
  constructor(
    message: string,
    readonly args: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | undefined,
  ) {
    super(message);
  }
}

/** Runs git in a repository and resolves with its stdout; injectable so the orchestration can be tested. */
export type GitRunner = (repo: string, args: readonly string[]) => Promise<string>;

/** A release's numstat or a long history's author list can be tens of megabytes; execFile's default is 1 MiB. */
const MAX_OUTPUT_BYTES = 512 * 1024 * 1024;

function childEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Messages in English so the first line we report is the one people search for; never prompt in CI.
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    // Reading needs no index refresh; do not take the index lock another git in the same checkout may hold.
    GIT_OPTIONAL_LOCKS: '0',
  };
  // Inside a git hook these point at the hook's repository and would override `-C --repo`.
  delete env.GIT_DIR;
  delete env.GIT_WORK_TREE;
  delete env.GIT_INDEX_FILE;
  delete env.GIT_OBJECT_DIRECTORY;
  delete env.GIT_COMMON_DIR;
  return env;
}

export const runGit: GitRunner = (repo, args) =>
  new Promise((resolve, reject) => {
    // core.quotePath=false: non-ASCII paths come out as UTF-8, not octal escapes (numstat.ts reads both).
    const fullArgs = ['-C', repo, '-c', 'core.quotePath=false', ...args];
    execFile(
      'git',
      fullArgs,
      { encoding: 'utf8', maxBuffer: MAX_OUTPUT_BYTES, env: childEnvironment(), windowsHide: true },
      (error, stdout, stderr) => {
        if (error === null) {
          resolve(stdout);
          return;
        }
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(new ChangeMetricsError('git is not installed or not on PATH'));
          return;
        }
        const firstLine = stderr.split('\n').find((line) => line.trim() !== '') ?? error.message;
        const code = typeof error.code === 'number' ? error.code : undefined;
        reject(new GitError(`git ${args[0] ?? ''} failed: ${firstLine.trim()}`, args, stderr, code));
      },
    );
  });
