// Turns whatever came back from a Prometheus HTTP call — a status, a content type and a body, or a transport
// error — into a QueryResult. Pure, so every odd answer seen in the field (a proxy's HTML page, truncated
// JSON, "success" without data, NaN as a string) is pinned down by a table-driven test, not by a live server.
import {
  emptyResult,
  singleValue,
  type Labels,
  type QueryResult,
  type InvalidResponseResult,
  type Sample,
  type Series,
  type TimeoutResult,
  type UnreachableResult,
} from './types.js';

/** Why a request got no HTTP answer at all. */
export type TransportErrorKind = 'refused' | 'dns' | 'reset' | 'tls' | 'timeout' | 'aborted' | 'malformed' | 'other';

export interface TransportError {
  readonly kind: TransportErrorKind;
  /** The underlying error's code and message, for the human message. */
  readonly detail: string;
}

export type RawAnswer =
  | {
      readonly type: 'response';
      readonly status: number;
      readonly contentType?: string | undefined;
      /** The body as text, or already parsed JSON. */
      readonly body: unknown;
    }
  | { readonly type: 'transport-error'; readonly error: TransportError };

export interface ClassifyContext {
  /** Names the server in messages, e.g. "Prometheus at http://prometheus.monitoring:9090". */
  readonly source?: string;
  /** The client's time limit, to say how long it waited. */
  readonly timeoutSeconds?: number;
}

/** Longest piece of a foreign body quoted in a message: enough to recognise it, not enough to flood a status. */
const SNIPPET_LENGTH = 160;

/** Prometheus error types that mean "your query is wrong", as opposed to "I cannot answer right now". */
const QUERY_ERROR_TYPES: ReadonlySet<string> = new Set(['bad_data', 'execution']);

const TLS_CODES: ReadonlySet<string> = new Set([
  'EPROTO',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'HOSTNAME_MISMATCH',
]);

/** Maps a Node.js / axios error code onto the few transport failures a person needs told apart. */
export function transportErrorKind(code: string | undefined): TransportErrorKind {
  if (code === undefined) return 'other';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'EAI_FAIL') return 'dns';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE') return 'reset';
  if (code === 'ETIMEDOUT' || code === 'ECONNABORTED' || code === 'ESOCKETTIMEDOUT') return 'timeout';
  if (code === 'ERR_CANCELED' || code === 'ABORT_ERR') return 'aborted';
  // Something answered, but not with readable HTTP: a broken or oversized answer, not an outage.
  if (code === 'ERR_BAD_RESPONSE' || code.startsWith('HPE_')) return 'malformed';
  if (TLS_CODES.has(code) || code.startsWith('CERT_') || code.startsWith('ERR_TLS_') || code.startsWith('ERR_SSL_')) {
    return 'tls';
  }
  return 'other';
}

export function classify(answer: RawAnswer, context: ClassifyContext = {}): QueryResult {
  const source = context.source ?? 'Prometheus';
  if (answer.type === 'transport-error') return classifyTransport(answer.error, source, context.timeoutSeconds);
  return classifyResponse(answer.status, answer.contentType, answer.body, source);
}

function classifyTransport(
  error: TransportError,
  source: string,
  timeoutSeconds: number | undefined,
): UnreachableResult | TimeoutResult | InvalidResponseResult {
  const detail = error.detail === '' ? '' : ` (${error.detail})`;
  switch (error.kind) {
    case 'refused':
      return { kind: 'unreachable', reason: 'refused', message: `${source} refused the connection${detail}` };
    case 'dns':
      return { kind: 'unreachable', reason: 'dns', message: `${source}: the host name does not resolve${detail}` };
    case 'reset':
      return { kind: 'unreachable', reason: 'reset', message: `${source} closed the connection early${detail}` };
    case 'tls':
      return {
        kind: 'unreachable',
        reason: 'tls',
        message: `TLS with ${source} failed${detail}; check prometheus.caSecretRef or insecureSkipVerify`,
      };
    case 'timeout': {
      const limit = timeoutSeconds === undefined ? 'in time' : `within ${timeoutSeconds}s`;
      return { kind: 'timeout', reason: 'slow', message: `${source} did not answer ${limit}${detail}` };
    }
    case 'aborted':
      return { kind: 'timeout', reason: 'aborted', message: `the query to ${source} was cancelled before it answered` };
    case 'malformed':
      return { kind: 'invalid-response', message: `${source} sent an answer that could not be read${detail}` };
    case 'other':
      return { kind: 'unreachable', reason: 'other', message: `${source} could not be reached${detail}` };
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What a non-JSON body is, in a few words: the `<title>` of an HTML page, or its first characters. */
function describeForeignBody(text: string): string {
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1]?.trim();
  if (title !== undefined && title !== '') return `an HTML page titled "${title}"`;
  if (/^\s*</.test(text)) return 'an HTML/XML page';
  const snippet = text.replace(/\s+/g, ' ').trim().slice(0, SNIPPET_LENGTH);
  return snippet === '' ? 'an empty body' : `"${snippet}"`;
}

function classifyResponse(status: number, contentType: string | undefined, body: unknown, source: string): QueryResult {
  const ok = status >= 200 && status < 300;
  let parsed: unknown = body;
  if (typeof body === 'string') {
    const looksJson = /^\s*[{[]/.test(body) || (contentType ?? '').toLowerCase().includes('json');
    if (!looksJson) {
      const what = describeForeignBody(body);
      if (ok) {
        return {
          kind: 'invalid-response',
          message:
            `${source} answered HTTP ${status} with ${what} instead of Prometheus's JSON; ` +
            `does prometheus.address point at a proxy or login page?`,
        };
      }
      return httpError(status, what, `${source} answered HTTP ${status} with ${what}`);
    }
    try {
      parsed = JSON.parse(body);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (ok) {
        return {
          kind: 'invalid-response',
          message: `${source} answered HTTP ${status} with JSON that does not parse (truncated?): ${reason}`,
        };
      }
      return httpError(status, describeForeignBody(body), `${source} answered HTTP ${status} with unparsable JSON`);
    }
  }
  if (!isRecord(parsed) || (parsed.status !== 'success' && parsed.status !== 'error')) {
    if (ok) {
      return {
        kind: 'invalid-response',
        message: `${source} answered HTTP ${status} with JSON that is not a Prometheus API answer (no "status")`,
      };
    }
    return httpError(status, 'a body that is not a Prometheus API answer', `${source} answered HTTP ${status}`);
  }
  if (parsed.status === 'error') return classifyApiError(status, parsed, source);
  // A proxy can wrap an old cached success in an error status; the status code is what the caller must trust.
  if (!ok) return httpError(status, 'a success body', `${source} answered HTTP ${status}`);
  return classifyData(parsed.data, source);
}

function httpError(status: number, error: string, message: string): QueryResult {
  return { kind: 'http-error', status, error, message };
}

function classifyApiError(status: number, body: Record<string, unknown>, source: string): QueryResult {
  const errorType = typeof body.errorType === 'string' ? body.errorType : 'unknown';
  const error = typeof body.error === 'string' ? body.error : '(no error text)';
  if (QUERY_ERROR_TYPES.has(errorType)) {
    return {
      kind: 'promql-error',
      status,
      errorType,
      error,
      message: `${source} rejected the query (${errorType}): ${error}`,
    };
  }
  if (errorType === 'timeout') {
    return { kind: 'timeout', reason: 'slow', message: `${source} gave up evaluating the query in time: ${error}` };
  }
  if (errorType === 'canceled') {
    return { kind: 'timeout', reason: 'aborted', message: `${source} cancelled the query: ${error}` };
  }
  return httpError(status, error, `${source} answered HTTP ${status} (${errorType}): ${error}`);
}

/** Parses Prometheus's string form of a float, where NaN and ±Inf are spelled "NaN", "+Inf" and "-Inf". */
export function parseSampleValue(text: string): number | undefined {
  switch (text) {
    case 'NaN':
      return NaN;
    case '+Inf':
    case 'Inf':
      return Infinity;
    case '-Inf':
      return -Infinity;
    default:
      return /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) ? Number(text) : undefined;
  }
}

/** Thrown only inside this module, to unwind from a malformed field to one invalid-response result. */
class ShapeError extends Error {}

function parsePoint(value: unknown, where: string): { timestamp: number; value: number } {
  if (!Array.isArray(value) || value.length !== 2) throw new ShapeError(`${where} is not a [time, "value"] pair`);
  const [timestamp, text] = value as [unknown, unknown];
  if (typeof timestamp !== 'number' || typeof text !== 'string') {
    throw new ShapeError(`${where} is not a [time, "value"] pair`);
  }
  const parsed = parseSampleValue(text);
  if (parsed === undefined) throw new ShapeError(`${where} holds "${text.slice(0, 40)}", which is not a number`);
  return { timestamp, value: parsed };
}

function parseLabels(value: unknown, where: string): Labels {
  if (!isRecord(value)) throw new ShapeError(`${where}.metric is not a label set`);
  for (const [name, label] of Object.entries(value)) {
    if (typeof label !== 'string') throw new ShapeError(`${where}.metric.${name} is not a string`);
  }
  return value as Labels;
}

function noHistograms(item: Record<string, unknown>, where: string): void {
  if ('histogram' in item || 'histograms' in item) {
    throw new ShapeError(`${where} is a native histogram, not a number; wrap the query in histogram_quantile()`);
  }
}

function parseVector(result: unknown): Sample[] {
  if (!Array.isArray(result)) throw new ShapeError('data.result is not a list');
  return result.map((item: unknown, i): Sample => {
    const where = `data.result[${i}]`;
    if (!isRecord(item)) throw new ShapeError(`${where} is not an object`);
    if (!('value' in item)) noHistograms(item, where);
    const point = parsePoint(item.value, `${where}.value`);
    return { labels: parseLabels(item.metric, where), timestamp: point.timestamp, value: point.value };
  });
}

function parseMatrix(result: unknown): Series[] {
  if (!Array.isArray(result)) throw new ShapeError('data.result is not a list');
  return result.map((item: unknown, i): Series => {
    const where = `data.result[${i}]`;
    if (!isRecord(item)) throw new ShapeError(`${where} is not an object`);
    if (!('values' in item)) noHistograms(item, where);
    if (!Array.isArray(item.values)) throw new ShapeError(`${where}.values is not a list`);
    const points = item.values.map((p: unknown, j) => parsePoint(p, `${where}.values[${j}]`));
    return { labels: parseLabels(item.metric, where), points };
  });
}

function classifyData(data: unknown, source: string): QueryResult {
  if (!isRecord(data) || !('result' in data)) {
    return { kind: 'invalid-response', message: `${source} said "success" but sent no data` };
  }
  try {
    switch (data.resultType) {
      case 'vector': {
        const samples = parseVector(data.result);
        if (samples.length === 0) return emptyResult();
        const count = samples.length;
        return { kind: 'vector', samples, message: `the query returned ${count} series` };
      }
      case 'matrix': {
        const series = parseMatrix(data.result).filter((s) => s.points.length > 0);
        if (series.length === 0) return emptyResult();
        return { kind: 'matrix', series, message: `the query returned ${series.length} series over time` };
      }
      case 'scalar': {
        const point = parsePoint(data.result, 'data.result');
        return singleValue(point.value, {}, point.timestamp);
      }
      case 'string':
        return { kind: 'invalid-response', message: 'the query returned a string, not a number' };
      default: {
        const resultType = data.resultType === undefined ? 'none' : JSON.stringify(data.resultType);
        return { kind: 'invalid-response', message: `${source} sent an unknown resultType ${resultType}` };
      }
    }
  } catch (error) {
    if (error instanceof ShapeError) {
      return { kind: 'invalid-response', message: `${source} sent a malformed answer: ${error.message}` };
    }
    throw error;
  }
}
