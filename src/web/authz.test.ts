import { describe, expect, it } from 'vitest';
import type { Caller } from './auth.js';
import { NamespaceAuthorizer, type AccessDecision } from './authz.js';

const ci: Caller = { username: 'system:serviceaccount:shop:ci', groups: ['system:serviceaccounts'] };

function reviewer(allowed: (namespace: string) => AccessDecision | Error) {
  const calls: string[] = [];
  return {
    calls,
    review: (_caller: Caller, namespace: string): Promise<AccessDecision> => {
      calls.push(namespace);
      const answer = allowed(namespace);
      return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
    },
  };
}

describe('NamespaceAuthorizer', () => {
  it('allows a caller that may read Deployments in the namespace, and remembers it for a minute', async () => {
    let now = 0;
    const { review, calls } = reviewer((ns) => ({ allowed: ns === 'shop' }));
    const authz = new NamespaceAuthorizer(review, { clock: () => now });
    expect(await authz.authorize(ci, 'shop')).toEqual({ ok: true });
    now = 59_000;
    await authz.authorize(ci, 'shop');
    expect(calls).toEqual(['shop']);
    now = 61_000;
    await authz.authorize(ci, 'shop');
    expect(calls).toEqual(['shop', 'shop']);
  });

  it('refuses with 403 and says what right is missing; a denial holds only briefly', async () => {
    let now = 0;
    const { review, calls } = reviewer(() => ({ allowed: false }));
    const authz = new NamespaceAuthorizer(review, { clock: () => now });
    expect(await authz.authorize(ci, 'payments')).toEqual({
      ok: false,
      status: 403,
      message: expect.stringMatching(
        /^system:serviceaccount:shop:ci may not read Deployments in namespace payments.*get on deployments\.apps/,
      ) as unknown,
    });
    now = 6_000;
    await authz.authorize(ci, 'payments');
    expect(calls).toHaveLength(2);
  });

  it('keeps users and namespaces apart', async () => {
    const { review } = reviewer((ns) => ({ allowed: ns === 'shop' }));
    const authz = new NamespaceAuthorizer(review);
    expect(await authz.authorize(ci, 'shop')).toEqual({ ok: true });
    expect(await authz.authorize(ci, 'other')).toMatchObject({ ok: false, status: 403 });
  });

  it('says 503, and remembers nothing, when the cluster cannot be asked', async () => {
    let fail = true;
    const { review, calls } = reviewer(() => (fail ? new Error('connect ECONNREFUSED') : { allowed: true }));
    const authz = new NamespaceAuthorizer(review);
    expect(await authz.authorize(ci, 'shop')).toMatchObject({ ok: false, status: 503 });
    fail = false;
    expect(await authz.authorize(ci, 'shop')).toEqual({ ok: true });
    expect(calls).toHaveLength(2);
  });
});
