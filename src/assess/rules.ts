// The rule-based risk factors. Each factor looks at one or two features and, when they are risky, adds a
// hazard and a reason in plain words. Hazards add up and become a probability as 1 - exp(-sum), so factors
// combine like independent risks and the score stays below 1.
//
// The factors are used in two ways (see score.ts): alone, when no model is loaded, and beside the model for
// the features the model did not learn from data (the default model learned only the change metrics from
// public commit data; it has never seen a pod template, a time of day or a live error rate).

export type FeatureValues = Partial<Record<string, number>>;

export interface RiskFactor {
  /** The features this factor reads; a model that learned all of them replaces the factor. */
  features: string[];
  hazard: (f: FeatureValues) => number;
  reason: (f: FeatureValues) => string;
}

export interface FactorContribution {
  features: string[];
  hazard: number;
  reason: string;
}

/** Hazard of a change nobody described: small, but not zero. */
export const baseHazard = 0.08;

const num = (f: FeatureValues, name: string): number | undefined => {
  const value = f[name];
  return value === undefined || value < 0 ? undefined : value;
};
// One formatter, made once: `toLocaleString` with options builds a new one on every call, which showed in the
// operator's CPU profile under a burst of assessments.
const twoDecimals = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
export const fmt = (n: number): string => twoDecimals.format(n);
const changeTypeNames = ['feature', 'bugfix', 'hotfix', 'refactor', 'config', 'dependency'];

export const riskFactors: RiskFactor[] = [
  {
    features: ['lines_added', 'lines_deleted'],
    hazard: (f) => {
      const churn = (num(f, 'lines_added') ?? 0) + (num(f, 'lines_deleted') ?? 0);
      return churn <= 100 ? 0 : 0.22 * Math.log10(churn / 100);
    },
    reason: (f) =>
      `large change: ${fmt((num(f, 'lines_added') ?? 0) + (num(f, 'lines_deleted') ?? 0))} lines added or deleted`,
  },
  {
    features: ['files_changed'],
    hazard: (f) => {
      const files = num(f, 'files_changed') ?? 0;
      return files <= 5 ? 0 : 0.18 * Math.log10(files / 5);
    },
    reason: (f) => `${fmt(num(f, 'files_changed') ?? 0)} files changed`,
  },
  {
    features: ['subsystems_changed', 'directories_changed'],
    hazard: (f) => {
      const spread = Math.max((num(f, 'subsystems_changed') ?? 0) * 2, num(f, 'directories_changed') ?? 0);
      return spread <= 3 ? 0 : Math.min(0.25, 0.05 * (spread - 3));
    },
    reason: (f) =>
      `change spread across ${fmt(num(f, 'subsystems_changed') ?? 0)} subsystems and ${fmt(num(f, 'directories_changed') ?? 0)} directories`,
  },
  {
    features: ['change_entropy'],
    hazard: (f) => Math.max(0, ((num(f, 'change_entropy') ?? 0) - 2) * 0.06),
    reason: (f) => `change scattered across files (entropy ${fmt(num(f, 'change_entropy') ?? 0)} bits)`,
  },
  {
    features: ['change_type', 'is_fix'],
    hazard: (f) => {
      const type = num(f, 'change_type');
      if (type === 2) return 0.2; // hotfix: written under pressure, reviewed less
      if (type === 5 || type === 4) return 0.08;
      return num(f, 'is_fix') === 1 ? 0.05 : 0;
    },
    reason: (f) => {
      const type = num(f, 'change_type');
      return type === undefined
        ? 'a fix, and fixes often introduce defects of their own'
        : `a ${changeTypeNames[type] ?? 'change'}`;
    },
  },
  {
    features: ['test_coverage'],
    hazard: (f) => {
      const coverage = num(f, 'test_coverage');
      return coverage === undefined || coverage >= 60 ? 0 : ((60 - coverage) / 60) * 0.3;
    },
    reason: (f) => `low test coverage (${fmt(num(f, 'test_coverage') ?? 0)} %)`,
  },
  {
    features: ['author_experience'],
    hazard: (f) => {
      const exp = num(f, 'author_experience');
      return exp === undefined || exp >= 20 ? 0 : 0.1 * (1 - exp / 20);
    },
    reason: (f) => `author new to the code (${fmt(num(f, 'author_experience') ?? 0)} prior commits)`,
  },
  {
    features: ['dependencies_changed'],
    hazard: (f) => Math.min(0.25, 0.04 * (num(f, 'dependencies_changed') ?? 0)),
    reason: (f) => `${fmt(num(f, 'dependencies_changed') ?? 0)} dependencies changed`,
  },
  {
    features: ['recent_rollbacks'],
    hazard: (f) => Math.min(0.6, 0.25 * (num(f, 'recent_rollbacks') ?? 0)),
    reason: (f) => `this Deployment was rolled back ${fmt(num(f, 'recent_rollbacks') ?? 0)} times in the last 30 days`,
  },
  {
    features: ['recent_failures'],
    hazard: (f) => Math.min(0.45, 0.15 * (num(f, 'recent_failures') ?? 0)),
    reason: (f) => `${fmt(num(f, 'recent_failures') ?? 0)} failed rollouts of this Deployment in the last 30 days`,
  },
  {
    features: ['hour_of_day', 'day_of_week'],
    hazard: (f) => {
      const hour = num(f, 'hour_of_day');
      const day = num(f, 'day_of_week');
      if (hour === undefined || day === undefined) return 0;
      if (day === 0 || day === 6) return 0.15;
      if (day === 5 && hour >= 15) return 0.15;
      return hour < 7 || hour >= 19 ? 0.1 : 0;
    },
    reason: (f) => {
      const day = num(f, 'day_of_week');
      if (day === 0 || day === 6) return 'released at the weekend';
      if (day === 5 && (num(f, 'hour_of_day') ?? 0) >= 15) return 'released late on a Friday';
      return `released out of hours (${fmt(num(f, 'hour_of_day') ?? 0)}:00 in the policy's time zone)`;
    },
  },
  {
    features: ['images_changed'],
    hazard: (f) => Math.min(0.15, 0.05 * (num(f, 'images_changed') ?? 0)),
    reason: (f) => `${fmt(num(f, 'images_changed') ?? 0)} container images changed`,
  },
  {
    features: ['env_changed'],
    hazard: (f) => Math.min(0.12, 0.03 * (num(f, 'env_changed') ?? 0)),
    reason: (f) => `${fmt(num(f, 'env_changed') ?? 0)} environment variables changed`,
  },
  {
    features: ['config_changed'],
    hazard: (f) => (num(f, 'config_changed') === 1 ? 0.1 : 0),
    reason: () => 'configuration sources (volumes, envFrom) changed',
  },
  {
    features: ['resources_changed'],
    hazard: (f) => (num(f, 'resources_changed') === 1 ? 0.05 : 0),
    reason: () => 'CPU or memory requests or limits changed',
  },
  {
    features: ['probes_changed'],
    hazard: (f) => (num(f, 'probes_changed') === 1 ? 0.1 : 0),
    reason: () => 'health probes changed',
  },
  {
    features: ['risky_findings'],
    hazard: (f) => Math.min(0.45, 0.15 * (num(f, 'risky_findings') ?? 0)),
    reason: (f) => `${fmt(num(f, 'risky_findings') ?? 0)} risky settings in the new pod template`,
  },
  {
    features: ['error_rate_before'],
    hazard: (f) => {
      const rate = num(f, 'error_rate_before');
      return rate === undefined || rate <= 0.01 ? 0 : Math.min(0.3, rate * 3);
    },
    reason: (f) => `the service is already failing ${fmt((num(f, 'error_rate_before') ?? 0) * 100)} % of requests`,
  },
  {
    features: ['latency_p99_before'],
    hazard: (f) => {
      const p99 = num(f, 'latency_p99_before');
      return p99 === undefined || p99 <= 1 ? 0 : Math.min(0.2, 0.1 * p99);
    },
    reason: (f) => `the service is already slow (p99 ${fmt(num(f, 'latency_p99_before') ?? 0)} s)`,
  },
];

/** The contributions of the factors not covered by `learned`, strongest first, zero ones left out. */
export function factorContributions(features: FeatureValues, learned: ReadonlySet<string>): FactorContribution[] {
  return riskFactors
    .filter((factor) => !factor.features.every((name) => learned.has(name)))
    .map((factor) => ({ features: factor.features, hazard: factor.hazard(features), reason: factor.reason(features) }))
    .filter((c) => c.hazard > 1e-9)
    .sort((a, b) => b.hazard - a.hazard);
}
