import { FRESH_SHARED_BUFFERS, type SharedBufferSource } from '../memory/shared-buffers.js';
import { DOMID_FIRST_RESERVED } from '../xen/domid.js';

/** Domain life states as Xen sees them: a dying domain still resolves by id; a free slot does not. */
export const DOMAIN_FREE = 0;
export const DOMAIN_ALIVE = 1;
export const DOMAIN_DYING = 2;

/**
 * Field indices of one domain slot (Int32 words). The one place this layout lives.
 * VIRQ_BOUND / VIRQ_PENDING are bitmasks over VIRQ numbers (< 24) — the pending bits of global VIRQs
 * in VIRQ_PENDING_GLOBAL instead (see there); EVTCHN_PENDING and EVTCHN_PORT
 * the interdomain channels' pending bits and port words (`EventChannels`): the event-channel state.
 */
export const D = {
  STATE: 0,
  DOMID: 1,
  CONTROL: 2,
  SID: 3,
  VCPUS: 4,
  MEMORY_PAGES: 5,
  PAUSE_COUNT: 6,
  SHUTDOWN_CODE: 7,
  LOG_DIRTY: 8,
  VIRQ_BOUND: 9,
  VIRQ_PENDING: 10,
  GENERATION: 11,
  /** 1 for a 32-bit ("compat") guest: its guest handles are 4 bytes wide. */
  COMPAT: 12,
  /** The domain's lifecycle lock (Xen's `shutdown_lock`), a spinlock word. */
  LOCK: 13,
  /** Toolstack pause references (`controller_pause_count`): starts at 1, capped at 255. */
  CONTROLLER_PAUSE: 14,
  CREATION_FINISHED: 15,
  /** SHUTDOWN_NONE / SHUTDOWN_IN_PROGRESS / SHUTDOWN_COMPLETE. */
  SHUTDOWN_STATE: 16,
  /** Per-vCPU bitmasks over up to 128 vCPUs (4 words each). */
  VCPU_PAUSED_FOR_SHUTDOWN: 17,
  VCPU_DEFER_SHUTDOWN: 21,
  /** Interdomain event channels: pending bits of ports 0–31 (`EventChannels`, port 0 reserved). */
  EVTCHN_PENDING: 25,
  /** One word per port 0–31: free (0), or its state, remote port and remote domid (`EventChannels`). */
  EVTCHN_PORT: 26,
  /** HVM_PARAM_STORE_PFN + 1 (0: not set yet): the guest's xenstore page. */
  HVM_STORE_PFN: 58,
  /** HVM_PARAM_STORE_EVTCHN (0: none): the guest's port to xenstored. */
  HVM_STORE_EVTCHN: 59,
  /**
   * The pending bits of the domain's global VIRQs (VIRQ_DOM_EXC …), apart from its per-vCPU and
   * per-domain ones (VIRQ_ARGO …) in VIRQ_PENDING: a raise wakes the threads waiting on the word of
   * its bit, and the toolstack's wait on the control domain's VIRQ_DOM_EXC (the main thread) is not
   * woken by every VIRQ_ARGO of that domain's kernel (a worker), nor that kernel by it.
   */
  VIRQ_PENDING_GLOBAL: 60,
  STRIDE: 61,
} as const;

/** vCPUs a domain may have: the per-vCPU bitmasks hold 4 × 32 bits. */
export const VCPUS_MAX = 128;

/** Default number of domain slots; Xen's own bound is the domid space (0x7FF0). */
export const MAX_DOMAINS_DEFAULT = 256;

/** The SharedArrayBuffers of a domain table, to hand to another thread. */
export interface DomainTableBuffers {
  index: SharedArrayBuffer;
  slots: SharedArrayBuffer;
}

/**
 * The hypervisor's domain table on SharedArrayBuffers: a domid → slot index over the whole
 * domid space and a fixed number of slots. Any thread holding the buffers sees the same domains.
 *
 * @example
 * ```ts
 * const table = new DomainTable(64);
 * const slot = table.claim(1);  // fill the slot, then
 * table.publish(slot);
 * table.slotOf(1) === slot; // true
 * ```
 */
export class DomainTable {
  /** domid → slot + 1 (0: no domain). */
  readonly index: Int32Array;
  readonly slots: Int32Array;
  readonly capacity: number;

  /** `source`: where a new table's buffers come from (default: fresh ones). */
  constructor(capacityOrBuffers: number | DomainTableBuffers, source: SharedBufferSource = FRESH_SHARED_BUFFERS) {
    const buffers =
      typeof capacityOrBuffers === 'number'
        ? {
            index: source.take(DOMID_FIRST_RESERVED * 4),
            slots: source.take(capacityOrBuffers * D.STRIDE * 4),
          }
        : capacityOrBuffers;
    this.index = new Int32Array(buffers.index);
    this.slots = new Int32Array(buffers.slots);
    this.capacity = this.slots.length / D.STRIDE;
  }

  get buffers(): DomainTableBuffers {
    return { index: this.index.buffer as SharedArrayBuffer, slots: this.slots.buffer as SharedArrayBuffer };
  }

  /** The slot of a domain that resolves by id (alive or dying), or -1. */
  slotOf(domid: number): number {
    if (!(domid >= 0 && domid < DOMID_FIRST_RESERVED) || (domid | 0) !== domid) return -1;
    return Atomics.load(this.index, domid) - 1;
  }

  /** Word index of `field` in `slot`. */
  at(slot: number, field: number): number {
    return slot * D.STRIDE + field;
  }

  get(slot: number, field: number): number {
    return Atomics.load(this.slots, slot * D.STRIDE + field);
  }

  set(slot: number, field: number, value: number): void {
    Atomics.store(this.slots, slot * D.STRIDE + field, value);
  }

  /**
   * Claims a free slot for `domid` without publishing the id: the caller fills the slot, then calls
   * `publish`, so no other thread ever resolves a half-built domain. Throws when the table is full.
   */
  claim(domid: number): number {
    for (let slot = 0; slot < this.capacity; slot++) {
      const state = slot * D.STRIDE + D.STATE;
      if (Atomics.compareExchange(this.slots, state, DOMAIN_FREE, DOMAIN_ALIVE) !== DOMAIN_FREE) continue;
      const base = slot * D.STRIDE;
      const generation = this.slots[base + D.GENERATION] + 1;
      this.slots.fill(0, base + 1, base + D.STRIDE);
      this.slots[base + D.DOMID] = domid;
      this.slots[base + D.GENERATION] = generation;
      this.slots[base + D.SHUTDOWN_CODE] = -1;
      return slot;
    }
    throw new RangeError(`domain table full: all ${this.capacity} slots in use (raise maxDomains)`);
  }

  /** Makes a claimed slot resolve by its domid. */
  publish(slot: number): void {
    const domid = this.get(slot, D.DOMID);
    if (Atomics.compareExchange(this.index, domid, 0, slot + 1) !== 0) {
      throw new Error(`domain table: domid ${domid} is already published`);
    }
  }

  /**
   * True while `slot` still holds the domain `domid` of `generation`: a lookup made before a lock was
   * taken is still about the same domain (Xen pins it with an RCU reference instead).
   */
  holds(slot: number, domid: number, generation: number): boolean {
    return (
      this.get(slot, D.STATE) !== DOMAIN_FREE && this.get(slot, D.DOMID) === domid && this.get(slot, D.GENERATION) === generation
    );
  }

  /**
   * A number naming the domain that holds `domid` now — its slot and that slot's generation, so a
   * later domain given the same domid has another — or -1 when no domain resolves by it. Always
   * positive for a domain (a claimed slot's generation is 1 or more).
   *
   * @example
   * ```ts
   * const meant = table.identityOf(2); // … the domain is destroyed, and another made with domid 2:
   * table.identityOf(2) !== meant;     // true
   * ```
   */
  identityOf(domid: number): number {
    const slot = this.slotOf(domid);
    return slot < 0 ? -1 : slot * 0x1_0000 + (this.get(slot, D.GENERATION) & 0xffff);
  }

  /** Unpublishes the id and frees the slot (the domain is reaped). */
  release(slot: number): void {
    const domid = this.get(slot, D.DOMID);
    if (Atomics.compareExchange(this.index, domid, slot + 1, 0) !== slot + 1) {
      throw new Error(`domain table: domid ${domid} does not map to slot ${slot}`);
    }
    this.set(slot, D.STATE, DOMAIN_FREE);
  }

  /** Domids of every domain that resolves, in id order. */
  domids(): number[] {
    const out: number[] = [];
    for (let slot = 0; slot < this.capacity; slot++) {
      if (this.get(slot, D.STATE) !== DOMAIN_FREE) out.push(this.get(slot, D.DOMID));
    }
    return out.sort((a, b) => a - b);
  }
}
