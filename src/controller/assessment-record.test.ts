// Appending to an assessment's status while another writer changes it: the verifier finishing a verification
// races the reconciler that has just seen the undo and closes the revision. Both writes carry the version they
// read; the loser reads again and retries, so the verdict (the steps that say why) is never lost.
import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { JsonPatchOp } from '../api/meta.js';
import type { ClusterWriter } from '../kube/writer.js';
import { appendActions } from './assessment-record.js';
import type { AssessmentAction } from '../api/assessment.js';

const conflict = Object.assign(new Error('Operation cannot be fulfilled: the object has been modified'), { code: 409 });

interface Stored {
  resourceVersion: number;
  status: Record<string, unknown>;
}

/** One stored assessment; a merge patch naming another resourceVersion is refused, as the API server does. */
class OneAssessmentWriter implements ClusterWriter {
  readonly stored: Stored = { resourceVersion: 7, status: { phase: 'Verifying', outcome: 'running', actions: [] } };
  /** Runs once, between the next read and its write: another writer getting there first. */
  interleave: (() => void) | undefined;
  conflicts = 0;

  readAssessment(): Promise<object | undefined> {
    const copy = structuredClone(this.stored);
    const other = this.interleave;
    this.interleave = undefined;
    other?.();
    return Promise.resolve({
      metadata: { name: 'web-2', resourceVersion: String(copy.resourceVersion) },
      spec: { revision: 2 },
      status: copy.status,
    });
  }
  mergePatchAssessmentStatus(_ns: string, _name: string, status: object, resourceVersion?: string): Promise<object> {
    if (resourceVersion !== undefined && resourceVersion !== String(this.stored.resourceVersion)) {
      this.conflicts++;
      return Promise.reject(conflict);
    }
    Object.assign(this.stored.status, status);
    this.stored.resourceVersion++;
    return Promise.resolve({});
  }
  mergePatchDeployment(): Promise<V1Deployment> {
    return Promise.resolve({});
  }
  jsonPatchDeployment(_ns: string, _name: string, _ops: JsonPatchOp[]): Promise<V1Deployment> {
    return Promise.resolve({});
  }
  readDeployment(): Promise<V1Deployment> {
    return Promise.resolve({});
  }
  createAssessment(): Promise<object> {
    return Promise.resolve({});
  }
  deleteAssessment(): Promise<void> {
    return Promise.resolve();
  }
  mergePatchPolicyStatus(): Promise<object> {
    return Promise.resolve({});
  }
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
    const writer = new OneAssessmentWriter();
    writer.interleave = () => {
      // What closeEarlierRevisions writes when it sees rolled-back-from on the Deployment first.
      writer.stored.status = {
        ...writer.stored.status,
        phase: 'RolledBack',
        outcome: 'rolled-back',
        actions: [rolledBack('rolled back to an earlier template as revision 3')],
      };
      writer.stored.resourceVersion++;
    };
    await appendActions(writer, 'shop', 'web-2', [rolledBack('undo to revision 1')], {
      phase: 'RolledBack',
      outcome: 'rolled-back',
      verification: verdict,
    });
    expect(writer.conflicts).toBe(1);
    expect(writer.stored.status.verification).toEqual(verdict);
    expect(writer.stored.status.outcome).toBe('rolled-back');
    // Recorded once, whoever got there first.
    expect(writer.stored.status.actions).toHaveLength(1);
  });

  it('gives up after repeated conflicts and says so, rather than looping', async () => {
    const writer = new OneAssessmentWriter();
    writer.mergePatchAssessmentStatus = () => {
      writer.conflicts++;
      return Promise.reject(conflict);
    };
    await expect(appendActions(writer, 'shop', 'web-2', [rolledBack('undo')])).rejects.toThrow(/modified/);
    expect(writer.conflicts).toBe(5);
  });

  it('writes nothing when every action is already on record and nothing else changes', async () => {
    const writer = new OneAssessmentWriter();
    writer.stored.status.actions = [rolledBack('earlier')];
    await appendActions(writer, 'shop', 'web-2', [rolledBack('again')]);
    expect(writer.stored.resourceVersion).toBe(7);
  });
});
