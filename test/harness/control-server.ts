// A small HTTP endpoint on loopback through which tests (running in other processes than the one that owns
// the cluster) play a monitoring outage: POST /prometheus/stop and POST /prometheus/start.
import http from 'node:http';
import type { LocalPrometheus } from './prometheus.js';

export interface ControlServer {
  url: string;
  close(): Promise<void>;
}

export async function startControlServer(prometheus: LocalPrometheus): Promise<ControlServer> {
  const server = http.createServer((req, res) => {
    const reply = (status: number, text: string) => res.writeHead(status, { 'Content-Type': 'text/plain' }).end(text);
    if (req.method !== 'POST') {
      reply(405, 'POST only\n');
      return;
    }
    const action =
      req.url === '/prometheus/stop'
        ? prometheus.stop()
        : req.url === '/prometheus/start'
          ? prometheus.start()
          : undefined;
    if (!action) {
      reply(404, 'unknown action\n');
      return;
    }
    action.then(
      () => reply(200, `ok: prometheus ${prometheus.running() ? 'running' : 'stopped'}\n`),
      (err: unknown) => reply(500, `${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      ),
  };
}
