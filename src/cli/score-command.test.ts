// `rollguard score` without a cluster: reading manifests and policy files, exit codes by level and with
// --fail-on, and every usage problem as one line with exit code 2. Scoring itself is the controller's
// (scoreManifest); the same command against a real cluster is in test/integration/cli.test.ts.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { deploymentsIn } from './manifest-input.js';
import {
  exitCodeFor,
  highestLevel,
  missingBySource,
  parseObjects,
  PolicyFileError,
  policyFromObjects,
  runScoreCommand,
  scoreHelp,
  type ScoreReport,
} from './score-command.js';
import type { CommandIO } from './output.js';

const riskyAnnotations = {
  'rollguard.io/change-type': 'hotfix',
  'rollguard.io/files-changed': '140',
  'rollguard.io/directories-changed': '35',
  'rollguard.io/lines-added': '18000',
  'rollguard.io/lines-deleted': '6000',
  'rollguard.io/change-entropy': '6.5',
  'rollguard.io/test-coverage': '4',
  'rollguard.io/author-experience': '1',
  'rollguard.io/dependencies-changed': '6',
};
const safeAnnotations = {
  'rollguard.io/change-type': 'feature',
  'rollguard.io/files-changed': '2',
  'rollguard.io/lines-added': '30',
  'rollguard.io/lines-deleted': '4',
  'rollguard.io/test-coverage': '88',
  'rollguard.io/author-experience': '250',
};

function deployment(name: string, annotations: Record<string, string>, env: object[] = []) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'shop' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry.example/shop:1.0.0',
              env,
              readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
              resources: { limits: { memory: '128Mi' } },
            },
          ],
        },
      },
    },
  };
}

const noon = new Date('2025-03-04T12:00:00Z'); // a Tuesday

function capture(stdin?: string) {
  const out = { stdout: '', stderr: '' };
  const io: CommandIO = {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
    now: () => noon,
    ...(stdin !== undefined ? { readStdin: () => Promise.resolve(stdin) } : {}),
  };
  return { io, out };
}

let dir = '';
let risky = '';
let safe = '';
let both = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'rollguard-score-'));
  risky = path.join(dir, 'risky.json');
  safe = path.join(dir, 'safe.yaml');
  both = path.join(dir, 'both.yaml');
  await writeFile(risky, JSON.stringify(deployment('checkout', riskyAnnotations)));
  await writeFile(
    safe,
    `# a Service and the Deployment, as kustomize would print them
apiVersion: v1
kind: Service
metadata: {name: catalog}
spec: {ports: [{port: 80}]}
---
${JSON.stringify(deployment('catalog', safeAnnotations))}
`,
  );
  await writeFile(
    both,
    `apiVersion: v1
kind: List
items:
  - ${JSON.stringify(deployment('catalog', safeAnnotations))}
  - ${JSON.stringify(deployment('checkout', riskyAnnotations))}
`,
  );
});

describe('reading manifests', () => {
  it('reads YAML documents, JSON and Lists alike', () => {
    const objects = parseObjects(
      `kind: List\nitems: [{kind: A}, {kind: B}]\n---\n{"kind": "C"}\n---\n# only a comment\n`,
      'f.yaml',
    );
    expect(objects.map((o) => o.kind)).toEqual(['A', 'B', 'C']);
  });

  it('names the file and the line of a syntax error', () => {
    expect(() => parseObjects('a: 1\n---\nb: [\n', 'bad.yaml')).toThrow(/^bad\.yaml is not valid YAML or JSON: .*line/);
  });

  it('takes the apps/v1 Deployments and says what else the file held when there is none', () => {
    expect(deploymentsIn([deployment('a', {}), { apiVersion: 'v1', kind: 'Service' }], 'f')).toHaveLength(1);
    expect(() =>
      deploymentsIn([{ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' } }, { kind: 'ConfigMap' }], 'f'),
    ).toThrow('f holds no apps/v1 Deployment (found Service web, ConfigMap)');
    expect(() => deploymentsIn([{ apiVersion: 'apps/v1', kind: 'Deployment', spec: {} }], 'f')).toThrow(
      'f: Deployment is a patch',
    );
  });

  it('validates a policy file as the API server would and lists every bad field', () => {
    const ok = policyFromObjects([{ kind: 'DeploymentRiskPolicy', spec: { selector: {}, mode: 'advisory' } }], 'p');
    expect(ok.mode).toBe('advisory');
    expect(ok.thresholds.block).toBe(0.8);
    try {
      policyFromObjects(
        [
          {
            kind: 'DeploymentRiskPolicy',
            spec: { selector: {}, thresholds: { monitor: 0.7, rollbackReady: 0.5, block: 0.9 }, mode: 'loud' },
          },
        ],
        'p.yaml',
      );
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(PolicyFileError);
      const paths = (err as PolicyFileError).errors.map((e) => e.path);
      expect(paths).toEqual(expect.arrayContaining(['spec.thresholds', 'spec.mode']));
    }
    expect(() => policyFromObjects([{ kind: 'Deployment' }], 'p')).toThrow('p holds no DeploymentRiskPolicy');
  });
});

describe('exit codes', () => {
  it('follow the highest level: 0 safe and monitor, 10 rollback-ready, 20 block', () => {
    expect(exitCodeFor('safe')).toBe(0);
    expect(exitCodeFor('monitor')).toBe(0);
    expect(exitCodeFor('rollback-ready')).toBe(10);
    expect(exitCodeFor('block')).toBe(20);
    expect(highestLevel(['monitor', 'block', 'safe'])).toBe('block');
    expect(highestLevel([])).toBe('safe');
  });

  it('are 1 from the --fail-on level up and 0 below it', () => {
    expect(exitCodeFor('monitor', 'monitor')).toBe(1);
    expect(exitCodeFor('safe', 'monitor')).toBe(0);
    expect(exitCodeFor('block', 'rollback-ready')).toBe(1);
    expect(exitCodeFor('monitor', 'block')).toBe(0);
  });
});

describe('missingBySource', () => {
  it('groups missing features by where they would come from', () => {
    expect(missingBySource(['error_rate_before', 'images_changed', 'latency_p99_before'])).toEqual([
      'Prometheus: error_rate_before, latency_p99_before',
      'template diff: images_changed',
    ]);
  });
});

describe('runScoreCommand without a cluster', () => {
  it('--help documents the exit codes, --fail-on and examples', async () => {
    const { io, out } = capture();
    expect(await runScoreCommand(['--help'], io)).toBe(0);
    expect(out.stdout).toBe(scoreHelp);
    for (const text of ['20  block', '10  rollback-ready', '--fail-on LEVEL', 'Examples:', '--no-cluster']) {
      expect(out.stdout).toContain(text);
    }
  });

  it('blocks a sprawling untested hotfix with exit code 20 and says why', async () => {
    const { io, out } = capture();
    const code = await runScoreCommand(['-f', risky, '--no-cluster'], io);
    expect(code).toBe(20);
    expect(out.stdout).toMatch(/^shop\/checkout: score [\d.]+, level block\n/);
    expect(out.stdout).toMatch(/Reasons:\n {2}- /);
    expect(out.stdout).toContain('low test coverage (4 %)');
    expect(out.stdout).toContain('Missing features (');
    expect(out.stdout).toContain('Prometheus: error_rate_before, latency_p99_before');
    expect(out.stdout).toContain('--no-cluster: the Kubernetes API was not contacted');
    expect(out.stdout).toContain('exit 20: highest level block');
    expect(out.stderr).toBe('');
  });

  it('passes a small well-tested change with exit code 0', async () => {
    const { io, out } = capture();
    expect(await runScoreCommand(['-f', safe, '--no-cluster'], io)).toBe(0);
    expect(out.stdout).toMatch(/^shop\/catalog: score [\d.]+, level safe\n/);
  });

  it('scores every Deployment in a List, and the exit code follows the riskiest', async () => {
    const { io, out } = capture();
    expect(await runScoreCommand(['-f', both, '--no-cluster', '--json'], io)).toBe(20);
    const report = JSON.parse(out.stdout) as ScoreReport;
    expect(report.results.map((r) => [r.name, r.level])).toEqual([
      ['catalog', 'safe'],
      ['checkout', 'block'],
    ]);
    expect(report.level).toBe('block');
    expect(report.exitCode).toBe(20);
  });

  it('prints JSON with the whole assessment, missing features and notes', async () => {
    const { io, out } = capture();
    await runScoreCommand(['-f', risky, '--no-cluster', '--json'], io);
    const [result] = (JSON.parse(out.stdout) as ScoreReport).results;
    expect(result?.policy).toBe('(defaults)');
    expect(result?.scorer).toBe('model');
    expect(result?.features.lines_added).toBe(18000);
    expect(result?.features.hour_of_day).toBe(12);
    expect(result?.missingFeatures).toEqual(expect.arrayContaining(['error_rate_before', 'images_changed']));
    expect(result?.notes.some((n) => n.startsWith('no cluster:'))).toBe(true);
  });

  it('--fail-on turns the exit code into 1 from that level up', async () => {
    const risk = capture();
    expect(await runScoreCommand(['-f', risky, '--no-cluster', '--fail-on', 'rollback-ready'], risk.io)).toBe(1);
    expect(risk.out.stdout).toContain('exit 1: at or above --fail-on rollback-ready');
    const fine = capture();
    expect(await runScoreCommand(['-f', safe, '--no-cluster', '--fail-on', 'monitor'], fine.io)).toBe(0);
  });

  it('applies the thresholds and rules of a --policy file', async () => {
    const policy = path.join(dir, 'lenient.yaml');
    await writeFile(
      policy,
      'apiVersion: rollguard.io/v1alpha1\nkind: DeploymentRiskPolicy\nmetadata: {name: lenient}\nspec:\n  selector: {}\n  mode: advisory\n  thresholds: {monitor: 0.97, rollbackReady: 0.98, block: 0.99}\n',
    );
    const { io, out } = capture();
    expect(await runScoreCommand(['-f', risky, '--no-cluster', '--policy', policy, '--json'], io)).toBe(0);
    const [result] = (JSON.parse(out.stdout) as ScoreReport).results;
    expect(result?.policy).toBe('(file)');
    expect(result?.mode).toBe('advisory');
  });

  it('reads the manifest from standard input with -f -', async () => {
    const { io, out } = capture(JSON.stringify(deployment('catalog', safeAnnotations)));
    expect(await runScoreCommand(['-f', '-', '--no-cluster'], io)).toBe(0);
    expect(out.stdout).toContain('shop/catalog');
  });

  it('lists each invalid field of a --policy file under one error line, exit code 2', async () => {
    const policy = path.join(dir, 'bad-policy.yaml');
    await writeFile(
      policy,
      'kind: DeploymentRiskPolicy\nspec:\n  selector: {}\n  thresholds: {monitor: 0.7, rollbackReady: 0.5, block: 0.9}\n  verification: {interval: 5x}\n',
    );
    const { io, out } = capture();
    expect(await runScoreCommand(['-f', safe, '--no-cluster', '--policy', policy], io)).toBe(2);
    const lines = out.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(`rollguard score: ${policy} is not a valid DeploymentRiskPolicy: 2 problems`);
    expect(lines.slice(1).map((l) => l.split(':')[0]?.trim())).toEqual([
      'spec.thresholds',
      'spec.verification.interval',
    ]);
    expect(out.stdout).toBe('');
  });

  const usage: [string, string[], string][] = [
    ['no manifest', ['--no-cluster'], 'name the manifest to score with -f FILE'],
    ['a positional argument', ['deploy.yaml'], 'unexpected argument "deploy.yaml": name the manifest with -f FILE'],
    ['an unknown option', ['-f', 'x', '--frobnicate'], "Unknown option '--frobnicate'"],
    [
      'a bad --fail-on',
      ['-f', 'x', '--fail-on', 'high'],
      '--fail-on must be monitor, rollback-ready or block, not "high"',
    ],
    [
      '--fail-on safe',
      ['-f', 'x', '--fail-on', 'safe'],
      '--fail-on must be monitor, rollback-ready or block, not "safe"',
    ],
    [
      '--no-cluster with --kubeconfig',
      ['-f', 'x', '--no-cluster', '--kubeconfig', 'k'],
      '--no-cluster and --kubeconfig contradict each other',
    ],
    [
      'a missing file',
      ['-f', '/nonexistent/deploy.yaml', '--no-cluster'],
      'cannot read /nonexistent/deploy.yaml: ENOENT',
    ],
  ];
  it('fails with exit code 2 when --model-dir holds no model it can load', async () => {
    const { io, out } = capture();
    expect(await runScoreCommand(['-f', safe, '--no-cluster', '--model-dir', dir], io)).toBe(2);
    expect(out.stderr).toBe(
      `rollguard score: cannot load a model from --model-dir ${dir}; rollguard doctor --model-dir ${dir} says why\n`,
    );
  });

  it.each(usage)('reports %s in one line with exit code 2', async (_name, argv, message) => {
    const { io, out } = capture();
    expect(await runScoreCommand(argv, io)).toBe(2);
    expect(out.stderr).toContain(`rollguard score: ${message}`);
    expect(out.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(out.stdout).toBe('');
  });

  it('fails with exit code 2 when the cluster named by --kubeconfig cannot be loaded', async () => {
    const { io, out } = capture();
    expect(await runScoreCommand(['-f', safe, '--kubeconfig', path.join(dir, 'missing-kubeconfig')], io)).toBe(2);
    expect(out.stderr).toMatch(
      /^rollguard score: no kubeconfig at .*missing-kubeconfig \(--kubeconfig\): no such file\n$/,
    );
  });

  it('fails with exit code 2 when the cluster named by --kubeconfig cannot be reached', async () => {
    const kubeconfig = path.join(dir, 'refused-kubeconfig');
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    await writeFile(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:1", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    const { io, out } = capture();
    expect(await runScoreCommand(['-f', safe, '--kubeconfig', kubeconfig], io)).toBe(2);
    expect(out.stderr).toContain('cannot reach the API server at http://127.0.0.1:1');
    expect(out.stderr).toContain('pass --no-cluster to score without it');
  });
});

describe('rollguard score --at: the moment scored', () => {
  const run = async (args: string[], now: Date) => {
    const out = { stdout: '', stderr: '' };
    const io: CommandIO = { stdout: (t) => (out.stdout += t), stderr: (t) => (out.stderr += t), now: () => now };
    const code = await runScoreCommand(['-f', safe, '--no-cluster', ...args], io);
    return { code, ...out };
  };

  it('gives the same verdict whenever CI runs, and says which moment and time zone it scored', async () => {
    // Tuesday 18:55 and 19:05 UTC: out of hours starts at 19:00, so without --at the two runs differ.
    const before = await run(['--json'], new Date('2025-03-04T18:55:00Z'));
    const after = await run(['--json'], new Date('2025-03-04T19:05:00Z'));
    const score = (r: { stdout: string }) => (JSON.parse(r.stdout) as ScoreReport).results[0]?.score;
    expect(score(before)).not.toBe(score(after));
    const fixedBefore = await run(['--json', '--at', '2025-03-06T10:00:00+01:00'], new Date('2025-03-04T18:55:00Z'));
    const fixedAfter = await run(['--json', '--at', '2025-03-06T10:00:00+01:00'], new Date('2025-03-04T19:05:00Z'));
    expect(fixedBefore.stdout).toBe(fixedAfter.stdout);
    const result = (JSON.parse(fixedBefore.stdout) as ScoreReport).results[0];
    expect(result?.scoredAt).toBe('2025-03-06T09:00:00.000Z');
    expect(result?.timeZone).toBe('UTC');
    expect(result?.features.hour_of_day).toBe(9);
  });

  it('prints the moment in the text output too', async () => {
    const { stdout } = await run(['--at', '2025-03-07T17:30:00Z'], noon);
    expect(stdout).toContain(
      "scored as of 2025-03-07T17:30:00.000Z (Fri 2025-03-07 17:30 in UTC, the policy's time zone)",
    );
    expect(stdout).toContain('released late on a Friday');
  });

  it.each(['tomorrow', '2025-03-04', '2025-03-04T10:00:00', '2025-02-30T10:00:00Z', '2025-03-04T25:00:00Z'])(
    'refuses --at %j in one line, exit 2',
    async (at) => {
      const r = await run(['--at', at], noon);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `rollguard score: --at must be an RFC 3339 time with a zone, e.g. 2026-12-01T14:00:00Z or 2026-12-01T15:00:00+01:00, not "${at}"\n`,
      );
    },
  );

  it('explains in --help that time of day is a factor', () => {
    expect(scoreHelp).toContain('Time of day is a factor');
    expect(scoreHelp).toContain('--at TIME');
  });
});
