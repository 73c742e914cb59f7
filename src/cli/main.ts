#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { runBuiltinExample } from '../example/builtin-example.js';
import { formatSummary } from '../example/format-summary.js';
import { createSystem } from '../runtime/system.js';
import { loadScenario } from '../scenario/load-scenario.js';
import { parseBugs, parseUntil } from './flags.js';
import { withBugs } from '../explore/bugs.js';
import type { HistoricalBug } from '../xen/historical-bugs.js';
import { formatRunSummary } from './format-run.js';
import { parseRuntime, parseTimeScale, parseWorkers, runParallelCommand } from '../parallel/run-command.js';
import { PARALLEL_BUGS, PARALLEL_BUGS_COVER } from '../parallel/parallel-system.js';
import { inspectScenario, recordScenario, replayTrace } from '../inspector/commands.js';
import { registerExploreCommand } from '../explore/explore-command.js';
import { Presets, SingleBar } from 'cli-progress';

function parseSeed(value: string): number {
  const seed = Number(value);
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError(`--seed takes an integer, got "${value}"`);
  return seed;
}

const program = new Command()
  .name('argosim')
  .description('An actor-model model of a Xen host built around Argo (hypervisor-mediated exchange).');

program
  .command('example')
  .description('run the built-in example: dom0 and three guests under FLASK, exchanging over Argo')
  .option('--seed <n>', 'seed of the random message sizes', parseSeed, 1)
  .option('--json', 'print the summary as JSON')
  .action(async (options: { seed: number; json?: boolean }) => {
    const summary = await runBuiltinExample(options.seed);
    console.log(options.json ? JSON.stringify(summary, null, 2) : formatSummary(summary));
  });

program
  .command('run')
  .description('run a scenario in the deterministic runtime (or, with --runtime parallel, on worker threads) and report what happened')
  .argument('[scenario]', 'scenario file (YAML, see docs/scenarios.md)', 'scenarios/default.yaml')
  .option('--seed <n>', 'seed of the scheduler and the workloads (default: the scenario\'s)', parseSeed)
  .option('--until <time>', 'virtual time limit, e.g. 500ms or 2s (default: the scenario\'s)', parseUntil)
  .option('--json', 'print one JSON object on stdout')
  .option('--bugs <names>', 'historical bugs to switch on, comma-separated (argosim explore --list-bugs)', parseBugs, [] as HistoricalBug[])
  .option('--inspect', 'run it in the browser inspector instead (see `argosim inspect`)')
  .option('--port <n>', 'with --inspect: the inspector\'s port (0: any free one)', parsePort, 7777)
  .option('--record <file>', 'write a trace of every step to <file> (JSON), for `argosim replay`')
  .option('--runtime <name>', 'deterministic (one thread, seeded scheduler) or parallel (domains on worker threads)', parseRuntime, 'deterministic')
  .option('--workers <n>', 'with --runtime parallel: worker threads (default 2)', parseWorkers)
  .option('--time-scale <x>', 'with --runtime parallel: wall time per unit of scenario time (default 1; 0.1 runs a scenario\'s 60 s in 6 s, its timeouts shortened alike)', parseTimeScale)
  .action(async (file: string, options: { seed?: number; until?: number; json?: boolean; inspect?: boolean; port: number; record?: string; runtime: string; workers?: number; timeScale?: number; bugs: HistoricalBug[] }) => {
    if (options.timeScale !== undefined && options.runtime !== 'parallel') {
      throw new InvalidArgumentError('--time-scale goes with --runtime parallel: the deterministic runtime\'s time is virtual and takes no wall time');
    }
    if (options.workers !== undefined && options.runtime !== 'parallel') {
      throw new InvalidArgumentError('--workers goes with --runtime parallel: the deterministic runtime runs in one thread (argosim explore --workers spreads schedules over threads)');
    }
    if (options.bugs.length > 0 && (options.inspect || options.record)) {
      throw new InvalidArgumentError('--bugs goes with a plain run (deterministic or parallel) or argosim explore; for --inspect or --record write bugs: { … } in the scenario file');
    }
    const notParallel = options.bugs.find((b) => !(PARALLEL_BUGS as readonly string[]).includes(b));
    if (options.runtime === 'parallel' && notParallel) {
      throw new InvalidArgumentError(`--bugs ${notParallel}: the parallel runtime does not model it (${PARALLEL_BUGS_COVER}); run it with --runtime deterministic`);
    }
    if (options.runtime === 'parallel') return runParallelCommand(file, options);
    if (options.inspect) return void (await inspectScenario(file, { port: options.port, seed: options.seed, until: options.until }));
    if (options.record) {
      const bar = !options.json && process.stderr.isTTY ? progressBar() : undefined;
      const summary = recordScenario(file, options.record, options, bar ? (steps, ms) => bar.update(steps, { ms }) : undefined);
      bar?.stop();
      return reportRun(summary, options.json);
    }
    const scenario = withBugs(loadScenario(file), options.bugs);
    const system = createSystem(scenario, { seed: options.seed, untilMs: options.until });
    const bar = !options.json && process.stderr.isTTY ? progressBar() : undefined;
    const summary = system.run(bar ? (steps, ms) => bar.update(steps, { ms }) : undefined);
    bar?.stop();
    console.log(options.json ? JSON.stringify(summary) : formatRunSummary(summary));
    if (summary.invariantViolations.length > 0) process.exitCode = 2;
  });

program
  .command('inspect')
  .description('run a scenario live in the browser inspector: topology, statecharts, event log, metrics; pause, step, resume')
  .argument('[scenario]', 'scenario file (YAML, see docs/scenarios.md)', 'scenarios/default.yaml')
  .option('--port <n>', 'port on 127.0.0.1 (0: any free one)', parsePort, 7777)
  .option('--seed <n>', 'seed of the scheduler and the workloads (default: the scenario\'s)', parseSeed)
  .option('--until <time>', 'virtual time limit, e.g. 500ms or 2s (default: the scenario\'s)', parseUntil)
  .option('--paused', 'wait for ▶ on the page instead of running when it connects')
  .action(async (file: string, options: { port: number; seed?: number; until?: number; paused?: boolean }) => {
    await inspectScenario(file, options);
  });

program
  .command('replay')
  .description('re-run a trace written by `argosim run --record` and check it, or scrub through it in the inspector (--ui)')
  .argument('<trace>', 'trace file (JSON)')
  .option('--ui', 'open the inspector with a time-travel scrubber')
  .option('--port <n>', 'with --ui: port on 127.0.0.1 (0: any free one)', parsePort, 7777)
  .action(async (trace: string, options: { ui?: boolean; port: number }) => {
    await replayTrace(trace, options);
  });

registerExploreCommand(program);

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError(`--port takes a port number 0-65535, got "${value}"`);
  return port;
}

/** Prints a run's summary and sets the exit code on a violated invariant. */
function reportRun(summary: ReturnType<typeof recordScenario>, json?: boolean): void {
  console.log(json ? JSON.stringify(summary) : formatRunSummary(summary));
  if (summary.invariantViolations.length > 0) process.exitCode = 2;
}

/** A terminal progress line: steps taken and virtual time. */
function progressBar(): { update(steps: number, payload: { ms: number }): void; stop(): void } {
  const bar = new SingleBar({ format: 'argosim run | {value} steps | {ms} ms virtual', stream: process.stderr, clearOnComplete: true }, Presets.shades_classic);
  bar.start(Number.MAX_SAFE_INTEGER, 0, { ms: 0 });
  return bar;
}

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`argosim: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
