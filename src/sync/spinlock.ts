import { LOCK_WAIT_TOTAL_MS, waitSlice } from './errors.js';

/** Lock word values: free, held, held with (possible) sleepers — Drepper's "Futexes are tricky" mutex. */
const FREE = 0;
const HELD = 1;
const CONTENDED = 2;
/** Looks at a held lock before sleeping on it: a few microseconds. */
const SPINS = 2000;

/**
 * A spinlock on one Int32 word of a SharedArrayBuffer. Xen's per-ring L3 and per-domain send_L2 /
 * wildcard_L2 are spinlocks (argo.md §8.6). The uncontended path is one CAS to take and one
 * atomic sub to release; a contended one spins a few microseconds before it sleeps, and only a
 * release that saw sleepers pays for `Atomics.notify`. Waits are
 * bounded: after `LOCK_WAIT_TOTAL_MS` a `LockTimeoutError` names the lock instead of hanging.
 *
 * @example
 * ```ts
 * spinLock(words, index, 'ring L3');
 * try { ... } finally { spinUnlock(words, index); }
 * ```
 */
export function spinLock(words: Int32Array, index: number, name: string, waitMs = LOCK_WAIT_TOTAL_MS): void {
  let seen = Atomics.compareExchange(words, index, FREE, HELD);
  if (seen === FREE) return;
  // spin first, as Xen's spinlocks do: the sections they guard are a few microseconds (a 4 KiB copy
  // under a ring's L3), far shorter than a sleep and a wake-up through the futex
  for (let i = 0; i < SPINS; i++) {
    if (Atomics.load(words, index) === FREE && (seen = Atomics.compareExchange(words, index, FREE, HELD)) === FREE) return;
  }
  let waitedMs = 0;
  if (seen !== CONTENDED) seen = Atomics.exchange(words, index, CONTENDED);
  while (seen !== FREE) {
    waitedMs = waitSlice(words, index, CONTENDED, name, waitedMs, waitMs);
    seen = Atomics.exchange(words, index, CONTENDED);
  }
}

/** Releases a spinlock taken with `spinLock`; asserts it was held. */
export function spinUnlock(words: Int32Array, index: number): void {
  const was = Atomics.sub(words, index, 1);
  if (was === HELD) return;
  if (was !== CONTENDED) {
    Atomics.store(words, index, FREE);
    throw new Error(`spinUnlock: lock word ${index} was ${was}, not held`);
  }
  Atomics.store(words, index, FREE);
  Atomics.notify(words, index, 1);
}
