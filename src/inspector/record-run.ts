import type { RunSummary } from '../runtime/run-summary.js';
import { InspectedRun } from './inspected-run.js';
import { INSPECTOR_PROTOCOL_VERSION } from './protocol.js';
import { TRACE_FORMAT, type RecordedScenario, type TraceFile } from './trace-file.js';

/** How often `recordRun` reports progress (steps). */
const PROGRESS_STEPS = 1000;

/**
 * Runs a scenario to its end recording every step (`argosim run --record`): the trace a replay
 * re-runs and scrubs through.
 *
 * @example
 * ```ts
 * const { trace, summary } = recordRun(loadScenarioForTrace('scenarios/default.yaml'), { seed: 1 });
 * writeTraceFile('trace.json', trace);
 * ```
 */
export function recordRun(
  loaded: RecordedScenario,
  options: { seed?: number; untilMs?: number; maxSteps?: number },
  onProgress?: (steps: number, virtualTimeMs: number) => void,
): { trace: TraceFile; summary: RunSummary } {
  const run = new InspectedRun(loaded.scenario, { ...options, record: true });
  while (run.step() === 'more') {
    if (run.stepCount % PROGRESS_STEPS === 0) onProgress?.(run.stepCount, run.system.scheduler.now());
  }
  const summary = run.system.finish();
  const recording = run.recording!;
  const trace: TraceFile = {
    format: TRACE_FORMAT,
    version: INSPECTOR_PROTOCOL_VERSION,
    scenario: loaded.source,
    seed: run.system.seed,
    untilMs: options.untilMs ?? null,
    maxSteps: options.maxSteps ?? null,
    end: run.end,
    choices: [...run.system.scheduler.choices],
    ...recording,
    summary,
  };
  return { trace, summary };
}
