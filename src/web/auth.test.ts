import { describe, expect, it } from 'vitest';
import { bearerToken, TokenAuthenticator, type ReviewResult } from './auth.js';

function reviewer(answers: Record<string, ReviewResult | Error>) {
  const calls: string[] = [];
  const review = (token: string): Promise<ReviewResult> => {
    calls.push(token);
    const answer = answers[token] ?? { authenticated: false, error: 'invalid bearer token' };
    return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
  };
  return { review, calls };
}

const ci: ReviewResult = {
  authenticated: true,
  user: { username: 'system:serviceaccount:shop:ci', uid: 'u-1', groups: ['system:serviceaccounts'] },
};

describe('bearerToken', () => {
  it('reads a bearer token, whatever the case of the scheme', () => {
    expect(bearerToken('Bearer abc.DEF-123_~+/=')).toEqual({ token: 'abc.DEF-123_~+/=' });
    expect(bearerToken('bearer abc')).toEqual({ token: 'abc' });
  });

  it('explains what is missing or wrong', () => {
    expect(bearerToken(undefined)).toEqual({ problem: expect.stringMatching(/kubectl create token/) as unknown });
    expect(bearerToken('Basic dXNlcjpwYXNz')).toEqual({
      problem: expect.stringMatching(/must be "Bearer <token>"/) as unknown,
    });
    expect(bearerToken('Bearer two words')).toHaveProperty('problem');
    expect(bearerToken(`Bearer ${'a'.repeat(20_000)}`)).toEqual({
      problem: expect.stringMatching(/too long/) as unknown,
    });
  });
});

describe('TokenAuthenticator', () => {
  it('accepts a token the cluster accepts, and remembers it for a minute', async () => {
    let now = 0;
    const { review, calls } = reviewer({ good: ci });
    const auth = new TokenAuthenticator(review, { clock: () => now });
    expect(await auth.authenticate('Bearer good', '10.0.0.1')).toEqual({
      ok: true,
      caller: { username: 'system:serviceaccount:shop:ci', uid: 'u-1', groups: ['system:serviceaccounts'] },
    });
    now = 59_000;
    await auth.authenticate('Bearer good', '10.0.0.1');
    expect(calls).toEqual(['good']);
    now = 61_000;
    await auth.authenticate('Bearer good', '10.0.0.1');
    expect(calls).toEqual(['good', 'good']);
  });

  it("refuses a token the cluster refuses, with the cluster's reason, and remembers that briefly", async () => {
    let now = 0;
    const { review, calls } = reviewer({ old: { authenticated: false, error: 'token has expired' } });
    const auth = new TokenAuthenticator(review, { clock: () => now });
    expect(await auth.authenticate('Bearer old', 'a')).toEqual({
      ok: false,
      status: 401,
      message: 'The Kubernetes API did not accept the bearer token: token has expired.',
    });
    now = 5_000;
    await auth.authenticate('Bearer old', 'a');
    expect(calls).toHaveLength(1);
    now = 11_000;
    await auth.authenticate('Bearer old', 'a');
    expect(calls).toHaveLength(2);
  });

  it('refuses an authenticated review without a user name', async () => {
    const auth = new TokenAuthenticator(reviewer({ odd: { authenticated: true, user: {} } }).review);
    expect(await auth.authenticate('Bearer odd', 'a')).toMatchObject({ ok: false, status: 401 });
  });

  it('says 503, and remembers nothing, when the cluster cannot be asked', async () => {
    const answers: Record<string, ReviewResult | Error> = { good: new Error('connect ECONNREFUSED') };
    const { review, calls } = reviewer(answers);
    const auth = new TokenAuthenticator(review);
    expect(await auth.authenticate('Bearer good', 'a')).toEqual({
      ok: false,
      status: 503,
      message: expect.stringMatching(/could not check the bearer token .*ECONNREFUSED/) as unknown,
    });
    answers.good = ci;
    expect(await auth.authenticate('Bearer good', 'a')).toMatchObject({ ok: true });
    expect(calls).toHaveLength(2);
  });

  it('asks once for many concurrent requests with one token', async () => {
    const { review, calls } = reviewer({ good: ci });
    const auth = new TokenAuthenticator(review);
    const results = await Promise.all(Array.from({ length: 30 }, () => auth.authenticate('Bearer good', 'a')));
    expect(results.every((r) => r.ok)).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it('limits reviews of unknown tokens per client address, so guessing cannot flood the API server', async () => {
    const { review, calls } = reviewer({ good: ci });
    const auth = new TokenAuthenticator(review, { clock: () => 0, reviewLimit: { ratePerSecond: 1, burst: 3 } });
    for (let i = 0; i < 3; i++)
      expect(await auth.authenticate(`Bearer guess${i}`, '10.0.0.9')).toMatchObject({ status: 401 });
    expect(await auth.authenticate('Bearer guess9', '10.0.0.9')).toEqual({
      ok: false,
      status: 429,
      message: expect.stringMatching(/Too many tokens/) as unknown,
      retryAfterSeconds: 1,
    });
    // Another address is not affected, and a remembered token needs no review.
    expect(await auth.authenticate('Bearer good', '10.0.0.10')).toMatchObject({ ok: true });
    expect(await auth.authenticate('Bearer guess0', '10.0.0.9')).toMatchObject({ status: 401 });
    expect(calls).toHaveLength(4);
  });

  it('never keeps the token itself', async () => {
    const auth = new TokenAuthenticator(reviewer({ 'secret-token-value': ci }).review);
    await auth.authenticate('Bearer secret-token-value', 'a');
    const remembered = (auth as unknown as { remembered: Map<string, unknown> }).remembered;
    expect([...remembered.keys()].join()).not.toContain('secret-token-value');
    expect([...remembered.keys()][0]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('stays bounded', async () => {
    const auth = new TokenAuthenticator(reviewer({}).review, {
      maxEntries: 5,
      reviewLimit: { ratePerSecond: 1000, burst: 1000 },
    });
    for (let i = 0; i < 20; i++) await auth.authenticate(`Bearer t${i}`, 'a');
    expect((auth as unknown as { remembered: Map<string, unknown> }).remembered.size).toBeLessThanOrEqual(5);
  });
});
