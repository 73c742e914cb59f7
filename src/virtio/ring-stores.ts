import type { GuestMemory } from '../memory/guest-memory.js';

/**
 * How one side of a virtqueue publishes its stores to guest memory, and its barriers
 * (virtio-ioreq-lifecycle.md §2.8). Each store is one event the peer can observe; a barrier orders
 * the stores before it ahead of those after it. The driver and device call `wmb` and `mb` exactly
 * where §2.8 puts them, so a model of weak ordering (`StoreBuffer`) can be put in their place.
 *
 * Loads are not modelled as reorderable: the side reads guest memory directly. That is enough for
 * the two bugs of §7 cases 12 and 13 (a store becoming visible early; a store held back past a load).
 *
 * @example
 * ```ts
 * stores.store16(ring.avail + VIRTQ_AVAIL.ring, head);
 * stores.wmb();                                   // §2.8 driver step 4
 * stores.store16(ring.avail + VIRTQ_AVAIL.idx, idx);
 * ```
 */
export interface RingStores {
  store16(gpa: number, value: number): void;
  store32(gpa: number, value: number): void;
  /** A 64-bit store of a safe integer (descriptor addresses). */
  store64(gpa: number, value: number): void;
  /** Write barrier: earlier stores become visible before later ones. */
  wmb(): void;
  /** Full barrier: earlier stores become visible before later loads and stores. */
  mb(): void;
}

/** Writes a 64-bit little-endian safe integer as two 32-bit halves. */
export function writeU64(view: DataView, gpa: number, value: number): void {
  view.setUint32(gpa, value >>> 0, true);
  view.setUint32(gpa + 4, Math.floor(value / 0x1_0000_0000), true);
}

/** Reads a 64-bit little-endian value; values above 2^53 come back as a number that is not safe. */
export function readU64(view: DataView, gpa: number): number {
  return view.getUint32(gpa, true) + view.getUint32(gpa + 4, true) * 0x1_0000_0000;
}

/**
 * Stores that are visible at once, in program order: sequentially consistent memory, where the
 * barriers have nothing to do. The default for both sides.
 *
 * @example
 * ```ts
 * const driver = new DriverQueue(mem, ring, { stores: directStores(mem) });
 * ```
 */
export function directStores(memory: GuestMemory): RingStores {
  const { view } = memory;
  return {
    store16: (gpa, value) => view.setUint16(gpa, value, true),
    store32: (gpa, value) => view.setUint32(gpa, value, true),
    store64: (gpa, value) => writeU64(view, gpa, value),
    wmb: () => {},
    mb: () => {},
  };
}
