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
/**
 * How a QMP command ended for libxl: answered, the socket closed (QEMU exited: EOF or a refused
 * connection), or no answer within LIBXL_QMP_CMD_TIMEOUT.
 */
export type QmpResult = 'answered' | 'closed' | 'timeout';

export class QmpMonitor {
  /** The commands whose answers libxl has not read yet, each with how it ends. */
  private readonly pending = new Set<{ name: string; finish: (result: QmpResult) => void; drop: () => void }>();
  /** Why the monitor answers nothing more, once it does not (R8): the first cause stays. */
  private wedged: string | null = null;
  private closed = false;

  constructor(private readonly host: QmpHost) {}

  /** libxl sends `name`: QEMU does `effect` and answers; `done` says how the command ended. */
  command(name: string, effect: () => void, done: (result: QmpResult) => void): void {
    if (this.closed) return this.host.libxl(`qmp ${name}: connection refused`, () => done('closed'));
    let over = false;
    const command = {
      name,
      drop: () => {
        over = true;
        cancelTimeout();
        this.pending.delete(command);
      },
      finish: (result: QmpResult) => {
        if (over) return;
        command.drop();
        done(result);
      },
    };
    const cancelTimeout = this.host.timer(LIBXL_QMP_CMD_TIMEOUT_MS, () => {
      if (over) return;
      // a QEMU that could not run (its domain paused or gone) times out too, but only a wedged
      // monitor is the bug
      if (this.wedged) this.host.unanswered(`qmp-answers: QMP "${name}" got no answer within ${LIBXL_QMP_CMD_TIMEOUT_MS / 1000} s (${this.wedged})`);
      command.finish('timeout');
    });
    this.pending.add(command);
    if (this.wedged) return; // only the timeout ends it
    this.host.qemu(`qmp ${name}`, () => {
      if (over || this.closed || this.wedged) return;
      effect();
      this.host.libxl(`qmp ${name}: reply`, () => command.finish('answered'));
    });
  }

  /**
   * libxl closes its connection (dropping the commands outstanding, and their timeouts). With an
   * answer outstanding, QEMU's monitor is wedged from now on (R8); `when` says what made libxl close it.
   */
  disconnect(when: string): void {
    const [first] = this.pending;
    if (!first) return;
    this.wedged ??= `QEMU's monitor wedged: libxl disconnected with the answer to "${first.name}" unread, ${when}`;
    for (const command of [...this.pending]) command.drop();
  }

  /** QEMU exited: its socket is closed; libxl reads EOF for each command outstanding. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const command of [...this.pending]) this.host.libxl(`qmp ${command.name}: connection closed`, () => command.finish('closed'));
  }
}
