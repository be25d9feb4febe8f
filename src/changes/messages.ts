// What the commit messages of a release say: the commits themselves (parsed from `git log -z`), whether the
// release fixes something, and what kind of change each commit claims to be. Pure functions; the heuristics
// are explained where they are defined because they are guesses a person should be able to check.

import type { ChangeType } from '../assess/change-description.js';

export interface CommitInfo {
  readonly hash: string;
  /** Lower-cased author email, after the repository's .mailmap. */
  readonly authorEmail: string;
  /** More than one parent: a merge. */
  readonly merge: boolean;
  /** The raw message: subject, blank line, body. */
  readonly message: string;
}

export class LogFormatError extends Error {
  override name = 'LogFormatError';
}

/** The `git log` format the parser reads: fields split by US (0x1f); `-z` ends each commit with NUL. */
export const LOG_FORMAT = '%H%x1f%P%x1f%aE%x1f%B';

/** Parses `git log -z --format=${LOG_FORMAT}`. The message is the last field, so a US inside it is harmless. */
export function parseLog(text: string): CommitInfo[] {
  const commits: CommitInfo[] = [];
  for (const record of text.split('\0')) {
    // git separates records with NUL; a trailing newline may follow the last one.
    if (record.trim() === '') continue;
    const fields = record.replace(/^\n/, '').split('\x1f');
    if (fields.length < 4) throw new LogFormatError(`unexpected git log record: ${record.slice(0, 80)}`);
    const [hash = '', parents = '', email = ''] = fields;
    if (!/^[0-9a-f]{40,64}$/.test(hash)) throw new LogFormatError(`unexpected commit hash in git log: ${hash}`);
    commits.push({
      hash,
      authorEmail: email.trim().toLowerCase(),
      merge: parents.trim().split(/\s+/).filter(Boolean).length > 1,
      message: fields.slice(3).join('\x1f').trim(),
    });
  }
  return commits;
}

function subjectOf(message: string): string {
  return (message.split('\n', 1)[0] ?? '').trim();
}

/**
 * Conventional-commit header: `type(scope)!: description`. Scopes such as `deps` and `deps-dev` are what
 * Dependabot and Renovate write for dependency updates, whatever the type (`chore(deps)`, `build(deps)`,
 * `fix(deps)`).
 */
const conventional = /^(?<type>[a-z]+)(?:\((?<scope>[^)]*)\))?!?:\s/i;
const dependencyScopes = new Set(['deps', 'deps-dev', 'dev-deps', 'dependencies', 'dependency']);

function isDependencyUpdate(subject: string): boolean {
  const header = conventional.exec(subject);
  const scope = header?.groups?.scope?.trim().toLowerCase();
  if (scope !== undefined && dependencyScopes.has(scope)) return true;
  // Dependabot and Renovate without conventional commits: "Bump lodash from 4.17.20 to 4.17.21",
  // "Bump the npm group with 3 updates", "Update dependency express to v5", "Update module golang.org/x/net".
  return /^(?:bump|upgrade|update)\s+(?:\S+\s+from\s+\S+\s+to\s|the\s+\S+\s+group\b|dependency\s|dependencies\b|deps\b|module\s)/i.test(
    subject,
  );
}

/**
 * Fix detection, after Mockus and Votta as used by Kamei et al.: the words fix, bug, defect and patch (with
 * their inflections, plus bugfix and hotfix), word-bounded and case-insensitive, in the subject line; and, in
 * the whole message, an issue-closing reference such as "Fixes #12", "Resolves #34" or "Resolved ABC-56".
 * The body is searched only for such references because bodies quote release notes and history (a
 * Dependabot body lists the upstream "Bug Fixes"), which would flag nearly every release. Dependency
 * updates are not fixes here even when typed `fix(deps)`: the dependencies-changed metric already counts them.
 * Word boundaries keep "prefix", "debug" and "fixture" out; "fixup!" is an autosquash marker, not a fix.
 */
const fixWords = /\b(?:fix(?:e[sd]|ing)?|bug(?:s|fix(?:es)?)?|hotfix(?:e[sd])?|defects?|patch(?:e[sd])?)\b/i;
const fixReference = /\b(?:fix(?:e[sd])?|resolve[sd]?)\s*:?\s+(?:#\d+|[A-Z][A-Z0-9]+-\d+)\b/i;

export function isFixMessage(message: string): boolean {
  const subject = subjectOf(message);
  if (isDependencyUpdate(subject)) return false;
  return fixWords.test(subject) || fixReference.test(message);
}

/** "hotfix" anywhere in the subject, including a merged branch name such as `hotfix/1.4.2`. */
const hotfixWord = /\bhot-?fix(?:e[sd])?\b/i;

// A Map, not an object literal, so that a subject like "constructor: ..." finds nothing on the prototype.
const conventionalTypes = new Map<string, ChangeType>([
  ['feat', 'feature'],
  ['feature', 'feature'],
  ['fix', 'bugfix'],
  ['bugfix', 'bugfix'],
  ['hotfix', 'hotfix'],
  ['refactor', 'refactor'],
  ['perf', 'refactor'],
  ['deps', 'dependency'],
  ['config', 'config'],
  ['conf', 'config'],
  // chore, docs, test, ci, build, style, release and revert say nothing about the kind of change: neutral.
]);

/** Plain-language subjects without a conventional prefix, by their first word. */
const leadingVerb: [RegExp, ChangeType][] = [
  [/^(?:fix(?:e[sd]|ing)?|bugfix)\b/i, 'bugfix'],
  [/^refactor(?:s|ed|ing)?\b/i, 'refactor'],
  [/^(?:add(?:s|ed)?|implement(?:s|ed)?|introduce[sd]?|support(?:s|ed)?|allow(?:s|ed)?|enable[sd]?)\b/i, 'feature'],
];

/**
 * The kind of change one commit claims to be, or undefined when it does not say (a merge, "Update README",
 * `docs:`, `chore:`). Hotfix wins wherever the word appears in the subject; then dependency updates; then the
 * conventional-commit type; then the leading verb of a plain subject.
 */
export function classifyCommit(message: string): ChangeType | undefined {
  const subject = subjectOf(message);
  if (hotfixWord.test(subject)) return 'hotfix';
  if (isDependencyUpdate(subject)) return 'dependency';
  const header = conventional.exec(subject);
  if (header?.groups?.type !== undefined) return conventionalTypes.get(header.groups.type.toLowerCase());
  if (/^merge\b/i.test(subject)) return undefined;
  return leadingVerb.find(([pattern]) => pattern.test(subject))?.[1];
}

export interface ChangeTypeEvidence {
  /** Classification of each commit message in the range (undefined: the commit does not say). */
  readonly commitTypes: readonly (ChangeType | undefined)[];
  /** Whether any commit message looks like a fix. */
  readonly isFix: boolean;
  /** Every changed path. */
  readonly paths: readonly string[];
  /** How many of those are dependency manifests or lockfiles. */
  readonly dependencyFiles: number;
  /** How many of those are configuration files. */
  readonly configFiles: number;
}

/**
 * The best guess at the release's change type. The files are facts and the messages are claims, so: a hotfix
 * says so and wins (it was rushed, which is what matters for risk); then a release that touched only
 * dependency files is `dependency` and one that touched only configuration is `config`; then the commits'
 * own types, the broadest first (a release with any feature is a feature release; fixes beat refactors);
 * then `bugfix` when a message looks like a fix without saying its type; `feature` otherwise.
 */
export function guessChangeType(evidence: ChangeTypeEvidence): ChangeType {
  const types = new Set(evidence.commitTypes);
  if (types.has('hotfix')) return 'hotfix';
  const files = evidence.paths.length;
  if (files > 0 && evidence.dependencyFiles === files) return 'dependency';
  if (files > 0 && evidence.configFiles === files) return 'config';
  for (const type of ['feature', 'bugfix', 'refactor', 'dependency', 'config'] as const) {
    if (types.has(type)) return type;
  }
  return evidence.isFix ? 'bugfix' : 'feature';
}
