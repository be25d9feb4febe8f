// The model card (MODEL_CARD.md) written beside a model: what it was trained on, which features it learned,
// how good it was on held-out newer data, how to rebuild it, and what it cannot do. Pure: meta in, Markdown out.

import { FEATURE_CONTRACT } from './contract.js';
import type { ModelMeta } from './store.js';

export interface CardText {
  readonly title: string;
  /** Paragraphs before the figures: what the model is for. */
  readonly summary: readonly string[];
  /** Bullet points on the data: source, licence, how columns were mapped. */
  readonly data: readonly string[];
  /** The command that rebuilds the model. */
  readonly rebuild: string;
  /** Bullet points: what the model cannot do or should not be trusted for. */
  readonly limits: readonly string[];
}

function fixed(value: number, digits = 3): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

function pct(value: number): string {
  return Number.isFinite(value) ? `${(value * 100).toFixed(1)} %` : 'n/a';
}

function featureRows(meta: ModelMeta): string[] {
  const learned = new Set(meta.learnedFeatures);
  const importance = (name: string): string => fixed(meta.importances[name] ?? 0);
  if (meta.contractVersion !== null) {
    return [
      '| # | feature | unit | source at scoring time | learned from data | importance |',
      '|---|---|---|---|---|---|',
      ...FEATURE_CONTRACT.map(
        (feature, i) =>
          `| ${i} | \`${feature.name}\` | ${feature.unit} | ${feature.source} | ` +
          `${learned.has(feature.name) ? 'yes' : 'no — missing (-1) in the training data; rules only'} | ` +
          `${learned.has(feature.name) ? importance(feature.name) : '–'} |`,
      ),
    ];
  }
  return [
    '| # | feature | learned from data | importance |',
    '|---|---|---|---|',
    ...meta.featureNames.map(
      (name, i) => `| ${i} | \`${name}\` | ${learned.has(name) ? 'yes' : 'no (constant)'} | ${importance(name)} |`,
    ),
  ];
}

function evaluationRows(meta: ModelMeta): string[] {
  const e = meta.evaluation;
  if (e === null) return ['Not evaluated: training was given no time column to hold out the newest rows by.'];
  const c = e.confusion;
  return [
    `${e.method[0]?.toUpperCase() ?? ''}${e.method.slice(1)}. The model files were then trained on all rows with the same settings.`,
    '',
    '| figure | value |',
    '|---|---|',
    `| AUC | ${fixed(e.auc)} |`,
    `| precision at ${e.threshold} | ${fixed(e.precision)} |`,
    `| recall at ${e.threshold} | ${fixed(e.recall)} |`,
    `| F1 at ${e.threshold} | ${fixed(e.f1)} |`,
    `| risky changes caught in the riskiest 10 % | ${pct(e.caughtTop10)} |`,
    `| risky changes caught in the riskiest 20 % | ${pct(e.caughtTop20)} |`,
    `| training rows / test rows | ${e.trainRows} / ${e.testRows} (${e.positives} risky in test) |`,
    `| training time | ${Math.round(e.trainMs)} ms |`,
    '',
    `Confusion matrix at ${e.threshold} (rows: actual, columns: predicted):`,
    '',
    '| | predicted risky | predicted safe |',
    '|---|---|---|',
    `| risky | ${c.truePositives} | ${c.falseNegatives} |`,
    `| safe | ${c.falsePositives} | ${c.trueNegatives} |`,
  ];
}

export function renderModelCard(meta: ModelMeta, text: CardText): string {
  const t = meta.trainer;
  const ranked = Object.entries(meta.importances)
    .filter(([, value]) => value > 0)
    .sort((a, b) => b[1] - a[1]);
  const lines = [
    `# ${text.title}`,
    '',
    ...text.summary.flatMap((paragraph) => [paragraph, '']),
    `Model version \`${meta.modelVersion}\`, trained ${meta.trainedAt}` +
      (meta.contractVersion === null
        ? ', over the columns of its CSV (not the feature contract: the operator cannot use it).'
        : `, feature contract v${meta.contractVersion}.`),
    '',
    '## Data',
    '',
    ...text.data.map((item) => `- ${item}`),
    `- ${meta.data.rows} rows, ${meta.data.positives} of them risky (${pct(meta.data.positives / meta.data.rows)}).`,
    '',
    '## Features',
    '',
    ...featureRows(meta),
    '',
    '## Evaluation on newer data',
    '',
    ...evaluationRows(meta),
    '',
    '## Feature importances',
    '',
    'Mean decrease in Gini impurity over the trees, normalised to sum 1.',
    '',
    ...ranked.map(([name, value]) => `- \`${name}\` ${fixed(value)}`),
    '',
    '## Model',
    '',
    `A random forest of ${meta.trees} trees (${meta.nodes} nodes) in ml-random-forest's JSON format ` +
      "(`model.json`, loaded with `RandomForestClassifier.load`); `meta.json` holds this card's figures. " +
      'The risk score is the share of trees voting risky.',
    '',
    `Trainer settings: ${t.trees} trees, seed ${t.seed}, features per split ${String(t.maxFeatures)}, ` +
      `min rows per leaf ${t.minSamplesLeaf}, max depth ${t.maxDepth ?? 'none'}, ${t.maxBins} bins per feature.`,
    '',
    '## Rebuild',
    '',
    '```sh',
    text.rebuild,
    '```',
    '',
    '## Limits',
    '',
    ...text.limits.map((item) => `- ${item}`),
    '',
  ];
  return lines.join('\n');
}
