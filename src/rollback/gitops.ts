// Recognising Deployments that Argo CD or Flux manage, from the labels and annotations those tools put on
// what they apply. Undoing such a Deployment in place is undone again by the next sync, so the policy decides.
import type { V1Deployment } from '@kubernetes/client-node';

export interface GitOpsManager {
  tool: 'Argo CD' | 'Flux';
  /** The application or kustomization that owns it, when known. */
  owner?: string;
}

export function gitOpsManagerOf(deployment: V1Deployment): GitOpsManager | undefined {
  const labels = deployment.metadata?.labels ?? {};
  const annotations = deployment.metadata?.annotations ?? {};
  const argoTracking = annotations['argocd.argoproj.io/tracking-id'];
  if (argoTracking !== undefined) return { tool: 'Argo CD', owner: argoTracking.split(':')[0] ?? argoTracking };
  const argoInstance = labels['argocd.argoproj.io/instance'] ?? annotations['argocd.argoproj.io/instance'];
  if (argoInstance !== undefined) return { tool: 'Argo CD', owner: argoInstance };
  const fluxKustomization = labels['kustomize.toolkit.fluxcd.io/name'];
  if (fluxKustomization !== undefined) {
    const namespace = labels['kustomize.toolkit.fluxcd.io/namespace'];
    return { tool: 'Flux', owner: namespace ? `${namespace}/${fluxKustomization}` : fluxKustomization };
  }
  const fluxHelm = labels['helm.toolkit.fluxcd.io/name'];
  if (fluxHelm !== undefined) {
    const namespace = labels['helm.toolkit.fluxcd.io/namespace'];
    return { tool: 'Flux', owner: namespace ? `${namespace}/${fluxHelm}` : fluxHelm };
  }
  return undefined;
}
