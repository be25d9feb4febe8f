// The writes the controller makes, behind one small interface so the reconcile logic can be read without
// the client's plumbing: merge patches on Deployments, a guarded JSON patch for rollbacks, creating
// assessments and patching the status of assessments and policies.
import {
  AppsV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Deployment,
} from '@kubernetes/client-node';
import type { JsonPatchOp } from '../api/meta.js';
import { isNotFound } from './errors.js';
import { assessmentResource, policyResource } from '../api/resources.js';

export interface ClusterWriter {
  mergePatchDeployment(namespace: string, name: string, patch: object): Promise<V1Deployment>;
  jsonPatchDeployment(namespace: string, name: string, ops: JsonPatchOp[]): Promise<V1Deployment>;
  readDeployment(namespace: string, name: string): Promise<V1Deployment>;
  /** A fresh read, for when the informer cache may not have caught up with our own last write. */
  readAssessment(namespace: string, name: string): Promise<object | undefined>;
  createAssessment(namespace: string, body: object): Promise<object>;
  deleteAssessment(namespace: string, name: string): Promise<void>;
  /** With `resourceVersion`, the patch fails with a conflict if the object changed since it was read. */
  mergePatchAssessmentStatus(
    namespace: string,
    name: string,
    status: object,
    resourceVersion?: string,
  ): Promise<object>;
  mergePatchPolicyStatus(namespace: string, name: string, status: object): Promise<object>;
}

export class KubeClusterWriter implements ClusterWriter {
  private readonly apps: AppsV1Api;
  private readonly custom: CustomObjectsApi;

  /** `fieldManager`: whose writes these are in managedFields; a person's, when the CLI writes for them. */
  constructor(
    kc: KubeConfig,
    private readonly fieldManager = 'rollguard',
  ) {
    this.apps = kc.makeApiClient(AppsV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
  }

  mergePatchDeployment(namespace: string, name: string, patch: object): Promise<V1Deployment> {
    return this.apps.patchNamespacedDeployment(
      { namespace, name, body: patch, fieldManager: this.fieldManager },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  jsonPatchDeployment(namespace: string, name: string, ops: JsonPatchOp[]): Promise<V1Deployment> {
    return this.apps.patchNamespacedDeployment(
      { namespace, name, body: ops, fieldManager: this.fieldManager },
      setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
    );
  }

  readDeployment(namespace: string, name: string): Promise<V1Deployment> {
    return this.apps.readNamespacedDeployment({ namespace, name });
  }

  async readAssessment(namespace: string, name: string): Promise<object | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ ...assessmentResource, namespace, name })) as object;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async createAssessment(namespace: string, body: object): Promise<object> {
    return (await this.custom.createNamespacedCustomObject({
      ...assessmentResource,
      namespace,
      body,
      fieldManager: this.fieldManager,
    })) as object;
  }

  async deleteAssessment(namespace: string, name: string): Promise<void> {
    try {
      await this.custom.deleteNamespacedCustomObject({ ...assessmentResource, namespace, name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  async mergePatchAssessmentStatus(
    namespace: string,
    name: string,
    status: object,
    resourceVersion?: string,
  ): Promise<object> {
    const body = resourceVersion === undefined ? { status } : { metadata: { resourceVersion }, status };
    return (await this.custom.patchNamespacedCustomObjectStatus(
      { ...assessmentResource, namespace, name, body, fieldManager: this.fieldManager },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as object;
  }

  async mergePatchPolicyStatus(namespace: string, name: string, status: object): Promise<object> {
    return (await this.custom.patchNamespacedCustomObjectStatus(
      { ...policyResource, namespace, name, body: { status }, fieldManager: this.fieldManager },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    )) as object;
  }
}
