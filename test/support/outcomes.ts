// Finished rollouts to learn from, put in the cluster the way the controller leaves them: RolloutAssessments
// created with kubectl (spec), then given their outcome through the status subresource, as the controller
// writes it. Shared by the learning test (a loop in the test's process) and the image test (the bundle's own
// worker thread).
import type { SyntheticRollout } from '../../src/learning/testing.js';
import { kubectl } from './kubectl.js';

/** Whether the rollout ended in an outcome the model learns from (not still running, not superseded). */
export function isFinished(rollout: SyntheticRollout): boolean {
  return !['running', 'superseded'].includes(rollout.outcome);
}

function phaseOf(outcome: SyntheticRollout['outcome']): string {
  switch (outcome) {
    case 'succeeded':
      return 'Verified';
    case 'rolled-back':
      return 'RolledBack';
    case 'failed':
      return 'Failed';
    case 'superseded':
      return 'Superseded';
    case 'running':
      return 'Verifying';
  }
}

/**
 * The rollouts as revisions 2, 3, … of the Deployment `deployment` in `namespace`, each with its outcome, as
 * assessed under the policy `policy` (a controller learns only from policies that allow it).
 */
export async function createOutcomes(
  namespace: string,
  deployment: string,
  rollouts: readonly SyntheticRollout[],
  policy = 'default',
): Promise<void> {
  const items = rollouts.map((rollout, i) => ({
    apiVersion: 'rollguard.io/v1alpha1',
    kind: 'RolloutAssessment',
    metadata: {
      name: rollout.name,
      namespace,
      labels: {
        'rollguard.io/deployment': deployment,
        'rollguard.io/revision': String(i + 2),
        'rollguard.io/policy': policy,
      },
    },
    spec: {
      deployment,
      revision: i + 2,
      podTemplateHash: `h${i + 2}`,
      previousRevision: i + 1,
      previousPodTemplateHash: `h${i + 1}`,
      policy,
    },
  }));
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  // Status through the status subresource, as the controller writes it; a few at a time.
  const queue = [...rollouts];
  const worker = async (): Promise<void> => {
    for (let rollout = queue.shift(); rollout; rollout = queue.shift()) {
      const status = {
        phase: phaseOf(rollout.outcome),
        outcome: rollout.outcome,
        assessedAt: rollout.assessedAt,
        features: rollout.features,
        scorer: 'model',
        modelVersion: 'jit-apachejit-v1',
        score: 0.3,
        level: 'safe',
      };
      await kubectl([
        '-n',
        namespace,
        'patch',
        'rolloutassessment',
        rollout.name,
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify({ status }),
      ]);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}
