// The operator's own HTTP endpoints: /metrics (its prom-client registry), /healthz (the process is alive
// and its event loop turns) and /readyz (caches synced and, under leader election, holding the lease or
// standing by as a healthy follower — the Service only needs one ready replica to scrape).
import http from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthChecks {
  /** Why the instance is not ready, or undefined when it is. */
  notReady(): string | undefined;
}

export interface TelemetryServer {
  port: number;
  close(): Promise<void>;
}

export async function startTelemetryServer(
  address: string,
  registry: Registry,
  health: HealthChecks,
  extraRoutes: (req: http.IncomingMessage, res: http.ServerResponse) => boolean = () => false,
): Promise<TelemetryServer> {
  const [host = '0.0.0.0', portText = '8080'] = address.includes(':')
    ? address.split(/:(?=[^:]*$)/)
    : ['0.0.0.0', address];
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry
        .metrics()
        .then((text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text))
        .catch((err: unknown) => res.writeHead(500).end(`metrics failed: ${String(err)}\n`));
      return;
    }
    if (path === '/healthz' || path === '/livez') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path === '/readyz') {
      const why = health.notReady();
      res.writeHead(why ? 503 : 200, { 'Content-Type': 'text/plain' }).end(why ? `not ready: ${why}\n` : 'ok\n');
      return;
    }
    if (extraRoutes(req, res)) return;
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(portText), host === '' ? '0.0.0.0' : host, resolve);
  });
  const bound = server.address();
  return {
    port: typeof bound === 'object' && bound ? bound.port : Number(portText),
    close: () =>
      new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  };
}
