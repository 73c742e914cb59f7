import { SECTOR_SIZE } from './constants.js';

/**
 * What a virtio-blk device stores its sectors in: a disk image in memory (`MemoryDisk`) or a file
 * (`FileDisk`). Reads and writes are whole sectors and already bounds-checked by the device;
 * `flush` makes completed writes stable (§3.2 durability).
 *
 * @example
 * ```ts
 * const disk: BlockBackend = new MemoryDisk(new Uint8Array(1 << 20));
 * disk.read(0, new Uint8Array(512));
 * ```
 */
export interface BlockBackend {
  /** Capacity in 512-byte sectors. */
  readonly sectors: number;
  read(sector: number, dst: Uint8Array): void;
  write(sector: number, src: Uint8Array): void;
  flush(): void;
}

/** Throws a clear error for an image size that is not whole sectors (user-supplied input). */
export function assertImageBytes(bytes: number, where: string): void {
  if (!Number.isSafeInteger(bytes) || bytes < 0 || bytes % SECTOR_SIZE !== 0) {
    throw new RangeError(`${where}: a disk image must be a whole number of ${SECTOR_SIZE}-byte sectors, got ${bytes} bytes`);
  }
}
