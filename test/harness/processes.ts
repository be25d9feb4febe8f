// Child processes of the harness: started with a parent-death signal (setpriv --pdeathsig) so that even a
// harness killed with SIGKILL leaves nothing running, logged to a file each, stopped with SIGTERM and then
// SIGKILL after a grace period.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { existsSync } from 'node:fs';
import path from 'node:path';

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** True once the process has exited, for whatever reason. */
  exited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  logDir: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const setpriv = '/usr/bin/setpriv';

export function startProcess(name: string, command: string, args: string[], options: StartOptions): ManagedProcess {
  const logFile = path.join(options.logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const tethered = existsSync(setpriv);
  const child: ChildProcess = tethered
    ? spawn(setpriv, ['--pdeathsig', 'KILL', '--', command, ...args], {
        cwd: options.cwd,
        env: options.env ?? process.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    : spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  let done = false;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', () => {
      done = true;
      resolve();
    });
    child.once('error', (err) => {
      log.write(`failed to start ${command}: ${err.message}\n`);
      done = true;
      resolve();
    });
  });
  if (child.pid === undefined) {
    throw new Error(`could not start ${name} (${command}); see ${logFile}`);
  }
  const pid = child.pid;
  return {
    name,
    pid,
    logFile,
    exited: () => done,
    async stop(graceMs = 10_000) {
      if (!done) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exitedPromise;
        clearTimeout(timer);
      }
      log.end();
    },
  };
}

/** A process that can be stopped and started again with the same command line and log file. */
export interface RestartableProcess extends ManagedProcess {
  /** Starts it again if it is not running (a no-op while it runs). */
  start(): void;
  /** SIGKILL, as a crash or a lost machine would: no chance to flush or hand over. */
  kill(): Promise<void>;
}

export function startRestartable(
  name: string,
  command: string,
  args: string[],
  options: StartOptions,
): RestartableProcess {
  let current = startProcess(name, command, args, options);
  return {
    name,
    get pid() {
      return current.pid;
    },
    logFile: current.logFile,
    exited: () => current.exited(),
    stop: (graceMs?: number) => current.stop(graceMs),
    kill: () => current.stop(0),
    start() {
      if (!current.exited()) return;
      current = startProcess(name, command, args, options);
    },
  };
}
