/**
 * Free-running 16-bit index arithmetic of split virtqueues (virtio-ioreq-lifecycle.md §2.6, §2.7).
 * Every index the driver or device keeps is a uint16 that wraps at 65536; these helpers are the only
 * place the wrap is spelled out.
 *
 * @example
 * ```ts
 * u16Distance(2, 65534);            // 4 entries between them across the wrap
 * vringNeedEvent(0, 1, 0);          // true: used.idx moved past used_event = 0
 * ringSlot(65535, 256);             // 255
 * ```
 */

/** `x` reduced to a uint16. */
export const u16 = (x: number): number => x & 0xffff;

/** `(uint16)(newer − older)`: how many entries lie between two free-running indices (§2.6). */
export const u16Distance = (newer: number, older: number): number => (newer - older) & 0xffff;

/** The ring slot of free-running index `idx`: `idx % qsz`, qsz being a power of 2 (§2.6). */
export const ringSlot = (idx: number, qsz: number): number => idx & (qsz - 1);

/**
 * `vring_need_event(event, new, old)` (§2.7): true when the index moving from `old` to `new` passed
 * `event`, i.e. `event` ∈ [old, new) modulo 2^16. Used for both directions with EVENT_IDX.
 *
 * @example
 * ```ts
 * vringNeedEvent(used_event, usedIdxAfter, usedIdxBefore);
 * ```
 */
export function vringNeedEvent(event: number, newIdx: number, oldIdx: number): boolean {
  return u16(newIdx - event - 1) < u16(newIdx - oldIdx);
}
