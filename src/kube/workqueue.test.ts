// The keyed work queue: deduplication while waiting, re-runs for keys added while processing, one worker per
// key, backoff on failure, requeue on request and shutdown. Real timers with tiny delays; the assertions are
// about order and counts, never about how long anything took.
import { describe, expect, it } from 'vitest';
import { backoffDelay, WorkQueue, type WorkHandler, type WorkResult } from './workqueue.js';

/** Polls until `done()` holds; fails after a generous limit so a broken queue cannot hang the suite. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 4000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

/** A promise to release by hand. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

/** Records every call, the largest number of concurrent calls per key and overall. */
function recorder(
  body: (key: string, call: number) => Promise<WorkResult | undefined> = () => Promise.resolve(undefined),
) {
  const calls: string[] = [];
  const active = new Map<string, number>();
  let overlapPerKey = 0;
  let concurrent = 0;
  let maxConcurrent = 0;
  const handler: WorkHandler = async (key) => {
    calls.push(key);
    const now = (active.get(key) ?? 0) + 1;
    active.set(key, now);
    overlapPerKey = Math.max(overlapPerKey, now);
    concurrent += 1;
    maxConcurrent = Math.max(maxConcurrent, concurrent);
    try {
      return await body(key, calls.filter((k) => k === key).length);
    } finally {
      active.set(key, (active.get(key) ?? 1) - 1);
      concurrent -= 1;
    }
  };
  return {
    handler,
    calls,
    get maxPerKey() {
      return overlapPerKey;
    },
    get maxConcurrent() {
      return maxConcurrent;
    },
  };
}

describe('backoffDelay', () => {
  it.each([
    [0, 5],
    [1, 5],
    [2, 10],
    [3, 20],
    [4, 40],
    [5, 80],
    [6, 100],
    [50, 100],
  ])('retry %d waits %d ms (base 5, max 100)', (failures, delay) => {
    expect(backoffDelay(failures, { baseMs: 5, maxMs: 100 })).toBe(delay);
  });

  it('never exceeds the cap, even for huge failure counts', () => {
    expect(backoffDelay(10_000, { baseMs: 200, maxMs: 60_000 })).toBe(60_000);
  });
});

describe('WorkQueue', () => {
  it('processes a key added many times while waiting once', async () => {
    const queue = new WorkQueue({ baseMs: 5, maxMs: 50 });
    const rec = recorder();
    for (let i = 0; i < 10; i++) queue.add('shop/web');
    queue.add('shop/api');
    queue.add('shop/web');
    expect(queue.depth).toBe(2);
    const running = queue.run(2, rec.handler);
    await until(() => rec.calls.length >= 2, 'both keys ran');
    await settle();
    queue.shutdown();
    await running;
    expect([...rec.calls].sort()).toEqual(['shop/api', 'shop/web']);
    expect(queue.depth).toBe(0);
  });

  it('runs a key added while it was processing once more afterwards, however often it was added', async () => {
    const queue = new WorkQueue({ baseMs: 5, maxMs: 50 });
    const first = gate();
    const rec = recorder(async (_key, call) => {
      if (call === 1) await first.promise;
      return undefined;
    });
    const running = queue.run(3, rec.handler);
    queue.add('shop/web');
    await until(() => rec.calls.length === 1, 'the first run started');
    queue.add('shop/web');
    queue.add('shop/web');
    queue.add('shop/web');
    // Held back while the key is processing, not queued for another worker.
    expect(queue.depth).toBe(0);
    first.open();
    await until(() => rec.calls.length === 2, 'the second run started');
    await settle();
    queue.shutdown();
    await running;
    expect(rec.calls).toEqual(['shop/web', 'shop/web']);
    expect(rec.maxPerKey).toBe(1);
  });

  it('never runs one key on two workers at once, while different keys run in parallel', async () => {
    const queue = new WorkQueue({ baseMs: 5, maxMs: 50 });
    const rec = recorder(async () => {
      await new Promise((resolve) => setTimeout(resolve, 3));
      return undefined;
    });
    const running = queue.run(4, rec.handler);
    const keys = ['a', 'b', 'c'];
    for (let round = 0; round < 20; round++) {
      for (const key of keys) queue.add(key);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await settle();
    await until(() => queue.depth === 0, 'the queue drained');
    await settle();
    queue.shutdown();
    await running;
    expect(rec.maxPerKey).toBe(1);
    for (const key of keys) expect(rec.calls.filter((k) => k === key).length).toBeGreaterThanOrEqual(2);
  });

  it('runs different keys on different workers at the same time', async () => {
    const queue = new WorkQueue({ baseMs: 5, maxMs: 50 });
    const release = gate();
    const rec = recorder(async () => {
      await release.promise;
      return undefined;
    });
    const running = queue.run(2, rec.handler);
    queue.add('a');
    queue.add('b');
    // Both start before either finishes: two workers.
    await until(() => rec.calls.length === 2, 'both keys started');
    expect(rec.maxConcurrent).toBe(2);
    release.open();
    queue.shutdown();
    await running;
  });

  // Regression test for a fixed bug (src/kube/workqueue.ts, worker() lines 105-109 with next() lines 86-91): a key leaves `waiting` inside
  // next() but only enters `processing` after the `await this.next()` resumes, one microtask later. An add() of
  // the same key in that gap (from any promise continuation, e.g. an informer callback after an await, or a
  // handler enqueueing a related key) sees the key neither waiting nor processing, queues it again, and an
  // idle worker takes it: the same key is then reconciled by two workers at once, which the queue promises
  // never happens. Expected: the second add marks the key dirty and it runs again afterwards, never in
  // parallel (fix: mark the key processing in next() before returning it).
  it('never runs one key twice at once, even when it is added again from a promise continuation', async () => {
    const queue = new WorkQueue({ baseMs: 5, maxMs: 50 });
    const rec = recorder(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      return undefined;
    });
    const running = queue.run(3, rec.handler);
    await settle();
    queue.add('shop/web');
    queueMicrotask(() => {
      queue.add('shop/web');
    });
    await until(() => rec.calls.length === 2, 'the key ran twice');
    await settle();
    queue.shutdown();
    await running;
    expect(rec.maxPerKey).toBe(1);
  });

  it('retries a failing key with growing backoff and forgets the failures after a success', async () => {
    const retries: [string, number, string][] = [];
    const queue = new WorkQueue({ baseMs: 5, maxMs: 1000 }, (key, err, retryInMs) => {
      retries.push([key, retryInMs, err instanceof Error ? err.message : String(err)]);
    });
    let failUntil = 3;
    const rec = recorder((_key, call) => {
      if (call <= failUntil) return Promise.reject(new Error(`attempt ${call} failed`));
      return Promise.resolve(undefined);
    });
    const running = queue.run(1, rec.handler);
    queue.add('shop/web');
    await until(() => rec.calls.length === 4, 'the fourth attempt ran');
    expect(retries).toEqual([
      ['shop/web', 5, 'attempt 1 failed'],
      ['shop/web', 10, 'attempt 2 failed'],
      ['shop/web', 20, 'attempt 3 failed'],
    ]);

    // A new failure after the success starts the backoff again from the base.
    failUntil = 5;
    queue.add('shop/web');
    await until(() => rec.calls.length === 6, 'the sixth attempt ran');
    await settle();
    queue.shutdown();
    await running;
    expect(retries.slice(3)).toEqual([['shop/web', 5, 'attempt 5 failed']]);
    expect(rec.calls).toHaveLength(6);
  });

  it('keeps failure counts per key', async () => {
    const retries: [string, number][] = [];
    const queue = new WorkQueue({ baseMs: 5, maxMs: 1000 }, (key, _err, retryInMs) => retries.push([key, retryInMs]));
    const rec = recorder((key, call) =>
      key === 'bad' && call <= 2 ? Promise.reject(new Error('no')) : Promise.resolve(undefined),
    );
    const running = queue.run(2, rec.handler);
    queue.add('bad');
    queue.add('good');
    await until(() => rec.calls.filter((k) => k === 'bad').length === 3, 'bad succeeded');
    queue.shutdown();
    await running;
    expect(retries).toEqual([
      ['bad', 5],
      ['bad', 10],
    ]);
    expect(rec.calls.filter((k) => k === 'good')).toEqual(['good']);
  });

  it('calls the key again when the handler asks for it', async () => {
    const queue = new WorkQueue({ baseMs: 5, maxMs: 50 });
    const rec = recorder((_key, call) => Promise.resolve(call < 3 ? { requeueAfterMs: 5 } : {}));
    const running = queue.run(1, rec.handler);
    queue.add('shop/web');
    await until(() => rec.calls.length === 3, 'three runs');
    await settle();
    queue.shutdown();
    await running;
    expect(rec.calls).toEqual(['shop/web', 'shop/web', 'shop/web']);
  });

  it('requeues at once for requeueAfterMs 0', async () => {
    const queue = new WorkQueue({ baseMs: 5, maxMs: 50 });
    const rec = recorder((_key, call) => Promise.resolve(call === 1 ? { requeueAfterMs: 0 } : undefined));
    const running = queue.run(1, rec.handler);
    queue.add('k');
    await until(() => rec.calls.length === 2, 'the requeue ran');
    await settle();
    queue.shutdown();
    await running;
    expect(rec.calls).toEqual(['k', 'k']);
  });

  it('lets a sooner delayed add replace a later one, and ignores a later one', async () => {
    const queue = new WorkQueue({ baseMs: 5, maxMs: 50 });
    const rec = recorder();
    const running = queue.run(1, rec.handler);
    queue.addAfter('soon', 60_000);
    queue.addAfter('soon', 5);
    queue.addAfter('once', 5);
    queue.addAfter('once', 60_000);
    await until(() => rec.calls.length === 2, 'both delayed keys ran');
    await settle();
    queue.shutdown();
    await running;
    expect([...rec.calls].sort()).toEqual(['once', 'soon']);
  });

  it('stops on shutdown: lets the key in flight finish, drops delayed and new keys, and ends every worker', async () => {
    const queue = new WorkQueue({ baseMs: 5, maxMs: 50 });
    const inFlight = gate();
    let finished = false;
    const rec = recorder(async (key) => {
      if (key === 'slow') {
        await inFlight.promise;
        finished = true;
      }
      return undefined;
    });
    const running = queue.run(3, rec.handler);
    queue.add('slow');
    await until(() => rec.calls.length === 1, 'the slow key started');
    queue.addAfter('delayed', 5);
    queue.add('slow');
    queue.shutdown();
    queue.add('late');
    queue.addAfter('later', 1);
    let stopped = false;
    void running.then(() => {
      stopped = true;
    });
    await settle();
    // A worker still holds the slow key: run() has not resolved yet.
    expect(stopped).toBe(false);
    inFlight.open();
    await running;
    expect(finished).toBe(true);
    await settle();
    expect(rec.calls).toEqual(['slow']);
    expect(queue.depth).toBe(0);
  });

  it('takes foreground keys before background keys that were added earlier', async () => {
    const queue = new WorkQueue({ baseMs: 5, maxMs: 50 }, undefined, { background: (k) => k.startsWith('verify:') });
    const rec = recorder();
    for (const k of ['verify:a', 'verify:b', 'deployment:x', 'verify:c', 'deployment:y']) queue.add(k);
    expect(queue.depth).toBe(5);
    const running = queue.run(1, rec.handler);
    await until(() => rec.calls.length === 5, 'every key ran');
    queue.shutdown();
    await running;
    expect(rec.calls).toEqual(['deployment:x', 'deployment:y', 'verify:a', 'verify:b', 'verify:c']);
  });

  it.each([
    // fairness, foreground keys waiting, background keys waiting → the order taken
    [2, 5, 2, 'f0 f1 b0 f2 f3 b1 f4'],
    [1, 3, 3, 'f0 b0 f1 b1 f2 b2'],
    [8, 3, 1, 'f0 f1 f2 b0'],
    [3, 0, 2, 'b0 b1'],
  ])(
    'with fairness %d, %d foreground and %d background keys waiting, gives a background key its turn: %s',
    async (fairness, fg, bg, order) => {
      const queue = new WorkQueue({ baseMs: 5, maxMs: 50 }, undefined, {
        background: (k) => k.startsWith('b'),
        fairness,
      });
      const rec = recorder();
      for (let i = 0; i < bg; i++) queue.add(`b${String(i)}`);
      for (let i = 0; i < fg; i++) queue.add(`f${String(i)}`);
      const running = queue.run(1, rec.handler);
      await until(() => rec.calls.length === fg + bg, 'every key ran');
      queue.shutdown();
      await running;
      expect(rec.calls.join(' ')).toBe(order);
    },
  );

  it('keeps workers free for foreground keys while background keys wait on something slow', async () => {
    // 4 workers, background keys on at most 2: six verification passes waiting for Prometheus hold two of them.
    const queue = new WorkQueue({ baseMs: 5, maxMs: 50 }, undefined, {
      background: (k) => k.startsWith('verify:'),
      backgroundWorkers: 2,
    });
    const prometheus = gate();
    const started: string[] = [];
    let backgroundNow = 0;
    let backgroundMost = 0;
    const running = queue.run(4, async (key, lane) => {
      started.push(key);
      if (lane === 'foreground') return undefined;
      backgroundNow += 1;
      backgroundMost = Math.max(backgroundMost, backgroundNow);
      await prometheus.promise;
      backgroundNow -= 1;
      return undefined;
    });
    for (let i = 0; i < 6; i++) queue.add(`verify:${String(i)}`);
    await settle();
    expect(started).toEqual(['verify:0', 'verify:1']);
    // A new rollout does not wait for the slow ones.
    queue.add('deployment:new');
    await until(() => started.includes('deployment:new'), 'the foreground key ran');
    expect(backgroundNow).toBe(2);

    prometheus.open();
    await until(() => started.length === 7 && backgroundNow === 0, 'every background key ran');
    queue.shutdown();
    await running;
    expect(backgroundMost).toBe(2);
  });

  it('tells how long each key waited, once per time it was taken, counted from its first add', async () => {
    const waited: [string, number][] = [];
    const queue = new WorkQueue({ baseMs: 5, maxMs: 50 }, undefined, {
      onTaken: (k, ms) => waited.push([k, ms]),
    });
    queue.add('a');
    await new Promise((r) => setTimeout(r, 40));
    queue.add('a'); // already waiting: the wait still counts from the first add
    queue.add('b');
    const rec = recorder();
    const running = queue.run(1, rec.handler);
    await until(() => rec.calls.length === 2, 'both keys ran');
    queue.shutdown();
    await running;
    expect(waited.map(([k]) => k)).toEqual(['a', 'b']);
    expect(waited[0]?.[1]).toBeGreaterThanOrEqual(35);
    expect(waited[1]?.[1]).toBeLessThan(waited[0]?.[1] ?? 0);
  });

  it('tells the handler the lane each key waited in', async () => {
    const queue = new WorkQueue({ baseMs: 5, maxMs: 50 }, undefined, { background: (k) => k.startsWith('verify:') });
    const seen: string[] = [];
    const running = queue.run(1, (k, lane) => Promise.resolve(void seen.push(`${k} ${lane}`)));
    queue.add('deployment:x');
    queue.add('verify:x');
    await until(() => seen.length === 2, 'both keys ran');
    queue.shutdown();
    await running;
    expect(seen.sort()).toEqual(['deployment:x foreground', 'verify:x background']);
  });

  it('returns from run() at once when shut down while idle', async () => {
    const queue = new WorkQueue();
    const running = queue.run(4, () => Promise.resolve(undefined));
    await settle();
    queue.shutdown();
    await expect(running).resolves.toBeUndefined();
  });
});
