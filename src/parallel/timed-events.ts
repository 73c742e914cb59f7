/**
 * A wall clock with timers: `performance.now()` and `setTimeout` in a run, a hand-driven one in tests.
 *
 * @example
 * ```ts
 * const clock: WallClock = { now: () => performance.now(), setTimer: (ms, run) => { const t = setTimeout(run, ms); return () => clearTimeout(t); } };
 * ```
 */
export interface WallClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Calls `run` about `ms` from now — a timer may fire up to a millisecond early (Node truncates its delay) or late; returns its cancel. */
  setTimer(ms: number, run: () => void): () => void;
}

interface Pending {
  ms: number;
  run: () => void;
}

/**
 * The scenario's timed events of a parallel run (lifecycle operations, faults, a fault's own later
 * half), each run once its scenario time has come — in order of scenario time, then of `add`, however
 * the timers underneath fire.
 *
 * One timer per event would not keep that order: Node truncates a timer's delay to whole
 * milliseconds and counts it from when the timer was made, so of two events half a millisecond apart
 * the later one may fire first if the thread lost a millisecond between making their timers (a
 * loaded machine) — a `pause` then lands after the `unpause` meant to end it. Here one timer waits
 * for the earliest event; when it fires, every event whose time has come runs, in order, and the
 * timer waits for the next.
 *
 * @example
 * ```ts
 * const events = new TimedEvents(clock, clock.now(), 1);
 * events.add(3, () => log.push('unpause'));
 * events.add(2, () => log.push('pause')); // runs first
 * ```
 */
export class TimedEvents {
  /** Events not run yet, in (ms, order of `add`) order. */
  private readonly pending: Pending[] = [];
  private cancel: (() => void) | undefined;

  /**
   * @param startedAt the wall time (`clock.now()`) of scenario time 0
   * @param timeScale wall ms per scenario ms
   */
  constructor(
    private readonly clock: WallClock,
    private readonly startedAt: number,
    private readonly timeScale: number,
  ) {}

  /** Runs `run` once scenario time `ms` has come, after every event added for an earlier or the same time. */
  add(ms: number, run: () => void): void {
    let i = this.pending.length;
    while (i > 0 && this.pending[i - 1].ms > ms) i--;
    this.pending.splice(i, 0, { ms, run });
    if (i === 0) this.arm();
  }

  /** Events added and not run yet. */
  get size(): number {
    return this.pending.length;
  }

  /** Scenario milliseconds now. */
  now(): number {
    return (this.clock.now() - this.startedAt) / this.timeScale;
  }

  /** Nothing more runs (the run is over). */
  stop(): void {
    this.cancel?.();
    this.cancel = undefined;
    this.pending.length = 0;
  }

  /** Waits for the earliest event (a timer made again whenever the earliest changes). */
  private arm(): void {
    this.cancel?.();
    this.cancel = undefined;
    const head = this.pending[0];
    if (head === undefined) return;
    const delay = Math.max(0, this.startedAt + head.ms * this.timeScale - this.clock.now());
    this.cancel = this.clock.setTimer(delay, () => {
      this.cancel = undefined;
      this.runDue();
    });
  }

  /** Runs every event whose time has come, in order; a timer that fired early finds none and waits again. */
  private runDue(): void {
    const now = this.now();
    while (this.pending.length > 0 && this.pending[0].ms <= now) this.pending.shift()!.run();
    this.arm();
  }
}
