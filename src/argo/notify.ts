import type { GuestMemory } from '../memory/guest-memory.js';
import { readLock, readUnlock } from '../sync/rwlock.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { ERRNO } from '../xen/errno.js';
import { VIRQ_ARGO } from '../xen/virq.js';
import { RING_DATA, RING_DATA_ENT } from './abi.js';
import {
  ARGO_HASHTABLE_SIZE,
  MAX_NOTIFY_COUNT,
  XEN_ARGO_DOMID_ANY,
  XEN_ARGO_RING_EBUSY,
  XEN_ARGO_RING_EMPTY,
  XEN_ARGO_RING_EMSGSIZE,
  XEN_ARGO_RING_EXISTS,
  XEN_ARGO_RING_SHARED,
  XEN_ARGO_RING_SUFFICIENT,
} from './constants.js';
import { guestOk, hasArgo, memoryOf, type ArgoHost } from './host.js';
import { pendingCancel, pendingFire, pendingRequeue } from './pending.js';
import { maxMessageSize, payloadSpace } from './ring-buffer.js';
import { findRing } from './ring-table.js';
import { A, G, R } from './tables.js';
import { brReadLock, brReadUnlock } from '../sync/brlock.js';

/**
 * XEN_ARGO_OP_notify (argo.md §4.4): first fire the waiters of every ring the caller owns that now
 * has space, then (unless arg1 is NULL) describe each requested ring, queueing or cancelling the
 * caller's space-waits. Returns 0 or -errno; VIRQs go out after every lock is dropped.
 *
 * @example
 * ```ts
 * notify(host, slot, domid, 0); // "I consumed: wake whoever can now fit"
 * ```
 */
export function notify(host: ArgoHost, cs: number, cd: number, ringDataGpa: number): number {
  const { tables } = host;
  const woken: number[] = [];
  let rc: number;
  brReadLock(tables.global, G.L1, 'L1');
  try {
    if (!hasArgo(host, cs)) {
      rc = -ERRNO.ENODEV; // §4.4 step 3
    } else {
      checkPending(host, cs, woken); // step 4: always first
      rc = ringDataGpa === 0 ? 0 : describeRings(host, cs, cd, ringDataGpa); // steps 5–9
    }
  } finally {
    brReadUnlock(tables.global, G.L1);
  }
  for (const domid of woken) {
    const slot = host.domains.slotOf(domid); // waiters whose domain is gone are dropped silently
    if (slot >= 0) host.events.raise(slot, VIRQ_ARGO);
  }
  return rc;
}

/**
 * argo.c `notify_check_pending`: fire every eligible waiter of every ring the caller owns (§6.3),
 * walking the ring hash chains and taking each ring's L3 in turn (§8.6) — also for a ring whose
 * list looks empty, since a sender may be queueing on it at this moment.
 */
function checkPending(host: ArgoHost, cs: number, woken: number[]): void {
  const { tables } = host;
  const mem = memoryOf(host, cs);
  const rings = tables.rings;
  const base = tables.domainBase(cs);
  readLock(tables.domains, base + A.RINGS_L2, 'rings_L2');
  try {
    for (let bucket = 0; bucket < ARGO_HASHTABLE_SIZE; bucket++) {
      for (let link = tables.domains[base + A.BUCKETS + bucket]; link !== 0; ) {
        const rb = tables.ringBase(cs, link - 1);
        spinLock(rings, rb + R.L3, 'ring L3');
        try {
          if (rings[rb + R.NWAITERS] !== 0) {
            const space = payloadSpace(tables, mem, rb);
            if (space > 0) pendingFire(rings, rb, space, woken);
          }
        } finally {
          spinUnlock(rings, rb + R.L3);
        }
        link = rings[rb + R.NEXT];
      }
    }
  } finally {
    readUnlock(tables.domains, base + A.RINGS_L2);
  }
}

/** Steps 6–9: copy the ring_data header, bound nent, process entries until the first error. */
function describeRings(host: ArgoHost, cs: number, cd: number, gpa: number): number {
  const mem = memoryOf(host, cs);
  if (!guestOk(mem, gpa, RING_DATA.size)) return -ERRNO.EFAULT; // step 6
  const nent = mem.view.getUint32(gpa + RING_DATA.nent, true);
  if (nent > MAX_NOTIFY_COUNT) return -ERRNO.EACCES; // step 7 (Q5: sic)
  const entries = gpa + RING_DATA.data;
  if (!guestOk(mem, entries, nent * RING_DATA_ENT.size)) return -ERRNO.EFAULT; // step 8
  for (let i = 0; i < nent; i++) {
    const rc = fillRingData(host, mem, cs, cd, entries + i * RING_DATA_ENT.size); // step 9
    if (rc !== 0) return rc;
  }
  return 0;
}

/** argo.c `fill_ring_data` for one entry (argo.md §4.4 "Per entry"). */
function fillRingData(host: ArgoHost, mem: GuestMemory, cs: number, cd: number, ent: number): number {
  const v = mem.view;
  const owner = v.getUint16(ent + RING_DATA_ENT.ring_domain_id, true);
  const aport = v.getUint32(ent + RING_DATA_ENT.ring_aport, true);
  const spaceRequired = v.getUint32(ent + RING_DATA_ENT.space_required, true);
  let maxSize = v.getUint32(ent + RING_DATA_ENT.max_message_size, true); // Q4: echoed when no ring
  let flags = 0;
  const os = host.domains.slotOf(owner);
  if (os >= 0 && hasArgo(host, os)) {
    const xsm = host.xsm.argoSend(cs, os); // "don't describe rings that cannot be sent to"
    if (xsm !== 0) return xsm;
    const described = describeRing(host, cs, cd, os, owner, aport, spaceRequired);
    if (described.rc !== 0) return described.rc;
    if (described.flags !== 0) {
      flags = described.flags;
      maxSize = described.maxSize;
    }
  }
  v.setUint16(ent + RING_DATA_ENT.flags, flags, true); // step 6: only flags and max_message_size
  v.setUint32(ent + RING_DATA_ENT.max_message_size, maxSize, true);
  return 0;
}

/** Lookup (partner = caller, then ANY) and the flag rules, under R(owner rings_L2) and L3. */
function describeRing(
  host: ArgoHost,
  cs: number,
  cd: number,
  os: number,
  owner: number,
  aport: number,
  spaceRequired: number,
): { rc: number; flags: number; maxSize: number } {
  const { tables } = host;
  const rings = tables.rings;
  const l2 = tables.domainBase(os) + A.RINGS_L2;
  readLock(tables.domains, l2, 'rings_L2');
  try {
    let rb = findRing(tables, os, owner, aport, cd);
    if (rb < 0) rb = findRing(tables, os, owner, aport, XEN_ARGO_DOMID_ANY);
    if (rb < 0) return { rc: 0, flags: 0, maxSize: 0 };
    spinLock(rings, rb + R.L3, 'ring L3');
    try {
      const maxSize = maxMessageSize(rings[rb + R.LEN]);
      const space = payloadSpace(tables, memoryOf(host, os), rb);
      let flags = XEN_ARGO_RING_EXISTS;
      if (rings[rb + R.PARTNER] === XEN_ARGO_DOMID_ANY) flags |= XEN_ARGO_RING_SHARED;
      if (spaceRequired > maxSize) {
        flags |= XEN_ARGO_RING_EMSGSIZE;
      } else if (space >= spaceRequired) {
        pendingCancel(rings, rb, cd);
        flags |= XEN_ARGO_RING_SUFFICIENT;
      } else if (pendingRequeue(rings, rb, cd, spaceRequired) !== 0) {
        flags |= XEN_ARGO_RING_EBUSY; // queueing failed: report, carry on
      }
      if (space === maxSize) flags |= XEN_ARGO_RING_EMPTY; // Q7
      return { rc: 0, flags, maxSize };
    } finally {
      spinUnlock(rings, rb + R.L3);
    }
  } finally {
    readUnlock(tables.domains, l2);
  }
}
