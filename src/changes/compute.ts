// The change description of a release, computed from what git said about it: the changed files (numstat of
// from..to), the commits (git log from..to) and how many commits each author had made before. Pure, so
// every metric is checked by table-driven tests without a repository; the git shell is release.ts.
// The metric names and definitions follow Kamei et al. 2013, "A large-scale empirical study of just-in-time
// quality assurance", so a release's description lines up with the public data the model learns from.

import type { ChangeType } from '../assess/change-description.js';
import { classifyCommit, guessChangeType, isFixMessage, type CommitInfo } from './messages.js';
import type { NumstatEntry } from './numstat.js';
import { directoryOf, isConfigFile, isDependencyFile, subsystemOf } from './paths.js';

export interface ChangeMetrics {
  changeType: ChangeType;
  /** nf: distinct files touched; a rename is one file, a binary file counts with 0 lines. */
  filesChanged: number;
  /** nd: distinct directories touched (a rename touches the directory it left and the one it entered). */
  directoriesChanged: number;
  /** ns: distinct subsystems (top-level directories, or the first --subsystem-depth components). */
  subsystemsChanged: number;
  /** la: lines added, absolute. */
  linesAdded: number;
  /** ld: lines deleted, absolute. */
  linesDeleted: number;
  /** Shannon entropy, in bits, of the modified lines' spread over files: 0 for one file, log2(n) at most. */
  changeEntropy: number;
  /** Whether any commit message in the range looks like a fix (see isFixMessage). */
  isFix: boolean;
  /** Distinct author emails of the range's non-merge commits. */
  authors: number;
  /** Commits the main author (most commits in the range) had made before `from`. */
  authorExperience: number;
  /** Dependency manifests and lockfiles changed. */
  dependenciesChanged: number;
  /** Full hash of `to`. */
  commit: string;
  /** Full hash of `from`. Context, not an annotation. */
  from: string;
  /** Commits in from..to, merges included. Context, not an annotation. */
  commits: number;
  /** Email of the main author. Context for the person running the command; never put on the cluster. */
  mainAuthor: string;
}

export interface ChangeInput {
  readonly from: string;
  readonly to: string;
  readonly files: readonly NumstatEntry[];
  /** Commits of from..to in git log order (newest first). */
  readonly commits: readonly CommitInfo[];
  /** Non-merge commits per lower-cased author email, among the commits reachable from `from`. */
  readonly priorCommits: ReadonlyMap<string, number>;
  /** Path components that make a subsystem; 1 (the top-level directory) by default. */
  readonly subsystemDepth?: number;
}

/** Entropy is printed on annotations; four decimals are far below what any model splits on. */
const ENTROPY_DECIMALS = 4;

/**
 * Shannon entropy in bits of how the modified lines (added + deleted) spread over the files: H = -Σ pᵢ log₂ pᵢ
 * with pᵢ the file's share of the lines. Files without modified lines (pure renames, binary files) carry no
 * share; 0 when at most one file has any.
 */
export function changeEntropy(modifiedLines: readonly number[]): number {
  const total = modifiedLines.reduce((sum, lines) => sum + lines, 0);
  if (total <= 0) return 0;
  let entropy = 0;
  for (const lines of modifiedLines) {
    if (lines <= 0) continue;
    const share = lines / total;
    entropy -= share * Math.log2(share);
  }
  const factor = 10 ** ENTROPY_DECIMALS;
  // Rounding also turns -0 and 1e-17 noise into a clean 0.
  return Math.round(entropy * factor) / factor + 0;
}

/**
 * Merge commits are left out of the author counts: their author merged the work but did not write it, and on
 * a busy repository the person pressing "merge" would otherwise be everyone's main author. A range of merges
 * only (rare: the merged commits were already in `from`) falls back to all its commits.
 */
function authoredCommits(commits: readonly CommitInfo[]): readonly CommitInfo[] {
  const authored = commits.filter((commit) => !commit.merge);
  return authored.length > 0 ? authored : commits;
}

/**
 * The author with the most commits in the range; a tie goes to the one whose latest commit is the newest
 * (git log lists newest first), which is deterministic and usually the person who finished the release.
 */
export function mainAuthor(commits: readonly CommitInfo[]): string | undefined {
  const counts = new Map<string, number>();
  for (const commit of authoredCommits(commits)) {
    counts.set(commit.authorEmail, (counts.get(commit.authorEmail) ?? 0) + 1);
  }
  let best: string | undefined;
  let bestCount = 0;
  // Map iteration follows first insertion, i.e. newest commit first: a strict > keeps the newest on a tie.
  for (const [email, count] of counts) {
    if (count > bestCount) {
      best = email;
      bestCount = count;
    }
  }
  return best;
}

/** Counts non-merge commits per lower-cased email from `git log --no-merges --format=%aE`. */
export function countByAuthor(emails: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of emails.split('\n')) {
    const email = line.trim().toLowerCase();
    if (email === '') continue;
    counts.set(email, (counts.get(email) ?? 0) + 1);
  }
  return counts;
}

export function computeChangeMetrics(input: ChangeInput): ChangeMetrics {
  const depth = input.subsystemDepth ?? 1;
  const paths = new Set<string>();
  const directories = new Set<string>();
  const subsystems = new Set<string>();
  const modified = new Map<string, number>();
  let linesAdded = 0;
  let linesDeleted = 0;
  for (const file of input.files) {
    paths.add(file.path);
    modified.set(file.path, (modified.get(file.path) ?? 0) + file.added + file.deleted);
    linesAdded += file.added;
    linesDeleted += file.deleted;
    for (const path of file.oldPath === undefined ? [file.path] : [file.oldPath, file.path]) {
      directories.add(directoryOf(path));
      subsystems.add(subsystemOf(path, depth));
    }
  }
  // A renamed manifest is still the same manifest: look at either name, count the file once.
  const dependencyFiles = input.files.filter(
    (file) => isDependencyFile(file.path) || (file.oldPath !== undefined && isDependencyFile(file.oldPath)),
  ).length;
  const configFiles = input.files.filter((file) => isConfigFile(file.path)).length;

  const isFix = input.commits.some((commit) => isFixMessage(commit.message));
  const author = mainAuthor(input.commits);
  return {
    changeType: guessChangeType({
      commitTypes: input.commits.map((commit) => classifyCommit(commit.message)),
      isFix,
      paths: [...paths],
      dependencyFiles,
      configFiles,
    }),
    filesChanged: paths.size,
    directoriesChanged: directories.size,
    subsystemsChanged: subsystems.size,
    linesAdded,
    linesDeleted,
    changeEntropy: changeEntropy([...modified.values()]),
    isFix,
    authors: new Set(authoredCommits(input.commits).map((commit) => commit.authorEmail)).size,
    authorExperience: author === undefined ? 0 : (input.priorCommits.get(author) ?? 0),
    dependenciesChanged: dependencyFiles,
    commit: input.to,
    from: input.from,
    commits: input.commits.length,
    mainAuthor: author ?? '',
  };
}
