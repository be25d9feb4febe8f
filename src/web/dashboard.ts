// The read-only dashboard: `GET /dashboard` (the page) and `GET /dashboard/api/state` (what it shows, as JSON),
// both built from what the controller already holds. It writes nothing and has no login of its own: serve it
// on an address only operators reach (kubectl port-forward, or behind an authenticating proxy).
import type http from 'node:http';
import type { Registry } from 'prom-client';
import type { ModelBundle } from '../model/store.js';
import type { Logger } from '../telemetry/logger.js';
import type { Caches } from '../api/objects.js';
import { buildDashboardState, readFeatureDrift } from './dashboard-state.js';
import { dashboardPage } from './dashboard-page.js';
import { sendError, sendJson, sendText } from './http.js';

export const dashboardPath = '/dashboard';
export const dashboardStatePath = '/dashboard/api/state';

export interface DashboardOptions {
  /** The controller's informer caches (controller.caches). */
  caches: Pick<Caches, 'assessments' | 'policies'>;
  /** The model in use (the controller's ModelHolder). */
  model: { currentBundle(): ModelBundle | undefined };
  /** The operator's metrics registry, for the rollguard_feature_drift gauge. */
  registry?: Registry | undefined;
  /** False until the informer caches have synced; the page then says its lists may be incomplete. */
  ready?: (() => boolean) | undefined;
  /** How often the page refreshes itself (default 5 s). */
  refreshSeconds?: number;
  /** Most rollouts listed, newest first (default 50). */
  limit?: number;
  clock?: () => Date;
  logger?: Logger | undefined;
}

const namespacePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function createDashboard(
  options: DashboardOptions,
): (req: http.IncomingMessage, res: http.ServerResponse) => boolean {
  const refreshSeconds = options.refreshSeconds ?? 5;
  if (!(refreshSeconds > 0) || !Number.isFinite(refreshSeconds)) {
    throw new RangeError(`the dashboard's refresh must be a positive number of seconds, not ${refreshSeconds}`);
  }
  const page = dashboardPage({ refreshSeconds });
  const clock = options.clock ?? (() => new Date());
  const limit = options.limit ?? 50;

  const serveState = async (url: URL, res: http.ServerResponse) => {
    const namespace = url.searchParams.get('namespace') ?? undefined;
    if (namespace !== undefined && (namespace.length > 63 || !namespacePattern.test(namespace))) {
      sendError(res, 400, 'The namespace parameter must be a namespace name: lower-case letters, digits and -.');
      return;
    }
    const state = buildDashboardState({
      assessments: options.caches.assessments(namespace),
      policies: options.caches.policies(namespace),
      bundle: options.model.currentBundle(),
      drift: await readFeatureDrift(options.registry),
      now: clock(),
      namespace,
      limit,
      synced: options.ready ? options.ready() : true,
    });
    sendJson(res, 200, state);
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const path = url.pathname;
    const isPage = path === dashboardPath || path === `${dashboardPath}/`;
    const isState = path === dashboardStatePath;
    if (!isPage && !isState) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, 'The dashboard is read-only: use GET.', { headers: { Allow: 'GET, HEAD' } });
      return true;
    }
    if (isPage) {
      sendText(res, 200, 'text/html; charset=utf-8', page.html, {
        'Content-Security-Policy': page.contentSecurityPolicy,
      });
      return true;
    }
    serveState(url, res).catch((err: unknown) => {
      options.logger?.error({ err }, 'dashboard: building the state failed');
      if (!res.headersSent) sendError(res, 500, 'The dashboard state could not be built; see the controller log.');
    });
    return true;
  };
}
