// Reading client-node's ApiException: the HTTP code, and the API server's own message from the Status body.
export function statusCode(err: unknown): number | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = err.code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

export const isNotFound = (err: unknown) => statusCode(err) === 404;
export const isConflict = (err: unknown) => statusCode(err) === 409;
export const isAlreadyExists = (err: unknown) => statusCode(err) === 409;
/** 422: also what a JSON Patch whose `test` operation failed gets. */
export const isInvalid = (err: unknown) => statusCode(err) === 422;

const httpMeanings: Readonly<Record<number, string>> = {
  400: 'bad request',
  401: 'unauthorised: the credentials were refused',
  403: 'forbidden',
  404: 'not found',
  409: 'conflict',
  429: 'too many requests',
  500: 'internal server error',
  502: 'bad gateway',
  503: 'service unavailable',
  504: 'gateway timeout',
};

const networkCodes: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'connection refused (nothing listens there)',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name could not be resolved',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'timed out connecting',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for an answer',
  UND_ERR_SOCKET: 'the connection broke',
};

/**
 * Why a request never got an HTTP answer, in words: "connection refused", "TLS: self-signed certificate", …
 * fetch reports these as a bare "fetch failed" with the reason in `cause`.
 */
export function networkMessage(err: unknown): string {
  for (let e: unknown = err, depth = 0; typeof e === 'object' && e !== null && depth < 5; depth++) {
    const code = 'code' in e && typeof e.code === 'string' ? e.code : undefined;
    const message = e instanceof Error ? e.message : '';
    if (code !== undefined && networkCodes[code]) return networkCodes[code];
    if (
      (code !== undefined && /CERT|TLS|SSL|SELF_SIGNED|UNABLE_TO_VERIFY|EPROTO/.test(code)) ||
      /certificate|TLS|SSL/i.test(message)
    ) {
      return `TLS: ${message.split('\n')[0] ?? code}`;
    }
    e = 'cause' in e ? e.cause : undefined;
  }
  const text = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
  return text.trim() === '' ? 'failed without saying why' : text;
}

/**
 * The API server's message (e.g. a validation failure naming the field); for an answer without one, the HTTP
 * code and what it means; for no answer at all, why (networkMessage). Never an empty string.
 */
export function apiMessage(err: unknown): string {
  const code = statusCode(err);
  if (typeof err === 'object' && err !== null && 'body' in err) {
    const body = err.body;
    if (typeof body === 'string' && body.trim() !== '') {
      try {
        const status = JSON.parse(body) as { message?: unknown };
        if (typeof status.message === 'string' && status.message !== '') return status.message;
      } catch {
        return code === undefined
          ? (body.trim().split('\n')[0] ?? body)
          : `HTTP ${code}: ${body.trim().split('\n')[0] ?? ''}`;
      }
    }
  }
  if (code !== undefined && code >= 100)
    return `HTTP ${code} (${httpMeanings[code] ?? 'no message'}) with an empty answer`;
  return networkMessage(err);
}
