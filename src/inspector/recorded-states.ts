import type { RecordedStep } from './protocol.js';

/** Every this many steps the fold keeps a copy, so a seek replays at most this many steps of changes. */
const CHECKPOINT_STEPS = 256;

/**
 * The state of every actor at any step of a recording, folded from the states after boot and each
 * step's changes (with checkpoints, so scrubbing is quick): what the replay compares the re-run
 * with, and what `GET /api/trace` clients rebuild.
 *
 * @example
 * ```ts
 * const states = new RecordedStates(trace.initial, trace.steps);
 * states.at(120).get('ring:db:5432:1'); // 'registered.holdingData'
 * ```
 */
export class RecordedStates {
  private readonly checkpoints: Array<Map<string, string>> = [];

  constructor(
    private readonly initial: ReadonlyArray<[string, string]>,
    private readonly steps: readonly RecordedStep[],
  ) {}

  /** The states after `step` steps (0: after boot); an actor absent is gone or not yet there. */
  at(step: number): Map<string, string> {
    const k = Math.max(0, Math.min(step, this.steps.length));
    if (this.checkpoints.length === 0) this.checkpoints.push(new Map(this.initial));
    const base = Math.floor(k / CHECKPOINT_STEPS);
    while (this.checkpoints.length <= base) {
      const n = this.checkpoints.length;
      this.checkpoints.push(this.apply(new Map(this.checkpoints[n - 1]), (n - 1) * CHECKPOINT_STEPS, n * CHECKPOINT_STEPS));
    }
    return this.apply(new Map(this.checkpoints[base]), base * CHECKPOINT_STEPS, k);
  }

  private apply(states: Map<string, string>, from: number, to: number): Map<string, string> {
    for (let s = from; s < to; s++) {
      for (const [id, state] of this.steps[s].changes) {
        if (state === null) states.delete(id);
        else states.set(id, state);
      }
    }
    return states;
  }
}
