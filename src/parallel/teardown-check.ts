import { MAX_RINGS_PER_DOMAIN } from '../argo/constants.js';
import { A, G, R, S, SEND_INFO_FREE } from '../argo/tables.js';
import type { Hypervisor } from '../xen/hypervisor.js';
import { brlockHolders } from '../sync/brlock.js';

/**
 * What is left of Argo's shared state once every domain has been destroyed: each entry is a
 * violation of argo.md §8.2 (teardown removes every ring, waiter and send-info record; the gfn arena
 * is returned; no lock is held). Empty when all is clean.
 *
 * @example
 * ```ts
 * for (const d of hv.domainList()) hv.destroyDomain(d.domid);
 * leftoverArgoState(hv); // []
 * ```
 */
export function leftoverArgoState(hv: Hypervisor): string[] {
  const t = hv.argoTables;
  const out: string[] = [];
  if (hv.domainTable.domids().length > 0) out.push(`after destroying every domain, domains ${hv.domainTable.domids().join(', ')} still resolve`);
  const l1 = brlockHolders(t.global, G.L1);
  if (l1 !== null) out.push(`L1 is still held (${l1})`);
  for (let slot = 0; slot < t.maxDomains; slot++) {
    const base = t.domainBase(slot);
    if (t.domains[base + A.HAS_ARGO] !== 0) out.push(`domain slot ${slot} still has Argo state`);
    if (t.domains[base + A.RING_COUNT] !== 0) out.push(`domain slot ${slot} ring_count ${t.domains[base + A.RING_COUNT]}`);
    for (let i = 0; i < MAX_RINGS_PER_DOMAIN; i++) {
      const rb = t.ringBase(slot, i);
      if (t.rings[rb + R.IN_USE] !== 0) out.push(`ring (slot ${slot}, aport ${t.rings[rb + R.APORT]}) still registered with ${t.rings[rb + R.NWAITERS]} waiter(s)`);
      else if (t.rings[rb + R.NWAITERS] !== 0) out.push(`a free ring slot (domain slot ${slot}, #${i}) still lists ${t.rings[rb + R.NWAITERS]} waiter(s)`);
      if (t.rings[rb + R.L3] !== 0) out.push(`ring L3 (domain slot ${slot}, #${i}) is still held`);
    }
  }
  let sendInfo = 0;
  for (let at = 0; at < t.sendInfo.length; at += S.STRIDE) if (t.sendInfo[at + S.STATE] !== SEND_INFO_FREE) sendInfo++;
  if (sendInfo > 0) out.push(`${sendInfo} send-info record(s) not freed`);
  const pages = t.arenaUsed.reduce((n, u) => n + (u !== 0 ? 1 : 0), 0);
  if (pages > 0) out.push(`${pages} gfn arena page(s) still mapped`);
  return out;
}
