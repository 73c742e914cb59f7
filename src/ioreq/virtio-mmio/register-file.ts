import type { VirtioDevice } from '../../virtio/virtio-device.js';
import type { ForeignMappings } from './foreign-mappings.js';
import { VIRTIO_MMIO as R, VIRTIO_MMIO_INT_CONFIG, VIRTIO_MMIO_INT_VRING, VIRTIO_MMIO_MAGIC, VIRTIO_MMIO_VENDOR_XEN, VIRTIO_MMIO_VERSION } from './registers.js';

/** What the register file answers a read with when the access itself is wrong (SIM CHOICE). */
const BAD_READ = 0xffffffff;

/** Identity registers a test or a fault may override (case 21: a wrong magic, version 3). */
export interface MmioIdentity {
  magic?: number;
  version?: number;
}

interface QueueLatch {
  desc: number;
  avail: number;
  used: number;
}

/**
 * The virtio-mmio registers of one device (virtio-ioreq-lifecycle.md §1.8) over a `VirtioDevice`:
 * the selectors and the 64-bit queue addresses (written as two halves) are latched here, everything
 * else goes to the device core. Control registers take only aligned 32-bit accesses; config fields
 * their natural width. A wrong access is logged in the device's violation log and ignored (a read
 * gets all-ones) — SIM CHOICE, docs/ioreq.md.
 *
 * @example
 * ```ts
 * const regs = new MmioRegisterFile(device, maps);
 * regs.read(VIRTIO_MMIO.MagicValue, 4);  // 0x74726976
 * regs.write(VIRTIO_MMIO.Status, 4, 1);  // ACKNOWLEDGE
 * ```
 */
export class MmioRegisterFile {
  /** InterruptStatus: bit 0 used buffer, bit 1 configuration change. */
  interruptStatus = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private queueSel = 0;
  private shmSel = 0;
  private latches = new Map<number, QueueLatch>();

  constructor(
    readonly device: VirtioDevice,
    private readonly maps: ForeignMappings,
    private readonly onLevel: (level: 0 | 1) => void = () => undefined,
    private readonly identity: MmioIdentity = {},
  ) {}

  /** The device raised a notification (§1.7): set its InterruptStatus bit and assert the line. */
  interrupt(kind: 'used' | 'config'): void {
    this.interruptStatus |= kind === 'used' ? VIRTIO_MMIO_INT_VRING : VIRTIO_MMIO_INT_CONFIG;
    this.onLevel(1);
  }

  /** A guest read of `size` bytes at `offset`. */
  read(offset: number, size: number): number {
    if (offset >= R.Config) return this.device.readConfig(offset - R.Config, size);
    if (!this.controlAccess(offset, size, 'read')) return BAD_READ;
    return this.readControl(offset) >>> 0;
  }

  /** A guest write of `size` bytes at `offset`. */
  write(offset: number, size: number, value: number): void {
    if (offset >= R.Config) return this.device.writeConfig(offset - R.Config, size, value);
    if (!this.controlAccess(offset, size, 'write')) return;
    this.writeControl(offset, value >>> 0);
  }

  private controlAccess(offset: number, size: number, what: string): boolean {
    if (size === 4 && offset % 4 === 0) return true;
    this.device.log.record('config-access-invalid', `virtio-mmio ${what} of ${size} bytes at 0x${offset.toString(16)}: control registers take aligned 32-bit accesses (§1.8)`);
    return false;
  }

  private readControl(offset: number): number {
    const d = this.device;
    switch (offset) {
      case R.MagicValue: return this.identity.magic ?? VIRTIO_MMIO_MAGIC;
      case R.Version: return this.identity.version ?? VIRTIO_MMIO_VERSION;
      case R.DeviceID: return d.model.deviceId;
      case R.VendorID: return VIRTIO_MMIO_VENDOR_XEN;
      case R.DeviceFeatures: return d.readDeviceFeatures(this.deviceFeaturesSel);
      case R.QueueSizeMax: return d.queueSizeMax(this.queueSel);
      case R.QueueReady: return d.queueReady(this.queueSel) ? 1 : 0;
      case R.InterruptStatus: return this.interruptStatus;
      case R.Status: return d.readStatus();
      case R.SHMLenLow: case R.SHMLenHigh: case R.SHMBaseLow: case R.SHMBaseHigh: return BAD_READ; // no shared memory regions
      case R.QueueReset: return 0;
      case R.ConfigGeneration: return d.configGeneration;
      default:
        d.log.record('config-access-invalid', `virtio-mmio read of write-only or unknown register 0x${offset.toString(16)}`);
        return 0;
    }
  }

  private writeControl(offset: number, value: number): void {
    const d = this.device;
    switch (offset) {
      case R.DeviceFeaturesSel: this.deviceFeaturesSel = value; return;
      case R.DriverFeatures: return d.writeDriverFeatures(this.driverFeaturesSel, value);
      case R.DriverFeaturesSel: this.driverFeaturesSel = value; return;
      case R.QueueSel: this.queueSel = value; return;
      case R.QueueSize: return d.setQueueSize(this.queueSel, value);
      case R.QueueReady: return this.setReady(value !== 0);
      case R.QueueNotify: return d.notify(value & 0xffff);
      case R.InterruptACK: return this.ack(value);
      case R.Status: return this.writeStatus(value);
      case R.SHMSel: this.shmSel = value; return;
      case R.QueueReset: if (value === 1) d.resetQueue(this.queueSel); return;
      default: return this.writeAddress(offset, value);
    }
  }

  private writeAddress(offset: number, value: number): void {
    const half = (offset & 4) !== 0 ? 'high' : 'low';
    const area = offset - (offset & 4);
    const field = area === R.QueueDescLow ? 'desc' : area === R.QueueDriverLow ? 'avail' : area === R.QueueDeviceLow ? 'used' : null;
    if (field === null) return this.device.log.record('config-access-invalid', `virtio-mmio write of read-only or unknown register 0x${offset.toString(16)}`);
    const latch = this.latches.get(this.queueSel) ?? { desc: 0, avail: 0, used: 0 };
    latch[field] = half === 'low' ? Math.floor(latch[field] / 2 ** 32) * 2 ** 32 + value : (latch[field] % 2 ** 32) + value * 2 ** 32;
    this.latches.set(this.queueSel, latch);
    this.device.setQueueAddresses(this.queueSel, latch.desc, latch.avail, latch.used);
  }

  private setReady(ready: boolean): void {
    const q = this.queueSel;
    const was = this.device.queueReady(q);
    this.device.setQueueReady(q, ready);
    const vq = this.device.deviceQueue(q);
    if (!was && vq !== null) this.maps.mapRing(vq.ring); // §5.10 step 6: the backend maps the vring
  }

  private ack(bits: number): void {
    this.interruptStatus &= ~bits;
    if (this.interruptStatus === 0) this.onLevel(0);
  }

  private writeStatus(value: number): void {
    this.device.writeStatus(value);
    if (value !== 0) return;
    // §1.4 reset: the transport's own registers go back to their defaults too
    this.latches = new Map();
    this.deviceFeaturesSel = this.driverFeaturesSel = this.queueSel = this.shmSel = 0;
    this.ack(this.interruptStatus);
  }
}
