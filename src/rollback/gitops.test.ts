// Recognising Argo CD and Flux from the labels and annotations they put on what they apply, as `kubectl get
// deployment -o yaml` shows them on a synced Deployment.
import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { gitOpsManagerOf, type GitOpsManager } from './gitops.js';

function deployment(labels: Record<string, string> = {}, annotations: Record<string, string> = {}): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'shop', labels: { app: 'web', ...labels }, annotations },
  };
}

describe('gitOpsManagerOf', () => {
  it.each<[string, V1Deployment, GitOpsManager | undefined]>([
    ['a plain Deployment', deployment(), undefined],
    ['a Deployment without metadata', { apiVersion: 'apps/v1', kind: 'Deployment' }, undefined],
    [
      'plain Helm (not GitOps: nothing re-applies it)',
      deployment({
        'app.kubernetes.io/managed-by': 'Helm',
        'app.kubernetes.io/instance': 'web',
        'helm.sh/chart': 'web-1.0.0',
      }),
      undefined,
    ],
    [
      'Argo CD annotation tracking',
      deployment({}, { 'argocd.argoproj.io/tracking-id': 'shop-web:apps/Deployment:shop/web' }),
      { tool: 'Argo CD', owner: 'shop-web' },
    ],
    [
      'Argo CD annotation tracking of an application in another namespace',
      deployment({}, { 'argocd.argoproj.io/tracking-id': 'team-a_shop-web:apps/Deployment:shop/web' }),
      { tool: 'Argo CD', owner: 'team-a_shop-web' },
    ],
    [
      'Argo CD instance label',
      deployment({ 'argocd.argoproj.io/instance': 'shop-web' }),
      { tool: 'Argo CD', owner: 'shop-web' },
    ],
    [
      'Argo CD instance annotation',
      deployment({}, { 'argocd.argoproj.io/instance': 'shop-web' }),
      { tool: 'Argo CD', owner: 'shop-web' },
    ],
    [
      'Argo CD tracking-id before the instance label',
      deployment(
        { 'argocd.argoproj.io/instance': 'old-app' },
        { 'argocd.argoproj.io/tracking-id': 'new-app:apps/Deployment:shop/web' },
      ),
      { tool: 'Argo CD', owner: 'new-app' },
    ],
    [
      'a Flux Kustomization with its namespace',
      deployment({
        'kustomize.toolkit.fluxcd.io/name': 'apps',
        'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
      }),
      { tool: 'Flux', owner: 'flux-system/apps' },
    ],
    [
      'a Flux Kustomization without its namespace',
      deployment({ 'kustomize.toolkit.fluxcd.io/name': 'apps' }),
      { tool: 'Flux', owner: 'apps' },
    ],
    [
      'a Flux HelmRelease with its namespace',
      deployment({ 'helm.toolkit.fluxcd.io/name': 'web', 'helm.toolkit.fluxcd.io/namespace': 'shop' }),
      { tool: 'Flux', owner: 'shop/web' },
    ],
    [
      'a Flux HelmRelease without its namespace',
      deployment({ 'helm.toolkit.fluxcd.io/name': 'web' }),
      { tool: 'Flux', owner: 'web' },
    ],
    [
      'a HelmRelease rendered by a Kustomization (the Kustomization labels win)',
      deployment({
        'helm.toolkit.fluxcd.io/name': 'web',
        'helm.toolkit.fluxcd.io/namespace': 'shop',
        'kustomize.toolkit.fluxcd.io/name': 'apps',
        'kustomize.toolkit.fluxcd.io/namespace': 'flux-system',
      }),
      { tool: 'Flux', owner: 'flux-system/apps' },
    ],
    [
      'Flux labels written as annotations (not what Flux does)',
      deployment({}, { 'kustomize.toolkit.fluxcd.io/name': 'apps' }),
      undefined,
    ],
  ])('%s', (_what, d, expected) => {
    expect(gitOpsManagerOf(d)).toEqual(expected);
  });
});
