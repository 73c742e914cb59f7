import { DfsSearch } from '../runtime/strategies/dfs.js';
import type { Scenario } from '../scenario/schema.js';
import { Coverage, type CoverageReport } from './coverage.js';
import { DEFAULT_FAULT_WEIGHTS, swarmFaults, type FaultWeights } from './fault-plan.js';
import { runSchedule, scheduleSeed, type ExploreStrategy, type ScheduleOutcome, type ScheduleSpec } from './schedule.js';
import type { ScenarioFault } from '../scenario/schema.js';
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
  /**
   * Swarm faults (default true): each schedule its own mix of the scenario's faults and of faults the
   * explorer adds (`faultWeights`); false: every schedule runs the scenario's faults as written.
   */
  swarm?: boolean;
  /** The kinds of fault the explorer adds, weighted (default: every kind at 1; `{}`: none). */
  faultWeights?: FaultWeights;
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
  /** The faults it runs with: the scenario's that were left on (their `line`), and added ones (line 0). */
  faults: ScenarioFault[];
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
  /**
   * "Sometimes" assertions: each fault kind the explorer could add or the scenario has, and in how
   * many schedules it hit a live domain — a kind at 0 was never exercised, whatever the budget.
   */
  sometimes: Array<{ fault: string; schedules: number }>;
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
  const all = scenario.faults;
  const weights = options.faultWeights ?? DEFAULT_FAULT_WEIGHTS;
  let schedules = 0;
  let violating = 0;
  let first: { index: number; outcome: ScheduleOutcome } | null = null;
  const exercised = new Map<string, number>();
  for (const kind of new Set([...Object.keys(weights).filter((k) => (weights[k as keyof typeof weights] ?? 0) > 0 && swarm), ...scenario.faults.map((f) => f.kind)])) exercised.set(kind, 0);
  const limits = { untilMs: options.untilMs, maxSteps: options.maxSteps };
  const dfs = options.strategy === 'dfs' ? new DfsSearch(options.depth ?? 10) : null;
  // one run in earliest-first order: PCT's k (its steps) and the horizon of added faults (its time)
  const baseline = runSchedule(scenario, { seed: options.seed, faults: all, strategy: 'prefix' }, limits);
  const steps = options.strategy === 'pct' ? baseline.steps : undefined;
  const horizonMs = Math.max(1, scenario.untilMs ?? baseline.virtualTimeMs);

  for (let index = 0; index < options.budget; index++) {
    const seed = dfs ? options.seed : scheduleSeed(options.seed, index);
    const strategy = dfs?.next();
    if (dfs && !strategy) break;
    const faults = swarm && !dfs ? swarmFaults(scenario, seed, weights, horizonMs) : all;
    const spec: ScheduleSpec = { seed, faults, strategy: options.strategy, depth: options.depth, steps };
    const outcome = runSchedule(scenario, spec, { ...limits, coverage, strategy: strategy ?? undefined });
    schedules++;
    options.onSchedule?.(index, outcome);
    for (const kind of Object.keys(outcome.faultsFired)) exercised.set(kind, (exercised.get(kind) ?? 0) + 1);
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
    sometimes: [...exercised].map(([fault, n]) => ({ fault, schedules: n })).sort((a, b) => a.fault.localeCompare(b.fault)),
    wallMs,
    schedulesPerSecond: schedules / (wallMs / 1000),
  };
}
