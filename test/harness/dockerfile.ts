// The Dockerfile's runtime stage as data: what the image holds and how it starts. The image-entrypoint test
// lays the stage out and runs it; bench-scale starts the operator with its ENV and ENTRYPOINT, so both follow
// the Dockerfile as written instead of a copy of it.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from './tools.js';

export interface RuntimeStage {
  workdir: string;
  /** Per COPY, in order: from the build stage (else the context), its sources and its destination. */
  copies: { fromBuild: boolean; sources: string[]; destination: string }[];
  entrypoint: string[];
  cmd: string[];
  env: Record<string, string>;
}

/** The last stage: its WORKDIR, COPY, ENV (KEY=value form), ENTRYPOINT and CMD (exec form, as ours uses). */
export function parseRuntimeStage(dockerfile: string): RuntimeStage {
  const last = dockerfile.split(/^FROM\s/m).at(-1) ?? '';
  const stage: RuntimeStage = { workdir: '/', copies: [], entrypoint: [], cmd: [], env: {} };
  for (const line of last.split('\n')) {
    const [instruction, ...rest] = line.trim().split(/\s+/);
    if (instruction === 'WORKDIR') stage.workdir = rest[0] ?? '/';
    if (instruction === 'COPY') {
      const fromBuild = rest[0]?.startsWith('--from=') === true;
      const args = rest.filter((arg) => !arg.startsWith('--'));
      stage.copies.push({ fromBuild, sources: args.slice(0, -1), destination: args.at(-1) ?? '' });
    }
    if (instruction === 'ENTRYPOINT') stage.entrypoint = JSON.parse(rest.join(' ')) as string[];
    if (instruction === 'CMD') stage.cmd = JSON.parse(rest.join(' ')) as string[];
    if (instruction === 'ENV') {
      for (const pair of rest) {
        const [key, value] = pair.split('=', 2);
        if (key && value !== undefined) stage.env[key] = value;
      }
    }
  }
  return stage;
}

/** The repository's Dockerfile, parsed. */
export async function runtimeStage(): Promise<RuntimeStage> {
  return parseRuntimeStage(await readFile(path.join(repoRoot, 'Dockerfile'), 'utf8'));
}
