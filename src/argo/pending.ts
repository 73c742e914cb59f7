import { ERRNO } from '../xen/errno.js';
import { MAX_PENDING_PER_RING } from './constants.js';
import { R } from './tables.js';

/**
 * A ring's pending space-waiter list (argo.md §6.3): at most 32 entries of (domid, length), at most
 * one per domain. Caller holds the ring's L3 (or W(rings_L2) / W(L1)).
 */

/** Queue or update (domid, length): an existing entry grows to max(old, new). 0, or -EBUSY when full. */
export function pendingRequeue(rings: Int32Array, rb: number, domid: number, length: number): number {
  const n = rings[rb + R.NWAITERS];
  for (let i = 0; i < n; i++) {
    const at = rb + R.WAITERS + 2 * i;
    if (rings[at] === domid) {
      if (length > rings[at + 1]) rings[at + 1] = length;
      return 0;
    }
  }
  if (n >= MAX_PENDING_PER_RING) return -ERRNO.EBUSY;
  rings[rb + R.WAITERS + 2 * n] = domid;
  rings[rb + R.WAITERS + 2 * n + 1] = length;
  rings[rb + R.NWAITERS] = n + 1;
  return 0;
}

/** Removes every entry of `domid` (cancel on SUFFICIENT, or a dying waiter); returns how many. */
export function pendingCancel(rings: Int32Array, rb: number, domid: number): number {
  return pendingRemoveWhere(rings, rb, (d) => d === domid, undefined);
}

/**
 * Fires the ring: removes every entry whose length ≤ `space` and appends its domid to `woken`
 * (argo.md §6.3 "Fire": wake everyone eligible).
 */
export function pendingFire(rings: Int32Array, rb: number, space: number, woken: number[]): void {
  pendingRemoveWhere(rings, rb, (_d, length) => length <= space, woken);
}

/** Drops the whole list without signalling anyone. */
export function pendingRemoveAll(rings: Int32Array, rb: number): void {
  rings[rb + R.NWAITERS] = 0;
}

function pendingRemoveWhere(
  rings: Int32Array,
  rb: number,
  match: (domid: number, length: number) => boolean,
  removed: number[] | undefined,
): number {
  const n = rings[rb + R.NWAITERS];
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const domid = rings[rb + R.WAITERS + 2 * i];
    const length = rings[rb + R.WAITERS + 2 * i + 1];
    if (match(domid, length)) {
      removed?.push(domid);
      continue;
    }
    rings[rb + R.WAITERS + 2 * kept] = domid;
    rings[rb + R.WAITERS + 2 * kept + 1] = length;
    kept++;
  }
  rings[rb + R.NWAITERS] = kept;
  return n - kept;
}
