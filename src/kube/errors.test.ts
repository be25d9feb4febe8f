// Reading API errors for people: the API server's own message, the HTTP code and its meaning when the answer
// is empty, and the network reason when there was no answer at all. Never an empty string.
import { describe, expect, it } from 'vitest';
import { apiMessage, networkMessage } from './errors.js';

const apiError = (code: number, body: string) => Object.assign(new Error(`HTTP-Code: ${code}`), { code, body });

describe('apiMessage', () => {
  it.each<[string, unknown, string]>([
    [
      'a Status with a message',
      apiError(422, JSON.stringify({ kind: 'Status', message: 'spec.mode: Unsupported value: "loud"' })),
      'spec.mode: Unsupported value: "loud"',
    ],
    ['an empty 404', apiError(404, ''), 'HTTP 404 (not found) with an empty answer'],
    ['an empty 401', apiError(401, ''), 'HTTP 401 (unauthorised: the credentials were refused) with an empty answer'],
    ['a Status without a message', apiError(503, '{}'), 'HTTP 503 (service unavailable) with an empty answer'],
    ['a text body', apiError(502, 'Bad Gateway\nfrom the proxy'), 'HTTP 502: Bad Gateway'],
    [
      'fetch failed: refused',
      Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
      }),
      'connection refused (nothing listens there)',
    ],
    [
      'fetch failed: TLS',
      Object.assign(new TypeError('fetch failed'), {
        cause: Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
      }),
      'TLS: self-signed certificate',
    ],
    ['anything else', new Error('boom\nstack'), 'boom'],
  ])('%s', (_what, err, message) => {
    expect(apiMessage(err)).toBe(message);
  });

  it('never answers with nothing', () => {
    expect(networkMessage(new Error(''))).toBe('failed without saying why');
    expect(apiMessage(apiError(500, '   '))).toBe('HTTP 500 (internal server error) with an empty answer');
  });
});
