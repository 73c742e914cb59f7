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
