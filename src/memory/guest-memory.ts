import { GUEST_MEMORY_BYTES_MAX, PAGE_SHIFT, PAGE_SIZE } from './constants.js';
import { FRESH_SHARED_BUFFERS, type SharedBufferSource } from './shared-buffers.js';

/**
 * One domain's guest-physical memory: `bytes` of RAM at gpa [0, bytes) on a SharedArrayBuffer,
 * so that any worker thread can run hypervisor code against it.
 *
 * `read` / `write` are for guest-side code and tests: an access outside RAM is a bug in that code
 * and throws a `RangeError`. The hypervisor's own copies use `contains` first and answer EFAULT.
 *
 * @example
 * ```ts
 * const mem = new GuestMemory(1 << 20);
 * mem.write(0x1000, new Uint8Array([1, 2, 3]));
 * mem.read(0x1000, 3); // Uint8Array [1, 2, 3]
 * ```
 */
export class GuestMemory {
  readonly buffer: SharedArrayBuffer;
  readonly bytes: number;
  readonly pages: number;
  /** Byte view (hot copy path). */
  readonly u8: Uint8Array;
  /** Word view for atomic 32-bit accesses at 4-aligned gpas (ring rx_ptr / tx_ptr). */
  readonly i32: Int32Array;
  /** Little-endian structure access. */
  readonly view: DataView;

  /**
   * `source`: where a size's buffer comes from (default: a fresh one). `region`: the memory is
   * `bytes` of `buffer` from `offset` (page-aligned), gpa 0 at `offset` (see `GuestMemory.region`).
   */
  constructor(bytesOrBuffer: number | SharedArrayBuffer, source: SharedBufferSource = FRESH_SHARED_BUFFERS, region?: { offset: number; bytes: number }) {
    const buffer =
      typeof bytesOrBuffer === 'number' ? GuestMemory.allocate(bytesOrBuffer, source) : bytesOrBuffer;
    const offset = region?.offset ?? 0;
    const bytes = region?.bytes ?? buffer.byteLength;
    GuestMemory.assertSize(bytes);
    if (offset % PAGE_SIZE !== 0 || offset + bytes > buffer.byteLength) throw new RangeError(`guest memory region [${offset}, ${offset + bytes}) is not page-aligned inside a buffer of ${buffer.byteLength} bytes`);
    this.buffer = buffer;
    this.bytes = bytes;
    this.pages = this.bytes >>> PAGE_SHIFT;
    this.u8 = new Uint8Array(buffer, offset, bytes);
    this.i32 = new Int32Array(buffer, offset, bytes >>> 2);
    this.view = new DataView(buffer, offset, bytes);
  }

  /**
   * Pages that live inside a larger shared buffer — an ioreq server's pages in the IOREQ tables
   * (`ioreq/tables.ts`), which every thread's view of those tables sees at the same offset.
   */
  static region(buffer: SharedArrayBuffer, offset: number, bytes: number): GuestMemory {
    return new GuestMemory(buffer, FRESH_SHARED_BUFFERS, { offset, bytes });
  }

  private static allocate(bytes: number, source: SharedBufferSource): SharedArrayBuffer {
    GuestMemory.assertSize(bytes);
    return source.take(bytes);
  }

  private static assertSize(bytes: number): void {
    if (!Number.isInteger(bytes) || bytes <= 0 || bytes % PAGE_SIZE !== 0 || bytes > GUEST_MEMORY_BYTES_MAX) {
      throw new RangeError(
        `guest memory size ${bytes} must be a positive multiple of ${PAGE_SIZE} bytes, at most ${GUEST_MEMORY_BYTES_MAX}`,
      );
    }
  }

  /** True when [gpa, gpa + length) lies inside RAM. A zero length at a valid or end address is inside. */
  contains(gpa: number, length: number): boolean {
    return (
      Number.isSafeInteger(gpa) &&
      Number.isSafeInteger(length) &&
      gpa >= 0 &&
      length >= 0 &&
      gpa + length <= this.bytes
    );
  }

  /** Copies `bytes` into guest memory at `gpa`. Throws a RangeError outside RAM. */
  write(gpa: number, bytes: Uint8Array): void {
    this.assertRange(gpa, bytes.length, 'write');
    this.u8.set(bytes, gpa);
  }

  /** A copy of `length` bytes at `gpa`. Throws a RangeError outside RAM. */
  read(gpa: number, length: number): Uint8Array {
    this.assertRange(gpa, length, 'read');
    return this.u8.slice(gpa, gpa + length);
  }

  /** Fills [gpa, gpa + length) with zeroes. Throws a RangeError outside RAM. */
  zero(gpa: number, length: number): void {
    this.assertRange(gpa, length, 'zero');
    this.u8.fill(0, gpa, gpa + length);
  }

  private assertRange(gpa: number, length: number, what: string): void {
    if (!this.contains(gpa, length)) {
      throw new RangeError(
        `guest memory ${what} of ${length} bytes at gpa 0x${gpa.toString(16)} is outside RAM [0, 0x${this.bytes.toString(16)})`,
      );
    }
  }
}
