import { D } from '../domain/domain-table.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { writeLock, writeUnlock } from '../sync/rwlock.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { ERRNO } from '../xen/errno.js';
import { GFN, REGISTER_RING } from './abi.js';
import {
  ARGO_NPAGE_MAX,
  ARGO_RING_LEN_MIN,
  MAX_RINGS_PER_DOMAIN,
  XEN_ARGO_DOMID_ANY,
  XEN_ARGO_MAX_RING_SIZE,
  XEN_ARGO_REGISTER_FLAG_FAIL_EXIST,
  XEN_ARGO_REGISTER_FLAG_MASK,
  npagesRing,
} from './constants.js';
import { arenaAllocate, arenaFree } from './gfn-arena.js';
import { guestOk, hasArgo, memoryOf, type ArgoHost } from './host.js';
import { sanitisedRx } from './ring-buffer.js';
import { loadTxPtr, storeTxPtr } from './ring-memory.js';
import { releaseRingPages, removeRing } from './ring-remove.js';
import { findRing, insertRing } from './ring-table.js';
import { sendInfoCommit, sendInfoRelease, sendInfoReserve } from './send-info.js';
import { A, G, R } from './tables.js';
import { brReadLock, brReadUnlock } from '../sync/brlock.js';

interface RingRequest {
  aport: number;
  partner: number;
  len: number;
  npage: number;
  flags: number;
  gfnsGpa: number;
}

/**
 * XEN_ARGO_OP_register_ring (argo.md §4.1), with Xen's validation order. Returns 0 or -errno.
 *
 * @example
 * ```ts
 * registerRing(host, slot, domid, regGpa, gfnsGpa, npage, 0);
 * ```
 */
export function registerRing(
  host: ArgoHost,
  cs: number,
  cd: number,
  regGpa: number,
  gfnsGpa: number,
  npage: number,
  flags: number,
): number {
  const mem = memoryOf(host, cs);
  if (npage > ARGO_NPAGE_MAX) return -ERRNO.EINVAL; // §4.1 step 2
  if (!guestOk(mem, gfnsGpa, npage * GFN.size)) return -ERRNO.EFAULT; // step 3
  if ((flags & ~XEN_ARGO_REGISTER_FLAG_MASK) !== 0) return -ERRNO.EINVAL; // step 4
  if (!guestOk(mem, regGpa, REGISTER_RING.size)) return -ERRNO.EFAULT; // step 5
  const v = mem.view;
  const req: RingRequest = {
    aport: v.getUint32(regGpa + REGISTER_RING.aport, true),
    partner: v.getUint16(regGpa + REGISTER_RING.partner_id, true),
    len: v.getUint32(regGpa + REGISTER_RING.len, true),
    npage,
    flags,
    gfnsGpa,
  };
  const pad = v.getUint16(regGpa + REGISTER_RING.pad, true);
  // step 6
  if (
    req.len < ARGO_RING_LEN_MIN ||
    req.len > XEN_ARGO_MAX_RING_SIZE ||
    req.len % 16 !== 0 ||
    npagesRing(req.len) !== npage ||
    pad !== 0
  ) {
    return -ERRNO.EINVAL;
  }
  let partnerSlot = -1;
  let partnerGeneration = -1;
  let sendInfo = -1;
  if (req.partner === XEN_ARGO_DOMID_ANY) {
    if (!host.options.macPermissive) return -ERRNO.EPERM; // step 7a
    const rc = host.xsm.argoRegisterAnySource(cs); // step 7b
    if (rc !== 0) return rc;
  } else {
    partnerSlot = host.domains.slotOf(req.partner);
    if (partnerSlot < 0) return -ERRNO.ESRCH; // step 7c
    partnerGeneration = host.domains.get(partnerSlot, D.GENERATION);
    const rc = host.xsm.argoRegisterSingleSource(cs, partnerSlot); // step 7d
    if (rc !== 0) return rc;
    const firewall = host.xsm.argoFirewall?.registerSingleSource(cs, req.aport, partnerSlot) ?? 0; // step 7d, argo.md §7.4 (proposed)
    if (firewall !== 0) return firewall;
    sendInfo = sendInfoReserve(host.tables);
    if (sendInfo < 0) return -ERRNO.ENOMEM; // step 8
  }
  const g = host.tables.global;
  brReadLock(g, G.L1, 'L1');
  let result: { rc: number; sendInfoUsed: boolean };
  try {
    if (!hasArgo(host, cs)) result = { rc: -ERRNO.ENODEV, sendInfoUsed: false }; // step 9
    else if (partnerSlot >= 0 && !(host.domains.holds(partnerSlot, req.partner, partnerGeneration) && hasArgo(host, partnerSlot))) {
      result = { rc: -ERRNO.ECONNREFUSED, sendInfoUsed: false }; // step 10 (a partner reaped since the lookup has no state either)
    }
    else result = registerLocked(host, cs, cd, mem, req, partnerSlot, sendInfo);
  } finally {
    brReadUnlock(g, G.L1);
  }
  if (sendInfo >= 0 && !result.sendInfoUsed) sendInfoRelease(host.tables, sendInfo);
  return result.rc;
}

/** Steps 11–15 under R(L1) + W(caller rings_L2). */
function registerLocked(
  host: ArgoHost,
  cs: number,
  cd: number,
  mem: GuestMemory,
  req: RingRequest,
  partnerSlot: number,
  sendInfo: number,
): { rc: number; sendInfoUsed: boolean } {
  const { tables, quirks } = host;
  const dom = tables.domainBase(cs);
  writeLock(tables.domains, dom + A.RINGS_L2, 'rings_L2');
  try {
    const count = tables.domains[dom + A.RING_COUNT];
    let rb = findRing(tables, cs, cd, req.aport, req.partner);
    const isNew = rb < 0;
    // step 11 (Q1: checked before the re-registration lookup matters)
    if (count >= MAX_RINGS_PER_DOMAIN && (quirks.ringCountOnReregister || isNew)) {
      return { rc: -ERRNO.ENOSPC, sendInfoUsed: false };
    }
    if (!isNew) {
      if (req.flags & XEN_ARGO_REGISTER_FLAG_FAIL_EXIST) return { rc: -ERRNO.EEXIST, sendInfoUsed: false }; // step 12
      if (tables.rings[rb + R.LEN] !== req.len) return { rc: -ERRNO.EEXIST, sendInfoUsed: false }; // step 13
      if (quirks.failedReregisterDeletes) releaseRingPages(host, rb); // Xen drops the old mapping first
    }
    const mapped = mapGfns(host, cs, mem, req);
    if (mapped < 0) {
      // step 14: Q3 — the existing ring is deleted, its count and send-info left as they were
      if (!isNew && quirks.failedReregisterDeletes) removeRing(host, cs, cd, rb);
      return { rc: mapped, sendInfoUsed: false };
    }
    if (isNew) rb = insertRing(tables, cs, cd, req.aport, req.partner);
    else releaseRingPages(host, rb);
    installRing(host, mem, rb, req, mapped);
    if (isNew || quirks.ringCountOnReregister) tables.domains[dom + A.RING_COUNT] = count + 1;
    const linkSendInfo = partnerSlot >= 0 && (isNew || quirks.duplicateSendInfo);
    if (linkSendInfo) {
      const send = tables.domainBase(partnerSlot) + A.SEND_L2;
      spinLock(tables.domains, send, 'send_L2');
      sendInfoCommit(tables, partnerSlot, sendInfo, cd, req.aport);
      spinUnlock(tables.domains, send);
    }
    return { rc: 0, sendInfoUsed: linkSendInfo };
  } finally {
    writeUnlock(tables.domains, dom + A.RINGS_L2);
  }
}

/**
 * Reads and checks the gfn list into a new arena run (argo.c `find_ring_mfns`): the run is allocated
 * first (ENOMEM), then each gfn must be RAM of the caller (EINVAL) and the domain not in log-dirty
 * mode (EAGAIN). Returns the arena index or -errno.
 */
function mapGfns(host: ArgoHost, cs: number, mem: GuestMemory, req: RingRequest): number {
  const { tables } = host;
  const at = arenaAllocate(tables, req.npage);
  if (at < 0) return -ERRNO.ENOMEM;
  const logDirty = host.domains.get(cs, D.LOG_DIRTY) !== 0;
  for (let i = 0; i < req.npage; i++) {
    const entry = req.gfnsGpa + i * GFN.size;
    const lo = mem.view.getUint32(entry, true);
    const hi = mem.view.getUint32(entry + 4, true);
    let rc = 0;
    if (hi !== 0 || lo >= mem.pages) rc = -ERRNO.EINVAL;
    else if (logDirty) rc = -ERRNO.EAGAIN;
    if (rc !== 0) {
      arenaFree(tables, at, req.npage);
      return rc;
    }
    tables.arena[at + i] = lo;
  }
  return at;
}

/** Points the ring at its new pages and initialises tx_ptr (argo.md §4.1 "tx_ptr initialisation"). */
function installRing(host: ArgoHost, mem: GuestMemory, rb: number, req: RingRequest, at: number): void {
  const { tables } = host;
  const rings = tables.rings;
  rings[rb + R.LEN] = req.len;
  rings[rb + R.NPAGE] = req.npage;
  rings[rb + R.PAGES_AT] = at;
  let contiguous = true;
  for (let i = 1; i < req.npage && contiguous; i++) contiguous = tables.arena[at + i] === tables.arena[at] + i;
  rings[rb + R.CONTIG_GPA] = contiguous ? tables.arena[at] * 4096 : -1;
  let tx = loadTxPtr(tables, mem, rb);
  if (!(tx < req.len && tx % 16 === 0)) {
    tx = sanitisedRx(tables, mem, rb); // ROUNDUP16(rx), 0 when ≥ len
    storeTxPtr(tables, mem, rb, tx);
  }
  rings[rb + R.TX] = tx;
}
