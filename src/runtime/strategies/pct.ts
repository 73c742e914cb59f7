import { SeededRandom } from '../random.js';
import type { SchedulingPoint } from '../scheduling-point.js';
import type { Strategy } from '../strategy.js';

/**
 * PCT, probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi, Nagarakatte, "A Randomized
 * Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010). Each actor — the
 * "thread" of the paper: every scheduling point names the actor it runs in — gets a random
 * priority of at least `depth` when it is first seen; the enabled point of the highest-priority
 * actor runs (ties: the earliest); at `depth − 1` change points drawn uniformly from the first
 * `steps` steps, the actor that just ran drops to priority `i` (below every initial one). A bug of
 * depth d is found with probability at least 1 / (n · k^(d−1)) for n actors and k steps.
 *
 * @example
 * ```ts
 * new Scheduler({ strategy: pctStrategy(seed, { depth: 3, steps: 5000 }) });
 * ```
 */
export function pctStrategy(seed: number, options: { depth?: number; steps?: number } = {}): Strategy {
  const depth = Math.max(1, options.depth ?? 3);
  const steps = Math.max(1, options.steps ?? 10_000);
  const rng = new SeededRandom(seed);
  const changeAt = new Map<number, number>(); // step → the new low priority (1 … depth − 1)
  for (let i = 1; i < depth; i++) changeAt.set(rng.int(0, steps - 1), depth - i);
  const priority = new Map<string, number>();
  const priorityOf = (actor: string): number => {
    let p = priority.get(actor);
    if (p === undefined) priority.set(actor, (p = depth + rng.int(0, 1 << 30))); // distinct enough; ties → earliest
    return p;
  };
  return {
    name: 'pct',
    pick: (points: readonly SchedulingPoint[], enabled: number, step: number) => {
      let best = 0;
      let bestPriority = priorityOf(points[0].actor);
      for (let i = 1; i < enabled; i++) {
        const p = priorityOf(points[i].actor);
        if (p > bestPriority) {
          best = i;
          bestPriority = p;
        }
      }
      const low = changeAt.get(step);
      if (low !== undefined) priority.set(points[best].actor, low);
      return best;
    },
  };
}
