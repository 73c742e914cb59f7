import { SharedBufferPool } from '../memory/shared-buffers.js';
import type { Scenario, ScenarioFault } from '../scenario/schema.js';
import { runSchedule, type ScheduleOutcome } from './schedule.js';

/**
 * Shrinks a violating schedule (issue #8 item 5) to fewer faults and fewer deviations from the
 * earliest-first order, keeping a violation:
 *
 * 1. each fault is dropped if the schedule still violates without it;
 * 2. the choices that are not 0 (the deviations) are set to 0 in chunks, delta-debugging style
 *    (Zeller and Hildebrandt, "Simplifying and Isolating Failure-Inducing Input", TSE 2002): halves,
 *    then quarters, …, keeping every chunk whose removal keeps a violation.
 *
 * Runs use `prefixStrategy`, so an edited schedule still runs: past a choice the run cannot make it
 * takes the earliest point. At most `budget` runs. The result is the last violating run, with
 * every choice it made (replayable exactly).
 *
 * @example
 * ```ts
 * const small = shrink(scenario, failing, { budget: 500 });
 * small.outcome.choices.filter((c) => c !== 0).length; // a handful of deviations
 * ```
 */
export function shrink(
  scenario: Scenario,
  failing: ScheduleOutcome,
  options: { budget?: number; untilMs?: number; maxSteps?: number } = {},
): { outcome: ScheduleOutcome; runs: number } {
  const budget = options.budget ?? 500;
  let runs = 0;
  let best = failing;
  const run = { ...options, buffers: new SharedBufferPool() };
  const attempt = (faults: ScenarioFault[], choices: number[]): ScheduleOutcome | null => {
    if (runs >= budget) return null;
    runs++;
    const outcome = runSchedule(scenario, { seed: failing.seed, faults, strategy: 'prefix', choices }, run);
    return outcome.violations.length > 0 ? outcome : null;
  };

  // 1. faults, one at a time
  for (const fault of [...best.faults]) {
    const found = attempt(best.faults.filter((f) => f !== fault), best.choices);
    if (found) best = found;
  }

  // 2. deviations, in chunks (ddmin)
  let chunks = 2;
  for (;;) {
    const deviations = best.choices.flatMap((c, i) => (c !== 0 ? [i] : []));
    if (deviations.length === 0 || runs >= budget) break;
    chunks = Math.min(chunks, deviations.length);
    const size = Math.ceil(deviations.length / chunks);
    let removed = false;
    for (let start = 0; start < deviations.length; start += size) {
      const zeroed = new Set(deviations.slice(start, start + size));
      const found = attempt(best.faults, best.choices.map((c, i) => (zeroed.has(i) ? 0 : c)));
      if (found) {
        best = found;
        removed = true;
        break;
      }
    }
    if (removed) chunks = Math.max(chunks - 1, 2);
    else if (chunks >= deviations.length) break;
    else chunks = Math.min(chunks * 2, deviations.length);
  }
  return { outcome: best, runs };
}
