// Who approved a paused rollout, read from the Deployment's managedFields the way the API server keeps them.
import type { V1ManagedFieldsEntry } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { approverOf } from './approval.js';

const annotationsOwned = (...keys: string[]) => ({
  'f:metadata': { 'f:annotations': Object.fromEntries(keys.map((k) => [`f:${k}`, {}])) },
});

const deploymentController: V1ManagedFieldsEntry = {
  manager: 'kube-controller-manager',
  operation: 'Update',
  apiVersion: 'apps/v1',
  time: new Date('2024-05-02T09:00:00Z'),
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:deployment.kubernetes.io/revision': {} } }, 'f:status': {} },
};
const clientSideApply: V1ManagedFieldsEntry = {
  manager: 'kubectl-client-side-apply',
  operation: 'Update',
  time: new Date('2024-05-01T12:00:00Z'),
  fieldsType: 'FieldsV1',
  fieldsV1: { ...annotationsOwned('kubectl.kubernetes.io/last-applied-configuration'), 'f:spec': { 'f:template': {} } },
};
const rollguard: V1ManagedFieldsEntry = {
  manager: 'rollguard',
  operation: 'Update',
  time: new Date('2024-05-02T09:30:00Z'),
  fieldsType: 'FieldsV1',
  fieldsV1: {
    ...annotationsOwned('rollguard.io/risk-score', 'rollguard.io/paused-revision'),
    'f:spec': { 'f:paused': {} },
  },
};

describe('approverOf', () => {
  it.each<[string, V1ManagedFieldsEntry[] | undefined, { by: string; at?: string } | undefined]>([
    ['no managedFields', undefined, undefined],
    ['empty managedFields', [], undefined],
    ['nobody wrote the approve annotation', [deploymentController, clientSideApply, rollguard], undefined],
    [
      'kubectl annotate wrote it',
      [
        deploymentController,
        clientSideApply,
        rollguard,
        {
          manager: 'kubectl-annotate',
          operation: 'Update',
          time: new Date('2024-05-02T10:15:00Z'),
          fieldsType: 'FieldsV1',
          fieldsV1: annotationsOwned('rollguard.io/approve'),
        },
      ],
      { by: 'kubectl-annotate', at: '2024-05-02T10:15:00.000Z' },
    ],
    [
      'a server-side apply by Argo CD owns it with other annotations',
      [
        {
          manager: 'argocd-controller',
          operation: 'Apply',
          time: new Date('2024-05-03T07:00:00Z'),
          fieldsType: 'FieldsV1',
          fieldsV1: annotationsOwned('argocd.argoproj.io/tracking-id', 'rollguard.io/approve'),
        },
        rollguard,
      ],
      { by: 'argocd-controller', at: '2024-05-03T07:00:00.000Z' },
    ],
    [
      'the entry has no time',
      [
        {
          manager: 'ci-bot',
          operation: 'Update',
          fieldsType: 'FieldsV1',
          fieldsV1: annotationsOwned('rollguard.io/approve'),
        },
      ],
      { by: 'ci-bot' },
    ],
    [
      'the entry has no manager',
      [
        {
          operation: 'Update',
          time: new Date('2024-05-02T10:15:00Z'),
          fieldsV1: annotationsOwned('rollguard.io/approve'),
        },
      ],
      { by: 'unknown', at: '2024-05-02T10:15:00.000Z' },
    ],
    [
      'a similar but different annotation',
      [
        {
          manager: 'someone',
          operation: 'Update',
          fieldsV1: annotationsOwned('rollguard.io/approved', 'example.com/rollguard.io/approve'),
        },
      ],
      undefined,
    ],
    ['an entry without fieldsV1', [{ manager: 'someone', operation: 'Update' }], undefined],
    [
      'an entry owning only the spec',
      [{ manager: 'hpa', operation: 'Update', fieldsV1: { 'f:spec': { 'f:replicas': {} } } }],
      undefined,
    ],
  ])('%s', (_what, managedFields, expected) => {
    expect(approverOf(managedFields)).toEqual(expected);
  });

  it('reads the time as the informer hands it over, a string in raw JSON', () => {
    const raw = JSON.parse(
      JSON.stringify([
        {
          manager: 'kubectl-annotate',
          operation: 'Update',
          time: '2024-05-02T10:15:00Z',
          fieldsV1: annotationsOwned('rollguard.io/approve'),
        },
      ]),
    ) as V1ManagedFieldsEntry[];
    expect(approverOf(raw)).toEqual({ by: 'kubectl-annotate', at: '2024-05-02T10:15:00.000Z' });
  });
});
