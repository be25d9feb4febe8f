// Appending to an assessment's status while another writer changes it: the verifier finishing a verification
// races the reconciler that has just seen the undo and closes the revision. Both writes carry the version they
// read; the loser reads again and retries, so the verdict (the steps that say why) is never lost.
import { describe, expect, it } from 'vitest';
import type { AssessmentAction } from '../api/assessment.js';
import type { AssessmentObject } from '../api/objects.js';
import { appendActions } from './assessment-record.js';
import { MemoryCluster } from './testing.js';

/** The in-memory cluster with one hook: another writer getting there between the next read and its write. */
class RacingCluster extends MemoryCluster {
  /** Runs once, after the next read of the assessment. */
  interleave: (() => Promise<unknown>) | undefined;
  conflicts = 0;

  override async readAssessment(namespace: string, name: string): Promise<object | undefined> {
    const read = await super.readAssessment(namespace, name);
    const other = this.interleave;
    this.interleave = undefined;
    await other?.();
    return read;
  }

  override async mergePatchAssessmentStatus(
    namespace: string,
    name: string,
    status: object,
    resourceVersion?: string,
  ): Promise<object> {
    try {
      return await super.mergePatchAssessmentStatus(namespace, name, status, resourceVersion);
    } catch (err) {
      this.conflicts++;
      throw err;
    }
  }

  stored(): Promise<AssessmentObject> {
    return this.readAssessment('shop', 'web-2') as Promise<AssessmentObject>;
  }
}

/** One assessment of revision 2 under verification, as the API server stores it. */
async function clusterWithAssessment(actions: AssessmentAction[] = []): Promise<RacingCluster> {
  const cluster = new RacingCluster();
  await cluster.createAssessment('shop', { metadata: { name: 'web-2' }, spec: { revision: 2 } });
  await cluster.mergePatchAssessmentStatus('shop', 'web-2', { phase: 'Verifying', outcome: 'running', actions });
  return cluster;
}

const rolledBack = (message: string): AssessmentAction => ({
  type: 'rolled-back',
  at: '2026-12-01T10:00:00.000Z',
  message,
  by: 'rollguard',
});
const verdict = {
  state: 'failed',
  steps: [{ at: '2026-12-01T10:00:00.000Z', metric: 'error-rate', verdict: 'fail', message: '4 % against 2 %' }],
};

describe('appendActions', () => {
  it('keeps the verdict when the reconciler closes the revision between the read and the write', async () => {
    const cluster = await clusterWithAssessment();
    cluster.interleave = () =>
      // What EarlierRevisions (earlier-revisions.ts) writes when it sees rolled-back-from on the Deployment first.
      cluster.mergePatchAssessmentStatus('shop', 'web-2', {
        phase: 'RolledBack',
        outcome: 'rolled-back',
        actions: [rolledBack('rolled back to an earlier template as revision 3')],
      });
    await appendActions(cluster, 'shop', 'web-2', [rolledBack('undo to revision 1')], {
      phase: 'RolledBack',
      outcome: 'rolled-back',
      verification: verdict,
    });
    expect(cluster.conflicts).toBe(1);
    const stored = await cluster.stored();
    expect(stored.status?.verification).toEqual(verdict);
    expect(stored.status?.outcome).toBe('rolled-back');
    // Recorded once, whoever got there first.
    expect(stored.status?.actions).toHaveLength(1);
  });

  it('gives up after repeated conflicts and says so, rather than looping', async () => {
    const cluster = await clusterWithAssessment();
    const rejectAll = () => {
      cluster.interleave = async () => {
        await cluster.mergePatchAssessmentStatus('shop', 'web-2', { phase: 'Verifying' });
        rejectAll();
      };
    };
    rejectAll();
    await expect(appendActions(cluster, 'shop', 'web-2', [rolledBack('undo')])).rejects.toThrow(/modified/);
    expect(cluster.conflicts).toBe(5);
  });

  it('writes nothing when every action is already on record and nothing else changes', async () => {
    const cluster = await clusterWithAssessment([rolledBack('earlier')]);
    const before = (await cluster.stored()).metadata?.resourceVersion;
    await appendActions(cluster, 'shop', 'web-2', [rolledBack('again')]);
    expect((await cluster.stored()).metadata?.resourceVersion).toBe(before);
  });
});
