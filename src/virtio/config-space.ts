import type { ViolationLog } from './violation-log.js';

/**
 * A device's configuration space with its generation counter (virtio-ioreq-lifecycle.md §1.6):
 * little-endian bytes the driver reads at natural widths (1, 2 or 4 bytes, aligned; a 64-bit field is
 * two 32-bit reads), and that the device changes only through `update`, which moves the generation so
 * a driver reading across the change retries (case 22).
 *
 * A guest access that is out of range or misaligned reads 0 and is logged (**SIM CHOICE**: the spec
 * leaves it undefined; MMIO and PCI devices answer so).
 *
 * @example
 * ```ts
 * const cfg = new ConfigSpace(new Uint8Array(36), log);
 * cfg.update((view) => view.setUint32(0, 2048, true)); // generation 1
 * cfg.read(0, 4);                                      // 2048
 * ```
 */
export class ConfigSpace {
  /** Changes whenever two reads could see different versions of the fields (§1.6). */
  generation = 0;
  readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    private readonly log: ViolationLog,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The device changes fields; the generation moves (u32, wrapping). */
  update(change: (view: DataView) => void): void {
    change(this.view);
    this.generation = (this.generation + 1) >>> 0;
  }

  /** True for an access of `width` bytes at `offset` that fits and is naturally aligned. */
  valid(offset: number, width: number): boolean {
    return (
      (width === 1 || width === 2 || width === 4) &&
      Number.isInteger(offset) &&
      offset >= 0 &&
      offset % width === 0 &&
      offset + width <= this.bytes.length
    );
  }

  /** A driver read of `width` bytes at `offset`: the little-endian value, or 0 for an invalid access. */
  read(offset: number, width: number): number {
    if (!this.valid(offset, width)) {
      this.log.record('config-access-invalid', `read of ${width} bytes at ${offset} (config is ${this.bytes.length} bytes)`);
      return 0;
    }
    if (width === 1) return this.view.getUint8(offset);
    if (width === 2) return this.view.getUint16(offset, true);
    return this.view.getUint32(offset, true);
  }

  /** Stores a driver write the device has already allowed (see `VirtioDevice.writeConfig`). */
  store(offset: number, width: number, value: number): void {
    if (width === 1) this.view.setUint8(offset, value);
    else if (width === 2) this.view.setUint16(offset, value, true);
    else this.view.setUint32(offset, value, true);
  }
}
