// The annotations of the admission gate. The gate itself (a MutatingAdmissionPolicy or the webhook) writes
// `gate: pending` and `gate-pending-since`; the operator moves `gate` on to held, passed or bypassed; people
// write `gate-bypass` to ship without waiting for rollguard.
export const gateAnnotations = {
  /** pending (held at admission, not assessed yet), held (assessed, waits for approval), passed, bypassed. */
  gate: 'rollguard.io/gate',
  /** When the gate held the template (RFC 3339), so a long wait is visible and can be alerted on. */
  pendingSince: 'rollguard.io/gate-pending-since',
  /** Set by a person, with the reason, to let template changes through without waiting for rollguard. */
  bypass: 'rollguard.io/gate-bypass',
} as const;

export type GateState = 'pending' | 'held' | 'passed' | 'bypassed';

/** The gate states in which rollguard, not a person, holds the Deployment paused. */
export const holdingStates: readonly GateState[] = ['pending', 'held'];

/** The paused-revision annotation rollguard's approval flow writes (see src/controller/annotations.ts). */
export const pausedRevisionAnnotation = 'rollguard.io/paused-revision';
