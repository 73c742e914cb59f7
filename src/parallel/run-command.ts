import { InvalidArgumentError } from 'commander';
import { formatRunSummary } from '../cli/format-run.js';
import type { RunSummary } from '../runtime/run-summary.js';
import { loadScenario } from '../scenario/load-scenario.js';
import { withBugs } from '../explore/bugs.js';
import type { HistoricalBug } from '../xen/historical-bugs.js';
import { runParallel, type ParallelRunSummary } from './parallel-system.js';

/** The runtimes `argosim run --runtime` takes. */
export const RUNTIMES = ['deterministic', 'parallel'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

/**
 * `--runtime <name>`: deterministic or parallel; anything else is an error naming the flag.
 *
 * @example
 * ```ts
 * program.option('--runtime <name>', 'deterministic | parallel', parseRuntime, 'deterministic');
 * ```
 */
export function parseRuntime(value: string): RuntimeName {
  if (!(RUNTIMES as readonly string[]).includes(value)) throw new InvalidArgumentError(`--runtime takes ${RUNTIMES.join(' or ')}, got "${value}"`);
  return value as RuntimeName;
}

/**
 * `--workers <n>`: an integer from 1 to 64; anything else is an error naming the flag.
 *
 * @example
 * ```ts
 * parseWorkers('4'); // 4
 * ```
 */
export function parseWorkers(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError(`--workers takes an integer from 1 to 64, got "${value}"`);
  return n;
}

/**
 * The range `--time-scale` takes: a sanity bound, not a promise. Every timeout scales with it, so
 * near the low end a thread's own work weighs against them: at 0.01 a device model's answer to the
 * guest's control request has 10 ms of wall time (docs/parallel.md, "Time").
 */
export const TIME_SCALE_MIN = 0.01;
export const TIME_SCALE_MAX = 1000;

/**
 * `--time-scale <x>`: wall time per unit of scenario time in the parallel runtime (its `timeScale`),
 * a number from `TIME_SCALE_MIN` to `TIME_SCALE_MAX`; anything else is an error naming the flag.
 *
 * @example
 * ```ts
 * parseTimeScale('0.1'); // 0.1: a scenario's 60 s pass in 6 s of wall time
 * ```
 */
export function parseTimeScale(value: string): number {
  const x = Number(value);
  if (!/^(\d+\.?\d*|\.\d+)$/.test(value) || x < TIME_SCALE_MIN || x > TIME_SCALE_MAX) {
    throw new InvalidArgumentError(`--time-scale takes a number from ${TIME_SCALE_MIN} to ${TIME_SCALE_MAX} (wall time per unit of scenario time), got "${value}"`);
  }
  return x;
}

/**
 * `argosim run <scenario> --runtime parallel [--workers N] [--time-scale X]`: runs it on worker threads and prints
 * the summary (readable, or one JSON object with `--json`); exit code 2 on an invariant violation.
 *
 * @example
 * ```ts
 * await runParallelCommand('scenarios/stress-small.yaml', { workers: 2, json: true });
 * ```
 */
export async function runParallelCommand(file: string, options: { workers?: number; seed?: number; until?: number; timeScale?: number; json?: boolean; bugs?: HistoricalBug[] }): Promise<void> {
  const summary = await runParallel(withBugs(loadScenario(file), options.bugs ?? []), { workers: options.workers, seed: options.seed, untilMs: options.until, timeScale: options.timeScale });
  console.log(options.json ? JSON.stringify(summary) : formatParallelRun(summary));
  if (summary.invariantViolations.length > 0) process.exitCode = 2;
}

/**
 * The readable summary of a parallel run: the deterministic runtime's layout (which prints the
 * runtime's name from the summary), then one line per worker.
 */
export function formatParallelRun(s: ParallelRunSummary): string {
  const base = formatRunSummary(s as unknown as RunSummary); // same fields; `runtime` is printed as given
  const workers = s.workers.map(
    (w) =>
      `worker ${w.worker} (thread ${w.threadId ?? '-'})${w.crashed ? ` CRASHED (${w.crashReason?.split('\n')[0] ?? 'no reason'})` : ''}: ${w.domains.join(' ')} — sent ${w.sent} (${w.bytesSent} B), received ${w.received} (${w.bytesReceived} B), VIRQs ${w.virqs}, waits ${w.waits}`,
  );
  const xenbus = s.workers.flatMap((w) => w.xenbus ?? []);
  const connections = xenbus.map(
    (x) => `  ${x.name} (${x.domid}): ${x.written} request(s) written, ${x.answered} answered${x.firstReply !== null ? ` (${x.firstReply})` : ''}${x.error !== 0 ? `, xenstored gave up (XENSTORE_ERROR ${x.error})` : ''}`,
  );
  const xenstore = xenbus.length > 0 ? ['', "dom0less guests' xenstore connections (their xenbus, in their worker threads):", ...connections] : [];
  return [base, '', `${s.workers.length} workers, ${s.wallMs} ms wall time:`, ...workers, ...xenstore].join('\n');
}
