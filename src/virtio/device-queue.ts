import type { GuestMemory } from '../memory/guest-memory.js';
import { VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_USED_F_NO_NOTIFY, isValidQueueSize } from './constants.js';
import { walkChain, type DescChain } from './desc-chain.js';
import { VIRTQ_AVAIL, VIRTQ_USED, VIRTQ_USED_ELEM, availEventOffset, usedEventOffset, type VringAddresses } from './layout.js';
import { vringFits } from './place-vring.js';
import { directStores, type RingStores } from './ring-stores.js';
import { ringSlot, u16, u16Distance, vringNeedEvent } from './ring-index.js';

/** What `pop` found: a chain, nothing new, or a ring the device must not trust any more. */
export type PopResult = { kind: 'chain'; chain: DescChain } | { kind: 'empty' } | { kind: 'malformed'; reason: string };

/** Options of a device-side queue: the negotiated EVENT_IDX and INDIRECT_DESC, and how stores publish. */
export interface DeviceQueueOptions {
  eventIdx?: boolean;
  indirect?: boolean;
  stores?: RingStores;
  /** See `DriverQueueOptions.initialIndex`; both sides must agree. */
  initialIndex?: number;
  /**
   * False drops the read barrier after the avail.idx load of `recheckAvail` — vhost's
   * `vhost_enable_notify` before Gavin Shan's 2024 fix (R18): the next `pop` trusts that cached index
   * without loading it again, so nothing orders its avail.ring load after the idx load, and a load
   * satisfied early (`speculateAvailEntry`) can hand it a stale head. Default true (the fix).
   */
  recheckReadBarrier?: boolean;
  /** An observer (a monitor; it must not act) of every avail entry `pop` takes: its index and the head read. */
  onTake?: (availIdx: number, head: number) => void;
}

/**
 * The device side of a split virtqueue (virtio-ioreq-lifecycle.md §2.6–§2.8), after QEMU's and
 * vhost's: pop available chains with every guest-controlled value bounded, push used entries with
 * len before idx, decide whether to interrupt with and without EVENT_IDX, and suppress
 * available-buffer notifications while polling. Whatever the guest wrote, `pop` answers with a
 * `malformed` result rather than throwing; the device core turns that into DEVICE_NEEDS_RESET.
 * The ring areas themselves must lie in RAM (the device core checks before the queue goes live).
 *
 * @example
 * ```ts
 * const vq = new DeviceQueue(mem, ring, { eventIdx: true });
 * for (let r = vq.pop(); r.kind === 'chain'; r = vq.pop()) vq.push(r.chain.head, serve(r.chain));
 * if (vq.needInterrupt()) raiseUsedBufferNotification();
 * ```
 */
export class DeviceQueue {
  readonly qsz: number;
  private readonly stores: RingStores;
  private readonly eventIdx: boolean;
  private readonly indirect: boolean;
  private lastAvailIdx: number;
  private usedIdx: number;
  private signalledUsed = 0;
  private signalledUsedValid = false;
  private inFlightCount = 0;
  /** vhost's `vq->avail_idx`: avail.idx as last loaded; `pop` loads it again only once it is used up. */
  private availIdxCache: number;
  /** An avail.ring load satisfied ahead of program order, not yet used or discarded by a barrier. */
  private speculated: { availIdx: number; head: number } | null = null;
  private readonly recheckReadBarrier: boolean;
  private readonly onTake: ((availIdx: number, head: number) => void) | undefined;

  constructor(
    private readonly memory: GuestMemory,
    readonly ring: VringAddresses,
    options: DeviceQueueOptions = {},
  ) {
    if (!isValidQueueSize(ring.qsz)) throw new RangeError(`virtqueue size ${ring.qsz} is not a power of 2 in [1, 32768] (§2.1)`);
    // Guest-given areas are checked by the device core first (vringFits); reaching here with bad ones is a bug.
    if (!vringFits(memory, ring)) throw new RangeError(`virtqueue areas desc 0x${ring.desc.toString(16)} avail 0x${ring.avail.toString(16)} used 0x${ring.used.toString(16)} are outside RAM or misaligned`);
    this.qsz = ring.qsz;
    this.stores = options.stores ?? directStores(memory);
    this.eventIdx = options.eventIdx ?? false;
    this.indirect = options.indirect ?? false;
    this.lastAvailIdx = this.usedIdx = this.availIdxCache = u16(options.initialIndex ?? 0);
    this.recheckReadBarrier = options.recheckReadBarrier ?? true;
    this.onTake = options.onTake;
    if (options.initialIndex !== undefined) {
      this.stores.store16(ring.used + VIRTQ_USED.idx, this.usedIdx);
      this.stores.wmb();
    }
  }

  /** The device's `last_avail_idx` (§2.6). */
  get lastAvail(): number {
    return this.lastAvailIdx;
  }

  /** The device's own copy of used.idx. */
  get used(): number {
    return this.usedIdx;
  }

  /** Chains popped and not yet pushed back. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  /**
   * Takes the next available chain (§2.8 device steps 1–2), after vhost's `vhost_get_vq_desc`:
   * avail.idx is loaded (then a read barrier) only when the cached index is used up. More than qsz
   * new entries, a head ≥ qsz (§2.6) or more chains in flight than the ring has slots (QEMU
   * "Virtqueue size exceeded") make the ring malformed, as does any fault `walkChain` finds. With
   * EVENT_IDX, avail_event follows.
   */
  pop(): PopResult {
    let availIdx = this.availIdxCache;
    if (availIdx === this.lastAvailIdx) {
      availIdx = this.loadAvailIdx();
      if (availIdx === this.lastAvailIdx) return { kind: 'empty' };
      this.rmb(); // §2.8 device step 2: read barrier, then the entries
    }
    const pending = u16Distance(availIdx, this.lastAvailIdx);
    if (pending > this.qsz) {
      return malformed(`avail.idx ${availIdx} is ${pending} entries past last_avail_idx ${this.lastAvailIdx}, more than qsz ${this.qsz} (§2.6)`);
    }
    if (this.inFlightCount >= this.qsz) return malformed(`more than qsz ${this.qsz} chains in flight`);
    const slot = ringSlot(this.lastAvailIdx, this.qsz);
    const head = this.loadAvailEntry();
    this.onTake?.(this.lastAvailIdx, head);
    if (head >= this.qsz) return malformed(`avail.ring[${slot}] holds head ${head} ≥ qsz ${this.qsz} (§2.6)`);
    const walk = walkChain(this.memory, this.ring, head, this.indirect); // desc[head]: address-dependent on the head, so ordered after it
    if (!walk.ok) return malformed(walk.reason);
    this.lastAvailIdx = u16(this.lastAvailIdx + 1);
    this.inFlightCount++;
    if (this.eventIdx) this.stores.store16(this.ring.used + availEventOffset(this.qsz), this.lastAvailIdx);
    return { kind: 'chain', chain: walk.chain };
  }

  /**
   * Returns chain `head` to the driver with `len` bytes written (§2.8 device steps 4–6): the entry,
   * a write barrier, then used.idx (§2.5: len before idx; case 10). Throws on a device-model bug
   * (nothing in flight, a head ≥ qsz, a len that is not a uint32).
   */
  push(head: number, len: number): void {
    if (this.inFlightCount === 0) throw new Error(`DeviceQueue.push(${head}): no chain is in flight`);
    if (!Number.isInteger(head) || head < 0 || head >= this.qsz || !Number.isInteger(len) || len < 0 || len > 0xffff_ffff) {
      throw new RangeError(`DeviceQueue.push: head ${head} / len ${len} out of range (qsz ${this.qsz})`);
    }
    const elem = this.ring.used + VIRTQ_USED.ring + VIRTQ_USED_ELEM.size * ringSlot(this.usedIdx, this.qsz);
    this.stores.store32(elem + VIRTQ_USED_ELEM.id, head);
    this.stores.store32(elem + VIRTQ_USED_ELEM.len, len);
    this.stores.wmb(); // §2.5: the device MUST set len before it updates idx
    this.usedIdx = u16(this.usedIdx + 1);
    this.stores.store16(this.ring.used + VIRTQ_USED.idx, this.usedIdx);
    this.inFlightCount--;
  }

  /**
   * §2.8 device steps 7–8: after a full barrier, whether the driver wants a used-buffer notification
   * for the entries pushed since the last call: used_event with EVENT_IDX (vhost's signalled_used as
   * `old`), avail.flags without.
   */
  needInterrupt(): boolean {
    this.mb();
    const { view } = this.memory;
    if (!this.eventIdx) return (view.getUint16(this.ring.avail + VIRTQ_AVAIL.flags, true) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
    const oldIdx = this.signalledUsed;
    const valid = this.signalledUsedValid;
    this.signalledUsed = this.usedIdx;
    this.signalledUsedValid = true;
    if (!valid) return true;
    return vringNeedEvent(view.getUint16(this.ring.avail + usedEventOffset(this.qsz), true), this.usedIdx, oldIdx);
  }

  /** Asks the driver for no available-buffer notifications while the device polls (§2.7). */
  disableNotifications(): void {
    if (!this.eventIdx) this.stores.store16(this.ring.used + VIRTQ_USED.flags, VIRTQ_USED_F_NO_NOTIFY);
  }

  /**
   * Asks for available-buffer notifications again and re-checks after a full barrier (vhost
   * `vhost_enable_notify`). True when more chains arrived meanwhile: keep polling.
   */
  enableNotifications(): boolean {
    this.enableNotificationsPrepare();
    return this.recheckAvail();
  }

  /** The first half of `enableNotifications`: notifications on (used.flags or avail_event), then a full barrier. */
  enableNotificationsPrepare(): void {
    const { view } = this.memory;
    if (this.eventIdx) this.stores.store16(this.ring.used + availEventOffset(this.qsz), view.getUint16(this.ring.avail + VIRTQ_AVAIL.idx, true));
    else this.stores.store16(this.ring.used + VIRTQ_USED.flags, 0);
    this.mb();
  }

  /**
   * The second half: avail.idx loaded into the cache, then a read barrier (vhost after the 2024 fix;
   * without it, R18). True when chains wait: the next `pop` takes them without loading avail.idx again.
   */
  recheckAvail(): boolean {
    const availIdx = this.loadAvailIdx();
    if (this.recheckReadBarrier) this.rmb();
    return availIdx !== this.lastAvailIdx;
  }

  /**
   * Weak ordering on the device's CPU (§2.8 **SIM**): the load of the next avail.ring entry (at
   * last_avail_idx) is satisfied now, ahead of the avail.idx load that precedes it in program order.
   * The next `pop` uses this value unless a read or full barrier comes first — which is exactly what
   * the barrier is for. Descriptor loads are not speculated: they depend on the head's value.
   */
  speculateAvailEntry(): void {
    this.speculated = { availIdx: this.lastAvailIdx, head: this.readAvailEntry(this.lastAvailIdx) };
  }

  private loadAvailIdx(): number {
    this.availIdxCache = this.memory.view.getUint16(this.ring.avail + VIRTQ_AVAIL.idx, true);
    return this.availIdxCache;
  }

  /** The entry at last_avail_idx: a load satisfied early if one still stands, else memory now. */
  private loadAvailEntry(): number {
    const early = this.speculated;
    this.speculated = null;
    if (early !== null && early.availIdx === this.lastAvailIdx) return early.head;
    return this.readAvailEntry(this.lastAvailIdx);
  }

  private readAvailEntry(availIdx: number): number {
    return this.memory.view.getUint16(this.ring.avail + VIRTQ_AVAIL.ring + VIRTQ_AVAIL.entry * ringSlot(availIdx, this.qsz), true);
  }

  /** Read barrier: no later load is satisfied before an earlier one, so an early load is done again. */
  private rmb(): void {
    this.speculated = null;
  }

  /** Full barrier: the pending stores become visible, and loads are ordered too. */
  private mb(): void {
    this.stores.mb();
    this.speculated = null;
  }
}

function malformed(reason: string): PopResult {
  return { kind: 'malformed', reason };
}
