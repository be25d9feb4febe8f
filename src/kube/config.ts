// Where the API server is: an explicit kubeconfig file, else $KUBECONFIG or ~/.kube/config, else the
// in-cluster service account (client-node's loadFromDefault covers the last three).
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) {
    throw new Error(
      'no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, or run inside a cluster with a service account',
    );
  }
  return kc;
}
