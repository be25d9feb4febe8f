// The metrics of a release from git's answers, without a repository: entropy, the main author, and every
// count on small hand-made releases whose right answers are easy to check by eye.
import { describe, expect, it } from 'vitest';
import { changeEntropy, computeChangeMetrics, countByAuthor, mainAuthor, type ChangeInput } from './compute.js';
import type { CommitInfo } from './messages.js';
import type { NumstatEntry } from './numstat.js';

describe('changeEntropy', () => {
  const cases: [string, number[], number][] = [
    ['no files', [], 0],
    ['one file', [120], 0],
    ['lines in one file, others only renamed', [0, 40, 0], 0],
    ['nothing modified at all', [0, 0], 0],
    ['two equal files: 1 bit', [10, 10], 1],
    ['four equal files: 2 bits', [5, 5, 5, 5], 2],
    ['eight equal files: 3 bits', [1, 1, 1, 1, 1, 1, 1, 1], 3],
    ['3:1 split', [30, 10], 0.8113],
    ['1:2:1', [1, 2, 1], 1.5],
    ['skewed', [98, 1, 1], 0.1614],
  ];
  it.each(cases)('%s', (_name, lines, expected) => {
    expect(changeEntropy(lines)).toBe(expected);
  });

  it('never exceeds log2 of the files', () => {
    const lines = [3, 7, 11, 2, 9, 40];
    expect(changeEntropy(lines)).toBeLessThanOrEqual(Math.log2(lines.length));
  });
});

const commit = (n: number, email: string, message: string, merge = false): CommitInfo => ({
  hash: n.toString(16).padStart(40, '0'),
  authorEmail: email,
  merge,
  message,
});

describe('mainAuthor', () => {
  const cases: [string, CommitInfo[], string | undefined][] = [
    ['no commits', [], undefined],
    ['one author', [commit(1, 'a@x', 'x')], 'a@x'],
    ['most commits wins', [commit(1, 'b@x', 'x'), commit(2, 'a@x', 'x'), commit(3, 'a@x', 'x')], 'a@x'],
    [
      'a tie goes to the newest (listed first)',
      [commit(1, 'b@x', 'x'), commit(2, 'a@x', 'x'), commit(3, 'a@x', 'x'), commit(4, 'b@x', 'x')],
      'b@x',
    ],
    [
      'merges do not count',
      [commit(1, 'maint@x', 'Merge', true), commit(2, 'maint@x', 'Merge', true), commit(3, 'dev@x', 'feat: x')],
      'dev@x',
    ],
    ['a range of merges only falls back to them', [commit(1, 'maint@x', 'Merge', true)], 'maint@x'],
  ];
  it.each(cases)('%s', (_name, commits, expected) => {
    expect(mainAuthor(commits)).toBe(expected);
  });
});

describe('countByAuthor', () => {
  it('counts lower-cased emails, ignoring blank lines', () => {
    expect(countByAuthor('a@x\nB@x\nA@X\n\nb@x\n')).toEqual(
      new Map([
        ['a@x', 2],
        ['b@x', 2],
      ]),
    );
    expect(countByAuthor('')).toEqual(new Map());
  });
});

describe('computeChangeMetrics', () => {
  const file = (path: string, added: number, deleted: number, extra: Partial<NumstatEntry> = {}): NumstatEntry => ({
    path,
    added,
    deleted,
    binary: false,
    ...extra,
  });
  const base: ChangeInput = {
    from: 'f'.repeat(40),
    to: 'e'.repeat(40),
    files: [file('src/a.ts', 10, 2)],
    commits: [commit(1, 'dev@x', 'feat: a')],
    priorCommits: new Map([['dev@x', 7]]),
  };

  it('describes a one-file feature', () => {
    expect(computeChangeMetrics(base)).toEqual({
      changeType: 'feature',
      filesChanged: 1,
      directoriesChanged: 1,
      subsystemsChanged: 1,
      linesAdded: 10,
      linesDeleted: 2,
      changeEntropy: 0,
      isFix: false,
      authors: 1,
      authorExperience: 7,
      dependenciesChanged: 0,
      commit: 'e'.repeat(40),
      from: 'f'.repeat(40),
      commits: 1,
      mainAuthor: 'dev@x',
    });
  });

  type Expected = Partial<ReturnType<typeof computeChangeMetrics>>;
  const cases: [string, Partial<ChangeInput>, Expected][] = [
    [
      'files over directories and subsystems',
      {
        files: [
          file('README.md', 1, 0),
          file('src/api/users.ts', 4, 4),
          file('src/api/orders.ts', 4, 4),
          file('src/ui/cart.tsx', 8, 0),
          file('test/api.test.ts', 8, 0),
        ],
      },
      {
        filesChanged: 5,
        directoriesChanged: 4,
        subsystemsChanged: 3,
        linesAdded: 25,
        linesDeleted: 8,
        changeEntropy: 2.1353,
      },
    ],
    [
      'a deeper subsystem',
      {
        files: [file('src/api/users.ts', 1, 0), file('src/api/orders.ts', 1, 0), file('src/ui/cart.tsx', 1, 0)],
        subsystemDepth: 2,
      },
      { filesChanged: 3, directoriesChanged: 2, subsystemsChanged: 2 },
    ],
    [
      'a rename is one file but touches the directory it left and the one it entered',
      { files: [file('lib/util.ts', 1, 1, { oldPath: 'src/util.ts' })] },
      { filesChanged: 1, directoriesChanged: 2, subsystemsChanged: 2, linesAdded: 1, linesDeleted: 1 },
    ],
    [
      'a binary file counts as a file with no lines',
      { files: [file('assets/logo.png', 0, 0, { binary: true }), file('src/a.ts', 3, 0)] },
      { filesChanged: 2, linesAdded: 3, linesDeleted: 0, changeEntropy: 0 },
    ],
    [
      'dependency files, a renamed manifest counted once',
      {
        files: [
          file('package.json', 2, 1),
          file('package-lock.json', 300, 200),
          file('web/package.json', 1, 1, { oldPath: 'frontend/package.json' }),
          file('src/a.ts', 1, 0),
        ],
      },
      { dependenciesChanged: 3, changeType: 'feature' },
    ],
    [
      'only dependency files: a dependency release',
      { files: [file('go.mod', 1, 1), file('go.sum', 4, 4)], commits: [commit(1, 'dev@x', 'Update stuff')] },
      { dependenciesChanged: 2, changeType: 'dependency' },
    ],
    [
      'only configuration: a config release',
      { files: [file('config/prod.yaml', 1, 1), file('.env.production', 1, 0)] },
      { changeType: 'config' },
    ],
    [
      'a fix among other commits',
      {
        commits: [
          commit(1, 'a@x', 'docs: notes'),
          commit(2, 'b@x', 'Handle empty carts\n\nFixes #12'),
          commit(3, 'a@x', 'test: more'),
        ],
        priorCommits: new Map([
          ['a@x', 40],
          ['b@x', 3],
        ]),
      },
      { isFix: true, changeType: 'bugfix', authors: 2, authorExperience: 40, mainAuthor: 'a@x', commits: 3 },
    ],
    [
      'a main author with no earlier commits',
      { commits: [commit(1, 'new@x', 'feat: first')], priorCommits: new Map([['old@x', 12]]) },
      { authorExperience: 0, mainAuthor: 'new@x' },
    ],
    [
      'merge commits count as commits but not as authors',
      {
        commits: [commit(1, 'maint@x', "Merge branch 'feature'", true), commit(2, 'dev@x', 'feat: x')],
        priorCommits: new Map([
          ['maint@x', 500],
          ['dev@x', 2],
        ]),
      },
      { authors: 1, authorExperience: 2, commits: 2, mainAuthor: 'dev@x' },
    ],
    [
      'a hotfix',
      { commits: [commit(1, 'dev@x', "Merge branch 'hotfix/2.0.1'", true), commit(2, 'dev@x', 'Stop double charges')] },
      { changeType: 'hotfix', isFix: true },
    ],
    [
      'no files changed (the range reverts itself)',
      { files: [] },
      { filesChanged: 0, directoriesChanged: 0, subsystemsChanged: 0, linesAdded: 0, changeEntropy: 0 },
    ],
  ];
  it.each(cases)('%s', (_name, overrides, expected) => {
    expect(computeChangeMetrics({ ...base, ...overrides })).toMatchObject(expected);
  });
});
