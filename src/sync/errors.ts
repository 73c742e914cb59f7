/**
 * Raised when a bounded shared-memory wait gives up: a peer holding a lock is dead or stuck.
 * It is a model-level failure (a deadlock report), never a guest-visible result.
 *
 * @example
 * ```ts
 * try { lock.acquireWrite(); } catch (e) { if (e instanceof LockTimeoutError) report(e.lockName); }
 * ```
 */
export class LockTimeoutError extends Error {
  constructor(
    readonly lockName: string,
    readonly heldValue: number,
    readonly waitedMs: number,
  ) {
    super(`lock ${lockName} not acquired after ${waitedMs} ms (word = ${heldValue}): a holder is dead or stuck`);
    this.name = 'LockTimeoutError';
  }
}

/** How long a lock waits in total before reporting a deadlock, and in what slices. */
export const LOCK_WAIT_TOTAL_MS = 5_000;
export const LOCK_WAIT_SLICE_MS = 1;

/**
 * One slice of a bounded shared-memory wait (every lock's and seqlock's sleep): sleeps while
 * `words[index]` holds `expected`, for at most one slice, and returns the time waited so far. Once
 * `waitedMs` has reached `waitMs` it gives up instead: `giveUp` undoes what the waiter had announced
 * (a "writer waiting" bit, a half-taken lock) so the others go on, and a `LockTimeoutError` names the
 * lock and the word's value as it stood then.
 *
 * @example
 * ```ts
 * let waitedMs = 0;
 * while (Atomics.compareExchange(words, i, 0, 1) !== 0) waitedMs = waitSlice(words, i, 1, 'ioreq', waitedMs);
 * ```
 */
export function waitSlice(words: Int32Array, index: number, expected: number, name: string, waitedMs: number, waitMs = LOCK_WAIT_TOTAL_MS, giveUp?: () => void): number {
  if (waitedMs >= waitMs) {
    const held = Atomics.load(words, index);
    giveUp?.();
    throw new LockTimeoutError(name, held, waitedMs);
  }
  Atomics.wait(words, index, expected, LOCK_WAIT_SLICE_MS);
  return waitedMs + LOCK_WAIT_SLICE_MS;
}
