import type { PointRequest, SchedulingPoint, StepRecord } from './scheduling-point.js';
import type { Strategy } from './strategy.js';
import type { Clock } from './virtual-clock.js';

/** Why `run` returned. */
export type RunEnd = 'idle' | 'until' | 'maxSteps' | 'halted';

/**
 * The deterministic runtime's scheduler: it owns virtual time and every delivery. Points wait in
 * order of due time (then of scheduling); at each step the points due now are enabled and the
 * strategy picks one to run; when none is due, time jumps to the next. Every step is recorded, so
 * the same strategy choices replay a run exactly (`choices` → `replayStrategy`). It is also the
 * `Clock` injected into model code: a timer is a scheduling point like any other.
 *
 * @example
 * ```ts
 * const scheduler = new Scheduler({ strategy: randomStrategy(seed) });
 * scheduler.schedule({ kind: 'message', actor: 'db', label: 'QUERY', run: () => db.send(event) });
 * scheduler.run({ untilMs: 1000 });
 * scheduler.trace;   // every step: time, choice, kind, actor, label
 * ```
 */
export class Scheduler implements Clock {
  readonly strategy: Strategy;
  /** Every step taken, in order (omitted when `record` is false). */
  readonly trace: StepRecord[] = [];
  /** The strategy's choice at each step: a replay recording. */
  readonly choices: number[] = [];
  private points: SchedulingPoint[] = [];
  private nextId = 0;
  private nowMs: number;
  private steps = 0;
  private halted = false;
  private readonly record: boolean;

  constructor(options: { strategy: Strategy; startMs?: number; record?: boolean }) {
    this.strategy = options.strategy;
    this.nowMs = options.startMs ?? 0;
    this.record = options.record ?? true;
  }

  now(): number {
    return this.nowMs;
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.steps;
  }

  /** Points waiting. */
  get pending(): number {
    return this.points.length;
  }

  /** Adds a point due `delayMs` from now; returns its id. */
  schedule(request: PointRequest): number {
    const delayMs = request.delayMs ?? 0;
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) throw new RangeError(`scheduling delay ${delayMs} ms must be finite and >= 0`);
    const point: SchedulingPoint = {
      id: this.nextId++,
      kind: request.kind,
      actor: request.actor,
      label: request.label,
      dueMs: this.nowMs + delayMs,
      run: request.run,
    };
    this.points.splice(this.insertionIndex(point.dueMs), 0, point);
    return point.id;
  }

  /** Removes a waiting point; false if it already ran or was cancelled. */
  cancel(id: number): boolean {
    const at = this.points.findIndex((p) => p.id === id);
    if (at < 0) return false;
    this.points.splice(at, 1);
    return true;
  }

  /** `Clock.setTimer`: a timer point, cancellable. */
  setTimer(ms: number, fn: () => void): () => void {
    const id = this.schedule({ kind: 'timer', actor: 'clock', label: `timer +${ms}ms`, delayMs: ms, run: fn });
    return () => {
      this.cancel(id);
    };
  }

  /**
   * Ends the run after the point that is running: time stands, nothing more is taken, and `run`
   * answers `halted` (the world the model stands for cannot go on: xenstored exited, R12).
   */
  halt(): void {
    this.halted = true;
  }

  /** Runs one scheduling point; false when none is waiting, or the run was halted. */
  step(): boolean {
    if (this.points.length === 0 || this.halted) return false;
    if (this.points[0].dueMs > this.nowMs) this.nowMs = this.points[0].dueMs;
    const enabled = this.enabledCount();
    const choice = this.strategy.pick(this.points, enabled, this.steps);
    if (!Number.isInteger(choice) || choice < 0 || choice >= enabled) {
      throw new RangeError(`strategy ${this.strategy.name} picked ${choice} of ${enabled} enabled points at step ${this.steps}`);
    }
    const point = this.points[choice];
    this.points.splice(choice, 1);
    this.choices.push(choice);
    if (this.record) {
      this.trace.push({
        step: this.steps,
        atMs: this.nowMs,
        choice,
        enabled,
        kind: point.kind,
        actor: point.actor,
        label: point.label,
      });
    }
    this.steps++;
    point.run();
    return true;
  }

  /**
   * Steps until nothing waits (`idle`), the next point lies beyond `untilMs` (`until`; time then
   * stands at `untilMs`), `maxSteps` steps were taken, or a point halted the run (`halted`).
   */
  run(limits: { untilMs?: number; maxSteps?: number } = {}): RunEnd {
    const untilMs = limits.untilMs ?? Infinity;
    const maxSteps = limits.maxSteps ?? Infinity;
    for (let taken = 0; ; taken++) {
      if (this.halted) return 'halted';
      if (this.points.length === 0) return 'idle';
      if (taken >= maxSteps) return 'maxSteps';
      if (this.points[0].dueMs > untilMs) {
        this.nowMs = Math.max(this.nowMs, untilMs);
        return 'until';
      }
      this.step();
    }
  }

  private enabledCount(): number {
    let n = 0;
    while (n < this.points.length && this.points[n].dueMs <= this.nowMs) n++;
    return n;
  }

  /** After every point due at or before `dueMs`: ties keep scheduling order. */
  private insertionIndex(dueMs: number): number {
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid].dueMs <= dueMs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
