// Writes the CustomResourceDefinitions in crds/ from the zod schemas in src/api/ (`npx tsx hack/gen-crds.ts`).
// With --check it writes nothing and exits 1 when a file on disk differs from what it would write, so CI
// catches a schema change whose CRDs were not regenerated.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generatedCrdFiles } from '../src/api/crd.js';
import { generatedGateFiles } from '../src/gate/chart-files.js';

const repoRoot = path.resolve(import.meta.dirname, '..');

async function readIfPresent(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function main(args: readonly string[]): Promise<number> {
  const unknown = args.filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    console.error(`usage: tsx hack/gen-crds.ts [--check]  (unknown argument ${unknown.join(' ')})`);
    return 2;
  }
  const checkOnly = args.includes('--check');
  const stale: string[] = [];
  for (const file of [...generatedCrdFiles(), ...generatedGateFiles()]) {
    const target = path.join(repoRoot, file.path);
    const onDisk = await readIfPresent(target);
    if (onDisk === file.content) continue;
    if (checkOnly) {
      stale.push(onDisk === undefined ? `${file.path} (missing)` : file.path);
    } else {
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, file.content);
      console.log(`wrote ${file.path}`);
    }
  }
  if (stale.length > 0) {
    console.error(
      `The CRDs are out of date with the zod schemas in src/api/:\n  ${stale.join('\n  ')}\n` +
        'Run `npx tsx hack/gen-crds.ts` (or `make crds`) and commit the result.',
    );
    return 1;
  }
  if (checkOnly) console.log('crds/ is up to date with src/api/');
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
