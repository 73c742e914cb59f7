import { VirtioDevice, type VirtioDeviceModel } from '../../virtio/virtio-device.js';
import type { GuestMemory } from '../../memory/guest-memory.js';
import { HVM_IOREQSRV_BUFIOREQ_OFF, IOREQ_READ, IOREQ_TYPE_COPY, IOREQ_TYPE_INVALIDATE, STATE_IOREQ_READY, XEN_DMOP_IO_RANGE_MEMORY, XEN_DMOP_no_gfns } from '../constants.js';
import { answerRequest, takeRequest } from '../emulator-slot.js';
import { setSlotState } from '../ioreq-page.js';
import type { Ioreq } from '../ioreq.js';
import type { Ioreq as IoreqT } from '../ioreq-page.js';
import { ForeignMappings } from './foreign-mappings.js';
import { MmioRegisterFile, type MmioIdentity } from './register-file.js';
import { GUEST_VIRTIO_MMIO_BASE, VIRTIO_MMIO_WINDOW_BYTES } from './registers.js';

/** How to start a virtio-mmio backend. */
export interface VirtioMmioBackendOptions {
  ioreq: Ioreq;
  /** The backend's domain: it must be privileged over the target (dom0, or the target's device model). */
  emulator: number;
  target: number;
  model: VirtioDeviceModel;
  /** Base of the device's 0x200-byte window (default GUEST_VIRTIO_MMIO_BASE, libxl's first slot). */
  base?: number;
  /** DMOP set_irq_level (op 19): the device's SPI goes up or down. */
  setIrqLevel?: (level: 0 | 1) => void;
  /** Overrides of MagicValue / Version (case 21). */
  identity?: MmioIdentity;
  /** False: requests wait in `pending` until `servePending` (a scheduler decides when the backend runs). Default true. */
  serveOnNotify?: boolean;
  /** With serveOnNotify false: called for each notification instead of queueing it in `pending` — the scheduler's cue to call `serve(vcpu)`. */
  onPending?: (vcpu: number) => void;
  /**
   * A misbehaving answer's second run (R3: the slot written back to READY after INPROCESS) is made
   * at the cue this gives — a call of `serve(vcpu)` later — rather than at once (serving on
   * notification) or by `onPending`: a vCPU in another thread must have a chance to see INPROCESS
   * first, as Xen's wait_for_io wakes only on a state it has not seen.
   */
  cueSecondRun?: (vcpu: number) => void;
  /**
   * Historical rule R6 broken (`emulatorSkipsRangeCheck`): the emulator trusts that whatever Xen
   * delivered is for its device, without re-checking the address against what it still serves.
   */
  skipsRangeCheck?: boolean;
  /**
   * Monitor emulator-validates (§5.6, R6): called when the device performs a request whose address
   * lies in no range the server has mapped now — a request Xen selected before the range was unmapped.
   */
  onUnservedRequest?: (request: { addr: number; offset: number; write: boolean; unmappedAtMs: number | null }) => void;
  /** The virtual time (ms), for the monitor's report. */
  now?: () => number;
}

/**
 * A virtio-mmio device emulator reached through an IOREQ server (virtio-ioreq-lifecycle.md §5.10,
 * "VirtIO-EPAM"): it creates a server for the guest, maps [base, base + 0x1ff] as MEMORY, enables
 * it and binds the vCPU ports (§5.8a), then answers each COPY ioreq by decoding the §1.8 registers
 * against a `VirtioDevice`. Virtqueues and buffers are reached by foreign mapping of guest memory,
 * each mapping counted in `mappings` (§5.10 step 6).
 *
 * @example
 * ```ts
 * const backend = new VirtioMmioBackend({ ioreq, emulator: 0, target: 1, model: virtioBlkModel({ disk }) });
 * backend.mappings.count; // grows as the guest's requests are served
 * backend.stop();         // destroy_ioreq_server
 * ```
 */
export class VirtioMmioBackend {
  readonly id: number;
  readonly base: number;
  readonly device: VirtioDevice;
  readonly registers: MmioRegisterFile;
  readonly mappings = new ForeignMappings();
  /** Ioreqs answered. */
  requests = 0;
  /** Ioreqs outside the window (a range unmapped after selection, R6): answered without effect. */
  strays = 0;
  /** INVALIDATE ioreqs answered: Xen asked for the mapcache to be dropped (§5.3, R4). */
  invalidations = 0;
  /** vCPUs whose notification waits for `servePending`. */
  readonly pending: number[] = [];
  /** Whether a notification is served within it (default: `serveOnNotify`); a runtime switches it. */
  serveOnNotify: boolean;
  /** False once `stop` ran: the device model is gone, it serves nothing more. */
  running = true;
  /** False once `remove` unmapped the window from the server: the device is going away. */
  mapped = true;
  /** When `remove` unmapped the window (virtual ms), for the monitor's report. */
  private unmappedAtMs: number | null = null;
  /** Per vCPU, 1 while its notification came and its request is not answered yet (what a removal drains). */
  private awaiting: Uint8Array = new Uint8Array(0);
  private awaitingCount = 0;
  /** The removals in progress: called once the last request in flight is answered and the server destroyed. */
  private readonly removals: Array<() => void> = [];
  /**
   * A misbehaving device model (R3, XSA-262's threat): its next answer moves the slot backwards —
   * it takes the request (INPROCESS), notifies, then writes READY again and notifies once more.
   */
  misbehave = false;
  private readonly flipping = new Set<number>();
  /** vCPUs whose slot it wrote back to READY (R3): it takes nothing there again — Xen crashes the guest on seeing it. */
  private readonly wroteBack = new Set<number>();
  private readonly page: GuestMemory;
  private readonly ports: number[];
  private readonly unlisten: () => void;

  constructor(private readonly options: VirtioMmioBackendOptions) {
    const { ioreq, emulator, target } = options;
    this.base = options.base ?? GUEST_VIRTIO_MMIO_BASE;
    this.serveOnNotify = options.serveOnNotify ?? true;
    const guest = ioreq.hv.domain(target);
    if (!guest) throw new BringUpError(`virtio-mmio backend: no domain ${target}`);
    this.device = new VirtioDevice(guest.memory, this.mappings.counting(options.model), { onInterrupt: (n) => this.registers.interrupt(n.kind) });
    this.registers = new MmioRegisterFile(this.device, this.mappings, options.setIrqLevel, options.identity);
    this.id = must(ioreq.createServer(emulator, target, HVM_IOREQSRV_BUFIOREQ_OFF), 'create_ioreq_server');
    this.page = must(ioreq.acquireResource(emulator, target, this.id, 1), 'acquire_resource');
    must(ioreq.getServerInfo(emulator, target, this.id, XEN_DMOP_no_gfns), 'get_ioreq_server_info');
    must(ioreq.mapIoRange(emulator, target, this.id, XEN_DMOP_IO_RANGE_MEMORY, this.base, this.base + VIRTIO_MMIO_WINDOW_BYTES - 1), 'map_io_range');
    must(ioreq.setServerState(emulator, target, this.id, true), 'set_ioreq_server_state');
    const view = ioreq.servers(target).find((s) => s.id === this.id)!;
    this.ports = view.vcpus.map((v) => must(ioreq.bindInterdomain(emulator, target, v.port), 'bind_interdomain'));
    this.awaiting = new Uint8Array(this.ports.length);
    this.unlisten = ioreq.onEmulatorEvent((domid, port) => this.heard(domid, port));
  }

  private heard(domid: number, port: number): void {
    const vcpu = this.ports.indexOf(port);
    if (domid !== this.options.emulator || vcpu < 0 || !this.running) return;
    if (this.awaiting[vcpu] === 0) {
      this.awaiting[vcpu] = 1;
      this.awaitingCount++;
    }
    if (this.serveOnNotify) this.serve(vcpu);
    else if (this.options.onPending) this.options.onPending(vcpu);
    else this.pending.push(vcpu);
  }

  /** Serves every notification that waited (serveOnNotify false). */
  servePending(): number {
    const vcpus = this.pending.splice(0);
    for (const v of vcpus) this.serve(v);
    return vcpus.length;
  }

  /** Takes vCPU `vcpu`'s request, performs it on the registers, answers and notifies. */
  serve(vcpu: number): void {
    if (!this.running || this.wroteBack.has(vcpu)) return;
    // R3's misbehaving model has its request in flight until the flip's second run
    if (this.awaiting[vcpu] === 1 && (!this.misbehave || this.flipping.has(vcpu))) {
      this.awaiting[vcpu] = 0;
      this.awaitingCount--;
    }
    if (this.misbehave) this.flipBackwards(vcpu);
    else {
      const req = takeRequest(this.page, vcpu);
      if (req !== null) {
        const data = this.perform(req);
        answerRequest(this.page, vcpu, data);
        this.requests++;
        this.options.ioreq.evtchnSend(this.options.emulator, this.ports[vcpu]);
      } // else a spurious notification
    }
    if (this.removals.length > 0 && this.awaitingCount === 0) this.finishRemoval();
  }

  /**
   * The device is being removed (libxl wrote be/state=Closing): the device model unmaps its window
   * from the server (XEN_DMOP_unmap_io_range_from_ioreq_server, §5.2 op 4), so Xen routes no new
   * access to it, answers every request already in flight — a request Xen selected before the unmap
   * arrives after it (§5.6, R6) — and then destroys the server (§5.8a step 8); `removed` runs then.
   * The device acts on nothing once its server is gone. A vCPU whose answer was written just before
   * the destroy may find the server gone when it completes: Xen ends that access with nothing to read
   * (f7039ee41b; before it, R1). A second removal meanwhile waits for the same end. `heardMeanwhile`
   * (a device model in its own thread, the parallel runtime): delivers the notifications pending for
   * it, right after the unmap.
   */
  remove(removed: () => void, heardMeanwhile?: () => void): void {
    if (!this.running) return removed();
    if (this.mapped) {
      this.mapped = false;
      this.unmappedAtMs = this.options.now?.() ?? null;
      this.options.ioreq.unmapIoRange(this.options.emulator, this.options.target, this.id, XEN_DMOP_IO_RANGE_MEMORY, this.base, this.base + VIRTIO_MMIO_WINDOW_BYTES - 1);
    }
    this.removals.push(removed);
    // a device model in a thread of its own hears the notifications already pending on its ports —
    // requests Xen selected before the unmap (§5.6, R6) — before it destroys the server
    heardMeanwhile?.();
    if (this.running && this.awaitingCount === 0) this.finishRemoval();
  }

  private finishRemoval(): void {
    this.stop(); // and with it, every removal waiting: the device is gone
  }

  /**
   * R3, in two runs of the device model: first the request is taken (INPROCESS) and notified, so
   * Xen's check sees INPROCESS; at the next run the slot is written back to READY and notified
   * again — a backwards move Xen must catch (XSA-262). The second run is cued by `cueSecondRun` when
   * given, else like a notification (`onPending`), or made at once when serving on notification.
   */
  private flipBackwards(vcpu: number, cued = false): void {
    const port = this.ports[vcpu];
    if (this.flipping.has(vcpu)) {
      if (this.options.cueSecondRun && !cued) return; // its second run comes at its cue (`secondRun`)
      this.flipping.delete(vcpu);
      this.wroteBack.add(vcpu);
      this.misbehave = false;
      setSlotState(this.page, vcpu, STATE_IOREQ_READY);
      this.options.ioreq.evtchnSend(this.options.emulator, port);
      return;
    }
    if (takeRequest(this.page, vcpu) === null) return;
    this.flipping.add(vcpu);
    this.options.ioreq.evtchnSend(this.options.emulator, port);
    if (this.options.cueSecondRun) this.options.cueSecondRun(vcpu);
    else if (this.serveOnNotify) this.flipBackwards(vcpu);
    else this.options.onPending?.(vcpu);
  }

  /**
   * R3's second run for `vcpu`, at the cue `cueSecondRun` gave (nothing once it ran, or the device
   * model stopped): the write-back is all the answer the request gets, so a removal waits no more for it.
   */
  secondRun(vcpu: number): void {
    if (!this.running || !this.flipping.has(vcpu)) return;
    this.flipBackwards(vcpu, true);
    if (this.awaiting[vcpu] === 1) {
      this.awaiting[vcpu] = 0;
      this.awaitingCount--;
    }
    if (this.removals.length > 0 && this.awaitingCount === 0) this.finishRemoval();
  }

  private perform(req: IoreqT): bigint | undefined {
    if (req.type === IOREQ_TYPE_INVALIDATE) {
      this.invalidations++; // xen_invalidate_map_cache: every mapping is made again on next use
      return undefined;
    }
    const offset = Number(req.addr) - this.base;
    const inWindow = req.type === IOREQ_TYPE_COPY && req.count === 1 && !req.dataIsPtr && offset >= 0 && offset + req.size <= VIRTIO_MMIO_WINDOW_BYTES;
    // §5.6: the range may have been unmapped between Xen's selection and this delivery, so an
    // emulator re-checks what arrives against what it still serves (R6); `skipsRangeCheck` trusts it
    if (!inWindow || (!this.mapped && !this.options.skipsRangeCheck)) {
      this.strays++;
      return req.dir === IOREQ_READ ? (1n << BigInt(8 * req.size)) - 1n : undefined;
    }
    // only this emulator can unmap its server's ranges, so Xen's rangeset can lack the window only after `remove`
    if (!this.mapped && this.options.onUnservedRequest && !this.serves(Number(req.addr), req.size)) {
      this.options.onUnservedRequest({ addr: Number(req.addr), offset, write: req.dir !== IOREQ_READ, unmappedAtMs: this.unmappedAtMs });
    }
    if (req.dir === IOREQ_READ) return BigInt(this.registers.read(offset, req.size) >>> 0);
    this.registers.write(offset, req.size, Number(BigInt.asUintN(32, req.data)));
    return undefined;
  }

  /** Whether Xen's rangeset of this server holds [addr, addr + size - 1] now (the monitor's view). */
  private serves(addr: number, size: number): boolean {
    const view = this.options.ioreq.servers(this.options.target).find((s) => s.id === this.id);
    return !!view && view.ranges[XEN_DMOP_IO_RANGE_MEMORY].some((r) => r.start <= addr && addr + size - 1 <= r.end);
  }

  /**
   * The device model's process went with its domain's kernel: it hears nothing more, and makes no
   * DM op — its server stays until the guest's teardown, its emulator gone (R5).
   */
  abandon(): void {
    if (!this.running) return;
    this.running = false;
    this.pending.length = 0;
    this.unlisten();
  }

  /**
   * Stops listening and destroys the server (§5.8a step 8); 0 or -errno. A removal that waited for
   * requests in flight ends with it (the device model exits, a `dm_death`: the device is gone too).
   */
  stop(): number {
    this.running = false;
    this.pending.length = 0;
    this.awaiting.fill(0);
    this.awaitingCount = 0;
    this.unlisten();
    const rc = this.options.ioreq.destroyServer(this.options.emulator, this.options.target, this.id);
    for (const removed of this.removals.splice(0)) removed();
    return rc;
  }
}

/**
 * A device model's bring-up (§5.8a) refused: its guest is gone, or a DM op answered an errno (the
 * guest or the emulator's domain died meanwhile). The device model cannot serve and exits.
 *
 * @example
 * ```ts
 * try { new VirtioMmioBackend(options); } catch (e) { if (!(e instanceof BringUpError)) throw e; }
 * ```
 */
export class BringUpError extends Error {}

function must<T>(result: T | number, op: string): T {
  if (typeof result === 'number' && result < 0) throw new BringUpError(`virtio-mmio backend: ${op} failed with ${result}`);
  return result as T;
}
