// The fault suite's judge of "two replicas acted at once" and "rollbacks per release", on audit lines as the
// API server writes them: it must see an overlap when there is one, or the suite's zero means nothing.
import { describe, expect, it } from 'vitest';
import { lists, overlaps, parseAudit, rollbackPatches } from '../faults/audit.js';

const lease = { namespace: 'rollguard-faults', name: 'rollguard-controller' };
const users = ['replica-a', 'replica-b'];
const t = (s: number) => new Date(Date.parse('2026-12-01T21:00:00Z') + s * 1000).toISOString();

function line(o: {
  at: number;
  user: string;
  verb: string;
  resource: string;
  name?: string;
  code?: number;
  body?: unknown;
  stage?: string;
}): string {
  return JSON.stringify({
    kind: 'Event',
    stage: o.stage ?? 'ResponseComplete',
    verb: o.verb,
    user: { username: o.user },
    objectRef: {
      resource: o.resource,
      namespace: o.resource === 'leases' ? lease.namespace : 'shop',
      name: o.name ?? (o.resource === 'leases' ? lease.name : 'api'),
    },
    responseStatus: { code: o.code ?? 200 },
    requestReceivedTimestamp: t(o.at),
    stageTimestamp: t(o.at + 0.01),
    ...(o.body === undefined ? {} : { requestObject: o.body }),
  });
}

const acquire = (at: number, user: string, holder: string) =>
  line({ at, user, verb: 'update', resource: 'leases', body: { spec: { holderIdentity: holder } } });
const write = (at: number, user: string) => line({ at, user, verb: 'patch', resource: 'deployments', body: {} });
const window = { from: Date.parse(t(-100)), to: Date.parse(t(100)) };

describe('overlaps', () => {
  it.each<[string, string[], number]>([
    [
      'writes by the holder only',
      [acquire(0, 'replica-a', 'replica-a_1'), write(1, 'replica-a'), write(2, 'replica-a')],
      0,
    ],
    [
      'a clean handover',
      [
        acquire(0, 'replica-a', 'replica-a_1'),
        write(1, 'replica-a'),
        acquire(20, 'replica-b', 'replica-b_2'),
        write(21, 'replica-b'),
      ],
      0,
    ],
    [
      'the old leader writes after the other took over',
      [
        acquire(0, 'replica-a', 'replica-a_1'),
        acquire(20, 'replica-b', 'replica-b_2'),
        write(21, 'replica-b'),
        write(22, 'replica-a'),
      ],
      1,
    ],
    [
      'a standby writes while the other holds the Lease',
      [acquire(0, 'replica-a', 'replica-a_1'), write(1, 'replica-b')],
      1,
    ],
    [
      'a write after the Lease was released',
      [acquire(0, 'replica-a', 'replica-a_1'), acquire(5, 'replica-a', ''), write(6, 'replica-a')],
      1,
    ],
    [
      'a failed takeover does not move the Lease',
      [
        acquire(0, 'replica-a', 'replica-a_1'),
        line({
          at: 3,
          user: 'replica-b',
          verb: 'update',
          resource: 'leases',
          code: 409,
          body: { spec: { holderIdentity: 'replica-b_2' } },
        }),
        write(4, 'replica-a'),
      ],
      0,
    ],
    [
      'others (kubectl, the controller-manager) are not judged',
      [acquire(0, 'replica-a', 'replica-a_1'), write(1, 'rollguard-admin')],
      0,
    ],
  ])('%s → %i', (_what, lines, expected) => {
    expect(overlaps(parseAudit(lines.join('\n')), users, lease, window)).toHaveLength(expected);
  });

  it('skips a torn last line and the RequestReceived stage', () => {
    const text = [
      acquire(0, 'replica-a', 'replica-a_1'),
      line({ at: 1, user: 'replica-b', verb: 'patch', resource: 'deployments', stage: 'RequestReceived' }),
      '{"kind":"Ev',
    ].join('\n');
    expect(parseAudit(text)).toHaveLength(1);
  });
});

describe('rollbackPatches and lists', () => {
  const undo = (at: number, code = 200) =>
    line({
      at,
      user: 'replica-a',
      verb: 'patch',
      resource: 'deployments',
      code,
      body: [
        { op: 'test', path: '/metadata/resourceVersion', value: '9' },
        { op: 'replace', path: '/spec/template', value: {} },
      ],
    });
  it('counts successful template replacements per Deployment', () => {
    const text = [
      undo(1),
      undo(2, 409),
      undo(3),
      write(4, 'replica-a'),
      line({ at: 5, user: 'replica-a', verb: 'list', resource: 'deployments' }),
    ].join('\n');
    const events = parseAudit(text);
    expect(rollbackPatches(events, users, window)).toEqual(new Map([['shop/api', 2]]));
    expect(lists(events, users, window)).toBe(1);
  });
});
