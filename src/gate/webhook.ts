// The gate as a mutating webhook, for API servers without MutatingAdmissionPolicy (Kubernetes 1.30–1.35):
// the API server sends each Deployment template change (its matchConditions, the same CEL as the policy's,
// filter out the rest) and the operator answers with decision.ts's verdict, reading the namespace's policies
// from its cache. Every replica serves it, leader or not. `admissionResponse` is pure; the server is a thin
// HTTPS shell with a body limit and timeouts.
import { createServer, type Server } from 'node:https';
import type { Logger } from '../telemetry/logger.js';
import { decideGate, type DeploymentLike, type PolicyLike } from './decision.js';
import { webhookPath } from './admission-objects.js';

export { webhookPath };

/** An AdmissionReview of a Deployment is a few KiB; the API server's own limit on objects is 3 MiB. */
const maxBodyBytes = 3 * 1024 * 1024;

interface AdmissionRequest {
  uid?: string;
  operation?: string;
  namespace?: string;
  userInfo?: { username?: string };
  object?: DeploymentLike;
  oldObject?: DeploymentLike | null;
}

interface JsonPatchOp {
  op: 'add' | 'replace';
  path: string;
  value: unknown;
}

const escapePointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/** The AdmissionReview answer: allowed always; when the gate holds, a JSON patch of paused and the annotations. */
export function admissionResponse(
  review: unknown,
  policiesOf: (namespace: string) => readonly PolicyLike[],
  operatorUsername: string,
  now: Date,
): { apiVersion: string; kind: string; response: Record<string, unknown> } {
  const request = (review as { request?: AdmissionRequest } | undefined)?.request;
  const uid = request?.uid ?? '';
  const answer = (response: Record<string, unknown>) => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid, allowed: true, ...response },
  });
  if (request?.object === undefined) return answer({});
  const decision = decideGate(
    {
      operation: request.operation ?? '',
      username: request.userInfo?.username ?? '',
      object: request.object,
      oldObject: request.oldObject ?? undefined,
    },
    policiesOf(request.namespace ?? ''),
    operatorUsername,
  );
  if (!decision.hold) return answer({});
  const annotations = { ...decision.annotations };
  // Kubernetes' CEL has no clock and takes managedFields' time; here the clock is at hand when that is missing.
  annotations['rollguard.io/gate-pending-since'] ??= now.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const patch: JsonPatchOp[] = [{ op: 'add', path: '/spec/paused', value: true }];
  if (request.object.metadata?.annotations === undefined) {
    patch.push({ op: 'add', path: '/metadata/annotations', value: annotations });
  } else {
    for (const [key, value] of Object.entries(annotations)) {
      patch.push({ op: 'add', path: `/metadata/annotations/${escapePointer(key)}`, value });
    }
  }
  return answer({ patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') });
}

export interface WebhookServerOptions {
  host: string;
  port: number;
  /** PEM; read on every new TLS connection, so a rotated certificate is served without a restart. */
  tls: () => { cert: string; key: string };
  policiesOf: (namespace: string) => readonly PolicyLike[];
  operatorUsername: string;
  logger: Logger;
}

export async function startWebhookServer(
  o: WebhookServerOptions,
): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const initial = o.tls();
  const server = createServer({ cert: initial.cert, key: initial.key }, (req, res) => {
    if (req.method !== 'POST' || req.url?.split('?')[0] !== webhookPath) {
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBodyBytes) {
        res.writeHead(413).end();
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (res.writableEnded) return;
      try {
        const review: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        const body = JSON.stringify(admissionResponse(review, o.policiesOf, o.operatorUsername, new Date()));
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      } catch (err) {
        o.logger.warn({ err }, 'the gate webhook could not read an AdmissionReview');
        res.writeHead(400).end();
      }
    });
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  let served = initial.cert;
  server.on('secureConnection', () => {
    // A renewed certificate is served from the next connection on, without a restart.
    const now = o.tls();
    if (now.cert !== served) {
      served = now.cert;
      server.setSecureContext({ cert: now.cert, key: now.key });
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : o.port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
