import { expect } from 'vitest';
import type { Scenario } from '../../src/scenario/schema.js';
import { createSystem } from '../../src/runtime/system.js';

/**
 * A race scenario over seeds 1…`seeds`, both ways: with its switch off no seed may show a violation
 * (checked here); with it on, the violations of each seed that shows any — how often the scheduler's
 * order meets the race.
 *
 * @example
 * ```ts
 * const shown = sweepSeeds(scenario, withBugs(scenario, ['ioreqResentAfterShutdown']), 30);
 * expect(shown.length).toBeGreaterThanOrEqual(5);
 * ```
 */
export function sweepSeeds(scenario: Scenario, buggy: Scenario, seeds: number): string[][] {
  const shown: string[][] = [];
  for (let seed = 1; seed <= seeds; seed++) {
    expect(createSystem(scenario, { seed }).run().invariantViolations).toEqual([]);
    const violations = createSystem(buggy, { seed }).run().invariantViolations;
    if (violations.length > 0) shown.push(violations);
  }
  return shown;
}
