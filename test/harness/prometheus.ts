// A real Prometheus server on loopback with its own configuration and storage, scraping the workload
// simulator every second (so tests stay short) and any extra targets written to its file_sd folder. It can be
// stopped and started again on the same port and storage, which is how tests play a monitoring outage.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { freePort } from './ports.js';
import { startProcess, type ManagedProcess } from './processes.js';
import { waitFor } from './wait.js';

export interface LocalPrometheus {
  url: string;
  /** Folder of file_sd JSON files; a file written here adds scrape targets within a second or two. */
  targetsDir: string;
  running(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Adds (or replaces) a scrape job named `name` for `targets` (host:port on loopback). */
  addTargets(name: string, targets: string[], labels?: Record<string, string>): Promise<void>;
}

export async function startPrometheus(
  dir: string,
  prometheusDir: string,
  simulatorTarget: string,
): Promise<LocalPrometheus> {
  const logDir = path.join(dir, 'logs');
  const targetsDir = path.join(dir, 'prometheus-targets');
  await mkdir(targetsDir, { recursive: true });
  const port = await freePort();
  const configFile = path.join(dir, 'prometheus.yml');
  await writeFile(
    configFile,
    `global:
  scrape_interval: 1s
  scrape_timeout: 900ms
  evaluation_interval: 1s
scrape_configs:
  - job_name: workload-simulator
    honor_labels: true
    static_configs:
      - targets: ['${simulatorTarget}']
  - job_name: extra
    honor_labels: true
    file_sd_configs:
      - files: ['${targetsDir}/*.json']
        refresh_interval: 1s
`,
  );
  const url = `http://127.0.0.1:${port}`;
  let process: ManagedProcess | undefined;

  const start = async () => {
    if (process && !process.exited()) return;
    const proc = startProcess(
      'prometheus',
      path.join(prometheusDir, 'prometheus'),
      [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${path.join(dir, 'prometheus-data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--storage.tsdb.retention.time=1d',
        '--web.enable-lifecycle',
        '--log.level=warn',
      ],
      { logDir },
    );
    process = proc;
    await waitFor('Prometheus to be ready', async () => {
      if (proc.exited()) throw new Error(`prometheus exited during start-up; see ${proc.logFile}`);
      const res = await fetch(`${url}/-/ready`);
      return res.ok ? true : undefined;
    });
  };
  await start();

  return {
    url,
    targetsDir,
    running: () => process !== undefined && !process.exited(),
    start,
    async stop() {
      await process?.stop();
    },
    async addTargets(name, targets, labels = {}) {
      await writeFile(
        path.join(targetsDir, `${name}.json`),
        JSON.stringify([{ targets, labels: { job: name, ...labels } }]),
      );
    },
  };
}
