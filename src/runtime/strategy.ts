import type { SchedulingPoint } from './scheduling-point.js';

/**
 * A scheduling strategy picks which enabled point runs next. Plug-ins, one per file in
 * `strategies/` (STYLE.md: Coyote/P). `enabled` is never empty and is sorted by due time, then by
 * the order points were scheduled, so a strategy that returns the same indices replays a run.
 *
 * @example
 * ```ts
 * const fifo: Strategy = { name: 'fifo', pick: () => 0 };
 * ```
 */
export interface Strategy {
  readonly name: string;
  pick(enabled: readonly SchedulingPoint[], step: number): number;
}
