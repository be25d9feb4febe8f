// A keyed work queue in the manner of client-go's: a key waiting is held once however often it is added, a
// key is never processed by two workers at once (added while processing, it runs again afterwards), failures
// are retried with per-key exponential backoff, and a handler may ask to be called again after a delay.
// Keys wait in two lanes: foreground keys go first, so a new rollout's assessment is never queued behind the
// hundreds of verification passes that fall due at the same tick; while both lanes wait, a background key
// gets a turn after every `fairness` foreground ones, so background work slows under a burst but never stops.
// Background keys may hold only some of the workers (`backgroundWorkers`): the verification passes due at a
// tick wait for Prometheus while they hold a worker, and with every worker so held, a new rollout waited for
// one of them to finish.
import type { RequestLane } from './api-client.js';

export interface WorkResult {
  /** Process this key again after this many milliseconds (e.g. to poll a verification). */
  requeueAfterMs?: number;
}

/** Told the lane the key waited in, which is its lane at the API rate limit too (api-client.ts). */
export type WorkHandler = (key: string, lane: RequestLane) => Promise<WorkResult | undefined>;

export interface BackoffOptions {
  baseMs: number;
  maxMs: number;
}

/** Pure: the delay before retry number `failures` (1-based). */
export function backoffDelay(failures: number, { baseMs, maxMs }: BackoffOptions): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
}

export interface LaneOptions {
  /** True for keys that may wait while foreground keys are waiting. Default: every key is foreground. */
  background?: (key: string) => boolean;
  /** While both lanes wait, one background key after this many foreground ones (default 8). */
  fairness?: number;
  /** At most this many workers on background keys at once; the others wait for foreground keys. Default: all. */
  backgroundWorkers?: number;
  /** Told how long each key waited, from its first add while not waiting to a worker taking it. */
  onTaken?: (key: string, waitedMs: number) => void;
}

export class WorkQueue {
  private readonly foreground: string[] = [];
  private readonly background: string[] = [];
  /** Foreground keys taken in a row while background keys waited. */
  private foregroundStreak = 0;
  /** Background keys being processed now. */
  private backgroundActive = 0;
  /** Keys waiting, with when each was first added (for onTaken). */
  private readonly waiting = new Map<string, number>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private wake: (() => void) | undefined;
  private shuttingDown = false;

  constructor(
    private readonly backoff: BackoffOptions = { baseMs: 200, maxMs: 60_000 },
    private readonly onError: (key: string, err: unknown, retryInMs: number) => void = () => undefined,
    private readonly lanes: LaneOptions = {},
  ) {}

  /** Keys waiting to be processed (not counting delayed ones). */
  get depth(): number {
    return this.foreground.length + this.background.length;
  }

  add(key: string): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.waiting.has(key)) return;
    this.waiting.set(key, performance.now());
    (this.lanes.background?.(key) === true ? this.background : this.foreground).push(key);
    this.wake?.();
  }

  /** Adds the key after `ms`, unless an earlier delayed add is already due sooner. */
  addAfter(key: string, ms: number): void {
    if (this.shuttingDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const existing = this.timers.get(key) as (NodeJS.Timeout & { dueAt?: number }) | undefined;
    const dueAt = Date.now() + ms;
    if (existing?.dueAt !== undefined && existing.dueAt <= dueAt) return;
    if (existing) clearTimeout(existing);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms) as NodeJS.Timeout & { dueAt?: number };
    timer.dueAt = dueAt;
    timer.unref();
    this.timers.set(key, timer);
  }

  /** Runs `workers` loops until `shutdown()`; resolves when they have all finished their current key. */
  async run(workers: number, handler: WorkHandler): Promise<void> {
    await Promise.all(Array.from({ length: workers }, () => this.worker(handler)));
  }

  /** Stop taking work; in-flight keys finish. */
  shutdown(): void {
    this.shuttingDown = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.wake?.();
  }

  private async next(): Promise<{ key: string; lane: RequestLane } | undefined> {
    while (!this.shuttingDown) {
      const taken = this.take();
      if (taken !== undefined) {
        const { key } = taken;
        // Marked processing before the caller resumes: an add() in between must not hand the key to a
        // second worker.
        const addedAt = this.waiting.get(key);
        this.waiting.delete(key);
        this.processing.add(key);
        if (taken.lane === 'background') this.backgroundActive += 1;
        if (addedAt !== undefined) this.lanes.onTaken?.(key, performance.now() - addedAt);
        return taken;
      }
      await new Promise<void>((resolve) => {
        const previous = this.wake;
        this.wake = () => {
          this.wake = undefined;
          previous?.();
          resolve();
        };
      });
    }
    return undefined;
  }

  /**
   * The next key by lane: foreground first, and a waiting background key after every `fairness` foreground
   * ones, unless background keys already hold all the workers they may.
   */
  private take(): { key: string; lane: RequestLane } | undefined {
    const fairness = Math.max(1, this.lanes.fairness ?? 8);
    const backgroundFull = this.backgroundActive >= Math.max(1, this.lanes.backgroundWorkers ?? Infinity);
    if (this.background.length === 0 || backgroundFull) {
      this.foregroundStreak = 0;
      return this.shiftFrom('foreground');
    }
    if (this.foreground.length > 0 && this.foregroundStreak < fairness) {
      this.foregroundStreak += 1;
      return this.shiftFrom('foreground');
    }
    this.foregroundStreak = 0;
    return this.shiftFrom('background');
  }

  private shiftFrom(lane: RequestLane): { key: string; lane: RequestLane } | undefined {
    const key = (lane === 'background' ? this.background : this.foreground).shift();
    return key === undefined ? undefined : { key, lane };
  }

  private async worker(handler: WorkHandler): Promise<void> {
    for (;;) {
      const taken = await this.next();
      if (taken === undefined) return;
      const { key, lane } = taken;
      try {
        const result = await handler(key, lane);
        this.failures.delete(key);
        if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
      } catch (err) {
        const count = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, count);
        const delay = backoffDelay(count, this.backoff);
        this.onError(key, err, delay);
        this.addAfter(key, delay);
      } finally {
        this.processing.delete(key);
        if (lane === 'background') {
          this.backgroundActive -= 1;
          // A worker left idle by the cap may take a background key now.
          this.wake?.();
        }
        if (this.dirty.delete(key)) this.add(key);
      }
    }
  }
}
