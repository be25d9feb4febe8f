// `rollguard completion bash|zsh` prints a completion script; `rollguard __complete WORDS…` (and the program
// run as kubectl_complete-rollguard) answers one completion request. See completion.ts.
import { loadKubeConfig } from '../kube/config.js';
import { clusterCompletionSource, complete, completionHelp, completionScript } from './completion.js';
import { commandNames, invocation } from './invocation.js';
import { withDeadlines } from './kube-calls.js';
import { contextNamespace, errorLine, processIO, type CommandIO } from './output.js';

/** The help text of each command that takes flags, loaded only when completing that command. */
const helpLoaders: Record<string, () => Promise<string>> = {
  controller: async () => (await import('./controller-command.js')).controllerHelp,
  score: async () => (await import('./score-command.js')).scoreHelp,
  doctor: async () => (await import('./doctor-command.js')).doctorHelp,
  history: async () => (await import('./history-command.js')).historyHelp,
  explain: async () => (await import('./explain-command.js')).explainHelp,
  approve: async () => (await import('./approve-command.js')).approveHelp,
  abort: async () => (await import('./abort-command.js')).abortHelp,
  status: async () => (await import('./status-command.js')).statusHelp,
};

/** A TAB waits at most this long for the cluster. */
const completionDeadlineMs = 2000;

export async function runCompleteRequest(words: string[], io: CommandIO = processIO): Promise<number> {
  let kc;
  let namespace = 'default';
  try {
    kc = withDeadlines(loadKubeConfig(), completionDeadlineMs);
    namespace = contextNamespace(kc);
  } catch {
    kc = undefined;
  }
  const candidates = await complete(words.length === 0 ? [''] : words, {
    commands: commandNames.filter((c) => c !== 'completion'),
    helpOf: async (command) => helpLoaders[command]?.(),
    ...clusterCompletionSource(kc, namespace),
  });
  io.stdout(`${candidates.join('\n')}\n`);
  return 0;
}

export function runCompletionCommand(argv: string[], io: CommandIO = processIO): Promise<number> {
  const [shell, ...rest] = argv;
  if (shell === '-h' || shell === '--help') {
    io.stdout(completionHelp);
    return Promise.resolve(0);
  }
  try {
    if (shell === undefined || rest.length > 0) throw new Error('say which shell: completion bash, or completion zsh');
    io.stdout(completionScript(shell, invocation === 'kubectl rollguard' ? 'kubectl-rollguard' : 'rollguard'));
    return Promise.resolve(0);
  } catch (err) {
    io.stderr(`rollguard completion: ${errorLine(err)}\n`);
    return Promise.resolve(2);
  }
}
