/**
 * Where the driver's randomness comes from (`prandom_u32` in argo-linux: auto ports and stream
 * connection ids). Injected, never `Math.random`; `SeededRandom` from `src/runtime/random.ts`
 * satisfies it.
 *
 * @example
 * ```ts
 * const random: RandomSource = new SeededRandom(7);
 * random.u32(); // the same value for seed 7, every run
 * ```
 */
export interface RandomSource {
  /** A uniform unsigned 32-bit integer. */
  u32(): number;
}
