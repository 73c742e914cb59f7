import { IOREQ_WRITE, STATE_IOREQ_NONE, STATE_IORESP_READY } from './constants.js';
import type { Ioreq } from './ioreq.js';
import type { IoreqAccess } from './send.js';

/**
 * The safety monitors of a guest vCPU that traps to IOREQ servers (issue #7 item 5), as findings
 * from the shared IOREQ state — one definition for the deterministic runtime's `IoreqVcpu` and the
 * parallel runtime's virtio-mmio front ends, which watch the same accesses from different threads.
 * Each returns what it found (a violation's text) or nothing; the caller reports it.
 *
 * @example
 * ```ts
 * const cpu = new VcpuMonitors(ioreq, 'guest', 0);
 * for (const v of cpu.ranAgain(1)) violations.push(v); // after the vCPU's completion
 * ```
 */
export class VcpuMonitors {
  /** Servers `broadcast-completes` found still holding this vCPU's request (one finding per request left behind). */
  private readonly leftPending = new Set<number>();
  /** Accesses sent, by the access (an instruction run again sends the same one). */
  private readonly sends = new WeakMap<IoreqAccess, number>();

  constructor(
    private readonly ioreq: Ioreq,
    /** The guest's scenario name. */
    readonly name: string,
    readonly vcpu: number,
  ) {}

  /**
   * The vCPU of domain `d` runs again after an ioreq (its completion done):
   * - `vcpu-io-state` (R1, Xen f7039ee41b): its `io.req.state` is NONE — a state left READY makes
   *   every later emulation UNHANDLEABLE;
   * - `broadcast-completes` (R4, Xen da20c93108): no server still has its request pending — a
   *   broadcast waits for every server it reached.
   */
  ranAgain(d: number): string[] {
    const found: string[] = [];
    const state = this.ioreq.vcpuIoState(d, this.vcpu);
    if (state !== STATE_IOREQ_NONE) {
      found.push(`vcpu-io-state: vCPU ${this.vcpu} of ${this.name} (domain ${d}) runs again with io.req.state ${state}, not NONE: every later emulation is UNHANDLEABLE (R1, fixed by Xen f7039ee41b)`);
    }
    const pending = this.ioreq.pendingOn(d, this.vcpu);
    for (const id of this.leftPending) if (!pending.some((s) => s.id === id)) this.leftPending.delete(id);
    for (const s of pending) {
      if (this.leftPending.has(s.id)) continue;
      this.leftPending.add(s.id);
      found.push(`broadcast-completes: vCPU ${this.vcpu} of ${this.name} (domain ${d}) runs again while server ${s.id} (device model in domain ${s.emulator}) has not answered its request: the vCPU's next access to it finds the slot busy (R4, fixed by Xen da20c93108)`);
    }
    return found;
  }

  /**
   * `ioreq-state-forward` (R3, XSA-262): the vCPU of live domain `d`, still waiting, has not seen a
   * slot it waits on move backwards or to an invalid value — Xen must crash the target instead of
   * waiting on (the DoS). The first such server is named; the caller reports one finding per wait.
   */
  stillWaiting(d: number): string | null {
    if (this.ioreq.hv.life(d) !== 'alive') return null;
    for (const s of this.ioreq.pendingOn(d, this.vcpu)) {
      if (s.slotState >= s.seen && s.slotState <= STATE_IORESP_READY) continue;
      return `ioreq-state-forward: vCPU ${this.vcpu} of ${this.name} (domain ${d}) keeps waiting on server ${s.id} whose slot went from state ${s.seen} back to ${s.slotState}: Xen must crash the target, not wait forever (R3, XSA-262)`;
    }
    return null;
  }

  /**
   * `ioreq-once` (R2, Xen b7e0d89788): access `a` of domain `d` went to an emulator; found when this
   * is its second time — the instruction ran again after a shutdown and resume although its request
   * had been sent. An access is known by its object: an instruction run again passes the one it
   * sent, and every new guest access must be a new object (a constant reused would read as a resend).
   */
  sent(a: IoreqAccess, d: number): string | null {
    const n = (this.sends.get(a) ?? 0) + 1;
    this.sends.set(a, n);
    if (n !== 2) return null;
    const what = `${a.dir === IOREQ_WRITE ? 'write' : 'read'} of ${a.size} bytes at 0x${a.addr.toString(16)}`;
    return `ioreq-once: the ${what} by vCPU ${this.vcpu} of ${this.name} (domain ${d}) went to its device model twice: the instruction ran again after a shutdown and resume although its request had been sent (R2, fixed by Xen b7e0d89788)`;
  }
}
