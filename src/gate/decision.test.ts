import { describe, expect, it } from 'vitest';
import { decideGate, pendingSince, type DeploymentLike, type GateRequest, type PolicyLike } from './decision.js';

const operator = 'system:serviceaccount:rollguard-system:rollguard';
const template = (image: string) => ({
  metadata: { labels: { app: 'shop' } },
  spec: { containers: [{ name: 'app', image }] },
});

function deployment(o: {
  image?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  paused?: boolean;
  replicas?: number;
}): DeploymentLike {
  return {
    metadata: {
      labels: o.labels ?? { team: 'shop' },
      ...(o.annotations ? { annotations: o.annotations } : {}),
      managedFields: [{ time: '2026-12-01T10:00:00Z' }, { time: '2026-12-01T10:05:00Z' }],
    },
    spec: { ...(o.paused !== undefined ? { paused: o.paused } : {}), template: template(o.image ?? 'shop:1') },
  };
}

const covering: PolicyLike = { spec: { selector: { matchLabels: { team: 'shop' } } } };
const update = (object: DeploymentLike, oldObject: DeploymentLike, username = 'jane'): GateRequest => ({
  operation: 'UPDATE',
  username,
  object,
  oldObject,
});

describe('decideGate', () => {
  const old = deployment({});
  it.each<[string, GateRequest, PolicyLike[], ReturnType<typeof decideGate>]>([
    [
      'a new template of a covered Deployment is held, pending since the request',
      update(deployment({ image: 'shop:2' }), old),
      [covering],
      {
        hold: true,
        annotations: { 'rollguard.io/gate': 'pending', 'rollguard.io/gate-pending-since': '2026-12-01T10:05:00Z' },
      },
    ],
    [
      'replicas only',
      update({ ...deployment({}), spec: { ...deployment({}).spec, replicas: 5 } } as DeploymentLike, old),
      [covering],
      { hold: false, reason: 'template-unchanged' },
    ],
    [
      'annotations only',
      update(deployment({ annotations: { owner: 'x' } }), old),
      [covering],
      { hold: false, reason: 'template-unchanged' },
    ],
    [
      "rollguard's own request",
      update(deployment({ image: 'shop:2' }), old, operator),
      [covering],
      { hold: false, reason: 'rollguard' },
    ],
    [
      'a bypass with a reason',
      update(deployment({ image: 'shop:2', annotations: { 'rollguard.io/gate-bypass': 'INC-1' } }), old),
      [covering],
      { hold: false, reason: 'bypassed' },
    ],
    [
      'an empty bypass is no bypass',
      update(deployment({ image: 'shop:2', annotations: { 'rollguard.io/gate-bypass': '' } }), old),
      [covering],
      {
        hold: true,
        annotations: { 'rollguard.io/gate': 'pending', 'rollguard.io/gate-pending-since': '2026-12-01T10:05:00Z' },
      },
    ],
    [
      'paused by a person in the same request',
      update(deployment({ image: 'shop:2', paused: true }), old),
      [covering],
      { hold: false, reason: 'paused-by-a-person' },
    ],
    [
      'paused by a person before',
      update(deployment({ image: 'shop:2', paused: true }), deployment({ paused: true })),
      [covering],
      { hold: false, reason: 'paused-by-a-person' },
    ],
    [
      'held by rollguard before: the next template is held again, since the first hold',
      update(
        deployment({
          image: 'shop:3',
          paused: true,
          annotations: { 'rollguard.io/gate': 'pending', 'rollguard.io/gate-pending-since': '2026-12-01T09:00:00Z' },
        }),
        deployment({
          image: 'shop:2',
          paused: true,
          annotations: { 'rollguard.io/gate': 'pending', 'rollguard.io/gate-pending-since': '2026-12-01T09:00:00Z' },
        }),
      ),
      [covering],
      {
        hold: true,
        annotations: { 'rollguard.io/gate': 'pending', 'rollguard.io/gate-pending-since': '2026-12-01T09:00:00Z' },
      },
    ],
    [
      'paused for approval by rollguard before',
      update(
        deployment({ image: 'shop:3', paused: true, annotations: { 'rollguard.io/paused-revision': '4' } }),
        deployment({ image: 'shop:2', paused: true, annotations: { 'rollguard.io/paused-revision': '4' } }),
      ),
      [covering],
      {
        hold: true,
        annotations: { 'rollguard.io/gate': 'pending', 'rollguard.io/gate-pending-since': '2026-12-01T10:05:00Z' },
      },
    ],
    [
      'no policy covers it',
      update(deployment({ image: 'shop:2', labels: { team: 'other' } }), old),
      [covering],
      { hold: false, reason: 'not-covered' },
    ],
    [
      'no policy in the namespace',
      update(deployment({ image: 'shop:2' }), old),
      [],
      { hold: false, reason: 'not-covered' },
    ],
    [
      'an advisory policy',
      update(deployment({ image: 'shop:2' }), old),
      [{ spec: { selector: {}, mode: 'advisory' } }],
      { hold: false, reason: 'not-covered' },
    ],
    [
      'a policy with the gate off',
      update(deployment({ image: 'shop:2' }), old),
      [{ spec: { selector: {}, gate: { enabled: false } } }],
      { hold: false, reason: 'not-covered' },
    ],
    [
      'a policy being deleted',
      update(deployment({ image: 'shop:2' }), old),
      [{ metadata: { deletionTimestamp: '2026-12-01T00:00:00Z' }, spec: { selector: {} } }],
      { hold: false, reason: 'not-covered' },
    ],
    [
      'one of two policies covers it',
      update(deployment({ image: 'shop:2' }), old),
      [
        { spec: { selector: { matchLabels: { team: 'x' } } } },
        { spec: { selector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['shop'] }] } } },
      ],
      {
        hold: true,
        annotations: { 'rollguard.io/gate': 'pending', 'rollguard.io/gate-pending-since': '2026-12-01T10:05:00Z' },
      },
    ],
    [
      'NotIn and DoesNotExist',
      update(deployment({ image: 'shop:2' }), old),
      [
        {
          spec: {
            selector: {
              matchExpressions: [
                { key: 'team', operator: 'NotIn', values: ['x'] },
                { key: 'tier', operator: 'DoesNotExist' },
              ],
            },
          },
        },
      ],
      {
        hold: true,
        annotations: { 'rollguard.io/gate': 'pending', 'rollguard.io/gate-pending-since': '2026-12-01T10:05:00Z' },
      },
    ],
    [
      'creation, by default',
      { operation: 'CREATE', username: 'jane', object: deployment({}) },
      [covering],
      { hold: false, reason: 'not-covered' },
    ],
    [
      'creation, when the policy asks for it',
      { operation: 'CREATE', username: 'jane', object: deployment({}) },
      [{ spec: { selector: {}, gate: { creation: true } } }],
      {
        hold: true,
        annotations: { 'rollguard.io/gate': 'pending', 'rollguard.io/gate-pending-since': '2026-12-01T10:05:00Z' },
      },
    ],
    [
      'a delete',
      { operation: 'DELETE', username: 'jane', object: deployment({}) },
      [covering],
      { hold: false, reason: 'not-create-or-update' },
    ],
  ])('%s', (_name, request, policies, expected) => {
    expect(decideGate(request, policies, operator)).toEqual(expected);
  });
});

describe('pendingSince', () => {
  it('is empty without managedFields, and reads Date times as the API server writes them', () => {
    const object: DeploymentLike = { spec: { template: template('a') } };
    expect(pendingSince({ operation: 'UPDATE', username: 'x', object })).toBe('');
    const withDate: DeploymentLike = { metadata: { managedFields: [{ time: new Date('2026-12-01T10:00:00.000Z') }] } };
    expect(pendingSince({ operation: 'UPDATE', username: 'x', object: withDate })).toBe('2026-12-01T10:00:00Z');
  });
});
