// The Deployment patch carries its preconditions (generation and revision) and touches only the keys planned.
import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { guardedDeploymentPatch, pointerKey } from './deployment-patch.js';

const planned: V1Deployment = {
  metadata: {
    name: 'api',
    generation: 7,
    resourceVersion: '4711',
    annotations: { 'deployment.kubernetes.io/revision': '3', 'rollguard.io/paused-revision': '2' },
  },
};
const preconditions = [
  { op: 'test', path: '/metadata/generation', value: 7 },
  { op: 'test', path: '/metadata/annotations/deployment.kubernetes.io~1revision', value: '3' },
];

describe('guardedDeploymentPatch', () => {
  it('tests generation and revision, never resourceVersion, then sets the annotations and the pause', () => {
    expect(
      guardedDeploymentPatch({ annotations: { 'rollguard.io/risk-level': 'block' }, paused: true }, planned),
    ).toEqual([
      ...preconditions,
      { op: 'add', path: '/metadata/annotations/rollguard.io~1risk-level', value: 'block' },
      { op: 'add', path: '/spec/paused', value: true },
    ]);
  });

  it('removes only the annotations the plan saw', () => {
    expect(
      guardedDeploymentPatch(
        { annotations: { 'rollguard.io/paused-revision': null, 'rollguard.io/approve': null } },
        planned,
      ),
    ).toEqual([...preconditions, { op: 'remove', path: '/metadata/annotations/rollguard.io~1paused-revision' }]);
  });

  it('escapes ~ and / in keys', () => {
    expect(pointerKey('a~b/c')).toBe('a~0b~1c');
  });
});
