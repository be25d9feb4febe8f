// `rollguard model train|evaluate` end to end on small CSV files, with output captured by the injected writer.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { EVALUATE_HELP, MODEL_HELP, TRAIN_HELP, runModelCommand, type CommandIO } from './cli.js';
import { loadForest } from './forest.js';
import { loadModelDir } from './store.js';
import { syntheticRows } from './testing.js';

function capture(): CommandIO & { out: string; err: string } {
  const io = {
    out: '',
    err: '',
    stdout: (text: string) => {
      io.out += text;
    },
    stderr: (text: string) => {
      io.err += text;
    },
    now: () => 0,
    clock: () => new Date(Date.UTC(2024, 4, 5)),
  };
  return io;
}

let dir = '';
let csv = '';
let contractCsv = '';

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'rollguard-cli-'));
  const { rows, labels } = syntheticRows(400, 7);
  const lines = ['id,when,a,b,c,d,risky'];
  rows.forEach((row, i) => {
    const cells = row.map((value) => (value === -1 ? 'NA' : String(value)));
    lines.push(
      `"c${i}",2024-01-${String((i % 28) + 1).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:00:00Z,${cells.join(',')},${labels[i] === 1 ? 'True' : 'False'}`,
    );
  });
  csv = path.join(dir, 'changes.csv');
  await writeFile(csv, `${lines.join('\n')}\n`);
  const contractLines = ['t,files_changed,lines_added,bug'];
  rows.forEach((row, i) => contractLines.push(`${i},${row[0] ?? 0},${row[1] ?? 0},${labels[i] ?? 0}`));
  contractCsv = path.join(dir, 'contract.csv');
  await writeFile(contractCsv, `${contractLines.join('\n')}\n`);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('rollguard model evaluate', () => {
  it('prints the figures as JSON', async () => {
    const io = capture();
    const code = await runModelCommand(
      ['evaluate', '--data', csv, '--label', 'risky', '--time', 'when', '--trees', '20', '--json'],
      io,
    );
    expect(io.err).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(io.out) as Record<string, unknown>;
    expect(result).toMatchObject({
      rows: 400,
      trainRows: 280,
      testRows: 120,
      trainMs: 0,
      features: ['a', 'b', 'c', 'd'],
    });
    for (const key of ['auc', 'precision', 'recall', 'f1', 'caughtTop10', 'caughtTop20']) {
      expect(typeof result[key]).toBe('number');
    }
    expect(result.auc).toBeGreaterThan(0.8);
    expect(Object.keys(result.importances as object)[0]).toBe('a');
  });

  it('prints the figures for people', async () => {
    const io = capture();
    const code = await runModelCommand(
      [
        'evaluate',
        '--data',
        csv,
        '--label',
        'risky',
        '--time',
        'when',
        '--exclude',
        'd',
        '--train-fraction',
        '0.5',
        '--trees',
        '10',
      ],
      io,
    );
    expect(code).toBe(0);
    for (const text of [
      'AUC',
      'precision',
      'recall',
      'F1',
      'confusion',
      'riskiest 10 %',
      'riskiest 20 %',
      'importance',
      '200 training rows, 200 test rows',
    ]) {
      expect(io.out).toContain(text);
    }
    expect(io.out).toContain('not features (not numeric): id');
    expect(io.out).not.toMatch(/^\s+d\s/m);
  });
});

describe('rollguard model train', () => {
  it('writes the model, meta.json and card; a contract-named CSV gives a contract model', async () => {
    const out = path.join(dir, 'model');
    const io = capture();
    const code = await runModelCommand(
      ['train', '--data', contractCsv, '--label', 'bug', '--time', 't', '--trees', '12', '--seed', '4', '--out', out],
      io,
    );
    expect(io.err).toBe('');
    expect(code).toBe(0);
    expect(io.out).toMatch(/wrote .*model\.json, meta\.json, MODEL_CARD\.md: model-[0-9a-f]{12}, 12 trees/);
    const bundle = await loadModelDir(out);
    expect(bundle.meta).toMatchObject({
      contractVersion: 1,
      learnedFeatures: ['files_changed', 'lines_added'],
      trainedAt: '2024-05-05T00:00:00.000Z',
      trainer: { trees: 12, seed: 4 },
    });
    expect(bundle.meta.evaluation?.testRows).toBe(120);
    expect(loadForest(bundle.forest).featureCount).toBe(25);
    const card = await readFile(path.join(out, 'MODEL_CARD.md'), 'utf8');
    expect(card).toContain('## Evaluation on newer data');
    expect(card).toContain('rollguard model train --data');
  });

  it('skips rows without a time and says how many, in training and in evaluation', async () => {
    const text = await readFile(csv, 'utf8');
    const lines = text.trimEnd().split('\n');
    // Three rows lose their time: NA, empty, null.
    const gappy = lines.map((line, i) =>
      i === 5 || i === 50 || i === 150 ? line.replace(/,2024-[^,]+,/, `,${['NA', '', 'null'][i % 3] ?? ''},`) : line,
    );
    const file = path.join(dir, 'gappy.csv');
    await writeFile(file, `${gappy.join('\n')}\n`);
    const evaluated = capture();
    const args = ['--data', file, '--label', 'risky', '--time', 'when', '--trees', '5'];
    expect(await runModelCommand(['evaluate', ...args], evaluated)).toBe(0);
    expect(evaluated.out).toContain('rows       397 (');
    expect(evaluated.out).toContain('; 3 rows without a time skipped');
    const json = capture();
    expect(await runModelCommand(['evaluate', ...args, '--json'], json)).toBe(0);
    expect(JSON.parse(json.out)).toMatchObject({ rows: 397, skippedWithoutTime: 3 });
    const trained = capture();
    expect(await runModelCommand(['train', ...args, '--out', path.join(dir, 'gappy')], trained)).toBe(0);
    expect(trained.out).toContain('trained on 397 rows; 3 rows without a time skipped (missing when: NA or empty)');
  });

  it('trains without a time column (no evaluation)', async () => {
    const out = path.join(dir, 'plain');
    const io = capture();
    expect(await runModelCommand(['train', '--data', csv, '--label', 'risky', '--trees', '3', '--out', out], io)).toBe(
      0,
    );
    const bundle = await loadModelDir(out);
    expect(bundle.meta.evaluation).toBeNull();
    expect(bundle.meta.contractVersion).toBeNull();
  });
});

describe('usage', () => {
  it.each([
    [['--help'], MODEL_HELP],
    [['help'], MODEL_HELP],
    [['train', '--help'], TRAIN_HELP],
    [['evaluate', '-h'], EVALUATE_HELP],
  ])('%j prints its own help', async (argv, help) => {
    const io = capture();
    expect(await runModelCommand(argv, io)).toBe(0);
    expect(io.out).toBe(help);
  });

  it("each command documents its own flags and not the other's", () => {
    expect(TRAIN_HELP).toMatch(/^Usage: rollguard model train /);
    expect(TRAIN_HELP).toContain('--out DIR');
    expect(TRAIN_HELP).toContain('--name NAME');
    expect(TRAIN_HELP).not.toContain('--json');
    expect(EVALUATE_HELP).toMatch(/^Usage: rollguard model evaluate /);
    expect(EVALUATE_HELP).toContain('--json');
    expect(EVALUATE_HELP).toContain('--time COL              time column to order the rows by (required)');
    expect(EVALUATE_HELP).not.toContain('--out');
  });

  const errors: { argv: string[]; message: string | RegExp }[] = [
    { argv: [], message: 'which command? train or evaluate (see --help)' },
    { argv: ['fit'], message: 'unknown command "fit"; the commands are train and evaluate (see --help)' },
    { argv: ['evaluate', '--data', 'x.csv', '--label', 'y'], message: 'evaluate needs --time' },
    { argv: ['train', '--label', 'y', '--out', 'o'], message: 'train needs --data' },
    { argv: ['train', '--data', 'x', '--label', 'y'], message: 'train needs --out' },
    { argv: ['evaluate', '--bogus'], message: /Unknown option '--bogus'/ },
    {
      argv: ['evaluate', '--trees', 'many', '--data', 'x', '--label', 'y', '--time', 't'],
      message: '--trees must be an integer >= 1, not "many"',
    },
    {
      argv: ['evaluate', '--train-fraction', '1.2', '--data', 'x', '--label', 'y', '--time', 't'],
      message: '--train-fraction must be a number between 0 and 1, not "1.2"',
    },
    {
      argv: ['evaluate', '--data', '/nonexistent.csv', '--label', 'y', '--time', 't'],
      message: 'cannot read /nonexistent.csv: no such file',
    },
    { argv: ['evaluate', 'extra', '--data', 'x'], message: 'unexpected argument "extra"' },
  ];
  it.each(errors)('$argv → one line on stderr, exit 2', async ({ argv, message }) => {
    const io = capture();
    expect(await runModelCommand(argv, io)).toBe(2);
    expect(io.out).toBe('');
    expect(io.err.split('\n')).toHaveLength(2);
    expect(io.err).toMatch(/^rollguard model: /);
    if (typeof message === 'string') expect(io.err).toBe(`rollguard model: ${message}\n`);
    else expect(io.err).toMatch(message);
  });

  it('reports a data problem in one line', async () => {
    const io = capture();
    expect(await runModelCommand(['evaluate', '--data', csv, '--label', 'nope', '--time', 'when'], io)).toBe(2);
    expect(io.err).toBe('rollguard model: no label column "nope"; the columns are: id, when, a, b, c, d, risky\n');
  });
});
