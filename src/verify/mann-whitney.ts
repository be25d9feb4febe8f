// The Mann–Whitney U test (Wilcoxon rank-sum), two-sided, as Kayenta uses it to compare a new version's
// samples with a baseline's without assuming they are normally distributed (latency never is).
//
// The p-value uses the normal approximation with the tie correction and a continuity correction (the same
// as scipy.stats.mannwhitneyu(method="asymptotic")). It is exact enough when both samples hold at least 8
// values; below that the result says `reliable: false` and callers should not act on it. An exact
// small-sample distribution is not worth its code here: an interval's samples are far more than 8.

export interface MannWhitneyResult {
  /** U of the first sample: the number of pairs (x, y) with x > y, a tie counting one half. */
  readonly u: number;
  /** Standardised U; positive when the first sample tends to be larger. */
  readonly z: number;
  /** Two-sided p-value. */
  readonly p: number;
  readonly n1: number;
  readonly n2: number;
  /** Both samples have at least MIN_RELIABLE_SAMPLES values, so the approximation can be trusted. */
  readonly reliable: boolean;
}

export const MIN_RELIABLE_SAMPLES = 8;

/**
 * erfc(x) by the Chebyshev fit of Numerical Recipes (`erfcc`), with a fractional error below 1.2e-7
 * everywhere: ample for comparing p with 0.05 or 0.01.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -z * z -
    1.26551223 +
    t *
      (1.00002368 +
        t *
          (0.37409196 +
            t *
              (0.09678418 +
                t *
                  (-0.18628806 +
                    t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  const r = t * Math.exp(poly);
  return x >= 0 ? r : 2 - r;
}

/** P(Z ≤ z) for a standard normal Z. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / Math.SQRT2);
}

/**
 * Compares two samples. NaN values are dropped (they are "no requests at that step", not a measurement).
 * Returns undefined when either sample is empty: there is nothing to compare.
 */
export function mannWhitneyU(first: readonly number[], second: readonly number[]): MannWhitneyResult | undefined {
  const x = first.filter((v) => !Number.isNaN(v));
  const y = second.filter((v) => !Number.isNaN(v));
  const n1 = x.length;
  const n2 = y.length;
  if (n1 === 0 || n2 === 0) return undefined;

  const pooled = [...x.map((value) => ({ value, first: true })), ...y.map((value) => ({ value, first: false }))].sort(
    (a, b) => a.value - b.value,
  );
  let rankSumFirst = 0;
  let tieTerm = 0;
  for (let i = 0; i < pooled.length;) {
    let j = i;
    while (j + 1 < pooled.length && pooled[j + 1]?.value === pooled[i]?.value) j++;
    // Ranks are 1-based; tied values share the average of the ranks they span.
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (pooled[k]?.first === true) rankSumFirst += rank;
    const t = j - i + 1;
    tieTerm += t * t * t - t;
    i = j + 1;
  }

  const n = n1 + n2;
  const u = rankSumFirst - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1)));
  const reliable = n1 >= MIN_RELIABLE_SAMPLES && n2 >= MIN_RELIABLE_SAMPLES;
  const distance = u - mean;
  if (variance <= 0 || Math.abs(distance) < 0.5) return { u, z: 0, p: 1, n1, n2, reliable };
  const z = (distance - 0.5 * Math.sign(distance)) / Math.sqrt(variance);
  const p = Math.min(1, 2 * normalCdf(-Math.abs(z)));
  return { u, z, p, n1, n2, reliable };
}
