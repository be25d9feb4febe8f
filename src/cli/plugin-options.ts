// The cluster options of the kubectl-style commands (approve, abort, status), spelled as kubectl spells them:
// kubectl passes a plugin everything after its name, so `kubectl rollguard status deploy/x -n shop
// --context prod` must mean what it means to kubectl.
import type { KubeConfig } from '@kubernetes/client-node';
import { withDeadlines } from './kube-calls.js';
import { contextNamespace, kubeConfigFrom, UsageError } from './output.js';

export const kubeOptions = {
  namespace: { type: 'string', short: 'n' },
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
} as const;

export const kubeOptionsHelp = `  -n, --namespace NAME     the Deployment's namespace (default: the kubeconfig context's)
  --context NAME           the kubeconfig context to use (default: the current one)
  --kubeconfig PATH        kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)`;

export function clusterFrom(values: {
  namespace?: string | undefined;
  kubeconfig?: string | undefined;
  context?: string | undefined;
}): { kc: KubeConfig; namespace: string } {
  const kc = kubeConfigFrom(values.kubeconfig);
  if (values.context !== undefined) {
    if (!kc.getContextObject(values.context)) {
      throw new UsageError(`the kubeconfig has no context "${values.context}"`);
    }
    kc.setCurrentContext(values.context);
  }
  return { kc: withDeadlines(kc), namespace: values.namespace ?? contextNamespace(kc) };
}
