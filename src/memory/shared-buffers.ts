/**
 * Where a hypervisor's SharedArrayBuffers come from (its tables, its guests' memory): each `take`
 * is a zero-filled buffer of exactly the size asked for, as a fresh `SharedArrayBuffer` is.
 *
 * @example
 * ```ts
 * const source: SharedBufferSource = new SharedBufferPool();
 * const memory = new GuestMemory(65536, source);
 * ```
 */
export interface SharedBufferSource {
  take(bytes: number): SharedArrayBuffer;
}

/**
 * A new buffer on every `take` (the default).
 *
 * @example
 * ```ts
 * FRESH_SHARED_BUFFERS.take(4096).byteLength; // 4096
 * ```
 */
export const FRESH_SHARED_BUFFERS: SharedBufferSource = { take: (bytes) => new SharedArrayBuffer(bytes) };

/**
 * SharedArrayBuffers used again from one run to the next. A host of the deterministic runtime takes
 * its 14 tables and guest memories (0.7 MB and more) for one schedule; an exploration runs thousands
 * of schedules one after the other, and a fresh SharedArrayBuffer each time costs its allocation,
 * the zeroing of its pages and garbage-collector work once it is dropped. `recycle` hands every
 * buffer taken since back to the pool; a later `take` of the same size gets one of them, zeroed.
 *
 * Call `recycle` only once nothing uses those buffers any more (the run they served is over and no
 * other thread holds them): a buffer handed out again is overwritten.
 *
 * @example
 * ```ts
 * const pool = new SharedBufferPool();
 * const hv = createHypervisor(options, pool);
 * runOnce(hv);
 * pool.recycle(); // hv is not used again
 * ```
 */
export class SharedBufferPool implements SharedBufferSource {
  /** Free buffers by byte length. */
  private readonly free = new Map<number, SharedArrayBuffer[]>();
  /** Buffers handed out since the last `recycle`. */
  private taken: SharedArrayBuffer[] = [];
  /**
   * Zeroes to copy from, as long as the largest buffer reused. Copying them in is several times
   * faster than `fill(0)`, which V8 runs on a SharedArrayBuffer one relaxed atomic store at a time.
   */
  private zeroes = new Uint8Array(0);

  take(bytes: number): SharedArrayBuffer {
    const reused = this.free.get(bytes)?.pop();
    if (!reused) return this.lend(new SharedArrayBuffer(bytes));
    if (this.zeroes.length < bytes) this.zeroes = new Uint8Array(bytes);
    new Uint8Array(reused).set(this.zeroes.subarray(0, bytes));
    return this.lend(reused);
  }

  private lend(buffer: SharedArrayBuffer): SharedArrayBuffer {
    this.taken.push(buffer);
    return buffer;
  }

  /** Every buffer taken since the last call is free again (see the class comment). */
  recycle(): void {
    for (const buffer of this.taken) {
      const list = this.free.get(buffer.byteLength);
      if (list) list.push(buffer);
      else this.free.set(buffer.byteLength, [buffer]);
    }
    this.taken = [];
  }
}
