/**
 * Schedules per second of `argosim explore` (issue #8 item 8): for a small scenario (a handful of
 * steps) and a large one, per strategy, on one thread and on every core — a clean exploration
 * (no violation, so every schedule of the budget runs), coverage and swarm faults on as by default.
 *
 *   npm run bench:explore [-- --scenarios tiny,default] [--budget-scale 4] [--workers 16]
 *
 * --scenarios: by file name, all three by default. --budget-scale: multiplies every budget (the
 * defaults are short: a worker's first thousand schedules or so run while V8 still compiles, so a
 * short budget measures warm-up — on 2 vCPUs tiny's 2-worker speed-up is 1.05× at 4 000 schedules
 * and 1.76× at 16 000). --workers: the worker count (every core by default).
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import { exploreParallel } from '../src/explore/explore-parallel.js';
import { explore } from '../src/explore/explorer.js';
import type { ExploreStrategy } from '../src/explore/schedule.js';
import { loadScenarioForTrace } from '../src/inspector/trace-file.js';
import { positiveFlag, printTable, si } from './table.js';

const SCENARIOS: Array<{ file: string; budget: number; strategies: ExploreStrategy[] }> = [
  { file: 'scenarios/tiny.yaml', budget: 4000, strategies: ['random', 'pct', 'pos', 'dfs'] },
  { file: 'scenarios/default.yaml', budget: 1000, strategies: ['random', 'pct', 'pos', 'dfs'] },
  { file: 'scenarios/stress-small.yaml', budget: 150, strategies: ['random', 'pct', 'pos'] },
];

const { values: args } = parseArgs({ options: { scenarios: { type: 'string' }, 'budget-scale': { type: 'string' }, workers: { type: 'string' } } });
const positive = (flag: string, text: string | undefined, fallback: number, whole: boolean) => positiveFlag('bench:explore', flag, text, fallback, whole);

/** The scenarios `--scenarios` names (by file name without `.yaml`), or all, with budgets scaled by `--budget-scale`. */
function chosen(): typeof SCENARIOS {
  const scale = positive('budget-scale', args['budget-scale'], 1, false);
  return named().map((s) => ({ ...s, budget: Math.max(1, Math.round(s.budget * scale)) }));
}

function named(): typeof SCENARIOS {
  if (args.scenarios === undefined) return SCENARIOS;
  const byName = new Map(SCENARIOS.map((s) => [s.file.replace(/^scenarios\/|\.yaml$/g, ''), s]));
  return args.scenarios.split(',').map((name) => {
    const s = byName.get(name);
    if (!s) throw new Error(`bench:explore: --scenarios ${name} is not one of ${[...byName.keys()].join(', ')}`);
    return s;
  });
}

async function main(): Promise<void> {
  const scenarios = chosen();
  const cores = positive('workers', args.workers, os.availableParallelism(), true);
  console.log(`argosim bench: explore — ${os.cpus()[0]?.model ?? 'unknown CPU'} × ${cores}, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  console.log('(a clean exploration from seed 1: every schedule of the budget runs; dfs always in one thread)\n');
  const rows: string[][] = [];
  for (const { file, budget, strategies } of scenarios) {
    const loaded = loadScenarioForTrace(file);
    explore(loaded.scenario, { strategy: 'random', budget: Math.min(budget, 100), seed: 99 }); // warm-up
    for (const strategy of strategies) {
      const options = { strategy, budget, seed: 1, depth: strategy === 'dfs' ? 6 : undefined };
      const one = explore(loaded.scenario, options);
      const all = strategy === 'dfs' ? one : await exploreParallel(loaded.source, loaded.scenario, [], options, cores);
      rows.push([
        loaded.scenario.name,
        strategy,
        String(one.schedules),
        si(one.schedulesPerSecond),
        strategy === 'dfs' ? '—' : si(all.schedulesPerSecond),
        strategy === 'dfs' ? '—' : `${(all.schedulesPerSecond / one.schedulesPerSecond).toFixed(2)}×`,
        `${(one.coverage.fraction * 100).toFixed(1)}%`,
      ]);
    }
  }
  printTable(['scenario', 'strategy', 'schedules', 'schedules/s 1 thread', `schedules/s ${cores} workers`, 'speed-up', 'coverage'], rows);
}

await main();
