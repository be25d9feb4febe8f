// Whether this replica may take the leader Lease, judged as client-go does: by when *we* last saw the record
// change, never by the renewTime another node wrote with its own clock.
import { V1MicroTime, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { canAcquire } from './leader.js';

const me = 'rollguard-7d9f_a1b2c3d4';
const other = 'rollguard-5c8e_e5f6a7b8';
const nowMs = Date.parse('2025-06-02T12:00:00Z');
const defaultDurationMs = 15_000;

function lease(spec: V1LeaseSpec | null): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'rollguard-leader', namespace: 'rollguard-system', resourceVersion: '812' },
    ...(spec === null ? {} : { spec }),
  };
}

const heldBy = (holderIdentity: string, extra: V1LeaseSpec = {}) =>
  lease({ holderIdentity, leaseDurationSeconds: 15, renewTime: new V1MicroTime(nowMs - 1000), ...extra });

describe('canAcquire', () => {
  it.each<[string, V1Lease | undefined, number | undefined, boolean]>([
    ['no Lease yet', undefined, undefined, true],
    ['a Lease without spec', lease(null), nowMs, true],
    ['a Lease without holder', lease({ leaseDurationSeconds: 15 }), nowMs, true],
    ['a Lease released (empty holder)', heldBy(''), nowMs, true],
    ['held by me, just renewed', heldBy(me), nowMs, true],
    ['held by me, never observed', heldBy(me), undefined, true],
    ['held by another, never observed', heldBy(other), undefined, false],
    ['held by another, seen change 1 s ago', heldBy(other), nowMs - 1000, false],
    ['held by another, seen change 14.999 s ago', heldBy(other), nowMs - 14_999, false],
    ['held by another, seen change exactly 15 s ago (expired)', heldBy(other), nowMs - 15_000, true],
    ['held by another, seen change 40 s ago', heldBy(other), nowMs - 40_000, true],
  ])('%s → %s', (_what, l, observedAtMs, expected) => {
    expect(canAcquire(l, me, observedAtMs, nowMs, defaultDurationMs)).toBe(expected);
  });

  it.each<[string, number, number, boolean]>([
    // The other node's clock runs an hour behind: its renewTime looks long expired, but we saw it change just now.
    ['renewTime an hour old by our clock, record changed 2 s ago', -3_600_000, nowMs - 2000, false],
    // The other node's clock runs ahead: its renewTime is in our future, but it stopped renewing 20 s ago.
    ['renewTime in our future, record unchanged for 20 s', 60_000, nowMs - 20_000, true],
  ])(
    'judges expiry by our observation, not the object (clock skew): %s → %s',
    (_what, renewOffsetMs, observedAtMs, expected) => {
      const l = heldBy(other, { renewTime: new V1MicroTime(nowMs + renewOffsetMs) });
      expect(canAcquire(l, me, observedAtMs, nowMs, defaultDurationMs)).toBe(expected);
    },
  );

  it.each<[string, number | undefined, number, boolean]>([
    ['the Lease’s 60 s, not our 15 s: 20 s since the change is too soon', 60, nowMs - 20_000, false],
    ['the Lease’s 60 s: 60 s since the change is enough', 60, nowMs - 60_000, true],
    ['the Lease’s 5 s, shorter than ours: 6 s is enough', 5, nowMs - 6000, true],
    ['our 15 s when the Lease does not say: 10 s is too soon', undefined, nowMs - 10_000, false],
    ['our 15 s when the Lease does not say: 15 s is enough', undefined, nowMs - 15_000, true],
    ['a 1 s Lease, 1 s after the change', 1, nowMs - 1000, true],
  ])('uses leaseDurationSeconds from the object: %s', (_what, seconds, observedAtMs, expected) => {
    const l = lease({
      holderIdentity: other,
      renewTime: new V1MicroTime(nowMs),
      ...(seconds === undefined ? {} : { leaseDurationSeconds: seconds }),
    });
    expect(canAcquire(l, me, observedAtMs, nowMs, defaultDurationMs)).toBe(expected);
  });
});
