import { writeLock, writeUnlock } from '../sync/rwlock.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { ERRNO } from '../xen/errno.js';
import { UNREGISTER_RING } from './abi.js';
import { XEN_ARGO_DOMID_ANY } from './constants.js';
import { guestOk, hasArgo, memoryOf, type ArgoHost } from './host.js';
import { removeRing } from './ring-remove.js';
import { findRing } from './ring-table.js';
import { sendInfoRemoveOne } from './send-info.js';
import { A, G } from './tables.js';
import { brReadLock, brReadUnlock } from '../sync/brlock.js';

/**
 * XEN_ARGO_OP_unregister_ring (argo.md §4.2): exact id match only; waiters are dropped without a
 * signal; one send-info record leaves the partner's table. Returns 0 or -errno. The dispatcher has
 * already rejected a non-NULL arg2 or non-zero arg3/arg4.
 *
 * @example
 * ```ts
 * unregisterRing(host, slot, domid, unregGpa);
 * ```
 */
export function unregisterRing(host: ArgoHost, cs: number, cd: number, unregGpa: number): number {
  const mem = memoryOf(host, cs);
  if (!guestOk(mem, unregGpa, UNREGISTER_RING.size)) return -ERRNO.EFAULT; // §4.2 step 3
  const aport = mem.view.getUint32(unregGpa + UNREGISTER_RING.aport, true);
  const partner = mem.view.getUint16(unregGpa + UNREGISTER_RING.partner_id, true);
  if (mem.view.getUint16(unregGpa + UNREGISTER_RING.pad, true) !== 0) return -ERRNO.EINVAL; // step 4
  const { tables } = host;
  brReadLock(tables.global, G.L1, 'L1');
  try {
    if (!hasArgo(host, cs)) return -ERRNO.ENODEV; // step 5
    const dom = tables.domainBase(cs);
    writeLock(tables.domains, dom + A.RINGS_L2, 'rings_L2');
    try {
      const rb = findRing(tables, cs, cd, aport, partner);
      if (rb < 0) return -ERRNO.ENOENT; // step 6
      if (partner !== XEN_ARGO_DOMID_ANY) dropSendInfo(host, partner, cd, aport);
      removeRing(host, cs, cd, rb);
      const count = tables.domains[dom + A.RING_COUNT];
      if (count <= 0) throw new Error(`unregister: domain ${cd} ring_count ${count} with a ring still registered`);
      tables.domains[dom + A.RING_COUNT] = count - 1;
      return 0;
    } finally {
      writeUnlock(tables.domains, dom + A.RINGS_L2);
    }
  } finally {
    brReadUnlock(tables.global, G.L1);
  }
}

/** Removes one (owner, aport) record from the partner's send table, if the partner has Argo state. */
function dropSendInfo(host: ArgoHost, partner: number, owner: number, aport: number): void {
  const partnerSlot = host.domains.slotOf(partner);
  if (partnerSlot < 0 || !hasArgo(host, partnerSlot)) return;
  const lock = host.tables.domainBase(partnerSlot) + A.SEND_L2;
  spinLock(host.tables.domains, lock, 'send_L2');
  try {
    sendInfoRemoveOne(host.tables, partnerSlot, owner, aport);
  } finally {
    spinUnlock(host.tables.domains, lock);
  }
}
