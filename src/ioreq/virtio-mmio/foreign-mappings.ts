import { PAGE_SHIFT } from '../../memory/constants.js';
import type { DescChain } from '../../virtio/desc-chain.js';
import { availRingBytes, descTableBytes, usedRingBytes, type VringAddresses } from '../../virtio/layout.js';
import type { VirtioDeviceModel } from '../../virtio/virtio-device.js';

/**
 * The foreign mappings a virtio-mmio backend makes of its guest's memory (virtio-ioreq-lifecycle.md
 * §5.10 step 6: `xenforeignmemory_map`, which needs privilege over the guest). The backend maps the
 * three vring areas when a queue goes live, and the pages of every chain it serves (QEMU's mapcache
 * maps per request). SIM CHOICE (docs/ioreq.md): a mapping is counted per guest page per map call;
 * the bytes are then reached through the guest's own `GuestMemory`, which is what a mapping shows.
 *
 * @example
 * ```ts
 * const maps = new ForeignMappings();
 * maps.mapRing(ring);  // the pages of desc, avail and used
 * maps.count;          // e.g. 3
 * ```
 */
export class ForeignMappings {
  /** Guest pages mapped since creation (the lead reports this as `sharedMappings`). */
  count = 0;

  /** Maps [gpa, gpa + len): one per page touched. */
  map(gpa: number, len: number): void {
    if (len <= 0) return;
    this.count += ((gpa + len - 1) >>> PAGE_SHIFT) - (gpa >>> PAGE_SHIFT) + 1;
  }

  /** The vring areas of a queue made ready. */
  mapRing(ring: VringAddresses): void {
    this.map(ring.desc, descTableBytes(ring.qsz));
    this.map(ring.avail, availRingBytes(ring.qsz));
    this.map(ring.used, usedRingBytes(ring.qsz));
  }

  /** Every segment of a chain about to be served. */
  mapChain(chain: DescChain): void {
    for (const s of chain.readable) this.map(s.gpa, s.len);
    for (const s of chain.writable) this.map(s.gpa, s.len);
  }

  /** The model with each served chain mapped first. */
  counting(model: VirtioDeviceModel): VirtioDeviceModel {
    return Object.assign(Object.create(model) as VirtioDeviceModel, {
      serve: (ctx: Parameters<VirtioDeviceModel['serve']>[0], chain: DescChain) => {
        this.mapChain(chain);
        return model.serve(ctx, chain);
      },
    });
  }
}
