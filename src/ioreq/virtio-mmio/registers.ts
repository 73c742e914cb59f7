/**
 * The virtio-mmio register map (virtio-ioreq-lifecycle.md §1.8, VS transport-mmio.tex): offsets from
 * the device's base, and the values the transport itself defines. The one place they live.
 *
 * @example
 * ```ts
 * if (offset === VIRTIO_MMIO.QueueNotify) device.notify(value);
 * ```
 */
export const VIRTIO_MMIO = {
  MagicValue: 0x000,
  Version: 0x004,
  DeviceID: 0x008,
  VendorID: 0x00c,
  DeviceFeatures: 0x010,
  DeviceFeaturesSel: 0x014,
  DriverFeatures: 0x020,
  DriverFeaturesSel: 0x024,
  QueueSel: 0x030,
  QueueSizeMax: 0x034,
  QueueSize: 0x038,
  QueueReady: 0x044,
  QueueNotify: 0x050,
  InterruptStatus: 0x060,
  InterruptACK: 0x064,
  Status: 0x070,
  QueueDescLow: 0x080,
  QueueDescHigh: 0x084,
  QueueDriverLow: 0x090,
  QueueDriverHigh: 0x094,
  QueueDeviceLow: 0x0a0,
  QueueDeviceHigh: 0x0a4,
  SHMSel: 0x0ac,
  SHMLenLow: 0x0b0,
  SHMLenHigh: 0x0b4,
  SHMBaseLow: 0x0b8,
  SHMBaseHigh: 0x0bc,
  QueueReset: 0x0c0,
  ConfigGeneration: 0x0fc,
  Config: 0x100,
} as const;

/** "virt", little-endian. */
export const VIRTIO_MMIO_MAGIC = 0x74726976;
/** The modern (non-legacy) transport version. */
export const VIRTIO_MMIO_VERSION = 2;
/** VendorID the backend reports (SIM CHOICE: "XEN\0" little-endian; any value is allowed). */
export const VIRTIO_MMIO_VENDOR_XEN = 0x004e4558;
/** InterruptStatus bits. */
export const VIRTIO_MMIO_INT_VRING = 1;
export const VIRTIO_MMIO_INT_CONFIG = 2;

/** libxl's window for virtio-mmio devices (§5.10): base of the first, the stride, and its size. */
export const GUEST_VIRTIO_MMIO_BASE = 0x02000000;
export const VIRTIO_MMIO_DEVICE_STRIDE = 0x200;
export const GUEST_VIRTIO_MMIO_SIZE = 0x100000;
/** Bytes one device's registers take: [base, base + 0x1ff] is mapped as MEMORY (§5.10 step 2). */
export const VIRTIO_MMIO_WINDOW_BYTES = 0x200;
