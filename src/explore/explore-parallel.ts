import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { workerFile } from '../parallel/worker-file.js';
import type { Scenario } from '../scenario/schema.js';
import type { HistoricalBug } from '../xen/historical-bugs.js';
import { withBugs } from './bugs.js';
import { Coverage } from './coverage.js';
import { explore, explorePlan, report, type ExploreOptions, type ExploreReport, type RangeResult } from './explorer.js';
import type { ExploreTask } from '../../workers/explore.js';

/** Schedules per task handed to a worker. */
const CHUNK = 64;

/**
 * `explore` over `workers` piscina worker threads: the schedules are cut into ranges of 64, run in
 * parallel, and merged; with a violation, ranges after it are not started, and the one reported is
 * the first violating schedule in index order — the one a single-threaded exploration would report
 * (so the report does not depend on the workers' timing, only the count of schedules run does).
 * DFS runs in this thread: each of its schedules follows from the one before.
 *
 * @example
 * ```ts
 * const report = await exploreParallel(source, scenario, [], { strategy: 'pct', budget: 20000, seed: 1 }, 4);
 * ```
 */
export async function exploreParallel(
  source: ExploreTask['scenario'],
  scenario: Scenario,
  bugs: readonly HistoricalBug[],
  options: ExploreOptions,
  workers = availableParallelism(),
): Promise<ExploreReport> {
  const buggy = withBugs(scenario, bugs);
  if (options.strategy === 'dfs' || workers <= 1) return explore(buggy, options);
  const started = performance.now();
  const plan = explorePlan(buggy, options);
  const pool = new Piscina({ filename: workerFile('explore'), minThreads: workers, maxThreads: workers });
  const { onSchedule: _, ...plain } = options;
  const merged: RangeResult = { schedules: 0, violating: 0, first: null, coverage: { declared: {}, reached: {} }, exercised: {} };
  const coverage = new Coverage();
  let next = 0;
  /** One lane per worker: takes the next range until none is left or a violation came before it. */
  const lane = async (): Promise<void> => {
    while (next < options.budget) {
      const from = next;
      const to = Math.min(options.budget, from + CHUNK);
      next = to;
      if (merged.first && from > merged.first.index && !options.all) return;
      const result: RangeResult = await pool.run({ scenario: source, bugs: [...bugs], options: plain, plan, from, to } satisfies ExploreTask);
      merged.schedules += result.schedules;
      merged.violating += result.violating;
      coverage.merge(result.coverage);
      for (const [kind, n] of Object.entries(result.exercised)) merged.exercised[kind] = (merged.exercised[kind] ?? 0) + n;
      if (result.first && (!merged.first || result.first.index < merged.first.index)) merged.first = result.first;
    }
  };
  try {
    await Promise.all(Array.from({ length: workers }, lane));
  } finally {
    await pool.destroy();
  }
  merged.coverage = coverage.toJSON();
  return report(buggy, options, merged, started);
}
