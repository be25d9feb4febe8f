// The files rollguard reads at run time (the shipped model, its training data for drift, the retraining
// thread's script), for the single executable: they travel inside it as SEA assets, are unpacked once per
// build into a cache directory, and the modules that look for them next to themselves (model-source.ts,
// reference.ts, worker.ts, through import.meta.url) are pointed there. The bundle replaces import.meta.url
// with globalThis.__rollguardModuleUrl, which this module sets before anything else runs.
//
// Run as a plain bundle (node rollguard.cjs), it points them at the bundle's own place, so a bundle inside
// the repository finds models/ as the sources do. When unpacking fails (no writable cache, a full disk), it
// says so on stderr and which files are missing: the model is then absent and the rules score.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

declare global {
  var __rollguardModuleUrl: string | undefined;
}

/** Set at build time: the asset names and a digest of their contents (a new build unpacks anew). */
declare const ROLLGUARD_SEA_ASSETS: { names: string[]; digest: string } | undefined;

/** Where to unpack: $ROLLGUARD_CACHE_DIR, else ~/.cache/rollguard (XDG), else the temporary directory. */
function cacheRoots(): string[] {
  const roots: string[] = [];
  if (process.env.ROLLGUARD_CACHE_DIR) roots.push(process.env.ROLLGUARD_CACHE_DIR);
  const xdg = process.env.XDG_CACHE_HOME ?? (os.homedir() ? path.join(os.homedir(), '.cache') : undefined);
  if (xdg) roots.push(path.join(xdg, 'rollguard'));
  roots.push(path.join(os.tmpdir(), `rollguard-${process.getuid?.() ?? 'user'}`));
  return roots;
}

/**
 * mkdir -p one level at a time from the nearest existing ancestor. Node's recursive mkdirSync never returns
 * on some paths (under /proc it loops between EEXIST and ENOENT); this fails on the first level it cannot make.
 */
function makeDirs(dir: string): void {
  const missing: string[] = [];
  let at = path.resolve(dir);
  while (!existsSync(at)) {
    missing.unshift(at);
    const parent = path.dirname(at);
    if (parent === at) break;
    at = parent;
  }
  for (const level of missing) mkdirSync(level, { mode: 0o755 });
}

interface Sea {
  isSea(): boolean;
  getRawAsset(name: string): ArrayBuffer;
}

function unpack(sea: Sea, assets: { names: string[]; digest: string }): string | Error {
  let lastError: Error = new Error('no cache directory');
  for (const root of cacheRoots()) {
    const dir = path.join(root, `sea-${assets.digest}`);
    // Complete once the marker exists: it is written last, and the directory is renamed into place whole.
    if (existsSync(path.join(dir, '.complete'))) return dir;
    const staging = `${dir}.${process.pid}.${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 8)}`;
    try {
      for (const name of assets.names) {
        const file = path.join(staging, name);
        makeDirs(path.dirname(file));
        writeFileSync(file, new Uint8Array(sea.getRawAsset(name)), { mode: 0o644 });
      }
      writeFileSync(path.join(staging, '.complete'), assets.digest);
      try {
        renameSync(staging, dir);
      } catch (err) {
        // Another rollguard unpacked the same build meanwhile: use theirs.
        rmSync(staging, { recursive: true, force: true });
        if (!existsSync(path.join(dir, '.complete'))) throw err;
      }
      return dir;
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      lastError = err instanceof Error ? err : new Error(String(err));
    }
  }
  return lastError;
}

function locate(): string {
  // node:sea exists from Node 20; the bundle is CommonJS, so __filename is the bundle's own file.
  const sea = process.getBuiltinModule('node:sea') as Sea | undefined;
  if (!sea?.isSea() || typeof ROLLGUARD_SEA_ASSETS === 'undefined') return pathToFileURL(__filename).href;
  const root = unpack(sea, ROLLGUARD_SEA_ASSETS);
  if (root instanceof Error) {
    process.stderr.write(
      `rollguard: cannot unpack the files built into this executable (${root.message}); missing: ${ROLLGUARD_SEA_ASSETS.names.join(', ')}. ` +
        'Scores come from the rules, not the model. Set ROLLGUARD_CACHE_DIR to a writable directory.\n',
    );
    return pathToFileURL(path.join(os.tmpdir(), 'rollguard-unpacked-nowhere', 'bin', 'rollguard.cjs')).href;
  }
  // As if the bundle lay in <root>/bin/: the shipped files are found one directory up, as from dist/src/.
  return pathToFileURL(path.join(root, 'bin', 'rollguard.cjs')).href;
}

globalThis.__rollguardModuleUrl = locate();
