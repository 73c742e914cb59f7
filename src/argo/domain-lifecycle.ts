import { XEN_ARGO_DOMID_ANY } from './constants.js';
import { hasArgo, type ArgoHost } from './host.js';
import { pendingCancel } from './pending.js';
import { removeRing } from './ring-remove.js';
import { findRing, ringsOf } from './ring-table.js';
import { sendInfoDrain } from './send-info.js';
import { A, G, R } from './tables.js';
import { brWriteLock, brWriteUnlock } from '../sync/brlock.js';

/**
 * Runs `fn` under W(L1): globally exclusive, which implies every lower lock (argo.md §8.6). Domain
 * creation publishes and reaping retires a domain slot inside it, so an operation holding R(L1)
 * never sees a slot change owner under it.
 *
 * @example
 * ```ts
 * underArgoExclusive(host, () => domains.release(slot));
 * ```
 */
export function underArgoExclusive<T>(host: ArgoHost, fn: () => T): T {
  const { tables } = host;
  brWriteLock(tables.global, G.L1, 'L1');
  try {
    return fn();
  } finally {
    brWriteUnlock(tables.global, G.L1);
  }
}

/**
 * argo.c `argo_init` (argo.md §8.1), caller holds W(L1): a fresh domain slot gets empty Argo state
 * if Argo is built and on and XSM `enable` allows; otherwise it has none (not an error).
 */
export function argoInitLocked(host: ArgoHost, slot: number): void {
  const base = host.tables.domainBase(slot);
  host.tables.domains.fill(0, base, base + A.STRIDE);
  const on = host.options.built && host.options.enabled && host.xsm.argoEnable(slot) === 0;
  Atomics.store(host.tables.domains, base + A.HAS_ARGO, on ? 1 : 0);
}

/**
 * argo.c `argo_destroy` / `argo_soft_reset` (argo.md §8.2, §8.3), caller holds W(L1). Idempotent.
 * Nobody is signalled. With `reinit` (soft reset) the domain gets fresh, empty Argo state again if
 * Argo is on and XSM still allows `enable`.
 *
 * @example
 * ```ts
 * underArgoExclusive(host, () => argoTeardownLocked(host, slot, domid, false)); // the domain is dying
 * ```
 */
export function argoTeardownLocked(host: ArgoHost, slot: number, domid: number, reinit: boolean): void {
  const { tables } = host;
  if (!hasArgo(host, slot)) return;
  removeOwnRings(host, slot, domid); // step 1
  removePartnerRings(host, slot, domid); // step 2
  removeWildcardWaits(host, slot, domid); // step 3
  const base = tables.domainBase(slot);
  tables.domains.fill(0, base + A.BUCKETS, base + A.STRIDE);
  tables.domains[base + A.RING_COUNT] = 0;
  const keep = reinit && host.options.enabled && host.xsm.argoEnable(slot) === 0;
  Atomics.store(tables.domains, base + A.HAS_ARGO, keep ? 1 : 0); // step 4: d->argo freed or re-initialised
}

/** Step 1: every ring the domain owns goes, its waiters dropped unsignalled; ring_count = 0. */
function removeOwnRings(host: ArgoHost, slot: number, domid: number): void {
  for (const rb of ringsOf(host.tables, slot)) removeRing(host, slot, domid, rb);
  host.tables.domains[host.tables.domainBase(slot) + A.RING_COUNT] = 0;
}

/** Step 2: rings others registered with this domain as their single partner go too. */
function removePartnerRings(host: ArgoHost, slot: number, domid: number): void {
  const { tables } = host;
  for (const { owner, aport } of sendInfoDrain(tables, slot)) {
    const os = host.domains.slotOf(owner);
    if (os < 0 || !hasArgo(host, os)) continue; // owner gone: the record is just freed
    const rb = findRing(tables, os, owner, aport, domid);
    if (rb < 0) continue; // a stale duplicate (Q2) or an already-removed ring (Q3)
    removeRing(host, os, owner, rb);
    tables.domains[tables.domainBase(os) + A.RING_COUNT] -= 1;
  }
}

/** Step 3: this domain's space-waits on other domains' wildcard rings are withdrawn. */
function removeWildcardWaits(host: ArgoHost, slot: number, domid: number): void {
  const { tables } = host;
  for (let other = 0; other < tables.maxDomains; other++) {
    if (other === slot || !hasArgo(host, other)) continue;
    for (const rb of ringsOf(tables, other)) {
      if (tables.rings[rb + R.PARTNER] === XEN_ARGO_DOMID_ANY) pendingCancel(tables.rings, rb, domid);
    }
  }
}
