#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { runBuiltinExample } from '../example/builtin-example.js';
import { formatSummary } from '../example/format-summary.js';
import { createSystem } from '../runtime/system.js';
import { loadScenario } from '../scenario/load-scenario.js';
import { parseDuration } from '../scenario/units.js';
import { formatRunSummary } from './format-run.js';
import { Presets, SingleBar } from 'cli-progress';

function parseSeed(value: string): number {
  const seed = Number(value);
  if (!Number.isSafeInteger(seed)) throw new InvalidArgumentError(`--seed takes an integer, got "${value}"`);
  return seed;
}

function parseUntil(value: string): number {
  try {
    return parseDuration(value);
  } catch (e) {
    throw new InvalidArgumentError(`--until takes a virtual time like 500ms or 2s: ${e instanceof Error ? e.message : String(e)}`);
  }
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
  .description('run a scenario in the deterministic runtime and report what happened')
  .argument('[scenario]', 'scenario file (YAML, see docs/scenarios.md)', 'scenarios/default.yaml')
  .option('--seed <n>', 'seed of the scheduler and the workloads (default: the scenario\'s)', parseSeed)
  .option('--until <time>', 'virtual time limit, e.g. 500ms or 2s (default: the scenario\'s)', parseUntil)
  .option('--json', 'print one JSON object on stdout')
  .action((file: string, options: { seed?: number; until?: number; json?: boolean }) => {
    const scenario = loadScenario(file);
    const system = createSystem(scenario, { seed: options.seed, untilMs: options.until });
    const bar = !options.json && process.stderr.isTTY ? progressBar() : undefined;
    const summary = system.run(bar ? (steps, ms) => bar.update(steps, { ms }) : undefined);
    bar?.stop();
    console.log(options.json ? JSON.stringify(summary) : formatRunSummary(summary));
    if (summary.invariantViolations.length > 0) process.exitCode = 2;
  });

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
