// The training-data reference for the shipped model's drift checks. The shipped model (models/default, built
// by `make model`) was trained on every row of data/jit/apachejit-small.csv mapped onto the contract; its
// bundle cannot carry a summary of them (meta.json is written by src/model), so the summary is rebuilt from
// that CSV the first time it is needed: 7,526 rows, parsed once in a worker thread (~0.3 s of CPU, which on
// the controller's thread stalled every reconcile for that long; bench/scale.ts's CPU profile showed it).
// Chosen over a checked-in summary file because the CSV is already the model's source of truth: the two can
// never disagree. Models this operator trains carry their own summary in their ConfigMap (store.ts).
import { APACHEJIT_TO_CONTRACT, SHIPPED_DATA_FILE, SHIPPED_MODEL_NAME } from '../model/apachejit.js';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { toContractRows } from '../model/contract.js';
import { loadDataset, parseCsv } from '../model/csv.js';
import { summariseReference, type ReferenceSummary } from './drift.js';
import { runInThread } from './worker.js';

export { APACHEJIT_TO_CONTRACT, SHIPPED_DATA_FILE, SHIPPED_MODEL_NAME };

/** True for a version of the shipped model. */
export function isShippedModel(modelVersion: string): boolean {
  return modelVersion.startsWith(`${SHIPPED_MODEL_NAME}-`);
}

/** The reference summary of ApacheJIT CSV text, mapped onto the contract as the shipped model was trained. */
export function apacheJitReference(text: string): ReferenceSummary {
  const header = parseCsv(text.slice(0, text.indexOf('\n')))[0]?.fields.map((name) => name.trim()) ?? [];
  const exclude = header.filter((name) => !(name in APACHEJIT_TO_CONTRACT) && name !== 'buggy');
  const dataset = loadDataset(text, { label: 'buggy', exclude });
  const names = dataset.featureNames.map((name) => APACHEJIT_TO_CONTRACT[name] ?? name);
  const rows = toContractRows(names, dataset.rows);
  if (rows === undefined) {
    throw new Error(`ApacheJIT columns ${dataset.featureNames.join(', ')} do not map onto the feature contract`);
  }
  return summariseReference(rows, `ApacheJIT apachejit-small.csv (${rows.length} commits), the shipped model's data`);
}

/** The package's data file, found from this module whether it runs from src/ or dist/src/. */
export function shippedDataPath(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, SHIPPED_DATA_FILE);
    if (existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  return undefined;
}

/** Where a model's training reference comes from, for the models the loop did not train itself. */
export interface ReferenceSource {
  /** The reference for a model version, or undefined when there is none. */
  referenceFor(modelVersion: string): Promise<ReferenceSummary | undefined>;
}

/** apacheJitReference in a worker thread of its own, with the thread's id (never the caller's). */
export async function apacheJitReferenceInThread(
  csv: string,
): Promise<{ summary: ReferenceSummary; threadId: number }> {
  return runInThread({ kind: 'reference', csv }, 'drift reference', { timeoutMs: 120_000 });
}

/** The shipped model's reference from its CSV, read once and cached; none for any other model. */
export class ShippedReferenceSource implements ReferenceSource {
  private cached: Promise<ReferenceSummary | undefined> | undefined;

  /**
   * `file`: the ApacheJIT CSV; null when there is none (the shipped model then has no reference).
   * `summarise`: off the controller's thread by default.
   */
  constructor(
    private readonly file: string | null = shippedDataPath() ?? null,
    private readonly summarise: (csv: string) => Promise<ReferenceSummary> = async (csv) =>
      (await apacheJitReferenceInThread(csv)).summary,
  ) {}

  referenceFor(modelVersion: string): Promise<ReferenceSummary | undefined> {
    if (!isShippedModel(modelVersion)) return Promise.resolve(undefined);
    const file = this.file;
    if (file === null) return Promise.resolve(undefined);
    // A failed read is not cached: the next check tries again.
    this.cached ??= readFile(file, 'utf8')
      .then(this.summarise)
      .catch((err: unknown) => {
        this.cached = undefined;
        throw err;
      });
    return this.cached;
  }
}
