/**
 * What the deterministic scheduler chooses among: every cross-actor message, VIRQ delivery, timer,
 * toolstack operation and fault is a scheduling point (ARCHITECTURE.md principle 3, the model of
 * Coyote and P). A point becomes enabled when the virtual clock reaches `dueMs`.
 *
 * @example
 * ```ts
 * scheduler.schedule({ kind: 'virq', actor: 'domain-2', label: 'VIRQ_ARGO', delayMs: 0, run: () => deliver() });
 * ```
 */
export type SchedulingKind = 'message' | 'virq' | 'timer' | 'toolstack' | 'fault' | 'guest';

/** A point waiting in the scheduler. */
export interface SchedulingPoint {
  readonly id: number;
  readonly kind: SchedulingKind;
  /** The actor it is delivered to or runs in. */
  readonly actor: string;
  /** A short description for traces (`"SHUTDOWN poweroff"`, `"sendv web→db"`). */
  readonly label: string;
  /** Virtual time (ms) from which it may run. */
  readonly dueMs: number;
  readonly run: () => void;
}

/** What `schedule` takes: a point without id and absolute time. */
export interface PointRequest {
  kind: SchedulingKind;
  actor: string;
  label: string;
  /** Delay from now in virtual ms (default 0). */
  delayMs?: number;
  run: () => void;
}

/** One step of a run, as recorded in the trace. */
export interface StepRecord {
  step: number;
  atMs: number;
  /** Index chosen among the enabled points (sorted by due time, then id). */
  choice: number;
  /** How many points were enabled. */
  enabled: number;
  kind: SchedulingKind;
  actor: string;
  label: string;
}
