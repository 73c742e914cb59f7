import { loadScenario } from '../scenario/load-scenario.js';
import type { RunSummary } from '../runtime/run-summary.js';
import { recordRun } from './record-run.js';
import { checkReplay } from './replay-check.js';
import { startInspectorServer, type InspectorServer } from './server.js';
import { InspectorSession } from './session.js';
import { loadScenarioForTrace, readTraceFile, scenarioOfTrace, writeTraceFile } from './trace-file.js';

/** Options of `argosim inspect` and `argosim run --inspect`. */
export interface InspectOptions {
  port?: number;
  seed?: number;
  until?: number;
  paused?: boolean;
  /** Steps per second while running (0: as fast as it goes). */
  speed?: number;
}

/**
 * `argosim inspect <scenario>`: serves the inspector for a live run of the scenario; the run waits
 * for a page to connect. Resolves once the server listens (it runs until the process ends).
 *
 * @example
 * ```ts
 * const server = await inspectScenario('scenarios/default.yaml', { port: 0 });
 * ```
 */
export async function inspectScenario(file: string, options: InspectOptions, log: (line: string) => void = console.error): Promise<InspectorServer> {
  const scenario = loadScenario(file);
  const session = new InspectorSession({ scenario, file, seed: options.seed, untilMs: options.until, startPaused: options.paused, stepsPerSecond: options.speed });
  const server = await startInspectorServer(session, { port: options.port });
  log(`argosim inspect: ${scenario.name} (seed ${session.seed}) at ${server.url}`);
  log(`  open it in a browser; the run ${options.paused ? 'waits for ▶ on the page' : 'starts when the page connects'}. Ctrl-C ends it.`);
  return server;
}

/**
 * `argosim run --record <file>`: runs the scenario to its end recording every step, and writes the
 * trace.
 *
 * @example
 * ```ts
 * const summary = recordScenario('scenarios/default.yaml', 'trace.json', {});
 * ```
 */
export function recordScenario(file: string, tracePath: string, options: { seed?: number; until?: number }, onProgress?: (steps: number, ms: number) => void): RunSummary {
  const loaded = loadScenarioForTrace(file);
  const { trace, summary } = recordRun(loaded, { seed: options.seed, untilMs: options.until }, onProgress);
  writeTraceFile(tracePath, trace);
  return summary;
}

/**
 * `argosim replay <trace>`: with `ui`, serves the inspector over the recording with its time-travel
 * scrubber; without, re-runs it and checks every actor's state against the recording.
 *
 * @example
 * ```ts
 * await replayTrace('trace.json', { ui: false }); // 'replayed 191 steps: every actor's state matches the recording'
 * ```
 */
export async function replayTrace(path: string, options: { ui?: boolean; port?: number; speed?: number }, log: (line: string) => void = console.error): Promise<InspectorServer | undefined> {
  const trace = readTraceFile(path);
  if (!options.ui) {
    const check = checkReplay(trace);
    if (!check.divergence) {
      log(`replayed ${check.steps} steps of ${trace.scenario.name} (seed ${trace.seed}): every actor's state matches the recording`);
      return undefined;
    }
    const d = check.divergence;
    const what = d.error ?? d.actors.map((a) => `${a.id}: recorded ${a.recorded ?? '(none)'}, replayed ${a.replayed ?? '(none)'}`).join('; ');
    throw new Error(`${path}: the replay left the recording after step ${d.step}: ${what} — was it recorded by another argosim version?`);
  }
  const scenario = scenarioOfTrace(trace);
  const session = new InspectorSession({ scenario, file: trace.scenario.file, trace, startPaused: true, stepsPerSecond: options.speed });
  const server = await startInspectorServer(session, { port: options.port });
  log(`argosim replay: ${trace.steps.length} steps of ${scenario.name} (seed ${trace.seed}) at ${server.url}`);
  log('  open it in a browser and scrub through the steps. Ctrl-C ends it.');
  return server;
}
