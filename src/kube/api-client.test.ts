// The client-side rate limit and the verb names used to count requests. The bucket runs on a fake clock: the
// assertions are about how long requests were told to wait, not about real time.
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { currentLane, inBackgroundLane, separateApiClient, TokenBucket, tuneApiClient, verbOf } from './api-client.js';

function fakeClock() {
  let now = 0;
  const slept: number[] = [];
  return {
    now: () => now,
    sleep: (ms: number) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
    advance: (ms: number) => {
      now += ms;
    },
    slept,
  };
}

describe('TokenBucket', () => {
  it('lets a burst through at once, then spaces requests at the rate', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 3, clock.now, clock.sleep);
    const waits = [];
    for (let i = 0; i < 5; i++) waits.push(await bucket.take());
    expect(waits.slice(0, 3)).toEqual([0, 0, 0]);
    expect(waits[3]).toBeCloseTo(100);
    expect(waits[4]).toBeCloseTo(100);
  });

  it('refills while idle, but never above the burst', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 2, clock.now, clock.sleep);
    await bucket.take();
    await bucket.take();
    clock.advance(10_000);
    expect(await bucket.take()).toBe(0);
    expect(await bucket.take()).toBe(0);
    expect(await bucket.take()).toBeCloseTo(100);
  });

  it('serves concurrent callers in order', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(1, 1, clock.now, clock.sleep);
    const order: number[] = [];
    await Promise.all([0, 1, 2].map((i) => bucket.take().then(() => order.push(i))));
    expect(order).toEqual([0, 1, 2]);
    expect(clock.slept.reduce((a, b) => a + b, 0)).toBeCloseTo(2000);
  });

  it('lets foreground requests go before background ones that asked earlier, in order within each lane', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(10, 1, clock.now, clock.sleep);
    const order: string[] = [];
    const asked = [
      ['background', 'b0'],
      ['background', 'b1'],
      ['foreground', 'f0'],
      ['background', 'b2'],
      ['foreground', 'f1'],
    ] as const;
    await Promise.all(asked.map(([lane, name]) => bucket.take(lane).then(() => order.push(name))));
    // b0 takes the one token there is at once; the rest wait, and the foreground ones go first.
    expect(order).toEqual(['b0', 'f0', 'f1', 'b1', 'b2']);
    expect(clock.slept.reduce((a, b) => a + b, 0)).toBeCloseTo(400);
  });

  it('knows the lane of the work it runs in, through awaits', async () => {
    expect(currentLane()).toBe('foreground');
    const seen = await inBackgroundLane(async () => {
      await Promise.resolve();
      await new Promise((r) => setTimeout(r, 1));
      return currentLane();
    });
    expect(seen).toBe('background');
    expect(currentLane()).toBe('foreground');
  });

  it('does not limit at all with a rate of 0', async () => {
    const clock = fakeClock();
    const bucket = new TokenBucket(0, 1, clock.now, clock.sleep);
    for (let i = 0; i < 100; i++) expect(await bucket.take()).toBe(0);
    expect(clock.slept).toEqual([]);
  });
});

describe('verbOf', () => {
  it.each([
    ['GET', 'https://k/apis/apps/v1/deployments', 'list'],
    ['GET', 'https://k/apis/apps/v1/namespaces/a/deployments', 'list'],
    ['GET', 'https://k/apis/apps/v1/namespaces/a/deployments/web', 'get'],
    ['GET', 'https://k/apis/apps/v1/deployments?watch=true', 'watch'],
    ['GET', 'https://k/api/v1/namespaces', 'list'],
    ['GET', 'https://k/api/v1/namespaces/a', 'get'],
    ['GET', 'https://k/api/v1/namespaces/a/pods', 'list'],
    ['PATCH', 'https://k/apis/rollguard.io/v1alpha1/namespaces/a/rolloutassessments/x/status', 'patch'],
    ['POST', 'https://k/apis/events.k8s.io/v1/namespaces/a/events', 'create'],
    ['PUT', 'https://k/apis/coordination.k8s.io/v1/namespaces/a/leases/l', 'update'],
    ['DELETE', 'https://k/apis/rollguard.io/v1alpha1/namespaces/a/rolloutassessments/x', 'delete'],
  ])('%s %s is %s', (method, url, verb) => {
    expect(verbOf(method, url)).toBe(verb);
  });
});

describe('tuneApiClient', () => {
  it('hands every request the same connection pool, and builds no other', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      // A cluster CA of its own, as in a kubeconfig or a pod's service account: client-node then builds an Agent.
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false, caData: btoa('a CA') }],
      users: [{ name: 'u', token: 'secret-token' }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    const made: unknown[] = [];
    const maker = kc as unknown as { createDispatcher: (...args: unknown[]) => unknown };
    const original = maker.createDispatcher.bind(kc);
    maker.createDispatcher = (...args: unknown[]) => {
      const dispatcher = original(...args);
      made.push(dispatcher);
      return dispatcher;
    };
    tuneApiClient(kc, { qps: 0, burst: 1 });
    const dispatchers = [];
    for (let i = 0; i < 3; i++) {
      const context = new RequestContext('https://127.0.0.1:6443/api/v1/namespaces/a/pods', HttpMethod.GET);
      await kc.applySecurityAuthentication(context);
      dispatchers.push(context.getDispatcher());
      expect(context.getHeaders().Authorization).toBe('Bearer secret-token');
    }
    expect(dispatchers[0]).toBeDefined();
    expect(new Set(dispatchers).size).toBe(1);
    expect(made).toHaveLength(1);
  });
});

describe('separateApiClient', () => {
  it('lets a Lease call go while the controller waits for its rate limit, with the same credentials', async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', skipTLSVerify: false }],
      users: [{ name: 'u', token: 'secret-token' }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u' }],
      currentContext: 'ctx',
    });
    // The controller's bucket: one request a minute on a clock that only moves when someone sleeps.
    let slept = 0;
    const sleep = (ms: number) => {
      slept += ms;
      return new Promise<void>(() => undefined); // never: the controller's second call waits for good
    };
    tuneApiClient(kc, { qps: 1 / 60, burst: 1, now: () => 0, sleep });
    const leases = separateApiClient(kc, { qps: 0, burst: 1 });
    const call = (config: KubeConfig) => {
      const context = new RequestContext('https://127.0.0.1:6443/apis/coordination.k8s.io/v1/leases', HttpMethod.GET);
      return config.applySecurityAuthentication(context).then(() => context);
    };
    await call(kc); // the burst
    let controllerWent = false;
    void call(kc).then(() => (controllerWent = true));
    const lease = await call(leases);
    expect(lease.getHeaders().Authorization).toBe('Bearer secret-token');
    expect(controllerWent).toBe(false);
    expect(slept).toBeGreaterThan(0);
  });
});
