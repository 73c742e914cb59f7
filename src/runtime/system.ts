import { Subject, type Observable } from 'rxjs';
import type { AnyActor, InspectionEvent } from 'xstate';
import { createHypervisorActor } from '../../machines/implementations/hypervisor-core.js';
import { createArgoRingActor } from '../../machines/implementations/argo-ring-core.js';
import { createGuestReceiverActor } from '../../machines/implementations/guest-receiver-core.js';
import { createDomainActor } from '../../machines/implementations/domain-core.js';
import { ControlNodes, createToolstackActor, releaseDomainEvent, toolstackWire, xstateClock, type DomainControl } from '../../machines/implementations/toolstack-core.js';
import type { ControlRequest } from '../../machines/toolstack.js';
import { createGuestAppActor } from '../../machines/implementations/guest-app-core.js';
import { messageSize } from '../../machines/guest-app.js';
import type { DomainEvent } from '../../machines/domain.js';
import { npagesRing, XEN_ARGO_DOMID_ANY } from '../argo/constants.js';
import { SHUTDOWN_poweroff, XEN_DOMINF_running } from '../domain/lifecycle.js';
import { ArgoError } from '../guest/argo-error.js';
import { ArgoGuest } from '../guest/argo-guest.js';
import type { ArgoRing } from '../guest/argo-ring.js';
import { platformOf } from '../guest/platform.js';
import type { Scenario, ScenarioDevice, ScenarioDomain, ScenarioFault, ScenarioLifecycleEvent, ScenarioRing, ScenarioWorkload } from '../scenario/schema.js';
import { ERRNO } from '../xen/errno.js';
import { DEFAULT_FLASK_POLICY, parseFlaskPolicy, type FlaskPolicy } from '../xsm/flask-policy.js';
import type { SharedBufferSource } from '../memory/shared-buffers.js';
import { createHypervisor, type HypercallRecord, type Hypervisor, type LifecycleChange } from '../xen/hypervisor.js';
import { lifecycle$ } from '../streams/lifecycle-stream.js';
import { trace$ } from '../streams/trace-stream.js';
import { virq$, type VirqEvent } from '../streams/virq-stream.js';
import { VIRQ_ARGO } from '../xen/virq.js';
import { MessageLedger, type MessageCounts } from './message-ledger.js';
import { SeededRandom } from './random.js';
import type { DomainFigures, RunSummary } from './run-summary.js';
import { Scheduler, type RunEnd } from './scheduler.js';
import { Slab } from './slab.js';
import { argoTransport, DeviceRun, mmioTransport, type RunningDevice, type UnservedRequest, mmioWindow, emulatorValidatesFinding } from './devices.js';
import type { DeviceWorker } from '../virtio/device-worker.js';
import { vqHeadViolation } from '../virtio/vq-head-monitor.js';
import { bridgeFor, NetDeviceRun } from './net-devices.js';
import { hasXenstoreDevices, VifNetwork } from './vif-devices.js';
import type { NetBridge } from '../virtio/net/bridge.js';
import { Xenstore } from '../xenstore/xenstore.js';
import { DeviceTeardown } from './device-teardown.js';
import { createXenstoreActor, XenstoredPort, type XenstoreActor } from '../../machines/implementations/xenstore-core.js';
import { releaseChecked } from './xenstore-leak.js';
import { Dom0lessXenbus } from './dom0less-xenbus.js';
import { PageAllocator } from '../memory/page-allocator.js';
import { dom0lessStorePfn } from '../xenstore/xenstored-ring.js';
import { createIoreq, type Ioreq } from '../ioreq/ioreq.js';
import { ioreqBugsOf } from '../ioreq/host.js';
import { IoreqVcpu } from './ioreq-vcpu.js';
import { deviceModelAlreadyExited, deviceModelStartOf, GuestDeviceModel, halfBuiltDomainLeft, mmioDevicesOf } from './device-model-start.js';
import { LIVE_UPDATE_MS, XenstoredConnections, liveUpdateExited } from './xenstored-connections.js';
import { installArgoFirewall } from '../xsm/argo-firewall.js';
import { randomStrategy } from './strategies/random.js';
import type { Strategy } from './strategy.js';

/** Options of `createSystem`. */
export interface SystemOptions {
  /** Seed of the strategy and of the workloads' payloads (default: the scenario's). */
  seed?: number;
  /** Default: seeded random. */
  strategy?: Strategy;
  /** Virtual time limit in ms (default: the scenario's `until`, else none). */
  untilMs?: number;
  /** Step limit (default 1 000 000). */
  maxSteps?: number;
  /**
   * Attach XState inspection to every actor and publish its events on `inspection$` — and to the
   * given function, which also sees the actors' boot (default off: inspection costs on every actor
   * event).
   */
  inspect?: boolean | ((event: InspectionEvent) => void);
  /**
   * Keep `scheduler.trace`, a record of every step (default true). The explorer's schedules keep only
   * their choices, which replay them.
   */
  record?: boolean;
  /**
   * Where the hypervisor's shared tables and guest memories come from (default: fresh buffers); an
   * exploration hands every schedule's host the same pooled ones (`SharedBufferPool`).
   */
  buffers?: SharedBufferSource;
}

/** A sample of the run's progress on `metrics$`. */
export interface RunMetrics {
  steps: number;
  virtualTimeMs: number;
  /** Scheduling points waiting. */
  pending: number;
  messages: MessageCounts;
}

/**
 * One actor of a running system (see `ArgosimSystem.actors`).
 *
 * @example
 * ```ts
 * const { id, kind, machine, actor } = system.actors()[0]; // 'domain:dom0', 'domain', 'domain', …
 * ```
 */
export interface SystemActor {
  /** Stable within a run: `hypervisor`, `domain:<name>`, `ring:<owner>:<port>:<partner domid|any>`, `app:<workload>`, `toolstack:<name>`. */
  id: string;
  kind: 'hypervisor' | 'domain' | 'ring' | 'app' | 'toolstack' | 'device' | 'xenstore';
  /** The domain it belongs to (a ring's owner, an app's sender; '' for the hypervisor). */
  domain: string;
  /** The id of the machine it runs: `hypervisor`, `domain`, `argoRing`, `guestApp`, `toolstack`. */
  machine: string;
  /** The actor; `actor.logic` is its machine. */
  actor: AnyActor;
}

/** A registered ring: the guest's view for consuming, and its actor. */
interface RingHost {
  ring: ArgoRing;
  actor: ReturnType<typeof createArgoRingActor>;
  /** The ledger's name for it: `domid:port`. */
  key: string;
  /** The guest application receiving on it (`guestReceiverMachine`). */
  receiver: ReturnType<typeof createGuestReceiverActor>;
}

type Occupancy = 'empty' | 'holdingData' | 'fullWithWaiters';

/** The occupancy a ring actor last heard of: its `registered` substate. */
function reportedOccupancy(r: RingHost): Occupancy | undefined {
  const value = r.actor.getSnapshot().value;
  return typeof value === 'object' && 'registered' in value ? (value.registered as Occupancy) : undefined;
}

interface DomainHost extends DomainFigures {
  name: string;
  /** This incarnation's domid (a restart gives the domain a new one, as xl does). */
  domid: number;
  /** 0 for the domain the scenario boots, then one more for each new domain of this name. */
  incarnation: number;
  actor: ReturnType<typeof createDomainActor>;
  /** The guest kernel's Argo library (replaced when the domain is soft-reset). */
  guest: ArgoGuest;
  rings: RingHost[];
  /** Work that waits for the domain to run again (paused, shut down). */
  deferred: Array<() => void>;
  /**
   * vCPU work that waits only for an unpause, not for the domain to be running: an ioreq completion
   * runs while the domain shuts down (the vCPU holds its shutdown deferral, §5.5).
   */
  deferredVcpu: Array<() => void>;
  virqScheduled: boolean;
}

/**
 * A workload: the guest-application actor of its sending domain's running kernel, and what the
 * runtime knows of it. A new kernel (soft reset, restart, create) runs a new actor for the messages
 * the workload has not dealt with yet.
 */
interface AppRun {
  spec: ScenarioWorkload;
  actor: ReturnType<typeof createGuestAppActor>;
  /** Where this actor sends: the destination's domid when it started. */
  dst: { domid: number; aport: number };
  /** The destination's incarnation when it started: the domain it means to reach. */
  dstIncarnation: number;
  /** Messages dealt with by earlier actors of the workload: this actor's message `seq` is `base + seq`. */
  base: number;
  sizes: number[];
  rng: SeededRandom;
  payloads: Map<number, Uint8Array>;
  /** Refusals of this actor already accounted for, by errno name. */
  refusedSeen: Record<string, number>;
  /** The message the next SEND slot was scheduled for (paced apps). */
  slotFor: number;
  /** The ring (its registration) this app's last EAGAIN queued a space-wait on. */
  waitingOn?: RingHost | undefined;
}

/** A scenario domain's toolstack (libxl for that configuration), and the @releaseDomain watch's state. */
interface ToolstackRun {
  name: string;
  actor: ReturnType<typeof createToolstackActor>;
  /** A @releaseDomain delivery waits for it (watch firings coalesce). */
  releasePending: boolean;
  /** A `stall` fault's unpause, waiting for the next timer this toolstack arms. */
  stalled?: () => void;
  /** Cancels the stall's own end (`delay`) once a toolstack timeout will end it. */
  stallFallback?: () => void;
}

const STEPS_MAX_DEFAULT = 1_000_000;
/** The shortest toolstack timer a `stall` waits for: libxl's operation timeouts, not its ticks. */
const STALL_TIMEOUT_MIN_MS = 1000;
/** How often `run` reports progress. */
export const PROGRESS_STEPS = 1000;

/**
 * A running argosim system in the deterministic runtime: the hypervisor, one domain actor per
 * domain, the guests, and the scenario's workloads, lifecycle operations and faults — every one of
 * them a scheduling point of one seeded scheduler, so a (scenario, seed) pair gives one run, step
 * for step. The runtime checks the message invariants itself (`MessageLedger`).
 *
 * @example
 * ```ts
 * const system = createSystem(loadScenario('scenarios/default.yaml'), { seed: 7 });
 * const summary = system.run();
 * summary.messages.delivered; summary.invariantViolations; // []
 * ```
 */
export class ArgosimSystem {
  readonly hv: Hypervisor;
  readonly scheduler: Scheduler;
  readonly seed: number;
  readonly domains = new Map<string, DomainHost>();
  /** The host's actor (`hypervisorMachine`): boot options and the domain table as the core reports them. */
  readonly host: ReturnType<typeof createHypervisorActor>;
  /** A VIRQ_DOM_EXC delivery to the host actor waits (they coalesce, as a VIRQ does). */
  private domExcPending = false;
  /** XState inspection events of every actor (only with `inspect: true`). */
  readonly inspection$ = new Subject<InspectionEvent>();
  /** Progress samples, one every `PROGRESS_STEPS` steps and one at the end. */
  readonly metrics$ = new Subject<RunMetrics>();
  /** Hypercalls (decoded), VIRQ upcalls and domain state changes, stamped with virtual time. */
  readonly trace$: Observable<HypercallRecord & { atMs: number }>;
  readonly virq$: Observable<VirqEvent>;
  readonly lifecycle$: Observable<LifecycleChange & { atMs: number }>;
  private readonly ledger = new MessageLedger();
  /** Workload payloads are carved from here (see `Slab`). */
  private readonly slab = new Slab();
  private readonly errors: Record<string, number> = {};
  private readonly refusedRings: Record<string, number> = {};
  /** Faults that hit a live domain, by kind (a fault on a domain already gone does nothing). */
  private readonly faultsFired: Record<string, number> = {};
  /** The domains xenstored is connected to, which a live update re-connects (R12). */
  private readonly xsConnections = new XenstoredConnections();
  private readonly apps: AppRun[] = [];
  private readonly devices: RunningDevice[] = [];
  /** The scenario's PV vifs (`vifs[]`) and xl devd in their driver domains. */
  private readonly network: VifNetwork;
  /** virtio-net bridges, by back-end domain and name. */
  private readonly bridges = new Map<string, NetBridge>();
  /** Xen's IOREQ servers, built when a device needs them (virtio-mmio). */
  private ioreq: Ioreq | undefined;
  /** The device model of each guest with virtio-mmio devices, by scenario name (lifecycle §6.4 create step 4). */
  private readonly deviceModels = new Map<string, GuestDeviceModel>();
  /** Devices started: attached once their guest's device model (if any) confirmed its start. */
  private readonly devicesStarted = new WeakSet<RunningDevice>();
  /** Device starts waiting for their guest's device model to confirm its start, by guest name. */
  private readonly waitingForDm = new Map<string, Array<{ domid: number; start: () => void }>>();
  /** Devices with a batch of their workload scheduled (or deferred while their guest is paused). */
  private readonly batchPending = new Set<RunningDevice>();
  /** virtio-mmio devices by `front end:SPI`, for the interrupts their device models raise. */
  private readonly mmioIrqs = new Map<string, DeviceRun>();
  /** vCPU 0 of each guest with virtio-mmio devices, by scenario name. */
  private readonly ioreqVcpus = new Map<string, IoreqVcpu>();
  private ended: RunEnd | undefined;
  private summary: RunSummary | undefined;
  private readonly byDomid = new Map<number, DomainHost>();
  /** Every domid a scenario domain has had, to its name. */
  private readonly nameOf = new Map<number, string>();
  private readonly toolstacks = new Map<string, ToolstackRun>();
  /** The control/shutdown request each domain's guest acknowledged last (monitor ack-honoured). */
  private readonly acknowledged = new Map<number, ControlRequest>();
  /** Domains a toolstack destroys in the step running now (its domctls run right after it). */
  private readonly destroying = new Set<number>();
  /** Domctls the toolstacks made in the step running now (see `toolstackDoes`). */
  private readonly domctls: Array<() => void> = [];
  /** xenstored's store (control/shutdown, device nodes), every operation counted: what monitors and tests read. */
  readonly xenstore: Xenstore;
  /** xenstored as an actor (`xenstoreMachine`): every client's request is an event to it. */
  readonly xenstored: XenstoreActor;
  /** The clients' way to xenstored: through its actor. */
  private readonly xs: XenstoredPort;
  /** xenstore's control/shutdown nodes, watched by the guests and the toolstacks. */
  private readonly controlNodes: ControlNodes;
  /** libxl's device removal at destroy, and its monitors dead-backend-wait and device-teardown (R9, R10). */
  private readonly teardown: DeviceTeardown;
  /** Each dom0less guest's domid as Xen built it at boot (a restart is an ordinary libxl domain). */
  private readonly bootedDom0less = new Map<string, number>();
  /** The xenstore connections of the dom0less guests (lifecycle §6.7 R11). */
  private readonly dom0less: Dom0lessXenbus[] = [];
  /** True while the constructor boots the scenario: guests start at once, not as scheduling points. */
  private booting = true;
  private readonly policyDecisions = new Map<number, boolean>();

  constructor(
    readonly scenario: Scenario,
    private readonly options: SystemOptions = {},
  ) {
    this.seed = options.seed ?? scenario.seed;
    this.scheduler = new Scheduler({ strategy: options.strategy ?? randomStrategy(this.seed), record: options.record });
    this.xenstore = new Xenstore(undefined, { deadDomainNodesToDom0: scenario.bugs.deadDomainNodesToDom0 });
    this.xenstored = createXenstoreActor({ store: this.xenstore, unwatch: new Map() }, { inspect: this.inspector() }).start();
    this.xs = new XenstoredPort(this.xenstored, this.xenstore);
    this.controlNodes = new ControlNodes(this.xs);
    this.teardown = this.deviceTeardown();
    this.network = this.vifNetwork();
    this.hv = createHypervisor({
      build: { argo: scenario.build.ARGO },
      argo: { enabled: scenario.boot.argo, macPermissive: scenario.boot.macPermissive },
      xsm: scenario.xsm.mode === 'flask' ? { mode: 'flask', policy: scenario.xsm.policy ?? undefined, enforcing: scenario.xsm.enforcing } : { mode: scenario.xsm.mode },
      quirks: scenario.quirks,
      bugs: scenario.bugs,
      openxt: scenario.openxt,
      // twice the scenario's domains: room for restarts while old domids are still being reaped
      maxDomains: Math.max(8, scenario.domains.length * 2),
      gfnArenaPages: gfnArenaPagesFor(scenario),
    }, options.buffers);
    // the host itself: its boot options and the domain table, re-read on every VIRQ_DOM_EXC
    this.host = createHypervisorActor({ hv: this.hv, onRefused: () => {} }, { inspect: this.inspector() }).start();
    this.trace$ = trace$(this.hv, this.scheduler);
    this.virq$ = virq$(this.hv, this.scheduler);
    this.lifecycle$ = lifecycle$(this.hv, this.scheduler);
    this.hv.onVirq((domid, virq) => {
      if (virq === VIRQ_ARGO) this.onArgoVirq(domid);
    });
    this.hv.onLifecycle(({ domid, change, reason }) => {
      if (change === 'created' || change === 'shutdown' || change === 'dying' || change === 'dead' || change === 'soft_reset') this.domainException();
      if (change === 'created') {
        this.xsConnections.introduced(domid);
        this.xs.domainEvent({ type: 'INTRODUCE', domid });
      }
      if (change === 'dead') {
        this.xsConnections.released(domid);
        // monitor xenstore-leak (lifecycle §6.7 R19): nothing the dead domain owned survives it
        releaseChecked(this.xenstore, domid, this.nameOf.get(domid) ?? String(domid), (what) => this.violate(what), () => this.xs.domainEvent({ type: 'RELEASE', domid }));
      }
      if (change === 'unpaused' || change === 'resumed' || change === 'soft_reset') this.runDeferred(domid);
      // a shutdown completed by a vCPU ending its deferral outside the domain's actor (an ioreq
      // completion, §5.5): the actor re-reads the domain's state
      if (change === 'shutdown') {
        const host = this.byDomid.get(domid);
        if (host?.actor.getSnapshot().matches('shuttingDown')) host.actor.send({ type: 'VCPUS_STOPPED' });
        // a guest's power-off reaches its device model (R13)
        if (host && reason === SHUTDOWN_poweroff) this.deviceModels.get(host.name)?.guestPoweredOff(domid);
      }
      // xenstored fires @releaseDomain when a domain shuts down or dies (lifecycle §6.4)
      if (change === 'shutdown' || change === 'dying') this.releaseDomain(domid);
    });
    this.controlNodes.watch({
      written: (domid, request) => {
        this.acknowledged.delete(domid);
        this.controlRequested(domid, request);
      },
      acknowledged: (domid, request) => {
        this.acknowledged.set(domid, request);
        this.controlAcknowledged(domid);
      },
    });
    const seeds = new SeededRandom(this.seed);
    if (scenario.firewall !== null) installArgoFirewall(this.hv, scenario.firewall);
    // xl create of every domain before time starts; their kernels register the scenario's rings,
    // then the workloads start
    for (const spec of scenario.domains) this.startToolstack(spec);
    for (const ring of scenario.rings) this.registerRing(ring);
    for (const spec of scenario.workloads) this.startApp(spec, new SeededRandom(seeds.int(0, 0x7fffffff)));
    for (const spec of scenario.devices) this.startDevice(spec, new SeededRandom(seeds.int(0, 0x7fffffff)));
    this.network.start();
    this.booting = false;
    // dom0's init-dom0less introduces the guests Xen built at boot to xenstored (R11)
    for (const spec of scenario.domains) {
      if (!spec.dom0less) continue;
      const xb = this.dom0lessXenbus(spec.name);
      xb.built(); // Xen built it with its xenstore port
      xb.boot();
    }
    for (const event of scenario.lifecycle) this.scheduleLifecycle(event);
    for (const fault of scenario.faults) this.scheduleFault(fault, seeds);
  }

  /**
   * Runs to the end (everything done, the time limit, or the step limit) and reports. `onProgress`
   * is called every `PROGRESS_STEPS` steps with the steps taken and the virtual time.
   */
  run(onProgress?: (steps: number, virtualTimeMs: number) => void): RunSummary {
    while (this.advance(PROGRESS_STEPS) === 'more') onProgress?.(this.scheduler.stepCount, this.scheduler.now());
    onProgress?.(this.scheduler.stepCount, this.scheduler.now());
    return this.finish();
  }

  /**
   * Takes at most `steps` scheduling points, within the run's time and step limits — for a driver
   * that runs the system a little at a time (an inspector's step and pause). Returns `more` while
   * there is more to run, else why the run is over: `idle` (nothing waits), `until` (the time
   * limit), `maxSteps`. Then call `finish`.
   *
   * @example
   * ```ts
   * while (system.advance(1) === 'more') render(system.actors());
   * const summary = system.finish();
   * ```
   */
  advance(steps = 1): RunEnd | 'more' {
    if (this.ended) return this.ended;
    const untilMs = this.options.untilMs ?? this.scenario.untilMs ?? Infinity;
    const maxSteps = this.options.maxSteps ?? STEPS_MAX_DEFAULT;
    const left = maxSteps - this.scheduler.stepCount;
    const end = left <= 0 ? 'maxSteps' : this.scheduler.run({ untilMs, maxSteps: Math.min(steps, left) });
    if (this.metrics$.observed) {
      this.metrics$.next({ steps: this.scheduler.stepCount, virtualTimeMs: this.scheduler.now(), pending: this.scheduler.pending, messages: { ...this.ledger.counts } });
    }
    if (end !== 'maxSteps' || this.scheduler.stepCount >= maxSteps) return (this.ended = end);
    return 'more';
  }

  /**
   * Ends the run and reports: what is still in flight is settled (lost; a violation if its ring
   * should have been drained: the run went idle and the owner runs). Further calls return the same
   * summary.
   */
  finish(): RunSummary {
    if (this.summary) return this.summary;
    const end = this.ended ?? 'maxSteps';
    this.ended = end;
    this.ledger.settle((ring) => end === 'idle' && this.drainable(ring));
    if (end === 'idle') this.checkLiveness();
    // xenstored's own failures (a bug of the model) whatever the end; at idle checkLiveness has them
    else for (const xb of this.dom0less) if (xb.failure() !== undefined) this.ledger.violations.push(`end: ${xb.failure()}`);
    return (this.summary = this.summarise(end));
  }

  /**
   * Liveness monitors, judged when the run went idle — nothing is left to happen, so a hot state
   * now is one it stays in forever:
   *
   * * `blocked-sender`: an application of a domain that runs waits for space on a ring — the
   *   registration it queued its space-wait on — that still exists and whose owner runs (argo.md
   *   §6.3: the owner's notify after consuming wakes every waiter that fits). A sender waiting on a
   *   ring that was torn down is not counted: Xen tells nobody (§6.2), a known limit; nor is one whose
   *   own domain stays suspended or paused: its wake-up waits for it.
   * * `shutdown-completes`: a domain stays in shutdown IN_PROGRESS (lifecycle §6.3: the last vCPU's
   *   deferral ends it) — unless a vCPU of it waits on a dead device model's ioreq server (R5).
   * * `ao-completes`: a toolstack operation is still in flight (lifecycle §6.4: every ao ends, with
   *   a result, by its own progress or its timeout).
   * * `xenstore-connect`: a dom0less guest wrote a request to its xenstore ring that xenstored never
   *   answered (lifecycle §6.7 R11: its xenbus waits for ever).
   */
  private checkLiveness(): void {
    for (const app of this.apps) {
      const snapshot = app.actor.getSnapshot();
      if (snapshot.status !== 'active' || snapshot.value !== 'blocked') continue;
      const target = this.ringFor(this.domains.get(app.spec.from)!.domid, app.dst.domid, app.dst.aport);
      // a wait queued on a registration since torn down (a soft reset, an unregister, then the ring
      // registered again) went with it: Xen tells nobody (§6.2), the same known limit
      // … and only a sender that could run: one whose domain stays suspended or paused is frozen, not starved
      if (target && target.ring === app.waitingOn && this.runnable(target.owner) && this.runnable(this.domains.get(app.spec.from)!)) {
        this.ledger.violations.push(
          `end: blocked-sender: ${app.spec.name} (domain ${app.spec.from}) waits forever for space on ring ${target.ring.key} of running domain ${target.owner.name}`,
        );
      }
    }
    for (const xb of this.dom0less) {
      const unanswered = xb.unanswered();
      if (unanswered !== null) this.ledger.violations.push(`end: ${unanswered}`);
    }
    for (const ts of this.toolstacks.values()) {
      const snapshot = ts.actor.getSnapshot();
      // a create waiting for its device model has its timeout pending: a create still in flight now hangs
      if ((snapshot.matches('active') && !snapshot.matches({ active: { ao: 'idle' } })) || snapshot.matches('creating')) {
        this.ledger.violations.push(`end: ao-completes: domain ${ts.name}'s toolstack operation is still in flight (${JSON.stringify(snapshot.value)}), with nothing left to end it`);
      }
    }
    for (const host of this.domains.values()) {
      // R5 (ccb42e0ca6): a vCPU waiting on a dead device model's server holds its shutdown deferral
      // until the domain is destroyed — Xen's known limit, like a sender on a torn-down ring
      if (this.ioreq?.waitsOnDeadEmulator(host.domid)) continue;
      if (host.actor.getSnapshot().matches('shuttingDown')) {
        this.ledger.violations.push(`end: shutdown-completes: domain ${host.name} (${host.domid}) stays shutting down`);
      }
    }
  }

  /**
   * Every actor of the system now: domains, rings and guest applications, with the kind and the
   * machine each runs — what an inspector lists.
   *
   * @example
   * ```ts
   * system.actors().filter((a) => a.kind === 'ring').map((a) => a.actor.getSnapshot().value);
   * ```
   */
  actors(): SystemActor[] {
    const out: SystemActor[] = [{ id: 'hypervisor', kind: 'hypervisor', domain: '', machine: 'hypervisor', actor: this.host }];
    out.push({ id: 'xenstored', kind: 'xenstore', domain: this.nameOf.get(0) ?? 'dom0', machine: 'xenstore', actor: this.xenstored });
    for (const host of this.domains.values()) {
      out.push({ id: `domain:${host.name}`, kind: 'domain', domain: host.name, machine: 'domain', actor: host.actor });
      for (const r of host.rings) {
        const partner = r.ring.partner === XEN_ARGO_DOMID_ANY ? 'any' : String(r.ring.partner);
        out.push({ id: `ring:${host.name}:${r.ring.aport}:${partner}`, kind: 'ring', domain: host.name, machine: 'argoRing', actor: r.actor });
        out.push({ id: `receiver:${host.name}:${r.ring.aport}:${partner}`, kind: 'app', domain: host.name, machine: 'guestReceiver', actor: r.receiver });
      }
    }
    for (const ts of this.toolstacks.values()) {
      out.push({ id: `toolstack:${ts.name}`, kind: 'toolstack', domain: ts.name, machine: 'toolstack', actor: ts.actor });
    }
    for (const run of this.devices) {
      for (const [end, actor] of run.actors()) {
        out.push({ id: `device:${run.spec.name}:${end}`, kind: 'device', domain: end === 'frontend' ? run.spec.frontend : run.spec.backend, machine: 'virtioDevice', actor });
      }
    }
    for (const app of this.apps) {
      if (app.actor.getSnapshot().status !== 'stopped') {
        out.push({ id: `app:${app.spec.name}`, kind: 'app', domain: app.spec.from, machine: 'guestApp', actor: app.actor });
      }
    }
    return out;
  }

  private summarise(end: RunEnd): RunSummary {
    return {
      scenario: this.scenario.name,
      seed: this.seed,
      runtime: 'deterministic',
      strategy: this.scheduler.strategy.name,
      steps: this.scheduler.stepCount,
      virtualTimeMs: this.scheduler.now(),
      end,
      messages: { ...this.ledger.counts },
      errors: { ...this.errors },
      refusedRings: { ...this.refusedRings },
      faults: { ...this.faultsFired },
      domains: [...this.domains.values()].map((d) => ({
        name: d.name,
        domid: d.domid,
        state: String(d.actor.getSnapshot().value),
        toolstack: this.toolstacks.get(d.name)!.actor.getSnapshot().context.results.map((r) => `${r.op} ${r.result}`),
        sent: d.sent,
        received: d.received,
        bytesSent: d.bytesSent,
        bytesReceived: d.bytesReceived,
        waits: d.waits,
        virqs: d.virqs,
      })),
      ...(this.devices.length > 0
        ? { devices: this.devices.map((d) => d.figures()), sharedMappings: this.devices.reduce((n, d) => n + d.figures().sharedMappings, 0) }
        : {}),
      ...(this.network.size > 0 ? { vifs: this.network.figures() } : {}),
      invariantViolations: [...this.ledger.violations],
    };
  }

  /** The inspect callback actors get, or undefined when inspection is off. */
  private inspector(): ((event: InspectionEvent) => void) | undefined {
    const option = this.options.inspect;
    if (!option) return undefined;
    const forward = typeof option === 'function' ? option : undefined;
    return (event) => {
      forward?.(event);
      // an actor event makes several inspection events: with no one subscribed (an exploration's
      // coverage), skip the Subject's work for each
      if (this.inspection$.observed) this.inspection$.next(event);
    };
  }

  /**
   * The toolstack of a scenario domain (libxl, with its timeouts on the scheduler's clock): its
   * domctls go through the domain's actor, and `xl create` builds the domain now.
   */
  private startToolstack(spec: ScenarioDomain): void {
    const later = (op: (domid: number) => void) => (domid: number) => void this.domctls.push(() => op(domid));
    const control: DomainControl = {
      make: later((domid) => this.makeDomain(spec, domid)),
      pause: later((domid) => this.domainEvent(domid, { type: 'PAUSE' })),
      unpause: later((domid) => this.domainEvent(domid, { type: 'UNPAUSE' })),
      resume: later((domid) => this.domainEvent(domid, { type: 'RESUME' })),
      suspend: later((domid) => this.domainEvent(domid, { type: 'SHUTDOWN', reason: 'suspend' })),
      softReset: later((domid) => {
        const host = this.byDomid.get(domid);
        if (!host) return;
        host.actor.send({ type: 'SOFT_RESET' });
        this.afterSoftReset(host);
      }),
      destroy: (domid) => {
        this.teardown.destroyed(spec.name, domid); // monitor device-teardown (R10)
        this.destroying.add(domid); // gone for the toolstack's next domid allocation, in this same step
        this.domctls.push(() => {
          this.destroying.delete(domid);
          const host = this.byDomid.get(domid);
          if (host) this.destroy(host);
        });
      },
      inUse: (domid) => this.hv.life(domid) !== 'gone' && !this.destroying.has(domid),
    };
    // the toolstack's timers fire as scheduling points; its domctls are made when each has run
    const clock = xstateClock({ now: () => this.scheduler.now(), setTimer: (ms, fn) => this.toolstackTimer(spec.name, ms, fn) });
    const wire = toolstackWire(this.hv, {
      control,
      controlNodes: this.controlNodes,
      ackWithoutTransaction: this.scenario.bugs.suspendAckLostOnTimeout,
      reuseWithoutQuarantine: this.scenario.bugs.domidReuseWithoutQuarantine,
      deviceModel: this.deviceModelFor(spec.name),
      devices: this.teardown.removalFor(spec.name),
      waitForDeadBackend: this.scenario.bugs.deadBackendWaitsForClosed,
    });
    const actor = createToolstackActor(wire, {
      // a guest with virtio-mmio devices has a device model to start (lifecycle §6.4 create step 4)
      input: { domid: spec.domid, deviceModel: this.deviceModels.has(spec.name), halfBuiltDomainKept: this.scenario.bugs.halfBuiltDomainKept, devices: hasXenstoreDevices(this.scenario, spec.name), pvControl: spec.pvControl, autoUnpause: true, onShutdown: spec.onShutdown },
      clock,
      inspect: this.inspector(),
    }).start();
    this.toolstacks.set(spec.name, { name: spec.name, actor, releasePending: false });
    let seen = 0;
    let stepsSeen = 0;
    actor.subscribe((snapshot) => {
      const { results, domid, steps } = snapshot.context;
      for (; stepsSeen < steps.length; stepsSeen++) {
        // monitor dead-backend-wait (R9, §7 case 44)
        if (steps[stepsSeen] === 'devices: timed out, forced' && domid !== null) this.teardown.timedOut(spec.name, domid);
        // monitor destroy-clean (R13): the device model of a domain that was created is there for the destroy to kill
        if (steps[stepsSeen] === 'device model: already exited' && snapshot.context.destroyCause !== 'createFailed') {
          this.violate(deviceModelAlreadyExited(spec.name, domid));
        }
      }
      for (; seen < results.length; seen++) {
        this.checkAckHonoured(spec.name, domid, results[seen]);
        // after the domctls of this step (the half-built domain's destroy among them)
        if (results[seen].op === 'create' && results[seen].result === 'ERROR_FAIL') this.domctls.push(() => this.checkCreateCleanedUp(spec, domid));
      }
    });
    this.toolstackDoes(() => actor.send({ type: 'CREATE', domid: spec.domid }));
  }

  /**
   * A timer of `name`'s toolstack (libxl's): a scheduling point `ms` from now, after which the domctls
   * it made are made. A stalled guest gets the CPU back as one of libxl's operation timeouts
   * (LIBXL_*_TIMEOUT, 10 s and more; not a sub-second tick) falls due: its answer races that timeout.
   */
  private toolstackTimer(name: string, ms: number, fn: () => void): () => void {
    const ts = this.toolstacks.get(name);
    const unstall = ts?.stalled;
    if (ts && unstall && ms >= STALL_TIMEOUT_MIN_MS) {
      ts.stalled = undefined;
      ts.stallFallback?.();
      this.scheduler.schedule({ kind: 'fault', actor: name, label: 'stall ends', delayMs: ms, run: unstall });
    }
    return this.scheduler.setTimer(ms, () => this.toolstackDoes(fn));
  }

  /**
   * Runs a step of a toolstack actor (an event, or a timer), then the domctls it made, in order.
   * The toolstack's actions queue them rather than make them: a domctl may create or stop other
   * actors (domain_make creates the domain's actor), which XState wants done outside an actor's
   * action. Nothing else runs in between, so to every other actor they are made in that step.
   */
  private toolstackDoes(step: () => void): void {
    step();
    for (let op = this.domctls.shift(); op; op = this.domctls.shift()) op();
  }

  /**
   * domain_make for the toolstack: a domain actor creates the domain (paused) with a guest library;
   * its kernel starts when it first runs — registering its scenario rings and going on with its
   * workloads — or, while the scenario boots, right away (see the constructor).
   */
  private makeDomain(spec: ScenarioDomain, domid: number): void {
    if (spec.dom0less && this.booting) this.bootedDom0less.set(spec.name, domid); // built by Xen at boot
    const options = { memoryBytes: spec.memoryBytes, label: spec.label, control: spec.control, vcpus: spec.vcpus, compat: spec.compat };
    const actor = createDomainActor({ hv: this.hv, domid, options }, { input: { domid }, inspect: this.inspector() }).start();
    actor.send({ type: 'CREATE' });
    const host: DomainHost = {
      name: spec.name,
      domid,
      incarnation: 0,
      actor,
      guest: new ArgoGuest(platformOf(this.hv, domid), this.kernelOptions(spec.name, domid)),
      rings: [],
      deferred: [],
      deferredVcpu: [],
      virqScheduled: false,
      sent: 0,
      received: 0,
      bytesSent: 0,
      bytesReceived: 0,
      waits: 0,
      virqs: 0,
    };
    const before = this.domains.get(spec.name);
    host.incarnation = before ? before.incarnation + 1 : 0;
    if (before) {
      // a new incarnation: the figures are the domain's over the whole run
      for (const k of ['sent', 'received', 'bytesSent', 'bytesReceived', 'waits', 'virqs'] as const) host[k] = before[k];
    }
    this.domains.set(spec.name, host);
    this.byDomid.set(domid, host);
    this.nameOf.set(domid, spec.name);
    if (!this.booting) host.deferred.push(() => this.startKernel(host)); // runs as a scheduling point once unpaused
    // libxl adds a new incarnation's vifs as it creates it (domcreate_attach_devices)
    if (!this.booting) this.network.created(spec.name);
  }

  /**
   * The guest library's options for a kernel of `spec` as `domid`: a guest Xen built at boot
   * (dom0less, its first domid) keeps its last page for its xenstore page (`dom0lessStorePfn`).
   */
  private kernelOptions(name: string, domid: number): { pages?: PageAllocator } {
    if (this.bootedDom0less.get(name) !== domid) return {};
    return { pages: new PageAllocator(dom0lessStorePfn(this.hv.domain(domid)!.memory.pages)) };
  }

  /**
   * A domain's kernel starts: it registers the domain's scenario rings and goes on with its
   * workloads; a device back end it serves starts again, and the device's front end re-initialises.
   */
  private startKernel(host: DomainHost): void {
    if (!this.booting) this.network.kernelUp(host.name, host.domid); // a driver domain's init starts xl devd again (at boot: `network.start`)
    for (const ring of this.scenario.rings.filter((r) => r.owner === host.name)) this.registerRing(ring);
    for (const app of this.apps) if (app.spec.from === host.name) this.resumeApp(app);
    for (const run of this.devices) {
      // a device still waiting for its guest's device model was never attached: nothing to bring up
      if (run.spec.backend !== host.name || !this.devicesStarted.has(run)) continue;
      // nor for a front end its toolstack is destroying: libxl's device removal has already listed
      // the guest's devices, and a back end attached now would outlive it (found by exploring r19)
      const fe = this.domains.get(run.spec.frontend);
      if (!fe || this.hv.life(fe.domid) !== 'alive' || this.toolstacks.get(fe.name)?.actor.getSnapshot().matches('destroying')) continue;
      run.backendUp({ domid: host.domid, guest: host.guest });
      this.scheduleDeviceBatch(run, 0);
    }
  }

  /**
   * A scenario device (docs/scenarios.md `devices[]`): the VirtIO-Argo device between its domains,
   * initialised now; then the guest's block workload as scheduling points of its front end's domain.
   */
  private startDevice(spec: ScenarioDevice, rng: SeededRandom): void {
    const fe = this.domains.get(spec.frontend)!;
    const be = this.domains.get(spec.backend)!;
    const violate = (what: string) => this.ledger.violations.push(`${this.scheduler.now()}ms: ${what}`);
    const ends = [{ domid: fe.domid, guest: fe.guest }, { domid: be.domid, guest: be.guest }] as const;
    if (spec.type === 'virtio-net') {
      const run = NetDeviceRun.inThread(spec, this.hv, ...ends, bridgeFor(this.bridges, spec.backend, spec.bridge), rng, violate);
      this.devices.push(run);
      run.start();
      return this.scheduleDeviceBatch(run, spec.startMs);
    }
    let transport;
    const { base, irq } = mmioWindow(this.scenario.devices, spec); // libxl's slot: its window and its SPI (§5.10)
    if (spec.transport === 'mmio') {
      const ioreq = this.ioreqHost();
      const serve = (backend: string, label: string, delayMs: number, work: () => void) =>
        this.scheduler.schedule({ kind: 'guest', actor: backend, label, delayMs, run: () => this.asGuest(this.domains.get(backend)!, work) });
      transport = mmioTransport(ioreq, this.xs, spec, ...ends, base, {
        vcpu: this.ioreqVcpu(fe),
        serve,
        irq,
        worker: (current) => this.deviceWorker(spec, current),
        skipsRangeCheck: this.scenario.bugs.emulatorSkipsRangeCheck,
        unserved: (r) => this.unservedRequest(r),
        now: () => this.scheduler.now(),
        asGuest: (work) => this.asGuest(this.domains.get(spec.frontend)!, work),
      });
    } else transport = argoTransport(this.hv, spec, ...ends);
    const run = new DeviceRun(spec, transport, rng, violate);
    if (spec.transport === 'mmio') this.mmioIrqs.set(`${spec.frontend}:${irq}`, run);
    this.devices.push(run);
    this.whenDeviceModelUp(spec.frontend, () => {
      // its back end comes up, and the guest's driver probes it, once the guest runs: a guest with a
      // device model runs only after its `cont` (lifecycle §6.4 unpause)
      this.asGuest(this.domains.get(spec.frontend)!, () => {
        this.devicesStarted.add(run);
        run.start();
        this.scheduleDeviceBatch(run, spec.startMs);
      });
    });
  }

  /**
   * The device model of a guest with virtio-mmio devices (`GuestDeviceModel`), made once for its
   * toolstack; undefined for a guest without: libxl spawns none.
   */
  private deviceModelFor(name: string): GuestDeviceModel | undefined {
    const devices = mmioDevicesOf(this.scenario, name);
    if (devices.length === 0) return undefined;
    const backend = devices[0].backend;
    const bugs = { qmpDisconnectBeforeReply: this.scenario.bugs.qmpDisconnectBeforeReply, qemuExitsOnGuestPoweroff: this.scenario.bugs.qemuExitsOnGuestPoweroff };
    const dm = new GuestDeviceModel(name, deviceModelStartOf(devices), {
      point: (kind, actor, label, delayMs, run) => this.scheduler.schedule({ kind, actor, label, delayMs, run }),
      timer: (ms, run) => this.toolstackTimer(name, ms, run),
      violate: (what) => this.violate(what),
      asBackend: (work) => this.asGuest(this.domains.get(backend)!, work),
      backendDomid: () => this.domidOf(backend),
      guestAlive: (domid) => this.hv.life(domid) === 'alive',
      xenstore: this.xs,
      toolstackDoes: (step) => this.toolstackDoes(step),
      // create went on to attach the devices (§6.4 create step 5): theirs start now
      // (a device made for an earlier incarnation, whose create failed, went with it: dropped)
      confirmed: (domid) => {
        // a guest killed after its device model wrote "running" has no devices to attach
        if (!this.toolstacks.get(name)!.actor.getSnapshot().matches('active') || this.hv.life(domid) !== 'alive') return;
        for (const waiting of this.waitingForDm.get(name)?.splice(0) ?? []) if (waiting.domid === domid) waiting.start();
      },
    }, bugs);
    this.deviceModels.set(name, dm);
    return dm;
  }

  /**
   * The scenario's PV vifs (`VifNetwork`): libxl's add in dom0 as each frontend is created, then the
   * PV handshake of netback, netfront and the driver domain's xl devd, each a step of its domain.
   */
  private vifNetwork(): VifNetwork {
    return new VifNetwork(this.scenario, this.seed, {
      store: this.xs,
      step: (domid, label, delayMs, work) => {
        const host = this.byDomid.get(domid);
        if (host) this.scheduler.schedule({ kind: 'guest', actor: host.name, label, delayMs, run: () => this.asGuest(host, work) });
      },
      timer: (domid, ms, run) => {
        const host = this.byDomid.get(domid);
        if (!host) return () => {}; // its domain is gone: no program of it runs
        return this.scheduler.setTimer(ms, () => this.asGuest(host, run));
      },
      domidOf: (name) => this.domidOf(name),
      nameOf: (domid) => this.nameOf.get(domid) ?? String(domid),
      violate: (what) => this.violate(what),
    });
  }

  /**
   * A domain's userspace and kernel drivers are gone (destroyed, or a new kernel): its xl devd, the
   * netfronts of its vifs, and a dom0less guest's xenstore connection of the kernel Xen booted.
   */
  private userspaceGone(host: DomainHost): void {
    this.network.kernelGone(host.name);
    for (const xb of this.dom0less) if (xb.name === host.name && xb.bootedDomid() === host.domid) xb.gone();
  }

  /**
   * Monitor emulator-validates (lifecycle §5.6, §6.7 R6): a device model performed a request — a
   * register read or write of its device — for an address its IOREQ server no longer has mapped. Xen
   * selected the server before the unmap; an emulator must re-check what arrives.
   */
  private unservedRequest(r: UnservedRequest): void {
    this.violate(emulatorValidatesFinding(r, (domid) => this.nameOf.get(domid) ?? String(domid)));
  }

  /** Runs `start` once `guest`'s device model has confirmed its start (now, if it has or it has none). */
  private whenDeviceModelUp(guest: string, start: () => void): void {
    const toolstack = this.toolstacks.get(guest)!.actor.getSnapshot();
    if (!this.deviceModels.has(guest) || !toolstack.matches('creating')) return start();
    const waiting = this.waitingForDm.get(guest) ?? [];
    waiting.push({ domid: toolstack.context.domid!, start });
    this.waitingForDm.set(guest, waiting);
  }

  /**
   * Monitor create-failure-cleans-up (lifecycle §6.4 create, §7 case 39; R16): a create that ended in
   * ERROR_FAIL after domain_make leaves no domain behind — libxl destroys the half-built domain, so
   * its memory is freed and its domid quarantined.
   */
  private checkCreateCleanedUp(spec: ScenarioDomain, domid: number | null): void {
    const host = domid === null ? undefined : this.byDomid.get(domid);
    if (!host || host.name !== spec.name || this.hv.life(host.domid) === 'gone') return;
    this.ledger.violations.push(`${this.scheduler.now()}ms: ${halfBuiltDomainLeft(spec.name, host.domid, String(host.actor.getSnapshot().value), spec.memoryBytes)}`);
  }

  /**
   * The queue worker of a virtio-mmio device model (`DeviceWorker`, like vhost's worker thread): its
   * steps after each pass are scheduling points of the back end's domain, so the guest's driver can
   * add buffers between its barrier and its re-check; switch availIdxWithoutReadBarrier drops the
   * read barrier after that re-check (R18), and monitor vq-head watches every avail entry it takes.
   */
  private deviceWorker(spec: ScenarioDevice, current: () => boolean): DeviceWorker {
    const backend = this.domains.get(spec.backend)!;
    return {
      // the worker is a thread of its own in the device model (vhost's worker): a strategy that
      // prioritises threads (PCT, POS) can run the guest between its early load and its re-check
      defer: (label, step) =>
        this.scheduler.schedule({ kind: 'guest', actor: `${spec.backend}/${spec.name} worker`, label: `${spec.name}: ${label}`, run: () => this.asGuest(backend, () => current() && step()) }),
      recheckReadBarrier: !this.scenario.bugs.availIdxWithoutReadBarrier,
      took: (take) => {
        const violation = vqHeadViolation(take, spec.name);
        if (violation !== null) this.ledger.violations.push(`${this.scheduler.now()}ms: ${violation}`);
      },
    };
  }

  /** The device's next batch of requests at `atMs` of virtual time (or now), while it makes progress. */
  private scheduleDeviceBatch(run: RunningDevice, atMs: number): void {
    // one batch in the offing per device: a kick's completion, an interrupt and the pace each ask for one
    if (!run.wantsMore || this.batchPending.has(run)) return;
    this.batchPending.add(run);
    this.scheduler.schedule({
      kind: 'guest',
      actor: run.spec.frontend,
      label: `${run.spec.name} I/O`,
      delayMs: Math.max(0, atMs - this.scheduler.now()),
      run: () =>
        this.asGuest(this.domains.get(run.spec.frontend)!, () => {
          this.batchPending.delete(run);
          // a vCPU waiting on an ioreq runs nothing: the batch goes on once its completion ran
          if (run.whenVcpuFree?.(() => this.scheduleDeviceBatch(run, 0))) return;
          if (run.batch()) this.scheduleDeviceBatch(run, this.scheduler.now() + run.spec.intervalMs);
        }),
    });
  }

  /**
   * Xen's IOREQ servers (virtio-ioreq-lifecycle.md §5), built when the first virtio-mmio device needs
   * them, with the scenario's IOREQ bug switches; Xen's wake-ups of blocked vCPUs go to their
   * `IoreqVcpu`.
   */
  private ioreqHost(): Ioreq {
    if (this.ioreq) return this.ioreq;
    const ioreq = createIoreq(this.hv, {
      built: this.scenario.build.IOREQ_SERVER,
      arch: 'arm', // virtio-mmio over IOREQ is libxl's Arm path (§5.10): SPIs by set_irq_level
      bugs: ioreqBugsOf(this.scenario.bugs),
    });
    ioreq.onWake((domid, vcpu) => {
      const host = this.byDomid.get(domid);
      if (host && vcpu === 0) this.ioreqVcpus.get(host.name)?.woken();
    });
    ioreq.onIrq((domid, irq) => {
      const host = this.byDomid.get(domid);
      const run = host && this.mmioIrqs.get(`${host.name}:${irq}`);
      if (run) this.deviceInterrupt(host, run, irq);
    });
    return (this.ioreq = ioreq);
  }

  /**
   * The vGIC delivers a virtio-mmio device's SPI: the guest's handler (Linux vm_interrupt) runs as a
   * scheduling point of the guest, acknowledges what InterruptStatus shows and lets the driver
   * harvest; at its end (EOI) a line still high is taken again, as a level-triggered SPI is.
   */
  private deviceInterrupt(host: DomainHost, run: DeviceRun, irq: number): void {
    this.scheduler.schedule({
      kind: 'virq',
      actor: host.name,
      label: `${run.spec.name}: SPI ${irq}`,
      run: () =>
        this.asGuest(host, () =>
          run.interrupt((bits) => {
            if (bits === 0) return;
            this.scheduleDeviceBatch(run, 0); // the batch harvests the used ring first
            if (this.ioreq!.irqLevel(host.domid, irq) === 1 && this.byDomid.get(host.domid) === host) this.deviceInterrupt(host, run, irq);
          }),
        ),
    });
  }

  /** vCPU 0 of a guest with virtio-mmio devices: their drivers' trapped accesses (`IoreqVcpu`). */
  private ioreqVcpu(host: DomainHost): IoreqVcpu {
    let cpu = this.ioreqVcpus.get(host.name);
    if (cpu) return cpu;
    const name = host.name;
    cpu = new IoreqVcpu(this.ioreq!, name, () => this.domidOf(name), 0, {
      point: (actor, label, delayMs, run) => this.scheduler.schedule({ kind: 'guest', actor, label, delayMs, run }),
      defer: (work) => this.domains.get(name)!.deferredVcpu.push(work),
      violate: (what) => this.ledger.violations.push(`${this.scheduler.now()}ms: ${what}`),
    });
    this.ioreqVcpus.set(name, cpu);
    return cpu;
  }

  /** The xenstore connection of dom0less guest `name` (`Dom0lessXenbus`), its requests served by xenstored's actor. */
  private dom0lessXenbus(name: string): Dom0lessXenbus {
    const xb = new Dom0lessXenbus(name, {
      hv: this.hv,
      store: this.xs,
      xenstoredDomid: this.scenario.domains.find((d) => d.control)?.domid ?? 0,
      point: (kind, actor, label, run) => void this.scheduler.schedule({ kind, actor, label, run }),
      asGuest: (work) => this.asGuest(this.domains.get(name)!, work),
      domid: () => this.domidOf(name),
      notifyBeforeReset: this.scenario.bugs.introduceNotifiesBeforeReset,
    });
    this.dom0less.push(xb);
    return xb;
  }

  /** A domctl of the toolstack, as an event of the domain's actor (none once the domain is gone). */
  private domainEvent(domid: number, event: DomainEvent): void {
    this.byDomid.get(domid)?.actor.send(event);
  }

  /** The current domid of a scenario domain, or undefined while it has none. */
  private domidOf(name: string): number | undefined {
    const host = this.domains.get(name);
    return host && this.hv.life(host.domid) !== 'gone' ? host.domid : undefined;
  }

  /** Registers a scenario ring through its ring actor; a refusal is counted by errno. */
  private registerRing({ owner, port, partner, len, consume }: ScenarioRing): void {
    const host = this.domains.get(owner)!;
    // the partner as it is now: a domain restarted since has a new domid
    const partnerId = partner === 'any' ? XEN_ARGO_DOMID_ANY : (this.domidOf(partner) ?? this.scenario.domains.find((d) => d.name === partner)!.domid);
    let refused: ArgoError | undefined;
    const actor = createArgoRingActor({ hv: this.hv, guest: host.guest, onRefused: (e) => (refused = e) }, {
      input: { owner: host.domid, aport: port, partner: partnerId, len },
      inspect: this.inspector(),
    }).start();
    actor.send({ type: 'REGISTER' });
    const ring = [...host.guest.rings.values()].find((r) => r.aport === port >>> 0 && r.partner === partnerId);
    if (refused || !ring || !actor.getSnapshot().matches('registered')) {
      const code = refused?.code ?? 'UNKNOWN';
      this.refusedRings[code] = (this.refusedRings[code] ?? 0) + 1;
      actor.stop();
      return;
    }
    const key = `${host.domid}:${ring.aport}`;
    const receiver = createGuestReceiverActor(
      {
        ring,
        scratch: new Uint8Array(ring.len),
        budget: consume === 'one' ? 1 : undefined,
        onMessage: (source, payload) => this.ledger.received(source, key, payload, this.scheduler.now()),
      },
      { input: { owner: host.domid, aport: ring.aport }, inspect: this.inspector() },
    ).start();
    host.rings.push({ ring, actor, key, receiver });
  }

  /**
   * Tells a ring's actor how full the core says it is now — when that moves it between empty,
   * holding data and full with waiters (its states); byte counts in between are not events.
   */
  private reportRing(owner: DomainHost, r: RingHost): void {
    const occupancy = this.hv.argoRingOccupancy(owner.domid, r.ring.aport, r.ring.partner);
    if (!occupancy) return;
    const now: Occupancy = occupancy.waiters > 0 ? 'fullWithWaiters' : occupancy.pendingBytes > 0 ? 'holdingData' : 'empty';
    if (now !== reportedOccupancy(r)) r.actor.send({ type: 'RING_STATE', ...occupancy });
  }

  /** The ring a send from `sender` to (dst, port) lands in: the unicast one first, then the wildcard (§6.1). */
  private ringFor(sender: number, dst: number, port: number): { owner: DomainHost; ring: RingHost } | undefined {
    const owner = this.byDomid.get(dst);
    if (!owner) return undefined;
    const ring =
      owner.rings.find((r) => r.ring.aport === port && r.ring.partner === sender) ??
      owner.rings.find((r) => r.ring.aport === port && r.ring.partner === XEN_ARGO_DOMID_ANY);
    return ring && { owner, ring };
  }

  /** True when the domain's vCPUs run (not paused, shut down or dying). */
  private runnable(host: DomainHost): boolean {
    return this.hv.life(host.domid) === 'alive' && (this.hv.domctl.getInfo(host.domid).flags & XEN_DOMINF_running) !== 0;
  }

  /** Runs `work` as `host`'s vCPU: now if it runs, else when it runs again. */
  private asGuest(host: DomainHost, work: () => void): void {
    if (this.runnable(host)) work();
    else if (this.hv.life(host.domid) === 'alive') host.deferred.push(work);
  }

  private runDeferred(domid: number): void {
    const host = this.byDomid.get(domid);
    if (!host) return;
    for (const work of host.deferred.splice(0)) {
      this.scheduler.schedule({ kind: 'guest', actor: host.name, label: 'resume work', run: () => this.asGuest(host, work) });
    }
    for (const work of host.deferredVcpu.splice(0)) this.scheduler.schedule({ kind: 'guest', actor: host.name, label: 'vCPU resumes', run: work });
  }

  /**
   * A workload as a guest-application actor (argo.md §6.3 sender): sizes and payload bytes are drawn
   * from the workload's seed (the same bytes again on a retry); a paced app gets a SEND per slot of
   * virtual time; the runtime accounts every sendv the app makes.
   */
  private startApp(spec: ScenarioWorkload, rng: SeededRandom): void {
    const sizes = Array.from({ length: Math.max(1, spec.count) }, () => rng.int(spec.size.minBytes, spec.size.maxBytes));
    const app = { spec, base: 0, sizes, rng, payloads: new Map(), refusedSeen: {}, slotFor: -1 } as unknown as AppRun;
    this.apps.push(app);
    this.launchApp(app, spec.startMs);
  }

  /**
   * The app's actor on its domain's running kernel, for the messages from `base` on, to the
   * destination's domid of now (an application looks its peer up when it starts); START at
   * `startMs` of virtual time, or now.
   */
  private launchApp(app: AppRun, startMs: number): void {
    const { spec } = app;
    const host = this.domains.get(spec.from)!;
    const base = app.base;
    const hooks = {
      payload: (seq: number, size: number) => {
        let bytes = app.payloads.get(base + seq);
        if (!bytes) app.payloads.set(base + seq, (bytes = app.rng.fill(this.slab.take(size))));
        return bytes;
      },
      onSendv: (seq: number, bytes: Uint8Array, rc: number) => {
        app.payloads.delete(base + seq - 1);
        this.accountSendv(app, bytes, rc);
      },
    };
    app.dst = { domid: this.domidOf(spec.to.domain) ?? spec.to.domid, aport: spec.to.port };
    app.dstIncarnation = this.domains.get(spec.to.domain)!.incarnation;
    app.refusedSeen = {};
    app.slotFor = -1;
    app.actor = createGuestAppActor(host.guest, { messageType: spec.messageType, srcPort: spec.srcPort }, hooks, {
      input: { dst: app.dst, count: spec.count - base, sizes: app.sizes.slice(base, spec.count), paced: spec.intervalMs > 0 },
      inspect: this.inspector(),
    });
    const actor = app.actor;
    actor.subscribe((snapshot) => this.observeApp(app, snapshot));
    actor.start();
    this.scheduler.schedule({
      kind: 'guest',
      actor: host.name,
      label: `${spec.name} start`,
      delayMs: Math.max(0, startMs - this.scheduler.now()),
      run: () => this.asGuest(host, () => {
        if (app.actor === actor) actor.send({ type: 'START' });
      }),
    });
  }

  /** A new kernel goes on with a workload the old one did not finish. */
  private resumeApp(app: AppRun): void {
    if (app.actor.getSnapshot().status !== 'stopped' || app.base >= app.spec.count) return;
    this.launchApp(app, app.spec.startMs + app.base * app.spec.intervalMs);
  }

  /** After each app step: count its new refusals, and give a paced app its next slot. */
  private observeApp(app: AppRun, snapshot: ReturnType<AppRun['actor']['getSnapshot']>): void {
    for (const [errno, n] of Object.entries(snapshot.context.refused)) {
      for (let k = app.refusedSeen[errno] ?? 0; k < n; k++) {
        this.ledger.refused();
        this.errors[errno] = (this.errors[errno] ?? 0) + 1;
      }
      app.refusedSeen[errno] = n;
    }
    if (snapshot.value !== 'ready' || app.slotFor === snapshot.context.seq) return;
    const seq = (app.slotFor = snapshot.context.seq);
    const at = app.spec.startMs + (app.base + seq) * app.spec.intervalMs;
    const actor = app.actor;
    this.scheduler.schedule({
      kind: 'guest',
      actor: app.spec.from,
      label: `${app.spec.name} #${app.base + seq}`,
      delayMs: Math.max(0, at - this.scheduler.now()),
      run: () =>
        this.asGuest(this.domains.get(app.spec.from)!, () => {
          if (app.actor === actor && actor.getSnapshot().value === 'ready') actor.send({ type: 'SEND' });
        }),
    });
  }

  /** Accounts one sendv of an app: accepted (ledger, policy check), or EAGAIN (a wait on a full ring). */
  private accountSendv(app: AppRun, bytes: Uint8Array, rc: number): void {
    const host = this.domains.get(app.spec.from)!;
    const dst = app.dst;
    if (rc === -ERRNO.EAGAIN) {
      host.waits++; // a space-wait is queued in Xen; the sender's VIRQ resumes the app
      const target = this.ringFor(host.domid, dst.domid, dst.aport);
      app.waitingOn = target?.ring;
      if (target) this.reportRing(target.owner, target.ring); // full, with a waiter
      return;
    }
    if (rc < 0) return; // refusals are counted from the app's own tally (it also counts a ring gone on re-check)
    const target = this.domains.get(app.spec.to.domain)!;
    if (target.incarnation !== app.dstIncarnation && target.domid === dst.domid) {
      // monitor stale-domid (lifecycle §6.7 R15): the domid this app looked up belonged to an earlier
      // incarnation; a new domain with the same domid must not be reachable as if it were that one
      this.ledger.violations.push(
        `${this.scheduler.now()}ms: stale-domid: ${app.spec.name} sent to domid ${dst.domid} meaning ${target.name}'s incarnation ${app.dstIncarnation}, and incarnation ${target.incarnation} accepted it`,
      );
    }
    if (rc !== bytes.length) {
      // monitor sendv-result (argo.md §4.3 step 20): a successful sendv returns the payload length
      this.ledger.violations.push(`${this.scheduler.now()}ms: sendv-result: domain ${host.domid}'s sendv of ${bytes.length} bytes to (${dst.domid}, ${dst.aport}) returned ${rc}`);
    }
    if (!this.policyAllows(host.domid, dst.domid)) {
      this.ledger.violations.push(`${this.scheduler.now()}ms: a message crossed a denied policy edge: domain ${host.domid} → ${dst.domid}`);
    }
    this.ledger.sent(host.domid, `${dst.domid}:${dst.aport}`, bytes);
    host.sent++;
    host.bytesSent += bytes.length;
  }

  /** The guest kernel is gone (destroy, soft reset): its applications stop where they are. */
  private stopApps(host: DomainHost): void {
    for (const app of this.apps) {
      if (app.spec.from !== host.name || app.actor.getSnapshot().status !== 'active') continue;
      app.base += app.actor.getSnapshot().context.seq;
      app.actor.stop();
    }
  }

  /** VIRQ_ARGO raised in `domid`: its handler runs as a scheduling point (coalesced). */
  private onArgoVirq(domid: number): void {
    const host = this.byDomid.get(domid);
    if (!host || host.virqScheduled) return;
    host.virqScheduled = true;
    this.scheduler.schedule({
      kind: 'virq',
      actor: host.name,
      label: 'VIRQ_ARGO',
      run: () => {
        host.virqScheduled = false;
        this.asGuest(host, () => this.handleVirq(host));
      },
    });
  }

  /** The guest's VIRQ handler: consume every ring, notify, and re-check blocked sends. */
  private handleVirq(host: DomainHost): void {
    host.virqs++;
    this.hv.clearVirq(host.domid, VIRQ_ARGO);
    const drained: RingHost[] = [];
    for (const r of host.rings) {
      if (r.ring.nextPayloadBytes() === -1) continue; // nothing whole in it: its receiver is not woken
      const before = r.receiver.getSnapshot().context;
      r.receiver.send({ type: 'VIRQ' }); // the receiving application takes every whole message
      const after = r.receiver.getSnapshot().context;
      host.received += after.received - before.received;
      host.bytesReceived += after.bytes - before.bytes;
      if (after.received > before.received) drained.push(r);
    }
    if (drained.length > 0) host.guest.notify();
    for (const r of drained) {
      // drained and notified: the ring is empty, and every waiter fitted (none queues a length the
      // ring can never hold, argo.md §4.4), so Xen fired them all
      if (reportedOccupancy(r) !== 'empty') r.actor.send({ type: 'RING_STATE', pendingBytes: 0, waiters: 0 });
    }
    // a receiver with a budget left whole messages behind: it polls again (NAPI), as a scheduling point
    if (host.rings.some((r) => r.ring.nextPayloadBytes() >= 0)) this.onArgoVirq(host.domid);
    for (const app of this.apps) {
      const snapshot = app.actor.getSnapshot();
      if (app.spec.from !== host.name || snapshot.status !== 'active' || snapshot.value !== 'blocked') continue;
      this.checkSpaceWait(host, app, messageSize(snapshot.context, snapshot.context.seq));
      app.actor.send({ type: 'VIRQ' });
    }
  }

  /**
   * Monitor space-wait-early (argo.md §6.3; the bug of Xen 8966a3e9ab): a blocked sender's space-wait
   * on a unicast ring — where nobody else can take the space — is fired only once its message fits.
   * Seen from the sender's VIRQ: its wait is gone from the ring's list, yet the ring has less payload
   * space than the message needs.
   */
  private checkSpaceWait(host: DomainHost, app: AppRun, size: number): void {
    const ring = this.hv.argoState(app.dst.domid)?.rings.find((r) => r.aport === app.dst.aport && r.partner === host.domid);
    if (!ring || ring.waiters.some((w) => w.domid === host.domid)) return;
    let d = ring.rx - ring.tx;
    if (d <= 0) d += ring.len;
    const space = Math.max(0, d - 32); // argo.md §5.3: the header and one slot are kept free
    if (space >= size) return;
    this.ledger.violations.push(
      `${this.scheduler.now()}ms: space-wait-early: ${app.spec.name}'s wait on ring ${app.dst.domid}:${app.dst.aport} fired with ${space} payload bytes free for a ${size}-byte message`,
    );
  }

  private scheduleLifecycle(event: ScenarioLifecycleEvent): void {
    this.scheduler.schedule({
      kind: 'toolstack',
      actor: event.domain,
      label: `${event.op}${event.reason ? ` ${event.reason.name}` : ''}`,
      delayMs: event.atMs,
      run: () => this.lifecycle(event),
    });
  }

  /**
   * A scenario lifecycle operation: the toolstack's (xl create, pause, unpause, shutdown, reboot,
   * suspend, resume, destroy — an operation the toolstack's state does not accept is ignored, as
   * libxl refuses it — and the detach of a virtio-mmio disk), or the guest's own SCHEDOP_shutdown
   * (when its vCPUs run), or Xen's domain_crash.
   */
  private lifecycle(event: ScenarioLifecycleEvent): void {
    const toolstack = this.toolstacks.get(event.domain)!.actor;
    const host = this.domains.get(event.domain)!;
    switch (event.op) {
      case 'create': return this.toolstackDoes(() => toolstack.send({ type: 'CREATE' }));
      case 'pause': return this.toolstackDoes(() => toolstack.send({ type: 'PAUSE' }));
      case 'unpause': return this.toolstackDoes(() => toolstack.send({ type: 'UNPAUSE' }));
      case 'shutdown': return this.toolstackDoes(() => toolstack.send({ type: 'SHUTDOWN' }));
      case 'reboot': return this.toolstackDoes(() => toolstack.send({ type: 'REBOOT' }));
      case 'suspend': return this.toolstackDoes(() => toolstack.send({ type: 'SUSPEND' }));
      case 'resume': return this.toolstackDoes(() => toolstack.send({ type: 'RESUME' }));
      case 'destroy': return this.toolstackDoes(() => toolstack.send({ type: 'DESTROY' }));
      case 'guest_shutdown':
        return this.asGuest(host, () => host.actor.send({ type: 'SHUTDOWN', reason: event.reason!.name }));
      case 'crash': return host.actor.send({ type: 'CRASH' });
      case 'detach': return this.detachDevice(event);
    }
  }

  /**
   * VIRQ_DOM_EXC: a domain was created, shut down, died or was soft-reset; the host actor re-reads
   * the domain table when it is delivered (a scheduling point, coalesced while one waits).
   */
  private domainException(): void {
    if (this.domExcPending) return;
    this.domExcPending = true;
    this.scheduler.schedule({
      kind: 'virq',
      actor: 'hypervisor',
      label: 'VIRQ_DOM_EXC',
      run: () => {
        this.domExcPending = false;
        this.host.send({ type: 'VIRQ_DOM_EXC' });
      },
    });
  }

  /**
   * xenstored's @releaseDomain watch for the toolstack of `domid`'s domain: a scheduling point (the
   * watch event crosses to dom0) that reports what getdomaininfo then shows; firings coalesce while
   * one waits. A domid the toolstack no longer manages (an earlier incarnation) is not its news.
   */
  private releaseDomain(domid: number): void {
    const name = this.nameOf.get(domid);
    const ts = name === undefined ? undefined : this.toolstacks.get(name);
    if (!ts || ts.releasePending) return;
    ts.releasePending = true;
    this.scheduler.schedule({
      kind: 'toolstack',
      actor: `toolstack:${ts.name}`,
      label: '@releaseDomain',
      run: () => {
        ts.releasePending = false;
        const current = ts.actor.getSnapshot().context.domid;
        if (current === null) return;
        const event = releaseDomainEvent(this.hv, current);
        if (event) this.toolstackDoes(() => ts.actor.send(event));
      },
    });
  }

  /**
   * libxl wrote control/shutdown: the guest's xenbus watch fires — when its vCPUs run — and its
   * handler acknowledges by clearing the node, then does what was asked (a scheduling point each):
   * SCHEDOP_shutdown with poweroff, reboot or suspend.
   */
  private controlRequested(domid: number, request: ControlRequest): void {
    const host = this.byDomid.get(domid);
    if (!host) return;
    this.scheduler.schedule({
      kind: 'guest',
      actor: host.name,
      label: `control/shutdown: ${request}`,
      run: () =>
        this.asGuest(host, () => {
          if (this.controlNodes.read(domid) !== request || !this.controlNodes.acknowledge(domid)) return; // cancelled meanwhile
          this.scheduler.schedule({
            kind: 'guest',
            actor: host.name,
            label: `SCHEDOP_shutdown ${request}`,
            run: () => this.asGuest(host, () => host.actor.send({ type: 'SHUTDOWN', reason: request })),
          });
        }),
    });
  }

  /**
   * libxl's device removal for the toolstacks (R9, R10; `DeviceTeardown`): a backend's xenbus watch
   * runs when its domain runs, libxl's watch as a point of the frontend's toolstack.
   */
  private deviceTeardown(): DeviceTeardown {
    return new DeviceTeardown({
      store: this.xs,
      devicesFromFrontendPaths: this.scenario.bugs.devicesFromFrontendPaths,
      deadBackendWaitsForClosed: this.scenario.bugs.deadBackendWaitsForClosed,
      exists: (domid) => this.hv.life(domid) !== 'gone',
      nameOf: (domid) => this.nameOf.get(domid) ?? String(domid),
      asDomain: (domid, label, work) => {
        const host = this.byDomid.get(domid);
        if (host) this.scheduler.schedule({ kind: 'guest', actor: host.name, label, run: () => this.asGuest(host, work) });
      },
      asToolstack: (name, label, work) =>
        this.scheduler.schedule({ kind: 'toolstack', actor: `toolstack:${name}`, label, run: () => this.toolstackDoes(work) }),
      timer: (name, ms, run) => this.toolstackTimer(name, ms, run),
      // a virtio-mmio device's model closes its device itself — while it runs: at a destroy libxl
      // killed it first (§6.4 destroy step 2), and the backend's kernel answers alone
      backendCloses: (frontend, device, closed) => {
        const run = this.mmioDevice(frontend, device.name);
        if (run && this.deviceModels.get(run.spec.frontend)?.runs(frontend)) run.closeBackend(closed);
        else closed();
      },
      violate: (what) => this.violate(what),
    });
  }

  /** The virtio-mmio device `name` of front-end domain `domid`, if the scenario has it. */
  private mmioDevice(domid: number, name: string): DeviceRun | undefined {
    const frontend = this.nameOf.get(domid);
    return this.devices.find((d): d is DeviceRun => d instanceof DeviceRun && d.spec.transport === 'mmio' && d.spec.name === name && d.spec.frontend === frontend);
  }

  /**
   * Scenario op `detach`: libxl_device_disk_safe_remove of a virtio-mmio disk (`DeviceTeardown.detach`);
   * once libxl removed it from xenstore, the guest's workload on it ends. One that timed out stays.
   */
  private detachDevice(event: ScenarioLifecycleEvent): void {
    const domid = this.domidOf(event.domain);
    const run = domid === undefined ? undefined : this.mmioDevice(domid, event.device!);
    if (domid === undefined || !run) return; // no domain now: xl finds nothing to detach from
    this.teardown.detach(event.domain, domid, event.device!, (result) => {
      if (result === 'removed') run.detached();
    });
  }

  /** A monitor's violation, stamped with the virtual time. */
  private violate(what: string): void {
    this.ledger.violations.push(`${this.scheduler.now()}ms: ${what}`);
  }

  /**
   * Monitor ack-honoured (lifecycle §6.4, §7 case 42; R14): an operation whose request the guest
   * acknowledged — it cleared control/shutdown and goes on to do what was asked — must not end in
   * ERROR_TIMEDOUT, or the toolstack believes a domain runs that is suspending or shutting down.
   */
  private checkAckHonoured(name: string, domid: number | null, result: { op: string; result: string }): void {
    if (domid === null || result.result !== 'ERROR_TIMEDOUT') return;
    const request = this.acknowledged.get(domid);
    const op = request === 'poweroff' ? 'shutdown' : request;
    if (op !== result.op) return;
    this.ledger.violations.push(`${this.scheduler.now()}ms: ack-honoured: domain ${name} (${domid}) acknowledged ${request}, yet the toolstack's ${result.op} ended in ERROR_TIMEDOUT`);
  }

  /** The guest cleared control/shutdown: libxl's watch on the node tells the toolstack (a scheduling point). */
  private controlAcknowledged(domid: number): void {
    const name = this.nameOf.get(domid);
    const ts = name === undefined ? undefined : this.toolstacks.get(name);
    if (!ts) return;
    this.scheduler.schedule({
      kind: 'toolstack',
      actor: `toolstack:${ts.name}`,
      label: 'control/shutdown acknowledged',
      run: () => {
        if (ts.actor.getSnapshot().context.domid === domid) this.toolstackDoes(() => ts.actor.send({ type: 'GUEST_ACK' }));
      },
    });
  }

  /** Destroy (the toolstack's, or a fault's): pause, kill (Argo teardown), reap. Rings it owned or partnered are gone. */
  private destroy(host: DomainHost): void {
    if (this.hv.life(host.domid) === 'gone') return;
    host.actor.send({ type: 'DESTROY' });
    host.actor.send({ type: 'KILL' });
    host.actor.send({ type: 'TEARDOWN_DONE' });
    host.deferred.length = 0;
    host.deferredVcpu.length = 0;
    this.stopApps(host);
    for (const run of this.devices) if (run.spec.frontend === host.name) run.frontendDown();
    this.userspaceGone(host);
    this.ioreqVcpus.get(host.name)?.reset();
    this.reconcileRings(host.domid, 'OWNER_DIED');
    this.byDomid.delete(host.domid);
    if (this.bootedDom0less.get(host.name) === host.domid) this.bootedDom0less.delete(host.name); // a later domain with its domid is libxl's
  }

  /**
   * A soft-reset domain runs a new kernel (kexec): its rings and the rings partnered to it are gone,
   * its VIRQ bindings too; the new kernel binds VIRQ_ARGO, registers its scenario rings again and
   * goes on with its workloads.
   */
  private afterSoftReset(host: DomainHost): void {
    this.reconcileRings(host.domid, 'SOFT_RESET');
    this.stopApps(host);
    // a device's front end was the old kernel's driver: it goes with it
    for (const run of this.devices) if (run.spec.frontend === host.name) run.frontendDown();
    this.userspaceGone(host);
    this.ioreqVcpus.get(host.name)?.reset();
    if (this.hv.life(host.domid) !== 'alive') return;
    host.guest.close();
    host.guest = new ArgoGuest(platformOf(this.hv, host.domid), this.kernelOptions(host.name, host.domid));
    host.rings.length = 0;
    this.scheduler.schedule({ kind: 'guest', actor: host.name, label: 'kernel start', run: () => this.asGuest(host, () => this.startKernel(host)) });
  }

  /**
   * Drops every ring the hypervisor no longer has after `subject` died or was soft-reset: the ring
   * actors hear why (their own owner's `ownEvent`, else their partner's death), and what was in
   * flight to those rings is lost.
   */
  private reconcileRings(subject: number, ownEvent: 'OWNER_DIED' | 'SOFT_RESET'): void {
    for (const host of this.domains.values()) {
      const live = this.hv.argoState(host.domid)?.rings ?? [];
      for (const r of [...host.rings]) {
        if (live.some((l) => l.aport === r.ring.aport && l.partner === r.ring.partner)) continue;
        r.actor.send({ type: host.domid === subject ? ownEvent : 'PARTNER_DIED' });
        this.dropRing(host, r);
      }
    }
  }

  private dropRing(host: DomainHost, r: RingHost): void {
    host.rings.splice(host.rings.indexOf(r), 1);
    r.actor.stop();
    r.receiver.stop();
    this.ledger.ringTornDown(`${host.domid}:${r.ring.aport}`);
  }

  private scheduleFault(fault: ScenarioFault, seeds: SeededRandom): void {
    const atMs = fault.atMs ?? seeds.int(0, 50);
    this.scheduler.schedule({ kind: 'fault', actor: fault.domain, label: fault.kind, delayMs: atMs, run: () => this.fault(fault) });
  }

  private fault(fault: ScenarioFault): void {
    const host = this.domains.get(fault.domain)!;
    if (this.hv.life(host.domid) === 'gone') return;
    this.faultsFired[fault.kind] = (this.faultsFired[fault.kind] ?? 0) + 1;
    switch (fault.kind) {
      case 'kill':
      case 'backend_death':
        return this.destroy(host);
      case 'crash':
        return void host.actor.send({ type: 'CRASH' });
      case 'soft_reset':
        this.hv.softResetDomain(host.domid);
        return this.afterSoftReset(host);
      case 'unregister': {
        const partner = fault.ring!.partnerDomid === 'any' ? XEN_ARGO_DOMID_ANY : fault.ring!.partnerDomid;
        const r = host.rings.find((x) => x.ring.aport === fault.ring!.port && x.ring.partner === partner);
        if (!r) return;
        r.actor.send({ type: 'UNREGISTER' }); // the ring actor unregisters it (argo.md §4.2)
        return this.dropRing(host, r);
      }
      case 'virq_drop':
        return this.hv.clearVirq(host.domid, VIRQ_ARGO);
      case 'xenstored_live_update':
        return this.xenstoredLiveUpdate(fault.delayMs ?? LIVE_UPDATE_MS);
      case 'xenstore_tamper':
        // XSA-175's hostile guest (lifecycle §6.7 R10): it removes its frontend device directories
        return this.asGuest(host, () => void this.xs.rm(host.domid, `/local/domain/${host.domid}/device`));
      case 'dm_start_fail':
        return void this.deviceModels.get(host.name)?.failStart();
      case 'dm_death':
      case 'dm_misbehave':
        return this.deviceModelFault(host, fault);
      case 'balloon': {
        // XENMEM_decrease_reservation: Xen has every device model drop its mapcache before the vCPU
        // runs on (§5.3 INVALIDATE broadcast, R4)
        const cpu = this.ioreqVcpus.get(host.name);
        return void cpu?.run(() => cpu.broadcastInvalidate(() => {}));
      }
      // the toolstack's operations at a moment a strategy picked (docs/exploration.md)
      case 'shutdown':
        return this.toolstackDoes(() => this.toolstacks.get(host.name)!.actor.send({ type: 'SHUTDOWN' }));
      case 'reboot':
        return this.toolstackDoes(() => this.toolstacks.get(host.name)!.actor.send({ type: 'REBOOT' }));
      case 'suspend':
        return this.checkpoint(host, fault.delayMs ?? 1);
      case 'stall':
        return this.stall(host, fault);
      case 'virq_delay':
        host.virqScheduled = true; // hold the handler back, then run it
        this.scheduler.schedule({ kind: 'fault', actor: host.name, label: 'delayed VIRQ_ARGO', delayMs: fault.delayMs ?? 1, run: () => {
          host.virqScheduled = false;
          this.asGuest(host, () => this.handleVirq(host));
        } });
        return;
    }
  }

  /**
   * A `suspend` fault: a checkpoint, as `xl save -c` takes one — the toolstack's suspend, and once it
   * has succeeded (the guest suspended itself) the domain resumed `delayMs` later. A suspend the
   * toolstack does not take (another operation in flight) or that fails takes no checkpoint, so there
   * is nothing to resume; a guest that suspends itself after a failed suspend (R14's bug) stays so.
   */
  private checkpoint(host: DomainHost, delayMs: number): void {
    const toolstack = this.toolstacks.get(host.name)!.actor;
    const before = toolstack.getSnapshot();
    if (!before.matches({ active: { ao: 'idle' } })) return void this.toolstackDoes(() => toolstack.send({ type: 'SUSPEND' }));
    let seen = before.context.results.length;
    const watch = toolstack.subscribe((snapshot) => {
      const { results } = snapshot.context;
      for (; seen < results.length; seen++) {
        if (results[seen].op !== 'suspend') continue;
        watch.unsubscribe();
        if (results[seen].result !== 'OK') return;
        this.scheduler.schedule({ kind: 'fault', actor: `toolstack:${host.name}`, label: 'resume', delayMs, run: () => this.toolstackDoes(() => toolstack.send({ type: 'RESUME' })) });
        return;
      }
    });
    this.toolstackDoes(() => toolstack.send({ type: 'SUSPEND' }));
  }

  /**
   * `xenstore-control live-update` (lifecycle §6.7 R12; docs/races.md): xenstored writes its state —
   * every domain it is connected to — and re-executes; `durationMs` later the new xenstored reads it
   * and connects again to each of those domains: maps its ring page, binds its event channel. A
   * domain that died meanwhile (its memory relinquished, its event channels closed by domain_kill)
   * cannot be mapped: today's xenstored (Xen 939775cfd3) drops that connection as for a domain gone
   * (@releaseDomain fires); with `liveUpdateDyingDomainFatal` the new xenstored exits, the host has no
   * xenstore any more, and the run ends there (monitor live-update-survives). SIM CHOICE: requests
   * made during the update are answered (real xenstored queues them; the race here is the
   * re-connection).
   */
  private xenstoredLiveUpdate(durationMs: number): void {
    const saved = this.xsConnections.save();
    const names = new Map(saved.map((c) => [c.domid, this.nameOf.get(c.domid) ?? String(c.domid)]));
    const restore = () =>
      this.xsConnections.restore(saved, (domid) => this.hv.life(domid) === 'alive', (domid, current) => {
        if (this.scenario.bugs.liveUpdateDyingDomainFatal) {
          this.violate(liveUpdateExited(names.get(domid)!, domid));
          this.scheduler.halt();
          return false;
        }
        // dropped, as for a domain gone (a domid taken again meanwhile is another domain's: left alone)
        if (current) {
          this.xsConnections.released(domid);
          this.xs.domainEvent({ type: 'RELEASE', domid });
        }
        return true;
      });
    this.scheduler.schedule({ kind: 'fault', actor: 'xenstored', label: 'live update: restore connections', delayMs: durationMs, run: restore });
  }

  /**
   * A `stall` fault (docs/exploration.md): the guest gets no CPU — a pause of its own, apart from
   * xl's pause count — until its toolstack next arms an operation timeout (≥ 1 s: LIBXL_ACK_TIMEOUT,
   * LIBXL_DESTROY_TIMEOUT, …), and gets it back exactly when that
   * timeout falls due, so whatever it answers then races the timeout (R14's shape); when none is
   * armed within `delay` (default 100 ms), it runs again then.
   */
  private stall(host: DomainHost, fault: ScenarioFault): void {
    const ts = this.toolstacks.get(host.name);
    if (!ts || ts.stalled) return;
    const domid = host.domid;
    this.domainEvent(domid, { type: 'PAUSE' });
    let over = false;
    const unstall = () => {
      if (over) return;
      over = true;
      if (ts.stalled === unstall) ts.stalled = undefined;
      if (this.byDomid.get(domid) === host) this.domainEvent(domid, { type: 'UNPAUSE' });
    };
    ts.stalled = unstall;
    const fallback = this.scheduler.schedule({ kind: 'fault', actor: host.name, label: 'stall ends (no timeout came)', delayMs: fault.delayMs ?? 100, run: unstall });
    ts.stallFallback = () => void this.scheduler.cancel(fallback);
  }

  /**
   * A device-model fault on the virtio-mmio devices `host` is the front end or the back end of
   * (docs/races.md R1, R3): `dm_death` kills each running device model — its exit destroys its IOREQ
   * server (QEMU's does), waking the vCPUs that waited on it — and its supervisor starts it again
   * `delay` later (default 1 ms), the front end re-initialising the device; `dm_misbehave` makes
   * each one's next answer move its slot backwards.
   */
  private deviceModelFault(host: DomainHost, fault: ScenarioFault): void {
    for (const run of this.devices) {
      const dm = run.deviceModel;
      if (!dm || (run.spec.frontend !== host.name && run.spec.backend !== host.name)) continue;
      if (fault.kind === 'dm_misbehave') {
        dm.misbehave();
        continue;
      }
      if (!dm.kill()) continue;
      this.scheduler.schedule({
        kind: 'fault',
        actor: run.spec.backend,
        label: `${run.spec.name}: device model restarts`,
        delayMs: fault.delayMs ?? 1,
        run: () => this.asGuest(this.domains.get(run.spec.backend)!, () => {
          if (dm.restart()) this.scheduleDeviceBatch(run, 0);
        }),
      });
    }
  }

  /**
   * The scenario's own reading of its policy, independent of the hypervisor's XSM: may `src` send to
   * `dst`? (FLASK: `argo:send` between the labels; SILO: one end is the control domain or both are
   * the same domain.)
   */
  private policyAllows(src: number, dst: number): boolean {
    const key = src * 65536 + dst;
    let allowed = this.policyDecisions.get(key);
    if (allowed === undefined) this.policyDecisions.set(key, (allowed = this.policyDecides(src, dst)));
    return allowed;
  }

  private policyDecides(src: number, dst: number): boolean {
    const label = (domid: number) => this.scenario.domains.find((d) => d.domid === domid);
    const a = label(src);
    const b = label(dst);
    if (!a || !b) return true;
    if (this.scenario.xsm.mode === 'silo') return a.control || b.control || src === dst;
    if (this.scenario.xsm.mode !== 'flask' || !this.scenario.xsm.enforcing) return true;
    return scenarioPolicy(this.scenario).allows(a.label, b.label, 'send');
  }

  /** Whether a ring still open at the end should have been drained (its owner runs). */
  private drainable(ring: string): boolean {
    const [domid, port] = ring.split(':').map(Number);
    const host = this.byDomid.get(domid);
    return !!host && host.rings.some((r) => r.ring.aport === port) && this.runnable(host);
  }
}

/**
 * The gfn arena a scenario's rings need: room for every ring's pages twice over (a ring re-registered
 * while its old mapping is still held), at least 4096 — rather than Xen's ceiling of 2^20 entries,
 * 5 MiB of shared memory to allocate and zero for each run.
 */
function gfnArenaPagesFor(scenario: Scenario): number {
  const pages = scenario.rings.reduce((n, r) => n + npagesRing(r.len), 0);
  return Math.max(4096, 2 * pages);
}

/** The runtime's reading of each scenario's FLASK policy: parsed once, however many runs. */
const POLICIES = new WeakMap<Scenario, FlaskPolicy>();

function scenarioPolicy(scenario: Scenario): FlaskPolicy {
  let policy = POLICIES.get(scenario);
  if (!policy) POLICIES.set(scenario, (policy = parseFlaskPolicy(scenario.xsm.policy ?? DEFAULT_FLASK_POLICY)));
  return policy;
}

/**
 * Assembles a system for a scenario (issue #3 item 6). See `ArgosimSystem`.
 *
 * @example
 * ```ts
 * const summary = createSystem(parseScenario(text), { seed: 1 }).run();
 * ```
 */
export function createSystem(scenario: Scenario, options: SystemOptions = {}): ArgosimSystem {
  return new ArgosimSystem(scenario, options);
}
