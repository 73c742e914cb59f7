import type { GuestMemory } from '../memory/guest-memory.js';
import { ARGO_MSG_HEADER_BYTES, XEN_ARGO_MSG_SLOT_SIZE, roundupMessage } from './constants.js';
import { loadRxPtr } from './ring-memory.js';
import { R, type ArgoTables } from './tables.js';

/**
 * The ring arithmetic of argo.md §5.2–§5.3, over the ring at word `rb` (caller holds its L3).
 */

/** rx_ptr as Xen uses it: ROUNDUP16, and 0 when it is not below len (argo.md §5.2). */
export function sanitisedRx(tables: ArgoTables, mem: GuestMemory, rb: number): number {
  const len = tables.rings[rb + R.LEN];
  const rx = roundupMessage(loadRxPtr(tables, mem, rb));
  return rx >= len || rx < 0 ? 0 : rx;
}

/** Free bytes `sp` used by insert: len when empty, else (rx − tx) mod len (argo.md §5.3). */
export function freeSpace(tables: ArgoTables, mem: GuestMemory, rb: number): number {
  const len = tables.rings[rb + R.LEN];
  const tx = tables.rings[rb + R.TX];
  const rx = sanitisedRx(tables, mem, rb);
  if (rx === tx) return len;
  const sp = rx - tx;
  return sp < 0 ? sp + len : sp;
}

/** Payload bytes that fit now: max(0, d − 32) with d = rx − tx (+len when ≤ 0) (argo.md §5.3). */
export function payloadSpace(tables: ArgoTables, mem: GuestMemory, rb: number): number {
  const len = tables.rings[rb + R.LEN];
  if (len === 0) return 0;
  let d = sanitisedRx(tables, mem, rb) - tables.rings[rb + R.TX];
  if (d <= 0) d += len;
  const space = d - ARGO_MSG_HEADER_BYTES - XEN_ARGO_MSG_SLOT_SIZE;
  return space > 0 ? space : 0;
}

/** Largest payload the ring can ever hold: len − 32. */
export function maxMessageSize(len: number): number {
  return len - ARGO_MSG_HEADER_BYTES - XEN_ARGO_MSG_SLOT_SIZE;
}
