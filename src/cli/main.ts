#!/usr/bin/env node
// The `rollguard` command: dispatches to one subcommand. Each subcommand lives in its own module and is
// loaded only when used, so `rollguard --help` stays instant.
import { readFileSync } from 'node:fs';

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
};

function version(): string {
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
  return `rollguard — scores every Deployment rollout for risk, pauses the risky ones, verifies the new version
on live Prometheus metrics, and rolls back when it degrades.

Usage: rollguard <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`)
  .join('\n')}

Run 'rollguard <command> --help' for a command's options and examples.
`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(help());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write(`rollguard ${version()}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`rollguard: unknown command "${name}". Run 'rollguard --help' for the list.\n`);
    return 2;
  }
  return command.run(rest);
}

const exitCode = await main(process.argv.slice(2));
// The controller's watches and keep-alive sockets would keep the process running after it stopped.
if (process.argv[2] === 'controller') process.exit(exitCode);
process.exitCode = exitCode;
