// What the caches keep of each object: identity, what decisions read, and nothing of managedFields except
// who approved. The approval lookup and the template comparison must give the same answer on the slim
// object as on the full one.
import type { KubernetesObject, V1Deployment, V1ManagedFieldsEntry, V1ReplicaSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { approverOf } from '../controller/approval.js';
import { sameTemplate } from '../api/pod-template.js';
import {
  approveEntries,
  controllingDeployment,
  slimDeployment,
  slimReplicaSet,
  withoutManagedFields,
} from './informer-transform.js';

const template = {
  metadata: { labels: { app: 'web' }, annotations: { 'rollguard.io/commit': 'abc' } },
  spec: { containers: [{ name: 'app', image: 'web:1.2.3', env: [{ name: 'A', value: '1' }] }] },
};

// As a watch event delivers them: times are strings.
const managedFields = [
  {
    manager: 'kubectl-client-side-apply',
    operation: 'Update',
    time: '2026-11-30T10:00:00Z',
    fieldsV1: { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': {} } } } },
  },
  {
    manager: 'kubectl-annotate',
    operation: 'Update',
    time: '2026-11-30T11:00:00Z',
    fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:rollguard.io/approve': {}, 'f:other': {} } } },
  },
] as unknown as V1ManagedFieldsEntry[];

const deployment: V1Deployment = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: 'u1',
    resourceVersion: '42',
    generation: 3,
    labels: { 'rollguard.io/enabled': 'true' },
    annotations: {
      'deployment.kubernetes.io/revision': '3',
      'kubectl.kubernetes.io/last-applied-configuration': '{"huge":"copy"}',
      'rollguard.io/approve': '3',
    },
    managedFields,
  },
  spec: { replicas: 2, paused: true, selector: { matchLabels: { app: 'web' } }, template },
  status: { replicas: 2, readyReplicas: 2, conditions: [{ type: 'Progressing', status: 'True' }] },
};

const replicaSet: V1ReplicaSet = {
  metadata: {
    name: 'web-abc',
    namespace: 'shop',
    uid: 'r1',
    resourceVersion: '43',
    labels: { app: 'web', 'pod-template-hash': 'abc' },
    annotations: { 'deployment.kubernetes.io/revision': '3', 'deployment.kubernetes.io/desired-replicas': '2' },
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u1', controller: true },
      { apiVersion: 'v1', kind: 'Other', name: 'x', uid: 'o1' },
    ],
    managedFields,
  },
  spec: {
    replicas: 2,
    minReadySeconds: 5,
    selector: { matchLabels: { app: 'web', 'pod-template-hash': 'abc' } },
    template: { ...template, metadata: { ...template.metadata, labels: { app: 'web', 'pod-template-hash': 'abc' } } },
  },
  status: { replicas: 2, readyReplicas: 2 },
};

describe('slimDeployment', () => {
  const slim = slimDeployment(deployment);

  it('keeps identity, labels, the annotations rollguard reads, spec and status', () => {
    expect(slim.metadata).toMatchObject({
      name: 'web',
      namespace: 'shop',
      uid: 'u1',
      resourceVersion: '42',
      generation: 3,
    });
    expect(slim.metadata?.labels).toEqual({ 'rollguard.io/enabled': 'true' });
    expect(slim.metadata?.annotations).toEqual({
      'deployment.kubernetes.io/revision': '3',
      'rollguard.io/approve': '3',
    });
    expect(slim.spec).toEqual(deployment.spec);
    expect(slim.status).toEqual(deployment.status);
  });

  it('drops the last-applied copy and every managedFields entry but the approver, cut to that field', () => {
    expect(slim.metadata?.managedFields).toEqual([
      {
        manager: 'kubectl-annotate',
        operation: 'Update',
        time: '2026-11-30T11:00:00Z',
        fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:rollguard.io/approve': {} } } },
      },
    ]);
    expect(approverOf(slim.metadata?.managedFields)).toEqual(approverOf(deployment.metadata?.managedFields));
  });

  it('keeps no managedFields at all when nobody approved', () => {
    const slimmer = slimDeployment({
      ...deployment,
      metadata: { ...deployment.metadata, managedFields: managedFields.slice(0, 1) },
    });
    expect(slimmer.metadata?.managedFields).toBeUndefined();
  });

  it('does not change the object it was given', () => {
    expect(deployment.metadata?.managedFields).toHaveLength(2);
    expect(deployment.metadata?.annotations?.['kubectl.kubernetes.io/last-applied-configuration']).toBeDefined();
  });
});

describe('slimReplicaSet', () => {
  const slim = slimReplicaSet(replicaSet);

  it('keeps identity, revision annotations, the controlling owner, the template and the counts', () => {
    expect(slim.metadata).toEqual({
      name: 'web-abc',
      namespace: 'shop',
      uid: 'r1',
      resourceVersion: '43',
      labels: replicaSet.metadata?.labels,
      annotations: replicaSet.metadata?.annotations,
      ownerReferences: [replicaSet.metadata?.ownerReferences?.[0]],
    });
    expect(slim.spec).toEqual({
      replicas: 2,
      selector: replicaSet.spec?.selector,
      template: replicaSet.spec?.template,
    });
    expect(slim.status).toEqual(replicaSet.status);
    expect(controllingDeployment(slim)).toBe('web');
  });

  it('leaves the template comparison with the Deployment unchanged', () => {
    expect(sameTemplate(slim.spec?.template, slimDeployment(deployment).spec?.template)).toBe(true);
  });
});

describe('withoutManagedFields and approveEntries', () => {
  it('keeps spec and status of any object whole', () => {
    const policy: KubernetesObject & { spec: object; status: object } = {
      apiVersion: 'rollguard.io/v1alpha1',
      kind: 'DeploymentRiskPolicy',
      metadata: { name: 'p', namespace: 'shop', managedFields },
      spec: { mode: 'enforce' },
      status: { covered: 1 },
    };
    const slim = withoutManagedFields(policy);
    expect(slim.metadata).toEqual({ name: 'p', namespace: 'shop' });
    expect(slim.spec).toEqual({ mode: 'enforce' });
    expect(slim.status).toEqual({ covered: 1 });
  });

  it.each([[undefined], [[]], [['not an entry', null, 3]]])('finds no approver in %j', (fields) => {
    expect(approveEntries(fields as never)).toEqual([]);
  });
});
