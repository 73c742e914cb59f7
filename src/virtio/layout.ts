/**
 * Byte layout of a split virtqueue in guest memory (virtio-ioreq-lifecycle.md §2.1–§2.5), all
 * little-endian (VERSION_1). This is the one place the offsets live; the driver and the device side
 * both use it.
 *
 * @example
 * ```ts
 * const gpa = ring.desc + head * VIRTQ_DESC.size + VIRTQ_DESC.len;
 * const usedEventGpa = ring.avail + usedEventOffset(ring.qsz);
 * ```
 */

/** `struct virtq_desc` (16): addr le64, len le32, flags le16, next le16 (§2.2). */
export const VIRTQ_DESC = { addr: 0, len: 8, flags: 12, next: 14, size: 16 } as const;
/** `struct virtq_avail` head: flags le16, idx le16, then ring[qsz] of le16 and used_event (§2.4). */
export const VIRTQ_AVAIL = { flags: 0, idx: 2, ring: 4, entry: 2 } as const;
/** `struct virtq_used` head: flags le16, idx le16, then ring[qsz] of virtq_used_elem and avail_event (§2.5). */
export const VIRTQ_USED = { flags: 0, idx: 2, ring: 4 } as const;
/** `struct virtq_used_elem` (8): id le32 (head of the used chain), len le32 (bytes written). */
export const VIRTQ_USED_ELEM = { id: 0, len: 4, size: 8 } as const;

/** Alignment of each part (§2.1 table). */
export const VIRTQ_ALIGN = { desc: 16, avail: 2, used: 4 } as const;

/** Bytes of the descriptor table: 16·qsz (§2.1). */
export const descTableBytes = (qsz: number): number => VIRTQ_DESC.size * qsz;
/** Bytes of the available ring with used_event: 6 + 2·qsz (§2.1). */
export const availRingBytes = (qsz: number): number => 6 + VIRTQ_AVAIL.entry * qsz;
/** Bytes of the used ring with avail_event: 6 + 8·qsz (§2.1). */
export const usedRingBytes = (qsz: number): number => 6 + VIRTQ_USED_ELEM.size * qsz;
/** Offset of `used_event` in the available ring: it sits at ring[qsz] (§2.4). */
export const usedEventOffset = (qsz: number): number => VIRTQ_AVAIL.ring + VIRTQ_AVAIL.entry * qsz;
/** Offset of `avail_event` in the used ring: after ring[qsz] (§2.5). */
export const availEventOffset = (qsz: number): number => VIRTQ_USED.ring + VIRTQ_USED_ELEM.size * qsz;

/**
 * Where one split virtqueue lives: its size and the guest-physical addresses of its three parts
 * (the Descriptor, Driver and Device Areas of the transports, §1.8).
 *
 * @example
 * ```ts
 * const ring: VringAddresses = { qsz: 256, desc: 0x10000, avail: 0x11000, used: 0x12000 };
 * ```
 */
export interface VringAddresses {
  readonly qsz: number;
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
}
