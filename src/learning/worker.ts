// Retraining off the reconcile path. Training a forest is CPU-bound (hundreds of milliseconds to seconds on a
// large history) and JavaScript has one thread per event loop: run on the controller's thread, it would stall
// every watch, reconcile and health probe for that long. So a retraining runs in a node:worker_threads Worker
// (one per retraining: started, given one request, terminated). A thread rather than a child process because it
// shares the operator's code and memory limits without a second Node to start and supervise.
//
// The message in is plain data (rows, labels, options, the current model's forest JSON to score the held-out
// rows with); the message out is the new model as the ConfigMap blob (gzip + base64, what store.ts keeps), its
// held-out evaluation and both models' held-out scores, so the caller decides with pure code (decision.ts)
// and never holds a half-built model.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { threadId, Worker } from 'node:worker_threads';
import { FEATURE_NAMES } from '../model/contract.js';
import { evaluateScores } from '../model/evaluate.js';
import { loadForest } from '../model/forest.js';
import { buildBundle, trainToFit, type LabelledRows } from '../model/pipeline.js';
import { encodeModelBlob, ModelTooLargeError, type EvaluationSummary } from '../model/store.js';
import { scoreRows, trainForest, type ForestOptions } from '../model/train.js';

export interface RetrainRequest {
  /** The older outcomes: the candidate is trained on these. */
  readonly train: LabelledRows;
  /** The newest outcomes, held out: both models are scored on these. */
  readonly test: LabelledRows;
  /** The model in use (its ForestJson), to score the held-out rows; absent when none is in use. */
  readonly currentForest?: unknown;
  readonly forest: Partial<ForestOptions>;
  /** Start of the model version, e.g. "cluster-v1". */
  readonly name: string;
  readonly dataDescription: string;
  /** ISO 8601, recorded as the model's trainedAt. */
  readonly trainedAt: string;
  /** Most the ConfigMap blob may take (the rest of the ConfigMap holds the drift reference). */
  readonly maxBlobBytes: number;
}

export interface RetrainResult {
  /** The model kept if accepted, trained on train + test: gzip + base64 of {forest, meta} (store.ts's blob). */
  readonly blob: string;
  readonly modelVersion: string;
  /** Held-out figures of the candidate; null when the held-out rows have one outcome only (no AUC). */
  readonly evaluation: EvaluationSummary | null;
  /** Candidate trained on the older rows only, scored on the held-out rows. */
  readonly candidateScores: number[];
  /** The model in use on the same rows; null when none was given. */
  readonly currentScores: number[] | null;
  /** minSamplesLeaf the model was trained with (raised by trainToFit when the forest was too big). */
  readonly minSamplesLeaf: number;
  /** Training time of the held-out candidate, ms. */
  readonly trainMs: number;
  /** The thread that trained: a worker's id, never the controller's. */
  readonly threadId: number;
}

/**
 * What a worker thread is asked to do, one job per thread: a retraining, or the drift reference of the shipped
 * model's training data (parsing and summarising 7,526 CSV rows: ~0.3 s of CPU that would otherwise stall the
 * controller's event loop, and with it every assessment, at the first drift check).
 */
export type WorkerJob =
  { readonly kind: 'retrain'; readonly request: RetrainRequest } | { readonly kind: 'reference'; readonly csv: string };

/** What the worker thread posts back. */
export type WorkerReply =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly name: string; readonly message: string };

/** Room for meta.evaluation, which is written after trainToFit has sized the model without it. */
const EVALUATION_MARGIN_BYTES = 2048;

function bothClasses(labels: readonly number[]): boolean {
  const risky = labels.filter((label) => label === 1).length;
  return risky > 0 && risky < labels.length;
}

/**
 * The retraining itself, synchronous and CPU-bound: what the worker thread runs (and what tests may run in
 * process). The forest size is settled first: trainToFit on all rows finds the minSamplesLeaf at which the
 * model fits the ConfigMap; the held-out candidate is then trained with the same settings, so the figures
 * describe the model that is kept. The kept model is refit on all rows, held-out ones included, as `make
 * model` does for the shipped one: the newest outcomes are the most telling, and leaving them out of the model
 * to prove it on them would throw the best data away.
 */
export function runRetrain(request: RetrainRequest, now: () => number = () => performance.now()): RetrainResult {
  const { train, test } = request;
  const all: LabelledRows = { rows: [...train.rows, ...test.rows], labels: [...train.labels, ...test.labels] };
  const trainedAt = new Date(request.trainedAt);
  const method =
    `time-ordered on this cluster's outcomes: trained on the oldest ${train.rows.length}, tested on the newest ` +
    `${test.rows.length}; the model kept was then trained on all ${all.rows.length}`;

  const holdOut = (minSamplesLeaf: number) => {
    const started = now();
    const forest = trainForest(train.rows, train.labels, { ...request.forest, minSamplesLeaf });
    const trainMs = now() - started;
    const scores = scoreRows(forest, test.rows);
    // One outcome only: AUC and the catch rates are undefined, and NaN does not survive JSON.
    const evaluation: EvaluationSummary | null = bothClasses(test.labels)
      ? {
          ...evaluateScores(scores, test.labels, 0.5),
          method,
          trainRows: train.rows.length,
          testRows: test.rows.length,
          trainMs,
        }
      : null;
    return { scores, evaluation, trainMs };
  };
  const bundleOf = (evaluation: EvaluationSummary | null) => (forest: Parameters<typeof buildBundle>[0]) =>
    buildBundle(forest, all, {
      name: request.name,
      featureNames: FEATURE_NAMES,
      followsContract: true,
      dataDescription: request.dataDescription,
      evaluation,
      trainedAt,
    });

  // Sized without the evaluation, which is added after; it takes a few hundred bytes, hence the margin.
  const fit = trainToFit(all, request.forest, bundleOf(null), request.maxBlobBytes - EVALUATION_MARGIN_BYTES);
  const minSamplesLeaf = fit.forest.options.minSamplesLeaf;
  const held = holdOut(minSamplesLeaf);
  const bundle = bundleOf(held.evaluation)(fit.forest);
  const blob = encodeModelBlob(bundle);
  if (blob.length > request.maxBlobBytes) {
    throw new ModelTooLargeError(
      `compressed model is ${blob.length} bytes, over the ${request.maxBlobBytes} left in the ConfigMap`,
    );
  }
  const currentScores =
    request.currentForest === undefined ? null : loadForest(request.currentForest).scoreRows(test.rows);
  return {
    blob,
    modelVersion: bundle.meta.modelVersion,
    evaluation: held.evaluation,
    candidateScores: held.scores,
    currentScores,
    minSamplesLeaf,
    trainMs: held.trainMs,
    threadId,
  };
}

/** Something that retrains: in a worker thread in the operator, in process in tests. */
export interface Trainer {
  /** Rejects when the training fails, or when `signal` aborts (the loop is stopping). */
  train(request: RetrainRequest, signal?: AbortSignal): Promise<RetrainResult>;
}

/** Runs runRetrain in the calling thread. For tests and tools; the operator uses WorkerTrainer. */
export class InProcessTrainer implements Trainer {
  train(request: RetrainRequest): Promise<RetrainResult> {
    try {
      return Promise.resolve(runRetrain(request));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

/** A retraining that failed in its thread, with the error's name there (TrainingError, ModelTooLargeError, ...). */
export class RetrainError extends Error {
  override name = 'RetrainError';

  constructor(
    message: string,
    /** The error's name in the thread, or timeout / exit. */
    readonly kind: string,
  ) {
    super(message);
  }
}

/**
 * The thread's entry file and how to start it. Compiled (dist/src/), it is worker-main.js beside this file;
 * bundled (rollguard.cjs, plain or inside the executable), worker-main.cjs beside the bundle: CommonJS named
 * as such, since a .js file under a package.json with "type": "module" is read as an ES module. From
 * TypeScript source (tests; `node --import tsx src/cli/main.ts`) it is worker-main.ts, and the thread needs
 * tsx's loader: inherited when the process was started with it, else passed by absolute URL (the thread's
 * working directory may not see node_modules).
 */
export function workerEntry(moduleUrl: string = import.meta.url): { url: URL; execArgv: string[] | undefined } {
  const fromSource = moduleUrl.endsWith('.ts');
  const bundled = moduleUrl.endsWith('.cjs');
  const url = new URL(fromSource ? './worker-main.ts' : bundled ? './worker-main.cjs' : './worker-main.js', moduleUrl);
  if (!fromSource) return { url, execArgv: undefined };
  const inherited = process.execArgv.some((arg, i, args) => /\btsx\b/.test(arg) && args[i - 1] === '--import');
  if (inherited || process.execArgv.some((arg) => /^--import=.*\btsx\b/.test(arg))) return { url, execArgv: undefined };
  const tsx = pathToFileURL(createRequire(moduleUrl).resolve('tsx')).href;
  return { url, execArgv: ['--import', tsx] };
}

export interface WorkerTrainerOptions {
  /** A retraining that takes longer is stopped (its thread terminated) and fails. Default 10 minutes. */
  readonly timeoutMs?: number;
  /** Heap limit of the thread, MiB, so a runaway training cannot take the operator's memory. */
  readonly maxHeapMb?: number;
}

/** Runs each retraining in a fresh worker thread. */
export class WorkerTrainer implements Trainer {
  constructor(private readonly options: WorkerTrainerOptions = {}) {}

  train(request: RetrainRequest, signal?: AbortSignal): Promise<RetrainResult> {
    return runInThread<RetrainResult>({ kind: 'retrain', request }, 'retraining', this.options, signal);
  }
}

/**
 * Runs one job in a fresh worker thread and terminates it: resolves with the job's result, rejects with a
 * RetrainError naming the job's own error, or its timeout, abort or exit.
 */
export function runInThread<T>(
  job: WorkerJob,
  what: string,
  options: WorkerTrainerOptions = {},
  signal?: AbortSignal,
): Promise<T> {
  if (signal?.aborted) return Promise.reject(new RetrainError(`${what} aborted`, 'aborted'));
  const { url, execArgv } = workerEntry();
  const worker = new Worker(url, {
    ...(execArgv === undefined ? {} : { execArgv }),
    ...(options.maxHeapMb === undefined ? {} : { resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb } }),
  });
  const timeoutMs = options.timeoutMs ?? 600_000;
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onAbort = (): void => {
      finish({ error: new RetrainError(`${what} aborted`, 'aborted') });
    };
    const finish = (outcome: { result: T } | { error: Error }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // The thread has nothing more to do either way; terminating also stops a runaway one.
      void worker.terminate();
      if ('result' in outcome) resolve(outcome.result);
      else reject(outcome.error);
    };
    const timer = setTimeout(() => {
      finish({ error: new RetrainError(`${what} took longer than ${timeoutMs} ms and was stopped`, 'timeout') });
    }, timeoutMs);
    worker.once('message', (reply: WorkerReply) => {
      if (reply.ok) finish({ result: reply.result as T });
      else finish({ error: new RetrainError(reply.message, reply.name) });
    });
    worker.once('error', (err: unknown) => {
      finish({ error: err instanceof Error ? err : new Error(String(err)) });
    });
    worker.once('exit', (code) => {
      finish({ error: new RetrainError(`the ${what} thread exited (code ${code}) without a result`, 'exit') });
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.postMessage(job);
  });
}
