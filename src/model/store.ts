// Model files: a model directory (model.json = the forest as ml-random-forest saves it, meta.json = what it is
// and how good it was) and the same two as one gzip + base64 blob for a ConfigMap, which holds at most 1 MiB.

import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

import { FEATURE_CONTRACT_VERSION, FEATURE_NAMES } from './contract.js';
import type { Evaluation } from './evaluate.js';
import { fromForestJson, ModelFormatError, type ForestJson } from './library-json.js';

export const MODEL_FILE = 'model.json';
export const META_FILE = 'meta.json';
export const CARD_FILE = 'MODEL_CARD.md';

/** Kubernetes' limit on a ConfigMap's data, keys and values together. */
export const CONFIGMAP_LIMIT_BYTES = 1_048_576;
/** The blob's share of it: the rest is room for the key, labels, annotations and managed fields. */
export const MAX_BLOB_BYTES = CONFIGMAP_LIMIT_BYTES - 16_384;

/** How the held-out evaluation was made, and its figures. */
export interface EvaluationSummary extends Evaluation {
  /** e.g. "time-ordered: trained on the oldest 70 % by author_date, tested on the newest 30 %". */
  readonly method: string;
  readonly trainRows: number;
  readonly testRows: number;
  readonly trainMs: number;
}

export interface TrainerSettings {
  readonly trees: number;
  readonly seed: number;
  /** null: no depth limit. */
  readonly maxDepth: number | null;
  readonly minSamplesLeaf: number;
  readonly minSamplesSplit: number;
  readonly maxFeatures: 'sqrt' | 'all' | number;
  readonly maxBins: number;
}

export interface ModelMeta {
  /** Unique per model content: a name and the start of model.json's SHA-256. Assessments record it. */
  readonly modelVersion: string;
  /** The feature contract the model's columns follow, or null for a model over a CSV's own columns. */
  readonly contractVersion: number | null;
  /** Column i of a scored row is featureNames[i]. */
  readonly featureNames: string[];
  /** Features that varied in the training data, so the trees could learn from them. */
  readonly learnedFeatures: string[];
  readonly data: {
    readonly description: string;
    readonly rows: number;
    readonly positives: number;
  };
  readonly trainer: TrainerSettings;
  /** Mean decrease in Gini impurity, normalised to sum 1, by feature name. */
  readonly importances: Record<string, number>;
  /** Held-out evaluation, or null when none was made (no time column). */
  readonly evaluation: EvaluationSummary | null;
  /** ISO 8601. */
  readonly trainedAt: string;
  readonly trees: number;
  readonly nodes: number;
}

export interface ModelBundle {
  readonly forest: ForestJson;
  readonly meta: ModelMeta;
}

/** `${name}-${first 12 hex digits of SHA-256 of the compact model JSON}`. */
export function modelVersionOf(forest: ForestJson, name: string): string {
  return `${name}-${createHash('sha256').update(JSON.stringify(forest)).digest('hex').slice(0, 12)}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

/**
 * Checks meta.json against its model: the fields the operator relies on are there, the feature names match the
 * forest's width, and a contract model names the contract's features in the contract's order.
 */
export function checkBundle(forestJson: unknown, metaJson: unknown): ModelBundle {
  const { featureCount } = fromForestJson(forestJson);
  if (!isRecord(metaJson)) throw new ModelFormatError('meta.json is not an object');
  const { modelVersion, contractVersion, featureNames, learnedFeatures, importances, trainedAt } = metaJson;
  if (typeof modelVersion !== 'string' || modelVersion === '')
    throw new ModelFormatError('meta.json has no modelVersion');
  if (!isStringArray(featureNames)) throw new ModelFormatError('meta.json has no featureNames list');
  if (!isStringArray(learnedFeatures)) throw new ModelFormatError('meta.json has no learnedFeatures list');
  if (!isRecord(importances)) throw new ModelFormatError('meta.json has no importances');
  if (typeof trainedAt !== 'string') throw new ModelFormatError('meta.json has no trainedAt');
  if (featureNames.length < featureCount) {
    throw new ModelFormatError(`meta.json names ${featureNames.length} features, the model uses ${featureCount}`);
  }
  if (contractVersion !== null) {
    if (contractVersion !== FEATURE_CONTRACT_VERSION) {
      throw new ModelFormatError(
        `model follows feature contract ${JSON.stringify(contractVersion)}, this build knows ${FEATURE_CONTRACT_VERSION}`,
      );
    }
    if (featureNames.join() !== FEATURE_NAMES.join()) {
      throw new ModelFormatError('meta.json claims the feature contract but its featureNames differ from it');
    }
  }
  // The rest of meta.json is descriptive; it was written by saveModel from a typed ModelMeta.
  return { forest: forestJson as ForestJson, meta: metaJson as unknown as ModelMeta };
}

/** Writes model.json (compact), meta.json (readable) and, when given, the model card. */
export async function saveModelDir(dir: string, bundle: ModelBundle, card?: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, MODEL_FILE), `${JSON.stringify(bundle.forest)}\n`);
  await writeFile(path.join(dir, META_FILE), `${JSON.stringify(bundle.meta, null, 2)}\n`);
  if (card !== undefined) await writeFile(path.join(dir, CARD_FILE), card);
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ModelFormatError(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ModelFormatError(`${file} is not valid JSON`);
  }
}

/** Reads and checks a model directory. */
export async function loadModelDir(dir: string): Promise<ModelBundle> {
  const forest = await readJson(path.join(dir, MODEL_FILE));
  const meta = await readJson(path.join(dir, META_FILE));
  return checkBundle(forest, meta);
}

/** The model is too big for a ConfigMap. */
export class ModelTooLargeError extends Error {
  override name = 'ModelTooLargeError';
}

/**
 * The bundle as one ConfigMap value: gzip (level 9) of {"forest":…,"meta":…}, base64. Throws
 * ModelTooLargeError when it is over MAX_BLOB_BYTES, with the size, so training can be told to make it smaller.
 */
export function encodeModelBlob(bundle: ModelBundle): string {
  const blob = gzipSync(JSON.stringify({ forest: bundle.forest, meta: bundle.meta }), { level: 9 }).toString('base64');
  if (blob.length > MAX_BLOB_BYTES) {
    throw new ModelTooLargeError(
      `compressed model is ${kib(blob.length)} KiB, a ConfigMap leaves room for ${kib(MAX_BLOB_BYTES)} KiB; ` +
        'train fewer trees or with a larger minSamplesLeaf',
    );
  }
  return blob;
}

/** Size in bytes of the ConfigMap blob, without the limit check. */
export function blobSize(bundle: ModelBundle): number {
  const gz = gzipSync(JSON.stringify({ forest: bundle.forest, meta: bundle.meta }), { level: 9 }).length;
  return 4 * Math.ceil(gz / 3);
}

/**
 * The most a stored model may expand to. A 1 MiB blob of a real forest expands to a few MiB of JSON; a blob
 * crafted to expand without bound (a "gzip bomb" in a ConfigMap anyone with write access can edit) must
 * not take the controller's memory with it.
 */
export const MAX_MODEL_JSON_BYTES = 64 * 1024 * 1024;

/** gunzip with a ceiling on the output; throws RangeError (ERR_BUFFER_TOO_LARGE) past it. */
export function gunzipAtMost(gzipped: Buffer, maxBytes: number): Buffer {
  return gunzipSync(gzipped, { maxOutputLength: maxBytes });
}

/** Reads a blob written by encodeModelBlob, checking it as loadModelDir does. */
export function decodeModelBlob(blob: string): ModelBundle {
  let parsed: unknown;
  try {
    parsed = JSON.parse(gunzipAtMost(Buffer.from(blob, 'base64'), MAX_MODEL_JSON_BYTES).toString('utf8')) as unknown;
  } catch (err) {
    if (err instanceof RangeError) {
      throw new ModelFormatError(`model blob expands past ${MAX_MODEL_JSON_BYTES / 1024 / 1024} MiB; refusing it`);
    }
    throw new ModelFormatError('model blob is not gzip + base64 JSON');
  }
  if (!isRecord(parsed)) throw new ModelFormatError('model blob holds no {forest, meta} object');
  return checkBundle(parsed.forest, parsed.meta);
}

function kib(bytes: number): string {
  return (bytes / 1024).toFixed(0);
}
