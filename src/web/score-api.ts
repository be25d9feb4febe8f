// `POST /v1/score` and `GET /v1/openapi.json`: a Deployment manifest or a change description in, the
// assessment the controller would make out — through scoreManifest, the one implementation of scoring a
// manifest, reading the controller's informer caches (no extra load on the API server) and its live model.
// In order, a request is: allowed only as POST, refused while the caches are not synced, authenticated (a
// TokenReview of its bearer token), held to the caller's rate, to JSON, to the body size, checked, authorized
// for its namespace (a SubjectAccessReview: may the caller read Deployments there?), then scored. Every error is `{ "error": "<sentence>" }` with the status that fits.
import type http from 'node:http';
import type { V1Deployment } from '@kubernetes/client-node';
import { annotationPrefix, parseChangeDescription } from '../assess/change-description.js';
import type { RiskModel } from '../assess/score.js';
import { scoreManifest, type ClusterView, type ManifestScoringDeps } from '../controller/score-manifest.js';
import type { Logger } from '../telemetry/logger.js';
import type { AuthResult, Caller } from './auth.js';
import type { AuthzResult } from './authz.js';
import { clientAddress, isJsonContentType, readBody, refuseUnreadBody, sendError, sendJson } from './http.js';
import { openApiDocument, type ScoreApiLimits } from './openapi.js';
import { TokenBuckets } from './rate-limit.js';
import { manifestForChange, parseScoreRequest, type ScoreRequest } from './score-request.js';
import { toScoreResponse, type ScoreResponse } from './score-response.js';

export const scorePath = '/v1/score';
export const openApiPath = '/v1/openapi.json';

export const defaultScoreApiLimits: ScoreApiLimits = { maxBodyBytes: 1024 * 1024, ratePerSecond: 10, burst: 20 };

export interface ScoreApiOptions {
  /** What the cluster can tell: cacheClusterView(controller.caches) in the controller. */
  cluster: ClusterView;
  /** The model in use now (it may be replaced while the controller runs). */
  model: { current(): RiskModel | undefined };
  /** Live Prometheus signals before the rollout, when the policy names a Prometheus. */
  live?: ManifestScoringDeps['live'];
  /** Checks the caller's bearer token: a TokenAuthenticator over kubeTokenReviewer in the controller. */
  authenticator: { authenticate(header: string | undefined, client: string): Promise<AuthResult> };
  /**
   * Whether the caller may score in a namespace: a NamespaceAuthorizer over kubeAccessReviewer in the
   * controller (the caller must be able to read Deployments there). Without it, any authenticated caller may.
   */
  authorizer?: { authorize(caller: Caller, namespace: string): Promise<AuthzResult> } | undefined;
  /**
   * The manifest as the API server would store it (a server-side apply dry run), so the server's defaults
   * (probe periods, canonical quantities, …) do not count as changes against the running Deployment, which
   * has them. Asked only when a Deployment of that name runs. Without it, manifests are compared as written.
   * In the controller: `(m, ns) => defaultedByServer(kubeConfig, m, ns)` from src/kube/dry-run.ts.
   */
  serverDefaults?:
    ((manifest: V1Deployment, namespace: string) => Promise<{ manifest: V1Deployment } | { note: string }>) | undefined;
  /** False until the informer caches have synced: scoring before would miss policies and history. */
  ready?: () => boolean;
  limits?: Partial<ScoreApiLimits>;
  /** Longest a request body may take to arrive (default 10 s). */
  bodyTimeoutMs?: number;
  clock?: () => Date;
  logger?: Logger;
}

/** Notes for a change description scored without a template, and for annotations rollguard does not read. */
function changeNotes(request: Extract<ScoreRequest, { kind: 'change' }>, hadTemplate: boolean): string[] {
  const notes: string[] = [];
  if (!hadTemplate) {
    notes.push(
      'scored the change description alone: there was no running pod template to check, so template findings and changes are not part of this score',
    );
  }
  const description = parseChangeDescription(request.annotations, undefined);
  const used = new Set([
    ...Object.keys(description.sources).map((name) => annotationPrefix + name),
    ...description.warnings.map((w) => w.annotation),
    ...(description.commit !== undefined ? [`${annotationPrefix}commit`] : []),
  ]);
  const ignored = Object.keys(request.annotations).filter((key) => !used.has(key));
  if (ignored.length > 0) {
    notes.push(`ignored ${ignored.join(', ')}: not change-description annotations rollguard reads`);
  }
  return notes;
}

async function assess(request: ScoreRequest, options: ScoreApiOptions, now: Date): Promise<ScoreResponse> {
  const cluster = options.cluster;
  const deps: ManifestScoringDeps = {
    cluster,
    live: options.live,
    model: options.model.current(),
    now,
  };
  if (request.kind === 'manifest') {
    const name = request.manifest.metadata?.name;
    let manifest = request.manifest;
    const notes: string[] = [];
    if (options.serverDefaults && name !== undefined) {
      const running = await options.cluster.deployment(request.namespace, name).catch(() => undefined);
      if (running) {
        const defaulted = await options.serverDefaults(manifest, request.namespace);
        if ('manifest' in defaulted) manifest = defaulted.manifest;
        else notes.push(defaulted.note);
      }
    }
    const result = await scoreManifest(manifest, { namespace: request.namespace }, deps);
    result.notes = [...result.notes, ...notes];
    return toScoreResponse(result, { namespace: request.namespace, deployment: name }, now);
  }
  // When the cluster cannot be read, scoreManifest tries again and says so in its notes.
  const running =
    request.deployment !== undefined
      ? await options.cluster.deployment(request.namespace, request.deployment).catch(() => undefined)
      : undefined;
  const manifest = manifestForChange(request, running);
  const result = await scoreManifest(manifest, { namespace: request.namespace }, deps);
  // Without a name there is nothing to compare with, and saying so about a Deployment called "" helps no one.
  const unnamed = `no running Deployment ${request.namespace}/ to compare the template with`;
  result.notes = [
    ...result.notes.filter((note) => note !== unnamed),
    ...changeNotes(request, running?.spec?.template !== undefined),
  ];
  return toScoreResponse(result, { namespace: request.namespace, deployment: request.deployment }, now);
}

/** The routes of the score API; answers true for the requests it handled. */
export function createScoreApi(
  options: ScoreApiOptions,
): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const limits: ScoreApiLimits = { ...defaultScoreApiLimits, ...options.limits };
  const buckets = new TokenBuckets({ ratePerSecond: limits.ratePerSecond, burst: limits.burst });
  const clock = options.clock ?? (() => new Date());
  const bodyTimeoutMs = options.bodyTimeoutMs ?? 10_000;
  const document = JSON.stringify(openApiDocument(limits));

  const handleScore = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const started = performance.now();
    const done = (status: number, user?: string) => {
      options.logger?.debug(
        { user, status, ms: Math.round(performance.now() - started) },
        `score API: ${req.method ?? ''} ${scorePath} ${status}`,
      );
    };
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      refuseUnreadBody(res, req, 405, `Use POST to send a manifest or change description to ${scorePath}.`);
      done(405);
      return;
    }
    if (options.ready && !options.ready()) {
      refuseUnreadBody(
        res,
        req,
        503,
        'The controller has not finished reading the cluster yet, so it cannot score as it would; try again in a few seconds.',
      );
      done(503);
      return;
    }
    const auth = await options.authenticator.authenticate(req.headers.authorization, clientAddress(req));
    if (!auth.ok) {
      const headers: Record<string, string> =
        auth.status === 401
          ? { 'WWW-Authenticate': 'Bearer realm="rollguard"' }
          : auth.status === 429
            ? { 'Retry-After': String(auth.retryAfterSeconds) }
            : {};
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      refuseUnreadBody(res, req, auth.status, auth.message);
      done(auth.status);
      return;
    }
    const user = auth.caller.username;
    const rate = buckets.take(user, clock().getTime());
    if (!rate.allowed) {
      res.setHeader('Retry-After', String(rate.retryAfterSeconds));
      refuseUnreadBody(
        res,
        req,
        429,
        `Too many requests from ${user}: at most ${limits.ratePerSecond} per second (bursts of ${limits.burst}) are scored; try again in ${rate.retryAfterSeconds} s.`,
      );
      done(429, user);
      return;
    }
    if (!isJsonContentType(req.headers['content-type'])) {
      refuseUnreadBody(
        res,
        req,
        415,
        `The request body must be JSON, sent with "Content-Type: application/json"${req.headers['content-type'] ? `, not "${req.headers['content-type']}"` : ''}.`,
      );
      done(415, user);
      return;
    }
    const body = await readBody(req, limits.maxBodyBytes, bodyTimeoutMs);
    if (!body.ok) {
      refuseUnreadBody(res, req, body.status, body.message);
      done(body.status, user);
      return;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(body.text);
    } catch (err) {
      sendError(res, 400, `The request body is not valid JSON: ${err instanceof Error ? err.message : String(err)}.`);
      done(400, user);
      return;
    }
    const request = parseScoreRequest(raw);
    if (!request.ok) {
      sendError(res, 400, request.message, { details: request.problems.map((p) => `${p.path}: ${p.message}`) });
      done(400, user);
      return;
    }
    if (options.authorizer) {
      const allowed = await options.authorizer.authorize(auth.caller, request.value.namespace);
      if (!allowed.ok) {
        sendError(res, allowed.status, allowed.message);
        done(allowed.status, user);
        return;
      }
    }
    try {
      sendJson(res, 200, await assess(request.value, options, clock()));
      done(200, user);
    } catch (err) {
      options.logger?.error({ err, user }, 'score API: the assessment failed');
      sendError(
        res,
        500,
        `The assessment failed: ${err instanceof Error ? err.message : String(err)}. This is a bug in rollguard if it happens again.`,
      );
      done(500, user);
    }
  };

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === openApiPath) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('Allow', 'GET, HEAD');
        refuseUnreadBody(res, req, 405, `Use GET to read ${openApiPath}.`);
        return true;
      }
      res
        .writeHead(200, {
          'Content-Type': 'application/json; charset=utf-8',
          'Content-Length': String(Buffer.byteLength(document)),
          'Cache-Control': 'no-cache',
          'X-Content-Type-Options': 'nosniff',
        })
        .end(req.method === 'HEAD' ? undefined : document);
      return true;
    }
    if (path !== scorePath) return false;
    handleScore(req, res).catch((err: unknown) => {
      options.logger?.error({ err }, 'score API: request failed');
      if (!res.headersSent) sendError(res, 500, 'The request failed unexpectedly.');
      else res.destroy();
    });
    return true;
  };
}
