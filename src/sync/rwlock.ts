import { LOCK_WAIT_TOTAL_MS, waitSlice } from './errors.js';

/**
 * Word layout: reader count in the low bits, a "writer waiting" bit that holds back new readers
 * (so a stream of overlapping readers cannot starve teardown's W(L1)), a writer bit, and a
 * "someone sleeps" bit.
 */
const READERS = (1 << 28) - 1;
const WRITER_WAITING = 1 << 28;
const WRITER = 1 << 29;
const WAITERS = 1 << 30;

/**
 * A reader/writer lock on one Int32 word of a SharedArrayBuffer. Xen's global L1 and per-domain
 * rings_L2 are rwlocks (argo.md §8.6). Not reentrant for writers, as in Xen. The uncontended paths
 * are one CAS / one atomic op; `Atomics.notify` is paid only when a sleeper announced itself. A
 * waiting writer holds back new readers, as Linux/Xen queued rwlocks do, so it cannot be starved.
 * Waits are bounded (see `LockTimeoutError`), and sleep in short slices so a missed wake-up
 * costs at most a slice.
 *
 * @example
 * ```ts
 * readLock(words, L1, 'L1');
 * try { ... } finally { readUnlock(words, L1); }
 * ```
 */
export function readLock(words: Int32Array, index: number, name: string, waitMs = LOCK_WAIT_TOTAL_MS): void {
  let waitedMs = 0;
  for (;;) {
    const seen = Atomics.load(words, index);
    if ((seen & (WRITER | WRITER_WAITING)) === 0) {
      if (Atomics.compareExchange(words, index, seen, seen + 1) === seen) return;
      continue; // lost a race with another reader: retry at once
    }
    waitedMs = sleep(words, index, seen, name, waitedMs, waitMs, 0);
  }
}

/** Releases a read hold; asserts one was held. */
export function readUnlock(words: Int32Array, index: number): void {
  const was = Atomics.sub(words, index, 1);
  if ((was & READERS) === 0 || (was & WRITER) !== 0) {
    Atomics.add(words, index, 1);
    throw new Error(`readUnlock: lock word ${index} was ${was}, not read-held`);
  }
  if ((was & READERS) === 1 && (was & WAITERS) !== 0) wakeAll(words, index);
}

/** Takes the lock exclusively. */
export function writeLock(words: Int32Array, index: number, name: string, waitMs = LOCK_WAIT_TOTAL_MS): void {
  let waitedMs = 0;
  for (;;) {
    const seen = Atomics.load(words, index);
    if ((seen & (READERS | WRITER)) === 0) {
      if (Atomics.compareExchange(words, index, seen, (seen & ~WRITER_WAITING) | WRITER) === seen) return;
      continue;
    }
    waitedMs = sleep(words, index, seen, name, waitedMs, waitMs, WRITER_WAITING);
  }
}

/** Releases an exclusive hold; asserts it was held. */
export function writeUnlock(words: Int32Array, index: number): void {
  const was = Atomics.and(words, index, ~WRITER);
  if ((was & WRITER) === 0) throw new Error(`writeUnlock: lock word ${index} was ${was}, not write-held`);
  if ((was & WAITERS) !== 0) wakeAll(words, index);
}

/**
 * Announces a sleeper (and, for a writer, that a writer waits), then sleeps one slice while the
 * word is unchanged. A writer that gives up withdraws its "writer waiting" bit so readers go on.
 */
function sleep(
  words: Int32Array,
  index: number,
  seen: number,
  name: string,
  waitedMs: number,
  waitMs: number,
  extra: number,
): number {
  const flagged = seen | WAITERS | extra;
  // past the budget, no flag is set: `waitSlice` gives up at once
  if (waitedMs < waitMs && seen !== flagged && Atomics.compareExchange(words, index, seen, flagged) !== seen) return waitedMs;
  return waitSlice(words, index, flagged, name, waitedMs, waitMs, () => void (extra !== 0 && Atomics.and(words, index, ~extra)));
}

function wakeAll(words: Int32Array, index: number): void {
  Atomics.and(words, index, ~WAITERS);
  Atomics.notify(words, index);
}
