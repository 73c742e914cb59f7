import type { Scenario } from '../scenario/schema.js';
import type { HistoricalBug } from '../xen/historical-bugs.js';

/**
 * The scenario with `bugs` switched on as well.
 *
 * @example
 * ```ts
 * withBugs(scenario, ['sendvReturnsZeroWhenQueued']).bugs.sendvReturnsZeroWhenQueued; // true
 * ```
 */
export function withBugs(scenario: Scenario, bugs: readonly HistoricalBug[]): Scenario {
  if (bugs.length === 0) return scenario;
  return { ...scenario, bugs: { ...scenario.bugs, ...Object.fromEntries(bugs.map((b) => [b, true])) } };
}
