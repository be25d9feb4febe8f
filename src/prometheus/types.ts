// The metrics-provider interface and the result of one query, as a discriminated union. Every way a query can
// end has its own `kind` and a `message` a person can read, because "no data", "Prometheus is down" and "the
// new version is failing" must never be confused: only the last one may ever lead to a rollback.

/** Labels of one series, e.g. `{ deployment: "web", pod_template_hash: "5d8f9c" }`. */
export type Labels = Readonly<Record<string, string>>;

/** One labelled sample of an instant vector. `value` may be NaN or ±Infinity: Prometheus sends them as strings. */
export interface Sample {
  readonly labels: Labels;
  /** Unix time in seconds, as Prometheus sends it. */
  readonly timestamp: number;
  readonly value: number;
}

/** One labelled series of a range query. */
export interface Series {
  readonly labels: Labels;
  readonly points: readonly { readonly timestamp: number; readonly value: number }[];
}

/** A single finite number: a scalar, or the only sample of a vector (see `expectSingle`). */
export interface ValueResult {
  readonly kind: 'value';
  readonly value: number;
  readonly labels: Labels;
  readonly timestamp: number;
  readonly message: string;
}

/** An instant vector with at least one sample; samples may hold NaN or ±Inf (each is judged on its own). */
export interface VectorResult {
  readonly kind: 'vector';
  readonly samples: readonly Sample[];
  readonly message: string;
}

/** A range-query answer with at least one series. */
export interface MatrixResult {
  readonly kind: 'matrix';
  readonly series: readonly Series[];
  readonly message: string;
}

/** The query matched no series: no traffic yet, or labels that do not match. Not a failure of anything. */
export interface EmptyResult {
  readonly kind: 'empty';
  readonly message: string;
}

/** A single value that is NaN (usually 0/0: no requests in the window) or ±Inf. */
export interface NotANumberResult {
  readonly kind: 'not-a-number';
  /** NaN, Infinity or -Infinity. */
  readonly value: number;
  readonly labels: Labels;
  readonly message: string;
}

/** Several series where the caller expected one: the query does not aggregate away enough labels. */
export interface MultipleSeriesResult {
  readonly kind: 'multiple-series';
  readonly count: number;
  /** The label sets of the first few series, to show which label splits them. */
  readonly examples: readonly Labels[];
  readonly message: string;
}

/** Prometheus (or a proxy in front of it) answered with an HTTP error status. */
export interface HttpErrorResult {
  readonly kind: 'http-error';
  readonly status: number;
  /** Prometheus's `error` text, or the start of whatever else the body held. */
  readonly error: string;
  readonly message: string;
}

/** Prometheus rejected the query itself (`bad_data`, `execution`): the template needs fixing, not the rollout. */
export interface PromqlErrorResult {
  readonly kind: 'promql-error';
  readonly status: number;
  readonly errorType: string;
  readonly error: string;
  readonly message: string;
}

/** No answer at all: connection refused, DNS failure, connection reset, TLS failure. */
export interface UnreachableResult {
  readonly kind: 'unreachable';
  readonly reason: 'refused' | 'dns' | 'reset' | 'tls' | 'other';
  readonly message: string;
}

/** The answer did not come in time (`slow`), or the caller cancelled the query (`aborted`). */
export interface TimeoutResult {
  readonly kind: 'timeout';
  readonly reason: 'slow' | 'aborted';
  readonly message: string;
}

/** Something answered, but not with Prometheus's JSON: an HTML page, truncated JSON, a foreign shape. */
export interface InvalidResponseResult {
  readonly kind: 'invalid-response';
  readonly message: string;
}

export type QueryResult =
  | ValueResult
  | VectorResult
  | MatrixResult
  | EmptyResult
  | NotANumberResult
  | MultipleSeriesResult
  | HttpErrorResult
  | PromqlErrorResult
  | UnreachableResult
  | TimeoutResult
  | InvalidResponseResult;

export type QueryResultKind = QueryResult['kind'];

/** The provider could not answer the question: never evidence against a rollout. */
export type ProviderFailure =
  HttpErrorResult | PromqlErrorResult | UnreachableResult | TimeoutResult | InvalidResponseResult;

/** What one metric of one ReplicaSet can read as, once a result has been narrowed to a single series. */
export type SingleResult = ValueResult | EmptyResult | NotANumberResult | MultipleSeriesResult | ProviderFailure;

const failureKinds: ReadonlySet<QueryResultKind> = new Set([
  'http-error',
  'promql-error',
  'unreachable',
  'timeout',
  'invalid-response',
]);

export function isProviderFailure(result: QueryResult): result is ProviderFailure {
  return failureKinds.has(result.kind);
}

/** Health of the provider itself, checked before blaming a rollout for what the numbers say. */
export type HealthResult =
  | { readonly healthy: true; readonly via: 'ready-endpoint' | 'query'; readonly message: string }
  | { readonly healthy: false; readonly failure: ProviderFailure; readonly message: string };

/** What a query is for, so its cost can be told apart in rollguard's own metrics. */
export type QueryPurpose = 'live-signals' | 'verification' | 'baseline' | 'health' | 'other';

export interface InstantQueryOptions {
  readonly signal?: AbortSignal;
  /** Evaluation time; the server's "now" when absent. */
  readonly time?: Date;
  /** Default `other`. */
  readonly purpose?: QueryPurpose;
}

export interface RangeQueryOptions {
  readonly start: Date;
  readonly end: Date;
  /** Resolution step in seconds. */
  readonly step: number;
  readonly signal?: AbortSignal;
  /** Default `other`. */
  readonly purpose?: QueryPurpose;
}

/**
 * A source of metrics. Implementations never throw or reject: every failure is a result variant, so callers
 * handle an outage with the same switch as a value.
 */
export interface MetricsProvider {
  instant(query: string, options?: InstantQueryOptions): Promise<QueryResult>;
  range(query: string, options: RangeQueryOptions): Promise<QueryResult>;
  healthy(options?: { readonly signal?: AbortSignal }): Promise<HealthResult>;
}

/** How many label sets a multiple-series result keeps as examples. */
const MAX_EXAMPLES = 3;

export function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `{${parts.join(', ')}}`;
}

/**
 * A reading that can only be zero or more (a ratio, a latency) made fit to record. Prometheus can return a
 * little below zero — `1 - success/total` when the two series were scraped at different moments — and a
 * status field with `minimum: 0` would refuse the whole write, stalling the rollout's record. Below zero
 * becomes 0, with a note saying what was read; a value that is not finite is dropped, with a note too.
 */
export function nonNegativeReading(value: number, what: string): { value?: number; note?: string } {
  if (!Number.isFinite(value)) return { note: `${what} read as ${formatValue(value)}; not recorded` };
  if (value >= 0) return { value };
  return {
    value: 0,
    note: `${what} read as ${formatValue(value)} (series scraped at different moments can dip below zero); recorded as 0`,
  };
}

/** Renders a number the way Prometheus writes it, so NaN and ±Inf read the same in messages as in the UI. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(Number(value.toPrecision(6)));
}

function notANumber(value: number, labels: Labels): NotANumberResult {
  const message = Number.isNaN(value)
    ? 'the query returned NaN (usually 0/0: no requests in the window)'
    : `the query returned ${formatValue(value)} (for a quantile: above the highest histogram bucket)`;
  return { kind: 'not-a-number', value, labels, message };
}

/** A single number as a result: finite numbers become `value`, NaN and ±Inf become `not-a-number`. */
export function singleValue(value: number, labels: Labels = {}, timestamp = 0): ValueResult | NotANumberResult {
  if (!Number.isFinite(value)) return notANumber(value, labels);
  return { kind: 'value', value, labels, timestamp, message: `the query returned ${formatValue(value)}` };
}

export function emptyResult(detail?: string): EmptyResult {
  return {
    kind: 'empty',
    message: detail ?? 'the query returned no series (no traffic in the window, or labels that do not match)',
  };
}

export function multipleSeries(labelSets: readonly Labels[]): MultipleSeriesResult {
  const examples = labelSets.slice(0, MAX_EXAMPLES);
  return {
    kind: 'multiple-series',
    count: labelSets.length,
    examples,
    message:
      `the query returned ${labelSets.length} series where one was expected, e.g. ` +
      `${examples.map(formatLabels).join(', ')}; aggregate it (for example sum by (deployment, pod_template_hash))`,
  };
}

/**
 * Narrows a result to one series: a vector of one sample becomes its value (or `not-a-number`), a vector of
 * several becomes `multiple-series`. A matrix of one series reads as its latest point; of several, as
 * `multiple-series`. Failures and `empty` pass through unchanged.
 */
export function expectSingle(result: QueryResult): SingleResult {
  switch (result.kind) {
    case 'vector': {
      const [only, ...rest] = result.samples;
      if (only === undefined) return emptyResult();
      if (rest.length > 0) return multipleSeries(result.samples.map((s) => s.labels));
      return singleValue(only.value, only.labels, only.timestamp);
    }
    case 'matrix': {
      const [only, ...rest] = result.series;
      if (only === undefined) return emptyResult();
      if (rest.length > 0) return multipleSeries(result.series.map((s) => s.labels));
      const last = only.points.at(-1);
      if (last === undefined) return emptyResult();
      return singleValue(last.value, only.labels, last.timestamp);
    }
    default:
      return result;
  }
}
