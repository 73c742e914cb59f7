import {
  S,
  SEND_INFO_FREE,
  SEND_INFO_PER_DOMAIN,
  SEND_INFO_RESERVED,
  SEND_INFO_USED,
  type ArgoTables,
} from './tables.js';

/**
 * Send-info records (`struct argo_send_info`): kept in the *partner's* table for every unicast ring
 * registered with it, so the ring can be torn down when the partner dies (argo.md §4.1, §8.2).
 * Xen allocates a record before taking L1 and links it on success; here a record is reserved
 * (CAS on its state word) and later committed or released. The partner's send_L2 orders the rest.
 *
 * @example
 * ```ts
 * const rec = sendInfoReserve(tables, partnerSlot); // -1: allocation failure (ENOMEM)
 * sendInfoCommit(tables, rec, ownerDomid, aport);
 * ```
 */
export function sendInfoReserve(tables: ArgoTables, partnerSlot: number): number {
  for (let i = 0; i < SEND_INFO_PER_DOMAIN; i++) {
    const at = tables.sendInfoBase(partnerSlot, i);
    if (Atomics.compareExchange(tables.sendInfo, at + S.STATE, SEND_INFO_FREE, SEND_INFO_RESERVED) === SEND_INFO_FREE) {
      return at;
    }
  }
  return -1;
}

/** Fills and links a reserved record. */
export function sendInfoCommit(tables: ArgoTables, at: number, owner: number, aport: number): void {
  tables.sendInfo[at + S.OWNER] = owner;
  tables.sendInfo[at + S.APORT] = aport | 0;
  const was = Atomics.exchange(tables.sendInfo, at + S.STATE, SEND_INFO_USED);
  if (was !== SEND_INFO_RESERVED) throw new Error(`send-info ${at} committed in state ${was}`);
}

/** Returns a reserved record unused. */
export function sendInfoRelease(tables: ArgoTables, at: number): void {
  const was = Atomics.exchange(tables.sendInfo, at + S.STATE, SEND_INFO_FREE);
  if (was !== SEND_INFO_RESERVED) throw new Error(`send-info ${at} released in state ${was}`);
}

/** Removes one record (owner, aport) from the partner's table (argo.md §4.2); false if none. */
export function sendInfoRemoveOne(tables: ArgoTables, partnerSlot: number, owner: number, aport: number): boolean {
  const info = tables.sendInfo;
  for (let i = 0; i < SEND_INFO_PER_DOMAIN; i++) {
    const at = tables.sendInfoBase(partnerSlot, i);
    if (info[at + S.STATE] === SEND_INFO_USED && info[at + S.OWNER] === owner && info[at + S.APORT] === (aport | 0)) {
      Atomics.store(info, at + S.STATE, SEND_INFO_FREE);
      return true;
    }
  }
  return false;
}

/** Every linked record of a domain slot's send table as (owner, aport), removing them. */
export function sendInfoDrain(tables: ArgoTables, slot: number): Array<{ owner: number; aport: number }> {
  return sendInfoRecords(tables, slot, true);
}

/** Linked records of a slot's send table, without removing them (introspection). */
export function sendInfoList(tables: ArgoTables, slot: number): Array<{ owner: number; aport: number }> {
  return sendInfoRecords(tables, slot, false);
}

function sendInfoRecords(tables: ArgoTables, slot: number, take: boolean): Array<{ owner: number; aport: number }> {
  const info = tables.sendInfo;
  const out: Array<{ owner: number; aport: number }> = [];
  for (let i = 0; i < SEND_INFO_PER_DOMAIN; i++) {
    const at = tables.sendInfoBase(slot, i);
    if (info[at + S.STATE] !== SEND_INFO_USED) continue;
    out.push({ owner: info[at + S.OWNER], aport: info[at + S.APORT] >>> 0 });
    if (take) Atomics.store(info, at + S.STATE, SEND_INFO_FREE);
  }
  return out;
}
