/** LIBXL_QMP_CMD_TIMEOUT (libxl_internal.h; virtio-ioreq-lifecycle.md §6.4 timeouts). */
export const LIBXL_QMP_CMD_TIMEOUT_MS = 10_000;

/**
 * What a QMP monitor needs of the run: the two sides' scheduling points, libxl's timer, and the
 * `qmp-answers` monitor's report.
 *
 * @example
 * ```ts
 * const host: QmpHost = { qemu, libxl, timer, unanswered: (what) => violations.push(what) };
 * ```
 */
export interface QmpHost {
  /** A step of QEMU's main loop (a scheduling point of the device model, run in its domain). */
  qemu(label: string, run: () => void): void;
  /** A step of libxl's event loop (a scheduling point of the toolstack). */
  libxl(label: string, run: () => void): void;
  /** libxl's timer: `run` after `ms` unless the returned function cancels it first. */
  timer(ms: number, run: () => void): () => void;
  /** A command got no answer within LIBXL_QMP_CMD_TIMEOUT from a wedged monitor (monitor qmp-answers). */
  unanswered(what: string): void;
}

/**
 * One QEMU's QMP monitor and libxl's connection to it (libxl_qmp.c `libxl__ev_qmp`): libxl sends a
 * command, QEMU does it and writes its answer as a step of its own, libxl reads the answer as a step
 * of its event loop — or, when none came within LIBXL_QMP_CMD_TIMEOUT, fails the command.
 *
 * Two ways a monitor stops answering, each a race of §6.7:
 * - libxl closes the connection while a command's answer is outstanding (R8: it took xenstore's
 *   "running" for the start's confirmation and dropped the QMP connection before reading the reply):
 *   QEMU's monitor is left wedged, and every later command goes unanswered;
 * - QEMU exits (R13: without -no-shutdown it exits when the guest powers off): the socket is closed,
 *   a command fails at once.
 *
 * @example
 * ```ts
 * const qmp = new QmpMonitor(host);
 * qmp.command('cont', () => run(), (ok) => ok && unpause());
 * ```
 */
export class QmpMonitor {
  /** The command whose answer libxl has not read yet, and how it ends. */
  private pending: { name: string; finish: (ok: boolean) => void; drop: () => void } | null = null;
  /** Why the monitor answers nothing more, once it does not (R8). */
  private wedged: string | null = null;
  private closed = false;

  constructor(private readonly host: QmpHost) {}

  /**
   * libxl sends `name`: QEMU does `effect` and answers; `done(true)` once libxl read the answer,
   * `done(false)` when the socket is closed or no answer came within LIBXL_QMP_CMD_TIMEOUT.
   */
  command(name: string, effect: () => void, done: (ok: boolean) => void): void {
    if (this.closed) return this.host.libxl(`qmp ${name}: connection refused`, () => done(false));
    let over = false;
    const drop = () => {
      over = true;
      cancelTimeout();
      if (this.pending?.drop === drop) this.pending = null;
    };
    const finish = (ok: boolean) => {
      if (over) return;
      drop();
      done(ok);
    };
    const cancelTimeout = this.host.timer(LIBXL_QMP_CMD_TIMEOUT_MS, () => {
      if (over) return;
      // a QEMU that could not run (its domain paused or gone) times out too, but only a wedged
      // monitor is the bug
      if (this.wedged) this.host.unanswered(`qmp-answers: QMP "${name}" got no answer within ${LIBXL_QMP_CMD_TIMEOUT_MS / 1000} s (${this.wedged})`);
      finish(false);
    });
    this.pending = { name, finish, drop };
    if (this.wedged) return; // only the timeout ends it
    this.host.qemu(`qmp ${name}`, () => {
      if (over || this.closed || this.wedged) return;
      effect();
      this.host.libxl(`qmp ${name}: reply`, () => finish(true));
    });
  }

  /**
   * libxl closes its connection (dropping a command outstanding, and its timeout). With a command's
   * answer outstanding, QEMU's monitor is wedged from now on (R8); `when` says what made libxl close it.
   */
  disconnect(when: string): void {
    const pending = this.pending;
    if (pending === null) return;
    this.wedged = `QEMU's monitor wedged: libxl disconnected with the answer to "${pending.name}" unread, ${when}`;
    pending.drop();
  }

  /** QEMU exited: its socket is closed; libxl reads EOF for a command outstanding. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const pending = this.pending;
    if (pending) this.host.libxl(`qmp ${pending.name}: connection closed`, () => pending.finish(false));
  }
}
