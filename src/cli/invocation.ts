// The name the program was called by. The same file is installed as `rollguard` and as `kubectl-rollguard`
// (kubectl runs plugins by that name and passes the rest of the command line), so help texts and hints say
// `kubectl rollguard status …` to someone who typed that, and `rollguard status …` to everyone else.
import path from 'node:path';

export type Invocation = 'rollguard' | 'kubectl rollguard';

/** From argv[1] (the script or, in the single executable, the executable itself). */
export function invocationOf(argv1: string | undefined): Invocation {
  const base = path.basename(argv1 ?? '').replace(/\.(c?js|mjs|ts)$/, '');
  return base.startsWith('kubectl-') || base.startsWith('kubectl_complete-') ? 'kubectl rollguard' : 'rollguard';
}

/** The commands, in the order --help lists them (main.ts dispatches them; completion offers them). */
export const commandNames = [
  'controller',
  'change-metrics',
  'model',
  'score',
  'doctor',
  'history',
  'explain',
  'approve',
  'abort',
  'status',
  'completion',
] as const;
// Not after "kubectl ": text already written for the plugin (`${invocation} status …`) stays as it is.
const asCommand = new RegExp(
  `(^|[\\s'\`"(])(?<!kubectl )rollguard (?=(${[...commandNames, '<command>'].join('|')})(?![\\w-]))`,
  'gm',
);

/**
 * Text with each `rollguard COMMAND` as the user would type it. Only a command invocation is rewritten, so
 * "rollguard resumes the rollout" and "rollguard.io/approve" stay as they are.
 */
export function asInvoked(text: string, invocation: Invocation): string {
  if (invocation === 'rollguard') return text;
  return text.replace(asCommand, `$1${invocation} `);
}

/** How this process was called: fixed for its lifetime. */
export const invocation: Invocation = invocationOf(process.argv[1]);
