// Shell completion. The shell scripts are thin: on TAB they ask the program itself (`rollguard __complete
// WORDS…`), which answers in Cobra's format (one candidate a line, then `:4`), the same protocol kubectl
// (1.26+) uses for plugins through an executable named `kubectl_complete-rollguard`. So there is one
// implementation of what completes where, tested here, whichever shell or kubectl asks. Flags come from each
// command's --help text, so completion cannot drift from the options a command documents.
import { CoreV1Api, AppsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { UsageError } from './output.js';

/** Cobra's ShellCompDirectiveNoFileComp: do not fall back to file names. */
const noFileCompletion = ':4';
/** Cobra's ShellCompDirectiveDefault: the shell may complete file names (for -f, --kubeconfig, …). */
const fileCompletion = ':0';

export interface CompletionSource {
  /** The command names with their --help texts. */
  commands: readonly string[];
  helpOf(command: string): Promise<string | undefined>;
  deployments(namespace: string | undefined): Promise<string[]>;
  namespaces(): Promise<string[]>;
}

/** The flags a help text documents, long and short: `  -n, --namespace NAME   …` gives -n and --namespace. */
export function flagsOf(help: string): { flags: string[]; takesValue: Set<string> } {
  const flags: string[] = [];
  const takesValue = new Set<string>();
  for (const match of help.matchAll(/^ {2}(?:(-[A-Za-z]), )?(--[a-z][\w-]*)( [A-Z][A-Z_]*)?/gm)) {
    const [, short, long, value] = match;
    for (const flag of [short, long]) {
      if (flag === undefined) continue;
      flags.push(flag);
      if (value !== undefined) takesValue.add(flag);
    }
  }
  return { flags, takesValue };
}

const deploymentCommands = new Set(['approve', 'abort', 'status']);
const fileFlags = new Set(['-f', '--file', '--kubeconfig', '--model-dir', '--data', '--out', '--repo']);

/** What completes `words` (the words after the program's name; the last is the one being typed). */
export async function complete(words: readonly string[], source: CompletionSource): Promise<string[]> {
  const current = words.at(-1) ?? '';
  const done = words.slice(0, -1);
  const starting = (candidates: readonly string[]) => candidates.filter((c) => c.startsWith(current));
  if (done.length === 0) return [...starting([...source.commands, 'completion']), noFileCompletion];
  const [command = ''] = done;
  if (command === 'completion')
    return done.length === 1 ? [...starting(['bash', 'zsh']), noFileCompletion] : [noFileCompletion];
  if (command === 'model' && done.length === 1 && !current.startsWith('-')) {
    return [...starting(['train', 'evaluate']), noFileCompletion];
  }
  const help = await source.helpOf(command);
  if (help === undefined) return [noFileCompletion];
  const { flags, takesValue } = flagsOf(help);
  const previous = done.at(-1) ?? '';
  const namespaceAt = done.findIndex((w) => w === '-n' || w === '--namespace');
  const namespace =
    namespaceAt >= 0 ? done[namespaceAt + 1] : done.find((w) => w.startsWith('--namespace='))?.slice(12);
  if (takesValue.has(previous)) {
    if (previous === '-n' || previous === '--namespace')
      return [...starting(await source.namespaces()), noFileCompletion];
    return [fileFlags.has(previous) ? fileCompletion : noFileCompletion];
  }
  if (current.startsWith('-')) return [...starting(flags), noFileCompletion];
  // The positional: a Deployment for the kubectl-style commands, once.
  const positionals = done.slice(1).filter((w, i, all) => !w.startsWith('-') && !takesValue.has(all[i - 1] ?? ''));
  if (deploymentCommands.has(command) && positionals.length === 0) {
    const names = (await source.deployments(namespace)).map((n) => `deploy/${n}`);
    return [...starting(names), noFileCompletion];
  }
  return [noFileCompletion];
}

/** Names from the cluster for completion: quick or nothing (a TAB must never hang). */
export function clusterCompletionSource(
  kc: KubeConfig | undefined,
  contextNamespace: string,
): Pick<CompletionSource, 'deployments' | 'namespaces'> {
  const quietly = async (list: (kc: KubeConfig) => Promise<string[]>) => {
    if (!kc) return [];
    try {
      return await list(kc);
    } catch {
      return [];
    }
  };
  return {
    deployments: (namespace) =>
      quietly(async (config) =>
        (
          await config.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace: namespace ?? contextNamespace })
        ).items.map((d) => d.metadata?.name ?? ''),
      ),
    namespaces: () =>
      quietly(async (config) =>
        (await config.makeApiClient(CoreV1Api).listNamespace()).items.map((n) => n.metadata?.name ?? ''),
      ),
  };
}

/**
 * The script for a shell. `name` is the command completed: rollguard and kubectl-rollguard both (the same
 * program); `kubectl rollguard …` completes through kubectl_complete-rollguard instead (see --help).
 */
export function completionScript(shell: string, program: string): string {
  if (shell === 'bash') {
    return `# bash completion for rollguard (and kubectl-rollguard). Load it with:
#   source <(${program} completion bash)
_rollguard_complete() {
  local IFS=$'\\n' out
  out=$("\${COMP_WORDS[0]}" __complete "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null) || return
  local directive=\${out##*:}
  out=\${out%:*}
  COMPREPLY=($(compgen -W "$out" -- "\${COMP_WORDS[COMP_CWORD]}"))
  if [[ \${#COMPREPLY[@]} -eq 0 && $directive == 0 ]]; then
    COMPREPLY=($(compgen -f -- "\${COMP_WORDS[COMP_CWORD]}"))
  fi
}
complete -o nosort -F _rollguard_complete rollguard kubectl-rollguard 2>/dev/null ||
  complete -F _rollguard_complete rollguard kubectl-rollguard
`;
  }
  if (shell === 'zsh') {
    return `#compdef rollguard kubectl-rollguard
# zsh completion for rollguard (and kubectl-rollguard). Load it with:
#   source <(${program} completion zsh)
# or save it as _rollguard in a directory on $fpath.
_rollguard() {
  local -a lines candidates
  local directive
  lines=("\${(@f)$("\${words[1]}" __complete "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  directive=\${lines[-1]#:}
  candidates=("\${(@)lines[1,-2]}")
  if (( \${#candidates} )); then
    compadd -Q -- "\${(@)candidates}"
  elif [[ $directive == 0 ]]; then
    _files
  fi
}
if [[ $zsh_eval_context[-1] == loadautoload ]]; then
  _rollguard "$@"
else
  compdef _rollguard rollguard kubectl-rollguard
fi
`;
  }
  throw new UsageError(`no completion for "${shell}": say bash or zsh`);
}

export const completionHelp = `Usage: rollguard completion bash|zsh

Prints the shell completion script: commands, each command's flags, Deployments (deploy/NAME) and
namespaces from the current cluster.

  bash:  source <(rollguard completion bash)       # add the line to ~/.bashrc to keep it
  zsh:   source <(rollguard completion zsh)        # or save it as _rollguard on your $fpath

For 'kubectl rollguard …' (kubectl 1.26 or newer) install a completion helper next to the plugin:
  printf '#!/bin/sh\\nexec kubectl-rollguard __complete "$@"\\n' > "$(dirname "$(command -v kubectl-rollguard)")/kubectl_complete-rollguard"
  chmod +x "$(dirname "$(command -v kubectl-rollguard)")/kubectl_complete-rollguard"
`;
