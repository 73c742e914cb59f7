import { LOCK_WAIT_SLICE_MS, LOCK_WAIT_TOTAL_MS, LockTimeoutError } from './errors.js';

/**
 * A reader/writer lock on one Int32 word of a SharedArrayBuffer: 0 free, n > 0 held by n readers,
 * -1 held by a writer. Xen's global L1 and per-domain rings_L2 are rwlocks (argo.md §8.6). Not
 * reentrant, as in Xen. Waits are bounded (see `LockTimeoutError`).
 *
 * @example
 * ```ts
 * readLock(words, L1, 'L1');
 * try { ... } finally { readUnlock(words, L1); }
 * ```
 */
export function readLock(words: Int32Array, index: number, name: string): void {
  let waitedMs = 0;
  for (;;) {
    const seen = Atomics.load(words, index);
    if (seen >= 0 && Atomics.compareExchange(words, index, seen, seen + 1) === seen) return;
    if (seen >= 0) continue; // lost a race with another reader: retry at once
    if (waitedMs >= LOCK_WAIT_TOTAL_MS) throw new LockTimeoutError(name, seen, waitedMs);
    Atomics.wait(words, index, seen, LOCK_WAIT_SLICE_MS);
    waitedMs += LOCK_WAIT_SLICE_MS;
  }
}

/** Releases a read hold; asserts one was held. */
export function readUnlock(words: Int32Array, index: number): void {
  const was = Atomics.sub(words, index, 1);
  if (was <= 0) throw new Error(`readUnlock: lock word ${index} was ${was}, not read-held`);
  if (was === 1) Atomics.notify(words, index);
}

/** Takes the lock exclusively. */
export function writeLock(words: Int32Array, index: number, name: string): void {
  let waitedMs = 0;
  for (;;) {
    const seen = Atomics.compareExchange(words, index, 0, -1);
    if (seen === 0) return;
    if (waitedMs >= LOCK_WAIT_TOTAL_MS) throw new LockTimeoutError(name, seen, waitedMs);
    Atomics.wait(words, index, seen, LOCK_WAIT_SLICE_MS);
    waitedMs += LOCK_WAIT_SLICE_MS;
  }
}

/** Releases an exclusive hold; asserts it was held. */
export function writeUnlock(words: Int32Array, index: number): void {
  const was = Atomics.exchange(words, index, 0);
  if (was !== -1) throw new Error(`writeUnlock: lock word ${index} was ${was}, not write-held`);
  Atomics.notify(words, index);
}
