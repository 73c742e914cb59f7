/**
 * Byte arrays carved from large shared chunks: `take(n)` is a view, not an allocation of its own.
 * Node allocates a fresh ArrayBuffer at about a microsecond and a half whatever its size (a 700-byte
 * payload costs as much as the rest of a sendv), so the runtime's payloads come from here. A chunk
 * is freed by the garbage collector once no view of it is held.
 *
 * @example
 * ```ts
 * const slab = new Slab();
 * const payload = rng.fill(slab.take(700));
 * ```
 */
export class Slab {
  /** Allocated on the first `take`: a system whose workloads send nothing allocates nothing. */
  private chunk: ArrayBuffer | undefined;
  private used = 0;
  /** The next chunk's size: 16 KiB first, doubling up to `chunkBytes`, so a short run stays small. */
  private nextBytes: number;

  constructor(private readonly chunkBytes = 256 * 1024) {
    this.nextBytes = Math.min(16 * 1024, chunkBytes);
  }

  /** `n` zeroed bytes, 8-byte aligned; more than a quarter of the largest chunk: a buffer of their own. */
  take(n: number): Uint8Array {
    if (n > this.chunkBytes >>> 2) return new Uint8Array(n);
    if (this.chunk === undefined || this.used + n > this.chunk.byteLength) {
      while (this.nextBytes < n) this.nextBytes *= 2;
      this.chunk = new ArrayBuffer(this.nextBytes);
      this.nextBytes = Math.min(this.nextBytes * 2, this.chunkBytes);
      this.used = 0;
    }
    const out = new Uint8Array(this.chunk, this.used, n);
    this.used += (n + 7) & ~7;
    return out;
  }
}
