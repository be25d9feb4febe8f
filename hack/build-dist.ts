// `make dist`: what a user downloads. One self-contained linux-amd64 executable (Node 24's single executable
// applications: the program bundled by esbuild into one CommonJS file, blessed into a blob by the same Node
// that runs it, injected into a copy of that Node with postject), the krew plugin archive and manifest, the
// packaged Helm chart, and SHA256SUMS over all of them. The executable is the program the image runs
// (src/cli/main.ts, every command), with the model and the files it reads at run time as SEA assets.
//
// Node 24 has no `node --build-sea` (it came in Node 25), so this is the documented two-step way:
// `node --experimental-sea-config` then postject. Everything is pinned by package-lock.json: esbuild, postject,
// and the Node binary (the npm registry's `node` package).
//
//   tsx hack/build-dist.ts               build everything into dist/
//   tsx hack/build-dist.ts --no-chart    skip `helm package` (no helm at hand)
//   tsx hack/build-dist.ts --bundle-only only dist/sea/rollguard.cjs and worker-main.cjs: what the image runs
//                                        (the Dockerfile's build stage), no Node binary or helm needed;
//                                        with --readable not minified, for a CPU profile one can read
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { stringify } from 'yaml';

const root = path.resolve(import.meta.dirname, '..');
const dist = path.join(root, 'dist');
const work = path.join(dist, 'sea');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string };
const version = pkg.version;
const repo = 'rollguard/rollguard';
const executable = 'rollguard-linux-amd64';
const krewArchive = `kubectl-rollguard_v${version}_linux_amd64.tar.gz`;
// The fuse postject flips so the Node binary looks for its blob (the value Node documents for SEA).
const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

/** The files the program reads at run time, by the path it looks for them at (relative to the package root). */
const runtimeFiles: Record<string, string> = {
  'models/default/model.json': 'models/default/model.json',
  'models/default/meta.json': 'models/default/meta.json',
  'models/default/MODEL_CARD.md': 'models/default/MODEL_CARD.md',
  'data/jit/apachejit-small.csv': 'data/jit/apachejit-small.csv',
  'bin/worker-main.cjs': 'dist/sea/worker-main.cjs',
};

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function run(command: string, args: string[], options: { cwd?: string } = {}): void {
  execFileSync(command, args, { stdio: 'inherit', cwd: options.cwd ?? root });
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** Node 24 from the lockfile (node_modules/node), the one whose blob format the executable must match. */
function nodeBinary(): string {
  const node = path.join(root, 'node_modules', 'node', 'bin', 'node');
  if (!existsSync(node)) throw new Error(`${node} is missing: run make deps`);
  const v = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim();
  if (!v.startsWith('v24.')) throw new Error(`node_modules/node is ${v}, not Node 24`);
  return node;
}

function helmBinary(): string | undefined {
  const cached = path.join(os.homedir(), '.cache', 'rollguard', 'tools', 'bin', 'helm');
  if (existsSync(cached)) return cached;
  try {
    execFileSync('helm', ['version', '--short'], { stdio: 'ignore' });
    return 'helm';
  } catch {
    return undefined;
  }
}

const shippedBundleOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node24',
  minify: true,
  keepNames: true,
  legalComments: 'eof',
  sourcemap: false,
  logLevel: 'warning',
} as const;

/**
 * The program as one CommonJS file, `rollguard.cjs`, and the retraining thread's script beside it, in `into`.
 * Run with Node 24 as it is (tests do, under the name kubectl-rollguard), or blessed into the executable.
 */
export async function bundle(into: string = work, options: { readable?: boolean } = {}): Promise<void> {
  // Readable: not minified, so a CPU profile's lines point at code a person can find (bench-scale CPU_PROFILE).
  const bundleOptions = { ...shippedBundleOptions, minify: options.readable !== true };
  rmSync(into, { recursive: true, force: true });
  mkdirSync(into, { recursive: true });
  // The retraining thread's script first: it is one of the assets the main bundle lists.
  await build({
    ...bundleOptions,
    entryPoints: [path.join(root, 'src/learning/worker-main.ts')],
    // .cjs, as the bundle: a .js file is read as an ES module under any package.json with "type": "module"
    // (this repository's, when the bundle runs from dist/sea), and the thread then fails at its first require.
    outfile: path.join(into, 'worker-main.cjs'),
    define: { 'import.meta.url': 'globalThis.__rollguardModuleUrl' },
  });
  const digest = createHash('sha256');
  for (const [name, from] of Object.entries(runtimeFiles)) {
    // The worker's script was bundled into `into` just above; dist/sea may not exist yet (a fresh clone).
    const file = name === 'bin/worker-main.cjs' ? path.join(into, 'worker-main.cjs') : path.join(root, from);
    digest.update(name).update('\0').update(readFileSync(file));
  }
  const assets = { names: Object.keys(runtimeFiles), digest: digest.digest('hex').slice(0, 16) };
  await build({
    ...bundleOptions,
    entryPoints: [path.join(root, 'src/cli/sea-main.ts')],
    outfile: path.join(into, 'rollguard.cjs'),
    define: {
      'import.meta.url': 'globalThis.__rollguardModuleUrl',
      ROLLGUARD_VERSION: JSON.stringify(version),
      ROLLGUARD_SEA_ASSETS: JSON.stringify(assets),
    },
  });
}

function blessAndInject(node: string): string {
  const config = {
    main: path.join(work, 'rollguard.cjs'),
    output: path.join(work, 'sea-prep.blob'),
    disableExperimentalSEAWarning: true,
    // V8's code cache for the bundle, made by the same Node: start-up parses less.
    useCodeCache: true,
    assets: Object.fromEntries(Object.entries(runtimeFiles).map(([name, from]) => [name, path.join(root, from)])),
  };
  writeFileSync(path.join(work, 'sea-config.json'), `${JSON.stringify(config, null, 2)}\n`);
  run(node, ['--experimental-sea-config', path.join(work, 'sea-config.json')]);
  const out = path.join(dist, executable);
  rmSync(out, { force: true });
  copyFileSync(node, out);
  chmodSync(out, 0o755);
  // The npm registry's Node carries its debug information: 18 MiB nobody running rollguard needs. Stripped
  // before the blob goes in (stripping after would cut the blob out again).
  try {
    execFileSync('strip', [out], { stdio: 'inherit' });
  } catch {
    console.warn("strip (binutils) is not installed: the executable keeps Node's debug symbols (~18 MiB more)");
  }
  run(node, [
    path.join(root, 'node_modules', 'postject', 'dist', 'cli.js'),
    out,
    'NODE_SEA_BLOB',
    config.output,
    '--sentinel-fuse',
    seaFuse,
  ]);
  return out;
}

/** A tar.gz that is the same bytes for the same input: sorted, no times, no owners. */
function reproducibleTarGz(archive: string, dir: string, files: string[]): void {
  const tar = path.join(work, 'krew.tar');
  run('tar', [
    '--sort=name',
    '--mtime=@0',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-cf',
    tar,
    '-C',
    dir,
    ...files,
  ]);
  writeFileSync(archive, execFileSync('gzip', ['-n', '-9', '-c', tar], { maxBuffer: 1 << 30 }));
  rmSync(tar);
}

function krew(binary: string): void {
  const staging = path.join(work, 'krew');
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  copyFileSync(binary, path.join(staging, 'kubectl-rollguard'));
  chmodSync(path.join(staging, 'kubectl-rollguard'), 0o755);
  writeFileSync(
    path.join(staging, 'LICENSE'),
    'rollguard is licensed under the Apache License, Version 2.0: https://www.apache.org/licenses/LICENSE-2.0\n',
  );
  const archive = path.join(dist, krewArchive);
  reproducibleTarGz(archive, staging, ['LICENSE', 'kubectl-rollguard']);
  // https://krew.sigs.k8s.io/docs/developer-guide/plugin-manifest/
  const manifest = {
    apiVersion: 'krew.googlecontainertools.github.com/v1alpha2',
    kind: 'Plugin',
    metadata: { name: 'rollguard' },
    spec: {
      version: `v${version}`,
      homepage: `https://github.com/${repo}`,
      shortDescription: 'Approve, abort and follow risk-scored Deployment rollouts',
      description: [
        'rollguard scores every Deployment rollout for risk, pauses the risky ones, verifies the new version',
        'on live Prometheus metrics and rolls back when it degrades. This plugin acts on those rollouts:',
        '  kubectl rollguard status deploy/NAME -w     where it stands, followed live',
        '  kubectl rollguard approve deploy/NAME       let a paused rollout continue (records who)',
        '  kubectl rollguard abort deploy/NAME --reason "..."   roll back now',
        'plus score, history and explain. The rollguard operator must run in the cluster for approve and status',
        'to mean anything; see the homepage for the Helm chart.',
      ].join('\n'),
      caveats: [
        'Completion: source <(kubectl-rollguard completion bash), or zsh.',
        'For kubectl completion of "kubectl rollguard", see: kubectl rollguard completion --help',
      ].join('\n'),
      platforms: [
        {
          selector: { matchLabels: { os: 'linux', arch: 'amd64' } },
          uri: `https://github.com/${repo}/releases/download/v${version}/${krewArchive}`,
          sha256: sha256(archive),
          files: [
            { from: 'kubectl-rollguard', to: '.' },
            { from: 'LICENSE', to: '.' },
          ],
          bin: 'kubectl-rollguard',
        },
      ],
    },
  };
  writeFileSync(path.join(dist, 'rollguard.krew.yaml'), stringify(manifest, { lineWidth: 0 }));
}

function chart(): string | undefined {
  const helm = helmBinary();
  if (!helm) {
    throw new Error(
      'helm is not on PATH nor in ~/.cache/rollguard/tools/bin: run make tools, or pass --no-chart to skip the chart',
    );
  }
  run(helm, ['package', path.join(root, 'charts', 'rollguard'), '--destination', dist]);
  return path.join(dist, `rollguard-${version}.tgz`);
}

async function main(): Promise<void> {
  if (process.argv.includes('--bundle-only')) {
    await bundle(work, { readable: process.argv.includes('--readable') });
    console.log(`dist/sea/rollguard.cjs ${mib(statSync(path.join(work, 'rollguard.cjs')).size)}`);
    return;
  }
  const withChart = !process.argv.includes('--no-chart');
  const node = nodeBinary();
  mkdirSync(dist, { recursive: true });
  const started = performance.now();
  await bundle();
  const binary = blessAndInject(node);
  krew(binary);
  const packaged = withChart ? chart() : undefined;
  const artifacts = [executable, krewArchive, 'rollguard.krew.yaml', ...(packaged ? [path.basename(packaged)] : [])];
  writeFileSync(
    path.join(dist, 'SHA256SUMS'),
    artifacts.map((name) => `${sha256(path.join(dist, name))}  ${name}\n`).join(''),
  );
  console.log(`\ndist/ (${((performance.now() - started) / 1000).toFixed(1)} s):`);
  for (const name of [...artifacts, 'SHA256SUMS'])
    console.log(`  ${name.padEnd(44)} ${mib(statSync(path.join(dist, name)).size)}`);
  console.log(`  bundle dist/sea/rollguard.cjs ${mib(statSync(path.join(work, 'rollguard.cjs')).size)}`);
  startUp(binary);
}

/** Start-up of the executable as a user meets it: the median of 11 runs of --help and of --version. */
function startUp(binary: string): void {
  const env = { HOME: mkdtempSync(path.join(os.tmpdir(), 'rollguard-dist-home-')), PATH: '/usr/bin:/bin' };
  const median = (args: string[]) => {
    const times: number[] = [];
    for (let i = 0; i < 11; i++) {
      const t = performance.now();
      execFileSync(binary, args, { env, stdio: 'ignore' });
      times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b)[5] ?? 0;
  };
  const first = performance.now();
  execFileSync(binary, ['--version'], { env, stdio: 'ignore' });
  const unpacking = performance.now() - first;
  console.log(
    `start-up: first run ${unpacking.toFixed(0)} ms (unpacks the model), then --version ${median(['--version']).toFixed(0)} ms, --help ${median(['--help']).toFixed(0)} ms (median of 11)`,
  );
  rmSync(env.HOME, { recursive: true, force: true });
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) await main();
