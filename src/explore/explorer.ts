import { SharedBufferPool } from '../memory/shared-buffers.js';
import { DfsSearch } from '../runtime/strategies/dfs.js';
import type { Scenario } from '../scenario/schema.js';
import { Coverage, type CoverageData, type CoverageReport } from './coverage.js';
import { cannotHit, DEFAULT_FAULT_WEIGHTS, swarmFaults, type FaultWeights } from './fault-plan.js';
import { runSchedule, scheduleSeed, type ExploreStrategy, type ScheduleOutcome, type ScheduleSpec } from './schedule.js';
import type { FaultKind, ScenarioFault } from '../scenario/schema.js';
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
   * "Sometimes" assertions: each fault kind the explorer could add to this scenario or the scenario
   * has, and in how many schedules it hit a live domain — a kind at 0 was never exercised, whatever
   * the budget.
   */
  sometimes: Array<{ fault: string; schedules: number }>;
  /** The kinds the explorer was to add that nothing in the scenario can take (`cannotHit`), and why. */
  notApplicable: Array<{ fault: string; why: string }>;
  wallMs: number;
  schedulesPerSecond: number;
}

/** The fixed facts of an exploration every range of it shares (computed once, by the driver). */
export interface ExplorePlan {
  /** PCT's k: the steps of the earliest-first run. */
  steps: number;
  /** The horizon of added faults: the scenario's `until`, else the earliest-first run's end. */
  horizonMs: number;
  /** The instants at which the earliest-first run took steps (at most `PLAN_INSTANTS_MAX`, evenly spread): where added faults may land (`swarmFaults`). */
  instants: number[];
}

/** The instants a plan keeps at most (it travels to every worker). */
const PLAN_INSTANTS_MAX = 4096;

/** What a range of schedules found (mergeable; plain data, so a worker can return it). */
export interface RangeResult {
  schedules: number;
  violating: number;
  /** The first violating schedule of the range. */
  first: { index: number; outcome: ScheduleOutcome } | null;
  coverage: CoverageData;
  /** Fault kind → schedules in which it hit a live domain. */
  exercised: Record<string, number>;
}

/** The weights of the faults the explorer adds: `--faults`, else the scenario's `explore.faults`, else every kind at 1. */
export function faultWeightsOf(scenario: Scenario, options: Pick<ExploreOptions, 'faultWeights'>): FaultWeights {
  return options.faultWeights ?? scenario.explore.faultWeights ?? DEFAULT_FAULT_WEIGHTS;
}

/** Computes the plan: one run of the scenario with every fault, in earliest-first order. */
export function explorePlan(scenario: Scenario, options: Pick<ExploreOptions, 'seed' | 'untilMs' | 'maxSteps'>): ExplorePlan {
  const baseline = runSchedule(scenario, { seed: options.seed, faults: scenario.faults, strategy: 'prefix' }, { untilMs: options.untilMs, maxSteps: options.maxSteps, instants: true });
  const all = baseline.instants ?? [];
  const every = Math.max(1, Math.ceil(all.length / PLAN_INSTANTS_MAX));
  return { steps: baseline.steps, horizonMs: Math.max(1, scenario.untilMs ?? baseline.virtualTimeMs), instants: all.filter((_, i) => i % every === 0) };
}

/**
 * Runs schedules `from` … `to − 1` of an exploration (not DFS: its schedules depend on each other),
 * stopping at the first violation unless `options.all`.
 */
export function exploreRange(scenario: Scenario, options: ExploreOptions, plan: ExplorePlan, from: number, to: number): RangeResult {
  const coverage = new Coverage();
  const weights = faultWeightsOf(scenario, options);
  const result: RangeResult = { schedules: 0, violating: 0, first: null, coverage: { declared: {}, reached: {} }, exercised: {} };
  const limits = { untilMs: options.untilMs, maxSteps: options.maxSteps, buffers: new SharedBufferPool() };
  for (let index = from; index < to; index++) {
    const seed = scheduleSeed(options.seed, index);
    const faults = options.swarm !== false ? swarmFaults(scenario, seed, weights, plan.horizonMs, plan.instants) : scenario.faults;
    const spec: ScheduleSpec = { seed, faults, strategy: options.strategy, depth: options.depth, steps: plan.steps };
    const outcome = runSchedule(scenario, spec, { ...limits, coverage });
    if (!tally(result, index, outcome, options)) break;
  }
  result.coverage = coverage.toJSON();
  return result;
}

/** Counts one schedule into `result`; false when the exploration should stop. */
function tally(result: RangeResult, index: number, outcome: ScheduleOutcome, options: ExploreOptions): boolean {
  result.schedules++;
  options.onSchedule?.(index, outcome);
  for (const kind of Object.keys(outcome.faultsFired)) result.exercised[kind] = (result.exercised[kind] ?? 0) + 1;
  if (outcome.violations.length === 0) return true;
  result.violating++;
  result.first ??= { index, outcome };
  return options.all === true;
}

/** Bounded DFS: its schedules in order, each from the last one's choices. */
function exploreDfs(scenario: Scenario, options: ExploreOptions): RangeResult & { exhaustive: boolean } {
  const coverage = new Coverage();
  const search = new DfsSearch(options.depth ?? 10);
  const result: RangeResult = { schedules: 0, violating: 0, first: null, coverage: { declared: {}, reached: {} }, exercised: {} };
  const limits = { untilMs: options.untilMs, maxSteps: options.maxSteps, buffers: new SharedBufferPool() };
  for (let index = 0; index < options.budget; index++) {
    const strategy = search.next();
    if (!strategy) break;
    const outcome = runSchedule(scenario, { seed: options.seed, faults: scenario.faults, strategy: 'dfs' }, { ...limits, coverage, strategy });
    if (!tally(result, index, outcome, options)) break;
  }
  result.coverage = coverage.toJSON();
  return { ...result, exhaustive: search.done };
}

/**
 * Explores schedules of a scenario in the deterministic runtime (issue #8): up to `budget` runs,
 * each from its own seed with the strategy's choices (and, swarm-style, its own mix of faults),
 * checking the runtime's monitors; the first violation is shrunk to a minimal schedule and fault
 * list. Coverage of the machines' (state, event) triples is collected across every run. In this
 * thread; `exploreParallel` spreads the schedules over worker threads.
 *
 * @example
 * ```ts
 * const report = explore(loadScenario('scenarios/stress-small.yaml'), { strategy: 'pct', budget: 1000, seed: 1 });
 * report.counterexample?.violations;
 * ```
 */
export function explore(scenario: Scenario, options: ExploreOptions): ExploreReport {
  const started = performance.now();
  if (options.strategy === 'dfs') {
    const result = exploreDfs(scenario, options);
    return report(scenario, options, result, started, result.exhaustive);
  }
  return report(scenario, options, exploreRange(scenario, options, explorePlan(scenario, options), 0, options.budget), started);
}

/**
 * The report of an exploration from its merged results: the first violation shrunk, coverage and
 * the sometimes-assertions.
 */
export function report(scenario: Scenario, options: ExploreOptions, result: RangeResult, started: number, exhaustive?: boolean): ExploreReport {
  const { first } = result;
  const limits = { untilMs: options.untilMs, maxSteps: options.maxSteps };
  const coverage = new Coverage();
  coverage.merge(result.coverage);
  const weights = faultWeightsOf(scenario, options);
  const added = options.swarm !== false && options.strategy !== 'dfs' ? (Object.keys(weights) as FaultKind[]).filter((k) => (weights[k] ?? 0) > 0) : [];
  const kinds = new Set([...added.filter((k) => cannotHit(scenario, k) === null), ...scenario.faults.map((f) => f.kind)]);
  const notApplicable = added.filter((k) => !kinds.has(k)).sort().map((fault) => ({ fault, why: cannotHit(scenario, fault)! }));
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
    schedules: result.schedules,
    violating: result.violating,
    counterexample,
    ...(exhaustive !== undefined ? { exhaustive } : {}),
    coverage: coverage.report(),
    sometimes: [...kinds].sort().map((fault) => ({ fault, schedules: result.exercised[fault] ?? 0 })),
    notApplicable,
    wallMs,
    schedulesPerSecond: result.schedules / (wallMs / 1000),
  };
}
