import type { GuestMemory } from '../memory/guest-memory.js';
import type { PageAllocator } from '../memory/page-allocator.js';
import {
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_USED_F_NO_NOTIFY,
  isValidQueueSize,
} from './constants.js';
import { VIRTQ_AVAIL, VIRTQ_DESC, VIRTQ_USED, VIRTQ_USED_ELEM, availEventOffset, usedEventOffset, type VringAddresses } from './layout.js';
import { directStores, type RingStores } from './ring-stores.js';
import { ringSlot, u16, u16Distance, vringNeedEvent } from './ring-index.js';

/** One buffer the driver exposes: `len` bytes at guest-physical `gpa`. */
export interface DriverBuffer {
  readonly gpa: number;
  readonly len: number;
}

/** A buffer the device has used: the driver's token for it, its head and the bytes written (§2.5). */
export interface UsedBuffer<T> {
  readonly token: T;
  readonly head: number;
  readonly len: number;
}

/** What `add` did: the head of the new chain, or why nothing was added. */
export type AddResult = { ok: true; head: number } | { ok: false; reason: 'ENOSPC' | 'BROKEN' };

/**
 * Options of a driver-side queue. `eventIdx` and `indirect` are the negotiated VIRTIO_F_EVENT_IDX and
 * VIRTIO_F_INDIRECT_DESC; `notify` is the transport's available-buffer notification.
 */
export interface DriverQueueOptions {
  eventIdx?: boolean;
  /** Needs `pages`: one indirect table per head is allocated up front. */
  indirect?: boolean;
  pages?: PageAllocator;
  /** Descriptors per indirect table (default 32); longer chains go direct. */
  indirectMax?: number;
  /** How stores reach memory (default: at once, in order). */
  stores?: RingStores;
  /** False switches every barrier off (§7 cases 12 and 13: the broken driver). Default true. */
  barriers?: boolean;
  notify?: () => void;
  /**
   * Start both free-running indices here instead of 0: the state of a queue that has already
   * carried this many buffers and got all of them back (used to test the 16-bit wrap quickly).
   */
  initialIndex?: number;
}

/** Linux forces a kick when this many buffers were added without one (§2.7, case 5). */
export const NUM_ADDED_KICK = 0xffff;

/**
 * The driver side of a split virtqueue (virtio-ioreq-lifecycle.md §2.8), after Linux's
 * `virtio_ring.c`: a free list of descriptors, chains of readable then writable buffers (directly or
 * through an indirect table), avail.idx published after a write barrier, the kick decision with and
 * without EVENT_IDX, harvesting used buffers with the checks that mark a queue *broken* (§2.5 SIM),
 * and callbacks disabled and re-enabled with the re-check after a barrier.
 *
 * @example
 * ```ts
 * const q = new DriverQueue(mem, ring, { notify: () => device.notify(0) });
 * q.add([{ gpa: hdr, len: 16 }], [{ gpa: data, len: 512 }, { gpa: status, len: 1 }], 'req-1');
 * q.kick();                 // notifies unless the device suppressed it
 * const done = q.getBuf();  // { token: 'req-1', head, len } once the device used it
 * ```
 */
export class DriverQueue<T = unknown> {
  readonly qsz: number;
  /** Set when the device returned something impossible; every later operation fails (§2.5 SIM). */
  brokenReason: string | null = null;
  /** Available-buffer notifications sent. */
  kicks = 0;
  private readonly stores: RingStores;
  private readonly barriers: boolean;
  private readonly eventIdx: boolean;
  private readonly nextFree: Uint16Array;
  private readonly chains: (number[] | null)[];
  private readonly tokens: (T | undefined)[];
  private readonly writableBytes: Float64Array;
  private readonly indirectBase: number;
  private readonly indirectMax: number;
  private freeHead = 0;
  private numFree: number;
  private numAdded = 0;
  private availIdxShadow: number;
  private availFlagsShadow = 0;
  private lastUsedIdx: number;

  constructor(
    private readonly memory: GuestMemory,
    readonly ring: VringAddresses,
    private readonly options: DriverQueueOptions = {},
  ) {
    if (!isValidQueueSize(ring.qsz)) throw new RangeError(`virtqueue size ${ring.qsz} is not a power of 2 in [1, 32768] (§2.1)`);
    this.qsz = ring.qsz;
    this.stores = options.stores ?? directStores(memory);
    this.barriers = options.barriers ?? true;
    this.eventIdx = options.eventIdx ?? false;
    this.numFree = this.qsz;
    this.nextFree = Uint16Array.from({ length: this.qsz }, (_, i) => u16(i + 1));
    this.chains = new Array<number[] | null>(this.qsz).fill(null);
    this.tokens = new Array<T | undefined>(this.qsz);
    this.writableBytes = new Float64Array(this.qsz);
    this.indirectMax = options.indirect === true ? (options.indirectMax ?? 32) : 0;
    this.indirectBase = this.indirectMax > 0 ? this.allocateIndirectTables() : 0;
    this.availIdxShadow = this.lastUsedIdx = u16(options.initialIndex ?? 0);
    this.stores.store16(ring.avail + VIRTQ_AVAIL.idx, this.availIdxShadow);
    if (this.eventIdx) this.stores.store16(ring.avail + usedEventOffset(this.qsz), this.lastUsedIdx);
    this.stores.wmb();
  }

  /** Descriptors not in any exposed chain. */
  get freeDescriptors(): number {
    return this.numFree;
  }

  /** Buffers exposed and not yet harvested. */
  get inFlight(): number {
    return this.chains.reduce((n, c) => (c === null ? n : n + 1), 0);
  }

  /** The driver's `last_used_idx` (§2.6). */
  get lastUsed(): number {
    return this.lastUsedIdx;
  }

  /**
   * Exposes one buffer: the `out` (device-readable) elements, then the `in` (device-writable) ones,
   * so a chain can never put a writable element before a readable one (§2.2, case 7). Steps 1–5 of
   * §2.8: descriptors, ring entry, write barrier, avail.idx. Forces a kick after 65535 adds (case 5).
   */
  add(out: readonly DriverBuffer[], inBufs: readonly DriverBuffer[], token: T): AddResult {
    if (this.brokenReason !== null) return { ok: false, reason: 'BROKEN' };
    const total = out.length + inBufs.length;
    if (total === 0) throw new RangeError('DriverQueue.add: a buffer is at least one element (§2.2)');
    for (const b of [...out, ...inBufs]) assertBuffer(b);
    const indirect = this.indirectMax > 0 && total > 1 && total <= this.indirectMax;
    const needed = indirect ? 1 : total;
    if (this.numFree < needed) return { ok: false, reason: 'ENOSPC' };
    const head = this.freeHead;
    const chain = indirect ? this.writeIndirect(head, out, inBufs) : this.writeDirect(out, inBufs);
    this.chains[head] = chain;
    this.tokens[head] = token;
    this.writableBytes[head] = inBufs.reduce((n, b) => n + b.len, 0);
    this.stores.store16(this.ring.avail + VIRTQ_AVAIL.ring + VIRTQ_AVAIL.entry * ringSlot(this.availIdxShadow, this.qsz), head);
    this.availIdxShadow = u16(this.availIdxShadow + 1);
    this.wmb(); // §2.8 driver step 4: the entry before the index (case 12)
    this.stores.store16(this.ring.avail + VIRTQ_AVAIL.idx, this.availIdxShadow);
    if (++this.numAdded === NUM_ADDED_KICK) this.kick(); // §2.7: keep new − old from wrapping
    return { ok: true, head };
  }

  /**
   * §2.8 driver steps 6–7: a full barrier, then whether the device wants a notification for the
   * buffers added since the last call — avail_event with EVENT_IDX, used.flags without.
   */
  kickPrepare(): boolean {
    this.mb();
    const newIdx = this.availIdxShadow;
    const oldIdx = u16(newIdx - this.numAdded);
    this.numAdded = 0;
    const { view } = this.memory;
    if (this.eventIdx) return vringNeedEvent(view.getUint16(this.ring.used + availEventOffset(this.qsz), true), newIdx, oldIdx);
    return (view.getUint16(this.ring.used + VIRTQ_USED.flags, true) & VIRTQ_USED_F_NO_NOTIFY) === 0;
  }

  /** `kickPrepare`, then the transport's notification when it is wanted. Returns whether it notified. */
  kick(): boolean {
    if (!this.kickPrepare()) return false;
    this.kicks++;
    this.options.notify?.();
    return true;
  }

  /**
   * Harvests the next used buffer, or null when there is none (or the queue is broken). An id that
   * is out of range or not an outstanding head, or a len beyond the buffer's writable bytes, breaks
   * the queue as Linux does (§2.5). With EVENT_IDX and callbacks on, used_event follows.
   */
  getBuf(): UsedBuffer<T> | null {
    if (this.brokenReason !== null) return null;
    const { view } = this.memory;
    if (view.getUint16(this.ring.used + VIRTQ_USED.idx, true) === this.lastUsedIdx) return null;
    // §2.8: read barrier after used.idx; loads are not reordered in this model.
    const elem = this.ring.used + VIRTQ_USED.ring + VIRTQ_USED_ELEM.size * ringSlot(this.lastUsedIdx, this.qsz);
    const id = view.getUint32(elem + VIRTQ_USED_ELEM.id, true);
    const len = view.getUint32(elem + VIRTQ_USED_ELEM.len, true);
    if (id >= this.qsz) return this.breakQueue(`id ${id} out of range (qsz ${this.qsz})`);
    const chain = this.chains[id];
    if (chain === null) return this.breakQueue(`id ${id} is not a head!`);
    if (len > this.writableBytes[id]) return this.breakQueue(`used len ${len} is greater than the ${this.writableBytes[id]} writable bytes of id ${id}`);
    const token = this.tokens[id] as T;
    this.detach(id, chain);
    this.lastUsedIdx = u16(this.lastUsedIdx + 1);
    if (this.eventIdx && (this.availFlagsShadow & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0) {
      this.stores.store16(this.ring.avail + usedEventOffset(this.qsz), this.lastUsedIdx);
      this.mb();
    }
    return { token, head: id, len };
  }

  /**
   * Asks the device for no used-buffer notifications (§2.7): avail.flags = NO_INTERRUPT without
   * EVENT_IDX; with it the flag stays 0 and used_event is set just behind last_used_idx, which no
   * batch can pass before 2^16 more buffers (**SIM CHOICE**: the spec gives no value; Linux writes 0).
   */
  disableCallbacks(): void {
    if ((this.availFlagsShadow & VIRTQ_AVAIL_F_NO_INTERRUPT) !== 0) return;
    this.availFlagsShadow |= VIRTQ_AVAIL_F_NO_INTERRUPT;
    if (this.eventIdx) this.stores.store16(this.ring.avail + usedEventOffset(this.qsz), u16(this.lastUsedIdx - 1));
    else this.stores.store16(this.ring.avail + VIRTQ_AVAIL.flags, this.availFlagsShadow);
  }

  /**
   * Turns used-buffer notifications back on without checking for buffers that arrived meanwhile
   * (Linux `virtqueue_enable_cb_prepare`); returns the position to hand to `poll`. Alone it is the
   * lost-wakeup bug of case 13: use `enableCallbacks`, or follow it with `poll`.
   */
  enableCallbacksPrepare(): number {
    if ((this.availFlagsShadow & VIRTQ_AVAIL_F_NO_INTERRUPT) !== 0) {
      this.availFlagsShadow &= ~VIRTQ_AVAIL_F_NO_INTERRUPT;
      if (!this.eventIdx) this.stores.store16(this.ring.avail + VIRTQ_AVAIL.flags, this.availFlagsShadow);
    }
    if (this.eventIdx) this.stores.store16(this.ring.avail + usedEventOffset(this.qsz), this.lastUsedIdx);
    return this.lastUsedIdx;
  }

  /** After a full barrier, whether used.idx has moved past `position` (§2.8 "re-check after a barrier"). */
  poll(position: number): boolean {
    this.mb();
    return this.memory.view.getUint16(this.ring.used + VIRTQ_USED.idx, true) !== u16(position);
  }

  /**
   * Re-enables callbacks and re-checks used.idx after a barrier (§2.8, case 13). True when nothing
   * arrived meanwhile, so the driver may wait for the notification; false: harvest again.
   */
  enableCallbacks(): boolean {
    return !this.poll(this.enableCallbacksPrepare());
  }

  /**
   * After a device reset, the buffers still exposed, each with its token (§1.4 device cleanup: the
   * driver reclaims them only once the device is reset). The queue is empty afterwards.
   */
  detachUnused(): T[] {
    const tokens: T[] = [];
    for (let head = 0; head < this.qsz; head++) {
      const chain = this.chains[head];
      if (chain === null) continue;
      tokens.push(this.tokens[head] as T);
      this.detach(head, chain);
    }
    return tokens;
  }

  /** How many used entries wait to be harvested: `(uint16)(used.idx − last_used_idx)` (§2.6). */
  usedPending(): number {
    return u16Distance(this.memory.view.getUint16(this.ring.used + VIRTQ_USED.idx, true), this.lastUsedIdx);
  }

  private writeDirect(out: readonly DriverBuffer[], inBufs: readonly DriverBuffer[]): number[] {
    const chain: number[] = [];
    const total = out.length + inBufs.length;
    let i = this.freeHead;
    for (let k = 0; k < total; k++) {
      const b = k < out.length ? out[k] : inBufs[k - out.length];
      this.writeDesc(this.ring.desc + VIRTQ_DESC.size * i, b.gpa, b.len, elementFlags(k, out.length, total), this.nextFree[i]);
      chain.push(i);
      i = this.nextFree[i];
    }
    this.freeHead = i;
    this.numFree -= total;
    return chain;
  }

  private writeIndirect(head: number, out: readonly DriverBuffer[], inBufs: readonly DriverBuffer[]): number[] {
    const table = this.indirectBase + head * this.indirectMax * VIRTQ_DESC.size;
    const total = out.length + inBufs.length;
    for (let k = 0; k < total; k++) {
      const b = k < out.length ? out[k] : inBufs[k - out.length];
      this.writeDesc(table + VIRTQ_DESC.size * k, b.gpa, b.len, elementFlags(k, out.length, total), k === total - 1 ? 0 : k + 1); // §2.3: index 0 first
    }
    this.writeDesc(this.ring.desc + VIRTQ_DESC.size * head, table, total * VIRTQ_DESC.size, VIRTQ_DESC_F_INDIRECT, 0);
    this.freeHead = this.nextFree[head];
    this.numFree -= 1;
    return [head];
  }

  private writeDesc(gpa: number, addr: number, len: number, flags: number, next: number): void {
    this.stores.store64(gpa + VIRTQ_DESC.addr, addr);
    this.stores.store32(gpa + VIRTQ_DESC.len, len);
    this.stores.store16(gpa + VIRTQ_DESC.flags, flags);
    this.stores.store16(gpa + VIRTQ_DESC.next, next);
  }

  /** Returns a chain's descriptors to the front of the free list. */
  private detach(head: number, chain: number[]): void {
    for (let k = chain.length - 1; k >= 0; k--) {
      this.nextFree[chain[k]] = this.freeHead;
      this.freeHead = chain[k];
    }
    this.numFree += chain.length;
    this.chains[head] = null;
    this.tokens[head] = undefined;
    if (this.numFree > this.qsz) throw new Error(`DriverQueue: ${this.numFree} free descriptors in a queue of ${this.qsz}`);
  }

  private breakQueue(reason: string): null {
    this.brokenReason = reason;
    return null;
  }

  private allocateIndirectTables(): number {
    if (this.options.pages === undefined) throw new RangeError('DriverQueue: indirect descriptors need `pages` for their tables');
    const bytes = this.qsz * this.indirectMax * VIRTQ_DESC.size;
    return this.options.pages.allocateBytes(bytes);
  }

  private wmb(): void {
    if (this.barriers) this.stores.wmb();
  }

  private mb(): void {
    if (this.barriers) this.stores.mb();
  }
}

/** Flags of element `k` of a chain: readable ones first, then WRITE (§2.2); NEXT on all but the last. */
function elementFlags(k: number, outCount: number, total: number): number {
  return (k < outCount ? 0 : VIRTQ_DESC_F_WRITE) | (k === total - 1 ? 0 : VIRTQ_DESC_F_NEXT);
}

function assertBuffer(b: DriverBuffer): void {
  if (!Number.isSafeInteger(b.gpa) || b.gpa < 0 || !Number.isInteger(b.len) || b.len < 0 || b.len > 0xffff_ffff) {
    throw new RangeError(`DriverQueue.add: buffer { gpa: ${b.gpa}, len: ${b.len} } is not a guest address and a 32-bit length`);
  }
}

/**
 * Posts a driver's free receive buffers — slot `i` is the `bufferBytes` at `base + i × bufferBytes`,
 * one device-writable descriptor, tagged with its slot — while the queue takes them (each posted
 * slot leaves `free`), then kicks once: what virtio-net's and virtio-console's receive paths do.
 * Returns how many it posted.
 *
 * @example
 * ```ts
 * postReceiveBuffers(rxQueue, freeSlots, rxBase, 2048); // 8, with eight slots free
 * ```
 */
export function postReceiveBuffers(queue: DriverQueue<number>, free: number[], base: number, bufferBytes: number): number {
  let posted = 0;
  while (free.length > 0) {
    const slot = free[free.length - 1];
    if (!queue.add([], [{ gpa: base + slot * bufferBytes, len: bufferBytes }], slot).ok) break;
    free.pop();
    posted++;
  }
  if (posted > 0) queue.kick();
  return posted;
}
