import { SeededRandom } from '../random.js';
import type { SchedulingPoint } from '../scheduling-point.js';
import type { Strategy } from '../strategy.js';

/**
 * POS, partial-order sampling (Yuan, Yang, Gu, "Partial Order Aware Concurrency Sampling", CAV
 * 2018). Every point gets a random priority when the strategy first sees it; the enabled point of
 * highest priority runs; then every waiting point that races with it — here, one delivered to the
 * same actor, the object both touch — draws a fresh priority. Re-drawing only the racing points
 * samples partial orders (Mazurkiewicz traces) close to uniformly, where a uniform random walk
 * favours the orders with many interleavings.
 *
 * @example
 * ```ts
 * new Scheduler({ strategy: posStrategy(seed) });
 * ```
 */
export function posStrategy(seed: number): Strategy {
  const rng = new SeededRandom(seed);
  const priority = new WeakMap<SchedulingPoint, number>();
  const priorityOf = (point: SchedulingPoint): number => {
    let p = priority.get(point);
    if (p === undefined) priority.set(point, (p = rng.u32()));
    return p;
  };
  return {
    name: 'pos',
    pick: (points: readonly SchedulingPoint[], enabled: number) => {
      let best = 0;
      let bestPriority = priorityOf(points[0]);
      for (let i = 1; i < enabled; i++) {
        const p = priorityOf(points[i]);
        if (p > bestPriority) {
          best = i;
          bestPriority = p;
        }
      }
      const actor = points[best].actor;
      for (let i = 0; i < points.length; i++) if (i !== best && points[i].actor === actor) priority.set(points[i], rng.u32());
      return best;
    },
  };
}
