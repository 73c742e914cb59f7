import type { ActorRefLike } from 'xstate';
import { createSystem, type ArgosimSystem } from '../runtime/system.js';
import { randomStrategy } from '../runtime/strategies/random.js';
import { replayStrategy } from '../runtime/strategies/replay.js';
import type { Scenario } from '../scenario/schema.js';
import { ActorEventLog } from './actor-events.js';
import { domainNames, stateOf } from './actor-view.js';
import { hypercallEntry, virqEntry } from './log-entry.js';
import { watchPending } from './pending-points.js';
import type { LogEntry, RecordedActor, RecordedStep, RunState } from './protocol.js';

/** The most steps one inspected run records (a longer run is cut loudly: give it an `until`). */
export const RECORDED_STEPS_MAX = 500_000;
/** Log entries kept for the page between two updates. */
const LOG_PENDING_MAX = 5000;

/** Options of an `InspectedRun`. */
export interface InspectedRunOptions {
  /** Default: the scenario's. */
  seed?: number;
  untilMs?: number;
  maxSteps?: number;
  /** Replay these strategy choices instead of the seeded random strategy. */
  choices?: readonly number[];
  /** Record every step's state changes and log (live runs, `run --record`); off for replay cursors. */
  record?: boolean;
}

/** What a recording holds: the actors met, their states after boot and every step. */
export interface Recording {
  actors: RecordedActor[];
  initial: Array<[string, string]>;
  /** What the hypervisor logged while the system was built (ring registrations). */
  bootLog: LogEntry[];
  steps: RecordedStep[];
}

/**
 * A system of the deterministic runtime as the inspector drives it: built with the seeded random
 * strategy (or a replay of recorded choices) watched for mailbox depth, XState inspection feeding
 * each actor's event window, and — when recording — one `RecordedStep` per step with the actors
 * whose state moved and the hypercalls and VIRQs it made.
 *
 * @example
 * ```ts
 * const run = new InspectedRun(scenario, { seed: 1, record: true });
 * while (run.step() === 'more');
 * run.recording!.steps.length; // every step of the run
 * ```
 */
export class InspectedRun {
  readonly system: ArgosimSystem;
  readonly pending: ReturnType<typeof watchPending>;
  readonly events: ActorEventLog;
  readonly names: Map<number, string>;
  readonly recording: Recording | undefined;
  end: RunState = 'more';
  /** Log entries not yet sent to a page (oldest dropped past a bound). */
  readonly newLog: LogEntry[] = [];
  private readonly idByRef = new Map<ActorRefLike, string>();
  private refreshedAtStep = -2;
  private readonly last = new Map<string, { snapshot: unknown; state: string }>();
  private readonly known = new Set<string>();
  private stepLog: LogEntry[] = [];

  constructor(
    readonly scenario: Scenario,
    readonly options: InspectedRunOptions = {},
  ) {
    const seed = options.seed ?? scenario.seed;
    this.pending = watchPending(options.choices ? replayStrategy(options.choices) : randomStrategy(seed));
    this.events = new ActorEventLog(() => this.clock(), (ref) => this.idOf(ref));
    this.system = createSystem(scenario, { seed, strategy: this.pending.strategy, untilMs: options.untilMs, maxSteps: options.maxSteps, inspect: this.events.inspect });
    this.names = domainNames(this.system);
    if (options.record) {
      this.recording = { actors: [], initial: [], bootLog: [], steps: [] };
      this.system.trace$.subscribe((call) => this.log(hypercallEntry(call, this.stepNow(), call.atMs, this.names)));
      this.system.virq$.subscribe((e) => this.log(virqEntry(e, this.stepNow(), e.atMs, this.names)));
      this.recording.initial = this.diff(0).map(([id, state]) => [id, state ?? '']);
      this.recording.bootLog = this.stepLog;
      this.stepLog = [];
    }
  }

  /** Steps taken so far. */
  get stepCount(): number {
    return this.system.scheduler.stepCount;
  }

  /** Takes one scheduling point and records it; returns `more` or how the run ended. */
  step(): RunState {
    if (this.end !== 'more') return this.end;
    const before = this.stepCount;
    this.end = this.system.advance(1);
    if (this.end !== 'more') this.system.finish();
    if (this.recording && this.stepCount > before) this.recordStep(before);
    return this.end;
  }

  /** Takes up to `steps` points: one by one when recording, else in one go. */
  advance(steps: number): RunState {
    if (this.recording) {
      for (let k = 0; k < steps && this.step() === 'more'; k++);
      return this.end;
    }
    if (this.end !== 'more' || steps <= 0) return this.end;
    this.end = this.system.advance(steps);
    if (this.end !== 'more') this.system.finish();
    return this.end;
  }

  /** The actor id of a ref, or undefined for one the system does not list (yet). */
  idOf(ref: ActorRefLike): string | undefined {
    const id = this.idByRef.get(ref);
    if (id !== undefined || this.refreshedAtStep === this.stepCount) return id;
    this.refreshedAtStep = this.stepCount;
    for (const a of this.system.actors()) this.idByRef.set(a.actor, a.id);
    return this.idByRef.get(ref);
  }

  /** The step running now (-1 while the system is built), its time and scheduling point. */
  private clock(): { step: number; atMs: number; cause?: string } {
    const trace = this.system.scheduler.trace;
    const point = trace[trace.length - 1];
    return { step: this.stepNow(), atMs: this.system.scheduler.now(), cause: point && point.step === this.stepNow() ? `${point.actor}: ${point.label}` : undefined };
  }

  private stepNow(): number {
    return this.stepCount - 1;
  }

  private log(entry: LogEntry): void {
    this.stepLog.push(entry);
    this.newLog.push(entry);
    if (this.newLog.length > LOG_PENDING_MAX) this.newLog.splice(0, this.newLog.length - LOG_PENDING_MAX);
  }

  private recordStep(step: number): void {
    const recording = this.recording!;
    if (recording.steps.length >= RECORDED_STEPS_MAX) {
      throw new RangeError(`the inspector records at most ${RECORDED_STEPS_MAX} steps; give the run a shorter virtual time (--until) or a smaller scenario`);
    }
    const record = this.system.scheduler.trace[step];
    const log = this.stepLog;
    this.stepLog = [];
    recording.steps.push({ ...record, changes: this.diff(step + 1), log });
  }

  /** Actors whose state moved since the last call (a `null` state: gone), noting new actors. */
  private diff(since: number): Array<[string, string | null]> {
    const changes: Array<[string, string | null]> = [];
    const seen = new Set<string>();
    for (const a of this.system.actors()) {
      seen.add(a.id);
      const snapshot = a.actor.getSnapshot();
      const prev = this.last.get(a.id);
      if (prev?.snapshot === snapshot) continue;
      if (!prev && !this.known.has(a.id)) {
        this.known.add(a.id);
        this.recording!.actors.push({ id: a.id, kind: a.kind, domain: a.domain, machine: a.machine, since });
      }
      const state = stateOf(a.actor);
      if (!prev || prev.state !== state) changes.push([a.id, state]);
      this.last.set(a.id, { snapshot, state });
    }
    if (seen.size !== this.last.size) {
      for (const id of [...this.last.keys()]) {
        if (seen.has(id)) continue;
        this.last.delete(id);
        changes.push([id, null]);
      }
    }
    return changes;
  }
}
