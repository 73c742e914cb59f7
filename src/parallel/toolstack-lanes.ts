interface Lane {
  /** The end of the work queued on it. */
  tail: Promise<void>;
  /** Work queued or running on it that the run's end at `until` waits for (`due`). */
  due: number;
  /** Waits of its running work that the run's end need not wait for (`park`). */
  parked: number;
}

/**
 * The parallel runtime's toolstack work in lanes, one per scenario domain: a lane runs its work one
 * step at a time — a timed event, the on_* action or acknowledgement that follows it — as libxl holds
 * a domain's lock for an operation, while different domains' lanes run side by side, as separate
 * `xl` processes do. A lane's running work may be parked (waiting on a libxl timeout the run will not
 * see end): the run may end at its time limit once every lane has nothing due left or is parked.
 *
 * @example
 * ```ts
 * const lanes = new ToolstackLanes();
 * lanes.run(1, () => destroy(1), true, () => {});   // domain 1's destroy …
 * lanes.run(2, () => unpause(2), true, () => {});   // … does not hold back domain 2's unpause
 * lanes.settled(); // false while either is due
 * ```
 */
export class ToolstackLanes {
  private readonly lanes = new Map<number, Lane>();

  /**
   * `work` on lane `key`, after the work queued there before it; `done` once it is over. `due`: the
   * run's end at its time limit waits for it (unless its lane is parked).
   */
  run(key: number, work: () => Promise<void> | void, due: boolean, done: () => void): void {
    const lane = this.laneOf(key);
    if (due) lane.due++;
    lane.tail = lane.tail.then(work).finally(() => {
      if (due) lane.due--;
      done();
    });
  }

  /** Lane `key`'s running work waits on something the run's end need not wait for, until the returned function is called (once is enough). */
  park(key: number): () => void {
    const lane = this.laneOf(key);
    lane.parked++;
    let parked = true;
    return () => {
      if (parked) lane.parked--;
      parked = false;
    };
  }

  /** Every lane has nothing due left, or is parked: the run may end at its time limit. */
  settled(): boolean {
    for (const lane of this.lanes.values()) if (lane.due > 0 && lane.parked === 0) return false;
    return true;
  }

  private laneOf(key: number): Lane {
    let lane = this.lanes.get(key);
    if (!lane) this.lanes.set(key, (lane = { tail: Promise.resolve(), due: 0, parked: 0 }));
    return lane;
  }
}
