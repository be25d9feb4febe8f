// Table-driven tests for classify(): real-looking Prometheus bodies and the failures seen in front of it.
import { describe, expect, it } from 'vitest';
import { classify, parseSampleValue, transportErrorKind, type RawAnswer } from './classify.js';
import type { QueryResult } from './types.js';

const json = 'application/json';

function response(status: number, body: unknown, contentType: string = json): RawAnswer {
  return { type: 'response', status, contentType, body };
}

const vectorBody = JSON.stringify({
  status: 'success',
  data: {
    resultType: 'vector',
    result: [
      { metric: { deployment: 'web', pod_template_hash: '5d8f9c' }, value: [1763770000.123, '0.0125'] },
      { metric: { deployment: 'web', pod_template_hash: '7c9a11' }, value: [1763770000.123, 'NaN'] },
    ],
  },
});

const matrixBody = JSON.stringify({
  status: 'success',
  data: {
    resultType: 'matrix',
    result: [
      {
        metric: { deployment: 'web' },
        values: [
          [1763770000, '0.2'],
          [1763770010, '+Inf'],
        ],
      },
    ],
  },
});

const htmlPage = `<html>
<head><title>503 Service Temporarily Unavailable</title></head>
<body><center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>nginx</center></body>
</html>`;

type Expectation = Partial<Record<string, unknown>> & { kind: QueryResult['kind']; message?: RegExp };

const cases: { name: string; answer: RawAnswer; expected: Expectation }[] = [
  {
    name: 'success vector keeps every labelled sample, NaN included',
    answer: response(200, vectorBody),
    expected: { kind: 'vector', message: /2 series/ },
  },
  {
    name: 'success scalar becomes a value',
    answer: response(200, '{"status":"success","data":{"resultType":"scalar","result":[1763770000,"1"]}}'),
    expected: { kind: 'value', value: 1, timestamp: 1763770000 },
  },
  {
    name: 'scalar NaN is not a number, and says why it usually happens',
    answer: response(200, '{"status":"success","data":{"resultType":"scalar","result":[1763770000,"NaN"]}}'),
    expected: { kind: 'not-a-number', message: /NaN.*no requests/ },
  },
  {
    name: 'scalar +Inf is not a number',
    answer: response(200, '{"status":"success","data":{"resultType":"scalar","result":[1763770000,"+Inf"]}}'),
    expected: { kind: 'not-a-number', value: Infinity, message: /\+Inf/ },
  },
  {
    name: 'success matrix',
    answer: response(200, matrixBody),
    expected: { kind: 'matrix', message: /1 series over time/ },
  },
  {
    name: 'empty vector',
    answer: response(200, '{"status":"success","data":{"resultType":"vector","result":[]}}'),
    expected: { kind: 'empty', message: /no series/ },
  },
  {
    name: 'empty matrix',
    answer: response(200, '{"status":"success","data":{"resultType":"matrix","result":[]}}'),
    expected: { kind: 'empty' },
  },
  {
    name: 'already parsed JSON is accepted',
    answer: response(200, { status: 'success', data: { resultType: 'vector', result: [] } }),
    expected: { kind: 'empty' },
  },
  {
    name: '400 bad_data is a PromQL error',
    answer: response(
      400,
      '{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": 1:38: parse error: unexpected \\"}\\""}',
    ),
    expected: { kind: 'promql-error', status: 400, errorType: 'bad_data', message: /rejected the query \(bad_data\)/ },
  },
  {
    name: '422 execution error is a PromQL error',
    answer: response(
      422,
      '{"status":"error","errorType":"execution","error":"found duplicate series for the match group {pod=\\"a\\"} on the right hand-side of the operation"}',
    ),
    expected: { kind: 'promql-error', status: 422, errorType: 'execution', message: /duplicate series/ },
  },
  {
    name: '503 timeout from the query engine is a timeout',
    answer: response(
      503,
      '{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}',
    ),
    expected: { kind: 'timeout', reason: 'slow' },
  },
  {
    name: '503 canceled from the query engine is an aborted query',
    answer: response(503, '{"status":"error","errorType":"canceled","error":"context canceled"}'),
    expected: { kind: 'timeout', reason: 'aborted' },
  },
  {
    name: '503 unavailable with Prometheus JSON is an HTTP error with its text',
    answer: response(503, '{"status":"error","errorType":"unavailable","error":"Service Unavailable"}'),
    expected: { kind: 'http-error', status: 503, error: 'Service Unavailable' },
  },
  {
    name: '503 HTML page from a proxy is an HTTP error naming the page',
    answer: response(503, htmlPage, 'text/html'),
    expected: { kind: 'http-error', status: 503, message: /503 Service Temporarily Unavailable/ },
  },
  {
    name: '200 HTML page (a login page) is not Prometheus JSON',
    answer: response(200, '<!DOCTYPE html><html><head><title>Sign in</title></head></html>', 'text/html'),
    expected: { kind: 'invalid-response', message: /HTML page titled "Sign in".*proxy or login page/ },
  },
  {
    name: '200 plain text is not Prometheus JSON',
    answer: response(200, 'Prometheus Server is Ready.\n', 'text/plain'),
    expected: { kind: 'invalid-response', message: /"Prometheus Server is Ready\."/ },
  },
  {
    name: 'truncated JSON',
    answer: response(200, vectorBody.slice(0, 80)),
    expected: { kind: 'invalid-response', message: /does not parse \(truncated\?\)/ },
  },
  {
    name: 'success without data',
    answer: response(200, '{"status":"success"}'),
    expected: { kind: 'invalid-response', message: /"success" but sent no data/ },
  },
  {
    name: 'JSON that is not a Prometheus answer',
    answer: response(200, '{"hello":"world"}'),
    expected: { kind: 'invalid-response', message: /not a Prometheus API answer/ },
  },
  {
    name: 'a sample value that is not a number',
    answer: response(
      200,
      '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}}',
    ),
    expected: { kind: 'invalid-response', message: /data\.result\[0\]\.value holds "abc"/ },
  },
  {
    name: 'a native histogram sample',
    answer: response(
      200,
      '{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"histogram":[1,{"count":"3","sum":"1","buckets":[]}]}]}}',
    ),
    expected: { kind: 'invalid-response', message: /native histogram/ },
  },
  {
    name: 'a string result',
    answer: response(200, '{"status":"success","data":{"resultType":"string","result":[1,"hello"]}}'),
    expected: { kind: 'invalid-response', message: /a string, not a number/ },
  },
  {
    name: 'a 502 with an empty body',
    answer: response(502, '', 'text/plain'),
    expected: { kind: 'http-error', status: 502, error: 'an empty body' },
  },
  {
    name: 'a success body behind an error status trusts the status',
    answer: response(500, vectorBody),
    expected: { kind: 'http-error', status: 500 },
  },
  {
    name: 'connection refused',
    answer: { type: 'transport-error', error: { kind: 'refused', detail: 'ECONNREFUSED 127.0.0.1:9090' } },
    expected: { kind: 'unreachable', reason: 'refused', message: /refused the connection/ },
  },
  {
    name: 'DNS failure',
    answer: { type: 'transport-error', error: { kind: 'dns', detail: 'ENOTFOUND prometheus.monitoring' } },
    expected: { kind: 'unreachable', reason: 'dns', message: /does not resolve/ },
  },
  {
    name: 'TLS failure points at the settings to check',
    answer: { type: 'transport-error', error: { kind: 'tls', detail: 'SELF_SIGNED_CERT_IN_CHAIN' } },
    expected: { kind: 'unreachable', reason: 'tls', message: /caSecretRef or insecureSkipVerify/ },
  },
  {
    name: 'slow server',
    answer: { type: 'transport-error', error: { kind: 'timeout', detail: '' } },
    expected: { kind: 'timeout', reason: 'slow', message: /did not answer within 5s$/ },
  },
  {
    name: 'an answer that is not readable HTTP',
    answer: { type: 'transport-error', error: { kind: 'malformed', detail: 'HPE_INVALID_CONSTANT' } },
    expected: { kind: 'invalid-response', message: /could not be read/ },
  },
  {
    name: 'aborted by the caller',
    answer: { type: 'transport-error', error: { kind: 'aborted', detail: '' } },
    expected: { kind: 'timeout', reason: 'aborted', message: /cancelled/ },
  },
];

describe('classify', () => {
  it.each(cases)('$name', ({ answer, expected }) => {
    const result = classify(answer, { source: 'Prometheus', timeoutSeconds: 5 });
    const { message, ...fields } = expected;
    expect(result).toMatchObject(fields);
    if (message) expect(result.message).toMatch(message);
  });

  it('parses every sample of a vector, with NaN as a number', () => {
    const result = classify(response(200, vectorBody));
    expect(result.kind).toBe('vector');
    if (result.kind !== 'vector') return;
    expect(result.samples.map((s) => s.value)).toEqual([0.0125, NaN]);
    expect(result.samples[0]?.labels).toEqual({ deployment: 'web', pod_template_hash: '5d8f9c' });
  });

  it('parses the points of a matrix, with +Inf as Infinity', () => {
    const result = classify(response(200, matrixBody));
    if (result.kind !== 'matrix') throw new Error(result.kind);
    expect(result.series[0]?.points).toEqual([
      { timestamp: 1763770000, value: 0.2 },
      { timestamp: 1763770010, value: Infinity },
    ]);
  });
});

describe('parseSampleValue', () => {
  it.each([
    ['0.0125', 0.0125],
    ['1', 1],
    ['-3.5', -3.5],
    ['1e-05', 1e-5],
    ['NaN', NaN],
    ['+Inf', Infinity],
    ['-Inf', -Infinity],
    ['', undefined],
    ['abc', undefined],
    ['0x10', undefined],
  ])('%j → %s', (text, expected) => {
    expect(parseSampleValue(text)).toEqual(expected);
  });
});

describe('transportErrorKind', () => {
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['ENOTFOUND', 'dns'],
    ['EAI_AGAIN', 'dns'],
    ['ECONNRESET', 'reset'],
    ['ETIMEDOUT', 'timeout'],
    ['ECONNABORTED', 'timeout'],
    ['ERR_CANCELED', 'aborted'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls'],
    ['CERT_HAS_EXPIRED', 'tls'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls'],
    ['EPROTO', 'tls'],
    ['ERR_BAD_RESPONSE', 'malformed'],
    ['HPE_INVALID_CONSTANT', 'malformed'],
    ['EHOSTUNREACH', 'other'],
    [undefined, 'other'],
  ] as const)('%s → %s', (code, kind) => {
    expect(transportErrorKind(code)).toBe(kind);
  });
});
