// `rollguard model train|evaluate`: train a model from a CSV and write it with its card, or measure how well a
// forest trained on the older rows predicts the newer ones. Output goes through an injected writer (tests), and
// every usage or data problem is one line on stderr with exit code 2.

import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';

import { renderModelCard } from './card.js';
import { FEATURE_NAMES, toContractRows } from './contract.js';
import { DatasetError, loadDataset, type Dataset } from './csv.js';
import type { Evaluation } from './evaluate.js';
import { ModelFormatError } from './library-json.js';
import { buildBundle, evaluateTimeOrdered, type LabelledRows } from './pipeline.js';
import {
  blobSize,
  CARD_FILE,
  MAX_BLOB_BYTES,
  META_FILE,
  MODEL_FILE,
  saveModelDir,
  type EvaluationSummary,
} from './store.js';
import { DEFAULT_FOREST_OPTIONS, trainForest, TrainingError, type ForestOptions } from './train.js';

export interface CommandIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Milliseconds for training times; performance.now by default. */
  readonly now?: () => number;
  /** The time recorded as trainedAt; the wall clock by default. */
  readonly clock?: () => Date;
}

const processIO: CommandIO = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

const DATA_HELP = `Data:
  Every numeric column other than --label, --time and --exclude is a feature. Labels are 0/1 or true/false
  (1 = risky). NA, N/A, null and empty cells are missing (filled with -1). --time holds numbers (e.g. unix
  seconds) or dates (2021-03-04, 2003/10/10 16:10); rows whose time is missing are skipped, and the output
  says how many. When every feature column is named after the feature contract (files_changed,
  lines_added, ...), the model scores the operator's feature vectors.`;

const FOREST_OPTIONS_HELP = `  --trees N               trees in the forest (default ${DEFAULT_FOREST_OPTIONS.trees})
  --seed N                random seed (default ${DEFAULT_FOREST_OPTIONS.seed})
  --min-samples-leaf N    fewest rows in a leaf (default ${DEFAULT_FOREST_OPTIONS.minSamplesLeaf}); larger = smaller model
  --max-depth N           depth limit (default none)`;

export const MODEL_HELP = `Usage: rollguard model <command> [options]

Train and evaluate rollguard's change-risk model (a random forest) on a CSV of past changes.

Commands:
  train      Train on all rows and write model.json, meta.json and MODEL_CARD.md to --out.
             With --time, the card also reports a time-ordered evaluation (older rows train, newer test).
  evaluate   Sort by --time, train on the oldest --train-fraction, test on the newer rest, print the figures.

Run 'rollguard model train --help' or 'rollguard model evaluate --help' for each command's options.

${DATA_HELP}

Options:
  --data FILE             CSV with a header row (required)
  --label COL             label column (required)
  --time COL              time column (required by evaluate)
  --exclude COL,...       columns that must not be features (ids, leaks)
${FOREST_OPTIONS_HELP}
  --train-fraction F      share of oldest rows to train on when evaluating (default 0.7)
  --out DIR               where train writes the model (required by train)
  --name NAME             model version prefix for train (default "model")
  --json                  evaluate: print one JSON object
  -h, --help              this help

Examples:
  rollguard model evaluate --data apachejit.csv --label buggy --time author_date --exclude commit_id,year
  rollguard model evaluate --data kamei-jdt.csv --label bug --time commitdate --exclude transactionid --json
  rollguard model train --data outcomes.csv --label rolled_back --time finished_at --out models/mine
`;

export const TRAIN_HELP = `Usage: rollguard model train --data FILE --label COL --out DIR [options]

Trains the risk model (a random forest) on every row of a CSV of past changes and writes model.json,
meta.json and MODEL_CARD.md to --out, ready for 'rollguard controller --model-dir DIR'. With --time the
card also reports a time-ordered evaluation (the oldest --train-fraction trains, the newer rest tests).

${DATA_HELP}

Options:
  --data FILE             CSV with a header row (required)
  --label COL             label column, 0/1 or true/false (required)
  --out DIR               where to write the model (required)
  --time COL              time column: adds a time-ordered evaluation to the card
  --exclude COL,...       columns that must not be features (ids, leaks)
${FOREST_OPTIONS_HELP}
  --train-fraction F      share of oldest rows to train on for the card's evaluation (default 0.7)
  --name NAME             model version prefix (default "model")
  -h, --help              this help

Examples:
  rollguard model train --data outcomes.csv --label rolled_back --time finished_at --out models/mine
  rollguard model train --data apachejit.csv --label buggy --exclude commit_id,year --trees 100 --out models/big
`;

export const EVALUATE_HELP = `Usage: rollguard model evaluate --data FILE --label COL --time COL [options]

Measures how well the risk model would have predicted the past: sorts the rows by --time, trains on the
oldest --train-fraction and tests on the newer rest, then prints AUC, precision, recall and F1 at the
threshold, the confusion counts, how many risky changes land in the riskiest 10 % and 20 %, and which
features mattered. Nothing is written.

${DATA_HELP}

Options:
  --data FILE             CSV with a header row (required)
  --label COL             label column, 0/1 or true/false (required)
  --time COL              time column to order the rows by (required)
  --exclude COL,...       columns that must not be features (ids, leaks)
  --train-fraction F      share of oldest rows to train on (default 0.7)
${FOREST_OPTIONS_HELP}
  --json                  print one JSON object
  -h, --help              this help

Examples:
  rollguard model evaluate --data apachejit.csv --label buggy --time author_date --exclude commit_id,year
  rollguard model evaluate --data kamei-jdt.csv --label bug --time commitdate --exclude transactionid --json
`;

/** A usage problem: reported as one line, exit code 2. */
class UsageError extends Error {
  override name = 'UsageError';
}

const OPTIONS = {
  data: { type: 'string' },
  label: { type: 'string' },
  time: { type: 'string' },
  exclude: { type: 'string' },
  trees: { type: 'string' },
  seed: { type: 'string' },
  'min-samples-leaf': { type: 'string' },
  'max-depth': { type: 'string' },
  'train-fraction': { type: 'string' },
  out: { type: 'string' },
  name: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

function integer(value: string | undefined, flag: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value.trim()) || Number(value) < min) {
    throw new UsageError(`--${flag} must be an integer >= ${min}, not "${value}"`);
  }
  return Number(value);
}

function fraction(value: string | undefined): number {
  if (value === undefined) return 0.7;
  const parsed = Number(value);
  if (value.trim() === '' || !(parsed > 0 && parsed < 1)) {
    throw new UsageError(`--train-fraction must be a number between 0 and 1, not "${value}"`);
  }
  return parsed;
}

function required(value: string | undefined, flag: string, command: string): string {
  if (value === undefined || value === '') throw new UsageError(`${command} needs --${flag}`);
  return value;
}

function forestOptions(values: Values): Partial<ForestOptions> {
  return {
    trees: integer(values.trees, 'trees', DEFAULT_FOREST_OPTIONS.trees, 1),
    seed: integer(values.seed, 'seed', DEFAULT_FOREST_OPTIONS.seed, 0),
    minSamplesLeaf: integer(values['min-samples-leaf'], 'min-samples-leaf', DEFAULT_FOREST_OPTIONS.minSamplesLeaf, 1),
    maxDepth: integer(values['max-depth'], 'max-depth', Infinity, 1),
  };
}

interface LoadedData extends LabelledRows {
  readonly dataset: Dataset;
  readonly featureNames: readonly string[];
  readonly followsContract: boolean;
}

async function loadData(values: Values, command: string, needTime: boolean): Promise<LoadedData> {
  const file = required(values.data, 'data', command);
  const label = required(values.label, 'label', command);
  const time = needTime ? required(values.time, 'time', command) : values.time;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${file}: ${code === 'ENOENT' ? 'no such file' : String(code ?? error)}`);
  }
  const exclude = values.exclude
    ?.split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  const dataset = loadDataset(text, { label, time, exclude });
  const contractRows = toContractRows(dataset.featureNames, dataset.rows);
  return contractRows === undefined
    ? {
        dataset,
        rows: dataset.rows,
        labels: dataset.labels,
        featureNames: dataset.featureNames,
        followsContract: false,
      }
    : { dataset, rows: contractRows, labels: dataset.labels, featureNames: FEATURE_NAMES, followsContract: true };
}

function fixed(value: number, digits = 3): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function pct(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(1)} %` : 'n/a';
}

function rankedImportances(names: readonly string[], importances: readonly number[]): [string, number][] {
  return names
    .map((name, i): [string, number] => [name, importances[i] ?? 0])
    .filter(([, value]) => value > 0)
    .sort((a, b) => b[1] - a[1]);
}

/** The rows left out for a missing time, as a clause: "; 3 rows without a time skipped". */
function skippedText(dataset: Dataset): string {
  const n = dataset.skippedWithoutTime;
  return n === 0 ? '' : `; ${n} row${n === 1 ? '' : 's'} without a time skipped`;
}

function describeData(data: LoadedData, file: string): string {
  const { dataset } = data;
  const ignored =
    dataset.ignoredColumns.length > 0 ? `; not features (not numeric): ${dataset.ignoredColumns.join(', ')}` : '';
  return `${path.basename(file)}: features ${dataset.featureNames.join(', ')}${ignored}`;
}

function humanEvaluation(
  e: EvaluationSummary,
  data: LoadedData,
  file: string,
  importances: [string, number][],
): string {
  const c = e.confusion;
  return [
    `data       ${describeData(data, file)}`,
    `rows       ${data.rows.length} (${data.dataset.positives} risky)${skippedText(data.dataset)}`,
    `split      ${e.method}`,
    `           ${e.trainRows} training rows, ${e.testRows} test rows (${e.positives} risky)`,
    `training   ${Math.round(e.trainMs)} ms`,
    `AUC        ${fixed(e.auc)}`,
    `at ${e.threshold}     precision ${fixed(e.precision)}  recall ${fixed(e.recall)}  F1 ${fixed(e.f1)}`,
    `confusion  risky: ${c.truePositives} caught, ${c.falseNegatives} missed; safe: ${c.falsePositives} flagged, ${c.trueNegatives} passed`,
    `caught     ${pct(e.caughtTop10)} of risky changes in the riskiest 10 %, ${pct(e.caughtTop20)} in the riskiest 20 %`,
    'importance',
    ...importances.map(([name, value]) => `  ${name.padEnd(24)} ${fixed(value)}`),
    '',
  ].join('\n');
}

function jsonEvaluation(e: Evaluation & EvaluationSummary, data: LoadedData, importances: [string, number][]): string {
  return `${JSON.stringify({
    auc: e.auc,
    precision: e.precision,
    recall: e.recall,
    f1: e.f1,
    threshold: e.threshold,
    confusion: e.confusion,
    caughtTop10: e.caughtTop10,
    caughtTop20: e.caughtTop20,
    trainMs: e.trainMs,
    rows: data.rows.length,
    skippedWithoutTime: data.dataset.skippedWithoutTime,
    trainRows: e.trainRows,
    testRows: e.testRows,
    testPositives: e.positives,
    features: data.dataset.featureNames,
    importances: Object.fromEntries(importances),
  })}\n`;
}

async function evaluateCommand(values: Values, io: CommandIO): Promise<number> {
  const options = forestOptions(values);
  const trainFraction = fraction(values['train-fraction']);
  const data = await loadData(values, 'evaluate', true);
  const { evaluation, forest } = evaluateTimeOrdered(data, data.dataset.times ?? [], {
    trainFraction,
    timeName: values.time ?? '',
    forest: options,
    ...(io.now === undefined ? {} : { now: io.now }),
  });
  const importances = rankedImportances(data.featureNames, forest.importances);
  io.stdout(
    values.json === true
      ? jsonEvaluation(evaluation, data, importances)
      : humanEvaluation(evaluation, data, values.data ?? '', importances),
  );
  return 0;
}

async function trainCommand(values: Values, io: CommandIO): Promise<number> {
  const options = forestOptions(values);
  const trainFraction = fraction(values['train-fraction']);
  const out = required(values.out, 'out', 'train');
  const data = await loadData(values, 'train', false);
  const times = data.dataset.times;
  const evaluation =
    times === undefined
      ? null
      : evaluateTimeOrdered(data, times, {
          trainFraction,
          timeName: values.time ?? '',
          forest: options,
          ...(io.now === undefined ? {} : { now: io.now }),
        }).evaluation;
  const forest = trainForest(data.rows, data.labels, options);
  const file = values.data ?? '';
  const bundle = buildBundle(forest, data, {
    name: values.name ?? 'model',
    featureNames: data.featureNames,
    followsContract: data.followsContract,
    dataDescription: describeData(data, file),
    evaluation,
    trainedAt: (io.clock ?? (() => new Date()))(),
  });
  const card = renderModelCard(bundle.meta, {
    title: `Model ${bundle.meta.modelVersion}`,
    summary: [`A change-risk model trained with \`rollguard model train\` on \`${path.basename(file)}\`.`],
    data: [
      `\`${path.basename(file)}\`, label \`${values.label ?? ''}\`${values.time === undefined ? '' : `, time \`${values.time}\``}.`,
    ],
    rebuild: `rollguard model ${rebuildArgs(values)}`,
    limits: [
      'Evaluated only on the newer rows of the same data; a different team or system may differ.',
      ...(data.followsContract
        ? ['Features missing from the training data are -1 for every row: the model learned nothing about them.']
        : ["Its columns are the CSV's, not the feature contract's: the operator cannot score rollouts with it."]),
    ],
  });
  try {
    await saveModelDir(out, bundle, card);
  } catch (error) {
    throw new UsageError(`cannot write ${out}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const size = blobSize(bundle);
  io.stdout(
    `wrote ${path.join(out, MODEL_FILE)}, ${META_FILE}, ${CARD_FILE}: ${bundle.meta.modelVersion}, ` +
      `${bundle.meta.trees} trees, ${bundle.meta.nodes} nodes, ${Math.ceil(size / 1024)} KiB compressed\n`,
  );
  if (evaluation !== null)
    io.stdout(`time-ordered AUC ${fixed(evaluation.auc)} on ${evaluation.testRows} newer rows\n`);
  if (data.dataset.skippedWithoutTime > 0) {
    io.stdout(
      `trained on ${data.rows.length} rows${skippedText(data.dataset)} (missing ${values.time ?? 'time'}: NA or empty)\n`,
    );
  }
  if (size > MAX_BLOB_BYTES) {
    io.stderr(
      `warning: the compressed model (${Math.ceil(size / 1024)} KiB) does not fit a ConfigMap ` +
        `(${Math.floor(MAX_BLOB_BYTES / 1024)} KiB); use fewer --trees or a larger --min-samples-leaf\n`,
    );
  }
  return 0;
}

function rebuildArgs(values: Values): string {
  const parts = ['train'];
  for (const [flag, value] of Object.entries(values)) {
    if (typeof value === 'string') parts.push(`--${flag} ${/[\s'"]/.test(value) ? JSON.stringify(value) : value}`);
  }
  return parts.join(' ');
}

/**
 * Runs `rollguard model …`; argv is what follows `model` (e.g. ['evaluate', '--data', 'x.csv', ...]).
 * Returns the exit code: 0 done, 2 usage or data problem (one line on stderr).
 */
export async function runModelCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    const [command, ...extra] = positionals;
    if (values.help === true || command === 'help') {
      // `model train --help` and `model evaluate --help` describe their own flags.
      io.stdout(command === 'train' ? TRAIN_HELP : command === 'evaluate' ? EVALUATE_HELP : MODEL_HELP);
      return 0;
    }
    if (command === undefined) throw new UsageError('which command? train or evaluate (see --help)');
    if (extra.length > 0) throw new UsageError(`unexpected argument "${extra.join(' ')}"`);
    if (command === 'train') return await trainCommand(values, io);
    if (command === 'evaluate') return await evaluateCommand(values, io);
    throw new UsageError(`unknown command "${command}"; the commands are train and evaluate (see --help)`);
  } catch (error) {
    if (
      error instanceof UsageError ||
      error instanceof DatasetError ||
      error instanceof TrainingError ||
      error instanceof ModelFormatError ||
      (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS'))
    ) {
      io.stderr(`rollguard model: ${error.message.split('\n')[0] ?? ''}\n`);
      return 2;
    }
    throw error;
  }
}
