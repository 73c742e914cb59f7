import type { SeededRandom } from '../runtime/random.js';
import { Digest } from './run-log.js';

/** Random bytes beyond the largest message, so that windows start at many different places. */
const POOL_SLACK_BYTES = 16 * 1024;

/**
 * The payloads of one workload in the parallel runtime, drawn from its seed without drawing every
 * byte of every message: a pool of seeded random bytes is drawn once, and message `seq` is a window
 * of it at a seeded word offset whose first word is overwritten with `seq`, so two messages of a
 * flow never have the same bytes (from 4 bytes up) and each is digested once. A message's bytes
 * and digest stay until another message is asked for, so a sendv retried after EAGAIN resends the
 * same bytes: an app has one message in hand at a time.
 *
 * @example
 * ```ts
 * const payloads = new WorkloadPayloads(new SeededRandom(7), 4096);
 * const bytes = payloads.of(0, 64); // 64 seeded bytes; payloads.digest.lo / .hi are their digest
 * payloads.of(0, 64) === bytes;     // true: the same message again
 * ```
 */
export class WorkloadPayloads {
  readonly digest = new Digest();
  private readonly pool: Uint8Array;
  private readonly poolWords: Int32Array;
  private seq = -1;
  private view: Uint8Array;

  constructor(
    private readonly rng: SeededRandom,
    readonly maxBytes: number,
  ) {
    if (!Number.isInteger(maxBytes) || maxBytes < 0) throw new RangeError(`WorkloadPayloads: maxBytes ${maxBytes} is not a byte count`);
    const buffer = new ArrayBuffer(((maxBytes + 3) & ~3) + POOL_SLACK_BYTES);
    this.pool = new Uint8Array(buffer);
    this.poolWords = new Int32Array(buffer);
    this.view = this.pool.subarray(0, 0);
    this.drawPool();
  }

  /** The bytes of message `seq` (`size` bytes): chosen on the first call for `seq`, the same view after. */
  of(seq: number, size: number): Uint8Array {
    if (seq === this.seq && size === this.view.length) return this.view;
    if (!(size >= 0 && size <= this.maxBytes)) throw new RangeError(`WorkloadPayloads: message ${seq} of ${size} bytes exceeds ${this.maxBytes}`);
    const startWordsMax = this.poolWords.length - ((size + 3) >>> 2);
    const at = (this.rng.u32() % (startWordsMax + 1)) << 2;
    if (size >= 4) this.poolWords[at >>> 2] = seq;
    this.seq = seq;
    this.view = this.pool.subarray(at, at + size);
    this.digest.of(this.pool, this.poolWords, at, size);
    return this.view;
  }

  /** xorshift32 from one draw, a word at a time, as `SeededRandom.fill` fills a payload. */
  private drawPool(): void {
    let x = this.rng.u32() | 0;
    if (x === 0) x = 0x6d2b79f5; // xorshift32 never leaves 0
    const words = this.poolWords;
    for (let i = 0; i < words.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      words[i] = x;
    }
  }
}
