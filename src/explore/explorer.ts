import { DfsSearch } from '../runtime/strategies/dfs.js';
import type { Scenario } from '../scenario/schema.js';
import { Coverage, type CoverageReport } from './coverage.js';
import { runSchedule, scheduleSeed, swarmFaults, type ExploreStrategy, type ScheduleOutcome, type ScheduleSpec } from './schedule.js';
import { shrink } from './shrink.js';

/** Options of `explore` (the flags of `argosim explore`). */
export interface ExploreOptions {
  strategy: ExploreStrategy;
  /** Schedules to run at most. */
  budget: number;
  /** The exploration's seed: schedule i runs with `scheduleSeed(seed, i)`. */
  seed: number;
  /** PCT: the bug depth d; DFS: the steps whose choices are enumerated. */
  depth?: number;
  /** Go on after a violation (default: stop at the first). */
  all?: boolean;
  /** A different mix of the scenario's faults per schedule (default true). */
  swarm?: boolean;
  /** Runs the shrinker may take (default 500). */
  shrinkBudget?: number;
  untilMs?: number;
  maxSteps?: number;
  /** Called after each schedule. */
  onSchedule?: (index: number, outcome: ScheduleOutcome) => void;
}

/** A violating schedule, shrunk. */
export interface Counterexample {
  /** The schedule's index in the exploration, and its seed. */
  index: number;
  seed: number;
  /** The scenario faults left on (indices into `scenario.faults`). */
  faults: number[];
  /** Every choice of the shrunk run: `replayStrategy(choices)` with the seed and faults reproduces it. */
  choices: number[];
  /** Choices that are not the earliest point. */
  deviations: number;
  steps: number;
  violations: string[];
  /** The violating schedule before shrinking: its steps and deviations, and the runs shrinking took. */
  original: { steps: number; deviations: number; faults: number; shrinkRuns: number };
}

/** What an exploration found (`argosim explore --json`). */
export interface ExploreReport {
  scenario: string;
  strategy: ExploreStrategy;
  seed: number;
  budget: number;
  schedules: number;
  /** Schedules that violated an invariant. */
  violating: number;
  /** The first violation, shrunk; null when none was found. */
  counterexample: Counterexample | null;
  /** DFS only: every schedule up to the depth was run. */
  exhaustive?: boolean;
  coverage: CoverageReport;
  wallMs: number;
  schedulesPerSecond: number;
}

/**
 * Explores schedules of a scenario in the deterministic runtime (issue #8): up to `budget` runs,
 * each from its own seed with the strategy's choices (and, swarm-style, its own mix of faults),
 * checking the message invariants; the first violation is shrunk to a minimal schedule and fault
 * list. Coverage of the machines' (state, event) triples is collected across every run.
 *
 * @example
 * ```ts
 * const report = explore(loadScenario('scenarios/stress-small.yaml'), { strategy: 'pct', budget: 1000, seed: 1 });
 * report.counterexample?.violations;
 * ```
 */
export function explore(scenario: Scenario, options: ExploreOptions): ExploreReport {
  const started = performance.now();
  const coverage = new Coverage();
  const swarm = options.swarm ?? true;
  const all = scenario.faults.map((_, i) => i);
  let schedules = 0;
  let violating = 0;
  let first: { index: number; outcome: ScheduleOutcome } | null = null;
  const limits = { untilMs: options.untilMs, maxSteps: options.maxSteps };
  const dfs = options.strategy === 'dfs' ? new DfsSearch(options.depth ?? 10) : null;
  // PCT's k: the steps of one run of the scenario in earliest-first order
  const steps = options.strategy === 'pct' ? runSchedule(scenario, { seed: options.seed, faults: all, strategy: 'prefix' }, limits).steps : undefined;

  for (let index = 0; index < options.budget; index++) {
    const seed = dfs ? options.seed : scheduleSeed(options.seed, index);
    const strategy = dfs?.next();
    if (dfs && !strategy) break;
    const spec: ScheduleSpec = { seed, faults: swarm && !dfs ? swarmFaults(scenario, seed) : all, strategy: options.strategy, depth: options.depth, steps };
    const outcome = runSchedule(scenario, spec, { ...limits, coverage, strategy: strategy ?? undefined });
    schedules++;
    options.onSchedule?.(index, outcome);
    if (outcome.violations.length === 0) continue;
    violating++;
    first ??= { index, outcome };
    if (!options.all) break;
  }

  let counterexample: Counterexample | null = null;
  if (first) {
    const { outcome, runs } = shrink(scenario, first.outcome, { budget: options.shrinkBudget, ...limits });
    const deviations = (choices: number[]) => choices.filter((c) => c !== 0).length;
    counterexample = {
      index: first.index,
      seed: outcome.seed,
      faults: outcome.faults,
      choices: outcome.choices,
      deviations: deviations(outcome.choices),
      steps: outcome.steps,
      violations: outcome.violations,
      original: { steps: first.outcome.steps, deviations: deviations(first.outcome.choices), faults: first.outcome.faults.length, shrinkRuns: runs },
    };
  }
  const wallMs = performance.now() - started;
  return {
    scenario: scenario.name,
    strategy: options.strategy,
    seed: options.seed,
    budget: options.budget,
    schedules,
    violating,
    counterexample,
    ...(dfs ? { exhaustive: dfs.done } : {}),
    coverage: coverage.report(),
    wallMs,
    schedulesPerSecond: schedules / (wallMs / 1000),
  };
}
