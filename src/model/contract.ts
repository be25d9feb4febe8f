// Feature contract v1: the names, order and units of the vector every model is trained on and scored with
// (docs/contracts.md, "Feature contract v1"). Training and scoring both go through toFeatureVector, so the two
// can never disagree on column order; a change of meaning or order needs a new contract version.

/** Bumped whenever a name, order, unit or the missing-value fill changes; models record the one they use. */
export const FEATURE_CONTRACT_VERSION = 1;

/**
 * Missing values become -1. Every real value is >= 0, so -1 sorts below all of them and a tree can split on
 * "unknown" instead of guessing a value.
 */
export const MISSING_VALUE = -1;

/** Where a feature comes from at scoring time. */
export type FeatureSource =
  'change annotation' | 'clock' | 'assessments' | 'template diff' | 'template checks' | 'Prometheus';

export interface FeatureSpec {
  readonly name: string;
  readonly unit: string;
  readonly description: string;
  readonly source: FeatureSource;
}

export const FEATURE_CONTRACT = [
  {
    name: 'files_changed',
    unit: 'count (nf)',
    description: 'Files touched by the change.',
    source: 'change annotation',
  },
  {
    name: 'directories_changed',
    unit: 'count (nd)',
    description: 'Directories touched by the change.',
    source: 'change annotation',
  },
  {
    name: 'subsystems_changed',
    unit: 'count (ns)',
    description: 'Subsystems (top-level directories) touched by the change.',
    source: 'change annotation',
  },
  {
    name: 'lines_added',
    unit: 'lines (la, absolute)',
    description: 'Lines added, absolute (not normalised by file size).',
    source: 'change annotation',
  },
  {
    name: 'lines_deleted',
    unit: 'lines (ld, absolute)',
    description: 'Lines deleted, absolute (not normalised by file size).',
    source: 'change annotation',
  },
  {
    name: 'change_entropy',
    unit: 'bits, 0..log2(files)',
    description: 'Shannon entropy of the modified lines across files: how scattered the change is.',
    source: 'change annotation',
  },
  {
    name: 'is_fix',
    unit: '0/1',
    description: 'The change is a fix (is-fix, or change-type bugfix/hotfix).',
    source: 'change annotation',
  },
  {
    name: 'authors',
    unit: 'count',
    description: 'Distinct authors of the change.',
    source: 'change annotation',
  },
  {
    name: 'author_experience',
    unit: 'prior commits',
    description: 'Prior commits of the author(s) in the repository.',
    source: 'change annotation',
  },
  {
    name: 'test_coverage',
    unit: 'percent 0..100',
    description: 'Test coverage reported by CI.',
    source: 'change annotation',
  },
  {
    name: 'dependencies_changed',
    unit: 'count',
    description: 'Dependencies added, removed or upgraded.',
    source: 'change annotation',
  },
  {
    name: 'change_type',
    unit: '0 feature, 1 bugfix, 2 hotfix, 3 refactor, 4 config, 5 dependency',
    description: 'The kind of change, as CI declares it.',
    source: 'change annotation',
  },
  {
    name: 'hour_of_day',
    unit: '0..23',
    description: "Hour of the rollout in the policy's time zone.",
    source: 'clock',
  },
  {
    name: 'day_of_week',
    unit: '0 Sunday..6',
    description: "Day of the rollout in the policy's time zone.",
    source: 'clock',
  },
  {
    name: 'recent_rollbacks',
    unit: 'count, last 30 days',
    description: 'Rollbacks of this Deployment in the last 30 days.',
    source: 'assessments',
  },
  {
    name: 'recent_failures',
    unit: 'count, last 30 days',
    description: 'Failed rollouts of this Deployment in the last 30 days.',
    source: 'assessments',
  },
  {
    name: 'images_changed',
    unit: 'count',
    description: 'Containers whose image changed.',
    source: 'template diff',
  },
  {
    name: 'env_changed',
    unit: 'count',
    description: 'Environment variables added, removed or changed.',
    source: 'template diff',
  },
  {
    name: 'config_changed',
    unit: '0/1',
    description: 'Volumes, envFrom or ConfigMap references changed.',
    source: 'template diff',
  },
  {
    name: 'resources_changed',
    unit: '0/1',
    description: 'Resource requests or limits changed.',
    source: 'template diff',
  },
  {
    name: 'probes_changed',
    unit: '0/1',
    description: 'Liveness, readiness or startup probes changed.',
    source: 'template diff',
  },
  {
    name: 'replicas_changed',
    unit: '0/1',
    description: 'The replica count changed with the template.',
    source: 'template diff',
  },
  {
    name: 'risky_findings',
    unit: 'count',
    description: 'Findings of the deterministic checks on the new pod template.',
    source: 'template checks',
  },
  {
    name: 'error_rate_before',
    unit: 'ratio 0..1',
    description: "The service's error rate before the rollout.",
    source: 'Prometheus',
  },
  {
    name: 'latency_p99_before',
    unit: 'seconds',
    description: "The service's p99 latency before the rollout.",
    source: 'Prometheus',
  },
] as const satisfies readonly FeatureSpec[];

export type FeatureName = (typeof FEATURE_CONTRACT)[number]['name'];

/** Feature names in contract order: index i of a feature vector is FEATURE_NAMES[i]. */
export const FEATURE_NAMES: readonly FeatureName[] = FEATURE_CONTRACT.map((feature) => feature.name);

/**
 * The features the default model learns from real data (ApacheJIT commits mapped onto the contract, see
 * models/default/MODEL_CARD.md). Every other feature is missing (-1) in that data, so the default model has
 * nothing learned behind it and only the deterministic rules use it. `authors` is not here: ApacheJIT's `ndev`
 * counts the developers who ever touched the files, not the authors of this change.
 */
export const LEARNED_FEATURES: readonly FeatureName[] = [
  'files_changed',
  'directories_changed',
  'subsystems_changed',
  'lines_added',
  'lines_deleted',
  'change_entropy',
  'is_fix',
  'author_experience',
];

export function isFeatureName(name: string): name is FeatureName {
  return (FEATURE_NAMES as readonly string[]).includes(name);
}

/**
 * The feature vector in contract order. Absent, NaN and infinite values are missing and become -1: a model must
 * never see a value outside what it was trained on because an annotation could not be parsed.
 */
export function toFeatureVector(features: Partial<Record<FeatureName, number>>): number[] {
  return FEATURE_NAMES.map((name) => {
    const value = features[name];
    return value !== undefined && Number.isFinite(value) ? value : MISSING_VALUE;
  });
}

/**
 * Rows of a data set whose columns are named after contract features, rearranged into contract vectors (the
 * other features missing). Undefined when some column is not a contract feature: such a model can only score
 * rows shaped like its own CSV, not what the operator builds.
 */
export function toContractRows(names: readonly string[], rows: readonly (readonly number[])[]): number[][] | undefined {
  if (!names.every(isFeatureName)) return undefined;
  const positions = names.map((name) => FEATURE_NAMES.indexOf(name));
  return rows.map((row) => {
    const vector = new Array<number>(FEATURE_NAMES.length).fill(MISSING_VALUE);
    positions.forEach((position, column) => {
      vector[position] = row[column] ?? MISSING_VALUE;
    });
    return vector;
  });
}
