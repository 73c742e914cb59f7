import { ARGO_HASHTABLE_SIZE, MAX_RINGS_PER_DOMAIN } from './constants.js';
import { A, R, type ArgoTables } from './tables.js';

/**
 * A domain's ring table: 128 ring slots chained from 32 hash buckets (argo.c `hash_index`, djb2
 * over the aport, domid and partner bytes). Readers hold R(rings_L2); writers W(rings_L2).
 *
 * @example
 * ```ts
 * const rb = findRing(tables, slot, domid, aport, partner); // word index of the ring, or -1
 * ```
 */

/** Bucket of a ring id: djb2 over aport (4 bytes), owner domid (2), partner (2). */
export function ringHashIndex(aport: number, domid: number, partner: number): number {
  let hash = 5381;
  hash = (Math.imul(hash, 33) + (aport & 0xff)) | 0;
  hash = (Math.imul(hash, 33) + ((aport >>> 8) & 0xff)) | 0;
  hash = (Math.imul(hash, 33) + ((aport >>> 16) & 0xff)) | 0;
  hash = (Math.imul(hash, 33) + ((aport >>> 24) & 0xff)) | 0;
  hash = (Math.imul(hash, 33) + (domid & 0xff)) | 0;
  hash = (Math.imul(hash, 33) + ((domid >>> 8) & 0xff)) | 0;
  hash = (Math.imul(hash, 33) + (partner & 0xff)) | 0;
  hash = (Math.imul(hash, 33) + ((partner >>> 8) & 0xff)) | 0;
  return hash & (ARGO_HASHTABLE_SIZE - 1);
}

/** Word index of ring (owner, aport, partner) in the owner's table, or -1 (exact match). */
export function findRing(tables: ArgoTables, slot: number, domid: number, aport: number, partner: number): number {
  const rings = tables.rings;
  let link = tables.domains[tables.domainBase(slot) + A.BUCKETS + ringHashIndex(aport, domid, partner)];
  while (link !== 0) {
    const rb = tables.ringBase(slot, link - 1);
    if (rings[rb + R.APORT] === (aport | 0) && rings[rb + R.PARTNER] === partner) return rb;
    link = rings[rb + R.NEXT];
  }
  return -1;
}

/** Claims a free ring slot, chains it and sets its id; returns its word index. */
export function insertRing(tables: ArgoTables, slot: number, domid: number, aport: number, partner: number): number {
  const rings = tables.rings;
  for (let i = 0; i < MAX_RINGS_PER_DOMAIN; i++) {
    const rb = tables.ringBase(slot, i);
    if (rings[rb + R.IN_USE] !== 0) continue;
    rings.fill(0, rb, rb + R.STRIDE);
    rings[rb + R.IN_USE] = 1;
    rings[rb + R.APORT] = aport | 0;
    rings[rb + R.PARTNER] = partner;
    rings[rb + R.CONTIG_GPA] = -1;
    const bucket = tables.domainBase(slot) + A.BUCKETS + ringHashIndex(aport, domid, partner);
    rings[rb + R.NEXT] = tables.domains[bucket];
    tables.domains[bucket] = i + 1;
    return rb;
  }
  throw new Error(`ring table of domain ${domid} has no free slot although ring_count < ${MAX_RINGS_PER_DOMAIN}`);
}

/** Unchains and frees the ring at `rb` (the caller has released its pages and waiters). */
export function unlinkRing(tables: ArgoTables, slot: number, domid: number, rb: number): void {
  const rings = tables.rings;
  const index = rb / R.STRIDE - slot * MAX_RINGS_PER_DOMAIN;
  const bucket =
    tables.domainBase(slot) + A.BUCKETS + ringHashIndex(rings[rb + R.APORT], domid, rings[rb + R.PARTNER]);
  if (tables.domains[bucket] === index + 1) {
    tables.domains[bucket] = rings[rb + R.NEXT];
  } else {
    let prev = tables.ringBase(slot, tables.domains[bucket] - 1);
    while (rings[prev + R.NEXT] !== index + 1) {
      if (rings[prev + R.NEXT] === 0) throw new Error(`ring ${index} of domain ${domid} missing from its hash chain`);
      prev = tables.ringBase(slot, rings[prev + R.NEXT] - 1);
    }
    rings[prev + R.NEXT] = rings[rb + R.NEXT];
  }
  rings[rb + R.IN_USE] = 0;
  rings[rb + R.NEXT] = 0;
}

/** Word indices of every registered ring of a domain slot, in slot order. */
export function ringsOf(tables: ArgoTables, slot: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < MAX_RINGS_PER_DOMAIN; i++) {
    const rb = tables.ringBase(slot, i);
    if (tables.rings[rb + R.IN_USE] !== 0) out.push(rb);
  }
  return out;
}
