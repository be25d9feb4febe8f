// The last line of defence of sharding: every write the controller makes names a namespace, and this refuses
// it unless this replica holds that namespace's shard at that very moment. A reconcile that started while the
// shard was held and is still running when it is lost (handed over, or not renewed in time) cannot write
// after the new holder may have started. The refused key is retried by the queue, and then skipped there.
import type { EventInput, EventSink } from '../kube/events.js';
import type { JsonPatchOp } from '../api/meta.js';
import type { ClusterWriter } from '../kube/writer.js';

export class ShardNotHeldError extends Error {
  constructor(namespace: string) {
    super(`this replica no longer holds the shard of namespace ${namespace}; another replica acts on it`);
    this.name = 'ShardNotHeldError';
  }
}

export function guardedWriter(writer: ClusterWriter, owns: (namespace: string) => boolean): ClusterWriter {
  const check = (namespace: string) => {
    if (!owns(namespace)) throw new ShardNotHeldError(namespace);
  };
  return {
    mergePatchDeployment: (namespace: string, name: string, patch: object) => {
      check(namespace);
      return writer.mergePatchDeployment(namespace, name, patch);
    },
    jsonPatchDeployment: (namespace: string, name: string, ops: JsonPatchOp[]) => {
      check(namespace);
      return writer.jsonPatchDeployment(namespace, name, ops);
    },
    readDeployment: (namespace: string, name: string) => writer.readDeployment(namespace, name),
    readAssessment: (namespace: string, name: string) => writer.readAssessment(namespace, name),
    createAssessment: (namespace: string, body: object) => {
      check(namespace);
      return writer.createAssessment(namespace, body);
    },
    deleteAssessment: (namespace: string, name: string) => {
      check(namespace);
      return writer.deleteAssessment(namespace, name);
    },
    mergePatchAssessmentStatus: (namespace: string, name: string, status: object, resourceVersion?: string) => {
      check(namespace);
      return writer.mergePatchAssessmentStatus(namespace, name, status, resourceVersion);
    },
    mergePatchPolicyStatus: (namespace: string, name: string, status: object) => {
      check(namespace);
      return writer.mergePatchPolicyStatus(namespace, name, status);
    },
  };
}

export function guardedEvents(events: EventSink, owns: (namespace: string) => boolean): EventSink {
  return {
    emit: (event: EventInput) => {
      if (!owns(event.regarding.namespace)) return Promise.reject(new ShardNotHeldError(event.regarding.namespace));
      return events.emit(event);
    },
  };
}
