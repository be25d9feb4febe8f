// changeMetrics: asks git about a release (the commits in from..to) and computes its change description.
// The shell half of the folder: it checks the repository and the revisions, runs the three git commands the
// metrics need, and hands their output to the pure parsers and compute.ts.
//
// `git diff from to` is the truth for files and lines, so a merge-heavy history counts each line of the
// release once, as the release's own diff shows it; `git log from..to` gives the messages and authors of every
// commit the release brings, merges included.

import { computeChangeMetrics, countByAuthor, type ChangeMetrics } from './compute.js';
import { ChangeMetricsError, GitError, runGit, type GitRunner } from './git.js';
import { LOG_FORMAT, parseLog } from './messages.js';
import { parseNumstat } from './numstat.js';

export type { ChangeMetrics } from './compute.js';

export interface ChangeMetricsOptions {
  /** Path components that make a subsystem (1: the top-level directory). */
  readonly subsystemDepth?: number;
  /** Told about results that are computed but less exact than usual (a shallow clone). */
  readonly warn?: (message: string) => void;
  /** Runs git; the real executable by default. */
  readonly git?: GitRunner;
}

async function checkRepository(git: GitRunner, repo: string): Promise<void> {
  try {
    await git(repo, ['rev-parse', '--git-dir']);
  } catch (error) {
    if (error instanceof GitError) {
      if (/cannot change to/i.test(error.stderr)) throw new ChangeMetricsError(`${repo}: no such directory`);
      if (/not a git repository/i.test(error.stderr)) throw new ChangeMetricsError(`${repo} is not a git repository`);
    }
    throw error;
  }
}

async function resolveCommit(git: GitRunner, repo: string, flag: string, rev: string, shallow: boolean) {
  if (rev.trim() === '') throw new ChangeMetricsError(`${flag} is empty; give a commit, tag or branch`);
  try {
    // --end-of-options: a revision that starts with '-' is a (bad) revision, not an option to rev-parse.
    const out = await git(repo, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${rev}^{commit}`]);
    return out.trim();
  } catch (error) {
    if (!(error instanceof GitError) || error.exitCode !== 1) throw error;
    // The usual cause in CI: actions/checkout and friends fetch one commit unless told otherwise.
    const hint = shallow ? ' (this is a shallow clone: fetch more history, e.g. actions/checkout fetch-depth: 0)' : '';
    throw new ChangeMetricsError(`${flag} ${rev}: no such commit in ${repo}${hint}`);
  }
}

/**
 * The change description of the commits in from..to of the repository at `repo`. Throws ChangeMetricsError
 * for problems with the input (not a repository, unknown revision, empty range) and GitError when git fails
 * otherwise.
 */
export async function changeMetrics(
  repo: string,
  from: string,
  to: string,
  options: ChangeMetricsOptions = {},
): Promise<ChangeMetrics> {
  const git = options.git ?? runGit;
  const depth = options.subsystemDepth ?? 1;
  if (!Number.isInteger(depth) || depth < 1) throw new ChangeMetricsError('the subsystem depth must be 1 or more');
  await checkRepository(git, repo);
  const shallow = (await git(repo, ['rev-parse', '--is-shallow-repository'])).trim() === 'true';
  const fromHash = await resolveCommit(git, repo, '--from', from, shallow);
  const toHash = await resolveCommit(git, repo, '--to', to, shallow);
  if (fromHash === toHash) {
    throw new ChangeMetricsError(
      `the range ${from}..${to} is empty: both are commit ${fromHash.slice(0, 12)}; --from is the release before`,
    );
  }

  const [numstat, log, prior] = await Promise.all([
    // --no-relative: a diff.relative setting would make paths relative to a subdirectory --repo points into.
    git(repo, [
      'diff',
      '--numstat',
      '--find-renames',
      '--no-color',
      '--no-ext-diff',
      '--no-textconv',
      '--no-relative',
      fromHash,
      toHash,
      '--',
    ]),
    // --no-show-signature: log.showSignature would put gpg output in front of the format.
    git(repo, ['log', '-z', '--no-show-signature', `--format=${LOG_FORMAT}`, `${fromHash}..${toHash}`, '--']),
    git(repo, ['log', '--no-merges', '--no-show-signature', '--format=%aE', fromHash, '--']),
  ]);
  const commits = parseLog(log);
  if (commits.length === 0) {
    throw new ChangeMetricsError(
      `the range ${from}..${to} has no commits: ${to} is already part of ${from} (are --from and --to swapped?)`,
    );
  }
  if (shallow) {
    options.warn?.('this is a shallow clone: author-experience counts only the commits fetched');
  }
  return computeChangeMetrics({
    from: fromHash,
    to: toHash,
    files: parseNumstat(numstat),
    commits,
    priorCommits: countByAuthor(prior),
    subsystemDepth: depth,
  });
}
