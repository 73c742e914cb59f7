import { InspectedRun } from './inspected-run.js';
import { RecordedStates } from './recorded-states.js';
import { scenarioOfTrace, type TraceFile } from './trace-file.js';
import { stateOf } from './actor-view.js';

/** The first place a re-run left its recording, or none. */
export interface ReplayCheck {
  steps: number;
  /** The first step after which an actor's state differs, with the actors that differ. */
  divergence: { step: number; actors: Array<{ id: string; recorded: string | null; replayed: string | null }>; error?: string } | null;
}

/**
 * Re-runs a trace's recorded choices and compares every actor's state with the recording after
 * every step (`argosim replay trace.json`): a trace recorded by this version matches exactly.
 *
 * @example
 * ```ts
 * checkReplay(readTraceFile('trace.json')).divergence; // null
 * ```
 */
export function checkReplay(trace: TraceFile): ReplayCheck {
  const run = new InspectedRun(scenarioOfTrace(trace), { seed: trace.seed, untilMs: trace.untilMs ?? undefined, maxSteps: trace.steps.length, choices: trace.choices });
  const recorded = new RecordedStates(trace.initial, trace.steps);
  const states = recorded.at(0);
  for (let step = 0; step <= trace.steps.length; step++) {
    if (step > 0) {
      for (const [id, state] of trace.steps[step - 1].changes) {
        if (state === null) states.delete(id);
        else states.set(id, state);
      }
      try {
        run.advance(1);
      } catch (e) {
        return { steps: step, divergence: { step, actors: [], error: e instanceof Error ? e.message : String(e) } };
      }
    }
    const actors = differing(run, states);
    if (actors.length > 0) return { steps: step, divergence: { step, actors } };
  }
  return { steps: trace.steps.length, divergence: null };
}

function differing(run: InspectedRun, recorded: ReadonlyMap<string, string>): Array<{ id: string; recorded: string | null; replayed: string | null }> {
  const out: Array<{ id: string; recorded: string | null; replayed: string | null }> = [];
  const seen = new Set<string>();
  for (const a of run.system.actors()) {
    seen.add(a.id);
    const replayed = stateOf(a.actor);
    const want = recorded.get(a.id) ?? null;
    if (want !== replayed) out.push({ id: a.id, recorded: want, replayed });
  }
  for (const [id, state] of recorded) if (!seen.has(id)) out.push({ id, recorded: state, replayed: null });
  return out;
}
