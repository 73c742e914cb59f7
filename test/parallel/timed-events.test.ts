import { describe, expect, it } from 'vitest';
import { TimedEvents, type WallClock } from '../../src/parallel/timed-events.js';

/**
 * A hand-driven wall clock whose timers behave as Node's do: the delay is truncated to whole
 * milliseconds (at least 1) and counted from when the timer is made, so a timer may fire up to a
 * millisecond before the time it was asked for.
 */
class NodeLikeClock implements WallClock {
  private t = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; run: () => void }>();

  now(): number {
    return this.t;
  }

  setTimer(ms: number, run: () => void): () => void {
    const id = this.seq++;
    this.timers.set(id, { at: this.t + Math.max(1, Math.trunc(ms)), run });
    return () => this.timers.delete(id);
  }

  /** The thread was busy (or descheduled) for `ms`: no timer fires meanwhile. */
  stall(ms: number): void {
    this.t += ms;
  }

  /** Lets time pass to `until`, firing each timer at its time, earliest first (made first on a tie). */
  runUntil(until: number): void {
    for (;;) {
      let next: [number, { at: number; run: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= until && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.t = Math.max(this.t, next[1].at);
      next[1].run();
    }
    this.t = Math.max(this.t, until);
  }
}

/** r02's four lifecycle operations (scenario ms), added with the thread losing time between them. */
const R02 = [
  { ms: 2, op: 'pause', stallAfter: 0.6 },
  { ms: 2.5, op: 'suspend', stallAfter: 1.1 },
  { ms: 3, op: 'unpause', stallAfter: 0 },
  { ms: 5, op: 'resume', stallAfter: 0 },
];

describe('TimedEvents: the parallel runtime\'s timed events run in scenario-time order', () => {
  it('one timer per event, as the runtime had them, runs them out of order on this clock (the loaded-machine case)', () => {
    const clock = new NodeLikeClock();
    const ran: string[] = [];
    for (const e of R02) {
      clock.setTimer(e.ms - clock.now(), () => ran.push(e.op));
      clock.stall(e.stallAfter);
    }
    clock.runUntil(10);
    expect(ran).not.toEqual(R02.map((e) => e.op)); // suspend (made 0.6 ms late) fires before pause
  });

  it('runs each event at or after its time, in order, however late the events were added and however early the timer fires', () => {
    const clock = new NodeLikeClock();
    const events = new TimedEvents(clock, clock.now(), 1);
    const ran: Array<{ op: string; at: number }> = [];
    for (const e of R02) {
      events.add(e.ms, () => ran.push({ op: e.op, at: clock.now() }));
      clock.stall(e.stallAfter);
    }
    clock.runUntil(10);
    expect(ran.map((r) => r.op)).toEqual(['pause', 'suspend', 'unpause', 'resume']);
    for (const [i, r] of ran.entries()) expect(r.at).toBeGreaterThanOrEqual(R02[i].ms);
    expect(events.size).toBe(0);
  });

  it('keeps the order of `add` for one time, scales scenario time to wall time, and takes events added while running (a fault\'s later half)', () => {
    const clock = new NodeLikeClock();
    clock.stall(100); // events start at wall 100
    const events = new TimedEvents(clock, clock.now(), 10); // 10 wall ms per scenario ms
    const ran: string[] = [];
    events.add(1, () => ran.push('a'));
    events.add(1, () => ran.push('b'));
    events.add(0.5, () => {
      ran.push('first');
      events.add(events.now() + 0.2, () => ran.push(`later half at ${events.now()}`));
    });
    clock.runUntil(104);
    expect(ran).toEqual([]); // scenario 0.4 ms: nothing due
    clock.runUntil(200);
    expect(ran).toEqual(['first', 'later half at 0.7', 'a', 'b']);
    expect(events.now()).toBe(10);
  });

  it('stop: nothing more runs', () => {
    const clock = new NodeLikeClock();
    const events = new TimedEvents(clock, 0, 1);
    const ran: string[] = [];
    events.add(1, () => ran.push('x'));
    events.stop();
    clock.runUntil(10);
    expect(ran).toEqual([]);
    expect(events.size).toBe(0);
  });
});
