import { D } from '../domain/domain-table.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { readLock, readUnlock } from '../sync/rwlock.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { ERRNO } from '../xen/errno.js';
import { VIRQ_ARGO } from '../xen/virq.js';
import { ADDR, COMPAT_IOV, IOV, SEND_ADDR } from './abi.js';
import {
  ARGO_MSG_HEADER_BYTES,
  MAX_ARGO_MESSAGE_SIZE,
  XEN_ARGO_DOMID_ANY,
  XEN_ARGO_MAXIOV,
  roundupMessage,
} from './constants.js';
import { guestOk, hasArgo, memoryOf, type ArgoHost } from './host.js';
import { pendingRequeue } from './pending.js';
import { freeSpace } from './ring-buffer.js';
import { copyToRing, ringGpa, storeTxPtr, writeMessageHeader } from './ring-memory.js';
import { findRing } from './ring-table.js';
import { A, G, R } from './tables.js';
import { viptablesVerdict } from './viptables.js';
import { brReadLock, brReadUnlock } from '../sync/brlock.js';

// The hypervisor's copy of the iov array (do_argo_op copies it in before sendv runs). One per
// thread: a hypercall never re-enters another on the same thread.
const iovHandleLo = new Uint32Array(XEN_ARGO_MAXIOV);
const iovHandleHi = new Uint32Array(XEN_ARGO_MAXIOV);
const iovLength = new Uint32Array(XEN_ARGO_MAXIOV);
const iovPad = new Uint32Array(XEN_ARGO_MAXIOV);

/**
 * XEN_ARGO_OP_sendv (argo.md §4.3) with Xen's validation order: returns the payload byte count, or
 * -errno. On success the message is written (§5.4), tx_ptr published, and VIRQ_ARGO raised in the
 * destination after every lock is dropped. On EAGAIN a space-waiter entry is queued (§6.3).
 *
 * @example
 * ```ts
 * sendv(host, slot, domid, sendAddrGpa, iovsGpa, niov, messageType); // 23, or -ERRNO.EAGAIN, ...
 * ```
 */
export function sendv(
  host: ArgoHost,
  cs: number,
  cd: number,
  sendAddrGpa: number,
  iovsGpa: number,
  niov: number,
  messageType: number,
): number {
  const mem = memoryOf(host, cs);
  if (!guestOk(mem, sendAddrGpa, SEND_ADDR.size)) return -ERRNO.EFAULT; // §4.3 step 2
  if (niov > XEN_ARGO_MAXIOV) return -ERRNO.EINVAL; // step 3
  // a 32-bit guest's iovs carry 4-byte handles: only sendv is translated for compat guests (§3)
  const compat = host.domains.get(cs, D.COMPAT) !== 0;
  if (!guestOk(mem, iovsGpa, niov * (compat ? COMPAT_IOV.size : IOV.size))) return -ERRNO.EFAULT; // step 4
  const v = mem.view;
  const src = sendAddrGpa + SEND_ADDR.src;
  const dst = sendAddrGpa + SEND_ADDR.dst;
  const srcPort = v.getUint32(src + ADDR.aport, true);
  let srcDomid = v.getUint16(src + ADDR.domain_id, true);
  const dstPort = v.getUint32(dst + ADDR.aport, true);
  const dstDomid = v.getUint16(dst + ADDR.domain_id, true);
  if (compat) readCompatIovs(v, iovsGpa, niov);
  else readIovs(v, iovsGpa, niov);
  if (v.getUint16(src + ADDR.pad, true) !== 0 || v.getUint16(dst + ADDR.pad, true) !== 0) return -ERRNO.EINVAL; // step 5
  if (srcDomid === XEN_ARGO_DOMID_ANY) srcDomid = cd; // step 6
  if (srcDomid !== cd) return -ERRNO.EPERM; // step 7
  const ds = host.domains.slotOf(dstDomid);
  if (ds < 0) return -ERRNO.ESRCH; // step 8
  const dstGeneration = host.domains.get(ds, D.GENERATION);
  const xsm = host.xsm.argoSend(cs, ds); // step 9
  if (xsm !== 0) return xsm;
  const firewall = host.xsm.argoFirewall?.send(cs, srcPort, ds, dstPort) ?? 0; // step 9, argo.md §7.4 (proposed)
  if (firewall !== 0) return firewall;
  if (host.options.viptables && !viptablesVerdict(host.tables, cd, srcPort, dstDomid, dstPort)) {
    return -ERRNO.EPERM; // OpenXT viptables, argo.md §7.3: after XSM, before any ring lookup
  }
  const { tables } = host;
  let rc: number;
  brReadLock(tables.global, G.L1, 'L1');
  try {
    if (!hasArgo(host, cs)) rc = -ERRNO.ENODEV; // step 10
    // step 11; a destination reaped since the lookup is a domain that died: no Argo state
    else if (!host.domains.holds(ds, dstDomid, dstGeneration) || !hasArgo(host, ds)) rc = -ERRNO.ECONNREFUSED;
    else rc = sendToDomain(host, mem, cd, ds, dstDomid, dstPort, srcPort, niov, messageType);
  } finally {
    brReadUnlock(tables.global, G.L1);
  }
  if (rc >= 0) host.events.raise(ds, VIRQ_ARGO, dstGeneration); // step 20, signals after locks are dropped
  return rc;
}

/** Copies a native guest's iov array into the hypervisor's buffer (do_argo_op's copy_from_guest). */
function readIovs(v: DataView, iovsGpa: number, niov: number): void {
  for (let i = 0; i < niov; i++) {
    const iov = iovsGpa + i * IOV.size;
    iovHandleLo[i] = v.getUint32(iov + IOV.iov_hnd, true);
    iovHandleHi[i] = v.getUint32(iov + IOV.iov_hnd + 4, true);
    iovLength[i] = v.getUint32(iov + IOV.iov_len, true);
    iovPad[i] = v.getUint32(iov + IOV.pad, true);
  }
}

/** The compat translation: a 32-bit guest's 12-byte iovs into the native form. */
function readCompatIovs(v: DataView, iovsGpa: number, niov: number): void {
  for (let i = 0; i < niov; i++) {
    const iov = iovsGpa + i * COMPAT_IOV.size;
    iovHandleLo[i] = v.getUint32(iov + COMPAT_IOV.iov_hnd, true);
    iovHandleHi[i] = 0;
    iovLength[i] = v.getUint32(iov + COMPAT_IOV.iov_len, true);
    iovPad[i] = v.getUint32(iov + COMPAT_IOV.pad, true);
  }
}

/** Step 12 onwards under R(L1): R(dst rings_L2), ring lookup, then L3 for the insert. */
function sendToDomain(
  host: ArgoHost,
  mem: GuestMemory,
  cd: number,
  ds: number,
  dstDomid: number,
  dstPort: number,
  srcPort: number,
  niov: number,
  messageType: number,
): number {
  const { tables } = host;
  const l2 = tables.domainBase(ds) + A.RINGS_L2;
  readLock(tables.domains, l2, 'rings_L2');
  try {
    let rb = findRing(tables, ds, dstDomid, dstPort, cd);
    if (rb < 0) rb = findRing(tables, ds, dstDomid, dstPort, XEN_ARGO_DOMID_ANY); // §6.1 most specific first
    if (rb < 0) return -ERRNO.ECONNREFUSED; // step 12
    spinLock(tables.rings, rb + R.L3, 'ring L3');
    try {
      return insertMessage(host, mem, cd, ds, rb, srcPort, niov, messageType);
    } finally {
      spinUnlock(tables.rings, rb + R.L3);
    }
  } finally {
    readUnlock(tables.domains, l2);
  }
}

/** argo.c `iov_count` then `ringbuf_insert` (argo.md §4.3 steps 13–20, §5.4). Holds L3. */
function insertMessage(
  host: ArgoHost,
  mem: GuestMemory,
  cd: number,
  ds: number,
  rb: number,
  srcPort: number,
  niov: number,
  messageType: number,
): number {
  let total = 0;
  for (let i = 0; i < niov; i++) {
    if (iovPad[i] !== 0) return -ERRNO.EINVAL; // step 13
    if (iovLength[i] > MAX_ARGO_MESSAGE_SIZE) return -ERRNO.EINVAL; // step 14
    total += iovLength[i];
    if (total > MAX_ARGO_MESSAGE_SIZE) return -ERRNO.EMSGSIZE; // step 15
  }
  const { tables } = host;
  const rings = tables.rings;
  const len = rings[rb + R.LEN];
  const slots = roundupMessage(total);
  if (len <= ARGO_MSG_HEADER_BYTES + slots) return -ERRNO.EMSGSIZE; // step 16: can never fit
  const ring = memoryOf(host, ds);
  if (slots + ARGO_MSG_HEADER_BYTES >= freeSpace(tables, ring, rb)) {
    const queued = pendingRequeue(rings, rb, cd, host.bugs.pendingLengthZero ? 0 : total); // step 18 (before Xen 8966a3e9ab: 0)
    if (queued !== 0) return queued;
    return host.bugs.sendvReturnsZeroWhenQueued ? 0 : -ERRNO.EAGAIN; // before Xen 480800c769: 0
  }
  let tx = rings[rb + R.TX];
  writeMessageHeader(ring, ringGpa(tables, rb, 64 + tx), total + ARGO_MSG_HEADER_BYTES, srcPort, cd, messageType); // §5.4 step 1
  tx += ARGO_MSG_HEADER_BYTES;
  if (tx === len) tx = 0;
  for (let i = 0; i < niov; i++) {
    const count = iovLength[i];
    if (count === 0) continue; // zero-length iovs are skipped
    const from = iovHandleLo[i];
    if (iovHandleHi[i] !== 0 || !guestOk(mem, from, count)) return -ERRNO.EFAULT; // step 19: nothing published
    const first = len - tx;
    if (count > first) {
      copyToRing(tables, ring, rb, tx, mem, from, first); // §5.4 step 2: wrap
      copyToRing(tables, ring, rb, 0, mem, from + first, count - first);
      tx = count - first;
    } else {
      copyToRing(tables, ring, rb, tx, mem, from, count);
      tx += count;
    }
    if (tx === len) tx = 0;
  }
  tx = roundupMessage(tx); // step 3
  if (tx >= len) tx -= len;
  rings[rb + R.TX] = tx; // step 4: publish
  storeTxPtr(tables, ring, rb, tx);
  return total;
}
