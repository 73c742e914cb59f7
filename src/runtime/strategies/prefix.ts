import type { Strategy } from '../strategy.js';

/**
 * The recorded choices while they last and fit, the earliest enabled point otherwise: a schedule a
 * shrinker edits (a choice set to 0, a tail dropped) still runs, where `replayStrategy` would fail on
 * the first divergence. The same choices give the same run.
 *
 * @example
 * ```ts
 * new Scheduler({ strategy: prefixStrategy([0, 2, 0, 1]) });
 * ```
 */
export function prefixStrategy(choices: readonly number[]): Strategy {
  return {
    name: 'prefix',
    pick: (_points, enabled, step) => {
      const choice = choices[step];
      return choice !== undefined && choice < enabled ? choice : 0;
    },
  };
}
