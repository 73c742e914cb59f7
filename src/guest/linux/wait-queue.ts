/**
 * A Linux `wait_queue_head_t` for guest code written with promises: `waitUntil(cond)` resolves
 * once `cond()` holds, re-checking it after each `wakeAll()` (`wait_event_interruptible` /
 * `wake_up_interruptible_all`). The condition is checked before sleeping, so a wakeup that came
 * earlier is never needed.
 *
 * @example
 * ```ts
 * const readq = new WaitQueue();
 * const ready = readq.waitUntil(() => ring.rxPtr !== ring.txPtr);
 * readq.wakeAll(); // from the VIRQ handler
 * await ready;
 * ```
 */
export class WaitQueue {
  private sleepers: Array<() => void> = [];

  /** Sleepers now waiting. */
  get waiting(): number {
    return this.sleepers.length;
  }

  /** Wakes every sleeper; each re-checks its condition. */
  wakeAll(): void {
    const woken = this.sleepers;
    this.sleepers = [];
    for (const wake of woken) wake();
  }

  /** Resolves when `cond()` is true (at once if it already is). */
  async waitUntil(cond: () => boolean): Promise<void> {
    while (!cond()) await new Promise<void>((resolve) => this.sleepers.push(resolve));
  }
}
