// `rollguard change-metrics` against a real git repository built here: two authors over several directories,
// a feature, a bug fix, a dependency bump, a rename, a binary file, a hotfix branch merged by a third person,
// configuration-only and dependency-only releases, and paths git has to quote. Every number is worked out by
// hand below, and every annotation printed must parse through the operator's own parser with no warning.
// It needs no cluster, only git, so it does not use the harness's cluster at all.
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseChangeDescription } from '../../src/assess/change-description.js';
import { runChangeMetricsCommand } from '../../src/changes/cli.js';
import type { ChangeMetrics } from '../../src/changes/release.js';

const run = promisify(execFile);

interface Person {
  name: string;
  email: string;
}
const alice: Person = { name: 'Alice Dev', email: 'alice@example.com' };
const bob: Person = { name: 'Bob Ops', email: 'Bob@Example.com' };
const carol: Person = { name: 'Carol Maintainer', email: 'carol@example.com' };

let repo = '';
/** An empty directory that is not a repository. */
let outside = '';
let clock = 0;
const hashes: Record<string, string> = {};

/** git in the test repository, isolated from the machine's own git configuration. */
async function git(args: string[], who: Person = alice): Promise<string> {
  clock += 1;
  // Commit dates one hour apart, so git log's order (newest first) is fixed and the main-author tie-break is too.
  const date = new Date(Date.UTC(2024, 0, 1, clock)).toISOString();
  const { stdout } = await run(
    'git',
    ['-c', `user.name=${who.name}`, '-c', `user.email=${who.email}`, '-c', 'commit.gpgsign=false', ...args],
    {
      cwd: repo,
      env: {
        ...process.env,
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_DATE: date,
      },
    },
  );
  return stdout;
}

async function write(file: string, content: string | Buffer): Promise<void> {
  await mkdir(path.dirname(path.join(repo, file)), { recursive: true });
  await writeFile(path.join(repo, file), content);
}

const lines = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix} ${i + 1}`).join('\n') + '\n';

async function commit(who: Person, message: string, tag?: string): Promise<void> {
  await git(['add', '-A']);
  await git(['commit', '-q', '-m', message], who);
  if (tag !== undefined) {
    await git(['tag', tag]);
    hashes[tag] = (await git(['rev-parse', 'HEAD'])).trim();
  }
}

function packageJson(leftPad: string): string {
  return `{\n  "name": "shop",\n  "version": "1.0.0",\n  "dependencies": { "left-pad": "${leftPad}" },\n  "private": true\n}\n`;
}

beforeAll(async () => {
  repo = await mkdtemp(path.join(tmpdir(), 'rollguard-change-metrics-'));
  outside = await mkdtemp(path.join(tmpdir(), 'rollguard-not-a-repo-'));
  await git(['init', '-q', '-b', 'main']);

  // Before v1.0: alice 2 commits, bob 1.
  await write('README.md', lines('readme', 3));
  await write('src/api/server.ts', lines('server', 10));
  await write('src/api/routes.ts', lines('route', 10));
  await write('src/ui/app.ts', lines('app', 10));
  await write('package.json', packageJson('1.0.0'));
  await write('docs/guide.md', lines('guide', 4));
  await commit(alice, 'Initial commit');
  await write('src/api/health.ts', lines('health', 6));
  await commit(alice, 'feat: add health endpoint');
  await write('docs/guide.md', lines('guide', 6));
  await commit(bob, 'docs: guide', 'v1.0');

  // v1.0..v1.1: bob 3 commits, alice 2.
  await write(
    'src/ui/app.ts',
    ['changed 1', ...lines('app', 10).trimEnd().split('\n').slice(1), 'x1', 'x2', 'x3', ''].join('\n'),
  );
  await write('src/ui/theme.ts', lines('theme', 8));
  await commit(bob, 'feat(ui): dark mode'); // src/ui/app.ts +4 -1, src/ui/theme.ts +8
  await write(
    'src/api/routes.ts',
    lines('route', 10).replace('route 3\n', 'fixed 3\n').replace('route 7\n', 'fixed 7\n'),
  );
  await commit(alice, 'Handle an empty cart\n\nFixes #12'); // src/api/routes.ts +2 -2
  await write('package.json', packageJson('1.1.0'));
  await commit(bob, 'chore(deps): bump left-pad from 1.0.0 to 1.1.0'); // package.json +1 -1
  await mkdir(path.join(repo, 'lib'));
  await git(['mv', 'src/api/health.ts', 'lib/health.ts']);
  await commit(bob, 'refactor: move the health check'); // a rename: 0 0
  await write('assets/logo.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x00, 0x01, 0x02, 0x00]));
  await commit(alice, 'Add logo', 'v1.1'); // binary: - -

  // v1.1..v1.1.1: a hotfix branch (alice) merged by carol, and a config change on main (bob) in between.
  await git(['checkout', '-q', '-b', 'hotfix/1.1.1', 'v1.1']);
  await write('src/api/server.ts', lines('server', 10).replace('server 5\n', 'charge once\n'));
  await commit(alice, 'Stop charging twice'); // src/api/server.ts +1 -1
  await git(['checkout', '-q', 'main']);
  await write('config/app.yaml', lines('pool', 3));
  await commit(bob, 'Raise the pool size'); // config/app.yaml +3
  await git(['merge', '-q', '--no-ff', '-m', "Merge branch 'hotfix/1.1.1'", 'hotfix/1.1.1'], carol);
  await git(['tag', 'v1.1.1']);
  hashes['v1.1.1'] = (await git(['rev-parse', 'HEAD'])).trim();

  // v1.1.1..v1.2: configuration only.
  await write('config/app.yaml', lines('pool', 3).replace('pool 2', 'pool 20'));
  await commit(bob, 'Tune the pool', 'v1.2');

  // v1.2..v1.3: dependency files only.
  await write('package.json', packageJson('1.2.0'));
  await write('package-lock.json', '{\n  "lockfileVersion": 3\n}\n');
  await commit(alice, 'Update left-pad', 'v1.3');

  // v1.3..v1.4: paths git has to quote (a tab) or may escape (non-ASCII).
  await write('docs/Ünïcode notes.md', lines('note', 2));
  await write('docs/tab\there.txt', lines('tab', 1));
  await commit(alice, 'Add notes', 'v1.4');
});

afterAll(async () => {
  if (repo !== '') await rm(repo, { recursive: true, force: true });
  if (outside !== '') await rm(outside, { recursive: true, force: true });
});

async function changeMetricsCli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runChangeMetricsCommand(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

async function metricsJson(from: string, to: string, extra: string[] = []): Promise<ChangeMetrics> {
  const result = await changeMetricsCli(['--repo', repo, '--from', from, '--to', to, '--json', ...extra]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as ChangeMetrics;
}

/** The annotations of the default output, as `grep -v '^#'` hands them to kubectl annotate. */
function annotationsOf(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .split('\n')
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const at = line.indexOf('=');
        return [line.slice(0, at), line.slice(at + 1)];
      }),
  );
}

describe('rollguard change-metrics on a real repository', () => {
  const releases: [string, string, string, Omit<ChangeMetrics, 'commit' | 'from'>][] = [
    [
      'a feature release with a fix, a bump, a rename and a binary file',
      'v1.0',
      'v1.1',
      {
        changeType: 'feature',
        filesChanged: 6, // app.ts, theme.ts, routes.ts, package.json, health.ts -> lib/health.ts (once), logo.png
        directoriesChanged: 5, // src/ui, src/api (routes, and the one the rename left), ., lib, assets
        subsystemsChanged: 4, // src, ., lib, assets
        linesAdded: 15, // 4 + 8 + 2 + 1
        linesDeleted: 4, // 1 + 2 + 1
        changeEntropy: 1.8474, // over 5, 8, 4 and 2 modified lines
        isFix: true, // "Fixes #12"
        authors: 2,
        authorExperience: 1, // bob has 3 of the 5 commits, and made 1 before v1.0
        dependenciesChanged: 1,
        commits: 5,
        mainAuthor: 'bob@example.com',
      },
    ],
    [
      'a merged hotfix branch and a config change',
      'v1.1',
      'v1.1.1',
      {
        changeType: 'hotfix', // the merge subject names the hotfix branch
        filesChanged: 2,
        directoriesChanged: 2,
        subsystemsChanged: 2,
        linesAdded: 4,
        linesDeleted: 1,
        changeEntropy: 0.971, // over 2 and 3
        isFix: true,
        authors: 2, // alice and bob; carol only merged
        authorExperience: 4, // a 1:1 tie goes to bob, whose commit is newer; bob had 4 commits in v1.1
        dependenciesChanged: 0,
        commits: 3,
        mainAuthor: 'bob@example.com',
      },
    ],
    [
      'configuration only',
      'v1.1.1',
      'v1.2',
      {
        changeType: 'config',
        filesChanged: 1,
        directoriesChanged: 1,
        subsystemsChanged: 1,
        linesAdded: 1,
        linesDeleted: 1,
        changeEntropy: 0,
        isFix: false,
        authors: 1,
        authorExperience: 5, // the merge does not count as bob's or anyone's commit
        dependenciesChanged: 0,
        commits: 1,
        mainAuthor: 'bob@example.com',
      },
    ],
    [
      'dependency files only',
      'v1.2',
      'v1.3',
      {
        changeType: 'dependency',
        filesChanged: 2,
        directoriesChanged: 1,
        subsystemsChanged: 1,
        linesAdded: 4, // package.json +1, package-lock.json +3
        linesDeleted: 1,
        changeEntropy: 0.971, // over 2 and 3
        isFix: false,
        authors: 1,
        authorExperience: 5, // initial commit, health endpoint, empty cart, logo, charging twice
        dependenciesChanged: 2,
        commits: 1,
        mainAuthor: 'alice@example.com',
      },
    ],
    [
      'paths git quotes',
      'v1.3',
      'v1.4',
      {
        changeType: 'feature',
        filesChanged: 2,
        directoriesChanged: 1,
        subsystemsChanged: 1,
        linesAdded: 3,
        linesDeleted: 0,
        changeEntropy: 0.9183, // over 2 and 1
        isFix: false,
        authors: 1,
        authorExperience: 6,
        dependenciesChanged: 0,
        commits: 1,
        mainAuthor: 'alice@example.com',
      },
    ],
  ];

  it.each(releases)('%s (%s..%s)', async (_name, from, to, expected) => {
    const metrics = await metricsJson(from, to);
    expect(metrics).toEqual({ ...expected, commit: hashes[to], from: hashes[from] });
  });

  it('groups deeper subsystems with --subsystem-depth', async () => {
    expect((await metricsJson('v1.0', 'v1.1', ['--subsystem-depth', '2'])).subsystemsChanged).toBe(5);
  });

  it('accepts commit hashes, HEAD~N and branch names as well as tags', async () => {
    const byHash = await metricsJson(hashes['v1.0'] ?? '', hashes['v1.1'] ?? '');
    const byTag = await metricsJson('v1.0', 'v1.1');
    expect(byHash).toEqual(byTag);
    expect((await metricsJson('HEAD~1', 'main')).commit).toBe(hashes['v1.4']);
  });

  it.each(releases)('prints annotations the operator parses with no warning: %s', async (_name, from, to) => {
    const metrics = await metricsJson(from, to);
    const result = await changeMetricsCli(['--repo', repo, '--from', from, '--to', to]);
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith('# rollguard change description of')).toBe(true);
    const annotations = annotationsOf(result.stdout);
    expect(Object.keys(annotations)).toHaveLength(12);
    const parsed = parseChangeDescription(annotations, undefined);
    expect(parsed.warnings).toEqual([]);
    expect(parsed.changeType).toBe(metrics.changeType);
    expect(parsed.commit).toBe(metrics.commit);
    expect(parsed.features).toEqual({
      change_type: ['feature', 'bugfix', 'hotfix', 'refactor', 'config', 'dependency'].indexOf(metrics.changeType),
      files_changed: metrics.filesChanged,
      directories_changed: metrics.directoriesChanged,
      subsystems_changed: metrics.subsystemsChanged,
      lines_added: metrics.linesAdded,
      lines_deleted: metrics.linesDeleted,
      change_entropy: metrics.changeEntropy,
      is_fix: metrics.isFix ? 1 : 0,
      authors: metrics.authors,
      author_experience: metrics.authorExperience,
      dependencies_changed: metrics.dependenciesChanged,
    });
  });

  it('prints a merge patch of the pod template whose annotations parse the same way', async () => {
    const result = await changeMetricsCli(['--repo', repo, '--from', 'v1.0', '--to', 'v1.1', '--format', 'patch']);
    expect(result.code).toBe(0);
    const patch = JSON.parse(result.stdout) as {
      spec: { template: { metadata: { annotations: Record<string, string> } } };
    };
    expect(Object.keys(patch)).toEqual(['spec']);
    const annotations = patch.spec.template.metadata.annotations;
    expect(Object.values(annotations).every((value) => typeof value === 'string')).toBe(true);
    expect(annotations).toMatchObject({
      'rollguard.io/files-changed': '6',
      'rollguard.io/lines-added': '15',
      'rollguard.io/change-entropy': '1.8474',
      'rollguard.io/is-fix': 'true',
      'rollguard.io/commit': hashes['v1.1'],
    });
    const parsed = parseChangeDescription(annotations, undefined);
    expect(parsed.warnings).toEqual([]);
    expect(parsed.features.files_changed).toBe(6);
  });

  it('takes --format json the same as --json', async () => {
    const a = await changeMetricsCli(['--repo', repo, '--from', 'v1.0', '--to', 'v1.1', '--format', 'json']);
    const b = await changeMetricsCli(['--repo', repo, '--from', 'v1.0', '--to', 'v1.1', '--json']);
    expect(a).toEqual(b);
  });

  const problems: [string, () => string[], RegExp][] = [
    ['not a git repository', () => ['--repo', outside, '--from', 'a', '--to', 'b'], /is not a git repository$/],
    ['a missing directory', () => ['--repo', path.join(repo, 'nope'), '--from', 'v1.0'], /nope: no such directory$/],
    [
      'an unknown revision',
      () => ['--repo', repo, '--from', 'v0.9', '--to', 'v1.1'],
      /--from v0\.9: no such commit in /,
    ],
    [
      'an unknown --to',
      () => ['--repo', repo, '--from', 'v1.0', '--to', 'no-such-branch'],
      /--to no-such-branch: no such commit in /,
    ],
    [
      'a tag that is not a commit',
      () => ['--repo', repo, '--from', 'v1.0^{tree}', '--to', 'v1.1'],
      /--from v1\.0\^\{tree\}: no such commit in /,
    ],
    ['from == to', () => ['--repo', repo, '--from', 'v1.1', '--to', 'v1.1'], /the range v1\.1\.\.v1\.1 is empty/],
    [
      'the same commit by two names',
      () => ['--repo', repo, '--from', 'v1.4', '--to', 'main'],
      /is empty: both are commit/,
    ],
    [
      'a reversed range',
      () => ['--repo', repo, '--from', 'v1.1', '--to', 'v1.0'],
      /has no commits: v1\.0 is already part of v1\.1/,
    ],
  ];
  it.each(problems)('says %s in one line on stderr, exit code 2', async (_name, argv, message) => {
    const result = await changeMetricsCli(argv());
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const stderrLines = result.stderr.trimEnd().split('\n');
    expect(stderrLines).toHaveLength(1);
    expect(stderrLines[0]).toMatch(/^rollguard change-metrics: /);
    expect(stderrLines[0]).toMatch(message);
  });
});
