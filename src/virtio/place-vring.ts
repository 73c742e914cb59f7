import type { GuestMemory } from '../memory/guest-memory.js';
import type { PageAllocator } from '../memory/page-allocator.js';
import { isValidQueueSize } from './constants.js';
import { VIRTQ_ALIGN, availRingBytes, descTableBytes, usedRingBytes, type VringAddresses } from './layout.js';

const alignUp = (x: number, to: number): number => Math.ceil(x / to) * to;

/**
 * Allocates and zeroes guest memory for a split virtqueue of `qsz` entries, as a driver does before
 * it writes the queue addresses (virtio-ioreq-lifecycle.md §1.8 "allocate and zero memory"): the
 * descriptor table on a page (16-aligned), the available ring after it (2-aligned) and the used ring
 * after that (4-aligned, §2.1). Zeroing leaves used.flags = 0, as §2.5 requires of the driver.
 * Throws a RangeError for a size §2.1 refuses or when RAM is exhausted (a bug in the caller).
 *
 * @example
 * ```ts
 * const ring = placeVring(mem, new PageAllocator(mem.pages), 256);
 * ring.desc % 16; // 0
 * ```
 */
export function placeVring(memory: GuestMemory, pages: PageAllocator, qsz: number): VringAddresses {
  if (!isValidQueueSize(qsz)) throw new RangeError(`virtqueue size ${qsz} is not a power of 2 in [1, 32768] (§2.1)`);
  const availOffset = alignUp(descTableBytes(qsz), VIRTQ_ALIGN.avail);
  const usedOffset = alignUp(availOffset + availRingBytes(qsz), VIRTQ_ALIGN.used);
  const bytes = usedOffset + usedRingBytes(qsz);
  const desc = pages.allocateBytes(bytes);
  memory.zero(desc, bytes);
  return { qsz, desc, avail: desc + availOffset, used: desc + usedOffset };
}

/**
 * True when all three parts of `ring` lie in RAM at their §2.1 alignments: what a device checks
 * before it lets a queue go live, since the addresses come from the guest.
 *
 * @example
 * ```ts
 * if (!vringFits(mem, ring)) violation('queue areas outside RAM');
 * ```
 */
export function vringFits(memory: GuestMemory, ring: VringAddresses): boolean {
  return (
    isValidQueueSize(ring.qsz) &&
    ring.desc % VIRTQ_ALIGN.desc === 0 &&
    ring.avail % VIRTQ_ALIGN.avail === 0 &&
    ring.used % VIRTQ_ALIGN.used === 0 &&
    memory.contains(ring.desc, descTableBytes(ring.qsz)) &&
    memory.contains(ring.avail, availRingBytes(ring.qsz)) &&
    memory.contains(ring.used, usedRingBytes(ring.qsz))
  );
}
