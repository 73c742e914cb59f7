import { describe, expect, it } from 'vitest';
import { PvControl } from '../../src/parallel/pv-control.js';

// libxl's PV control protocol as the parallel runtime's toolstack runs it (lifecycle §6.4), on a
// hand clock: xl shutdown / reboot / suspend wait for the guest's acknowledgement, which comes once
// the guest runs, or the operation ends in ERROR_TIMEDOUT at LIBXL_ACK_TIMEOUT.

const ACK_TIMEOUT_MS = 60;

/** `deferSteps`: a step of the toolstack's lane runs only when `runSteps` is called (the lane busy meanwhile). */
function harness({ deferSteps = false } = {}) {
  let now = 0;
  const queued: Array<() => void> = [];
  let timers: Array<{ at: number; run: () => void }> = [];
  const running = new Set<number>([1]);
  const domains = new Map<number, object>([
    [1, {}],
    [2, {}],
  ]);
  const log: string[] = [];
  const steps: number[] = [];
  const control = new PvControl({
    runnable: (domid) => running.has(domid) && domains.has(domid),
    identity: (domid) => domains.get(domid),
    over: () => false,
    later: (ms, run) => void timers.push({ at: now + ms, run }),
    ackTimeout: (run) => void timers.push({ at: now + ACK_TIMEOUT_MS, run }),
    step: (domid, work) => {
      steps.push(domid);
      if (deferSteps) queued.push(() => void work());
      else void work();
    },
    log: (domid, line) => void log.push(`${domid}: ${line}`),
  });
  /** Moves the hand clock to `until`, running every timer due on the way, in order. */
  const advance = (until: number) => {
    for (;;) {
      timers.sort((a, b) => a.at - b.at);
      const next = timers[0];
      if (!next || next.at > until) break;
      timers = timers.slice(1);
      now = next.at;
      next.run();
    }
    now = until;
  };
  const runSteps = () => {
    for (let work = queued.shift(); work; work = queued.shift()) work();
  };
  return { control, running, domains, log, steps, advance, runSteps, pending: () => timers.length };
}

describe('PvControl: the PV control protocol of the parallel runtime (lifecycle §6.4)', () => {
  it('a running guest acknowledges at once: nothing waits, no step, no timer', () => {
    const h = harness();
    const acks: string[] = [];
    h.control.request(1, 'reboot', () => void acks.push('reboot'));
    expect(acks).toEqual(['reboot']);
    expect(h.pending()).toBe(0);
  });

  it('a paused guest acknowledges in the step that lets it run (an unpause), and only once', () => {
    const h = harness();
    const acks: string[] = [];
    h.control.request(2, 'suspend', () => void acks.push('suspend'));
    h.advance(10);
    expect(acks).toEqual([]);
    h.running.add(2);
    h.control.acknowledgeIfRunning(2); // the unpause's step
    expect(acks).toEqual(['suspend']);
    h.advance(ACK_TIMEOUT_MS + 5); // the look that was pending finds it acknowledged
    expect(acks).toEqual(['suspend']);
    expect(h.log).toEqual([]);
  });

  it('a guest seen running again without an unpause of the toolstack (a stall ended) acknowledges in a step of its lane', () => {
    const h = harness();
    const acks: string[] = [];
    h.control.request(2, 'poweroff', () => void acks.push('poweroff'));
    h.advance(5);
    h.running.add(2);
    h.advance(7);
    expect(acks).toEqual(['poweroff']);
    expect(h.steps).toEqual([2]);
  });

  it('not acknowledged within LIBXL_ACK_TIMEOUT: ERROR_TIMEDOUT in the toolstack log, and a later run acknowledges nothing', () => {
    const h = harness();
    const acks: string[] = [];
    h.control.request(2, 'poweroff', () => void acks.push('poweroff'));
    h.advance(ACK_TIMEOUT_MS + 2);
    expect(h.log).toEqual(['2: shutdown: ERROR_TIMEDOUT (not acknowledged)']);
    h.running.add(2);
    h.control.acknowledgeIfRunning(2);
    expect(acks).toEqual([]);
  });

  it('a guest running when the timeout falls due has acknowledged (libxl re-reads control/shutdown): no ERROR_TIMEDOUT, even with its lane busy', () => {
    const h = harness({ deferSteps: true });
    const acks: string[] = [];
    h.control.request(2, 'suspend', () => void acks.push('suspend'));
    h.advance(ACK_TIMEOUT_MS - 0.5);
    h.running.add(2); // runs again just before the timeout; the look and the timeout both see it
    h.advance(ACK_TIMEOUT_MS + 1);
    expect(h.log).toEqual([]);
    expect(acks).toEqual([]); // the acknowledgement waits for its step of the lane
    h.runSteps();
    expect(acks).toEqual(['suspend']);
    expect(h.log).toEqual([]);
  });

  it('one operation per domain at a time: a second request while one waits is not taken; after the timeout a new one is', () => {
    const h = harness();
    const acks: string[] = [];
    h.control.request(2, 'suspend', () => void acks.push('suspend'));
    h.control.request(2, 'reboot', () => void acks.push('reboot'));
    h.advance(ACK_TIMEOUT_MS + 2);
    expect(h.log).toEqual(['2: suspend: ERROR_TIMEDOUT (not acknowledged)']);
    h.control.request(2, 'reboot', () => void acks.push('reboot'));
    h.running.add(2);
    h.control.acknowledgeIfRunning(2);
    expect(acks).toEqual(['reboot']);
  });

  it('a domain gone (or replaced) while its request waits: the request goes with it, no timeout logged', () => {
    const h = harness();
    const acks: string[] = [];
    h.control.request(2, 'reboot', () => void acks.push('reboot'));
    h.advance(3);
    h.domains.set(2, {}); // destroyed and made again with the same domid: another domain
    h.running.add(2);
    h.advance(ACK_TIMEOUT_MS + 5);
    expect(acks).toEqual([]);
    expect(h.log).toEqual([]);
    expect(h.pending()).toBe(0);
    h.control.request(3, 'reboot', () => void acks.push('reboot')); // no domain 3: nothing to ask
    h.advance(2 * ACK_TIMEOUT_MS);
    expect(acks).toEqual([]);
    expect(h.log).toEqual([]);
  });
});
