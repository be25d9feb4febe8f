// The orchestration in changeMetrics with a scripted git: which commands run, and how git's failures become
// the one-line errors a person reads. The real git is exercised by test/integration/change-metrics.test.ts.
import { describe, expect, it } from 'vitest';
import { ChangeMetricsError, GitError, type GitRunner } from './git.js';
import { changeMetrics } from './release.js';

const FROM = '1'.repeat(40);
const TO = '2'.repeat(40);

interface Script {
  notRepo?: boolean;
  noDirectory?: boolean;
  shallow?: boolean;
  revs?: Record<string, string>;
  log?: string;
  numstat?: string;
  prior?: string;
}

/** A fake git that answers the commands changeMetrics runs, and records them. */
function scriptedGit(script: Script): { git: GitRunner; calls: string[][] } {
  const calls: string[][] = [];
  const fail = (args: readonly string[], stderr: string, code: number) =>
    new GitError(`git ${args[0] ?? ''} failed`, args, stderr, code);
  const git: GitRunner = (_repo, args) => {
    calls.push([...args]);
    const [command] = args;
    if (command === 'rev-parse' && args[1] === '--git-dir') {
      if (script.noDirectory === true)
        return Promise.reject(fail(args, "fatal: cannot change to '/x': No such file or directory", 128));
      if (script.notRepo === true)
        return Promise.reject(fail(args, 'fatal: not a git repository (or any of the parent directories): .git', 128));
      return Promise.resolve('.git\n');
    }
    if (command === 'rev-parse' && args[1] === '--is-shallow-repository') {
      return Promise.resolve(script.shallow === true ? 'true\n' : 'false\n');
    }
    if (command === 'rev-parse') {
      const rev = (args.at(-1) ?? '').replace(/\^\{commit\}$/, '');
      const hash = (script.revs ?? { old: FROM, new: TO })[rev];
      return hash === undefined ? Promise.reject(fail(args, '', 1)) : Promise.resolve(`${hash}\n`);
    }
    if (command === 'diff') return Promise.resolve(script.numstat ?? '3\t1\tsrc/a.ts\n');
    if (command === 'log' && args.includes('-z')) {
      return Promise.resolve(script.log ?? `${TO}\x1f${FROM}\x1fdev@x\x1ffeat: a\n\0`);
    }
    if (command === 'log') return Promise.resolve(script.prior ?? 'dev@x\ndev@x\nother@x\n');
    return Promise.reject(new Error(`unexpected git ${args.join(' ')}`));
  };
  return { git, calls };
}

describe('changeMetrics with a scripted git', () => {
  it('runs the diff of from..to with renames, the log of the range and the authors before from', async () => {
    const { git, calls } = scriptedGit({});
    const metrics = await changeMetrics('/repo', 'old', 'new', { git });
    expect(metrics).toMatchObject({ filesChanged: 1, linesAdded: 3, linesDeleted: 1, authorExperience: 2, commit: TO });
    expect(calls).toContainEqual(['rev-parse', '--verify', '--quiet', '--end-of-options', 'old^{commit}']);
    const diff = calls.find((args) => args[0] === 'diff') ?? [];
    expect(diff).toContain('--numstat');
    expect(diff).toContain('--find-renames');
    expect(diff.slice(-3)).toEqual([FROM, TO, '--']);
    expect(calls.find((args) => args[0] === 'log' && args.includes('-z'))).toContain(`${FROM}..${TO}`);
    expect(calls.find((args) => args[0] === 'log' && !args.includes('-z'))).toEqual(
      expect.arrayContaining(['--no-merges', '--format=%aE', FROM]),
    );
  });

  const failures: [string, Script, string, string, string][] = [
    ['not a repository', { notRepo: true }, 'old', 'new', '/repo is not a git repository'],
    ['no such directory', { noDirectory: true }, 'old', 'new', '/repo: no such directory'],
    ['an unknown --from', {}, 'v0.0.0', 'new', '--from v0.0.0: no such commit in /repo'],
    ['an unknown --to', {}, 'old', 'nope', '--to nope: no such commit in /repo'],
    [
      'an unknown revision in a shallow clone',
      { shallow: true },
      'v0.0.0',
      'new',
      '--from v0.0.0: no such commit in /repo (this is a shallow clone: fetch more history, e.g. actions/checkout fetch-depth: 0)',
    ],
    ['an empty --from', {}, ' ', 'new', '--from is empty; give a commit, tag or branch'],
    [
      'the same commit twice',
      { revs: { v1: TO, main: TO } },
      'v1',
      'main',
      'the range v1..main is empty: both are commit 222222222222; --from is the release before',
    ],
    [
      'a range with no commits',
      { log: '' },
      'old',
      'new',
      'the range old..new has no commits: new is already part of old (are --from and --to swapped?)',
    ],
  ];
  it.each(failures)('reports %s in one line', async (_name, script, from, to, message) => {
    const { git } = scriptedGit(script);
    const attempt = changeMetrics('/repo', from, to, { git });
    await expect(attempt).rejects.toThrow(ChangeMetricsError);
    await expect(attempt).rejects.toThrow(message);
  });

  it('passes other git failures through', async () => {
    const git: GitRunner = (_repo, args) =>
      Promise.reject(new GitError('git rev-parse failed: fatal: bad object', args, 'fatal: bad object', 128));
    await expect(changeMetrics('/repo', 'a', 'b', { git })).rejects.toThrow(GitError);
  });

  it('rejects a subsystem depth below 1', async () => {
    const { git } = scriptedGit({});
    await expect(changeMetrics('/repo', 'old', 'new', { git, subsystemDepth: 0 })).rejects.toThrow(
      'the subsystem depth must be 1 or more',
    );
  });

  it('warns that author-experience is partial in a shallow clone', async () => {
    const { git } = scriptedGit({ shallow: true });
    const warnings: string[] = [];
    await changeMetrics('/repo', 'old', 'new', { git, warn: (message) => warnings.push(message) });
    expect(warnings).toEqual(['this is a shallow clone: author-experience counts only the commits fetched']);
  });
});
