import { SeededRandom } from '../random.js';
import type { Strategy } from '../strategy.js';

/**
 * Seeded random choice among the enabled points: every interleaving of simultaneously enabled
 * deliveries is possible, and the seed reproduces the run (the "random walk" baseline of systematic
 * concurrency testing; Burckhardt et al., "A Randomized Scheduler with Probabilistic Guarantees",
 * ASPLOS 2010, use it as their point of comparison).
 *
 * @example
 * ```ts
 * new Scheduler({ strategy: randomStrategy(42) });
 * ```
 */
export function randomStrategy(seed: number): Strategy {
  const rng = new SeededRandom(seed);
  return {
    name: 'random',
    pick: (_points, enabled) => (enabled === 1 ? 0 : rng.int(0, enabled - 1)),
  };
}
