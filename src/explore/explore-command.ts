import { writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { loadScenarioForTrace, TRACE_FORMAT, type TraceFile } from '../inspector/trace-file.js';
import { InspectedRun } from '../inspector/inspected-run.js';
import { INSPECTOR_PROTOCOL_VERSION } from '../inspector/protocol.js';
import { parseScenario } from '../scenario/load-scenario.js';
import { FAULT_KINDS, type FaultKind } from '../scenario/schema.js';
export { withBugs } from './bugs.js';
import type { FaultWeights } from './fault-plan.js';
import { parseBugs, parseCount, parseInteger, parseUntil } from '../cli/flags.js';
import { HISTORICAL_BUGS, type HistoricalBug } from '../xen/historical-bugs.js';
import { counterexampleText } from './counterexample-scenario.js';
import { type Counterexample, type ExploreReport } from './explorer.js';
import { exploreParallel } from './explore-parallel.js';
import { availableParallelism } from 'node:os';
import { EXPLORE_STRATEGIES, type ExploreStrategy } from './schedule.js';

interface ExploreFlags {
  strategy: ExploreStrategy;
  budget: number;
  seed: number;
  depth?: number;
  bugs: HistoricalBug[];
  all?: boolean;
  swarm: boolean;
  faults?: FaultWeights;
  workers?: number;
  until?: number;
  json?: boolean;
  out: string;
  listBugs?: boolean;
}

/**
 * `argosim explore <scenario>` (issue #8): explores schedules in the deterministic runtime, shrinks the
 * first violation, writes it as a trace (`argosim replay <file>` re-runs and checks it, `--ui`
 * scrubs through it) and prints it step by step.
 */
export function registerExploreCommand(program: Command): void {
  program
    .command('explore')
    .description('explore schedules of a scenario for invariant violations; shrink, save and print the first one')
    .argument('[scenario]', 'scenario file (YAML, see docs/scenarios.md)', 'scenarios/default.yaml')
    .option('--strategy <name>', `${EXPLORE_STRATEGIES.join(' | ')}`, parseStrategy, 'random' as ExploreStrategy)
    .option('--budget <n>', 'schedules to run at most', parseCount('--budget'), 1000)
    .option('--seed <n>', 'seed of the exploration (each schedule derives its own)', parseInteger('--seed'), 1)
    .option('--depth <d>', 'pct: the bug depth (default 3); dfs: the steps whose choices are enumerated (default 10)', parseCount('--depth'))
    .option('--bugs <names>', 'historical bugs to switch on, comma-separated (see --list-bugs)', parseBugs, [] as HistoricalBug[])
    .option('--all', 'go on after the first violation (count them all)')
    .option('--no-swarm', 'every schedule with the scenario\'s faults as written, none added (default: a different mix per schedule)')
    .option('--faults <kinds>', `the faults the explorer adds, as kind[:weight],… of ${FAULT_KINDS.join(', ')}; "none" for none (default: every kind, weight 1)`, parseFaultWeights)
    .option('--until <time>', 'virtual time limit of each schedule, e.g. 500ms (default: the scenario\'s)', parseUntil)
    .option('--out <file>', 'where to write the counterexample trace', 'counterexample.json')
    .option('--workers <n>', 'worker threads (default: the cores, at most one per 64 schedules; dfs runs in one)', parseCount('--workers'))
    .option('--json', 'print one JSON object on stdout')
    .option('--list-bugs', 'print every historical-bug switch, one per line, and exit')
    .action(async (file: string, flags: ExploreFlags) => {
      if (flags.listBugs) {
        for (const [name, bug] of Object.entries(HISTORICAL_BUGS)) console.log(`${name}\t${bug.component}\t${bug.fixedBy}\t${bug.summary}`);
        return;
      }
      const loaded = loadScenarioForTrace(file);
      const workers = flags.workers ?? Math.min(availableParallelism(), Math.ceil(flags.budget / 64));
      const report = await exploreParallel(loaded.source, loaded.scenario, flags.bugs, {
        strategy: flags.strategy,
        budget: flags.budget,
        seed: flags.seed,
        depth: flags.depth,
        all: flags.all,
        swarm: flags.swarm,
        faultWeights: flags.faults,
        untilMs: flags.until,
      }, workers);
      let trace: TraceFile | undefined;
      if (report.counterexample) {
        const text = counterexampleText(loaded.source.text, loaded.scenario.source.lines, { faults: report.counterexample.faults, bugs: flags.bugs });
        trace = counterexampleTrace({ ...loaded.source, text }, report.counterexample, flags.until);
        writeFileSync(flags.out, JSON.stringify(trace));
      }
      const saved = trace ? flags.out : undefined;
      console.log(flags.json ? JSON.stringify({ ...report, bugs: flags.bugs, replayFile: saved ?? null }) : formatExplore(report, flags, saved, trace));
      if (report.counterexample) process.exitCode = 2;
    });
}

/**
 * The counterexample as an inspector trace (docs/inspector.md "Trace files"): the scenario text it
 * ran (its kept faults, its bugs), its seed and every choice, each step recorded.
 */
export function counterexampleTrace(source: TraceFile['scenario'], cx: Counterexample, untilMs: number | undefined): TraceFile {
  const readFile = (p: string) => {
    const text = source.files[p];
    if (text === undefined) throw new Error(`the scenario reads ${p}, which was not kept`);
    return text;
  };
  const scenario = parseScenario(source.text, source.file, { readFile });
  const run = new InspectedRun(scenario, { seed: cx.seed, untilMs, choices: cx.choices, record: true });
  while (run.step() === 'more');
  const summary = run.system.finish();
  return {
    format: TRACE_FORMAT,
    version: INSPECTOR_PROTOCOL_VERSION,
    scenario: source,
    seed: cx.seed,
    untilMs: untilMs ?? null,
    maxSteps: null,
    end: run.end,
    choices: [...run.system.scheduler.choices],
    ...run.recording!,
    summary,
  };
}

/** `balloon, dm_death (no virtio-mmio device); unregister (no ring in the scenario)`: the kinds grouped by reason. */
function notApplicableLine(kinds: ExploreReport['notApplicable']): string {
  const byWhy = new Map<string, string[]>();
  for (const { fault, why } of kinds) byWhy.set(why, [...(byWhy.get(why) ?? []), fault]);
  return [...byWhy].map(([why, faults]) => `${faults.join(', ')} (${why})`).join('; ');
}

/** The readable report: what was explored, and the counterexample step by step. */
export function formatExplore(report: ExploreReport, flags: Pick<ExploreFlags, 'bugs'>, saved: string | undefined, trace?: TraceFile): string {
  const lines = [
    `argosim explore: ${report.scenario} (${report.strategy}, seed ${report.seed}${flags.bugs.length ? `, bugs: ${flags.bugs.join(', ')}` : ''})`,
    `${report.schedules} schedule(s) of ${report.budget} in ${(report.wallMs / 1000).toFixed(2)} s (${report.schedulesPerSecond.toFixed(0)}/s)` +
      (report.exhaustive !== undefined ? `; dfs ${report.exhaustive ? 'exhausted every schedule up to the depth' : 'stopped before exhausting the depth'}` : ''),
    `coverage: ${report.coverage.reached} of ${report.coverage.total} (state, event) pairs of the machines (${(report.coverage.fraction * 100).toFixed(1)}%)`,
    ...(report.sometimes.length > 0
      ? [`faults exercised (schedules): ${report.sometimes.map((s) => `${s.fault} ${s.schedules}${s.schedules === 0 ? ' ✗ never' : ''}`).join(', ')}`]
      : []),
    ...(report.notApplicable.length > 0 ? [`faults with nothing to land on here: ${notApplicableLine(report.notApplicable)}`] : []),
  ];
  const cx = report.counterexample;
  if (!cx) return [...lines, `no violation found (${report.violating} violating schedules)`].join('\n');
  lines.push(
    `violation in schedule ${cx.index} (seed ${cx.seed}); shrunk from ${cx.original.steps} steps, ${cx.original.deviations} deviations and ${cx.original.faults} fault(s) to ${cx.steps} steps, ${cx.deviations} deviation(s) and ${cx.faults.length} fault(s) in ${cx.original.shrinkRuns} runs`,
    ...cx.violations.slice(0, 5).map((v) => `  ✗ ${v}`),
    ...(cx.violations.length > 5 ? [`  … and ${cx.violations.length - 5} more`] : []),
  );
  if (trace) lines.push('', ...formatSteps(trace));
  if (saved) lines.push('', `replay: argosim replay ${saved}   (in the browser: argosim replay ${saved} --ui)`);
  return lines.join('\n');
}

/** Steps printed in full up to this many; beyond, the deviations and the last steps. */
const STEPS_PRINTED = 120;

/**
 * The counterexample step by step: virtual time, the point that ran (kind, actor, what), `*` where
 * the schedule deviated from the earliest point, and the actors whose state moved.
 */
export function formatSteps(trace: TraceFile): string[] {
  const steps = trace.steps;
  const lastFrom = steps.length - 20;
  const shown = steps.filter((s) => steps.length <= STEPS_PRINTED || s.choice !== 0 || s.step < 40 || s.step >= lastFrom);
  const out = [`steps (${steps.length}; * = not the earliest enabled point${shown.length < steps.length ? '; shown: the first 40, those, and the last 20' : ''}):`];
  let previous = -1;
  for (const s of shown) {
    if (s.step !== previous + 1) out.push('   …');
    previous = s.step;
    const moved = s.changes.map(([id, state]) => `${id} → ${state ?? 'gone'}`).join(', ');
    out.push(`${s.choice !== 0 ? '*' : ' '}${String(s.step).padStart(5)}  ${s.atMs.toFixed(3).padStart(10)} ms  ${s.kind.padEnd(9)} ${s.actor.padEnd(18)} ${s.label}${moved ? `   [${moved}]` : ''}`);
  }
  return out;
}

function parseStrategy(value: string): ExploreStrategy {
  if (!(EXPLORE_STRATEGIES as readonly string[]).includes(value)) throw new InvalidArgumentError(`--strategy takes one of ${EXPLORE_STRATEGIES.join(', ')}, got "${value}"`);
  return value as ExploreStrategy;
}

function parseFaultWeights(value: string): FaultWeights {
  if (value === 'none') return {};
  const weights: FaultWeights = {};
  for (const part of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [kind, weight = '1'] = part.split(':');
    if (!(FAULT_KINDS as readonly string[]).includes(kind)) throw new InvalidArgumentError(`--faults: no fault kind "${kind}"; the kinds are ${FAULT_KINDS.join(', ')}`);
    const w = Number(weight);
    if (!(w >= 0) || !Number.isFinite(w)) throw new InvalidArgumentError(`--faults: the weight of ${kind} must be a number >= 0, got "${weight}"`);
    weights[kind as FaultKind] = w;
  }
  return weights;
}

