import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { assertImageBytes, type BlockBackend } from './block-backend.js';
import { SECTOR_SIZE } from './constants.js';

/**
 * A disk image in a file, read and written in place with positioned I/O; FLUSH is an fsync. Opened
 * read-only when `readOnly`. Call `close` when done.
 *
 * @example
 * ```ts
 * const disk = new FileDisk('disk.img');
 * const device = new VirtioDevice(mem, virtioBlkModel({ disk }));
 * disk.close();
 * ```
 */
export class FileDisk implements BlockBackend {
  readonly sectors: number;
  private fd: number;

  constructor(
    readonly path: string,
    options: { readOnly?: boolean } = {},
  ) {
    this.fd = openSync(path, options.readOnly === true ? 'r' : 'r+');
    const bytes = fstatSync(this.fd).size;
    try {
      assertImageBytes(bytes, `FileDisk ${path}`);
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
    this.sectors = bytes / SECTOR_SIZE;
  }

  read(sector: number, dst: Uint8Array): void {
    let done = 0;
    while (done < dst.length) {
      const n = readSync(this.fd, dst, done, dst.length - done, sector * SECTOR_SIZE + done);
      if (n === 0) throw new Error(`FileDisk ${this.path}: end of file at sector ${sector}, byte ${done}`);
      done += n;
    }
  }

  write(sector: number, src: Uint8Array): void {
    let done = 0;
    while (done < src.length) done += writeSync(this.fd, src, done, src.length - done, sector * SECTOR_SIZE + done);
  }

  flush(): void {
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}
