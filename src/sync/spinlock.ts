import { LOCK_WAIT_SLICE_MS, LOCK_WAIT_TOTAL_MS, LockTimeoutError } from './errors.js';

/**
 * A spinlock on one Int32 word of a SharedArrayBuffer (0 free, 1 held). Xen's per-ring L3 and
 * per-domain send_L2 / wildcard_L2 are spinlocks (argo.md §8.6). Waits are bounded: after
 * `LOCK_WAIT_TOTAL_MS` a `LockTimeoutError` names the lock instead of hanging the thread.
 *
 * @example
 * ```ts
 * spinLock(words, index, 'ring L3');
 * try { ... } finally { spinUnlock(words, index); }
 * ```
 */
export function spinLock(words: Int32Array, index: number, name: string): void {
  if (Atomics.compareExchange(words, index, 0, 1) === 0) return;
  let waitedMs = 0;
  for (;;) {
    const seen = Atomics.compareExchange(words, index, 0, 1);
    if (seen === 0) return;
    if (waitedMs >= LOCK_WAIT_TOTAL_MS) throw new LockTimeoutError(name, seen, waitedMs);
    Atomics.wait(words, index, seen, LOCK_WAIT_SLICE_MS);
    waitedMs += LOCK_WAIT_SLICE_MS;
  }
}

/** Releases a spinlock taken with `spinLock`; asserts it was held. */
export function spinUnlock(words: Int32Array, index: number): void {
  const was = Atomics.exchange(words, index, 0);
  if (was !== 1) throw new Error(`spinUnlock: lock word ${index} was ${was}, not held`);
  Atomics.notify(words, index, 1);
}
