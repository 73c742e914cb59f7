/** Why the toolstack asks a guest to shut down (the control/shutdown node's value). */
export type ControlReason = 'poweroff' | 'reboot' | 'suspend';

/** What the PV control protocol needs from the runtime that runs it. */
export interface PvControlHooks {
  /** True while the domain's vCPUs run (alive, not paused, stalled or shut down). */
  runnable(domid: number): boolean;
  /** The domain as it is now (its actor), or undefined once it is gone: another value means it was replaced. */
  identity(domid: number): unknown;
  /** True once the run is over: nothing waits any more. */
  over(): boolean;
  /** Runs `run` `ms` wall milliseconds from now. */
  later(ms: number, run: () => void): void;
  /**
   * Runs `run` LIBXL_ACK_TIMEOUT (scenario time) from now, in scenario-time order with the run's
   * timed events: an unpause due before the timeout runs before it, however late the timers fire.
   */
  ackTimeout(run: () => void): void;
  /** Runs `work` as a step of the domain's toolstack (its lane), in turn with the run's timed events. */
  step(domid: number, work: () => Promise<void> | void): void;
  /** Appends `line` to the domain's toolstack log. */
  log(domid: number, line: string): void;
}

/**
 * libxl's PV control protocol (lifecycle §6.4) for the parallel runtime's toolstack, as the
 * deterministic runtime's toolstack runs it: xl writes control/shutdown; the guest's xenbus watch
 * acknowledges once the guest runs — at once for a running one; for a paused, stalled or suspended
 * one in the step that lets it run again (`acknowledgeIfRunning`, an unpause or a resume), else when
 * it is next seen running (looked at every millisecond) — and the guest shuts down with the reason
 * (`acknowledged`, then xl's on_* action). A guest that has not run within LIBXL_ACK_TIMEOUT never
 * sees the request: libxl clears the node, the operation ends in ERROR_TIMEDOUT and the domain goes
 * on as it was. One such operation per domain at a time, as libxl's ao: another shutdown, reboot or
 * suspend while one waits is not taken.
 *
 * @example
 * ```ts
 * const control = new PvControl(hooks);
 * control.request(3, 'reboot', () => restart(3)); // acknowledged at once if domain 3 runs
 * control.acknowledgeIfRunning(3);                // the step that unpaused it
 * ```
 */
export class PvControl {
  /** Domains whose request waits for the guest's acknowledgement (libxl's ao in flight), and what acknowledging does. */
  private readonly waiting = new Map<number, () => Promise<void> | void>();

  constructor(private readonly hooks: PvControlHooks) {}

  /** xl shutdown / reboot / suspend of `domid`: `acknowledged` runs when (if) the guest acknowledges. */
  request(domid: number, reason: ControlReason, acknowledged: () => Promise<void> | void): Promise<void> | void {
    const h = this.hooks;
    const domain = h.identity(domid);
    if (domain === undefined || this.waiting.has(domid)) return; // no such domain; or libxl's ao for it in flight
    if (h.runnable(domid)) return acknowledged();
    this.waiting.set(domid, acknowledged);
    /** False once nothing waits any more: acknowledged, timed out, the run over or the domain gone. */
    const waits = (): boolean => {
      if (this.waiting.get(domid) !== acknowledged) return false;
      if (!h.over() && h.identity(domid) === domain) return true;
      this.waiting.delete(domid);
      return false;
    };
    const timedOut = (): void => {
      if (!waits()) return;
      this.waiting.delete(domid);
      h.log(domid, `${reason === 'poweroff' ? 'shutdown' : reason}: ERROR_TIMEDOUT (not acknowledged)`);
    };
    /** The guest seen running acknowledges, in a step of its toolstack's lane; else `otherwise`. */
    const ackIfRunning = (otherwise: () => void): void => {
      if (!waits()) return;
      if (h.runnable(domid)) return h.step(domid, () => (h.runnable(domid) ? this.acknowledgeIfRunning(domid) : otherwise()));
      otherwise();
    };
    // looked for every millisecond (paused again by its step: go on looking)
    const look = (): void => ackIfRunning(() => h.later(1, look));
    h.later(1, look);
    // at the timeout libxl re-reads control/shutdown in a transaction: a guest that runs has acknowledged
    h.ackTimeout(() => ackIfRunning(timedOut));
  }

  /** The guest of `domid` runs: it acknowledges the request waiting for it, if any. */
  acknowledgeIfRunning(domid: number): Promise<void> | void {
    const acknowledged = this.waiting.get(domid);
    if (acknowledged === undefined || !this.hooks.runnable(domid)) return;
    this.waiting.delete(domid);
    return acknowledged();
  }
}
