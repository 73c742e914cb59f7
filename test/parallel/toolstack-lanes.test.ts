import { describe, expect, it } from 'vitest';
import { ToolstackLanes } from '../../src/parallel/toolstack-lanes.js';

/** A promise and the function that settles it. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = () => {};
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

const turns = () => new Promise((resolve) => setImmediate(resolve));

describe('ToolstackLanes: each domain\'s toolstack work one step at a time, domains side by side', () => {
  it('a lane runs its work in order, one at a time; a lane waiting does not hold another back', async () => {
    const lanes = new ToolstackLanes();
    const log: string[] = [];
    const removal = gate(); // a guest's destroy waits for its driver domain to close the disk
    lanes.run(2, async () => {
      log.push('guest: destroy starts');
      await removal.promise;
      log.push('guest: destroy ends');
    }, true, () => {});
    lanes.run(2, () => void log.push('guest: next operation'), true, () => {});
    lanes.run(1, () => {
      log.push('driverdom: unpause');
      removal.open(); // … which lets the driver domain answer
    }, true, () => {});
    await turns();
    expect(log).toEqual(['guest: destroy starts', 'driverdom: unpause', 'guest: destroy ends', 'guest: next operation']);
  });

  it('settled: nothing due left, or every lane with due work parked; work not due never holds it; a park is undone once', async () => {
    const lanes = new ToolstackLanes();
    expect(lanes.settled()).toBe(true);
    const timeout = gate();
    let unpark = () => {};
    let finished = false;
    lanes.run(2, async () => {
      unpark = lanes.park(2); // waits on LIBXL_DESTROY_TIMEOUT, past the run's limit
      await timeout.promise;
      unpark();
    }, true, () => (finished = true));
    const after = gate();
    lanes.run(3, () => after.promise, false, () => {}); // an action, not due: does not count
    await turns();
    expect(lanes.settled()).toBe(true); // lane 2 parked, lane 3 not due
    lanes.run(1, () => {}, true, () => {});
    expect(lanes.settled()).toBe(false); // lane 1 has due work not parked
    await turns();
    expect(lanes.settled()).toBe(true);
    unpark();
    unpark(); // twice: undone once
    expect(lanes.settled()).toBe(false); // lane 2 due and running, no longer parked
    timeout.open();
    await turns();
    expect(finished).toBe(true);
    expect(lanes.settled()).toBe(true);
  });
});
