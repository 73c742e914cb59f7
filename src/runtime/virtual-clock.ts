/**
 * Time as model code sees it: a millisecond reading and one-shot timers. Model code takes a
 * `Clock` and never calls `Date.now` or `setTimeout` (STYLE.md rule 5), so tests drive time.
 *
 * @example
 * ```ts
 * const cancel = clock.setTimer(5_000, () => console.log('5 s later'));
 * cancel(); // the timer will not fire
 * ```
 */
export interface Clock {
  /** Milliseconds since the clock's epoch. */
  now(): number;
  /** Calls `fn` once, `ms` milliseconds from now; returns the function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

interface Timer {
  readonly dueMs: number;
  readonly seq: number;
  readonly fn: () => void;
}

/**
 * A `Clock` that only moves when told to: `advance(ms)` fires every timer that falls due, in due
 * order (ties in the order they were set), with `now()` reading each timer's due time while it runs.
 * Timers set by a firing timer fire in the same `advance` if they fall due within it.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * let fired = false;
 * clock.setTimer(5_000, () => (fired = true));
 * clock.advance(4_999); // fired === false
 * clock.advance(1);     // fired === true, clock.now() === 5_000
 * ```
 */
export class VirtualClock implements Clock {
  private nowMs: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(startMs = 0) {
    if (!Number.isFinite(startMs)) throw new RangeError(`start time ${startMs} must be finite`);
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  setTimer(ms: number, fn: () => void): () => void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`timer delay ${ms} ms must be finite and >= 0`);
    const timer: Timer = { dueMs: this.nowMs + ms, seq: this.seq++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Timers set and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer due on the way. */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`cannot advance by ${ms} ms`);
    const targetMs = this.nowMs + ms;
    for (let next = this.nextDue(targetMs); next; next = this.nextDue(targetMs)) {
      this.timers = this.timers.filter((t) => t !== next);
      this.nowMs = next.dueMs;
      next.fn();
    }
    this.nowMs = targetMs;
  }

  private nextDue(limitMs: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) {
      if (t.dueMs > limitMs) continue;
      if (!best || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.seq < best.seq)) best = t;
    }
    return best;
  }
}
