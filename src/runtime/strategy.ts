import type { SchedulingPoint } from './scheduling-point.js';

/**
 * A scheduling strategy picks which enabled point runs next. Plug-ins, one per file in
 * `strategies/` (STYLE.md: Coyote/P). `points` is every waiting point, sorted by due time, then by
 * the order points were scheduled; the first `enabled` of them (never 0) are due now and the choice
 * is an index among those, so a strategy that returns the same indices replays a run. (The list is
 * the scheduler's own, passed without copying: the scheduler loop allocates nothing per step.)
 *
 * @example
 * ```ts
 * const fifo: Strategy = { name: 'fifo', pick: () => 0 };
 * ```
 */
export interface Strategy {
  readonly name: string;
  pick(points: readonly SchedulingPoint[], enabled: number, step: number): number;
}
