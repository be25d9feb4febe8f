// The controller's optional web routes, for startTelemetryServer's extraRoutes hook: the score API
// (`POST /v1/score`, `GET /v1/openapi.json`) and the read-only dashboard (`GET /dashboard`,
// `GET /dashboard/api/state`). Each is off unless its options are given.
import type http from 'node:http';
import { createDashboard, type DashboardOptions } from './dashboard.js';
import { createScoreApi, type ScoreApiOptions } from './score-api.js';

export type WebRoutes = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

export interface WebRoutesOptions {
  scoreApi?: ScoreApiOptions | undefined;
  dashboard?: DashboardOptions | undefined;
}

export function createWebRoutes(options: WebRoutesOptions): WebRoutes {
  const routes: WebRoutes[] = [];
  if (options.scoreApi) routes.push(createScoreApi(options.scoreApi));
  if (options.dashboard) routes.push(createDashboard(options.dashboard));
  return (req, res) => routes.some((route) => route(req, res));
}

export { createDashboard, type DashboardOptions } from './dashboard.js';
export { createScoreApi, defaultScoreApiLimits, type ScoreApiOptions } from './score-api.js';
export { kubeTokenReviewer, TokenAuthenticator, type TokenReviewer } from './auth.js';
export { kubeAccessReviewer, NamespaceAuthorizer, type AccessReviewer } from './authz.js';
