#!/usr/bin/env node
// The `rollguard` command: dispatches to one subcommand. Each subcommand lives in its own module and is
// loaded only when used, so `rollguard --help` stays instant. Installed as `kubectl-rollguard` too, it is a
// kubectl plugin (`kubectl rollguard status deploy/checkout`), and as `kubectl_complete-rollguard` it answers
// kubectl's completion requests.
import { readFileSync } from 'node:fs';
import { asInvoked, invocation } from './invocation.js';

interface Command {
  summary: string;
  run: (argv: string[]) => Promise<number>;
}

const commands: Record<string, Command> = {
  controller: {
    summary: 'Run the operator against the current kubeconfig or in-cluster config',
    run: async (argv) => (await import('./controller-command.js')).runControllerCommand(argv),
  },
  'change-metrics': {
    summary: 'Compute the change description of a release from git (annotations, patch or JSON)',
    run: async (argv) => (await import('../changes/cli.js')).runChangeMetricsCommand(argv),
  },
  model: {
    summary: 'Train and evaluate the risk model on change data (model train | model evaluate)',
    run: async (argv) => (await import('../model/cli.js')).runModelCommand(argv),
  },
  score: {
    summary: 'Score a Deployment manifest before it is applied; the exit code follows the risk level (for CI)',
    run: async (argv) => (await import('./score-command.js')).runScoreCommand(argv),
  },
  doctor: {
    summary: "Check the kubeconfig, API server, CRDs, RBAC, each policy's Prometheus and the model",
    run: async (argv) => (await import('./doctor-command.js')).runDoctorCommand(argv),
  },
  history: {
    summary: 'List the rollouts rollguard assessed, newest first: score, level, actions, outcome',
    run: async (argv) => (await import('./history-command.js')).runHistoryCommand(argv),
  },
  explain: {
    summary: 'Show one assessment in full: features, reasons, actions, verification steps, outcome',
    run: async (argv) => (await import('./explain-command.js')).runExplainCommand(argv),
  },
  approve: {
    summary: 'Approve a rollout rollguard paused (the current revision, or --revision N); records who approved',
    run: async (argv) => (await import('./approve-command.js')).runApproveCommand(argv),
  },
  abort: {
    summary: 'Roll the current revision back now, recorded as a manual abort with your reason',
    run: async (argv) => (await import('./abort-command.js')).runAbortCommand(argv),
  },
  status: {
    summary: 'Where a rollout stands: level, reasons, gate, verification, what happens next (-w follows it)',
    run: async (argv) => (await import('./status-command.js')).runStatusCommand(argv),
  },
  completion: {
    summary: 'Print the shell completion script (bash or zsh)',
    run: async (argv) => (await import('./completion-command.js')).runCompletionCommand(argv),
  },
};

/** The single executable sets this at build time (it has no package.json beside it). */
declare const ROLLGUARD_VERSION: string | undefined;

function version(): string {
  if (typeof ROLLGUARD_VERSION === 'string') return ROLLGUARD_VERSION;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

function help(): string {
  const width = Math.max(...Object.keys(commands).map((c) => c.length));
  return asInvoked(
    `rollguard — scores every Deployment rollout for risk, pauses the risky ones, verifies the new version
on live Prometheus metrics, and rolls back when it degrades.

Usage: rollguard <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}

Run 'rollguard <command> --help' for a command's options and examples.
`,
    invocation,
  );
}

async function main(argv: string[]): Promise<number> {
  // kubectl (1.26+) completes `kubectl rollguard …` by running kubectl_complete-rollguard with the words.
  if ((process.argv[1]?.split('/').pop() ?? '').startsWith('kubectl_complete-')) {
    return (await import('./completion-command.js')).runCompleteRequest(argv);
  }
  const [name, ...rest] = argv;
  if (name === '__complete') return (await import('./completion-command.js')).runCompleteRequest(rest);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`${invocation} ${version()}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`${invocation}: unknown command "${name}". Run '${invocation} --help' for the list.\n`);
    return 2;
  }
  return command.run(rest);
}

// Not a top-level await: the single executable runs this file as CommonJS, which has none.
void main(process.argv.slice(2)).then(
  (code) => {
    // The controller's watches and keep-alive sockets would keep the process running after it stopped.
    if (process.argv[2] === 'controller') process.exit(code);
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${invocation}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
