import { FRESH_SHARED_BUFFERS, type SharedBufferSource } from '../memory/shared-buffers.js';
import { ARGO_HASHTABLE_SIZE, MAX_PENDING_PER_RING, MAX_RINGS_PER_DOMAIN } from './constants.js';
import { BRLOCK_WORDS } from '../sync/brlock.js';

/**
 * Argo's hypervisor state on SharedArrayBuffers, laid out for threads (ARCHITECTURE.md principle 2):
 * fixed-size tables sized by Xen's own limits, with the lock words of argo.md §8.6 beside the state
 * they guard. This file is the one place these layouts live.
 */

/**
 * Global words: the L1 rwlock (a big-reader lock: its writer word, then a cache line per thread's
 * reader slot, `BRLOCK_WORDS` in all), the gfn arena's spinlock, the viptables lock and rule count,
 * and the send-info pool's spinlock and free-list head (record index + 1, 0 = empty).
 */
export const G = {
  L1: 0,
  ARENA_LOCK: BRLOCK_WORDS,
  VIPTABLES_LOCK: BRLOCK_WORDS + 1,
  VIPTABLES_COUNT: BRLOCK_WORDS + 2,
  SEND_POOL_LOCK: BRLOCK_WORDS + 3,
  SEND_FREE_HEAD: BRLOCK_WORDS + 4,
  STRIDE: BRLOCK_WORDS + 5,
} as const;

/** Per-domain Argo words (`struct argo_domain`): present iff HAS_ARGO. */
export const A = {
  HAS_ARGO: 0,
  RING_COUNT: 1,
  RINGS_L2: 2,
  SEND_L2: 3,
  WILDCARD_L2: 4,
  /** Head of this domain's send-info chain (record index + 1, 0 = empty), guarded by send_L2. */
  SEND_HEAD: 5,
  /** ring hash buckets: ring index + 1 of the chain head, 0 = empty. */
  BUCKETS: 6,
  STRIDE: 6 + ARGO_HASHTABLE_SIZE,
} as const;

/** Per-ring words (`struct argo_ring_info`), guarded by the ring's L3 under R(rings_L2). */
export const R = {
  IN_USE: 0,
  APORT: 1,
  PARTNER: 2,
  LEN: 3,
  /** Xen's private cached tx_ptr. */
  TX: 4,
  NPAGE: 5,
  /** First gfn of this ring in the gfn arena. */
  PAGES_AT: 6,
  /** gpa of page 0 when all pages are consecutive frames (fast copy path), else -1. */
  CONTIG_GPA: 7,
  L3: 8,
  /** Next ring index + 1 in the hash chain, 0 = end. */
  NEXT: 9,
  NWAITERS: 10,
  /** Pending space-waiters: `MAX_PENDING_PER_RING` pairs of (domid, length). */
  WAITERS: 11,
  STRIDE: 11 + 2 * MAX_PENDING_PER_RING,
} as const;

/**
 * Send-info record (`struct argo_send_info`): a shared pool; a record is free (on the pool's free
 * list), reserved by a register in flight, or linked on its partner domain's chain.
 */
export const S = { STATE: 0, OWNER: 1, APORT: 2, NEXT: 3, STRIDE: 4 } as const;
export const SEND_INFO_FREE = 0;
export const SEND_INFO_RESERVED = 1;
export const SEND_INFO_USED = 2;

/**
 * Pool records per domain slot. Every live unicast ring has one record and a domain holds at most 128
 * rings, so legitimate use needs at most `maxDomains × 128`; the second 128 is headroom for the
 * records Xen leaks (Q2 duplicates, an owner's soft reset). An empty pool is an allocation failure,
 * ENOMEM, as Xen's `xzalloc` would eventually give.
 */
export const SEND_INFO_POOL_PER_DOMAIN = 2 * MAX_RINGS_PER_DOMAIN;
/** gfn arena entries (pages of all mapped rings together); full arena is a mapping failure, ENOMEM. */
export const GFN_ARENA_PAGES_DEFAULT = 1 << 20;
/** OpenXT viptables rules (argo.md §7.3): src domid, src port, dst domid, dst port, accept. */
export const VIPTABLES_RULES_MAX = 256;
export const V = { SRC_DOMID: 0, SRC_PORT: 1, DST_DOMID: 2, DST_PORT: 3, ACCEPT: 4, STRIDE: 5 } as const;

/** The buffers behind `ArgoTables`, for another thread. */
export interface ArgoTableBuffers {
  global: SharedArrayBuffer;
  domains: SharedArrayBuffer;
  rings: SharedArrayBuffer;
  sendInfo: SharedArrayBuffer;
  arena: SharedArrayBuffer;
  arenaUsed: SharedArrayBuffer;
  viptables: SharedArrayBuffer;
}

/**
 * All Argo tables for `maxDomains` domain slots (slot numbers are the domain table's).
 *
 * @example
 * ```ts
 * const tables = new ArgoTables({ maxDomains: 16 });
 * tables.ringBase(slot, 0); // word index of ring 0 of that domain
 * ```
 */
export class ArgoTables {
  readonly global: Int32Array;
  readonly domains: Int32Array;
  readonly rings: Int32Array;
  readonly sendInfo: Int32Array;
  /** gfns of mapped ring pages. */
  readonly arena: Int32Array;
  /** 1 where an arena entry is in use. */
  readonly arenaUsed: Uint8Array;
  readonly viptables: Int32Array;
  readonly maxDomains: number;

  /** New tables (their buffers from `source`, default fresh ones), or a view of another thread's. */
  constructor(init: { maxDomains: number; gfnArenaPages?: number; source?: SharedBufferSource } | ArgoTableBuffers) {
    const fresh = !('global' in init);
    const b = 'global' in init ? init : ArgoTables.allocate(init.maxDomains, init.gfnArenaPages ?? GFN_ARENA_PAGES_DEFAULT, init.source ?? FRESH_SHARED_BUFFERS);
    this.global = new Int32Array(b.global);
    this.domains = new Int32Array(b.domains);
    this.rings = new Int32Array(b.rings);
    this.sendInfo = new Int32Array(b.sendInfo);
    this.arena = new Int32Array(b.arena);
    this.arenaUsed = new Uint8Array(b.arenaUsed);
    this.viptables = new Int32Array(b.viptables);
    this.maxDomains = this.domains.length / A.STRIDE;
    if (fresh) this.chainFreeSendInfo();
  }

  /** Threads every send-info record onto the pool's free list (a fresh pool). */
  private chainFreeSendInfo(): void {
    const records = this.sendInfo.length / S.STRIDE;
    for (let i = 0; i < records; i++) this.sendInfo[i * S.STRIDE + S.NEXT] = i + 1 < records ? i + 2 : 0;
    this.global[G.SEND_FREE_HEAD] = records > 0 ? 1 : 0;
  }

  private static allocate(maxDomains: number, arenaPages: number, source: SharedBufferSource): ArgoTableBuffers {
    const words = (n: number) => source.take(n * 4);
    return {
      global: words(G.STRIDE),
      domains: words(maxDomains * A.STRIDE),
      rings: words(maxDomains * MAX_RINGS_PER_DOMAIN * R.STRIDE),
      sendInfo: words(maxDomains * SEND_INFO_POOL_PER_DOMAIN * S.STRIDE),
      arena: words(arenaPages),
      arenaUsed: source.take(arenaPages),
      viptables: words(VIPTABLES_RULES_MAX * V.STRIDE),
    };
  }

  get buffers(): ArgoTableBuffers {
    const sab = (a: { buffer: ArrayBufferLike }) => a.buffer as SharedArrayBuffer;
    return {
      global: sab(this.global),
      domains: sab(this.domains),
      rings: sab(this.rings),
      sendInfo: sab(this.sendInfo),
      arena: sab(this.arena),
      arenaUsed: sab(this.arenaUsed),
      viptables: sab(this.viptables),
    };
  }

  /** Word index of a domain slot's Argo block. */
  domainBase(slot: number): number {
    return slot * A.STRIDE;
  }

  /** Word index of ring `ringIndex` (0..127) of a domain slot. */
  ringBase(slot: number, ringIndex: number): number {
    return (slot * MAX_RINGS_PER_DOMAIN + ringIndex) * R.STRIDE;
  }

  /** Word index of send-info pool record `i`. */
  sendInfoBase(i: number): number {
    return i * S.STRIDE;
  }
}
