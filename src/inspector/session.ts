import type { AnyStateMachine } from 'xstate';
import type { Scenario } from '../scenario/schema.js';
import { describeActor, jsonSafe } from './actor-view.js';
import { InspectedRun } from './inspected-run.js';
import { machineChart } from './machine-chart.js';
import { MetricsSampler } from './metrics-sampler.js';
import { INSPECTOR_PROTOCOL_VERSION, type ActorDetail, type ActorView, type ChartNode, type ClientMessage, type LogEntry, type RecordedStep, type RunState, type ServerMessage } from './protocol.js';
import { RecordedStates } from './recorded-states.js';
import type { TraceFile } from './trace-file.js';

/** Default pace of a running session: slow enough to watch the default scenario (191 steps). */
export const STEPS_PER_SECOND_DEFAULT = 25;
/** Log entries a page gets when it (re)starts its window. */
export const LOG_WINDOW = 500;
/** The longest a tick runs model steps before yielding to the server (ms of wall time). */
const TICK_BUDGET_MS = 25;

/** Options of an `InspectorSession`. */
export interface SessionOptions {
  scenario: Scenario;
  /** The scenario file as the user named it. */
  file: string;
  seed?: number;
  untilMs?: number;
  maxSteps?: number;
  /** Replay this recording instead of running live. */
  trace?: TraceFile;
  stepsPerSecond?: number;
  /** Wait for the page's resume (default: run as soon as a page connects). */
  startPaused?: boolean;
}

/** What a page is shown now: the view step and the run it comes from. */
export interface SessionView {
  step: number;
  atMs: number;
  end: RunState;
  running: boolean;
  actors: ActorView[];
  divergent?: string[];
}

/**
 * One inspector session: a live run of a scenario (recording every step), or the replay of a trace
 * file — and a cursor that re-runs the recorded choices to show any earlier step exactly (time
 * travel). The server drives it with `tick` and `handle`; pages and `GET /api/*` read it.
 *
 * @example
 * ```ts
 * const session = new InspectorSession({ scenario, file: 'scenarios/default.yaml', startPaused: true });
 * session.handle({ type: 'step' });
 * session.view().step; // 1
 * ```
 */
export class InspectorSession {
  readonly mode: 'live' | 'replay';
  running = false;
  stepsPerSecond: number;
  /** Whether a page watches: inspection runs only then. */
  watched = false;
  private readonly live: InspectedRun | undefined;
  private cursor: InspectedRun | undefined;
  /** The step shown when it is not the live run's head (always set in replay). */
  private viewStep: number | null = null;
  private readonly states: RecordedStates;
  private readonly metrics = new MetricsSampler();
  private credit = 0;
  private lastTickMs: number | undefined;
  private autostart: boolean;

  constructor(readonly options: SessionOptions) {
    this.mode = options.trace ? 'replay' : 'live';
    this.stepsPerSecond = options.stepsPerSecond ?? STEPS_PER_SECOND_DEFAULT;
    this.autostart = !options.startPaused;
    if (options.trace) {
      this.states = new RecordedStates(options.trace.initial, options.trace.steps);
      this.viewStep = 0;
      this.cursor = this.newCursor();
    } else {
      this.live = new InspectedRun(options.scenario, { seed: options.seed, untilMs: options.untilMs, maxSteps: options.maxSteps, record: true });
      this.states = new RecordedStates(this.live.recording!.initial, this.live.recording!.steps);
    }
  }

  get seed(): number {
    return this.options.trace?.seed ?? this.options.seed ?? this.options.scenario.seed;
  }

  /** Every recorded step so far (live) or of the trace (replay). */
  get steps(): readonly RecordedStep[] {
    return this.options.trace?.steps ?? this.live!.recording!.steps;
  }

  /** The steps there are to show: the recording's length, or the live run's head. */
  get lastStep(): number {
    return this.options.trace ? this.options.trace.steps.length : this.live!.stepCount;
  }

  /** A page connected or the last one left: inspection follows, and a waiting run starts. */
  setWatched(watched: boolean): void {
    this.watched = watched;
    for (const run of [this.live, this.cursor]) if (run) run.events.enabled = watched;
    if (watched && this.autostart) {
      this.autostart = false;
      this.running = true;
    }
    if (!watched) this.running = false;
  }

  hello(): ServerMessage {
    const s = this.options.scenario;
    return {
      type: 'hello',
      version: INSPECTOR_PROTOCOL_VERSION,
      mode: this.mode,
      scenario: { name: s.name, description: s.description ?? '', file: this.options.file },
      seed: this.seed,
      stepsTotal: this.options.trace ? this.options.trace.steps.length : null,
      stepsPerSecond: this.stepsPerSecond,
      domains: s.domains.map((d) => ({ name: d.name, domid: d.domid, label: d.label })),
      hypervisor: { xsm: s.xsm.mode, argo: s.boot.argo },
    };
  }

  /** Applies a page's control message. */
  handle(message: ClientMessage): void {
    switch (message.type) {
      case 'pause':
        this.running = false;
        return;
      case 'resume':
        if (this.mode === 'live') this.viewStep = null; // back to the head
        this.running = true;
        this.lastTickMs = undefined;
        return;
      case 'step':
        this.running = false;
        this.stepBy(Math.max(1, Math.min(message.count ?? 1, 100_000)));
        return;
      case 'seek':
        this.running = false;
        return this.seek(message.step);
      case 'speed':
        this.stepsPerSecond = Math.max(0, Math.min(message.stepsPerSecond, 1_000_000));
        return;
      case 'select':
        return; // per page: the server keeps it
    }
  }

  /**
   * Runs what the pace allows since the last tick (within a wall-time budget); returns whether the
   * view moved.
   */
  tick(nowMs: number): boolean {
    if (!this.running) return false;
    const dtMs = this.lastTickMs === undefined ? 0 : nowMs - this.lastTickMs;
    this.lastTickMs = nowMs;
    const unlimited = this.stepsPerSecond === 0;
    this.credit = unlimited ? Infinity : Math.min(this.credit + (this.stepsPerSecond * dtMs) / 1000, Math.max(1, this.stepsPerSecond));
    const before = this.view().step;
    const deadline = performance.now() + TICK_BUDGET_MS;
    while (this.credit >= 1 && performance.now() < deadline) {
      const batch = unlimited ? 64 : Math.min(Math.floor(this.credit), 64);
      this.credit -= batch;
      if (!this.stepBy(batch)) {
        this.running = false;
        break;
      }
    }
    if (unlimited) this.credit = 0;
    return this.view().step !== before;
  }

  /** Moves the view `count` steps on; false when there was nothing left to run. */
  private stepBy(count: number): boolean {
    if (this.viewStep === null) {
      const before = this.live!.stepCount;
      this.live!.advance(count);
      return this.live!.stepCount > before;
    }
    const target = Math.min(this.viewStep + count, this.lastStep);
    if (target === this.viewStep) return false;
    this.seek(target); // in a live session, reaching the head follows it again
    return true;
  }

  /** Shows step `step` (clamped to what is recorded): re-runs the recorded choices to it. */
  seek(step: number): void {
    const target = Math.max(0, Math.min(Math.floor(step), this.lastStep));
    if (this.mode === 'live' && target === this.live!.stepCount) {
      this.viewStep = null;
      this.cursor = undefined;
      return;
    }
    this.viewStep = target;
    if (!this.cursor || this.cursor.stepCount > target) this.cursor = this.newCursor();
    this.cursor.advance(target - this.cursor.stepCount);
  }

  private newCursor(): InspectedRun {
    const trace = this.options.trace;
    const choices = trace ? trace.choices : this.live!.system.scheduler.choices;
    const cursor = new InspectedRun(this.options.scenario, {
      seed: this.seed,
      untilMs: trace ? (trace.untilMs ?? undefined) : this.options.untilMs,
      maxSteps: trace ? trace.steps.length : this.options.maxSteps,
      choices,
    });
    cursor.events.enabled = this.watched;
    return cursor;
  }

  /** The run whose actors are shown. */
  private shown(): InspectedRun {
    return this.viewStep === null ? this.live! : this.cursor!;
  }

  /** What is shown now: every actor at the view step. */
  view(): SessionView {
    const run = this.shown();
    const system = run.system;
    const depth = run.pending.depthByActor();
    const actors = system.actors().map((a) => describeActor(system, a, run.names));
    for (const a of actors) if (a.kind === 'domain') a.mailbox = depth.get(a.domain) ?? 0;
    const step = run.stepCount;
    const end: RunState = this.mode === 'replay' ? (step >= this.lastStep ? this.options.trace!.end : 'more') : this.viewStep === null ? run.end : 'more';
    const view: SessionView = { step, atMs: system.scheduler.now(), end, running: this.running, actors };
    if (this.viewStep !== null) view.divergent = this.divergence(actors, step);
    return view;
  }

  /** Actors whose re-run state differs from the recording at `step` (a replay of another version). */
  private divergence(actors: readonly ActorView[], step: number): string[] {
    const recorded = this.states.at(step);
    const out: string[] = [];
    for (const a of actors) if (recorded.get(a.id) !== a.state) out.push(a.id);
    if (recorded.size !== actors.length) for (const id of recorded.keys()) if (!actors.some((a) => a.id === id)) out.push(id);
    return out;
  }

  /** An actor in depth at the view step, or undefined when there is none by that id. */
  detail(id: string): ActorDetail | undefined {
    const run = this.shown();
    const a = run.system.actors().find((x) => x.id === id);
    if (!a) return undefined;
    const snapshot = a.actor.getSnapshot() as { context: unknown };
    return { ...describeActor(run.system, a, run.names), context: jsonSafe(snapshot.context), events: run.events.of(id).filter((e) => e.step < run.stepCount) };
  }

  /** The statechart of a machine by its id (`domain`, `argoRing`, …), or undefined. */
  chart(machine: string): ChartNode | undefined {
    const a = this.shown().system.actors().find((x) => x.machine === machine);
    return a ? machineChart((a.actor as unknown as { logic: AnyStateMachine }).logic) : undefined;
  }

  /** Recorded steps `from` … `from + limit - 1`. */
  trace(from: number, limit: number): RecordedStep[] {
    return this.steps.slice(Math.max(0, from), Math.max(0, from) + Math.max(0, limit));
  }

  /** The log of steps `from` … `to - 1` (the boot's when `from` is 0), at most the last `max` entries. */
  logBetween(from: number, to: number, max = LOG_WINDOW): LogEntry[] {
    const out: LogEntry[] = [];
    const steps = this.steps;
    for (let s = Math.min(to, steps.length) - 1; s >= Math.max(0, from) && out.length < max; s--) {
      const log = steps[s].log;
      for (let i = log.length - 1; i >= 0 && out.length < max; i--) out.push(log[i]);
    }
    if (from <= 0 && out.length < max) {
      const boot = this.options.trace?.bootLog ?? this.live!.recording!.bootLog;
      for (let i = boot.length - 1; i >= 0 && out.length < max; i--) out.push(boot[i]);
    }
    return out.reverse();
  }

  /** Metrics sampled at most every half second (undefined in between). */
  sampleMetrics(nowMs: number, actors: readonly ActorView[]): ReturnType<MetricsSampler['sample']> {
    const run = this.shown();
    return this.metrics.sample(nowMs, { steps: run.stepCount, events: run.events.count, pending: run.pending.points, actors });
  }
}
