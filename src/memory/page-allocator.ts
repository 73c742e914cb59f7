import { PAGE_SIZE } from './constants.js';

/**
 * A guest-side page allocator: hands out 4 KiB guest frames of one domain's RAM, the way a guest
 * kernel allocates pages for Argo rings and hypercall buffers. Frame 0 is never handed out, so a
 * gpa of 0 always means NULL to the hypervisor.
 *
 * This is guest software state (it lives in the guest's own thread), not hypervisor state.
 *
 * @example
 * ```ts
 * const pages = new PageAllocator(mem.pages);
 * const gfns = pages.allocate(3);          // three frames, contiguous when possible
 * const scattered = pages.allocate(2, { scatter: true }); // deliberately non-contiguous
 * pages.free(gfns);
 * ```
 */
export class PageAllocator {
  private readonly used: Uint8Array;
  private freeCount: number;

  constructor(readonly pages: number) {
    if (!Number.isInteger(pages) || pages < 2) throw new RangeError(`PageAllocator needs at least 2 pages, got ${pages}`);
    this.used = new Uint8Array(pages);
    this.used[0] = 1; // gfn 0 stays reserved: gpa 0 is NULL
    this.freeCount = pages - 1;
  }

  /** Frames still free. */
  get free_pages(): number {
    return this.freeCount;
  }

  /**
   * Allocates `count` frames: a contiguous run when one exists, else any free frames (rings may
   * span scattered pages, argo.md §5.1). With `scatter`, every other free frame is taken, which
   * exercises the page-by-page copy path. Throws a RangeError when RAM is exhausted.
   */
  allocate(count: number, options: { scatter?: boolean } = {}): number[] {
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`cannot allocate ${count} pages`);
    if (count > this.freeCount) {
      throw new RangeError(`out of guest memory: ${count} pages wanted, ${this.freeCount} of ${this.pages} free`);
    }
    const run = options.scatter ? -1 : this.findRun(count);
    const gfns = run >= 0 ? Array.from({ length: count }, (_, i) => run + i) : this.pickScattered(count, options.scatter === true);
    for (const gfn of gfns) this.used[gfn] = 1;
    this.freeCount -= count;
    return gfns;
  }

  /** Allocates frames for `bytes` bytes and returns the gpa of the first (contiguous only). */
  allocateBytes(bytes: number): number {
    const count = Math.max(1, Math.ceil(bytes / PAGE_SIZE));
    const run = this.findRun(count);
    if (run < 0) throw new RangeError(`no contiguous run of ${count} free guest pages`);
    for (let i = 0; i < count; i++) this.used[run + i] = 1;
    this.freeCount -= count;
    return run * PAGE_SIZE;
  }

  /** Returns frames to the pool; asserts each was allocated. */
  free(gfns: readonly number[]): void {
    for (const gfn of gfns) {
      if (gfn <= 0 || gfn >= this.pages || this.used[gfn] !== 1) {
        throw new RangeError(`free of gfn ${gfn} that is not allocated`);
      }
      this.used[gfn] = 0;
      this.freeCount++;
    }
  }

  private findRun(count: number): number {
    let start = 1;
    let length = 0;
    for (let gfn = 1; gfn < this.pages; gfn++) {
      if (this.used[gfn]) {
        length = 0;
        start = gfn + 1;
      } else if (++length === count) {
        return start;
      }
    }
    return -1;
  }

  private pickScattered(count: number, spread: boolean): number[] {
    const picked: number[] = [];
    for (let gfn = this.pages - 1; gfn >= 1 && picked.length < count; gfn -= spread ? 2 : 1) {
      if (!this.used[gfn]) picked.push(gfn);
    }
    for (let gfn = 1; gfn < this.pages && picked.length < count; gfn++) {
      if (!this.used[gfn] && !picked.includes(gfn)) picked.push(gfn);
    }
    if (picked.length < count) throw new RangeError(`out of guest memory: ${count} pages wanted`);
    return picked;
  }
}
