import { LOCK_WAIT_TOTAL_MS, waitSlice } from './errors.js';

/** Words in a cache line (64 bytes): each reader slot has one of its own. */
const LINE = 16;
/** Reader slots: threads beyond this many share slots (correct, only slower). */
export const BRLOCK_SLOTS = 32;
/** Words a big-reader lock takes: its writer word's line, then one line per reader slot. */
export const BRLOCK_WORDS = LINE * (1 + BRLOCK_SLOTS);

/** On the writer word: a writer holds the lock or is draining its readers; someone sleeps on it. */
const WRITER = 1;
const WAITERS = 2;

/** This thread's reader slot (0 unless `setReaderSlot` chose another). */
let slot = 0;

/**
 * Chooses this thread's reader slot in every big-reader lock: a thread that shares a hypervisor with
 * others gives each its own (the parallel runtime: its worker index + 1; the main thread keeps 0).
 */
export function setReaderSlot(index: number): void {
  slot = ((index % BRLOCK_SLOTS) + BRLOCK_SLOTS) % BRLOCK_SLOTS;
}

/**
 * A reader/writer lock whose read side touches only this thread's own cache line: Xen's global L1
 * (argo.md §8.6), which every hypercall takes for reading and only init, destroy and soft reset take
 * for writing. One shared reader count would be written by every thread on every hypercall, and
 * that line moving between cores costs more than the hypercall's own work once many threads send
 * (docs/parallel.md, "Locks"). Here a reader counts itself in its thread's slot, then looks at the
 * writer word; a writer sets the writer word, then waits for every slot to drain. Atomics are
 * sequentially consistent, so of a reader and a writer that arrive together at least one sees the
 * other: the reader steps back and waits, or the writer waits for it. The exclusion is the rwlock's,
 * writer preference included (a writer waiting holds back new readers), and waits are bounded
 * (`LockTimeoutError`).
 *
 * @example
 * ```ts
 * brReadLock(words, G.L1, 'L1');
 * try { ... } finally { brReadUnlock(words, G.L1); }
 * ```
 */
export function brReadLock(words: Int32Array, base: number, name: string, waitMs = LOCK_WAIT_TOTAL_MS): void {
  const mine = base + LINE * (1 + slot);
  let waitedMs = 0;
  for (;;) {
    Atomics.add(words, mine, 1);
    if ((Atomics.load(words, base) & WRITER) === 0) return;
    // a writer holds it or waits for its readers: step back (waking it, if it waits on this slot)
    if (Atomics.sub(words, mine, 1) === 1) Atomics.notify(words, mine);
    waitedMs = sleepWhileWriter(words, base, name, waitedMs, waitMs);
  }
}

/** Releases a read hold of this thread; asserts it held one. */
export function brReadUnlock(words: Int32Array, base: number): void {
  const mine = base + LINE * (1 + slot);
  const was = Atomics.sub(words, mine, 1);
  if (was <= 0) {
    Atomics.add(words, mine, 1);
    throw new Error(`brReadUnlock: lock at word ${base} is not read-held by this thread (slot ${slot})`);
  }
  // a writer draining the readers sleeps on the slots
  if (was === 1 && (Atomics.load(words, base) & WRITER) !== 0) Atomics.notify(words, mine);
}

/** Takes the lock exclusively: the writer word, then every reader gone. */
export function brWriteLock(words: Int32Array, base: number, name: string, waitMs = LOCK_WAIT_TOTAL_MS): void {
  let waitedMs = 0;
  for (;;) {
    const seen = Atomics.load(words, base);
    if ((seen & WRITER) === 0) {
      if (Atomics.compareExchange(words, base, seen, seen | WRITER) === seen) break;
      continue;
    }
    waitedMs = sleepWhileWriter(words, base, name, waitedMs, waitMs);
  }
  for (let s = 0; s < BRLOCK_SLOTS; s++) {
    const at = base + LINE * (1 + s);
    for (let readers = Atomics.load(words, at); readers !== 0; readers = Atomics.load(words, at)) {
      waitedMs = waitSlice(words, at, readers, name, waitedMs, waitMs, () => brWriteUnlock(words, base)); // giving up, it lets the readers go on
    }
  }
}

/** Releases the exclusive hold; asserts it was held. */
export function brWriteUnlock(words: Int32Array, base: number): void {
  const was = Atomics.and(words, base, ~(WRITER | WAITERS));
  if ((was & WRITER) === 0) throw new Error(`brWriteUnlock: lock at word ${base} was ${was}, not write-held`);
  if ((was & WAITERS) !== 0) Atomics.notify(words, base);
}

/**
 * What holds the lock now, for a watchdog or an end-of-run check: the writer, the read holds of
 * each slot, or null when it is free.
 */
export function brlockHolders(words: Int32Array, base: number): string | null {
  const held: string[] = [];
  if ((Atomics.load(words, base) & WRITER) !== 0) held.push('writer');
  for (let s = 0; s < BRLOCK_SLOTS; s++) {
    const readers = Atomics.load(words, base + LINE * (1 + s));
    if (readers !== 0) held.push(`${readers} reader(s) in slot ${s}`);
  }
  return held.length > 0 ? held.join(', ') : null;
}

/** Sleeps one slice while a writer holds the word (announcing the sleeper); throws past `waitMs`. */
function sleepWhileWriter(words: Int32Array, base: number, name: string, waitedMs: number, waitMs: number): number {
  const seen = Atomics.load(words, base);
  if ((seen & WRITER) === 0) return waitedMs;
  // past the budget, no flag is set: `waitSlice` gives up at once
  if (waitedMs < waitMs && (seen & WAITERS) === 0 && Atomics.compareExchange(words, base, seen, seen | WAITERS) !== seen) return waitedMs;
  return waitSlice(words, base, seen | WAITERS, name, waitedMs, waitMs);
}
