import type { SchedulingPoint } from '../runtime/scheduling-point.js';
import type { Strategy } from '../runtime/strategy.js';

/**
 * A strategy that picks as `inner` does and keeps the scheduler's list of waiting points, so the
 * inspector can show each actor's mailbox depth (the scheduler keeps that list private). The list
 * is the scheduler's own array, so it stays current between steps; it is read, never changed.
 *
 * @example
 * ```ts
 * const watch = watchPending(randomStrategy(seed));
 * createSystem(scenario, { seed, strategy: watch.strategy });
 * watch.depthByActor(); // Map { 'dom0' => 3, … }
 * ```
 */
export function watchPending(inner: Strategy): { strategy: Strategy; depthByActor(): Map<string, number>; readonly points: readonly SchedulingPoint[] } {
  let points: readonly SchedulingPoint[] = [];
  return {
    strategy: {
      name: inner.name,
      pick(list, enabled, step) {
        points = list;
        return inner.pick(list, enabled, step);
      },
    },
    get points() {
      return points;
    },
    depthByActor() {
      const depth = new Map<string, number>();
      for (const p of points) depth.set(p.actor, (depth.get(p.actor) ?? 0) + 1);
      return depth;
    },
  };
}
