import { performance } from 'node:perf_hooks';
import { createVirtioArgoBackSide, createVirtioArgoFrontSide, type VirtioArgoBackSide, type VirtioArgoFrontSide } from '../../machines/implementations/virtio-device-core.js';
import type { ArgoGuest } from '../guest/argo-guest.js';
import { argoFrontTransport, blkModelFor, DeviceRun, emulatorValidatesFinding, mmioFrontTransport, mmioWindow, sharedWithPeer, type DeviceFigures } from '../runtime/devices.js';
import type { Ioreq } from '../ioreq/ioreq.js';
import { BringUpError, VirtioMmioBackend } from '../ioreq/virtio-mmio/mmio-backend.js';
import { sentAndReturned, type MmioVcpuSide } from '../ioreq/virtio-mmio/mmio-transport.js';
import type { IoreqAccess } from '../ioreq/send.js';
import { VcpuMonitors } from '../ioreq/vcpu-monitors.js';
import { bridgeCounter } from './virq-bridge.js';
import { napFor } from '../sync/nap.js';
import { IOREQ_READ, STATE_IOREQ_INPROCESS } from '../ioreq/constants.js';
import { bridgeFor, NET_CHAIN_BYTES_MAX, NetDeviceRun, netFrontOptions, netModelFor } from '../runtime/net-devices.js';
import { SeededRandom } from '../runtime/random.js';
import { deviceModelStartOf, mmioDevicesOf } from '../runtime/device-model-start.js';
import type { Scenario, ScenarioDevice } from '../scenario/schema.js';
import type { NetBridge } from '../virtio/net/bridge.js';
import type { VirtioDeviceModel } from '../virtio/virtio-device.js';
import type { Hypervisor } from '../xen/hypervisor.js';
import { VIRQ_ARGO } from '../xen/virq.js';

/**
 * How long a front end waits for a control answer from a back end in another thread, in scenario
 * milliseconds (× `timeScale` of wall time; SIM CHOICE, docs/parallel.md): the guest's
 * vCPU waits in the transport as Linux's driver sleeps on the answer; past this the link is down
 * (ETIMEDOUT), as when no answer comes at all.
 */
export const CONTROL_ANSWER_TIMEOUT_MS = 1000;
/**
 * One wait of a front end on its domain's VIRQ_ARGO pending bit (every wait is bounded); between two
 * waits the thread serves its other domains' pending VIRQs — a back end another thread's front end
 * waits on among them — so the slice bounds that other wait's latency too.
 */
const ANSWER_WAIT_SLICE_MS = 0.1;
/**
 * How long a guest's vCPU waits for a device model's answer in another thread before the access is
 * given up on (SIM CHOICE, docs/parallel.md; scenario ms × `timeScale` of wall time): a device model
 * that is alive answers sooner however loaded the machine (a dead one is given up on at once, R5) —
 * this bounds the wait if its thread is stuck, which the watchdog reports meanwhile.
 */
export const IOREQ_ANSWER_TIMEOUT_MS = 10_000;
/**
 * How long a misbehaving device model's second run (R3) waits at most for Xen to have seen its first
 * (scenario ms × `timeScale`): the guest's vCPU, in its own thread, looks every 0.1 ms while it waits.
 */
const MISBEHAVE_LOOK_MAX_MS = 100;
/** Slices of a vCPU's wait (0.1 ms each) after which it looks whether its device model is paused. */
const PAUSED_EMULATOR_LOOK_AFTER = 10;
/** The longest a device's workload waits before it looks again when a batch got nowhere. */
const IDLE_BATCH_DELAY_MAX_MS = 32;
/** Drops the device's pending batch. */
function cancel(f: { timer: Front['timer'] }): void {
  if (f.timer && 'timeout' in f.timer) clearTimeout(f.timer.timeout);
  else if (f.timer) clearImmediate(f.timer.immediate);
  f.timer = undefined;
}


/**
 * Whether guest `name`'s virtio-mmio device models start late or fail (`dmStart`, taken together as
 * libxl spawns one device model per guest): the toolstack then waits for their start before the
 * guest runs, and starts them itself.
 */
export function slowStart(scenario: Scenario, name: string): boolean {
  const start = deviceModelStartOf(mmioDevicesOf(scenario, name));
  return start.delayMs > 0 || start.fails;
}

/** What the domain host lends the devices of its domains. */
export interface DeviceHostEnv {
  hv: Hypervisor;
  /** This thread's view of the shared IOREQ state (when the scenario has virtio-mmio devices). */
  ioreq?: Ioreq;
  /** This thread's IOREQ doorbell (its worker index): every IOREQ event of its domains rings it. */
  bell: number;
  scenario: Scenario;
  /** Seed of each scenario device (by index), drawn as the deterministic runtime draws them. */
  deviceSeeds: number[];
  /** Wall milliseconds per scenario millisecond. */
  timeScale(): number;
  /** True while the domain's vCPUs run and its guest is here. */
  runnable(domid: number): boolean;
  /** True while the domain lives (it may be paused). */
  alive(domid: number): boolean;
  /**
   * The domains hosted here now, with their VIRQ handler (what runs when one is pending during a
   * wait) and whether it would run now (the domain runnable, its VIRQ not held back by `virq_delay`).
   */
  hosted(): Iterable<{ domid: number; ready(): boolean; handleVirq(): void }>;
  /**
   * Announces device work (the watchdog's and the run's end check's view): a device's
   * initialisation (its control round trips), a batch of its workload, or (null) the return to idle.
   */
  announce(domid: number, work: 'init' | 'batch' | null): void;
  /** The thread is alive while it waits (the watchdog's heartbeat). */
  heartbeat(): void;
  /** A batch moved requests: the run is not idle. */
  progress(): void;
  /** The device's workload is over. */
  final(name: string): void;
}

interface Front {
  spec: ScenarioDevice;
  domid: number;
  run: DeviceRun | NetDeviceRun;
  /** A VirtIO-Argo front end's transport and actor (none for virtio-mmio: its accesses trap). */
  side?: VirtioArgoFrontSide;
  /** The pending batch (one in the offing per device), and when it is due (wall ms). */
  timer: { timeout: ReturnType<typeof setTimeout> } | { immediate: ReturnType<typeof setImmediate> } | undefined;
  due: number;
  /** No batch before this (wall ms): the workload's `start`, then its `rate` after a batch that moved. */
  notBefore: number;
  /** The deadline of the control wait in progress (wall ms). */
  deadline: number;
  /** Its initialisation has run (`start`): a BACKEND_UP before it is kept for it (`backendDomid`). */
  initialised: boolean;
  /** The back end's domain a BACKEND_UP named that the front end has not taken yet. */
  backendDomid: number | null;
  /** A pause of its domain cut a control wait (or an access of its initialisation) short: it initialises again once the guest runs. */
  interrupted: boolean;
  /** Its initialisation (or a re-initialisation) is running (`whenRunnable`). */
  initialising: boolean;
  /** virtio-mmio: the accesses its vCPU could not execute yet (paused, or still waiting in Xen), in order: they execute before the guest's next device work (`settle`). */
  replays: IoreqAccess[];
  /** virtio-mmio: how its driver's accesses trap and wait (`VirtioMmioTransport`), and the guest's vCPU they run on. */
  mmio?: { side: MmioVcpuSide; vcpu: GuestVcpu };
  /** Batches in a row that got nowhere (the next waits 1, 2, 4 … ms, up to `IDLE_BATCH_DELAY_MAX_MS`). */
  idle: number;
  /** Its workload is over: no more batches (its driver still initialises again towards a new back end, unless `driverGone`). */
  final: boolean;
  /** The guest's driver is gone with its kernel (a teardown, a soft reset), or libxl removed the device: nothing drives it again. */
  driverGone: boolean;
}

/**
 * vCPU 0 of a virtio-mmio guest here, which the drivers of all its devices share: its monitors
 * (`VcpuMonitors`), the access it sent last — run again if Xen forgot it (R2's bug) — and the finding
 * of monitor ioreq-state-forward on the request it waits on, once its slot was seen gone backwards,
 * and whether it was reported.
 */
interface GuestVcpu {
  monitors: VcpuMonitors;
  lastSent: IoreqAccess | null;
  backwards: string | null;
  reported: boolean;
}

/** The vCPU waits anew (a request sent, a broadcast): monitor ioreq-state-forward has found nothing of it yet. */
function newWait(vcpu: GuestVcpu): void {
  vcpu.backwards = null;
  vcpu.reported = false;
}

interface Back {
  spec: ScenarioDevice;
  side: VirtioArgoBackSide;
  model: VirtioDeviceModel;
  domid: number;
}

/** A virtio-mmio device model in its back end's domain: an IOREQ server of the guest (§5.10). */
interface MmioBack {
  spec: ScenarioDevice;
  domid: number;
  /** The guest it serves. */
  target: number;
  /** The disk's model: it outlives a device model (one started again serves the same disk). */
  model: VirtioDeviceModel;
  backend: VirtioMmioBackend | null;
  /** Why it has no server (its last bring-up was refused), else null. */
  refused: string | null;
  /** Ioreqs answered, mappings made and driver errors logged by the device models before the one running (a restart's). */
  retiredRequests: number;
  retiredMappings: number;
  retiredErrors: number;
  /** libxl's removal reached it: no device model serves the device again. */
  closed: boolean;
  /** Removals waiting for the device model to drain (`closeDeviceModel`): answered when it has, or when its domain dies. */
  closing: Array<() => void>;
}

/**
 * A device model's fault (docs/races.md R1, R3): it dies — its exit destroys its IOREQ server, as
 * QEMU's does —, its supervisor starts it again, or it misbehaves (its next answer moves the slot
 * backwards).
 */
export type DeviceModelFault = 'kill' | 'restart' | 'misbehave' | 'poweroff';

/** What a worker reports of the virtio-mmio device models it ran (the front end's thread has the rest). */
export interface MmioBackFigures {
  name: string;
  /** Ioreqs answered. */
  requests: number;
  /** Foreign mappings of the guest's memory made (§5.10 step 6). */
  sharedMappings: number;
  /** The device's status byte as the device model holds it (0: no device model serves it). */
  status: number;
  /** What the device logged as the driver's errors. */
  errors: number;
  refused: string | null;
}

/**
 * The devices of the domains one worker hosts (issue #5 with issue #6's devices). VirtIO-Argo: a
 * device's back end — its transport, device model and actor — runs in the thread of its back-end
 * domain, its front end — transport, actor, the guest's driver and workload — in the thread of its
 * front-end domain, and every byte between them crosses as Argo sendv over the shared rings, woken
 * by the domains' VIRQs from thread to thread. The front end's control operations are round trips:
 * its vCPU waits, bounded, for the answer on its domain's pending bit, serving meanwhile whatever
 * else of this thread has a VIRQ pending (so two threads waiting on each other's back ends both go
 * on). Blocks are checked against the guest's reference image and echoes against what was sent, as
 * in the deterministic runtime; what is wrong goes to `violations`. virtio-mmio: the device model —
 * an IOREQ server of the guest — runs in its back end's domain's thread, the guest's driver in its
 * own; a register access traps through the shared IOREQ state and the vCPU waits, bounded, for the
 * answer, serving this thread's own device models meanwhile (docs/parallel.md).
 */
export class DeviceHost {
  readonly violations: string[] = [];
  private readonly fronts: Front[] = [];
  private readonly backs: Back[] = [];
  private readonly mmioBacks: MmioBack[] = [];
  /** Per device-model domain here, the wait on its IOREQ event count. */
  private readonly emulatorBridges = new Map<number, () => void>();
  /** Device-model domains here that are paused with requests waiting (`serveEmulator` looks again). */
  private readonly pausedEmulators = new Set<number>();
  /** What waits for Xen to have seen a slot's state (`whenXenSaw`), and the timer that looks again. */
  private readonly xenLooks: Array<{ back: MmioBack; be: VirtioMmioBackend; vcpu: number; state: number; then: () => void; deadline: number }> = [];
  private xenLookTimer: ReturnType<typeof setTimeout> | undefined;
  /** Per guest here with virtio-mmio devices, the wait on its injected-interrupt count. */
  private readonly irqBridges = new Map<number, () => void>();
  /** vCPU 0 of each virtio-mmio guest here, by scenario name. */
  private readonly guestVcpus = new Map<string, GuestVcpu>();
  private readonly bridges = new Map<string, NetBridge>();
  private started = false;
  private halted = false;
  /** The run is over (`end`): the device models listen no more, and no fault starts one again. */
  private ended = false;

  constructor(private readonly env: DeviceHostEnv) {}

  /**
   * A hosted domain's kernel booted as `domid` (scenario domid `sid`, partners' domids as `current`
   * has them): the back ends of its devices start in it (a first time, or again after a restart or
   * a soft reset, over the same disk or bridge port); on its first boot, the front ends of its
   * devices register their rings (they initialise on `start`).
   */
  booted(domid: number, sid: number, guest: ArgoGuest, current: (sid: number) => number, first: boolean): void {
    const name = this.nameOf(sid);
    for (const [i, spec] of this.env.scenario.devices.entries()) {
      if (spec.transport === 'mmio') {
        // the device model in each kernel of its domain; the guest's driver in its first (a guest
        // whose devices would need a new device model is not restarted here, docs/parallel.md)
        if (spec.backend === name) this.mmioBackendBooted(spec, domid, current(this.sidOf(spec.frontend)), first);
        if (spec.frontend === name && first) this.mmioFrontendBooted(spec, i, domid, guest);
        continue;
      }
      if (spec.backend === name) this.backendBooted(spec, domid, guest, current(this.sidOf(spec.frontend)));
      if (spec.frontend === name && first) this.frontendBooted(spec, i, domid, guest, current(this.sidOf(spec.backend)));
    }
  }

  /**
   * The run starts: every front end initialises its device, once its guest runs, then its workload
   * begins at its `start`. (While one initialises, the thread's other domains' VIRQ handlers run in
   * its control waits; their timers and the thread's commands wait for it.)
   */
  start(): void {
    this.started = true;
    // the SPIs of virtio-mmio devices reach their guests here, whichever thread their device models run in
    for (const f of this.fronts) {
      const word = f.spec.transport === 'mmio' ? this.env.ioreq!.irqWord(f.domid) : null;
      if (word && !this.irqBridges.has(f.domid)) this.irqBridges.set(f.domid, bridgeCounter(word.words, word.index, () => this.interrupts(f.domid)));
    }
    for (const f of this.fronts) {
      setImmediate(() =>
        this.whenRunnable(f, () => {
          f.run.start();
          f.initialised = true;
          if (f.spec.transport === 'mmio') this.interrupts(f.domid); // a line raised while it initialised
          if (f.backendDomid !== null) this.reinitialise(f); // a back end restarted before the guest first ran
          f.notBefore = performance.now() + f.spec.startMs * this.env.timeScale();
          this.schedule(f, 0);
        }),
      );
    }
  }

  /**
   * A new back end of device `name` listens in domain `domid`: its front end resets and
   * re-initialises towards it, once its guest runs (after its first initialisation: one that comes
   * before is kept for it).
   */
  backendUp(name: string, domid: number): void {
    const f = this.fronts.find((x) => x.spec.name === name);
    if (!f) return;
    f.backendDomid = domid;
    this.reinitialise(f);
  }

  /** Domain `domid`'s VIRQ handler runs: its devices' transports drain their rings and retry what waited. */
  virq(domid: number): void {
    for (const b of this.backs) if (b.domid === domid) b.side.backend.endpoint.serve();
    for (const f of this.fronts) {
      if (f.domid !== domid || f.final || !f.side) continue;
      f.side.frontend.endpoint.serve();
      if (this.started) this.schedule(f, 0); // completions came, or the link went: the workload looks
    }
  }

  /** The domain stops running here (teardown, soft reset): its back ends stop serving, its front ends' workloads end. */
  quiesced(domid: number): void {
    for (const b of this.backs) if (b.domid === domid) b.side.backend.endpoint.close();
    // its device models stop with its kernel (no DM op: the target's teardown frees their servers, R5);
    // a removal waiting for one to drain is answered (libxl stops waiting for a backend that is gone)
    for (const b of this.mmioBacks) if (b.domid === domid) for (const done of b.closing.splice(0)) done();
    for (const bridges of [this.emulatorBridges, this.irqBridges]) {
      bridges.get(domid)?.();
      bridges.delete(domid);
    }
    for (const f of this.fronts) {
      if (f.domid !== domid || f.driverGone) continue;
      f.driverGone = true;
      if (f.final) continue;
      f.run.frontendDown();
      this.finalise(f);
    }
  }

  /** No more batches (the run is ending). */
  halt(): void {
    this.halted = true;
    for (const f of this.fronts) cancel(f);
    // its device models go on answering until the run ends (`end`): a guest in another thread may
    // still be in the middle of an access, which its own halt cannot cut short
    for (const stop of this.irqBridges.values()) stop();
    this.irqBridges.clear();
  }

  /** The run is over (every worker has halted): the device models stop listening. */
  end(): void {
    this.ended = true;
    clearTimeout(this.xenLookTimer);
    this.xenLooks.length = 0;
    for (const stop of this.emulatorBridges.values()) stop();
    this.emulatorBridges.clear();
  }

  /**
   * The vGIC delivers a virtio-mmio device's SPI to guest `domid`: for each of its devices whose line
   * is high, the guest's handler acknowledges what InterruptStatus shows and lets the driver harvest
   * (its next batch, at once); a line still high at the end (EOI) is taken again, as a
   * level-triggered SPI is.
   */
  private interrupts(domid: number): void {
    for (const f of this.fronts) {
      if (f.domid !== domid || f.spec.transport !== 'mmio' || !(f.run instanceof DeviceRun) || f.final || this.halted || !f.initialised || !this.env.runnable(domid)) continue;
      const run = f.run;
      const { irq } = mmioWindow(this.env.scenario.devices, f.spec);
      if (this.env.ioreq!.irqLevel(domid, irq) !== 1) continue;
      this.env.announce(domid, 'batch');
      if (!this.settle(f)) {
        this.env.announce(0, null);
        continue; // the line stays high: taken once the vCPU is free (its next batch harvests meanwhile)
      }
      run.interrupt((bits) => {
        if (bits === 0) return;
        this.schedule(f, 0);
        if (this.env.ioreq!.irqLevel(domid, irq) === 1) setImmediate(() => this.interrupts(domid));
      });
      this.env.announce(0, null);
    }
  }

  /**
   * Fault `balloon` in guest `domid`: XENMEM_decrease_reservation, after which Xen has every device
   * model of the guest drop its mapcache — an INVALIDATE broadcast from its vCPU 0 (§5.3, R4), which
   * waits for every server it reached, as a trapped access waits. Nothing to do for a guest with no
   * virtio-mmio device (no server), or whose vCPU cannot take it (not running, or still blocked in Xen
   * on an access given up on).
   */
  balloon(domid: number): void {
    const ioreq = this.env.ioreq;
    const f = this.fronts.find((x) => x.domid === domid && x.spec.transport === 'mmio');
    if (!ioreq || !f || this.halted || !this.env.runnable(domid)) return;
    newWait(f.mmio!.vcpu); // on every server the broadcast reaches (monitor ioreq-state-forward)
    if (ioreq.broadcastInvalidate(domid, 0) < 0) return;
    this.env.announce(domid, 'batch');
    this.settle(f);
    this.env.announce(0, null);
  }

  /** The figures of the devices whose front ends run here. */
  figures(): DeviceFigures[] {
    return this.fronts.map((f) => f.run.figures());
  }

  /** The figures of the virtio-mmio device models that ran here. */
  mmioFigures(): MmioBackFigures[] {
    return this.mmioBacks.map((b) => ({
      name: b.spec.name,
      requests: b.retiredRequests + (b.backend?.requests ?? 0),
      sharedMappings: b.retiredMappings + (b.backend?.mappings.count ?? 0),
      errors: b.retiredErrors + (b.backend?.device.log.total ?? 0),
      status: b.backend?.running ? b.backend.device.status.read() : 0,
      refused: b.refused,
    }));
  }

  /**
   * A virtio-mmio device model starts in its back end's domain (§5.8a): it creates the guest's IOREQ
   * server, maps its window, enables it and binds its vCPUs' ports — before the run starts, as libxl
   * waits for the device model before it unpauses the guest — then serves each request as its
   * domain's event count says one came, from whichever thread the guest's vCPU trapped in.
   */
  private mmioBackendBooted(spec: ScenarioDevice, domid: number, frontendDomid: number, first: boolean): void {
    let back = this.mmioBacks.find((b) => b.spec === spec);
    if (back) {
      // a new kernel of its domain: after a restart (a new domid) the old device model died with the
      // old domain, no DM op (its server stays until the guest's teardown, R5); after a soft reset
      // (the same domid) the new device model first destroys the server the old one left — a vCPU
      // waiting on it is woken, as the deterministic runtime's `backendUp` does — and a new one
      // serves the same disk
      const old = this.retire(back);
      if (back.domid === domid) old?.stop();
      else old?.abandon();
      back.domid = domid;
      back.target = frontendDomid;
    } else this.mmioBacks.push((back = { spec, domid, target: frontendDomid, model: blkModelFor(spec), backend: null, refused: null, retiredRequests: 0, retiredMappings: 0, retiredErrors: 0, closed: false, closing: [] }));
    this.env.ioreq!.ringOnEvents(domid, this.env.bell); // a vCPU of this thread waiting meanwhile hears its requests come
    // a slow or failing first start (`dmStart`) is the toolstack's to run: it starts it later (`deviceModelFault` 'restart')
    if (!back.closed && !(first && slowStart(this.env.scenario, spec.frontend))) this.startDeviceModel(back);
  }

  /** The device model is no more (its figures kept): returns it, for whatever its end needs. */
  private retire(back: MmioBack): VirtioMmioBackend | null {
    const be = back.backend;
    back.backend = null;
    if (be) {
      back.retiredRequests += be.requests;
      back.retiredMappings += be.mappings.count;
      back.retiredErrors += be.device.log.total;
    }
    return be;
  }

  /** The device model's bring-up (§5.8a) over its disk; false when it was refused (the guest finds no device there). */
  private startDeviceModel(back: MmioBack): boolean {
    const ioreq = this.env.ioreq!;
    const { domid, target } = back;
    const { base, irq } = mmioWindow(this.env.scenario.devices, back.spec);
    try {
      // R3's second run once Xen has seen INPROCESS (SIM CHOICE, docs/parallel.md): the fault is a
      // slot Xen sees move backwards, whichever thread the guest's vCPU waits in
      const cueSecondRun = (vcpu: number) => this.whenXenSaw(back, vcpu, STATE_IOREQ_INPROCESS, () => be.secondRun(vcpu));
      // R6: the device model re-checks what Xen delivers — unless `emulatorSkipsRangeCheck`; monitor emulator-validates
      const spec = back.spec;
      const onUnservedRequest = (r: { addr: number; offset: number; write: boolean; unmappedAtMs: number | null }) =>
        void this.violations.push(emulatorValidatesFinding({ ...r, device: spec.name, emulator: domid, target }, (d) => (d === domid ? spec.backend : d === target ? spec.frontend : String(d))));
      const skipsRangeCheck = this.env.scenario.bugs.emulatorSkipsRangeCheck;
      const be = new VirtioMmioBackend({ ioreq, emulator: domid, target, model: back.model, base, setIrqLevel: (level) => void ioreq.setIrqLevel(domid, target, irq, level), cueSecondRun, skipsRangeCheck, onUnservedRequest });
      back.backend = be;
      back.refused = null;
    } catch (e) {
      if (!(e instanceof BringUpError)) throw e;
      back.refused = e.message;
      return false;
    }
    const word = ioreq.emulatorEventWord(domid);
    if (word && !this.emulatorBridges.has(domid)) this.emulatorBridges.set(domid, bridgeCounter(word.words, word.index, () => this.serveEmulator(domid)));
    return true;
  }

  /**
   * Runs `then` once Xen, waiting on the device model's request for `vcpu`, has seen its slot in
   * `state` (the server's record of what `wait_for_io` last saw) — looked for every millisecond, for
   * `MISBEHAVE_LOOK_MAX_MS` at most (then at once: a vCPU that never looks will not see it either) —
   * unless the device model is gone meanwhile. A fault injector's view, not a device model's.
   */
  private whenXenSaw(back: MmioBack, vcpu: number, state: number, then: () => void): void {
    const be = back.backend;
    if (!be) return;
    this.xenLooks.push({ back, be, vcpu, state, then, deadline: performance.now() + MISBEHAVE_LOOK_MAX_MS * this.env.timeScale() });
    this.lookForXen();
  }

  /**
   * Runs each `whenXenSaw` whose moment came — from this thread's event loop, and from inside its
   * waits (a guest of this same thread may be the vCPU that has to see the state, and its wait holds
   * the thread): looked at again a millisecond later while any is left.
   */
  private lookForXen(): void {
    for (const w of this.xenLooks.splice(0)) {
      if (w.back.backend !== w.be || !w.be.running) continue;
      const seen = this.env.ioreq!.servers(w.back.target).find((s) => s.id === w.be.id)?.vcpus[w.vcpu]?.seen;
      if (seen === w.state || performance.now() >= w.deadline) w.then();
      else this.xenLooks.push(w);
    }
    if (this.xenLooks.length > 0 && !this.xenLookTimer) this.xenLookTimer = setTimeout(() => ((this.xenLookTimer = undefined), this.lookForXen()), 1);
  }

  /**
   * libxl's removal of device `name` reached its device model (be/state=Closing, §5.8a): it unmaps
   * its window from its server, so Xen routes no new access to it, answers every request already in
   * flight — one Xen selected before the unmap arrives after it (R6) — and destroys its server;
   * `closed` runs then (at once when no device model runs here).
   */
  closeDeviceModel(name: string, closed: () => void): void {
    const back = this.mmioBacks.find((b) => b.spec.name === name);
    if (back) back.closed = true;
    const be = back?.backend;
    if (!back || !be?.running) return closed();
    back.closing.push(closed);
    be.remove(() => {
      if (back.backend === be) this.retire(back);
      for (const done of back.closing.splice(0)) done();
    }, () => this.serveEmulator(back.domid));
  }

  /** libxl removed device `name`: the guest's workload on it ends, what it had in flight abandoned (`DeviceRun.detached`). */
  removed(name: string): void {
    const f = this.fronts.find((x) => x.spec.name === name);
    if (!f || !(f.run instanceof DeviceRun)) return;
    f.driverGone = true;
    f.run.detached();
    this.finalise(f);
  }

  /**
   * A device-model fault on device `name` (docs/races.md R1, R3), as the deterministic runtime's
   * `DeviceModelFaults`: `kill` — the device model exits, and its exit destroys its IOREQ server
   * (§5.8a step 8), which wakes a vCPU that waited on it, in whichever thread; `restart` — its
   * supervisor starts it again over the same disk, once both domains live; `misbehave` — its next
   * answer moves the slot backwards (XSA-262's threat); `poweroff` — its guest powered off, and a
   * QEMU run without -no-shutdown (R13's) exits: true when it ran to hear it (as the deterministic
   * runtime's `GuestDeviceModel.guestPoweredOff`, only its process ends — the toolstack's record —
   * while its server and device stay for libxl's removal). False when there was nothing to act on:
   * no device model of `name` here, none running (kill, misbehave, poweroff), or one running or a
   * domain gone (restart), or its bring-up refused.
   */
  deviceModelFault(name: string, fault: DeviceModelFault): boolean {
    const back = this.mmioBacks.find((b) => b.spec.name === name);
    const running = back?.backend?.running ?? false;
    if (!back || this.ended) return false;
    if (fault === 'poweroff') return running;
    if (fault === 'misbehave') return running && (back.backend!.misbehave = true);
    if (fault === 'kill') {
      if (running) this.retire(back)!.stop();
      return running;
    }
    if (running || back.closed || this.env.hv.life(back.domid) !== 'alive' || this.env.hv.life(back.target) !== 'alive') return false;
    return this.startDeviceModel(back);
  }

  /** A virtio-mmio front end: the guest's driver and workload, its register accesses trapping to the device model. */
  private mmioFrontendBooted(spec: ScenarioDevice, index: number, domid: number, guest: ArgoGuest): void {
    const { base } = mmioWindow(this.env.scenario.devices, spec);
    this.env.ioreq!.ringOnEvents(domid, this.env.bell); // its wakes and interrupts
    const violate = (what: string) => this.violations.push(what);
    const vcpu = this.guestVcpu(spec.frontend);
    const side: MmioVcpuSide = {
      wait: (attempt) => this.waitForIoreq(f, attempt),
      // an access its vCPU could not execute (paused) runs once it does (`settle`), and a write whose
      // answer was not waited for is done all the same; a read the driver went without, in an
      // initialisation, has it initialise again
      cutShort: (access, executed) => {
        if (!executed) f.replays.push(access);
        if (f.initialising && access.dir === IOREQ_READ) f.interrupted = true;
      },
      behind: () => f.replays.length > 0,
      sent: (access) => this.vcpuSent(vcpu, access, f.domid),
      ranAgain: () => this.vcpuRanAgain(vcpu, f.domid),
    };
    const transport = mmioFrontTransport(this.env.ioreq!, spec, { domid, guest }, base, side);
    const f: Front = { spec, domid, run: new DeviceRun(spec, transport, new SeededRandom(this.env.deviceSeeds[index]), violate), timer: undefined, due: 0, notBefore: 0, deadline: 0, initialised: false, backendDomid: null, interrupted: false, initialising: false, replays: [], mmio: { side, vcpu }, idle: 0, final: false, driverGone: false };
    this.fronts.push(f);
  }

  /** vCPU 0 of guest `name` (one for every device of the guest: their drivers share it). */
  private guestVcpu(name: string): GuestVcpu {
    let vcpu = this.guestVcpus.get(name);
    if (!vcpu) this.guestVcpus.set(name, (vcpu = { monitors: new VcpuMonitors(this.env.ioreq!, name, 0), lastSent: null, backwards: null, reported: false }));
    return vcpu;
  }

  /** The vCPU of guest `domid` sent `access` to a device model: a new request, a new wait (monitor ioreq-once). */
  private vcpuSent(vcpu: GuestVcpu, access: IoreqAccess, domid: number): void {
    vcpu.lastSent = access;
    newWait(vcpu);
    const finding = vcpu.monitors.sent(access, domid);
    if (finding !== null) this.violations.push(finding);
  }

  /** The vCPU of guest `domid` runs again after its completion (monitors vcpu-io-state and broadcast-completes). */
  private vcpuRanAgain(vcpu: GuestVcpu, domid: number): void {
    vcpu.lastSent = null;
    vcpu.backwards = null;
    for (const finding of vcpu.monitors.ranAgain(domid)) this.violations.push(finding);
  }

  /**
   * This thread's device models hear the requests waiting for them — from inside a wait of this
   * thread, whose own event loop cannot run their bridges: a guest elsewhere may be waiting on them.
   */
  private serveDeviceModels(): void {
    for (const domid of this.emulatorBridges.keys()) this.serveEmulator(domid);
    if (this.xenLooks.length > 0) this.lookForXen();
  }

  /**
   * The device models of domain `domid` hear the requests waiting for them — while their domain runs:
   * a paused one's ports stay pending (its guest's vCPU waits, as on a QEMU that gets no CPU), looked
   * at again every millisecond until it runs.
   */
  private serveEmulator(domid: number): void {
    if (this.env.runnable(domid)) return void this.env.ioreq!.deliverEmulatorEvents(domid);
    if (!this.env.alive(domid) || this.pausedEmulators.has(domid)) return;
    this.pausedEmulators.add(domid);
    setTimeout(() => {
      this.pausedEmulators.delete(domid);
      if (this.emulatorBridges.has(domid)) this.serveEmulator(domid);
    }, 1);
  }

  /**
   * The guest's vCPU 0 catches up with what a pause left it (SIM CHOICE, docs/parallel.md): it
   * completes the access Xen still holds it on — one whose wait a pause cut short, an INVALIDATE
   * broadcast — waiting for the answer as a trapped access does, then executes, in order, the accesses
   * it could not execute meanwhile (`replays`), as Xen runs those instructions when the vCPU runs.
   * Answers are dropped: the driver went on without them (a read of an initialisation it cut short
   * has it initialise again).
   * True once the vCPU is free and nothing waits; false while Xen holds it still (paused again, its
   * device model dead: R5).
   */
  private settle(f: Front): boolean {
    const ioreq = this.env.ioreq!;
    const { side, vcpu } = f.mmio!;
    for (let attempt = 0; ; attempt++) {
      if (ioreq.vcpuBlocked(f.domid, 0)) {
        const r = ioreq.resume(f.domid, 0);
        if (r.kind === 'not-running' || (r.kind === 'blocked' && !this.waitForIoreq(f, attempt))) return false;
        // R2's bug: Xen forgot the request the vCPU sent last — its instruction runs again, before the rest
        if (r.kind === 'retry' && vcpu.lastSent !== null) f.replays.unshift(vcpu.lastSent);
        if (r.kind === 'done' || r.kind === 'running') this.vcpuRanAgain(vcpu, f.domid);
        continue;
      }
      if (f.replays.length === 0) return true;
      const access = f.replays[0];
      const r = ioreq.access(f.domid, 0, access);
      if (r.kind === 'not-running' || r.kind === 'retry') return false; // it cannot run yet: later
      f.replays.shift();
      if (r.kind === 'blocked' || r.kind === 'retired') sentAndReturned(ioreq, f.domid, 0, access, side);
      attempt = -1; // a new access: its own waits
    }
  }

  /**
   * The front end `f`'s vCPU waits in Xen for a device model's answer (the `wait` of its
   * `VirtioMmioTransport`), one bounded look at a time: this thread's device models hear what waits
   * for them (the answer may be theirs to give), the vCPU waits on the thread's IOREQ doorbell (rung
   * by its guests' wakes and its device models' requests alike), and the
   * thread serves its domains' pending VIRQs meanwhile, as a VirtIO-Argo control wait does. False —
   * the access is given up on, reading all-ones — once every server it waits on has a dead emulator
   * (R5), or a paused one, when its domain stopped running, or past `IOREQ_ANSWER_TIMEOUT_MS`; the
   * vCPU catches up with a wait cut short before its next device work (`settle`).
   */
  private waitForIoreq(f: Front, attempt: number): boolean {
    const ioreq = this.env.ioreq!;
    const now = performance.now();
    if (attempt === 0) f.deadline = now + IOREQ_ANSWER_TIMEOUT_MS * this.env.timeScale();
    // R5: every server it waits on has a dead emulator — nothing will answer (Xen keeps the vCPU
    // blocked); R3's bug: a slot it waits on went backwards — its device model believes it answered,
    // and Xen waits on for ever (monitor ioreq-state-forward)
    if (now >= f.deadline || ioreq.waitsOnDeadEmulator(f.domid) || this.keptWaitingOnBackwardsSlot(f)) return false;
    // a paused device model answers once its domain runs again: the wait is cut short meanwhile, as
    // for a paused guest below, rather than holding the thread for the pause (looked for once the
    // answer is late: a live device model's comes within a few slices, and the look reads every server)
    if (attempt >= PAUSED_EMULATOR_LOOK_AFTER && ioreq.waitsOnPausedEmulator(f.domid)) return false;
    // paused (or gone) while Xen holds its vCPU: the access is cut short here rather than holding the
    // thread, the vCPU still waiting in Xen; it completes before the guest's next device work
    // (`settle`), and an initialisation it cut short runs again (SIM CHOICE, docs/parallel.md)
    if (!this.env.runnable(f.domid)) return false;
    // one word for everything of this thread's: its guests' wakes, its device models' requests
    const bell = ioreq.doorbell(this.env.bell);
    const seen = Atomics.load(bell.words, bell.index);
    this.serveDeviceModels();
    Atomics.wait(bell.words, bell.index, seen, ANSWER_WAIT_SLICE_MS);
    this.env.heartbeat();
    for (const h of this.env.hosted()) if (h.ready() && this.env.hv.virqPending(h.domid, VIRQ_ARGO)) h.handleVirq();
    this.env.announce(f.domid, f.initialised ? 'batch' : 'init'); // a handler above announced its return to idle
    return true;
  }

  /**
   * R3's bug: the vCPU of `f` waits on a slot whose state went backwards, and Xen, having looked at
   * it since, waits on — XSA-262 crashes the target instead (its `resume` says `crashed`, and no wait
   * follows). The slot is read before Xen's next look (`resume`, between two waits), not after it:
   * the device model writes it from another thread. Monitor ioreq-state-forward reports it, once per
   * request.
   */
  private keptWaitingOnBackwardsSlot(f: Front): boolean {
    const vcpu = f.mmio!.vcpu;
    if (vcpu.backwards === null) {
      vcpu.backwards = vcpu.monitors.stillWaiting(f.domid);
      return false;
    }
    if (!vcpu.reported) this.violations.push(vcpu.backwards);
    vcpu.reported = true;
    return true;
  }

  private backendBooted(spec: ScenarioDevice, domid: number, guest: ArgoGuest, frontendDomid: number): void {
    const back = this.backs.find((b) => b.spec === spec);
    if (back) {
      back.side.replace({ domid, guest }, back.model);
      back.domid = domid;
      back.side.backend.endpoint.autoPump = false;
      return;
    }
    const model = spec.type === 'virtio-net' ? netModelFor(spec, frontendDomid, bridgeFor(this.bridges, spec.backend, spec.bridge)) : blkModelFor(spec);
    const side = createVirtioArgoBackSide({ hv: this.env.hv, name: spec.name, backend: { domid, guest }, frontendDomid, model, port: spec.port, ringLen: spec.ringLen, chainBytesMax: spec.type === 'virtio-net' ? NET_CHAIN_BYTES_MAX : undefined });
    // the domain's VIRQ handler pumps it (`virq`), never a raise on this thread from inside another's hypercall
    side.backend.endpoint.autoPump = false;
    side.start();
    this.backs.push({ spec, side, model, domid });
  }

  private frontendBooted(spec: ScenarioDevice, index: number, domid: number, guest: ArgoGuest, backendDomid: number): void {
    const rng = new SeededRandom(this.env.deviceSeeds[index]);
    const violate = (what: string) => this.violations.push(what);
    const hooks = { onUsed: () => this.schedule(f, 0), waitForPeer: (attempt: number) => this.waitForPeer(f, attempt) };
    const end = { domid, guest };
    let run: DeviceRun | NetDeviceRun;
    let side: VirtioArgoFrontSide;
    if (spec.type === 'virtio-net') {
      run = new NetDeviceRun(spec, domid, (onUsed) => {
        const front = (side = createVirtioArgoFrontSide({ hv: this.env.hv, name: spec.name, frontend: end, backendDomid, ...netFrontOptions(spec), onUsed: () => (onUsed(), hooks.onUsed()), waitForPeer: hooks.waitForPeer }));
        return {
          frontend: front.frontend,
          live: () => front.live(),
          start: () => front.start(),
          backendUp: (e) => front.backendUp(e.domid),
          figures: () => front.figures(() => sharedWithPeer(this.env.hv, front)),
          stop: () => front.stop(),
          actors: () => [['frontend', front.frontendActor]],
        };
      }, rng, violate);
    } else {
      const transport = argoFrontTransport(this.env.hv, spec, end, backendDomid, hooks);
      run = new DeviceRun(spec, () => {
        const t = transport();
        side = t.front;
        return t;
      }, rng, violate);
    }
    const f: Front = { spec, domid, run, side: side!, timer: undefined, due: 0, notBefore: 0, deadline: 0, initialised: false, backendDomid: null, interrupted: false, initialising: false, replays: [], idle: 0, final: false, driverGone: false };
    // the domain's VIRQ handler pumps it (`virq`)
    f.side!.frontend.endpoint.autoPump = false;
    this.fronts.push(f);
  }

  /**
   * Device work of the front end's guest (its initialisation, a re-initialisation) once its domain
   * runs: at once, or looked for again every millisecond while it is paused. A pause that cut one of
   * its control waits short has it initialise again once the guest runs (`interrupted`).
   */
  private whenRunnable(f: Front, work: () => void): void {
    // a workload that is over still has a driver: it initialises again towards a new back end, as
    // the deterministic runtime's (its recoveries count it)
    if (f.driverGone || this.halted) return;
    // virtio-mmio: the guest's vCPU first finishes an access a pause cut short (`settle`)
    if (!this.env.runnable(f.domid) || (f.spec.transport === 'mmio' && !this.settle(f))) {
      this.env.announce(0, null); // a wait in `settle` announced the guest's device work
      if (this.env.alive(f.domid)) setTimeout(() => this.whenRunnable(f, work), 1);
      return;
    }
    this.env.announce(f.domid, 'init');
    const outer = f.initialising; // a re-initialisation may run within an initialisation
    f.initialising = true;
    try {
      work();
    } finally {
      f.initialising = outer;
    }
    this.env.announce(0, null);
    if (f.interrupted) this.reinitialise(f);
  }

  /**
   * BACKEND_UP to the front end, once its guest runs — towards the newest back end a `backend-up`
   * named, else the one it has: the device resets and initialises again.
   */
  private reinitialise(f: Front): void {
    this.whenRunnable(f, () => {
      if (!f.initialised) return; // its first initialisation is still to come, and takes `backendDomid`
      f.interrupted = false;
      if (f.side) f.side.backendUp(f.backendDomid ?? f.side.frontend.endpoint.peer.domid);
      else f.run.start(); // virtio-mmio: the driver probes the window again and initialises (§1.2), towards whichever device model serves it now
      f.backendDomid = null;
      this.schedule(f, 0);
    });
  }

  /**
   * The device's next batch `delayMs` (wall) from now, not before `notBefore` (its rate): one batch
   * in the offing per device, and a call that would have it sooner (a completion after a batch that
   * got nowhere) brings the pending one forward — never before the rate allows.
   */
  private schedule(f: Front, delayMs: number): void {
    if (f.final || this.halted || !this.started) return;
    const now = performance.now();
    const at = Math.max(now + delayMs, f.notBefore);
    if (f.timer !== undefined && f.due <= at) return;
    cancel(f);
    f.due = at;
    // due now: the next turn of the event loop (a timer would wait a millisecond at least)
    f.timer = at <= now ? { immediate: setImmediate(() => this.batch(f)) } : { timeout: setTimeout(() => this.batch(f), at - now) };
  }

  private batch(f: Front): void {
    f.timer = undefined;
    if (f.final || this.halted) return;
    if (!f.run.wantsMore) return this.finalise(f);
    if (!this.env.runnable(f.domid)) return this.schedule(f, 1); // paused: it goes on when it runs again
    if (f.interrupted && f.spec.transport === 'mmio') return this.schedule(f, 1); // its re-initialisation comes first
    this.env.announce(f.domid, 'batch');
    // virtio-mmio: a vCPU Xen still holds on an access (a pause cut it short; its device model dead, R5) does nothing else first
    const moved = (f.spec.transport !== 'mmio' || this.settle(f)) && f.run.batch();
    this.env.announce(0, null);
    if (!f.run.wantsMore) return this.finalise(f);
    if (moved) {
      f.idle = 0;
      this.env.progress();
      f.notBefore = performance.now() + f.spec.intervalMs * this.env.timeScale();
      cancel(f); // anything the batch itself asked for comes after its rate too
      return this.schedule(f, 0);
    }
    // nothing moved (completions still on their way, or the device not live): look again after 1, 2,
    // 4 … 32 ms, or as soon as a completion or a new back end comes
    f.idle = Math.min(f.idle + 1, 1 + Math.log2(IDLE_BATCH_DELAY_MAX_MS));
    this.schedule(f, 2 ** (f.idle - 1));
  }

  private finalise(f: Front): void {
    if (f.final) return;
    f.final = true;
    cancel(f);
    this.env.final(f.spec.name);
  }

  /**
   * The front end `f` waits for a control answer (`VirtioArgoFrontendOptions.waitForPeer`), one
   * bounded look at a time: a wait on its domain's pending bit (none while another domain of this
   * thread has a VIRQ its handler would take now), the handler of every such domain — a back end
   * another thread may be waiting on among them —, this thread's virtio-mmio device models (a guest
   * elsewhere may wait on one) and the front end's own ring, drained even while
   * its domain's VIRQ is held back (`virq_delay`), as the deterministic runtime's front end drains
   * it itself. False once the answer is given up on, or the run is halting — or its domain stopped
   * running (paused, or gone): SIM CHOICE, the wait is cut short rather than holding the whole thread
   * (its other domains, its commands) for the pause, and the device initialises again once the guest
   * runs (`interrupted`, `whenRunnable`).
   */
  private waitForPeer(f: Front, attempt: number): boolean {
    const hv = this.env.hv;
    const now = performance.now();
    if (attempt === 0) f.deadline = now + CONTROL_ANSWER_TIMEOUT_MS * this.env.timeScale();
    if (this.halted || now >= f.deadline) return false;
    if (!this.env.runnable(f.domid)) {
      f.interrupted = this.env.alive(f.domid);
      return false;
    }
    const ready = [...this.env.hosted()].filter((h) => h.ready());
    if (!ready.some((h) => hv.virqPending(h.domid, VIRQ_ARGO))) {
      // its own VIRQ already pending but held back: nothing to wait for on its word, a nap instead
      if (hv.virqPending(f.domid, VIRQ_ARGO)) napFor(ANSWER_WAIT_SLICE_MS);
      else hv.waitVirqSync(f.domid, VIRQ_ARGO, ANSWER_WAIT_SLICE_MS);
    }
    this.env.heartbeat();
    for (const h of ready) if (hv.virqPending(h.domid, VIRQ_ARGO)) h.handleVirq();
    this.serveDeviceModels(); // a guest elsewhere may be waiting on one of this thread's device models
    f.side?.frontend.endpoint.serve();
    this.env.announce(f.domid, 'init'); // a handler above announced its return to idle
    return true;
  }

  private nameOf(sid: number): string {
    return this.env.scenario.domains.find((d) => d.domid === sid)!.name;
  }

  private sidOf(name: string): number {
    return this.env.scenario.domains.find((d) => d.name === name)!.domid;
  }
}
