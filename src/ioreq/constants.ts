/**
 * Constants of Xen's IOREQ interface (virtio-ioreq-lifecycle.md §5; public/hvm/ioreq.h, dm_op.h,
 * xen/include/xen/ioreq.h). The byte layouts of the shared pages live in `ioreq-page.ts` and
 * `buffered-page.ts`.
 *
 * @example
 * ```ts
 * if (state === STATE_IORESP_READY) { … }
 * ```
 */

/** `MAX_NR_IOREQ_SERVERS`: servers per target; ids 0–7 (§5.1). */
export const MAX_NR_IOREQ_SERVERS = 8;
/** `MAX_NR_IO_RANGES`: ranges per rangeset (one rangeset per type) (§5.1). */
export const MAX_NR_IO_RANGES = 256;

/** Slot states (§5.3, §5.4). */
export const STATE_IOREQ_NONE = 0;
export const STATE_IOREQ_READY = 1;
export const STATE_IOREQ_INPROCESS = 2;
export const STATE_IORESP_READY = 3;

/** `dir` (§5.3). */
export const IOREQ_WRITE = 0;
export const IOREQ_READ = 1;

/** `type` (§5.3). */
export const IOREQ_TYPE_PIO = 0;
export const IOREQ_TYPE_COPY = 1;
export const IOREQ_TYPE_PCI_CONFIG = 2;
export const IOREQ_TYPE_TIMEOFFSET = 7;
export const IOREQ_TYPE_INVALIDATE = 8;

/** `handle_bufioreq` of create_ioreq_server (§5.2 op 1). */
export const HVM_IOREQSRV_BUFIOREQ_OFF = 0;
export const HVM_IOREQSRV_BUFIOREQ_LEGACY = 1;
export const HVM_IOREQSRV_BUFIOREQ_ATOMIC = 2;

/** Range types of map_io_range_to_ioreq_server (§5.2 op 3). */
export const XEN_DMOP_IO_RANGE_PORT = 0;
export const XEN_DMOP_IO_RANGE_MEMORY = 1;
export const XEN_DMOP_IO_RANGE_PCI = 2;
/** Rangesets per server, one per range type. */
export const NR_IO_RANGE_TYPES = 3;

/** get_ioreq_server_info flags bit 0 (§5.2 op 2). */
export const XEN_DMOP_no_gfns = 1;

/** Arm's GIC: interrupts below 32 are SGIs and PPIs (per vCPU); SPIs start at 32 (NR_LOCAL_IRQS). */
export const NR_LOCAL_IRQS = 32;
/**
 * SPIs a guest's vGIC has (`vgic.nr_spis`): SIM CHOICE 32, so its interrupts are 0–63. libxl sizes
 * nr_spis to the highest SPI it assigns; its virtio-mmio devices take SPIs 33–43 (§5.10).
 */
export const GUEST_NR_SPIS = 32;
/** The SPI libxl gives its first virtio-mmio device (GUEST_VIRTIO_MMIO_SPI_FIRST, §5.10); the next ones follow. */
export const GUEST_VIRTIO_MMIO_SPI_FIRST = 33;

/** XENMEM_acquire_resource frames of an ioreq server (§5.2 op 2). */
export const XENMEM_resource_ioreq_server_frame_bufioreq = 0;
export const XENMEM_resource_ioreq_server_frame_ioreq = (vcpuPage: number): number => 1 + vcpuPage;

/** `IOREQ_BUFFER_SLOT_NUM`: slots of the buffered page (§5.7). */
export const IOREQ_BUFFER_SLOT_NUM = 511;
/** Largest address a buffered request can carry (20-bit field, §5.7). */
export const BUF_IOREQ_ADDR_MAX = 0xfffff;

/** The architecture the host models: it decides bufioreq support and the "no server" answer (§5.2, §5.6). */
export type IoreqArch = 'x86' | 'arm';

/**
 * PCI SBDF as map_io_range type 2 takes it (§5.2).
 *
 * @example
 * ```ts
 * pciSbdf(0, 0, 3, 0); // 0x18
 * ```
 */
export function pciSbdf(seg: number, bus: number, dev: number, fn: number): number {
  return (((seg & 0xffff) << 16) | ((bus & 0xff) << 8) | ((dev & 0x1f) << 3) | (fn & 7)) >>> 0;
}
