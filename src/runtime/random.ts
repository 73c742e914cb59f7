import { unsafeUniformIntDistribution, xoroshiro128plus, type RandomGenerator } from 'pure-rand';

/**
 * The seeded random source injected into model code (ARCHITECTURE.md principle 4): never
 * `Math.random`. Backed by pure-rand's xoroshiro128+, so a seed reproduces a run exactly.
 *
 * @example
 * ```ts
 * const rng = new SeededRandom(42);
 * rng.int(0, 9);       // the same sequence for seed 42, every run
 * rng.bytes(16);
 * ```
 */
export class SeededRandom {
  private readonly generator: RandomGenerator;

  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed ${seed} must be an integer`);
    this.generator = xoroshiro128plus(seed | 0);
  }

  /** A uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return unsafeUniformIntDistribution(min, max, this.generator);
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    return unsafeUniformIntDistribution(0, 0xffffffff, this.generator) >>> 0;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    return this.int(0, 999_999) < p * 1_000_000;
  }

  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[this.int(0, items.length - 1)];
  }

  /** `count` pseudo-random bytes (see `fill`). */
  bytes(count: number): Uint8Array {
    return this.fill(new Uint8Array(count));
  }

  /**
   * Fills `out` with pseudo-random bytes for payloads and returns it: one draw seeds a xorshift32
   * stream that fills the bytes a word at a time, least significant byte first — one draw per call
   * however long, so workloads of large messages stay cheap. The bytes are fixed by the seed and
   * the calls before.
   */
  fill(out: Uint8Array): Uint8Array {
    let x = this.generator.unsafeNext() | 0;
    if (x === 0) x = 0x6d2b79f5; // xorshift32 never leaves 0; any other state is fine
    const words = out.length >>> 2;
    let i = 0;
    if (LITTLE_ENDIAN && (out.byteOffset & 3) === 0) {
      const w = new Int32Array(out.buffer, out.byteOffset, words);
      for (; i < words; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        w[i] = x;
      }
    }
    for (let at = i << 2; at < out.length; at += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      for (let j = 0; j < 4 && at + j < out.length; j++) out[at + j] = (x >>> (8 * j)) & 0xff;
    }
    return out;
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
