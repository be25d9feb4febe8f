// The gate's decision, as a pure function: given one admission request for a Deployment and the
// DeploymentRiskPolicies of its namespace, hold the new pod template (pause it, mark it pending) or let it
// pass, and why. The webhook applies it as it is; admission-objects.ts says the same in CEL for the API
// server, and gate-parity.test.ts checks on the real API server that the two agree.
import { canonical } from '../api/canonical.js';
import { selectorMatches } from '../api/selector.js';
import { gateAnnotations, pausedRevisionAnnotation } from './annotations.js';

/** The parts of a Deployment the gate looks at, as the API server sends them (defaults applied). */
export interface DeploymentLike {
  metadata?: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    managedFields?: readonly { time?: string | Date }[];
  };
  spec?: { paused?: boolean; template?: unknown };
}

/** A DeploymentRiskPolicy as stored (the gate reads it raw, as the API server's CEL does). */
export interface PolicyLike {
  metadata?: { deletionTimestamp?: string | Date };
  spec?: unknown;
}

export interface GateRequest {
  operation: string;
  username: string;
  object: DeploymentLike;
  /** The stored object, on UPDATE. */
  oldObject?: DeploymentLike | undefined;
}

export type PassReason =
  'not-create-or-update' | 'rollguard' | 'template-unchanged' | 'bypassed' | 'paused-by-a-person' | 'not-covered';

export type GateDecision =
  | {
      hold: true;
      /** The annotations to set (gate: pending, and since when when it is known). */
      annotations: Record<string, string>;
    }
  | { hold: false; reason: PassReason };

function annotationsOf(d: DeploymentLike | undefined): Readonly<Record<string, string>> {
  return d?.metadata?.annotations ?? {};
}

/** rollguard paused the stored object (its gate or its approval flow): a new template is gated again. */
function pausedByRollguard(old: DeploymentLike | undefined): boolean {
  if (old?.spec?.paused !== true) return false;
  const a = annotationsOf(old);
  const state = a[gateAnnotations.gate];
  return state === 'pending' || state === 'held' || Object.hasOwn(a, pausedRevisionAnnotation);
}

interface GateSettings {
  enabled?: unknown;
  creation?: unknown;
}

/** Whether one policy covers the Deployment and holds this request (enforce mode, gate on, creation if asked). */
export function policyHolds(policy: PolicyLike, operation: string, labels: Readonly<Record<string, string>>): boolean {
  if (policy.metadata?.deletionTimestamp !== undefined) return false;
  const spec = (policy.spec ?? {}) as { selector?: unknown; mode?: unknown; gate?: GateSettings };
  if (spec.selector === undefined || spec.selector === null) return false;
  if (spec.mode !== undefined && spec.mode !== 'enforce') return false;
  if (spec.gate?.enabled === false) return false;
  if (operation !== 'UPDATE' && spec.gate?.creation !== true) return false;
  return selectorMatches(spec.selector, labels);
}

/**
 * When the template was first held: kept from the stored object while it is still pending, else the newest
 * managedFields time (the API server stamps the requester's entry with the request's time), else ''.
 */
export function pendingSince(request: GateRequest): string {
  const old = annotationsOf(request.oldObject);
  const kept = old[gateAnnotations.pendingSince];
  if (request.operation === 'UPDATE' && kept !== undefined && old[gateAnnotations.gate] === 'pending') return kept;
  const times = (request.object.metadata?.managedFields ?? [])
    .map((f) => (f.time instanceof Date ? f.time.toISOString().replace(/\.\d{3}Z$/, 'Z') : (f.time ?? '')))
    .filter((t) => t !== '')
    .sort();
  return times.at(-1) ?? '';
}

export function decideGate(
  request: GateRequest,
  policies: readonly PolicyLike[],
  operatorUsername: string,
): GateDecision {
  const { operation, object } = request;
  if (operation !== 'CREATE' && operation !== 'UPDATE') return { hold: false, reason: 'not-create-or-update' };
  if (request.username === operatorUsername) return { hold: false, reason: 'rollguard' };
  if (operation === 'UPDATE' && canonical(object.spec?.template) === canonical(request.oldObject?.spec?.template)) {
    return { hold: false, reason: 'template-unchanged' };
  }
  if ((annotationsOf(object)[gateAnnotations.bypass] ?? '') !== '') return { hold: false, reason: 'bypassed' };
  if (object.spec?.paused === true && !(operation === 'UPDATE' && pausedByRollguard(request.oldObject))) {
    return { hold: false, reason: 'paused-by-a-person' };
  }
  const labels = object.metadata?.labels ?? {};
  if (!policies.some((p) => policyHolds(p, operation, labels))) return { hold: false, reason: 'not-covered' };
  const since = pendingSince(request);
  return {
    hold: true,
    annotations:
      since === ''
        ? { [gateAnnotations.gate]: 'pending' }
        : { [gateAnnotations.gate]: 'pending', [gateAnnotations.pendingSince]: since },
  };
}
