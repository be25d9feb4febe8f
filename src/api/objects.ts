// The objects the controller reads from its informer caches, and the read-only view of those caches.
import type { KubernetesObject, V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import type { AssessmentSpec, AssessmentStatus } from './assessment.js';

export interface PolicyObject extends KubernetesObject {
  /** Unparsed: parsePolicySpec gives the defaulted, typed spec or the reasons it cannot be used. */
  spec?: unknown;
  status?: Record<string, unknown>;
}

export interface AssessmentObject extends KubernetesObject {
  spec?: Partial<AssessmentSpec>;
  status?: AssessmentStatus;
}

export interface Caches {
  deployment(namespace: string, name: string): V1Deployment | undefined;
  deployments(namespace?: string): readonly V1Deployment[];
  replicaSets(namespace: string): readonly V1ReplicaSet[];
  policies(namespace?: string): readonly PolicyObject[];
  assessment(namespace: string, name: string): AssessmentObject | undefined;
  assessments(namespace?: string): readonly AssessmentObject[];
}

/**
 * An Event rollguard means to record about a Deployment. `dedupeKey` names the occurrence ("revision 4
 * paused"): the same key is recorded once, however often a reconcile plans it.
 */
export interface PlannedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
  dedupeKey: string;
}
