import type { Strategy } from '../strategy.js';

/** A replay asked for a choice the run cannot make: the scenario, seed or version differ. */
export class ReplayDivergenceError extends Error {
  constructor(
    readonly step: number,
    readonly recorded: number | undefined,
    readonly enabled: number,
  ) {
    super(
      recorded === undefined
        ? `replay ran out of recorded choices at step ${step} (${enabled} points enabled): the run is longer than the recording`
        : `replay diverged at step ${step}: recorded choice ${recorded} but only ${enabled} points are enabled`,
    );
    this.name = 'ReplayDivergenceError';
  }
}

/**
 * Replays a recorded list of choices (a `Scheduler`'s `choices`), failing loudly if the run
 * diverges from the recording.
 *
 * @example
 * ```ts
 * const again = new Scheduler({ strategy: replayStrategy(first.choices) });
 * ```
 */
export function replayStrategy(choices: readonly number[]): Strategy {
  return {
    name: 'replay',
    pick: (_points, enabled, step) => {
      const choice = choices[step];
      if (choice === undefined || choice >= enabled) throw new ReplayDivergenceError(step, choice, enabled);
      return choice;
    },
  };
}
