import { createVirtioArgoDevice, createVirtioArgoFrontSide, type VirtioArgoDevice, type VirtioArgoDeviceFigures, type VirtioArgoFrontSide } from '../../machines/implementations/virtio-device-core.js';
import type { AnyActor } from 'xstate';
import type { ArgoGuest } from '../guest/argo-guest.js';
import type { VirtioArgoFrontend } from '../virtio-argo/frontend.js';
import type { ScenarioDevice } from '../scenario/schema.js';
import { VirtioBlkDriver, type BlkCompletion } from '../virtio/blk/blk-driver.js';
import { SECTOR_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_S_OK, VIRTIO_BLK_T_IN } from '../virtio/blk/constants.js';
import { MemoryDisk } from '../virtio/blk/memory-disk.js';
import { virtioBlkModel } from '../virtio/blk/virtio-blk.js';
import { bit, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1 } from '../virtio/constants.js';
import { DriverQueue } from '../virtio/driver-queue.js';
import type { VringAddresses } from '../virtio/layout.js';
import type { Hypervisor } from '../xen/hypervisor.js';
import type { VirtioDeviceModel } from '../virtio/virtio-device.js';
import type { DeviceWorker } from '../virtio/device-worker.js';
import { BringUpError, VirtioMmioBackend } from '../ioreq/virtio-mmio/mmio-backend.js';
import { VirtioMmioTransport, type MmioVcpuSide } from '../ioreq/virtio-mmio/mmio-transport.js';
import type { Ioreq } from '../ioreq/ioreq.js';
import { GUEST_VIRTIO_MMIO_SPI_FIRST, IOREQ_READ, IOREQ_TYPE_COPY, IOREQ_WRITE } from '../ioreq/constants.js';
import { GUEST_VIRTIO_MMIO_BASE, VIRTIO_MMIO, VIRTIO_MMIO_DEVICE_STRIDE } from '../ioreq/virtio-mmio/registers.js';
import type { IoreqVcpu } from './ioreq-vcpu.js';
import type { XenstoreApi as Xenstore } from '../xenstore/xenstore-api.js';
import { recordLibxlDevice } from '../xenstore/libxl-devices.js';
import { initialiseDevice } from '../virtio/driver-init.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { PageAllocator } from '../memory/page-allocator.js';
import type { SeededRandom } from './random.js';

/** Features the guest's virtio-blk driver understands (Linux's: VERSION_1, FLUSH, EVENT_IDX, INDIRECT_DESC). */
const BLK_WANTED = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_BLK_F_FLUSH) | bit(VIRTIO_F_EVENT_IDX) | bit(VIRTIO_F_INDIRECT_DESC);
/** Sectors one request reads or writes at most. */
const REQUEST_SECTORS_MAX = 16;
/** Requests one batch submits at most before its kick. */
const BATCH_MAX = 8;

/** A device's end: its domain's id and guest library as they are now. */
export interface DeviceEnd {
  domid: number;
  guest: ArgoGuest;
}

/**
 * How the guest reaches a device: VirtIO-Argo (every byte through Argo sendv) or virtio-mmio over
 * IOREQ (register accesses trapped to the back end's IOREQ server, guest buffers foreign-mapped).
 */
export interface DeviceTransport {
  readonly kind: 'argo' | 'mmio';
  /** Initialises the device (the driver's §1.2 sequence over the transport). */
  start(): void;
  /** The negotiated features and the guest's rings while the device is live. */
  live(): { features: bigint; rings: VringAddresses[] } | null;
  /** The guest's memory and page allocator, for the driver's queues and buffers. */
  readonly guest: { memory: GuestMemory; pages: PageAllocator };
  notify(q: number): void;
  backendUp(end: DeviceEnd): void;
  figures(): VirtioArgoDeviceFigures;
  /** xenstore operations made for the device. */
  xenstoreOps(): number;
  stop(): void;
  /** virtio-mmio in a run: true when the front end's vCPU waits on an ioreq; `work` then runs once it is free. */
  whenVcpuFree?(work: () => void): boolean;
  /** virtio-mmio in a run: the guest's interrupt handler; `then` gets the InterruptStatus bits it handled (0: none). */
  interrupt?(then: (bits: number) => void): void;
  /** virtio-mmio: the device model's faults (docs/races.md R1, R3). */
  deviceModel?: DeviceModelFaults;
  /**
   * virtio-mmio: libxl's removal of the device reached its back end (be/state=Closing): the device
   * model unmaps its window, answers what is in flight, destroys its server, then `closed` runs.
   * The device stays gone: no restart brings it back.
   */
  detach?(closed: () => void): void;
  /** virtio-mmio: libxl removed the device, whether or not its back end closed it: no back end comes again. */
  removed?(): void;
}

/**
 * Faults of a device model (a process in the back end's domain, issue #8 item 3): it dies — its exit
 * destroys its IOREQ server, as QEMU's does — and is started again by its supervisor; or it
 * misbehaves (R3: its next answer moves the slot backwards). Each returns false when there was no
 * running device model.
 */
export interface DeviceModelFaults {
  kill(): boolean;
  restart(): boolean;
  misbehave(): boolean;
}

/** `argosim run --json` `devices[]`: the device's figures and what its workload checked. */
export interface DeviceFigures extends VirtioArgoDeviceFigures {
  /** virtio over Argo (`argo`) or virtio-mmio over IOREQ (`mmio`). */
  transport: 'argo' | 'mmio';
  /**
   * xenstore operations the device's set-up and recovery made (the toolstack's device nodes, the back
   * end reading them): 0 over VirtIO-Argo, which needs no xenstore.
   */
  xenstoreOps: number;
  /** Block requests the guest's workload completed with status OK. */
  requestsOk: number;
  /** Bytes read and found equal to the reference image. */
  bytesVerified: number;
  /** Requests abandoned when the device was reset under them (a back end gone). */
  abandoned: number;
}

/** What the runtime drives of a scenario device, whatever its type (`DeviceRun`, `NetDeviceRun`). */
export interface RunningDevice {
  readonly spec: ScenarioDevice;
  start(): void;
  readonly wantsMore: boolean;
  batch(): boolean;
  /** True when the front end's vCPU is busy: `work` then runs once it is free (virtio-mmio in a run). */
  whenVcpuFree?(work: () => void): boolean;
  /** The device model's faults, where the device has one (virtio-mmio). */
  readonly deviceModel?: DeviceModelFaults;
  backendUp(end: DeviceEnd): void;
  frontendDown(): void;
  figures(): DeviceFigures;
  actors(): ReadonlyArray<readonly ['frontend' | 'backend', AnyActor]>;
}

/**
 * A scenario device in a run (issue #6 item 8): the VirtIO-Argo device (`createVirtioArgoDevice`:
 * front end in the guest, back end with a virtio-blk model over an in-memory disk in the platform
 * domain, their actors) and the guest's block workload — seeded batches of reads, writes and
 * flushes, each batch one kick, every byte read checked against a reference image of the disk.
 * Violations go to `violate`.
 */
export class DeviceRun implements RunningDevice {
  readonly transport: DeviceTransport;
  private readonly reference: Uint8Array;
  /** Sectors whose content is unknown: written by a request abandoned in a reset. */
  private readonly unknown = new Set<number>();
  private driver: VirtioBlkDriver | null = null;
  private rings: VringAddresses[] | null = null;
  private readonly expected = new Map<number, { sector: number; read: Uint8Array | null; sectors: number[] }>();
  private submitted = 0;
  private requestsOk = 0;
  private bytesVerified = 0;
  private abandoned = 0;
  private frontendGone = false;
  /** xl block-detach removed the device: the guest's workload on it is over. */
  private removed = false;

  constructor(
    readonly spec: ScenarioDevice,
    transport: (model: () => VirtioDeviceModel) => DeviceTransport,
    private readonly rng: SeededRandom,
    private readonly violate: (what: string) => void,
  ) {
    this.reference = new Uint8Array(spec.diskBytes);
    // the disk is the back end's: a transport whose back end runs in this thread asks for it once
    // (it outlives a back end); one whose back end runs elsewhere (the parallel runtime) never does
    this.transport = transport(() => blkModelFor(spec));
  }

  /** Initialises the device (its front end runs §1.2 over the transport). */
  start(): void {
    this.transport.start();
  }

  whenVcpuFree(work: () => void): boolean {
    return this.transport.whenVcpuFree?.(work) ?? false;
  }

  get deviceModel(): DeviceModelFaults | undefined {
    return this.transport.deviceModel;
  }

  /** The device's interrupt reached the guest: its handler runs (virtio-mmio); `then` gets the bits it handled. */
  interrupt(then: (bits: number) => void): void {
    if (this.transport.interrupt) this.transport.interrupt(then);
    else then(0);
  }

  /** True while the workload has requests left and the front end's domain lives. */
  get wantsMore(): boolean {
    return !this.frontendGone && !this.removed && (this.submitted < this.spec.requests || this.expected.size > 0);
  }

  /**
   * One batch of the guest's workload: harvest what completed, submit up to 8 requests, kick. False
   * when it got nowhere: the device is not live (failed, or waiting for a new back end), or nothing
   * was submitted or completed.
   */
  batch(): boolean {
    if (!this.ensureDriver()) return false;
    const driver = this.driver!;
    const before = this.submitted + this.requestsOk;
    this.harvest(driver.harvest());
    const sectors = this.spec.diskBytes / SECTOR_SIZE;
    const n = Math.min(this.rng.int(1, BATCH_MAX), this.spec.requests - this.submitted);
    for (let i = 0; i < n; i++) {
      const count = this.rng.int(1, Math.min(REQUEST_SECTORS_MAX, sectors));
      const sector = this.rng.int(0, sectors - count);
      const kind = this.rng.int(0, 19);
      const span = Array.from({ length: count }, (_, k) => sector + k);
      let tag: number | null;
      let read: Uint8Array | null = null;
      if (kind === 0) tag = driver.flush();
      else if (kind < 10 && !this.spec.readOnly) {
        const data = this.rng.fill(new Uint8Array(count * SECTOR_SIZE));
        tag = driver.write(sector, data);
        if (tag !== null) this.reference.set(data, sector * SECTOR_SIZE); // served in ring order
      } else {
        tag = driver.read(sector, count);
        read = this.reference.slice(sector * SECTOR_SIZE, (sector + count) * SECTOR_SIZE);
      }
      if (tag === null) break; // no slot or descriptor: the next batch, after a harvest
      this.expected.set(tag, { sector, read, sectors: kind < 10 && read === null ? span : [] });
      this.submitted++;
    }
    driver.kick();
    this.harvest(driver.harvest());
    return this.submitted + this.requestsOk > before;
  }

  /** The back end's domain came up again (a restart, a create): a new back end there; the front end resets and re-initialises. */
  backendUp(end: DeviceEnd): void {
    if (this.frontendGone || this.removed) return; // the device went with its front end's domain, or was detached: nothing to serve
    this.transport.backendUp(end);
  }

  /** The front end's domain is gone: the workload ends. */
  frontendDown(): void {
    this.frontendGone = true;
  }

  /**
   * libxl's removal reached the back end (be/state=Closing): it closes the device
   * (`DeviceTransport.detach`), then `closed`. The device is gone then, whether libxl still waits
   * for it or gave up (a safe remove that timed out, its back end answering later).
   */
  closeBackend(closed: () => void): void {
    const done = () => {
      this.detached();
      closed();
    };
    if (this.transport.detach) this.transport.detach(done);
    else done();
  }

  /**
   * The device is gone (its back end closed it, or libxl removed it): the guest's workload on it
   * ends, and what it had in flight is abandoned (no back end will answer it). SIM CHOICE
   * (docs/ioreq.md): the guest stops using the disk, as an administrator detaches a disk its guest no
   * longer uses — virtio-mmio tells a guest of no removal.
   */
  detached(): void {
    if (this.removed) return;
    this.removed = true;
    this.transport.removed?.();
    this.abandoned += this.expected.size;
    this.expected.clear();
  }

  figures(): DeviceFigures {
    const figures = this.transport.figures();
    return { ...figures, state: this.removed ? 'detached' : figures.state, transport: this.transport.kind, xenstoreOps: this.transport.xenstoreOps(), requestsOk: this.requestsOk, bytesVerified: this.bytesVerified, abandoned: this.abandoned };
  }

  stop(): void {
    this.transport.stop();
  }

  /** The device's actors here (VirtIO-Argo: front end and back end, or the front end alone when its back end runs elsewhere; virtio-mmio has none). */
  actors(): ReadonlyArray<readonly ['frontend' | 'backend', AnyActor]> {
    if ('device' in this.transport) {
      const device = this.transport.device as VirtioArgoDevice;
      return [['frontend', device.frontendActor], ['backend', device.backendActor]];
    }
    if ('front' in this.transport) return [['frontend', (this.transport.front as VirtioArgoFrontSide).frontendActor]];
    return [];
  }

  /** A driver on the live device's rings; rebuilt after a reset, abandoning what was in flight. */
  private ensureDriver(): boolean {
    const live = this.transport.live();
    if (!live) return false;
    if (this.driver && this.rings === live.rings) return true;
    for (const pending of this.expected.values()) for (const s of pending.sectors) this.unknown.add(s);
    this.abandoned += this.expected.size;
    this.expected.clear();
    const { memory: mem, pages } = this.transport.guest;
    const has = (n: number) => (live.features & bit(n)) !== 0n;
    const queue = new DriverQueue<number>(mem, live.rings[0], { eventIdx: has(VIRTIO_F_EVENT_IDX), indirect: has(VIRTIO_F_INDIRECT_DESC), pages, notify: () => this.transport.notify(0) });
    this.driver = new VirtioBlkDriver(mem, pages, queue, { slots: Math.min(32, this.spec.queueSize), slotDataBytes: REQUEST_SECTORS_MAX * SECTOR_SIZE, segmentBytes: 2048 });
    this.rings = live.rings;
    return true;
  }

  /** Checks completions: status OK, and every byte read equal to the reference (unknown sectors aside). */
  private harvest(done: BlkCompletion[]): void {
    for (const c of done) {
      const want = this.expected.get(c.tag);
      this.expected.delete(c.tag);
      if (!want) continue;
      if (c.status !== VIRTIO_BLK_S_OK) {
        this.violate(`device ${this.spec.name}: request at sector ${c.sector} answered status ${c.status}`);
        continue;
      }
      this.requestsOk++;
      if (c.type !== VIRTIO_BLK_T_IN || !want.read) continue;
      const got = c.data ?? new Uint8Array(0);
      for (let s = 0; s * SECTOR_SIZE < want.read.length; s++) {
        if (this.unknown.has(want.sector + s)) continue;
        const a = got.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
        const b = want.read.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
        if (Buffer.compare(a, b) !== 0) {
          this.violate(`device ${this.spec.name}: sector ${want.sector + s} read back other bytes than were written`);
          return;
        }
        this.bytesVerified += SECTOR_SIZE;
      }
    }
  }
}

/** virtio-blk over a new, zeroed disk image of the device's size (the back end's disk: it outlives a back end). */
export function blkModelFor(spec: ScenarioDevice): VirtioDeviceModel {
  return virtioBlkModel({ disk: new MemoryDisk(new Uint8Array(spec.diskBytes)), readOnly: spec.readOnly, queueSizeMax: spec.queueSize });
}

/** VirtIO-Argo: `createVirtioArgoDevice` between the two ends (its actors included). */
export function argoTransport(hv: Hypervisor, spec: ScenarioDevice, frontend: DeviceEnd, backend: DeviceEnd) {
  return (modelOf: () => VirtioDeviceModel): DeviceTransport & { device: VirtioArgoDevice } => {
    const model = modelOf();
    const device = createVirtioArgoDevice({ hv, name: spec.name, frontend, backend, model, wanted: BLK_WANTED, queueSizes: [spec.queueSize], port: spec.port, ringLen: spec.ringLen });
    return { ...overArgo(device), device, backendUp: (end) => device.replaceBackend(end, model), figures: () => device.figures() };
  };
}

/**
 * VirtIO-Argo with the back end in another thread (the parallel runtime): the front side alone
 * (`createVirtioArgoFrontSide`), its back end's domain `backendDomid` (of now); `waitForPeer` is how
 * it waits for a control answer from there. `sharedMappings` compares the front end's memory with
 * the back-end domain's, as `sharedMappings` of a device in one thread does.
 */
export function argoFrontTransport(hv: Hypervisor, spec: ScenarioDevice, frontend: DeviceEnd, backendDomid: number, hooks: { onUsed?(q: number): void; waitForPeer?(attempt: number): boolean } = {}) {
  return (): DeviceTransport & { front: VirtioArgoFrontSide } => {
    const front = createVirtioArgoFrontSide({ hv, name: spec.name, frontend, backendDomid, wanted: BLK_WANTED, queueSizes: [spec.queueSize], port: spec.port, ringLen: spec.ringLen, ...hooks });
    return { ...overArgo(front), front, backendUp: (end) => front.backendUp(end.domid), figures: () => front.figures(() => sharedWithPeer(hv, front)) };
  };
}

/** What a VirtIO-Argo transport does the same whether its back end is in this thread or not. */
function overArgo(device: { frontend: VirtioArgoFrontend; start(): void; live(): ReturnType<DeviceTransport['live']>; stop(): void }) {
  const fe = device.frontend;
  return {
    kind: 'argo' as const,
    start: () => device.start(),
    live: () => device.live(),
    guest: { memory: fe.guest.platform.memory, pages: fe.guest.pages },
    notify: (q: number) => fe.notify(q),
    xenstoreOps: () => 0,
    stop: () => device.stop(),
  };
}

/** 1 when the front end's guest memory is its back-end domain's (never, unless miswired), else 0. */
export function sharedWithPeer(hv: Hypervisor, front: VirtioArgoFrontSide): number {
  const peer = hv.domain(front.frontend.endpoint.peer.domid)?.memory.buffer;
  return peer !== undefined && peer === front.frontend.guest.platform.memory.buffer ? 1 : 0;
}

/**
 * How a run drives virtio-mmio devices (virtio-ioreq-lifecycle.md §5.4, §5.10): the front end's
 * vCPU, whose trapped accesses are round trips, and the device model's runs as scheduling points of
 * its domain.
 */
export interface MmioRun {
  /** vCPU 0 of the front end, which the device's driver runs on. */
  vcpu: IoreqVcpu;
  /** A run of the device model, in its domain (`backend`'s scenario name), after `delayMs` of virtual time. */
  serve(backend: string, label: string, delayMs: number, work: () => void): void;
  /** The device's SPI (libxl: 33 for the first virtio-mmio device, §5.10), raised by XEN_DMOP_set_irq_level. */
  irq: number;
  /** The queue worker of each new device model's device core (R18; `DeviceWorker`); `current` turns false once that model is gone. */
  worker?(current: () => boolean): DeviceWorker;
  /** Historical rule R6 broken: the device model does not re-check what Xen delivers (`emulatorSkipsRangeCheck`). */
  skipsRangeCheck?: boolean;
  /** Monitor emulator-validates: the device model performed a request for an address its server no longer has mapped. */
  unserved?(request: UnservedRequest): void;
  /** The run's virtual time (ms). */
  now?(): number;
  /**
   * Runs guest code of the front end (its driver's probe of a device model started again): now if
   * its vCPUs run, else once they run again (a paused or suspended guest executes nothing).
   */
  asGuest(work: () => void): void;
}

/** What monitor emulator-validates reports (`VirtioMmioBackendOptions.onUnservedRequest`, with the device and its emulator). */
export interface UnservedRequest {
  device: string;
  emulator: number;
  target: number;
  addr: number;
  offset: number;
  write: boolean;
  unmappedAtMs: number | null;
}

/**
 * Monitor emulator-validates (lifecycle §5.6, §6.7 R6): a device model performed a request — a
 * register read or write of its device — for an address its IOREQ server no longer has mapped. Xen
 * selected the server before the unmap; an emulator must re-check what arrives. `nameOf` names a
 * domain by its domid. One text for both runtimes.
 */
export function emulatorValidatesFinding(r: UnservedRequest, nameOf: (domid: number) => string): string {
  const hex = (n: number) => `0x${n.toString(16)}`;
  const register = Object.entries(VIRTIO_MMIO).find(([, offset]) => offset === r.offset)?.[0] ?? 'register';
  const unmapped = r.unmappedAtMs === null ? '' : ` (at ${Number(r.unmappedAtMs.toFixed(6))} ms)`;
  return `emulator-validates: the device model of ${r.device} in domain ${nameOf(r.emulator)} performed a ${r.write ? 'write' : 'read'} of ${register} (${hex(r.addr)}) for domain ${nameOf(r.target)} after unmapping that window from its IOREQ server${unmapped}: Xen selected the server before the unmap, and the device acted on a request for a range it no longer serves`;
}

/**
 * The device model's time to serve one ioreq, from the notification of its port to its answer:
 * 20 µs (SIM CHOICE, docs/ioreq.md: a QEMU MMIO round trip on x86 costs some tens of µs). The vCPU
 * is blocked meanwhile, so faults and other domains' work fall inside the window.
 */
export const DEVICE_MODEL_SERVICE_MS = 0.02;

/**
 * virtio-mmio over IOREQ (virtio-ioreq-lifecycle.md §5.10): the back end's domain is the device
 * model — an IOREQ server of the guest serving the §1.8 register window at `base`, with the guest's
 * buffers foreign-mapped (counted: `sharedMappings`); the guest's driver reaches the registers by
 * trapped accesses of its vCPU 0. Under a run (`run`), each QueueNotify kick blocks the vCPU until
 * the device model, at a scheduling point of its own domain, answers it; the driver's initialisation
 * runs as one step of the vCPU (the device model answering each register access at once). Without
 * `run` every access is answered within the step that made it.
 */
export function mmioTransport(ioreq: Ioreq, store: Xenstore, spec: ScenarioDevice, frontend: DeviceEnd, backend: DeviceEnd, base: number, run?: MmioRun) {
  return (modelOf: () => VirtioDeviceModel): DeviceTransport => {
    const model = modelOf();
    let emulator: VirtioMmioBackend | null = null;
    let rings: VringAddresses[] | null = null;
    let features = 0n;
    let mapped = 0;
    let requests = 0;
    let recoveries = -1;
    let xenstoreOps = 0;
    let serving = backend;
    /** Detached (libxl's removal reached the device model): no back end comes again. */
    let detached = false;
    const transport = new VirtioMmioTransport(ioreq, frontend.domid, 0, base);
    const guest = { memory: frontend.guest.platform.memory, pages: frontend.guest.pages };
    const retire = () => {
      const be = emulator;
      if (!be) return;
      emulator = null; // first: a removal the stop ends calls back here
      rings = null;
      mapped += be.mappings.count;
      requests += be.requests;
      if (be.running) be.stop(); // destroy_ioreq_server (§5.8a step 8): waiting vCPUs are woken
    };
    const up = (end: DeviceEnd) => {
      if (detached) return;
      retire();
      serving = end;
      if (end.domid !== 0) ioreq.setDeviceModel(frontend.domid, end.domid);
      xenstoreOps += announceVirtioMmio(store, frontend.domid, end.domid, spec.name, base);
      const onPending = run && ((v: number) => run.serve(spec.backend, `${spec.name}: device model serves vCPU ${v}`, DEVICE_MODEL_SERVICE_MS, () => be.serve(v)));
      // §5.10 step 5: the device model raises and lowers the device's SPI by DM op
      const setIrqLevel = run && ((level: 0 | 1) => void ioreq.setIrqLevel(end.domid, frontend.domid, run.irq, level));
      let be: VirtioMmioBackend;
      try {
        be = new VirtioMmioBackend({
          ioreq,
          emulator: end.domid,
          target: frontend.domid,
          model,
          base,
          serveOnNotify: !run,
          onPending,
          setIrqLevel,
          skipsRangeCheck: run?.skipsRangeCheck,
          onUnservedRequest: run?.unserved && ((r) => run.unserved!({ ...r, device: spec.name, emulator: end.domid, target: frontend.domid })),
          now: run?.now,
        });
      } catch (e) {
        // its bring-up refused (§5.8a): the guest or the back end's domain died meanwhile — the device
        // model exits, and the device has no back end until one starts again
        if (!(e instanceof BringUpError)) throw e;
        emulator = null;
        rings = null;
        return;
      }
      emulator = be;
      if (run?.worker) be.device.worker = run.worker(() => emulator === be && be.running);
      recoveries++;
      const initialise = () => {
        if (emulator !== be) return; // replaced while the vCPU waited
        be.serveOnNotify = true;
        const init = initialiseDevice(transport, guest.memory, guest.pages, { wanted: BLK_WANTED, queueSizes: [spec.queueSize] });
        be.serveOnNotify = !run;
        rings = init.ok ? init.rings : null;
        features = init.ok ? init.features : 0n;
      };
      if (run) run.asGuest(() => run.vcpu.run(initialise));
      else initialise();
    };
    // the device's status byte as the back end holds it: the runtime's view, not a guest access
    const status = () => (emulator?.running ? emulator.device.status.read() : 0);
    return {
      kind: 'mmio',
      start: () => up(backend),
      live: () => (rings && (status() & 4) !== 0 ? { features, rings } : null),
      guest,
      notify: (q) => {
        if (!run) return void transport.notify(q);
        transport.exits++;
        run.vcpu.access({ type: IOREQ_TYPE_COPY, addr: base + VIRTIO_MMIO.QueueNotify, size: 4, dir: IOREQ_WRITE, data: BigInt(q) }, () => {});
      },
      backendUp: up,
      interrupt: (then) => {
        if (!run) return then(0);
        // Linux vm_interrupt: read InterruptStatus, write the bits to InterruptACK (§1.8), then the
        // used-buffer or config-change handling — two trapped accesses, each a round trip
        const reg = (offset: number, dir: number, data = 0n) => ({ type: IOREQ_TYPE_COPY, addr: base + offset, size: 4 as const, dir, data });
        run.vcpu.run(() =>
          run.vcpu.access(reg(VIRTIO_MMIO.InterruptStatus, IOREQ_READ), (isr) => {
            const bits = isr === 0xffffffffn ? 0 : Number(isr & 3n); // all-ones: no device answered
            if (bits === 0) return then(0);
            run.vcpu.access(reg(VIRTIO_MMIO.InterruptACK, IOREQ_WRITE, BigInt(bits)), () => then(bits));
          }),
        );
      },
      whenVcpuFree: (work) => {
        if (!run?.vcpu.blocked) return false;
        run.vcpu.run(work);
        return true;
      },
      deviceModel: {
        kill: () => {
          if (!emulator?.running) return false;
          retire();
          return true;
        },
        restart: () => {
          if (detached || emulator || ioreq.hv.life(serving.domid) !== 'alive' || ioreq.hv.life(frontend.domid) !== 'alive') return false;
          up(serving);
          return true;
        },
        misbehave: () => {
          if (!emulator?.running) return false;
          emulator.misbehave = true;
          return true;
        },
      },
      figures: () => {
        const s = status();
        return {
          name: spec.name,
          state: (s & 64) !== 0 ? 'needsReset' : (s & 128) !== 0 ? 'failed' : (s & 4) !== 0 ? 'driverOk' : 'initialising',
          status: s,
          requests: requests + (emulator?.requests ?? 0),
          completions: requests + (emulator?.requests ?? 0),
          errors: emulator?.device.log.total ?? 0,
          bytes: 0,
          recoveries: Math.max(0, recoveries),
          sharedMappings: mapped + (emulator?.mappings.count ?? 0),
          reason: emulator === null && !detached ? 'no device model serves it (not started, or dead)' : null,
        };
      },
      xenstoreOps: () => xenstoreOps,
      stop: () => retire(),
      detach: (closed) => {
        detached = true;
        const be = emulator;
        if (!be?.running) {
          retire();
          return closed();
        }
        be.remove(() => {
          if (emulator === be) retire();
          closed();
        });
      },
      removed: () => {
        detached = true;
      },
    };
  };
}

/**
 * libxl's slot for a scenario's virtio-mmio device (§5.10): the n-th such device of its guest gets
 * window n (`GUEST_VIRTIO_MMIO_BASE` + n × stride) and SPI `GUEST_VIRTIO_MMIO_SPI_FIRST` + n.
 */
export function mmioWindow(devices: readonly ScenarioDevice[], spec: ScenarioDevice): { base: number; irq: number } {
  const at = devices.indexOf(spec);
  if (at < 0) throw new RangeError(`mmioWindow: device ${spec.name} is not one of the scenario's`);
  const slot = devices.slice(0, at).filter((d) => d.transport === 'mmio' && d.frontend === spec.frontend).length;
  return { base: GUEST_VIRTIO_MMIO_BASE + slot * VIRTIO_MMIO_DEVICE_STRIDE, irq: GUEST_VIRTIO_MMIO_SPI_FIRST + slot };
}

/**
 * The guest's end of a virtio-mmio device whose device model runs in another thread (the parallel
 * runtime): the driver's register accesses trap through the shared IOREQ state, and while one waits
 * for its answer the vCPU waits with `side.wait` (bounded; the thread serves its own device models
 * meanwhile); an access the vCPU could not finish (paused) goes to `side.cutShort`, for the runtime
 * to catch up with once it runs. The device model's figures (ioreqs answered, foreign mappings) are its thread's to
 * report; here `requests` counts the accesses answered, `sharedMappings` 0 until the runtime adds
 * the back end's. The driver's status is what its initialisation left (DRIVER_OK, or FAILED): the
 * runtime does not read the device's registers behind the guest's back.
 */
export function mmioFrontTransport(ioreq: Ioreq, spec: ScenarioDevice, frontend: DeviceEnd, base: number, side: MmioVcpuSide) {
  return (): DeviceTransport => {
    const transport = new VirtioMmioTransport(ioreq, frontend.domid, 0, base, side);
    const guest = { memory: frontend.guest.platform.memory, pages: frontend.guest.pages };
    let init: ReturnType<typeof initialiseDevice> | null = null;
    let stopped = false;
    /**
     * Initialisations run: the first, then one per device model started again (`DeviceHost.backendUp`)
     * and one per initialisation a pause cut short (`DeviceHost.settle`): `recoveries` counts the rest.
     */
    let starts = 0;
    const answered = () => transport.exits - transport.unanswered;
    return {
      kind: 'mmio',
      start: () => {
        starts++;
        init = initialiseDevice(transport, guest.memory, guest.pages, { wanted: BLK_WANTED, queueSizes: [spec.queueSize] });
      },
      live: () => (!stopped && init?.ok ? { features: init.features, rings: init.rings } : null),
      guest,
      notify: (q) => transport.notify(q),
      // Linux vm_interrupt: read InterruptStatus, write the bits to InterruptACK (§1.8) — two trapped
      // accesses — then the used-buffer or config-change handling
      interrupt: (then) => {
        const isr = transport.read32(VIRTIO_MMIO.InterruptStatus);
        const bits = isr === 0xffffffff ? 0 : isr & 3; // all-ones: no device answered
        if (bits !== 0) transport.write32(VIRTIO_MMIO.InterruptACK, bits);
        then(bits);
      },
      backendUp: () => {}, // the front end's thread re-initialises by `start` (`DeviceHost.backendUp`)
      figures: () => ({
        name: spec.name,
        state: init === null ? 'initialising' : init.ok ? 'driverOk' : 'failed',
        status: init === null ? 0 : init.ok ? 0x0f : 0x80,
        requests: answered(),
        completions: answered(),
        errors: transport.unanswered,
        bytes: 0,
        recoveries: Math.max(0, starts - 1),
        sharedMappings: 0,
        reason: init !== null && !init.ok ? `initialisation failed at ${init.failedAt}` : transport.unanswered > 0 ? `${transport.unanswered} register access(es) unanswered` : null,
      }),
      xenstoreOps: () => 0,
      stop: () => {
        stopped = true;
      },
    };
  };
}

/**
 * libxl's device add for a virtio-mmio disk, as the xenstore operations it makes: the back end's
 * directory and the front end's (their ids, the device type, its MMIO window, state Initialising),
 * libxl's own record of the device under /libxl, and the device model's status directory; then the
 * back end reading its directory to find the device, and reporting Connected and its device model
 * running. Returns how many operations that took.
 */
export function announceVirtioMmio(store: Xenstore, fe: number, be: number, name: string, base: number): number {
  const before = store.opsBy(0) + store.opsBy(be) + store.opsBy(fe);
  const back = `/local/domain/${be}/backend/virtio/${fe}/${name}`;
  const front = `/local/domain/${fe}/device/virtio/${name}`;
  const nodes: Array<[string, string]> = [
    [`${back}/frontend`, front],
    [`${back}/frontend-id`, String(fe)],
    [`${back}/type`, 'virtio-blk'],
    [`${back}/base`, `0x${base.toString(16)}`],
    [`${back}/state`, '1'],
    [`${front}/backend`, back],
    [`${front}/backend-id`, String(be)],
    [`${front}/state`, '1'],
  ];
  for (const [path, value] of nodes) store.write(0, path, value);
  recordLibxlDevice(store, fe, 'virtio', name, front, back); // libxl's own record (XSA-175, §6.7 R10)
  // libxl gives the device model's domain its status directory; the device model reports there
  // (SIM CHOICE, docs/races.md R19): a node the back end's domain owns outside its home
  const dm = `/local/domain/0/device-model/${fe}`;
  store.write(0, dm, '');
  store.grantWrite(0, dm, be);
  for (const key of store.directory(be, back) as string[]) store.read(be, `${back}/${key}`);
  store.write(be, `${back}/state`, '4'); // Connected
  store.write(be, `${dm}/state`, 'running');
  return store.opsBy(0) + store.opsBy(be) + store.opsBy(fe) - before;
}
