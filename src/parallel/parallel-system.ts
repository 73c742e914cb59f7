import { MessageChannel } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { createActor, type Actor } from 'xstate';
import { domainMachineFor } from '../../machines/implementations/domain-core.js';
import { SHUTDOWN_REASONS } from '../../machines/domain.js';
import { XEN_ARGO_DOMID_ANY } from '../argo/constants.js';
import { XEN_DOMINF_running, XEN_DOMINF_shutdown } from '../domain/lifecycle.js';
import { SeededRandom } from '../runtime/random.js';
import type { DomainFigures, RunSummary } from '../runtime/run-summary.js';
import type { Scenario, ScenarioDevice, ScenarioFault, ScenarioLifecycleEvent, ShutdownReason } from '../scenario/schema.js';
import { createHypervisor, type Hypervisor } from '../xen/hypervisor.js';
import { DOMID_FIRST_RESERVED } from '../xen/domid.js';
import { VIRQ_ARGO, VIRQ_DOM_EXC } from '../xen/virq.js';
import type { DomainHostTask } from './domain-host.js';
import { slowStart, type DeviceModelFault } from './device-host.js';
import { checkFlows } from './flow-check.js';
import { checkedPlacement, roundRobin, type Placement } from './placement.js';
import { scenarioPolicyAllows } from './policy-edge.js';
import type { HostCommand, HostReply, WorkerFigures } from './protocol.js';
import { ACT, CTL, REC, RunLogWriter, WS, allocateRunBuffers, readRunLog, tick, type RunBuffers } from './run-log.js';
import type { DeviceFigures } from '../runtime/devices.js';
import { installArgoFirewall } from '../xsm/argo-firewall.js';
import type { HistoricalBug } from '../xen/historical-bugs.js';
import { lineOf } from '../scenario/source-lines.js';
import { leftoverArgoState } from './teardown-check.js';
import { TimedEvents } from './timed-events.js';
import { ToolstackLanes } from './toolstack-lanes.js';
import { PvControl, type ControlReason } from './pv-control.js';
import { Watchdog, type StuckReport } from './watchdog.js';
import { workerFile } from './worker-file.js';
import { ParallelXenstored } from './xenstored-host.js';
import { bridgeVirq } from './virq-bridge.js';
import { createIoreq, type Ioreq } from '../ioreq/ioreq.js';
import { ioreqBugsOf } from '../ioreq/host.js';
import { announceVirtioMmio, mmioWindow } from '../runtime/devices.js';
import { DeviceTeardown } from '../runtime/device-teardown.js';
import { hasXenstoreDevices, VifNetwork } from '../runtime/vif-devices.js';
import { LIBXL_ACK_TIMEOUT_MS, LIBXL_DESTROY_TIMEOUT_MS, LIBXL_DEVICE_MODEL_START_TIMEOUT_MS } from '../../machines/toolstack.js';
import { deviceModelAlreadyExited, deviceModelStartOf, halfBuiltDomainLeft, mmioDevicesOf } from '../runtime/device-model-start.js';
import { XenstoredRing } from '../xenstore/xenstored-ring.js';
import { LIVE_UPDATE_MS } from '../runtime/xenstored-connections.js';
import type { XenbusFigures } from '../xenstore/xenbus-client.js';

/** Options of `runParallel`. */
export interface ParallelOptions {
  /** Worker threads (default 2). */
  workers?: number;
  /** Seed of the workloads' sizes and payloads and of untimed faults (default: the scenario's). */
  seed?: number;
  /** Which worker hosts which domain (default round-robin). */
  placement?: Placement;
  /** Limit in scenario milliseconds (default: the scenario's `until`, else none). */
  untilMs?: number;
  /** Wall-clock milliseconds per scenario millisecond (default 1). */
  timeScale?: number;
  /** The run is idle when no message moved for this long after the last timed event (default 500 ms). */
  idleMs?: number;
  /** Fault of the parallel runtime itself: worker `worker`'s thread dies at scenario time `atMs`. */
  workerCrash?: { worker: number; atMs: number };
  /** A worker busy in one activity with no heartbeat for this long is reported stuck (default 2000 ms). */
  stuckMs?: number;
  /** Called with each stuck report as the watchdog makes it. */
  onStuck?: (report: StuckReport) => void;
  /** Called once every worker is ready, just before the run starts, with the main thread's hypervisor view. */
  onStart?: (hv: Hypervisor) => void;
  /** Records each thread's run log can hold (default: from the workloads' message counts). */
  recordsMax?: number;
  /**
   * Worker threads to run on instead of a pool of the run's own: `workers` threads, one task each
   * at a time (`poolFor`). The caller keeps it (it is not destroyed), so runs one after another on
   * it find their threads started and their code compiled — what a benchmark's warm-up is for.
   */
  pool?: Piscina;
}

/**
 * A pool for `ParallelOptions.pool`: `workers` threads, started now, one task per thread at a time;
 * tasks name their worker file, so the same threads can run other entries too (benchmark baselines).
 *
 * @example
 * ```ts
 * const pool = poolFor(2);
 * await runParallel(scenario, { workers: 2, pool }); // warm-up
 * const summary = await runParallel(scenario, { workers: 2, pool });
 * await pool.destroy();
 * ```
 */
export function poolFor(workers: number): Piscina {
  return new Piscina({ minThreads: workers, maxThreads: workers, concurrentTasksPerWorker: 1, atomics: 'disabled', idleTimeout: 1000 });
}

/** Per worker, in the summary of a parallel run. */
export interface ParallelWorkerSummary {
  worker: number;
  threadId: number | null;
  /** The thread died: its domains were crashed and destroyed; the rest went on. */
  crashed: boolean;
  /** Why it died (the injected `workerCrash`, or an error in its code, with where it was thrown). */
  crashReason?: string;
  domains: string[];
  sent: number;
  received: number;
  bytesSent: number;
  bytesReceived: number;
  virqs: number;
  waits: number;
  /** Its dom0less guests' xenstore connections, as their xenbus saw them (absent when it hosts none). */
  xenbus?: XenbusFigures[];
}

/**
 * What `argosim run --runtime parallel` reports: the shape of the deterministic runtime's summary
 * (`steps` counts logged events, `virtualTimeMs` is wall time over `timeScale`), plus per-worker
 * figures and what the watchdog saw.
 */
export type ParallelRunSummary = Omit<RunSummary, 'runtime' | 'domains'> & {
  runtime: 'parallel';
  /** As the deterministic summary's, `toolstack` listing the operations and faults run on the domain. */
  domains: Array<{ name: string; domid: number; state: string; toolstack: string[] } & DomainFigures>;
  wallMs: number;
  workers: ParallelWorkerSummary[];
  watchdog: StuckReport[];
};

const WORKERS_MAX = 64;

/**
 * Lifecycle operations of a scenario that the parallel runtime runs — every one the scenario format
 * has. `create` (after a destroy) and a domain's restart (on_*=restart, `reboot`'s default) make a
 * new domain, whose guest memory is attached in every worker before its kernel starts.
 */
export const PARALLEL_LIFECYCLE_OPS = ['create', 'pause', 'unpause', 'resume', 'crash', 'suspend', 'shutdown', 'guest_shutdown', 'reboot', 'destroy', 'detach'] as const;
/**
 * Faults the parallel runtime injects — every one the scenario format has: the toolstack's
 * (`shutdown`, `reboot`, `suspend`: a checkpoint), `stall`, `balloon` (its INVALIDATE broadcast to a
 * guest's device models), the device models' death, misbehaviour and failed start, `xenstore_tamper`
 * among them. A kind added to the format later is refused here, at its line, until this runtime runs it.
 */
export const PARALLEL_FAULT_KINDS = ['kill', 'backend_death', 'crash', 'soft_reset', 'unregister', 'virq_drop', 'virq_delay', 'shutdown', 'reboot', 'suspend', 'stall', 'xenstored_live_update', 'balloon', 'dm_death', 'dm_misbehave', 'dm_start_fail', 'xenstore_tamper'] as const;
/**
 * Historical bugs the parallel runtime brings back: the hypervisor's Argo code (in every thread),
 * xenstored's (in the main thread's xenstored: R11's introduction of a dom0less guest, R12's live
 * update), xl devd's (R7, in a driver domain), libxl's device removal, create and domid
 * allocation (R9, R10, R16, R15, in the main thread's toolstack), QEMU's exit on its guest's
 * power-off (R13, heard in the device model's thread), Xen's IOREQ code (R1–R4, in whichever thread
 * a guest's vCPU traps or a device model answers) and a device model that does not re-check what
 * Xen delivers (R6, in its thread).
 */
export const PARALLEL_BUGS = ['sendvReturnsZeroWhenQueued', 'pendingLengthZero', 'domidReuseWithoutQuarantine', 'introduceNotifiesBeforeReset', 'liveUpdateDyingDomainFatal', 'devdAddSharesDevice', 'deadBackendWaitsForClosed', 'devicesFromFrontendPaths', 'halfBuiltDomainKept', 'deadDomainNodesToDom0', 'qemuExitsOnGuestPoweroff', 'ioreqStateStuckAfterServerDestroy', 'ioreqResentAfterShutdown', 'ioreqStateUnchecked', 'broadcastWaitsForOneServer', 'emulatorSkipsRangeCheck'] as const satisfies readonly HistoricalBug[];
/** What `PARALLEL_BUGS` covers, in words (the refusal of any other switch names it). */
export const PARALLEL_BUGS_COVER = `it runs ${PARALLEL_BUGS.join(', ')}: the hypervisor's Argo and IOREQ code, xenstored's, xl devd's, libxl's device removal, create and domid allocation, QEMU's exit on power-off and a device model's range check`;
const READY_TIMEOUT_MS = 60_000;
const FINISH_TIMEOUT_MS = 30_000;

/**
 * Runs a scenario in the parallel runtime (issue #5): a piscina pool whose workers each host a
 * share of the domains (`DomainHost`), over one hypervisor in SharedArrayBuffers. The main thread is
 * the toolstack: it creates the domains, runs lifecycle operations and faults through the domain
 * actors (kill, reap and soft reset take W(L1) inside the core), and checks the run's records
 * afterwards (`checkFlows`), then destroys every domain and checks that no ring, waiter or
 * send-info record is left.
 *
 * @example
 * ```ts
 * const summary = await runParallel(loadScenario('scenarios/stress-small.yaml'), { workers: 2 });
 * summary.messages.lost; summary.invariantViolations; // []
 * ```
 */
export async function runParallel(scenario: Scenario, options: ParallelOptions = {}): Promise<ParallelRunSummary> {
  const workers = options.workers ?? 2;
  if (!Number.isInteger(workers) || workers < 1 || workers > WORKERS_MAX) throw new RangeError(`workers must be an integer in [1, ${WORKERS_MAX}], got ${workers}`);
  const unsupported = scenario.lifecycle.find((e) => !(PARALLEL_LIFECYCLE_OPS as readonly string[]).includes(e.op));
  if (unsupported) {
    throw new Error(
      `${scenario.source.file}:${unsupported.line}: lifecycle op "${unsupported.op}" is not supported by the parallel runtime yet (it runs ${PARALLEL_LIFECYCLE_OPS.join(', ')}); run this scenario with --runtime deterministic`,
    );
  }
  const otherFault = scenario.faults.find((f) => !(PARALLEL_FAULT_KINDS as readonly string[]).includes(f.kind));
  if (otherFault) {
    throw new Error(
      `${scenario.source.file}:${otherFault.line}: fault kind "${otherFault.kind}" is not supported by the parallel runtime yet (it runs ${PARALLEL_FAULT_KINDS.join(', ')}); run this scenario with --runtime deterministic`,
    );
  }
  // the hypervisor's historical bugs run in every thread's view of it, xenstored's R11 in its
  // connections; the others are bugs of the toolstack, device models or guests that only the
  // deterministic runtime models
  const otherBug = (Object.keys(scenario.bugs) as HistoricalBug[]).find((b) => scenario.bugs[b] && !(PARALLEL_BUGS as readonly string[]).includes(b));
  if (otherBug) {
    throw new Error(
      `${scenario.source.file}:${lineOf(scenario.source, `bugs.${otherBug}`)}: bugs: ${otherBug} is a bug the parallel runtime does not model (${PARALLEL_BUGS_COVER}); run this scenario with --runtime deterministic`,
    );
  }
  const dom0less = scenario.domains.find((d) => d.dom0less);
  if (dom0less && !scenario.domains.some((d) => d.control)) {
    throw new Error(
      `${scenario.source.file}:${dom0less.line}: domain ${dom0less.name}: dom0less needs a control domain (domid 0, or control: true), where xenstored and init-dom0less run; add one to domains`,
    );
  }
  const mmio = scenario.devices.find((d) => d.transport === 'mmio');
  if (mmio && !scenario.domains.some((d) => d.control)) {
    throw new Error(
      `${scenario.source.file}:${mmio.line}: device ${mmio.name}: a virtio-mmio device needs a control domain (domid 0, or control: true), where libxl adds it and xenstored runs; add one to domains`,
    );
  }
  if (scenario.vifs.length > 0 && !scenario.domains.some((d) => d.control)) {
    throw new Error(
      `${scenario.source.file}:${scenario.vifs[0].line}: vif of ${scenario.vifs[0].frontend}: a PV vif needs a control domain (domid 0, or control: true), where libxl adds it and xenstored runs; add one to domains`,
    );
  }
  if (options.pool && (options.pool.maxThreads !== workers || options.pool.options.concurrentTasksPerWorker !== 1)) {
    throw new RangeError(`pool has ${options.pool.maxThreads} threads taking ${options.pool.options.concurrentTasksPerWorker} tasks each; this run needs ${workers} taking one (see poolFor)`);
  }
  if (options.workerCrash && !(options.workerCrash.worker >= 0 && options.workerCrash.worker < workers)) throw new RangeError(`workerCrash.worker ${options.workerCrash.worker} is not a worker`);
  return new ParallelRun(scenario, workers, options).run();
}

/** A promise that never settles: what toolstack work in flight at the run's end waits on (`ParallelRun.request`). */
const NEVER = new Promise<never>(() => {});

/** The lane of timed events that are no domain's. */
const NO_DOMAIN = -1;

class ParallelRun {
  private readonly seed: number;
  private readonly hv: Hypervisor;
  private readonly actors = new Map<number, Actor<ReturnType<typeof domainMachineFor>>>();
  private readonly buffers: RunBuffers;
  private readonly control: Int32Array;
  private readonly log: RunLogWriter;
  private readonly hostOf: number[];
  private readonly ports: Array<import('node:worker_threads').MessagePort | undefined> = [];
  private readonly crashed = new Set<number>();
  private readonly crashReasons: string[] = [];
  /** Each worker's heartbeat at the run's last end check (`deviceWork`). */
  private readonly beats: number[] = [];
  private readonly finalApps = new Set<string>();
  /** VirtIO-Argo devices whose workload is over (done, or its front end's domain gone). */
  private readonly finalDevices = new Set<string>();
  /** Devices whose guest's driver ended with its kernel (a destroy, a restart, a soft reset): no later kernel drives them. */
  private readonly driversEnded = new Set<string>();
  /** Guests (scenario domid) whose next device-model start fails (`dm_start_fail` with none in flight). */
  private readonly dmStartFailNext = new Set<number>();
  /** Device-model starts in flight, by guest (scenario domid): what makes one fail now. */
  private readonly dmStartInFlight = new Map<number, () => Promise<void> | undefined>();
  private readonly acks = new Map<number, { worker: number; done: (ok: boolean) => void }>();
  private readonly figures: Array<WorkerFigures | undefined> = [];
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  /** Per scenario domid, the toolstack operations run on its domain, in order. */
  private readonly toolstack = new Map<number, string[]>();
  /** Scenario domid → the domid its domain has now (on_*=restart gives it a new one, as xl does). */
  private readonly current = new Map<number, number>();
  /** Every domid a domain has had → its scenario domid. */
  private readonly sids = new Map<number, number>();
  /** Per scenario domid, the domids its toolstack destroyed: libxl does not reuse them for a while. */
  private readonly quarantined = new Map<number, Set<number>>();
  private nextId = 1;
  /** Faults that hit a live domain, by kind (as the deterministic runtime counts them). */
  private readonly faultsFired: Record<string, number> = {};
  /** Timed events not yet done (due or not). */
  private timedLeft = 0;
  /**
   * Each scenario domain's toolstack work — its timed events and the actions that follow them — one
   * step at a time, different domains' side by side (`ToolstackLanes`, keyed by scenario domid;
   * `NO_DOMAIN` for what is no domain's: a worker's crash).
   */
  private readonly lanes = new ToolstackLanes();
  /** The timed events waiting for their scenario time (made as they start: scenario time 0). */
  private timed: TimedEvents | undefined;
  private readyCount = 0;
  private onReady: (() => void) | undefined;
  /** While the run goes on: looks at once whether it has ended. */
  private onWorkerReport: (() => void) | undefined;
  private watchdog: Watchdog | undefined;
  /** xenstored, in the control domain's user space (this thread); none without a control domain. */
  private readonly xenstored: ParallelXenstored | undefined;
  /** Xen's IOREQ servers, shared with every worker (when the scenario has virtio-mmio devices). */
  private readonly ioreq: Ioreq | undefined;
  /** Per virtio-mmio device, the xenstore operations libxl's device add made. */
  private readonly mmioXenstoreOps = new Map<string, number>();
  /** The scenario's PV vifs and xl devd in their driver domains, over this thread's xenstore (`vifNetwork`). */
  private readonly network: VifNetwork | undefined;
  /** Steps run on a domain's behalf (`domainStep`) not yet due or not yet run: the run is not quiet meanwhile. */
  private domainStepsLeft = 0;

  constructor(
    private readonly scenario: Scenario,
    private readonly workers: number,
    private readonly options: ParallelOptions,
  ) {
    this.seed = options.seed ?? scenario.seed;
    this.hv = createHypervisor({
      build: { argo: scenario.build.ARGO },
      argo: { enabled: scenario.boot.argo, macPermissive: scenario.boot.macPermissive },
      xsm: scenario.xsm.mode === 'flask' ? { mode: 'flask', policy: scenario.xsm.policy ?? undefined, enforcing: scenario.xsm.enforcing } : { mode: scenario.xsm.mode },
      quirks: scenario.quirks,
      openxt: scenario.openxt,
      bugs: scenario.bugs,
      maxDomains: Math.max(16, scenario.domains.length * 2),
    });
    if (scenario.firewall !== null) installArgoFirewall(this.hv, scenario.firewall);
    const messages = scenario.workloads.reduce((n, w) => n + w.count, 0);
    this.buffers = allocateRunBuffers(workers + 1, workers, options.recordsMax ?? 2 * messages + 4 * scenario.rings.length + 1024);
    this.control = new Int32Array(this.buffers.control);
    this.log = new RunLogWriter(this.buffers.logs[workers]);
    this.hostOf = checkedPlacement(options.placement ?? roundRobin, scenario.domains.map((d) => d.domid), workers);
    const control = scenario.domains.find((d) => d.control);
    // virtio-mmio over IOREQ is libxl's Arm path (§5.10), as in the deterministic runtime
    if (scenario.devices.some((d) => d.transport === 'mmio')) this.ioreq = createIoreq(this.hv, { built: scenario.build.IOREQ_SERVER, arch: 'arm', bugs: ioreqBugsOf(scenario.bugs) });
    if (control) {
      const xenstored = new ParallelXenstored(this.hv, control.domid, {
        notifyBeforeReset: scenario.bugs.introduceNotifiesBeforeReset,
        liveUpdateDyingDomainFatal: scenario.bugs.liveUpdateDyingDomainFatal,
        deadDomainNodesToDom0: scenario.bugs.deadDomainNodesToDom0,
        // judged while the run runs: the end's destroy of every domain (dom0 with libxl's nodes) is the check's, not a guest's death
        leaked: { nameOf: (domid) => this.specOf(domid).name, violate: (what) => void (this.over || this.teardownViolations.push(what)) },
      });
      this.hv.onLifecycle(({ domid, change }) => (change === 'dead' ? xenstored.domainDead(domid) : undefined));
      this.xenstored = xenstored;
      if (scenario.vifs.length > 0) this.network = this.vifNetwork(xenstored);
    }
  }

  async run(): Promise<ParallelRunSummary> {
    for (const spec of this.scenario.domains) this.boot(spec.domid, spec.domid);
    this.addMmioDevices();
    const pool = this.options.pool ?? poolFor(this.workers);
    const tasks = this.startWorkers(pool);
    try {
      await this.allReady();
      this.options.onStart?.(this.hv);
      const startedAt = performance.now();
      this.watchdog = new Watchdog(this.hv, this.buffers, this.workers, this.options.stuckMs ?? 2000, (w) => this.crashed.has(w), this.options.onStuck);
      for (let w = 0; w < this.workers; w++) this.send(w, { type: 'start', timeScale: this.timeScale });
      // dom0 runs: xenstored serves, and init-dom0less introduces the guests Xen built at boot (R11)
      this.xenstored?.start();
      this.watchDomainExceptions();
      for (const d of this.scenario.domains) if (d.dom0less) this.xenstored?.initDom0less(this.current.get(d.domid)!, d.name);
      this.scheduleEvents();
      // libxl's add of the vifs (and devd in each driver domain) as time starts, with the kernels running
      this.network?.start();
      for (const d of this.scenario.domains) if (slowStart(this.scenario, d.name)) this.startDeviceModelsLate(d.domid);
      const end = await this.untilEnd(startedAt);
      this.over = true;
      this.stopDomExc(); // no on_* action starts while the workers halt
      this.timed?.stop();
      for (const t of this.timers) clearTimeout(t);
      const wallMs = performance.now() - startedAt;
      await Promise.all(Array.from({ length: this.workers }, (_, w) => this.request(w, (id) => ({ type: 'halt', id }), true)));
      for (let w = 0; w < this.workers; w++) this.send(w, { type: 'finish' });
      let giveUp: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([Promise.allSettled(tasks), new Promise((r) => (giveUp = setTimeout(r, FINISH_TIMEOUT_MS)))]);
      clearTimeout(giveUp);
      this.watchdog.stop();
      return this.summarise(end, wallMs);
    } finally {
      this.stopDomExc();
      this.xenstored?.stop();
      this.watchdog?.stop();
      for (const t of this.timers) clearTimeout(t);
      for (const port of this.ports) port?.close();
      if (!this.options.pool) await pool.destroy();
    }
  }

  /** Domains shut down whose on_* action waits for the shutdown to complete (`afterShutdown`). */
  private readonly shutdownActions = new Set<number>();
  /** on_* actions VIRQ_DOM_EXC queued that have not finished: the run is not quiet meanwhile. */
  private actionsLeft = 0;
  /** Stops the toolstack's watch on VIRQ_DOM_EXC. */
  private stopDomExc: () => void = () => {};

  /**
   * The toolstack's VIRQ_DOM_EXC, bound in the control domain as xenstored binds it: it comes when a
   * domain changed state, from whichever thread changed it. A domain that Xen shut down behind the
   * toolstack's back — a guest crashed in its own thread because its device model moved an ioreq slot
   * backwards (XSA-262, R3) — is seen then, and xl runs its on_* action.
   */
  private watchDomainExceptions(): void {
    const control = this.scenario.domains.find((d) => d.control);
    if (!control) return;
    const domid = this.current.get(control.domid)!;
    if (this.hv.bindVirq(domid, VIRQ_DOM_EXC, 0) < 0) return;
    this.stopDomExc = bridgeVirq(this.hv, domid, VIRQ_DOM_EXC, () => {
      if (this.hv.life(domid) === 'gone') return (this.stopDomExc(), true); // the control domain died (its worker did)
      this.hv.clearVirq(domid, VIRQ_DOM_EXC);
      this.domainException();
      return true;
    });
  }

  /**
   * VIRQ_DOM_EXC came: each live domain that is shut down while its actor (the toolstack's view)
   * still has it running learns of it — the shutdown, with Xen's reason (a shutdown the toolstack
   * made itself is known to its actor already) — and each shutdown whose on_* action waits goes on
   * if it is complete now (`afterShutdown`), in turn with the toolstack's other operations.
   */
  private domainException(): void {
    for (const domid of this.current.values()) {
      if (this.hv.life(domid) !== 'alive') continue;
      const reason = SHUTDOWN_REASONS[this.hv.domctl.getInfo(domid).shutdownCode];
      const actor = this.actors.get(domid)!;
      if (reason !== undefined && (actor.getSnapshot().matches('running') || actor.getSnapshot().matches('paused'))) {
        if (reason === 'crash') actor.send({ type: 'CRASH' });
        else this.shutDown(domid, actor, reason);
        this.toolstack.get(this.sids.get(domid)!)!.push(`VIRQ_DOM_EXC: ${reason}`);
        if (reason !== 'suspend') this.shutdownActions.add(domid);
      }
      if (!this.shutdownActions.has(domid)) continue;
      this.toolstackStep(domid, () => (this.shutdownActions.has(domid) && this.hv.life(domid) === 'alive' ? this.afterShutdown(domid) : undefined));
    }
  }

  private get timeScale(): number {
    return this.options.timeScale ?? 1;
  }

  /** Creates and unpauses domain `domid` of the scenario's domain `sid` through its actor, in the main thread (the toolstack). */
  private boot(domid: number, sid: number): void {
    const spec = this.specOf(sid);
    const actor = createActor(domainMachineFor(this.hv, domid, { memoryBytes: spec.memoryBytes, label: spec.label, control: spec.control, vcpus: spec.vcpus, compat: spec.compat }), {
      input: { domid },
    }).start();
    actor.send({ type: 'CREATE' });
    this.xenstored?.domainCreated(domid);
    // Xen builds a dom0less guest at boot, its xenstore port unbound for xenstored (a restart is libxl's)
    if (spec.dom0less && domid === sid && !this.sids.has(domid)) XenstoredRing.bootDom0less(this.hv, domid, this.xenstored!.domid);
    // a guest whose device models start late stays paused until they have (`startDeviceModelsLate`)
    if (!this.startsLate(sid)) actor.send({ type: 'UNPAUSE' });
    this.actors.set(domid, actor);
    this.current.set(sid, domid);
    this.sids.set(domid, sid);
    if (!this.toolstack.has(sid)) this.toolstack.set(sid, []);
    if (!this.quarantined.has(sid)) this.quarantined.set(sid, new Set());
  }

  /**
   * libxl's add of each virtio-mmio disk (§5.10), as the deterministic runtime makes it: the device
   * model's domain gets XEN_DOMCTL_set_target over the guest (dom0 is privileged already), and the
   * device's xenstore nodes are written. The device model itself starts in its domain's worker as
   * that worker boots — before any guest runs (`DeviceHost`) — except a slow or failing one
   * (`dmStart`): its guest waits paused, and its devices are added once it is up (`startDeviceModelsLate`).
   */
  private addMmioDevices(): void {
    for (const spec of this.scenario.devices) if (spec.transport === 'mmio' && !slowStart(this.scenario, spec.frontend)) this.addMmioDevice(spec);
  }

  /**
   * libxl's create of a guest whose device models start late or fail (`dmStart`; lifecycle §6.4
   * create step 4, R16), as the deterministic runtime's toolstack runs it: the guest was made paused;
   * `delayMs` after the spawn the device models come up in their domains' threads (set_target first)
   * — then libxl adds the devices (their xenstore nodes) and unpauses the guest — or the device model
   * exits (`fails`, or its guest is gone), and libxl destroys the half-built domain. Past
   * LIBXL_DEVICE_MODEL_START_TIMEOUT libxl gives up and destroys it too (create ERROR_FAIL); a device
   * model that comes up later finds no guest and exits.
   */
  private startDeviceModelsLate(sid: number, restart = false): void {
    const spec = this.specOf(sid);
    const devices = mmioDevicesOf(this.scenario, spec.name);
    const start = deviceModelStartOf(devices);
    // the fault dm_start_fail came while no start was in flight: this one fails
    const fails = start.fails || this.dmStartFailNext.delete(sid);
    const domid = this.current.get(sid)!;
    let over = false;
    let cancelTimeout = () => {};
    // libxl gives up: the half-built domain is destroyed (its create ends ERROR_FAIL), once
    const fail = (): Promise<void> | undefined => {
      if (over) return;
      over = true;
      this.dmStartInFlight.delete(sid);
      cancelTimeout();
      this.toolstack.get(sid)!.push('create ERROR_FAIL');
      if (this.scenario.bugs.halfBuiltDomainKept) {
        // R16's bug: libxl reports the failure and leaves the half-built domain (monitor create-failure-cleans-up)
        if (this.hv.life(domid) !== 'gone') this.teardownViolations.push(halfBuiltDomainLeft(spec.name, domid, String(this.actors.get(domid)!.getSnapshot().value), spec.memoryBytes));
        return;
      }
      return this.destroy(domid);
    };
    this.dmStartInFlight.set(sid, fail); // dm_start_fail: the device model exits before it confirms
    cancelTimeout = this.later(LIBXL_DEVICE_MODEL_START_TIMEOUT_MS * this.timeScale, () => (over ? undefined : this.toolstackStep(domid, fail)));
    this.at(sid, this.scenarioNow() + start.delayMs, async () => {
      if (over) return; // given up on: the device model finds no guest, and exits
      if (fails || this.hv.life(domid) !== 'alive') return fail(); // libxl sees its child die
      // a restart's new domain gets no devices (as in the deterministic runtime: its driver was the old kernel's)
      if (!restart) for (const d of devices) if (!(await this.deviceModelUp(d))) return fail();
      if (over || this.hv.life(domid) !== 'alive') return;
      over = true;
      this.dmStartInFlight.delete(sid);
      cancelTimeout();
      this.actors.get(domid)!.send({ type: 'UNPAUSE' });
      this.send(this.workerOf(domid), { type: 'kick', domid });
    });
  }

  /**
   * Whether the guest of scenario domid `sid` waits paused for its device model's start, as libxl's
   * create makes it (lifecycle §6.4 create step 4): a slow or failing start (`dmStart`), or one the
   * fault `dm_start_fail` has made fail. Others' starts are at once (their device models up before it runs).
   */
  private startsLate(sid: number): boolean {
    const name = this.specOf(sid).name;
    return slowStart(this.scenario, name) || (this.dmStartFailNext.has(sid) && mmioDevicesOf(this.scenario, name).length > 0);
  }



  /**
   * The virtio-mmio devices domain `name` is the device model of, before its new kernel starts them
   * again (a restart's new domain, a soft reset's): libxl adds each towards it again, as the
   * deterministic runtime's back end does when it comes up — unless libxl removed the device or its
   * guest is gone.
   */
  private readdMmioDevices(name: string): void {
    for (const d of this.scenario.devices) {
      if (d.transport === 'mmio' && d.backend === name && !this.removedDevices.has(d.name) && this.hv.life(this.current.get(this.sidOf(d.frontend))!) === 'alive') this.addMmioDevice(d);
    }
  }

  /**
   * libxl's add of one virtio-mmio disk towards the domains its ends have now — at boot, or when its
   * device model's domain comes up again (a restart, a create), which starts the device model anew
   * there: set_target, and the device's xenstore nodes written again (`xenstoreOps` counts each).
   */
  private addMmioDevice(spec: ScenarioDevice): void {
    const fe = this.current.get(this.sidOf(spec.frontend))!;
    const be = this.current.get(this.sidOf(spec.backend))!;
    if (be !== 0) this.ioreq!.setDeviceModel(fe, be);
    const ops = announceVirtioMmio(this.xenstored!.api, fe, be, spec.name, mmioWindow(this.scenario.devices, spec).base);
    this.mmioXenstoreOps.set(spec.name, (this.mmioXenstoreOps.get(spec.name) ?? 0) + ops);
  }

  private sidOf(name: string): number {
    return this.scenario.domains.find((d) => d.name === name)!.domid;
  }

  /**
   * Device `d`'s device model starts in its domain's thread (a supervisor's restart, a slow start
   * come due): set_target first, then — once it serves — libxl's nodes for it written (`xenstoreOps`).
   * False when it did not start (one runs already, the device was removed, a domain is gone, its
   * bring-up refused).
   */
  private async deviceModelUp(d: ScenarioDevice): Promise<boolean> {
    const fe = this.current.get(this.sidOf(d.frontend))!;
    const be = this.current.get(this.sidOf(d.backend))!;
    if (this.removedDevices.has(d.name) || this.hv.life(fe) !== 'alive' || this.hv.life(be) !== 'alive') return false;
    if (be !== 0) this.ioreq!.setDeviceModel(fe, be);
    if (!(await this.request(this.workerOf(be), (id) => ({ type: 'device-model', device: d.name, fault: 'restart', id })))) return false;
    this.mmioXenstoreOps.set(d.name, (this.mmioXenstoreOps.get(d.name) ?? 0) + announceVirtioMmio(this.xenstored!.api, fe, be, d.name, mmioWindow(this.scenario.devices, d).base));
    return true;
  }

  private startWorkers(pool: Piscina): Array<Promise<void>> {
    const seeds = new SeededRandom(this.seed);
    const workloadSeeds = this.scenario.workloads.map(() => seeds.int(0, 0x7fffffff)); // as createSystem draws them
    const deviceSeeds = this.scenario.devices.map(() => seeds.int(0, 0x7fffffff)); // likewise, after the workloads'
    this.faultSeeds = seeds;
    const shared = this.hv.share();
    return Array.from({ length: this.workers }, (_, w) => {
      const channel = new MessageChannel();
      this.ports[w] = channel.port1;
      channel.port1.on('message', (m: HostReply) => this.onReply(m));
      const task: DomainHostTask = {
        worker: w,
        shared,
        scenario: this.scenario,
        domids: this.scenario.domains.filter((_, i) => this.hostOf[i] === w).map((d) => d.domid),
        workloadSeeds,
        deviceSeeds,
        run: this.buffers,
        port: channel.port2,
        ioreq: this.ioreq && { buffers: this.ioreq.share(), built: this.scenario.build.IOREQ_SERVER },
        workers: this.workers,
      };
      return pool.run(task, { transferList: [channel.port2], filename: workerFile('domain-host') }).then(
        (figures: WorkerFigures) => void (this.figures[w] = figures),
        (e: unknown) => this.workerDied(w, e),
      );
    });
  }

  private faultSeeds: SeededRandom | undefined;

  private onReply(m: HostReply): void {
    if (m.type === 'ready') {
      this.readyCount++;
      if (this.readyCount === this.workers) this.onReady?.();
    } else if (m.type === 'ack') {
      this.acks.get(m.id)?.done(m.ok ?? true);
      this.acks.delete(m.id);
    } else if (m.type === 'device-closed') {
      // (a removal still waiting when the run ended stays so: nothing changes after the end)
      if (!this.over) for (const closed of this.closing.get(m.device)?.splice(0) ?? []) closed();
    } else if (m.type === 'device-final') this.finalDevices.add(m.name);
    else this.finalApps.add(m.name);
    this.onWorkerReport?.();
  }

  private allReady(): Promise<void> {
    if (this.readyCount === this.workers) return Promise.resolve();
    if (this.crashed.size > 0) return Promise.reject(this.bootFailure());
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`parallel runtime: ${this.workers - this.readyCount} worker(s) not ready after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      this.onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      // a worker that dies booting its guests fails the run at once, saying why
      this.onBootCrash = () => {
        clearTimeout(timer);
        reject(this.bootFailure());
      };
    });
  }

  private onBootCrash: (() => void) | undefined;

  private bootFailure(): Error {
    const w = [...this.crashed][0];
    return new Error(`parallel runtime: worker ${w} died booting its guests (${this.scenario.domains.filter((_, i) => this.hostOf[i] === w).map((d) => d.name).join(', ')}): ${this.crashReasons[w]?.split('\n')[0] ?? 'no reason'}`);
  }

  private send(worker: number, command: HostCommand): void {
    if (!this.crashed.has(worker)) this.ports[worker]?.postMessage(command);
  }

  /**
   * A command the worker must have done before the toolstack goes on; resolves with the ack's `ok`
   * (true when it has none), or false from a dead worker, which answers nothing.
   */
  /**
   * A command to `worker`, answered by its ack. Toolstack work still in flight when the run ends (one
   * waiting on a libxl timeout past `until`) stops at its next answer — it never comes back — so that
   * nothing changes after the run's end; the end's own commands (`atEnd`) are answered as usual.
   */
  private request(worker: number, command: (id: number) => HostCommand, atEnd = false): Promise<boolean> {
    if (this.crashed.has(worker)) return Promise.resolve(false);
    const id = this.nextId++;
    const answered = new Promise<boolean>((resolve) => {
      this.acks.set(id, { worker, done: resolve });
      this.ports[worker]!.postMessage(command(id));
    });
    return atEnd ? answered : answered.then((ok) => (this.over ? NEVER : ok));
  }

  /** The scenario domid of the domain that has (or had) domid `domid` (its own for one never restarted). */
  private scenarioDomid(domid: number): number {
    return this.sids.get(domid) ?? domid;
  }

  /** The worker that hosts the domain with domid `domid` now (a restarted domain stays on its worker). */
  private workerOf(domid: number): number {
    const sid = this.scenarioDomid(domid);
    return this.hostOf[this.scenario.domains.findIndex((d) => d.domid === sid)];
  }

  /** Lifecycle events and faults at their scenario times (wall time × timeScale), one at a time. */
  private scheduleEvents(): void {
    this.timed = new TimedEvents({ now: () => performance.now(), setTimer: (ms, run) => this.later(ms, run) }, performance.now(), this.timeScale);
    for (const e of this.scenario.lifecycle) this.at(e.domid, e.atMs, () => this.lifecycle(e));
    for (const f of this.scenario.faults) this.at(f.domid, f.atMs ?? this.faultSeeds!.int(0, 50), () => this.fault(f));
    const crash = this.options.workerCrash;
    if (crash) this.at(NO_DOMAIN, crash.atMs, () => this.send(crash.worker, { type: 'crash' }));
  }

  /**
   * Runs `what` at scenario time `ms` (wall time × timeScale from the start of the events) on the lane
   * of scenario domain `sid`, after the timed events before it — in scenario-time order whatever the
   * timers do (`TimedEvents`), each domain's one at a time; the run does not end while one is pending
   * (and, before `until`, due: see `untilEnd`).
   */
  private at(sid: number, ms: number, what: () => Promise<void> | void): void {
    const due = ms < this.untilMs;
    this.timedLeft++;
    this.timed!.add(ms, () => this.lanes.run(sid, what, due, () => this.timedLeft--));
  }

  /** The run's time limit (scenario ms; Infinity when none). */
  private get untilMs(): number {
    return this.options.untilMs ?? this.scenario.untilMs ?? Infinity;
  }

  /**
   * Toolstack work of domain `domid` waits for a libxl timeout `ms` (scenario) from now: if that falls
   * at or after the run's `until`, the lane counts as parked until the returned function is called —
   * the run may end at `until` with the operation still in flight, as the deterministic runtime's
   * does (no wall time spent waiting out a timeout the run will not see).
   */
  private parkPastUntil(domid: number, ms: number): () => void {
    if (this.scenarioNow() + ms < this.untilMs) return () => {};
    return this.lanes.park(this.scenarioDomid(domid));
  }

  /** Scenario milliseconds since the timed events started. */
  private scenarioNow(): number {
    return this.timed!.now();
  }

  /** The lifecycle operations this runtime runs (see `PARALLEL_LIFECYCLE_OPS`), through the domain's actor. */
  private async lifecycle(e: ScenarioLifecycleEvent): Promise<void> {
    const domid = this.current.get(e.domid)!;
    if (e.op === 'create') {
      // after a destroy only: a configuration whose domain runs is not created twice
      if (this.hv.life(domid) !== 'gone') return;
      this.toolstack.get(e.domid)!.push(e.op);
      return this.create(domid);
    }
    if (this.hv.life(domid) === 'gone') return;
    this.toolstack.get(e.domid)!.push(e.op);
    if (e.op === 'detach') return this.detach(domid, e.device!);
    return this.operate(domid, e.op, e.op === 'guest_shutdown' ? (e.reason?.name ?? 'poweroff') : undefined);
  }

  /** One toolstack operation (or the guest's own shutdown) on the domain `domid`. */
  private async operate(domid: number, op: string, guestReason?: ShutdownReason): Promise<void> {
    if (this.hv.life(domid) === 'gone') return;
    const actor = this.actors.get(domid)!;
    const kick = () => this.send(this.workerOf(domid), { type: 'kick', domid });
    switch (op) {
      case 'pause': return void actor.send({ type: 'PAUSE' });
      // a guest that runs again acknowledges a control/shutdown request waiting for it, in this step
      case 'unpause': actor.send({ type: 'UNPAUSE' }); kick(); return this.pvControl.acknowledgeIfRunning(domid);
      case 'resume': actor.send({ type: 'RESUME' }); kick(); return this.pvControl.acknowledgeIfRunning(domid);
      case 'crash':
        actor.send({ type: 'CRASH' });
        return this.afterShutdown(domid);
      case 'suspend':
        // HVM without PV drivers: xc_domain_shutdown(SHUTDOWN_suspend) directly
        if (!this.specOf(domid).pvControl) return void actor.send({ type: 'SHUTDOWN', reason: 'suspend' });
        return this.requestShutdown(domid, 'suspend', () => {});
      case 'shutdown':
      case 'reboot':
        if (!this.specOf(domid).pvControl) return; // ERROR_NOPARAVIRT: nothing happens
        return this.requestShutdown(domid, op === 'reboot' ? 'reboot' : 'poweroff', () => this.afterShutdown(domid));
      case 'guest_shutdown': {
        // the guest's own SCHEDOP_shutdown, once its vCPUs run (as the deterministic runtime's asGuest)
        const shutdown = () => {
          if (this.actors.get(domid) !== actor) return;
          this.shutDown(domid, actor, guestReason ?? 'poweroff');
          return this.afterShutdown(domid);
        };
        if (this.runnable(domid)) return shutdown();
        return this.whenRunning(domid, () => this.toolstackStep(domid, shutdown));
      }
      case 'destroy': return this.destroy(domid);
    }
  }

  /** libxl's PV control protocol: xl shutdown / reboot / suspend wait for the guest's acknowledgement (`PvControl`). */
  private readonly pvControl = new PvControl({
    runnable: (domid) => this.runnable(domid),
    identity: (domid) => (this.hv.life(domid) === 'gone' ? undefined : this.actors.get(domid)),
    over: () => this.over,
    later: (ms, run) => void this.later(ms, run),
    ackTimeout: (run) => this.timed!.add(this.scenarioNow() + LIBXL_ACK_TIMEOUT_MS, run),
    step: (domid, work) => this.toolstackStep(domid, work),
    log: (domid, line) => void this.toolstack.get(this.scenarioDomid(domid))!.push(line),
  });

  /** xl shutdown / reboot / suspend of `domid` (`PvControl.request`): once acknowledged, the guest shuts down with the reason, then `then`. */
  private requestShutdown(domid: number, reason: ControlReason, then: () => Promise<void> | void): Promise<void> | void {
    const actor = this.actors.get(domid)!;
    return this.pvControl.request(domid, reason, () => {
      this.shutDown(domid, actor, reason);
      return then();
    });
  }

  /** Domain `domid`'s actor (`actor`: the one meant) hears its guest shut down with `reason`; a power-off reaches its device models (R13). */
  private shutDown(domid: number, actor: Actor<ReturnType<typeof domainMachineFor>>, reason: ShutdownReason): void {
    actor.send({ type: 'SHUTDOWN', reason });
    if (reason === 'poweroff') this.guestPoweredOff(domid);
  }

  /**
   * The guest `domid` powered off: its ACPI power-off reaches each of its device models, in their
   * domains' threads (a SIM CHOICE, as in the deterministic runtime: after Xen has shut it down).
   * Run with -no-shutdown (today, Xen 9ba80a722b) QEMU stays until libxl kills it; with
   * `qemuExitsOnGuestPoweroff` (R13) it exits — unless libxl's destroy killed it first, which races
   * with the device model's thread hearing of it (`killDeviceModels`).
   */
  private guestPoweredOff(domid: number): void {
    if (!this.scenario.bugs.qemuExitsOnGuestPoweroff) return;
    const guest = this.actors.get(domid)!; // this domain, not a later one with its domid
    for (const d of mmioDevicesOf(this.scenario, this.specOf(domid).name)) {
      const be = this.current.get(this.sidOf(d.backend))!;
      if (this.hv.life(be) !== 'alive') continue;
      void this.request(this.workerOf(be), (id) => ({ type: 'device-model', device: d.name, fault: 'poweroff', id })).then((heard) => {
        if (heard && this.deviceModelOf.get(guest) !== 'killed') this.deviceModelOf.set(guest, 'exited');
      });
    }
  }

  /**
   * libxl's destroy kills the guest's device model (lifecycle §6.4 destroy step 2,
   * libxl__destroy_device_model): one that exited already (R13) is an error libxl logs — monitor
   * destroy-clean.
   */
  private killDeviceModels(domid: number): void {
    const spec = this.specOf(domid);
    if (mmioDevicesOf(this.scenario, spec.name).length === 0) return;
    const guest = this.actors.get(domid)!;
    if (this.deviceModelOf.get(guest) === 'exited') {
      this.toolstack.get(spec.domid)!.push('device model: already exited');
      this.teardownViolations.push(deviceModelAlreadyExited(spec.name, domid));
    }
    this.deviceModelOf.set(guest, 'killed');
  }

  /** Toolstack work of domain `domid` that comes of itself (an acknowledgement, a VIRQ_DOM_EXC), on its lane; the run is not quiet until it is done. */
  private toolstackStep(domid: number, work: () => Promise<void> | void): void {
    this.actionsLeft++;
    this.lanes.run(this.scenarioDomid(domid), work, false, () => this.actionsLeft--);
  }

  /**
   * xl's on_* action once the domain's shutdown is complete — every vCPU stopped: one with an ioreq in
   * flight defers it (lifecycle §6.5), and a vCPU blocked on a device model that is gone defers it for
   * good (R5) — with the reason Xen kept (the first). Until then the domain waits in
   * `shutdownActions` for the VIRQ_DOM_EXC its completion sends.
   */
  private afterShutdown(domid: number): Promise<void> | undefined {
    const info = this.hv.domctl.getInfo(domid);
    if ((info.flags & XEN_DOMINF_shutdown) === 0) {
      this.shutdownActions.add(domid);
      return;
    }
    this.shutdownActions.delete(domid);
    const actor = this.actors.get(domid)!;
    if (actor.getSnapshot().matches('shuttingDown')) actor.send({ type: 'VCPUS_STOPPED' });
    const reason = SHUTDOWN_REASONS[info.shutdownCode];
    return reason === 'suspend' ? undefined : this.onShutdownAction(domid, reason);
  }

  /** xl's on_* action for a domain that shut down with `reason`. */
  private async onShutdownAction(domid: number, reason: Exclude<ShutdownReason, 'suspend'>): Promise<void> {
    const action = this.specOf(domid).onShutdown[reason];
    if (action === 'destroy') return this.destroy(domid);
    if (action === 'restart') return this.restart(domid);
    if (action === 'soft-reset') return this.softReset(domid, () => this.actors.get(domid)!.send({ type: 'SOFT_RESET' }));
    // preserve: the domain stays shut down
  }

  /** The scenario's configuration of the domain that has (or had) domid `domid`. */
  private specOf(domid: number) {
    const sid = this.scenarioDomid(domid);
    return this.scenario.domains.find((d) => d.domid === sid)!;
  }

  /**
   * on_*=restart, as libxl does it (lifecycle §6.2): destroy, then create the same configuration
   * again with the first domid from the configured one that is neither in use nor quarantined. The
   * new domain's guest memory is attached in every worker (any of them may run a hypercall that
   * touches it) before its kernel starts in the worker that hosted the old one.
   */
  private async restart(domid: number): Promise<void> {
    await this.destroy(domid);
    return this.create(domid);
  }

  /**
   * xl create of the configuration whose last domain, `domid`, is gone (a restart's second half, or
   * the lifecycle op `create` after a destroy): domain_make with the first domid from the configured
   * one that is neither in use nor quarantined, its memory attached in every worker, its kernel
   * started in the worker that hosted the old one.
   */
  private async create(domid: number): Promise<void> {
    const sid = this.sids.get(domid)!;
    const worker = this.workerOf(domid);
    if (this.hv.life(domid) !== 'gone' || this.crashed.has(worker)) return;
    let next = sid;
    // SIM CHOICE (docs/parallel.md): never a domid another configuration had in this run — the run's
    // records, the workers' hosts and the toolstack's actors are keyed by domid
    const quarantine = !this.scenario.bugs.domidReuseWithoutQuarantine; // R15's bug: a domid reused at once
    while ((quarantine && this.quarantined.get(sid)!.has(next)) || this.hv.life(next) !== 'gone' || (this.sids.has(next) && this.sids.get(next) !== sid)) next++;
    if (next >= DOMID_FIRST_RESERVED) throw new Error(`restart of ${this.specOf(sid).name}: no free domid from ${sid}`);
    this.boot(next, sid);
    this.network?.created(this.specOf(sid).name); // libxl adds its vifs as it creates it
    const memory = this.hv.domain(next)!.memory.buffer;
    await Promise.all(Array.from({ length: this.workers }, (_, w) => this.request(w, (id) => ({ type: 'attach', domid: next, memory, id }))));
    for (const w of this.scenario.workloads) if (w.fromDomid === sid) this.finalApps.delete(w.name); // the new kernel reports them
    this.readdMmioDevices(this.specOf(sid).name);
    const late = this.startsLate(sid);
    await this.request(worker, (id) => ({ type: 'restart', from: domid, domid: next, domids: [...this.current], id }));
    this.backendsUp(sid, next);
    if (late) this.startDeviceModelsLate(sid, true);
  }

  /**
   * The domain of scenario domid `sid` runs a new kernel as `domid` (a restart, a soft reset): the
   * back ends of its VirtIO-Argo devices listen there again, and each front end whose domain still
   * lives re-initialises towards it; a driver domain's init starts xl devd again (as the
   * deterministic runtime's `startKernel`).
   */
  private backendsUp(sid: number, domid: number): void {
    if (this.hv.life(domid) !== 'alive') return;
    const name = this.specOf(sid).name;
    this.network?.kernelUp(name, domid);
    for (const d of this.scenario.devices) {
      if (d.backend !== name) continue;
      const fe = this.current.get(this.scenario.domains.find((x) => x.name === d.frontend)!.domid)!;
      if (this.hv.life(fe) === 'alive') this.send(this.workerOf(fe), { type: 'backend-up', device: d.name, domid });
    }
  }

  private async fault(scenarioFault: ScenarioFault): Promise<void> {
    const f = { ...scenarioFault, domid: this.current.get(scenarioFault.domid)! }; // the domain's domid of now
    if (this.hv.life(f.domid) === 'gone') return;
    const worker = this.workerOf(f.domid);
    this.toolstack.get(scenarioFault.domid)!.push(`fault ${f.kind}`);
    this.faultsFired[f.kind] = (this.faultsFired[f.kind] ?? 0) + 1;
    switch (f.kind) {
      case 'kill':
      case 'backend_death':
        return this.destroy(f.domid, 'kill');
      case 'crash':
        // the guest crashes (domain_crash); xl's on_crash follows, as for the lifecycle op
        return this.operate(f.domid, 'crash');
      case 'soft_reset':
        if (this.hv.life(f.domid) !== 'alive') return;
        return this.softReset(f.domid, () => this.hv.softResetDomain(f.domid));
      case 'unregister': {
        const partner = f.ring!.partnerDomid === 'any' ? XEN_ARGO_DOMID_ANY : this.current.get(f.ring!.partnerDomid)!;
        return void await this.request(worker, (id) => ({ type: 'unregister', domid: f.domid, port: f.ring!.port, partner, id }));
      }
      case 'virq_drop':
        return this.hv.clearVirq(f.domid, VIRQ_ARGO);
      case 'xenstore_tamper':
        // XSA-175's hostile guest (lifecycle §6.7 R10): it removes its frontend device directories
        return void this.xenstored?.api.rm(f.domid, `/local/domain/${f.domid}/device`);
      case 'balloon':
        // the guest gives memory back (XENMEM_decrease_reservation) on its vCPU, in its thread
        return void (await this.request(worker, (id) => ({ type: 'balloon', domid: f.domid, id })));
      case 'dm_death':
      case 'dm_misbehave':
        return this.deviceModelFault(f.domid, f.kind, f.delayMs);
      case 'dm_start_fail': {
        // the guest's device model exits before it confirms its start: the start in flight, else the next
        if (mmioDevicesOf(this.scenario, this.specOf(f.domid).name).length === 0) return;
        const inFlight = this.dmStartInFlight.get(scenarioFault.domid);
        if (inFlight) return inFlight();
        return void this.dmStartFailNext.add(scenarioFault.domid);
      }
      case 'xenstored_live_update': {
        // the new xenstored reads its state `delay` later (default 1 ms, as in the deterministic runtime)
        const xenstored = this.xenstored!;
        xenstored.liveUpdate();
        return this.at(scenarioFault.domid, this.scenarioNow() + (f.delayMs ?? LIVE_UPDATE_MS), () => {
          xenstored.liveUpdateRestore((domid) => this.specOf(domid).name);
          this.onWorkerReport?.(); // an exit ends the run at once
        });
      }
      case 'virq_delay':
        this.send(worker, { type: 'virq_delay', domid: f.domid, delayMs: f.delayMs ?? 1 });
        // the held-back VIRQ is work still to come: the run does not end idle before it is delivered
        return this.at(scenarioFault.domid, this.scenarioNow() + (f.delayMs ?? 1), () => {});
      // the toolstack's operations at the fault's moment, as the lifecycle ops of the same names
      case 'shutdown':
      case 'reboot':
        return this.operate(f.domid, f.kind);
      case 'stall': {
        // the guest gets no CPU for `delay` (default 100 ms): this runtime's toolstack arms no
        // operation timeout, which in the deterministic runtime would end the stall first
        const stalled = f.domid;
        await this.operate(stalled, 'pause');
        return this.at(scenarioFault.domid, this.scenarioNow() + (f.delayMs ?? 100), () => (this.current.get(scenarioFault.domid) === stalled ? this.operate(stalled, 'unpause') : undefined));
      }
      case 'suspend': {
        // a checkpoint (xl save -c): once the guest has acknowledged and suspended, the domain is
        // resumed `delay` later (docs/scenarios.md); a suspend not taken (another in flight) or never
        // acknowledged takes no checkpoint, and there is nothing to resume
        const suspended = f.domid;
        const resumeLater = () => {
          if (this.hv.life(suspended) === 'gone') return;
          this.at(scenarioFault.domid, this.scenarioNow() + (f.delayMs ?? 1), () => (this.current.get(scenarioFault.domid) === suspended ? this.operate(suspended, 'resume') : undefined));
        };
        if (!this.specOf(suspended).pvControl) return this.operate(suspended, 'suspend').then(resumeLater);
        return this.requestShutdown(suspended, 'suspend', resumeLater);
      }
    }
  }

  /**
   * A device-model fault (docs/races.md R1, R3) on each virtio-mmio device `domid` is the front end or
   * the back end of, in its device model's thread, as the deterministic runtime's: `dm_death` kills the
   * device model — its exit destroys its IOREQ server — and its supervisor starts it again `delayMs`
   * later (default 1 ms), libxl's nodes for it written again, its front end re-initialising the
   * device; `dm_misbehave` makes its next answer move the slot backwards (Xen crashes the guest,
   * XSA-262).
   */
  private async deviceModelFault(domid: number, kind: 'dm_death' | 'dm_misbehave', delayMs: number | null | undefined): Promise<void> {
    const name = this.specOf(domid).name;
    for (const d of this.scenario.devices) {
      if (d.transport !== 'mmio' || (d.frontend !== name && d.backend !== name)) continue;
      const worker = this.workerOf(this.current.get(this.sidOf(d.backend))!);
      const fault = (what: DeviceModelFault) => this.request(worker, (id) => ({ type: 'device-model', device: d.name, fault: what, id }));
      if (kind === 'dm_misbehave') {
        await fault('misbehave');
        continue;
      }
      if (!(await fault('kill'))) continue;
      // its supervisor's restart: the device model's domain's to run
      this.at(this.sidOf(d.backend), this.scenarioNow() + (delayMs ?? 1), async () => {
        if (!(await this.deviceModelUp(d))) return;
        const fe = this.current.get(this.sidOf(d.frontend))!;
        this.send(this.workerOf(fe), { type: 'backend-up', device: d.name, domid: this.current.get(this.sidOf(d.backend))! });
      });
    }
  }

  /**
   * xl block-detach of the guest `domid`'s virtio-mmio device `device` — libxl_device_disk_safe_remove,
   * as the deterministic runtime runs it (`DeviceTeardown.detach`, over this thread's xenstore):
   * be/state=Closing; the device model's xenbus watch has it close the device in its thread (unmap,
   * drain, destroy its server) and answer Closed; libxl removes the device's paths, and the guest's
   * workload on the disk ends. Resolves when libxl is done (removed, timed out, or nothing found).
   */
  private detach(domid: number, device: string): Promise<void> {
    const name = this.specOf(domid).name;
    const unpark = this.parkPastUntil(domid, LIBXL_DESTROY_TIMEOUT_MS); // libxl's wait for Closed, at most
    return new Promise((resolve) =>
      this.deviceTeardown().detach(name, domid, device, (result) => {
        unpark();
        if (result === 'removed') {
          this.removedDevices.add(device);
          this.send(this.workerOf(domid), { type: 'device-removed', device });
        }
        resolve();
      }),
    );
  }

  /**
   * libxl__destroy_domid's device removal for a guest with virtio-mmio devices (lifecycle §6.4
   * destroy step 2, §6.6), as the deterministic runtime's toolstack runs it (`DeviceTeardown.removalFor`):
   * be/state=Closing for each device libxl recorded, each device model whose domain lives closing
   * its device in its thread and answering Closed — no wait for a backend that is gone, and
   * LIBXL_DESTROY_TIMEOUT at most —, then the domain's paths removed, and the device-teardown
   * monitor's look (R10: no backend directory left).
   */
  private async removeDevices(domid: number): Promise<void> {
    const name = this.specOf(domid).name;
    if (!hasXenstoreDevices(this.scenario, name)) return;
    const teardown = this.deviceTeardown();
    const removal = teardown.removalFor(name);
    let unpark = () => {};
    await new Promise<void>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      removal.close(domid, done);
      // nothing will answer: libxl does not wait (Xen 9eaaedfcde) — before it, it did (R9, deadBackendWaitsForClosed)
      if (!this.scenario.bugs.deadBackendWaitsForClosed && removal.backendsGone(domid)) return done();
      unpark = this.parkPastUntil(domid, LIBXL_DESTROY_TIMEOUT_MS);
      timer = setTimeout(() => {
        teardown.timedOut(name, domid);
        resolve();
      }, LIBXL_DESTROY_TIMEOUT_MS * this.timeScale);
    });
    unpark();
    if (this.over) return NEVER; // the run ended while libxl waited: nothing changes after the end
    removal.remove(domid);
    teardown.destroyed(name, domid);
  }

  private teardown: DeviceTeardown | undefined;
  /** libxl's removals waiting for a device model's Closed, by device (answered by `device-closed`). */
  private readonly closing = new Map<string, Array<() => void>>();
  /** Devices libxl removed (detach): no device model serves them again. */
  private readonly removedDevices = new Set<string>();
  /** The run is over: libxl's watches and waits stop. */
  private over = false;
  /** What libxl's removal monitors found (R9's dead-backend-wait; none with its bug off). */
  private readonly teardownViolations: string[] = [];
  /** A guest's device model's process, by the guest's actor (R13): exited of itself, or killed by libxl's destroy. */
  private readonly deviceModelOf = new WeakMap<object, 'exited' | 'killed'>();

  /** `run` `ms` wall milliseconds from now, unless the run ended first; returns its cancel. */
  private later(ms: number, run: () => void): () => void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      run();
    }, ms);
    this.timers.add(t);
    return () => {
      clearTimeout(t);
      this.timers.delete(t);
    };
  }

  /**
   * Runs `work` as a step of domain `domid` `delayMs` scenario ms from now, once its vCPUs run: a
   * step of its kernel or userspace whose every effect is a xenstore request — a xenbus watch handler
   * (a device model's `Closing`, netback, netfront), xl devd's event loop, a hotplug script's exit.
   * SIM CHOICE (docs/parallel.md "PV vifs"): this thread runs them on the domain's behalf, where
   * xenstored answers each request anyway; none waits on a hypercall its worker would make. A step
   * due or queued keeps the run from ending idle; one held by a paused domain does not.
   */
  private domainStep(domid: number, delayMs: number, work: () => void): void {
    this.domainStepsLeft++;
    const step = () => {
      this.domainStepsLeft--;
      this.whenRunning(domid, work);
    };
    if (delayMs === 0) setImmediate(step);
    else this.later(delayMs * this.timeScale, step);
  }

  /** `work` now if domain `domid` runs, else once it does (looked at every millisecond); never once it is gone or the run is over. */
  private whenRunning(domid: number, work: () => void): void {
    if (this.over || this.hv.life(domid) === 'gone') return;
    if (!this.runnable(domid)) return void this.later(1, () => this.whenRunning(domid, work));
    work();
  }

  /**
   * The scenario's PV vifs (`VifNetwork`, as the deterministic runtime runs them): libxl's add in this
   * thread as each frontend is created; netback and xl devd in the driver domain, netfront in the
   * guest, each a `domainStep` of its domain; devd's libxl timers are its domain's too.
   */
  private vifNetwork(xenstored: ParallelXenstored): VifNetwork {
    return new VifNetwork(this.scenario, this.seed, {
      store: xenstored.api,
      step: (domid, _label, delayMs, work) => this.domainStep(domid, delayMs, work),
      timer: (domid, ms, run) => this.later(ms * this.timeScale, () => this.whenRunning(domid, run)),
      domidOf: (name) => {
        const domid = this.current.get(this.sidOf(name))!;
        return this.hv.life(domid) === 'gone' ? undefined : domid;
      },
      nameOf: (domid) => this.specOf(domid).name,
      violate: (what) => this.teardownViolations.push(what),
    });
  }

  /** libxl's device removal over this thread's xenstore, its backends' answers from their threads. */
  private deviceTeardown(): DeviceTeardown {
    this.teardown ??= new DeviceTeardown({
      store: this.xenstored!.api,
      devicesFromFrontendPaths: this.scenario.bugs.devicesFromFrontendPaths,
      deadBackendWaitsForClosed: this.scenario.bugs.deadBackendWaitsForClosed,
      exists: (domid) => this.hv.life(domid) !== 'gone',
      nameOf: (domid) => this.specOf(domid).name,
      // the backend's xenbus watch runs once its domain runs; libxl's at once
      asDomain: (domid, _label, work) => this.domainStep(domid, 0, work),
      asToolstack: (_name, _label, work) => setImmediate(work),
      timer: (_name, ms, run) => this.later(ms * this.timeScale, run),
      backendCloses: (_frontend, d, closed) => {
        if (d.type === 'vif') return closed(); // netback closes its device (xenbus_frontend_closed) in this step
        if (!this.closing.has(d.name)) this.closing.set(d.name, []);
        this.closing.get(d.name)!.push(closed);
        this.send(this.workerOf(d.backendDomid), { type: 'device-model-close', device: d.name });
      },
      violate: (what) => this.teardownViolations.push(what),
    });
    return this.teardown;
  }

  /** Logs a teardown of `domid`'s Argo state done by `teardown`, with stamps around it. */
  private tornDown(domid: number, teardown: () => void): void {
    const before = tick(this.control);
    teardown();
    this.log.append(REC.DOMAIN_TORN_DOWN, before, tick(this.control), domid);
  }

  /**
   * libxl destroy (`by` libxl, lifecycle §6.4 destroy): the domain is paused (libxl__destroy_domid's
   * xc_domain_pause), the guest stops (its worker quiesces it), its devices are removed as libxl
   * removes them (`removeDevices`), then kill and reap under W(L1). A `kill` (domain_kill, the faults
   * `kill` and `backend_death`) is the hypervisor's alone: no pause, no device removal — a back end's
   * nodes stay for whoever cleans up, as in the deterministic runtime.
   */
  private async destroy(domid: number, by: 'libxl' | 'kill' = 'libxl'): Promise<void> {
    if (this.hv.life(domid) === 'gone') return;
    if (by === 'libxl') this.actors.get(domid)!.send({ type: 'PAUSE' });
    await this.request(this.workerOf(domid), (id) => ({ type: 'quiesce', domid, id }));
    if (this.hv.life(domid) === 'gone') return; // its worker died meanwhile, and took it down
    if (by === 'libxl') {
      this.killDeviceModels(domid);
      await this.removeDevices(domid);
    }
    if (this.hv.life(domid) === 'gone') return;
    this.markAppsFinal(domid);
    this.quarantined.get(this.sids.get(domid)!)!.add(domid);
    this.network?.kernelGone(this.specOf(domid).name);
    const actor = this.actors.get(domid)!;
    this.tornDown(domid, () => {
      actor.send({ type: 'DESTROY' });
      actor.send({ type: 'KILL' });
      actor.send({ type: 'TEARDOWN_DONE' });
    });
  }

  /** Soft reset: the old kernel stops, Argo is reset under W(L1), a new kernel registers its rings. */
  private async softReset(domid: number, reset: () => void): Promise<void> {
    const worker = this.workerOf(domid);
    await this.request(worker, (id) => ({ type: 'quiesce', domid, id }));
    if (this.hv.life(domid) !== 'alive') return;
    this.markAppsFinal(domid);
    this.network?.kernelGone(this.specOf(domid).name); // its netfronts and xl devd were the old kernel's
    this.xenstored?.domainGone(domid); // evtchn_reset closes the xenstore port: the new kernel is libxl's to introduce
    this.tornDown(domid, reset);
    if (this.hv.life(domid) !== 'alive') return;
    this.readdMmioDevices(this.specOf(domid).name);
    await this.request(worker, (id) => ({ type: 'reboot', domid, id }));
    this.backendsUp(this.scenarioDomid(domid), domid);
  }

  /** The domain's guest is gone: its workloads are over, and so are those of the devices it is the front end of. */
  private markAppsFinal(domid: number): void {
    const sid = this.scenarioDomid(domid);
    for (const w of this.scenario.workloads) if (w.fromDomid === sid) this.finalApps.add(w.name);
    const name = this.specOf(sid).name;
    for (const d of this.scenario.devices) {
      if (d.frontend !== name) continue;
      this.finalDevices.add(d.name);
      this.driversEnded.add(d.name);
    }
  }

  /** A worker thread died: its domains crash and are destroyed; the other workers go on. */
  private workerDied(worker: number, reason: unknown): void {
    if (this.crashed.has(worker) || this.figures[worker]) return;
    this.crashed.add(worker);
    this.crashReasons[worker] = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
    if (this.readyCount < this.workers) this.onBootCrash?.();
    this.ports[worker]?.close();
    for (const [id, ack] of this.acks) {
      if (ack.worker !== worker) continue;
      this.acks.delete(id); // a dead worker answers nothing: the toolstack goes on without it
      ack.done(false);
    }
    for (const [i, d] of this.scenario.domains.entries()) {
      const domid = this.current.get(d.domid)!;
      if (this.hostOf[i] !== worker || this.hv.life(domid) === 'gone') continue;
      this.markAppsFinal(domid);
      this.network?.kernelGone(d.name);
      const actor = this.actors.get(domid)!;
      actor.send({ type: 'CRASH' });
      this.tornDown(domid, () => {
        actor.send({ type: 'DESTROY' });
        actor.send({ type: 'KILL' });
        actor.send({ type: 'TEARDOWN_DONE' });
      });
    }
  }

  /**
   * Resolves with why the run ends: every app done (`idle`), nothing moving (`idle`), or the time
   * limit. Looked at every few milliseconds, and at once when a worker reports (an app's end).
   */
  private untilEnd(startedAt: number): Promise<'idle' | 'until' | 'halted'> {
    const untilMs = this.options.untilMs ?? this.scenario.untilMs ?? Infinity;
    const idleMs = this.options.idleMs ?? 500;
    let lastCount = -1;
    let lastMoveAt = performance.now();
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const check = () => {
        clearTimeout(timer);
        const now = performance.now();
        const end = (why: 'idle' | 'until' | 'halted') => {
          this.onWorkerReport = undefined;
          resolve(why);
        };
        // wall time runs on while the toolstack works: an operation due before the limit (queued
        // behind a slow one, say a restart) still happens before the run ends
        // xenstored exited (R12's bug): the host has no xenstore, and the run ends there
        if (this.xenstored?.exited !== undefined) return end('halted');
        // … unless all that is left of it waits on a libxl timeout the run would not see (`parkPastUntil`)
        if ((now - startedAt) / this.timeScale >= untilMs && this.lanes.settled()) return end('until');
        const count = this.recordCount();
        if (count !== lastCount) {
          lastCount = count;
          lastMoveAt = now;
        }
        // a front end initialising its device (round trips to a back end that may be slow to answer
        // on a loaded machine) moves nothing the records count, yet the run is not idle
        if (this.deviceWork()) lastMoveAt = now;
        const quiet = this.timedLeft === 0 && this.acks.size === 0 && this.actionsLeft === 0 && this.domainStepsLeft === 0;
        // idle is a quiet run in which nothing moved: a timed event that just ended (an unpause, a
        // held-back VIRQ delivered) starts the window afresh
        if (!quiet) lastMoveAt = now;
        const settled = this.xenstored?.settled((domid) => this.runnable(domid)) ?? true;
        if (quiet && settled && this.finalApps.size >= this.scenario.workloads.length && this.finalDevices.size >= this.scenario.devices.length) return end('idle');
        if (quiet && now - lastMoveAt >= idleMs) return end('idle');
        timer = setTimeout(check, 5);
      };
      this.onWorkerReport = check;
      check();
    });
  }

  /**
   * True while a live worker initialises a device (VirtIO-Argo control round trips, answers awaited)
   * or runs a batch of a device's workload (a virtio-mmio vCPU waiting on its device model's answers)
   * and its heartbeat has moved since the last look: a thread stuck there keeps no run alive (the
   * watchdog reports it).
   */
  private deviceWork(): boolean {
    const status = new Int32Array(this.buffers.status);
    let busy = false;
    for (let w = 0; w < this.workers; w++) {
      const beat = Atomics.load(status, w * WS.STRIDE + WS.HEARTBEAT);
      const activity = Atomics.load(status, w * WS.STRIDE + WS.ACTIVITY);
      if (!this.crashed.has(w) && (activity === ACT.DEVICE_INIT || activity === ACT.DEVICE_BATCH) && beat !== this.beats[w]) busy = true;
      this.beats[w] = beat;
    }
    return busy;
  }

  /** What moved so far: records logged, and device batches that moved requests. */
  private recordCount(): number {
    return this.buffers.logs.reduce((n, b) => n + Atomics.load(new Int32Array(b), 0), 0) + Atomics.load(this.control, CTL.DEVICE_PROGRESS);
  }

  private runnable(domid: number): boolean {
    return this.hv.life(domid) === 'alive' && (this.hv.domctl.getInfo(domid).flags & XEN_DOMINF_running) !== 0;
  }

  private summarise(end: 'idle' | 'until' | 'halted', wallMs: number): ParallelRunSummary {
    const records = this.buffers.logs.flatMap((b) => readRunLog(b));
    const states = new Map([...this.actors].map(([domid, a]) => [domid, String(a.getSnapshot().value)]));
    const now = [...this.current.values()];
    const drainable = new Set(now.filter((domid) => this.runnable(domid) && !this.crashed.has(this.workerOf(domid))));
    const policyAllows = scenarioPolicyAllows(this.scenario, (domid) => this.scenarioDomid(domid));
    const flows = checkFlows(records, { policyAllows, drainable: (owner) => end === 'idle' && drainable.has(owner) });
    // monitors xenstore-connect and live-update-survives, judged before the domains go
    const xenbus = this.figures.flatMap((f) => f?.xenbus ?? []);
    const xenstoreConnect = this.xenstored?.violations((domid) => xenbus.find((x) => x.domid === domid)?.written ?? 0, end === 'idle') ?? [];
    const vifs = this.network?.figures(); // read from the store before the domains go
    const leftovers = this.destroyAllAndCheck();
    // a restarted domain's figures are over every domid it has had, as in the deterministic runtime
    const perDomain = (sid: number) => {
      const sum = { sent: 0, received: 0, bytesSent: 0, bytesReceived: 0 };
      for (const [domid, of] of this.sids) {
        const f = of === sid ? flows.perDomain.get(domid) : undefined;
        if (f) for (const k of ['sent', 'received', 'bytesSent', 'bytesReceived'] as const) sum[k] += f[k];
      }
      return sum;
    };
    const hostFigures = (sid: number) => {
      const domid = this.current.get(sid)!;
      return this.figures[this.workerOf(domid)]?.domains.find((d) => d.domid === domid) ?? { virqs: 0, waits: 0 };
    };
    return {
      scenario: this.scenario.name,
      seed: this.seed,
      runtime: 'parallel',
      strategy: `${this.workers} workers, ${this.options.placement ? 'injected' : 'round-robin'} placement${this.timeScale === 1 ? '' : `, ${this.timeScale} s of wall time per scenario second`}`,
      steps: records.length,
      virtualTimeMs: Math.round(wallMs / this.timeScale),
      end,
      messages: flows.messages,
      errors: flows.errors,
      refusedRings: flows.refusedRings,
      faults: { ...this.faultsFired },
      domains: this.scenario.domains.map((d) => {
        const domid = this.current.get(d.domid)!;
        return { name: d.name, domid, state: states.get(domid)!, toolstack: this.toolstack.get(d.domid)!, ...perDomain(d.domid), ...pick(hostFigures(d.domid)) };
      }),
      ...this.deviceFigures(),
      ...(vifs ? { vifs } : {}),
      invariantViolations: [...flows.violations, ...this.figures.flatMap((f) => f?.violations ?? []), ...xenstoreConnect, ...this.teardownViolations, ...leftovers, ...(this.watchdog?.reports ?? []).map((r) => r.message)],
      wallMs: Math.round(wallMs),
      workers: Array.from({ length: this.workers }, (_, w) => {
        const domids = this.scenario.domains.filter((_, i) => this.hostOf[i] === w).map((d) => d.domid);
        const sum = (f: (domid: number) => number) => domids.reduce((n, d) => n + f(d), 0);
        return {
          worker: w,
          threadId: this.figures[w]?.threadId ?? null,
          crashed: this.crashed.has(w),
          ...(this.crashed.has(w) ? { crashReason: this.crashReasons[w] } : {}),
          domains: domids.map((d) => this.scenario.domains.find((s) => s.domid === d)!.name),
          sent: sum((d) => perDomain(d).sent),
          received: sum((d) => perDomain(d).received),
          bytesSent: sum((d) => perDomain(d).bytesSent),
          bytesReceived: sum((d) => perDomain(d).bytesReceived),
          virqs: sum((d) => hostFigures(d).virqs),
          waits: sum((d) => hostFigures(d).waits),
          ...(this.figures[w]?.xenbus.length ? { xenbus: this.figures[w]!.xenbus } : {}),
        };
      }),
      watchdog: [...(this.watchdog?.reports ?? [])],
    };
  }

  /**
   * `devices` and `sharedMappings` as the deterministic summary has them (none without devices): each
   * device's figures from the worker that ran its front end — a worker that died reports none, and
   * its devices are listed as `lost` with what is known (nothing).
   */
  private deviceFigures(): Pick<RunSummary, 'devices' | 'sharedMappings'> {
    if (this.scenario.devices.length === 0) return {};
    const reported = new Map(this.figures.flatMap((f) => f?.devices ?? []).map((d) => [d.name, d]));
    const models = new Map(this.figures.flatMap((f) => f?.mmioBackends ?? []).map((b) => [b.name, b]));
    const devices = this.scenario.devices.map((d): DeviceFigures => {
      const front = reported.get(d.name) ?? { name: d.name, state: 'lost', transport: d.transport, status: 0, requests: 0, completions: 0, errors: 0, bytes: 0, recoveries: 0, sharedMappings: 0, reason: "its front end's worker thread died", xenstoreOps: 0, requestsOk: 0, bytesVerified: 0, abandoned: 0 };
      if (d.transport !== 'mmio') return front;
      // a virtio-mmio device's ioreqs, mappings and status are its device model's, in its own
      // thread (as the deterministic runtime reads them); a device model whose worker died reports none
      const model = models.get(d.name);
      const xenstoreOps = this.mmioXenstoreOps.get(d.name) ?? 0;
      if (!model) return { ...front, xenstoreOps };
      const served = { requests: model.requests, completions: model.requests, errors: model.errors, sharedMappings: model.sharedMappings, xenstoreOps };
      // its front end's thread died, libxl removed the device, or its guest's driver ended with its
      // kernel (a destroy closed the device; a restart's or soft reset's new kernel does not drive
      // it, as in the deterministic runtime): the state is the one the guest's driver last had
      const unserved = 'no device model serves it (not started, or dead)';
      if (front.state === 'lost' || front.state === 'detached' || this.driversEnded.has(d.name)) {
        // a driver that ended before any device model served it says so, as the deterministic runtime's
        const reason = front.reason ?? (model.refused !== null || model.requests === 0 ? unserved : null);
        return { ...front, ...served, status: front.state === 'detached' ? 0 : front.status, reason };
      }
      const s = model.status;
      const state = (s & 64) !== 0 ? 'needsReset' : (s & 128) !== 0 ? 'failed' : (s & 4) !== 0 ? 'driverOk' : 'initialising';
      const reason = model.refused !== null || s === 0 ? unserved : front.reason;
      return { ...front, ...served, state, status: s, reason };
    });
    return { devices, sharedMappings: devices.reduce((n, d) => n + d.sharedMappings, 0) };
  }

  /** After the run: every domain is destroyed; nothing of Argo's may be left (rings, waiters, send-info). */
  private destroyAllAndCheck(): string[] {
    for (const domid of this.current.values()) if (this.hv.life(domid) !== 'gone') this.hv.destroyDomain(domid);
    return leftoverArgoState(this.hv);
  }
}

function pick(f: { virqs: number; waits: number }): { virqs: number; waits: number } {
  return { virqs: f.virqs, waits: f.waits };
}
