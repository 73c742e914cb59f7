import { assertImageBytes, type BlockBackend } from './block-backend.js';
import { SECTOR_SIZE } from './constants.js';

/**
 * A disk image held in memory: the device reads and writes `image` in place, so a test can compare
 * it with a reference byte for byte. `flushes` counts FLUSH requests served.
 *
 * @example
 * ```ts
 * const image = new Uint8Array(64 * 512);
 * const disk = new MemoryDisk(image);
 * disk.sectors; // 64
 * ```
 */
export class MemoryDisk implements BlockBackend {
  readonly sectors: number;
  flushes = 0;

  constructor(readonly image: Uint8Array) {
    assertImageBytes(image.length, 'MemoryDisk');
    this.sectors = image.length / SECTOR_SIZE;
  }

  read(sector: number, dst: Uint8Array): void {
    const at = sector * SECTOR_SIZE;
    dst.set(this.image.subarray(at, at + dst.length));
  }

  write(sector: number, src: Uint8Array): void {
    this.image.set(src, sector * SECTOR_SIZE);
  }

  flush(): void {
    this.flushes++;
  }
}
