#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { runBuiltinExample } from '../example/builtin-example.js';
import { formatSummary } from '../example/format-summary.js';

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

program.parseAsync(process.argv).catch((error: unknown) => {
  console.error(`argosim: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
