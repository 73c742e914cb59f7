/**
 * The inspector's wire format: what `GET /api/*` returns and what travels over its WebSocket. The
 * page (`page/app.js`), the tests and the server share these shapes; a field added here is a field
 * the page may read.
 *
 * @example
 * ```ts
 * const update: ServerMessage = { type: 'update', step: 12, atMs: 0.5, end: 'more', running: false, actors: [], removed: [], log: [] };
 * ```
 */
import type { StepRecord } from '../runtime/scheduling-point.js';
import type { SystemActor } from '../runtime/system.js';

/** The version of the WebSocket protocol and of the trace file format. */
export const INSPECTOR_PROTOCOL_VERSION = 1;

/** What kind of thing an actor is: the system's kinds (domain, ring, app, …); the page draws the hypervisor itself. */
export type ActorKind = SystemActor['kind'];

/**
 * One actor as the inspector lists it (`GET /api/actors`).
 *
 * @example
 * ```ts
 * const ring: ActorView = { id: 'ring:db:5432:1', kind: 'ring', domain: 'db', machine: 'argoRing', state: 'registered.empty', status: 'active' };
 * ```
 */
export interface ActorView {
  /** Stable within a run (`domain:<name>`, `ring:<owner>:<port>:<partner domid|any>`, `app:<workload>`). */
  id: string;
  kind: ActorKind;
  /** The domain it belongs to (a ring's owner, an app's sender). */
  domain: string;
  /** The machine's id: `domain`, `argoRing`, `guestApp`. */
  machine: string;
  /** The current state value as a dotted path (`registered.holdingData`); parallel regions joined with `, `. */
  state: string;
  /** XState's actor status: `active`, `done`, `stopped`, `error`. */
  status: string;
  /** A domain's domid and XSM label. */
  domid?: number;
  label?: string;
  /** A domain's mailbox: scheduling points waiting to run in it (sends, VIRQ handler runs, toolstack operations). */
  mailbox?: number;
  /** A ring's identity and how full the hypervisor says it is now. */
  ring?: RingView;
  /** An app's destination (`domid:port`) and progress. */
  app?: { to: string; toDomain?: string; sent: number; count: number };
}

/** A ring as the topology draws it. */
export interface RingView {
  owner: string;
  aport: number;
  /** The partner's domain name, `any` for a wildcard ring, or the domid when no domain has it. */
  partner: string;
  len: number;
  /** Bytes between rx_ptr and tx_ptr (headers included), as the hypervisor's ring shows them. */
  pendingBytes: number;
  /** Senders waiting for space (argo.md §6.3). */
  waiters: number;
}

/** An actor in depth (`GET /api/actors/:id`): its context and the events it sent and received. */
export interface ActorDetail extends ActorView {
  /** The machine's context, made JSON-safe (long arrays and strings cut, functions left out). */
  context: unknown;
  /** The latest events, oldest first. */
  events: ActorEvent[];
}

/** An event an actor sent (`out`) or received (`in`), from XState's inspection events. */
export interface ActorEvent {
  /** The step during which it happened; -1 while the system was being built. */
  step: number;
  atMs: number;
  dir: 'in' | 'out';
  type: string;
  /** The other actor's id, or `runtime` when the deterministic runtime sent it. */
  peer: string;
  /** The scheduling point that was running (`VIRQ_ARGO`, `queries #3`). */
  cause?: string;
}

/** One line of the event log: a hypercall or a VIRQ, stamped with its step. */
export interface LogEntry {
  step: number;
  atMs: number;
  type: 'hypercall' | 'virq';
  /** `register_ring`, `unregister_ring`, `sendv`, `notify`, `VIRQ_ARGO`, … */
  op: string;
  /** The calling domain (hypercall) or the domain signalled (VIRQ). */
  domain: string;
  /** sendv: the destination domain and ring (`db:5432`). */
  to?: string;
  toDomain?: string;
  /** What the hypercall returned: 0, a byte count or -errno. */
  result?: number;
  errno?: string;
  /** Bytes a sendv carried. */
  bytes?: number;
}

/** Sampled figures for the metrics strip (at most a few per second). */
export interface MetricsSample {
  /** Wall-clock rates over the last sample. */
  stepsPerSec: number;
  eventsPerSec: number;
  /** Scheduling points waiting: the runtime's mailbox, in total and for the busiest domain. */
  mailboxDepth: number;
  mailboxMax: { domain: string; depth: number } | null;
  /** Ring fill in [0, 1]: mean over registered rings and the fullest. */
  ringFillMean: number;
  ringFillMax: { id: string; fill: number } | null;
  actors: number;
}

/** One recorded step: the scheduler's record, the state changes it made and what it logged. */
export interface RecordedStep extends StepRecord {
  /** Actors whose state moved in this step: `[id, state]`; `null` state: the actor went away. */
  changes: Array<[string, string | null]>;
  log: LogEntry[];
}

/** An actor's fixed facts, as the trace file lists them once. */
export interface RecordedActor {
  id: string;
  kind: ActorKind;
  domain: string;
  machine: string;
  /** The step after which it first existed (0: at boot). */
  since: number;
}

/** How a run ended, or `more` while it goes on. */
export type RunState = 'more' | 'idle' | 'until' | 'maxSteps' | 'halted';

/** Server → page. */
export type ServerMessage =
  | {
      type: 'hello';
      version: number;
      mode: 'live' | 'replay';
      scenario: { name: string; description: string; file: string };
      seed: number;
      /** Replay: how many steps the recording has. */
      stepsTotal: number | null;
      stepsPerSecond: number;
      domains: Array<{ name: string; domid: number; label: string }>;
      hypervisor: { xsm: string; argo: boolean };
    }
  | {
      type: 'update';
      step: number;
      atMs: number;
      end: RunState;
      running: boolean;
      /** Every actor when `full`, else only those that changed since the last update. */
      full?: boolean;
      actors: ActorView[];
      removed: string[];
      /** Log entries since the last update (the page keeps a bounded window). */
      log: LogEntry[];
      /** The log starts afresh (the view went back in time, or the page is new): drop the old window. */
      logReset?: boolean;
      metrics?: MetricsSample;
      /** The selected actor in depth. */
      selected?: ActorDetail | null;
      /** Replay: actors whose re-run state differs from the recording at this step (should be none). */
      divergent?: string[];
      /** Replay: how many steps the recording has. */
      stepsTotal?: number | null;
    }
  | { type: 'error'; message: string };

/** Page → server. */
export type ClientMessage =
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'step'; count?: number }
  | { type: 'seek'; step: number }
  | { type: 'speed'; stepsPerSecond: number }
  | { type: 'select'; id: string | null };

/** A machine's statechart as the page draws it (`GET /api/machines/:id`). */
export interface ChartNode {
  /** Dotted path from the root (`registered.empty`); the root's is ''. */
  path: string;
  key: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  initial?: string;
  description?: string;
  children: ChartNode[];
  transitions: Array<{ event: string; targets: string[] }>;
}

export type { StepRecord };
