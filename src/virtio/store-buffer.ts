import type { GuestMemory } from '../memory/guest-memory.js';
import { writeU64, type RingStores } from './ring-stores.js';

/** One store held in a `StoreBuffer`, not yet visible to the peer. */
export interface PendingStore {
  readonly gpa: number;
  readonly bytes: 2 | 4 | 8;
  readonly value: number;
  /** Program order of the store (0, 1, 2, … over the buffer's life). */
  readonly seq: number;
}

/** Pending stores a `StoreBuffer` holds at most: a loud limit, not silent growth. */
export const STORE_BUFFER_MAX = 4096;

/**
 * A model of weakly ordered memory for one side of a virtqueue (virtio-ioreq-lifecycle.md §2.8
 * **SIM**): each store waits in the buffer until a barrier or the test commits it, and the test may
 * commit them in any order, so the peer can see a later store before an earlier one. A barrier
 * commits everything pending in program order, which is exactly what it guarantees: nothing after
 * it becomes visible before what came before it.
 *
 * The owning side never reads back its own pending stores (the driver reads only what the device
 * writes, and the reverse), so store forwarding is not modelled.
 *
 * @example
 * ```ts
 * const sb = new StoreBuffer(mem);
 * const driver = new DriverQueue(mem, ring, { stores: sb, barriers: false });
 * driver.add([], [{ gpa, len: 512 }], 'A');
 * sb.commitWhere((s) => s.gpa === ring.avail + VIRTQ_AVAIL.idx); // avail.idx first: reordered
 * ```
 */
export class StoreBuffer implements RingStores {
  private readonly held: PendingStore[] = [];
  private nextSeq = 0;

  constructor(private readonly memory: GuestMemory) {}

  /** The stores not yet visible, in program order. */
  get pending(): readonly PendingStore[] {
    return this.held;
  }

  store16(gpa: number, value: number): void {
    this.hold(gpa, 2, value);
  }

  store32(gpa: number, value: number): void {
    this.hold(gpa, 4, value);
  }

  store64(gpa: number, value: number): void {
    this.hold(gpa, 8, value);
  }

  wmb(): void {
    this.commitAll();
  }

  mb(): void {
    this.commitAll();
  }

  /** Makes every pending store visible, in program order. */
  commitAll(): void {
    for (const s of this.held) this.apply(s);
    this.held.length = 0;
  }

  /** Makes the first pending store matching `pick` visible now, ahead of the others. False if none matches. */
  commitWhere(pick: (s: PendingStore) => boolean): boolean {
    const at = this.held.findIndex(pick);
    if (at < 0) return false;
    this.apply(this.held[at]);
    this.held.splice(at, 1);
    return true;
  }

  private hold(gpa: number, bytes: 2 | 4 | 8, value: number): void {
    if (this.held.length >= STORE_BUFFER_MAX) {
      throw new Error(`StoreBuffer: more than ${STORE_BUFFER_MAX} stores pending; a barrier is missing or the test never commits`);
    }
    this.held.push({ gpa, bytes, value, seq: this.nextSeq++ });
  }

  private apply(s: PendingStore): void {
    const { view } = this.memory;
    if (s.bytes === 2) view.setUint16(s.gpa, s.value, true);
    else if (s.bytes === 4) view.setUint32(s.gpa, s.value, true);
    else writeU64(view, s.gpa, s.value);
  }
}
