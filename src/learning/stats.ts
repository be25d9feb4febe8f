// The two-sample tests behind drift detection, pure and dependency-free: Kolmogorov–Smirnov for numeric
// features (statistic D and its asymptotic p-value) and Pearson's chi-square test of homogeneity for
// categorical ones (statistic, degrees of freedom, p-value from the regularised incomplete gamma function, and
// Cramér's V as an effect size in 0..1). Both samples may be weighted, because the training side of a drift
// check is a compact summary of the training data, not its rows (see drift.ts).

/** A sample as distinct values with how often each occurs (weights need not be integers). */
export interface WeightedSample {
  /** Distinct values, ascending. */
  readonly values: readonly number[];
  /** weights[i] is how many observations have values[i]. */
  readonly weights: readonly number[];
}

/** Collapses raw observations into a WeightedSample (NaN is dropped). */
export function weightedSample(observations: readonly number[]): WeightedSample {
  const sorted = observations.filter((value) => !Number.isNaN(value)).sort((a, b) => a - b);
  const values: number[] = [];
  const weights: number[] = [];
  for (const value of sorted) {
    if (values.length > 0 && values[values.length - 1] === value)
      weights[weights.length - 1] = (weights.at(-1) ?? 0) + 1;
    else {
      values.push(value);
      weights.push(1);
    }
  }
  return { values, weights };
}

function totalWeight(sample: WeightedSample): number {
  return sample.weights.reduce((sum, weight) => sum + weight, 0);
}

/**
 * The Kolmogorov–Smirnov statistic D = sup_x |F_a(x) − F_b(x)| between the two empirical distribution
 * functions, found in one merge of the sorted distinct values (the supremum is reached at one of them).
 */
export function ksStatistic(a: WeightedSample, b: WeightedSample): number {
  const totalA = totalWeight(a);
  const totalB = totalWeight(b);
  if (totalA === 0 || totalB === 0) return NaN;
  let i = 0;
  let j = 0;
  let cumulativeA = 0;
  let cumulativeB = 0;
  let d = 0;
  while (i < a.values.length || j < b.values.length) {
    const nextA = a.values[i] ?? Infinity;
    const nextB = b.values[j] ?? Infinity;
    const x = Math.min(nextA, nextB);
    // Step both functions past every observation equal to x before comparing: ties move together.
    if (nextA === x) cumulativeA += a.weights[i++] ?? 0;
    if (nextB === x) cumulativeB += b.weights[j++] ?? 0;
    d = Math.max(d, Math.abs(cumulativeA / totalA - cumulativeB / totalB));
  }
  return d;
}

/**
 * Q_KS(λ) = P(K > λ) for the Kolmogorov distribution, the limit law of √n·D. Two series, each used where it
 * converges in a few terms: for λ < 1.18 the Jacobi-theta form 1 − (√(2π)/λ)·Σ exp(−(2j−1)²π²/(8λ²)), else the
 * alternating 2·Σ (−1)^(j−1)·exp(−2j²λ²). Both are the same function; switching keeps 4 terms enough for
 * double precision.
 */
export function kolmogorovQ(lambda: number): number {
  if (Number.isNaN(lambda)) return NaN;
  if (lambda <= 0.04) return 1;
  if (lambda < 1.18) {
    let sum = 0;
    for (let j = 1; j <= 6; j++) sum += Math.exp((-((2 * j - 1) ** 2) * Math.PI ** 2) / (8 * lambda * lambda));
    return Math.min(1, Math.max(0, 1 - (Math.sqrt(2 * Math.PI) / lambda) * sum));
  }
  let sum = 0;
  for (let j = 1; j <= 6; j++) sum += (j % 2 === 1 ? 1 : -1) * Math.exp(-2 * j * j * lambda * lambda);
  return Math.min(1, Math.max(0, 2 * sum));
}

export interface KsResult {
  readonly statistic: number;
  /** Asymptotic two-sided p-value; conservative (too large) for data with many ties, like counts. */
  readonly pValue: number;
  /** Sizes the p-value is computed for. */
  readonly n: number;
  readonly m: number;
}

/**
 * Two-sample Kolmogorov–Smirnov test. The p-value is Q_KS((√nₑ + 0.12 + 0.11/√nₑ)·D) with nₑ = nm/(n+m):
 * Stephens' (1970) correction of the asymptotic law, accurate for nₑ ≥ 4 and what Numerical Recipes uses.
 * `n` and `m` default to the samples' total weights; pass them when a sample is a summary that stands for more
 * observations than its weights add up to.
 */
export function ksTest(a: WeightedSample, b: WeightedSample, n = totalWeight(a), m = totalWeight(b)): KsResult {
  const statistic = ksStatistic(a, b);
  if (Number.isNaN(statistic) || n <= 0 || m <= 0) return { statistic: NaN, pValue: NaN, n, m };
  const effective = Math.sqrt((n * m) / (n + m));
  return { statistic, pValue: kolmogorovQ((effective + 0.12 + 0.11 / effective) * statistic), n, m };
}

/** The same test on raw observations. */
export function ksTwoSample(a: readonly number[], b: readonly number[]): KsResult {
  return ksTest(weightedSample(a), weightedSample(b));
}

// Lanczos approximation (g = 7, 9 coefficients): ln Γ(x) to about 15 significant digits for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos; the reflection formula covers 0 < x < 0.5). */
export function logGamma(x: number): number {
  if (!(x > 0)) return NaN;
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = LANCZOS[0] ?? 0;
  for (let k = 1; k < LANCZOS.length; k++) sum += (LANCZOS[k] ?? 0) / (z + k);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

const GAMMA_EPSILON = 1e-15;
const GAMMA_MAX_ITERATIONS = 1000;
const TINY = 1e-300;

/**
 * The regularised lower incomplete gamma function P(a, x) = γ(a, x)/Γ(a), and its complement Q = 1 − P.
 *
 * Method (as in Numerical Recipes' gser/gcf): for x < a + 1 the power series
 * P = e^(−x)·x^a/Γ(a+1) · Σₙ xⁿ/((a+1)…(a+n)), whose terms shrink fast there; otherwise Legendre's continued
 * fraction for Q, Q = e^(−x)·x^a/Γ(a) · 1/(x+1−a − 1·(1−a)/(x+3−a − 2·(2−a)/(x+5−a − …))), evaluated with the
 * modified Lentz algorithm. Each is used where it converges quickly, and the other value is 1 minus it, so a
 * tiny p-value is computed directly instead of as 1 − (something close to 1).
 */
export function regularisedGamma(a: number, x: number): { readonly p: number; readonly q: number } {
  if (!(a > 0) || Number.isNaN(x) || x < 0) return { p: NaN, q: NaN };
  if (x === 0) return { p: 0, q: 1 };
  if (x === Infinity) return { p: 1, q: 0 };
  const logPrefix = a * Math.log(x) - x - logGamma(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < GAMMA_MAX_ITERATIONS; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * GAMMA_EPSILON) break;
    }
    const p = Math.min(1, sum * Math.exp(logPrefix));
    return { p, q: 1 - p };
  }
  // Modified Lentz for the continued fraction b₀ + a₁/(b₁ + a₂/(b₂ + …)) with bₙ = x + 2n + 1 − a, aₙ = −n(n − a).
  let b = x + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let n = 1; n < GAMMA_MAX_ITERATIONS; n++) {
    const an = -n * (n - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < GAMMA_EPSILON) break;
  }
  const q = Math.min(1, Math.exp(logPrefix) * h);
  return { p: 1 - q, q };
}

/** P(χ²_dof > x): the upper tail of the chi-square distribution, Q(dof/2, x/2). */
export function chiSquareSurvival(x: number, dof: number): number {
  if (dof <= 0) return NaN;
  return regularisedGamma(dof / 2, x / 2).q;
}

export interface ChiSquareResult {
  readonly statistic: number;
  readonly dof: number;
  readonly pValue: number;
  /** Cramér's V = √(χ² / (N·(min(rows, columns) − 1))): the strength of the difference in 0..1. */
  readonly cramersV: number;
  /** Observations in the table. */
  readonly total: number;
}

/**
 * Pearson's chi-square test of homogeneity on a contingency table (rows = samples, columns = categories).
 * Rows and columns that are all zero are dropped first: a category nobody used carries no evidence and would
 * only add a degree of freedom. With fewer than two rows or columns left there is nothing to compare: χ² = 0,
 * p = 1, V = 0. Expected counts below 5 make the p-value approximate (the usual caveat of the test).
 */
export function chiSquareTest(table: readonly (readonly number[])[]): ChiSquareResult {
  const width = Math.max(0, ...table.map((row) => row.length));
  const rowTotals = table.map((row) => row.reduce((sum, count) => sum + count, 0));
  const columnTotals = Array.from({ length: width }, (_, c) => table.reduce((sum, row) => sum + (row[c] ?? 0), 0));
  const rows = table.map((_, r) => r).filter((r) => (rowTotals[r] ?? 0) > 0);
  const columns = columnTotals.map((_, c) => c).filter((c) => (columnTotals[c] ?? 0) > 0);
  const total = rowTotals.reduce((sum, count) => sum + count, 0);
  if (rows.length < 2 || columns.length < 2) return { statistic: 0, dof: 0, pValue: 1, cramersV: 0, total };
  let statistic = 0;
  for (const r of rows) {
    for (const c of columns) {
      const expected = ((rowTotals[r] ?? 0) * (columnTotals[c] ?? 0)) / total;
      const observed = table[r]?.[c] ?? 0;
      statistic += (observed - expected) ** 2 / expected;
    }
  }
  const dof = (rows.length - 1) * (columns.length - 1);
  const k = Math.min(rows.length, columns.length) - 1;
  return {
    statistic,
    dof,
    pValue: chiSquareSurvival(statistic, dof),
    cramersV: Math.min(1, Math.sqrt(statistic / (total * k))),
    total,
  };
}
