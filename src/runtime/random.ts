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

  /** `count` random bytes. */
  bytes(count: number): Uint8Array {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i += 4) {
      const word = this.generator.unsafeNext(); // 32 random bits per draw
      for (let j = 0; j < 4 && i + j < count; j++) out[i + j] = (word >>> (8 * j)) & 0xff;
    }
    return out;
  }
}
