/**
 * VirtIO constants shared by both sides of a device: status bits (virtio-ioreq-lifecycle.md §1.1),
 * device-independent feature bits (§1.5), descriptor and ring flags (§2.2, §2.4, §2.5) and the queue
 * size limit (§2.1). The VirtIO spec's own names, so a reader can grep the spec for them.
 *
 * @example
 * ```ts
 * status.write(VIRTIO_CONFIG_S_ACKNOWLEDGE);
 * const wantsIndirect = (features & bit(VIRTIO_F_INDIRECT_DESC)) !== 0n;
 * ```
 */

// Device status bits (§1.1).
/** The guest found the device and sees it as a valid virtio device. */
export const VIRTIO_CONFIG_S_ACKNOWLEDGE = 1;
/** The guest knows how to drive the device. */
export const VIRTIO_CONFIG_S_DRIVER = 2;
/** The driver is set up: the device is live. */
export const VIRTIO_CONFIG_S_DRIVER_OK = 4;
/** Feature negotiation is complete (the device may refuse it: the bit then reads back clear). */
export const VIRTIO_CONFIG_S_FEATURES_OK = 8;
/** 1.4 only; not modelled (the model claims 1.2, virtio-ioreq-lifecycle.md §0 version notes). */
export const VIRTIO_CONFIG_S_SUSPEND = 16;
/** Set by the device when it has hit an unrecoverable error. */
export const VIRTIO_CONFIG_S_NEEDS_RESET = 64;
/** Set by the driver when it has given up on the device; latched until reset. */
export const VIRTIO_CONFIG_S_FAILED = 128;

// Device-independent feature bits (§1.5): bit numbers, not masks.
/** Descriptors may point at indirect tables (§2.3). */
export const VIRTIO_F_INDIRECT_DESC = 28;
/** used_event / avail_event notification suppression (§2.7). */
export const VIRTIO_F_EVENT_IDX = 29;
/** A non-legacy device; every device MUST offer it (§1.5). */
export const VIRTIO_F_VERSION_1 = 32;
/** Per-queue reset (1.2+, §1.4). */
export const VIRTIO_F_RING_RESET = 40;

/** The mask of feature bit `n` in a 64-bit feature set. */
export const bit = (n: number): bigint => 1n << BigInt(n);

// virtq_desc.flags (§2.2).
/** The chain continues through `next`. */
export const VIRTQ_DESC_F_NEXT = 1;
/** The buffer is device-writable (otherwise device-readable). */
export const VIRTQ_DESC_F_WRITE = 2;
/** The buffer holds a table of descriptors (§2.3). */
export const VIRTQ_DESC_F_INDIRECT = 4;

/** avail.flags bit 0: the driver asks for no used-buffer notifications (§2.4, §2.7). */
export const VIRTQ_AVAIL_F_NO_INTERRUPT = 1;
/** used.flags bit 0: the device asks for no available-buffer notifications (§2.5, §2.7). */
export const VIRTQ_USED_F_NO_NOTIFY = 1;

/** The largest queue size: the largest power of 2 a 16-bit index tells full from empty with (§2.1). */
export const VIRTQ_SIZE_MAX = 32768;

/**
 * True for a queue size §2.1 allows: a power of 2 from 1 to 32768 (case 1: 0, 3, 1000 and 65536 are
 * refused; 1, 2, 256 and 32768 accepted).
 *
 * @example
 * ```ts
 * isValidQueueSize(256); // true
 * isValidQueueSize(1000); // false
 * ```
 */
export function isValidQueueSize(qsz: number): boolean {
  return Number.isInteger(qsz) && qsz >= 1 && qsz <= VIRTQ_SIZE_MAX && (qsz & (qsz - 1)) === 0;
}
