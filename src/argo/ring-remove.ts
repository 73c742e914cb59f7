import { arenaFree } from './gfn-arena.js';
import type { ArgoHost } from './host.js';
import { pendingRemoveAll } from './pending.js';
import { unlinkRing } from './ring-table.js';
import { R } from './tables.js';

/**
 * argo.c `ring_remove_info`: drop the ring's waiters without signalling them, release its page
 * mapping and unlink it from the owner's table. The ring count and send-info are the caller's
 * business (they differ between unregister, teardown and the Q3 quirk). Caller holds W(rings_L2).
 *
 * @example
 * ```ts
 * removeRing(host, ownerSlot, ownerDomid, rb);
 * ```
 */
export function removeRing(host: ArgoHost, slot: number, domid: number, rb: number): void {
  const rings = host.tables.rings;
  pendingRemoveAll(rings, rb);
  releaseRingPages(host, rb);
  unlinkRing(host.tables, slot, domid, rb);
}

/** Drops a ring's page mapping (`ring_remove_mfns`), leaving it registered with no pages. */
export function releaseRingPages(host: ArgoHost, rb: number): void {
  const rings = host.tables.rings;
  const npage = rings[rb + R.NPAGE];
  if (npage > 0) arenaFree(host.tables, rings[rb + R.PAGES_AT], npage);
  rings[rb + R.NPAGE] = 0;
  rings[rb + R.PAGES_AT] = 0;
  rings[rb + R.CONTIG_GPA] = -1;
}
