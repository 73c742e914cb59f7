import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { A, G, S, SEND_INFO_FREE, SEND_INFO_RESERVED, SEND_INFO_USED, type ArgoTables } from './tables.js';

/**
 * Send-info records (`struct argo_send_info`): one on the *partner's* chain for every unicast ring
 * registered with it, so the ring can be torn down when the partner dies (argo.md §4.1, §8.2).
 * Xen allocates a record before taking L1 and links it on success; here a record is taken from a
 * shared pool (reserved), then linked on the partner's chain under its send_L2, or given back.
 * Records are named by pool index; chain links and list heads hold index + 1 (0 ends a chain).
 *
 * @example
 * ```ts
 * const rec = sendInfoReserve(tables);      // -1: allocation failure (ENOMEM)
 * sendInfoCommit(tables, partnerSlot, rec, ownerDomid, aport);   // caller holds partner send_L2
 * ```
 */
export function sendInfoReserve(tables: ArgoTables): number {
  const g = tables.global;
  spinLock(g, G.SEND_POOL_LOCK, 'send-info pool');
  try {
    const head = g[G.SEND_FREE_HEAD];
    if (head === 0) return -1;
    const rec = head - 1;
    const at = tables.sendInfoBase(rec);
    g[G.SEND_FREE_HEAD] = tables.sendInfo[at + S.NEXT];
    tables.sendInfo[at + S.STATE] = SEND_INFO_RESERVED;
    tables.sendInfo[at + S.NEXT] = 0;
    return rec;
  } finally {
    spinUnlock(g, G.SEND_POOL_LOCK);
  }
}

/** Fills a reserved record and links it at the head of the partner's chain (caller holds send_L2). */
export function sendInfoCommit(tables: ArgoTables, partnerSlot: number, rec: number, owner: number, aport: number): void {
  const info = tables.sendInfo;
  const at = tables.sendInfoBase(rec);
  if (info[at + S.STATE] !== SEND_INFO_RESERVED) throw new Error(`send-info ${rec} committed in state ${info[at + S.STATE]}`);
  const head = tables.domainBase(partnerSlot) + A.SEND_HEAD;
  info[at + S.OWNER] = owner;
  info[at + S.APORT] = aport | 0;
  info[at + S.NEXT] = tables.domains[head];
  info[at + S.STATE] = SEND_INFO_USED;
  tables.domains[head] = rec + 1;
}

/** Returns a reserved or unlinked record to the pool. */
export function sendInfoRelease(tables: ArgoTables, rec: number): void {
  const g = tables.global;
  const at = tables.sendInfoBase(rec);
  if (tables.sendInfo[at + S.STATE] === SEND_INFO_FREE) throw new Error(`send-info ${rec} released twice`);
  spinLock(g, G.SEND_POOL_LOCK, 'send-info pool');
  try {
    tables.sendInfo[at + S.STATE] = SEND_INFO_FREE;
    tables.sendInfo[at + S.NEXT] = g[G.SEND_FREE_HEAD];
    g[G.SEND_FREE_HEAD] = rec + 1;
  } finally {
    spinUnlock(g, G.SEND_POOL_LOCK);
  }
}

/** Unlinks and frees one record (owner, aport) from the partner's chain (argo.md §4.2); false if none. */
export function sendInfoRemoveOne(tables: ArgoTables, partnerSlot: number, owner: number, aport: number): boolean {
  const info = tables.sendInfo;
  const head = tables.domainBase(partnerSlot) + A.SEND_HEAD;
  let prevLink = -1; // word holding the link to `link`: -1 means the chain head
  for (let link = tables.domains[head]; link !== 0; ) {
    const at = tables.sendInfoBase(link - 1);
    const next = info[at + S.NEXT];
    if (info[at + S.OWNER] === owner && info[at + S.APORT] === (aport | 0)) {
      if (prevLink < 0) tables.domains[head] = next;
      else info[prevLink] = next;
      sendInfoRelease(tables, link - 1);
      return true;
    }
    prevLink = at + S.NEXT;
    link = next;
  }
  return false;
}

/** Every record on a domain's chain as (owner, aport), unlinking and freeing them (teardown, W(L1)). */
export function sendInfoDrain(tables: ArgoTables, slot: number): Array<{ owner: number; aport: number }> {
  const out = sendInfoList(tables, slot);
  const head = tables.domainBase(slot) + A.SEND_HEAD;
  for (let link = tables.domains[head]; link !== 0; ) {
    const next = tables.sendInfo[tables.sendInfoBase(link - 1) + S.NEXT];
    sendInfoRelease(tables, link - 1);
    link = next;
  }
  tables.domains[head] = 0;
  return out;
}

/** The records on a domain's chain, newest first, without removing them. */
export function sendInfoList(tables: ArgoTables, slot: number): Array<{ owner: number; aport: number }> {
  const info = tables.sendInfo;
  const out: Array<{ owner: number; aport: number }> = [];
  for (let link = tables.domains[tables.domainBase(slot) + A.SEND_HEAD]; link !== 0; ) {
    const at = tables.sendInfoBase(link - 1);
    out.push({ owner: info[at + S.OWNER], aport: info[at + S.APORT] >>> 0 });
    link = info[at + S.NEXT];
  }
  return out;
}
