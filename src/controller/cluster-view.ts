// Two ways to read what scoring needs from the cluster: straight from the API (the CLI, one-off) and from the
// controller's informer caches (the score API, many calls, no extra load on the API server).
import { AppsV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { isNotFound } from '../kube/errors.js';
import { assessmentResource, policyResource } from '../api/resources.js';
import type { ClusterView } from './score-manifest.js';
import type { AssessmentObject, Caches, PolicyObject } from '../api/objects.js';

export function apiClusterView(kc: KubeConfig): ClusterView {
  const apps = kc.makeApiClient(AppsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  return {
    async deployment(namespace, name) {
      try {
        return await apps.readNamespacedDeployment({ namespace, name });
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async policies(namespace) {
      const list = (await custom.listNamespacedCustomObject({ ...policyResource, namespace })) as {
        items: PolicyObject[];
      };
      return list.items;
    },
    async assessments(namespace) {
      const list = (await custom.listNamespacedCustomObject({ ...assessmentResource, namespace })) as {
        items: AssessmentObject[];
      };
      return list.items;
    },
  };
}

export function cacheClusterView(caches: Caches): ClusterView {
  return {
    deployment: (namespace, name) => Promise.resolve(caches.deployment(namespace, name)),
    policies: (namespace) => Promise.resolve(caches.policies(namespace)),
    assessments: (namespace) => Promise.resolve(caches.assessments(namespace)),
  };
}
