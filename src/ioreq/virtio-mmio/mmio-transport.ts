import type { VirtioDriverAccess } from '../../virtio/driver-init.js';
import { IOREQ_READ, IOREQ_TYPE_COPY, IOREQ_WRITE } from '../constants.js';
import type { Ioreq } from '../ioreq.js';
import type { IoreqAccess } from '../send.js';
import { VIRTIO_MMIO as R, VIRTIO_MMIO_MAGIC } from './registers.js';

/** What Linux's `virtio_mmio_probe` concludes (§1.8, case 21). */
export type ProbeResult = { kind: 'device'; deviceId: number; version: number } | { kind: 'ignored'; why: string } | { kind: 'absent' };

/**
 * How the vCPU of a `VirtioMmioTransport` waits, and what watches it — a device model in another
 * thread (the parallel runtime) answers later, and the runtime catches up with what a wait cut short.
 */
export interface MmioVcpuSide {
  /**
   * How the vCPU waits for an answer that does not come at once: called while `resume` says the vCPU
   * is still blocked, with the number of waits so far; it waits a little (bounded) and returns false
   * to give up (the access then reads all-ones, the vCPU still waiting in Xen). Without it the answer
   * must come within the notification.
   */
  wait?(attempt: number): boolean;
  /**
   * An access that reads all-ones here because the vCPU could not finish it now — `executed` false
   * when the vCPU could not execute it (its domain paused, or a shutdown's deferral refused it: RETRY,
   * §5.5; or, R2's bug, Xen forgot the request it sent), for Xen runs that instruction again when the
   * vCPU runs; true when it was sent and its completion waits in Xen (paused meanwhile, or `wait` gave
   * up). Catching up is the caller's.
   */
  cutShort?(access: IoreqAccess, executed: boolean): void;
  /**
   * True while the caller has not caught up — accesses cut short unexecuted still wait — and then a
   * later access is not executed either but cut short after them: the vCPU runs its instructions in
   * program order, so none may overtake one that has not run (a reset's Status write replayed after
   * the initialisation it began would undo it).
   */
  behind?(): boolean;
  /** The access went to an emulator (monitor ioreq-once, R2). */
  sent?(access: IoreqAccess): void;
  /** The vCPU runs again after its completion (monitors vcpu-io-state and broadcast-completes, R1 and R4). */
  ranAgain?(): void;
}

/**
 * The guest's side of virtio-mmio over IOREQ: every register access is a trapped MMIO access on
 * one vCPU, answered through the IOREQ server (one synchronous round trip each, §5.10). Implements
 * `VirtioDriverAccess`, so `initialiseDevice` and the drivers of src/virtio run over it unchanged.
 * It needs a backend that answers within the notification (serveOnNotify); under a scheduler, use
 * `ioreq.access` / `ioreq.resume` directly (src/runtime/ioreq-vcpu.ts). An access nothing answers
 * reads all-ones, never throws.
 *
 * @example
 * ```ts
 * const mmio = new VirtioMmioTransport(ioreq, 1, 0, GUEST_VIRTIO_MMIO_BASE);
 * if (mmio.probe().kind === 'device') initialiseDevice(mmio, mem, pages, { wanted });
 * ```
 */
export class VirtioMmioTransport implements VirtioDriverAccess {
  /** Register accesses made (each one a VM exit and an ioreq round trip). */
  exits = 0;
  /** Accesses nothing answered (they read all-ones). */
  unanswered = 0;

  constructor(
    private readonly ioreq: Ioreq,
    readonly target: number,
    readonly vcpu: number,
    readonly base: number,
    private readonly side: MmioVcpuSide = {},
  ) {}

  /** Linux's order (§1.8): Magic, then Version ∈ {1, 2}, then DeviceID ≠ 0. */
  probe(): ProbeResult {
    const magic = this.read32(R.MagicValue);
    if (magic !== VIRTIO_MMIO_MAGIC) return { kind: 'ignored', why: `wrong magic value 0x${magic.toString(16)}` };
    const version = this.read32(R.Version);
    if (version < 1 || version > 2) return { kind: 'ignored', why: `version ${version} not supported` };
    const deviceId = this.read32(R.DeviceID);
    if (deviceId === 0) return { kind: 'absent' }; // a placeholder: stop, no error
    return { kind: 'device', deviceId, version };
  }

  /** One 32-bit (or `size`) register read; all-ones when nothing answers it (§5.6, §5.9 SIM). */
  read32(offset: number, size: 1 | 2 | 4 = 4): number {
    const data = this.trap(offset, size, IOREQ_READ, 0n);
    return Number(BigInt.asUintN(8 * size, data));
  }

  /** One register write. */
  write32(offset: number, value: number, size: 1 | 2 | 4 = 4): void {
    this.trap(offset, size, IOREQ_WRITE, BigInt(value >>> 0));
  }

  /**
   * One trapped access and its completion in a single go. Anything but an answer — no server (x86:
   * all-ones), a data abort (Arm), a refused emulation (R1's UNHANDLEABLE), a vCPU that cannot run, a
   * server that does not answer at once — reads all-ones and is counted in `unanswered`: the guest
   * sees a device that is not there, and the model goes on (a vCPU left waiting in Xen stays so).
   */
  private trap(offset: number, size: 1 | 2 | 4, dir: number, data: bigint): bigint {
    this.exits++;
    const access: IoreqAccess = { type: IOREQ_TYPE_COPY, addr: this.base + offset, size, dir, data };
    const side = this.side;
    if (this.ioreq.vcpuBlocked(this.target, this.vcpu) || side.behind?.()) {
      side.cutShort?.(access, false); // still waiting in Xen on one before it, or behind one not executed: this one is not executed yet
      return this.unanswer(size);
    }
    const r = this.ioreq.access(this.target, this.vcpu, access);
    if (r.kind === 'ignored') return r.data;
    if (r.kind === 'not-running' || r.kind === 'retry') side.cutShort?.(access, false);
    if (r.kind !== 'blocked' && r.kind !== 'retired') return this.unanswer(size);
    sentAndReturned(this.ioreq, this.target, this.vcpu, access, side);
    let done = this.ioreq.resume(this.target, this.vcpu);
    for (let attempt = 0; done.kind === 'blocked' && side.wait?.(attempt); attempt++) done = this.ioreq.resume(this.target, this.vcpu);
    if (done.kind === 'done' || done.kind === 'running') side.ranAgain?.();
    if (done.kind === 'done') return done.data ?? 0n;
    // R2's bug: Xen forgot the request it sent (the answer is dropped): the instruction runs again
    if (done.kind === 'retry') side.cutShort?.(access, false);
    if (done.kind === 'blocked' || done.kind === 'not-running') side.cutShort?.(access, true);
    return this.unanswer(size);
  }

  private unanswer(size: number): bigint {
    this.unanswered++;
    return (1n << BigInt(8 * size)) - 1n;
  }

  readStatus(): number { return this.read32(R.Status); }
  writeStatus(value: number): void { this.write32(R.Status, value); }

  readDeviceFeatures(sel: number): number {
    this.write32(R.DeviceFeaturesSel, sel);
    return this.read32(R.DeviceFeatures);
  }

  writeDriverFeatures(sel: number, word: number): void {
    this.write32(R.DriverFeaturesSel, sel);
    this.write32(R.DriverFeatures, word);
  }

  queueSizeMax(q: number): number {
    this.write32(R.QueueSel, q);
    return this.read32(R.QueueSizeMax);
  }

  setQueueSize(q: number, size: number): void {
    this.write32(R.QueueSel, q);
    this.write32(R.QueueSize, size);
  }

  setQueueAddresses(q: number, desc: number, avail: number, used: number): void {
    this.write32(R.QueueSel, q);
    for (const [low, gpa] of [[R.QueueDescLow, desc], [R.QueueDriverLow, avail], [R.QueueDeviceLow, used]] as const) {
      this.write32(low, gpa % 2 ** 32);
      this.write32(low + 4, Math.floor(gpa / 2 ** 32));
    }
  }

  setQueueReady(q: number, ready: boolean): void {
    this.write32(R.QueueSel, q);
    this.write32(R.QueueReady, ready ? 1 : 0);
  }

  queueReady(q: number): boolean {
    this.write32(R.QueueSel, q);
    return this.read32(R.QueueReady) !== 0;
  }

  readConfig(offset: number, width: number): number {
    return this.read32(R.Config + offset, width as 1 | 2 | 4);
  }

  get configGeneration(): number {
    return this.read32(R.ConfigGeneration);
  }

  /** QueueNotify: the available-buffer notification (the hot path, §5.10). */
  notify(q: number): void {
    this.write32(R.QueueNotify, q);
  }

  /** Reads InterruptStatus and acknowledges what it saw (the guest's interrupt handler). */
  acknowledgeInterrupt(): number {
    const bits = this.read32(R.InterruptStatus);
    if (bits !== 0) this.write32(R.InterruptACK, bits);
    return bits;
  }
}

/**
 * A request of the vCPU went to an emulator (`sent`), and Xen's arch code looks at what
 * `ioreq_send` returned (§5.5: Arm `try_fwd_ioserv`) — a shutdown begun between the two is R2's
 * window, in which, with the bug, Xen forgets the request (its completion then says `retry`).
 */
export function sentAndReturned(ioreq: Ioreq, target: number, vcpu: number, access: IoreqAccess, side: MmioVcpuSide): void {
  side.sent?.(access);
  ioreq.sendReturned(target, vcpu);
}
