// Small HTTP pieces the web routes share: JSON answers with safe headers, errors as `{ "error": "…" }`, and
// reading a request body with a size limit and a time limit.
import type http from 'node:http';

/** Headers every answer carries: never cached, never sniffed into another type, never framed. */
const commonHeaders = {
  'Cache-Control': 'no-store',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
} as const;

export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res
    .writeHead(status, {
      ...commonHeaders,
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': String(Buffer.byteLength(text)),
      ...headers,
    })
    .end(text);
}

export interface ErrorBody {
  error: string;
  details?: string[];
}

export function sendError(
  res: http.ServerResponse,
  status: number,
  message: string,
  extra: { headers?: Record<string, string>; details?: string[] } = {},
): void {
  const body: ErrorBody = { error: message };
  if (extra.details && extra.details.length > 0) body.details = extra.details;
  sendJson(res, status, body, extra.headers);
}

export function sendText(
  res: http.ServerResponse,
  status: number,
  contentType: string,
  text: string,
  headers: Record<string, string> = {},
): void {
  res
    .writeHead(status, {
      ...commonHeaders,
      'Content-Type': contentType,
      'Content-Length': String(Buffer.byteLength(text)),
      ...headers,
    })
    .end(text);
}

/** A size in the unit people use for it: 1 MiB, 64 KiB, 300 bytes. */
export function formatBytes(bytes: number): string {
  const mib = 1024 * 1024;
  if (bytes >= mib) return `${Number((bytes / mib).toFixed(2))} MiB`;
  if (bytes >= 1024) return `${Number((bytes / 1024).toFixed(2))} KiB`;
  return `${bytes} bytes`;
}

/** application/json, or any application/…+json, with or without parameters such as charset. */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = (header.split(';')[0] ?? '').trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.!#$&^_-]+\+json$/.test(type);
}

export type BodyRead = { ok: true; text: string } | { ok: false; status: 400 | 408 | 413; message: string };

/**
 * The request body as UTF-8 text, at most `maxBytes`: a declared Content-Length over the limit is refused
 * before a byte is read, a body that grows past it is cut off. A body that takes longer than `timeoutMs` is
 * refused too. After a refusal the connection is closed rather than read to its end.
 */
export function readBody(req: http.IncomingMessage, maxBytes: number, timeoutMs: number): Promise<BodyRead> {
  const tooLarge = {
    ok: false as const,
    status: 413 as const,
    message: `The request body is larger than the ${formatBytes(maxBytes)} the score API accepts.`,
  };
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve(tooLarge);
  return new Promise<BodyRead>((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (result: BodyRead) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        finish(tooLarge);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      finish({ ok: true, text: Buffer.concat(chunks).toString('utf8') });
    };
    const onError = (err: Error) => {
      finish({ ok: false, status: 400, message: `The request body could not be read: ${err.message}.` });
    };
    const timer = setTimeout(() => {
      finish({
        ok: false,
        status: 408,
        message: `The request body did not arrive within ${Math.round(timeoutMs / 1000)} s.`,
      });
    }, timeoutMs);
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/**
 * Sends an error for a request whose body was not (fully) read, and closes the connection after it, so a client
 * still sending a large body cannot keep it busy. The answer goes out first; the rest of the upload is discarded.
 */
export function refuseUnreadBody(
  res: http.ServerResponse,
  req: http.IncomingMessage,
  status: number,
  message: string,
): void {
  res.shouldKeepAlive = false;
  sendError(res, status, message, { headers: { Connection: 'close' } });
  // Drain what is already on its way (the client reads the answer once it stops sending), but no more than a
  // few MiB; past that, cut the connection.
  let drained = 0;
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > 8 * 1024 * 1024) req.socket.destroy();
  });
  req.resume();
}

/** The client's address, for limits that apply before anyone is authenticated. */
export function clientAddress(req: http.IncomingMessage): string {
  return req.socket.remoteAddress ?? 'unknown';
}
