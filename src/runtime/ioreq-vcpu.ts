import type { Ioreq } from '../ioreq/ioreq.js';
import { allOnes, type IoreqAccess } from '../ioreq/send.js';
import { VcpuMonitors } from '../ioreq/vcpu-monitors.js';

/** A guest access being executed: its continuation. */
interface InFlight {
  a: IoreqAccess;
  then: (data: bigint) => void;
}

/** What a guest vCPU that traps to IOREQ servers needs from the runtime. */
export interface IoreqVcpuHooks {
  /** A scheduling point of `actor` after `delayMs` of virtual time. */
  point(actor: string, label: string, delayMs: number, run: () => void): void;
  /** Runs `work` when the guest is next unpaused (a vCPU that cannot run its completion now). */
  defer(work: () => void): void;
  /** A monitor's finding. */
  violate(what: string): void;
}

/**
 * One guest vCPU in a run whose trapped accesses are round trips through Xen's IOREQ servers
 * (virtio-ioreq-lifecycle.md §5.4, §5.10): an access the vCPU makes sends the request and blocks the
 * vCPU; the device model serves it at a scheduling point of its own; Xen's wake-up of the vCPU
 * (the emulator's EVTCHNOP_send reaching the target's port) is a scheduling point of the guest, at
 * which the vCPU runs its completion (`ioreq.resume`: XSA-262's checks, the data, the shutdown
 * deferral ended) and goes on. While it is blocked the vCPU runs nothing else: work for it waits
 * (`run`), as a real vCPU spinning in `wait_for_io` executes no guest code.
 *
 * Between the send and the wait lies one more step of the vCPU: Xen's arch code looking at what
 * `ioreq_send` returned (`sendReturned`, §5.5) — a shutdown can begin in between, which is R2's window.
 *
 * Four monitors watch the accesses and completions (issue #7 item 5; `VcpuMonitors`):
 * - `vcpu-io-state` (safety, R1, Xen f7039ee41b): a vCPU that runs again has `io.req.state` NONE
 *   — a state left READY makes every later emulation UNHANDLEABLE;
 * - `ioreq-state-forward` (safety, R3, XSA-262): a vCPU left waiting has not seen its slot move
 *   backwards or to an invalid value — Xen must crash the target instead of waiting on (the DoS);
 * - `broadcast-completes` (safety, R4, Xen da20c93108): a vCPU that runs again has no server with
 *   its request still pending — a broadcast waits for every server it reached;
 * - `ioreq-once` (safety, R2, Xen b7e0d89788): an emulator gets each guest access once — an
 *   instruction that runs again after a shutdown and resume must not send a request it already sent.
 *
 * @example
 * ```ts
 * const cpu = new IoreqVcpu(ioreq, 'guest', () => 1, 0, hooks);
 * ioreq.onWake((d, v) => d === 1 && v === 0 && cpu.woken());
 * cpu.run(() => cpu.access(write, () => console.log('retired')));
 * ```
 */
export class IoreqVcpu {
  /** The continuation of the access the vCPU waits on, or null while it runs. */
  private waiting: ((data: bigint) => void) | null = null;
  /** Work for the vCPU that waits until it runs again. */
  private readonly queue: Array<() => void> = [];
  /** The wait already reported by `ioreq-state-forward` (one finding per wait). */
  private reported = false;
  private completionQueued = false;
  private readonly monitors: VcpuMonitors;
  /** The guest access whose request is out (null for a broadcast, or when none is). */
  private inFlight: InFlight | null = null;
  /** Between a send and Xen's arch code looking at what it returned (`sendReturned`). */
  private returning = false;
  /** A wake-up that came while `returning`. */
  private wokenMeanwhile = false;
  /** An instruction waits to run again (RETRY); the vCPU's other work waits behind it. */
  private reexecuting = false;
  /** Bumped when the kernel is replaced: its deferred re-executions and pending returns are void. */
  private epoch = 0;

  constructor(
    private readonly ioreq: Ioreq,
    /** The guest's scenario name: the actor of its scheduling points. */
    readonly name: string,
    /** The guest's domid now (undefined while it has none). */
    private readonly domid: () => number | undefined,
    readonly vcpu: number,
    private readonly hooks: IoreqVcpuHooks,
  ) {
    this.monitors = new VcpuMonitors(ioreq, name, vcpu);
  }

  /** True while the vCPU waits in Xen for an emulator's answer. */
  get blocked(): boolean {
    return this.waiting !== null;
  }

  /** Runs `work` on the vCPU now, or once its outstanding access has completed. */
  run(work: () => void): void {
    if (this.waiting === null && !this.reexecuting) work();
    else this.queue.push(work);
  }

  /** Runs the work that waited, while the vCPU is free. */
  private drain(): void {
    while (this.waiting === null && !this.reexecuting && this.queue.length > 0) this.queue.shift()!();
  }

  /**
   * A trapped access (§5.4–§5.6); `then` continues the guest with the value read (all-ones when
   * nothing answered, §5.6, §5.9 SIM). The vCPU must not be blocked: use `run` around it.
   */
  access(a: IoreqAccess, then: (data: bigint) => void): void {
    this.issue({ a, then });
  }

  /**
   * The vCPU executes the instruction of `op` — again, after a RETRY: its PC was not advanced. A
   * request sent is one step; Xen's arch code looking at what `ioreq_send` returned is the next
   * (`sendReturned`), so a shutdown can begin in between (R2).
   */
  private issue(op: InFlight): void {
    const d = this.domid();
    if (d === undefined) return;
    if (this.ioreq.vcpuBlocked(d, this.vcpu)) {
      // still waiting in Xen on a request this object no longer tracks (the guest's kernel was
      // replaced meanwhile): the vCPU executes nothing until that completes
      this.waiting = () => this.issue(op);
      return;
    }
    const r = this.ioreq.access(d, this.vcpu, op.a);
    switch (r.kind) {
      case 'blocked':
      case 'retired': {
        this.report(this.monitors.sent(op.a, d));
        this.waiting = op.then;
        this.inFlight = op;
        this.reported = false;
        this.returning = true;
        const epoch = this.epoch;
        this.hooks.point(this.name, 'vCPU back from ioreq_send', 0, () => this.sendReturned(epoch));
        return;
      }
      case 'ignored':
        return op.then(r.data);
      case 'abort': // Arm: a data abort the guest's handler skips; the read sees nothing
      case 'unhandleable': // only with R1's bug: the emulation fails; vcpu-io-state has reported why
        return op.then(allOnes(op.a.size));
      case 'retry': // §5.5: shutdown refused the deferral; the instruction runs again once resumed
      case 'not-running':
        return this.reexecute(op);
    }
  }

  /**
   * The instruction of `op` runs again when the vCPU next runs (after resume); the guest's other work
   * for this vCPU waits behind it. Dropped if the kernel is replaced meanwhile (`reset`).
   */
  private reexecute(op: InFlight): void {
    const epoch = this.epoch;
    this.reexecuting = true;
    this.hooks.defer(() => {
      if (epoch !== this.epoch) return;
      this.reexecuting = false;
      this.issue(op);
      this.drain();
    });
  }

  /** Xen's arch code is back from `ioreq_send` (`ioreq.sendReturned`); a wake-up that came meanwhile is taken now. */
  private sendReturned(epoch: number): void {
    this.returning = false;
    const d = this.domid();
    if (epoch === this.epoch && d !== undefined) this.ioreq.sendReturned(d, this.vcpu);
    if (this.wokenMeanwhile) {
      this.wokenMeanwhile = false;
      this.woken();
    }
  }

  /**
   * Xen's mapcache invalidation (§5.3, R4): after the guest gave memory back, Xen broadcasts an
   * INVALIDATE ioreq to every enabled server before the vCPU runs on, and the vCPU waits for every
   * one of them (da20c93108). `then` runs once it may go on. The vCPU must not be blocked: use `run`.
   */
  broadcastInvalidate(then: () => void): void {
    const d = this.domid();
    if (d === undefined) return;
    if (this.ioreq.broadcastInvalidate(d, this.vcpu) < 0) return this.hooks.defer(() => this.run(() => this.broadcastInvalidate(then)));
    if (!this.ioreq.vcpuBlocked(d, this.vcpu)) return then(); // no server took it
    this.waiting = () => then();
    this.reported = false;
  }

  /** Xen woke the vCPU (`onWake`): its completion becomes a scheduling point of the guest. */
  woken(): void {
    if (this.waiting === null || this.completionQueued) return;
    if (this.returning) {
      this.wokenMeanwhile = true; // the vCPU is still in Xen, on its way from the send to the wait
      return;
    }
    this.completionQueued = true;
    // not as guest work: a vCPU holding its shutdown deferral runs its completion while the domain
    // shuts down (§5.5); `resume` itself says when the vCPU cannot run (paused), and it waits then
    this.hooks.point(this.name, 'vCPU completes its ioreq', 0, () => {
      this.completionQueued = false;
      this.complete();
    });
  }

  /**
   * The guest's kernel is gone (its domain destroyed, or a soft reset replaced it): its work goes
   * with it. A vCPU still waiting in Xen on a request the old kernel made completes it all the same —
   * for nobody — so that it ends its shutdown deferral; otherwise its domain could never shut down.
   */
  reset(): void {
    this.queue.length = 0;
    this.epoch++;
    this.reexecuting = false;
    this.inFlight = null;
    const d = this.domid();
    this.waiting = d !== undefined && this.ioreq.vcpuBlocked(d, this.vcpu) ? () => {} : null;
  }

  private complete(): void {
    const d = this.domid();
    if (d === undefined || this.waiting === null) return;
    const r = this.ioreq.resume(d, this.vcpu);
    switch (r.kind) {
      case 'blocked':
        return this.checkForward(d);
      case 'not-running':
        return this.hooks.defer(() => this.complete());
      case 'crashed': // XSA-262: Xen crashed the target; its domain's teardown follows
        return this.reset();
      case 'retry': { // R2's bug: the request was forgotten after its send; the answer is dropped
        const op = this.inFlight;
        this.waiting = null;
        this.inFlight = null;
        if (op) this.reexecute(op);
        return;
      }
      case 'running':
      case 'done': {
        const then = this.waiting;
        this.waiting = null;
        for (const finding of this.monitors.ranAgain(d)) this.hooks.violate(finding);
        this.inFlight = null;
        then(r.kind === 'done' ? (r.data ?? 0n) : 0n);
        this.drain();
      }
    }
  }

  /** `ioreq-state-forward`: a vCPU still waiting must not have seen its slot move backwards (XSA-262); one finding per wait. */
  private checkForward(d: number): void {
    if (this.reported) return;
    const finding = this.monitors.stillWaiting(d);
    this.reported = finding !== null;
    this.report(finding);
  }

  private report(finding: string | null): void {
    if (finding !== null) this.hooks.violate(finding);
  }
}
