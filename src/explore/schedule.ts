import { SeededRandom } from '../runtime/random.js';
import type { Strategy } from '../runtime/strategy.js';
import { pctStrategy } from '../runtime/strategies/pct.js';
import { posStrategy } from '../runtime/strategies/pos.js';
import { prefixStrategy } from '../runtime/strategies/prefix.js';
import { randomStrategy } from '../runtime/strategies/random.js';
import { createSystem } from '../runtime/system.js';
import type { SharedBufferPool } from '../memory/shared-buffers.js';
import type { Scenario, ScenarioFault } from '../scenario/schema.js';
import { withFaults } from './fault-plan.js';
import type { Coverage } from './coverage.js';

/** The strategies `argosim explore` takes (`dfs` is driven by the explorer itself). */
export const EXPLORE_STRATEGIES = ['random', 'pct', 'pos', 'dfs'] as const;
export type ExploreStrategy = (typeof EXPLORE_STRATEGIES)[number];

/**
 * One schedule to run: the seed of the run (workload bytes, fault times, the strategy's own
 * randomness), the faults it runs with (some of the scenario's, some generated), and either a
 * strategy to make the choices or the choices themselves.
 */
export interface ScheduleSpec {
  seed: number;
  faults: ScenarioFault[];
  strategy: ExploreStrategy | 'prefix';
  /** For `prefix`: the choices (then the earliest point). */
  choices?: number[];
  /** PCT's depth (default 3). */
  depth?: number;
  /** PCT's estimate of a run's steps. */
  steps?: number;
}

/** What one schedule did. */
export interface ScheduleOutcome {
  seed: number;
  faults: ScenarioFault[];
  steps: number;
  virtualTimeMs: number;
  /** Faults that hit a live domain, by kind. */
  faultsFired: Record<string, number>;
  /** Every choice made: `replayStrategy(choices)` with the same seed and faults runs it again. */
  choices: number[];
  violations: string[];
  /** The distinct instants (virtual ms) at which steps were taken, in order (only when asked: `instants`). */
  instants?: number[];
}

/** The seed of schedule `index` of an exploration from `seed`. */
export function scheduleSeed(seed: number, index: number): number {
  return new SeededRandom((seed ^ Math.imul(index + 1, 0x9e3779b1)) | 0).int(0, 0x7fffffff);
}

function strategyOf(spec: ScheduleSpec): Strategy {
  switch (spec.strategy) {
    case 'random': return randomStrategy(spec.seed);
    case 'pct': return pctStrategy(spec.seed, { depth: spec.depth, steps: spec.steps });
    case 'pos': return posStrategy(spec.seed);
    case 'prefix':
    case 'dfs': return prefixStrategy(spec.choices ?? []);
  }
}

/**
 * Runs one schedule of `scenario` in the deterministic runtime and reports its violations: the
 * runtime's message invariants (exactly once, intact, in order, nothing after teardown or across a
 * denied edge). `coverage`, if given, collects the transitions taken; `buffers`, if given, lends the
 * run's host its shared memory and gets it back (recycled) when the run is over.
 *
 * @example
 * ```ts
 * const outcome = runSchedule(scenario, { seed: 9, faults: [0, 2], strategy: 'pct' });
 * outcome.violations; // []
 * ```
 */
export function runSchedule(
  scenario: Scenario,
  spec: ScheduleSpec,
  options: { untilMs?: number; maxSteps?: number; coverage?: Coverage; strategy?: Strategy; instants?: boolean; buffers?: SharedBufferPool } = {},
): ScheduleOutcome {
  try {
    const system = createSystem(withFaults(scenario, spec.faults), {
      seed: spec.seed,
      strategy: options.strategy ?? strategyOf(spec),
      untilMs: options.untilMs,
      maxSteps: options.maxSteps,
      inspect: options.coverage?.observer,
      record: options.instants ?? false,
      buffers: options.buffers,
    });
    options.coverage?.declare(system.actors().map((a) => a.actor.logic));
    const summary = system.run();
    const outcome: ScheduleOutcome = { seed: spec.seed, faults: [...spec.faults], steps: summary.steps, virtualTimeMs: summary.virtualTimeMs, faultsFired: summary.faults ?? {}, choices: [...system.scheduler.choices], violations: summary.invariantViolations };
    if (options.instants) outcome.instants = instantsOf(system.scheduler.trace);
    return outcome;
  } finally {
    options.buffers?.recycle(); // the system is dropped: nothing reads its memory again
  }
}

/** The distinct times of a run's steps, in order (steps come in time order). */
function instantsOf(trace: ReadonlyArray<{ atMs: number }>): number[] {
  const instants: number[] = [];
  for (const { atMs } of trace) if (instants.length === 0 || instants[instants.length - 1] !== atMs) instants.push(atMs);
  return instants;
}
