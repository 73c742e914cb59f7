import type { GuestMemory } from '../memory/guest-memory.js';
import { readLock, readUnlock } from '../sync/rwlock.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { XEN_ARGO_DOMID_ANY } from './constants.js';
import { hasArgo, type ArgoHost } from './host.js';
import { loadRxPtr } from './ring-memory.js';
import { findRing, ringsOf } from './ring-table.js';
import { sendInfoList } from './send-info.js';
import { A, G, R, type ArgoTables } from './tables.js';
import { brReadLock, brReadUnlock } from '../sync/brlock.js';

/** One registered ring as the hypervisor sees it. */
export interface ArgoRingState {
  aport: number;
  /** Partner domid, or `XEN_ARGO_DOMID_ANY` for a wildcard ring. */
  partner: number;
  wildcard: boolean;
  len: number;
  /** Xen's cached tx_ptr. */
  tx: number;
  /** The guest's rx_ptr as it stands in the header. */
  rx: number;
  npage: number;
  gfns: number[];
  waiters: Array<{ domid: number; length: number }>;
}

/** A domain's Argo state (`struct argo_domain`), for tests, the CLI and inspection. */
export interface ArgoDomainState {
  domid: number;
  hasArgo: boolean;
  ringCount: number;
  rings: ArgoRingState[];
  /** Send-info records on this domain's chain (rings others registered with it as partner), by owner then port. */
  sendInfo: Array<{ owner: number; aport: number }>;
}

/**
 * Reads a consistent snapshot of one domain's Argo state under R(L1).
 *
 * @example
 * ```ts
 * describeArgoDomain(host, slot, domid).rings[0].waiters;
 * ```
 */
export function describeArgoDomain(host: ArgoHost, slot: number, domid: number): ArgoDomainState {
  const { tables } = host;
  const base = tables.domainBase(slot);
  brReadLock(tables.global, G.L1, 'L1');
  readLock(tables.domains, base + A.RINGS_L2, 'rings_L2');
  try {
    const mem = host.memories[slot];
    const rings = ringsOf(tables, slot).map((rb): ArgoRingState => {
      spinLock(tables.rings, rb + R.L3, 'ring L3');
      try {
        return describeRing(tables, mem, rb);
      } finally {
        spinUnlock(tables.rings, rb + R.L3);
      }
    });
    return {
      domid,
      hasArgo: hasArgo(host, slot),
      ringCount: tables.domains[base + A.RING_COUNT],
      rings,
      sendInfo: sendInfoSnapshot(tables, slot),
    };
  } finally {
    readUnlock(tables.domains, base + A.RINGS_L2);
    brReadUnlock(tables.global, G.L1);
  }
}

function describeRing(tables: ArgoTables, mem: GuestMemory | undefined, rb: number): ArgoRingState {
  const r = tables.rings;
  const npage = r[rb + R.NPAGE];
  const at = r[rb + R.PAGES_AT];
  return {
    aport: r[rb + R.APORT] >>> 0,
    partner: r[rb + R.PARTNER],
    wildcard: r[rb + R.PARTNER] === XEN_ARGO_DOMID_ANY,
    len: r[rb + R.LEN],
    tx: r[rb + R.TX],
    rx: mem && npage > 0 ? loadRxPtr(tables, mem, rb) : 0,
    npage,
    gfns: Array.from(tables.arena.subarray(at, at + npage)),
    waiters: Array.from({ length: r[rb + R.NWAITERS] }, (_, i) => ({
      domid: r[rb + R.WAITERS + 2 * i],
      length: r[rb + R.WAITERS + 2 * i + 1],
    })),
  };
}

/** The domain's send-info chain under its send_L2, by owner then port. */
function sendInfoSnapshot(tables: ArgoTables, slot: number): Array<{ owner: number; aport: number }> {
  const lock = tables.domainBase(slot) + A.SEND_L2;
  spinLock(tables.domains, lock, 'send_L2');
  try {
    return sendInfoList(tables, slot).sort((a, b) => a.owner - b.owner || a.aport - b.aport);
  } finally {
    spinUnlock(tables.domains, lock);
  }
}

/**
 * How full one ring is, cheaply (no snapshot): the bytes between rx and tx and its waiter count, or
 * undefined when the domain has no such ring. Read under R(L1), R(rings_L2) and the ring's L3.
 *
 * @example
 * ```ts
 * ringOccupancy(host, slot, domid, 80, 1); // { pendingBytes: 48, waiters: 1 }
 * ```
 */
export function ringOccupancy(
  host: ArgoHost,
  slot: number,
  domid: number,
  aport: number,
  partner: number,
): { pendingBytes: number; waiters: number } | undefined {
  const { tables } = host;
  const base = tables.domainBase(slot);
  brReadLock(tables.global, G.L1, 'L1');
  readLock(tables.domains, base + A.RINGS_L2, 'rings_L2');
  try {
    const rb = findRing(tables, slot, domid, aport, partner);
    const mem = host.memories[slot];
    if (rb < 0 || !mem) return undefined;
    spinLock(tables.rings, rb + R.L3, 'ring L3');
    try {
      const len = tables.rings[rb + R.LEN];
      const pending = tables.rings[rb + R.TX] - loadRxPtr(tables, mem, rb);
      return { pendingBytes: pending < 0 ? pending + len : pending, waiters: tables.rings[rb + R.NWAITERS] };
    } finally {
      spinUnlock(tables.rings, rb + R.L3);
    }
  } finally {
    readUnlock(tables.domains, base + A.RINGS_L2);
    brReadUnlock(tables.global, G.L1);
  }
}
