/** A word nobody notifies: waiting on it sleeps this thread. */
const NAP = new Int32Array(new SharedArrayBuffer(4));

/**
 * Sleeps this thread for `timeoutMs` (a bounded wait with nothing to wait on yet, or a pause between
 * two looks), then says it timed out.
 *
 * @example
 * ```ts
 * napFor(0.1); // 'timed-out', 0.1 ms later
 * ```
 */
export function napFor(timeoutMs: number): 'timed-out' {
  Atomics.wait(NAP, 0, 0, timeoutMs);
  return 'timed-out';
}
