import type { MessagePort } from 'node:worker_threads';
import { threadId } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { createActor, type Actor } from 'xstate';
import { argoRingMachineFor } from '../../machines/implementations/argo-ring-core.js';
import { createGuestAppActor } from '../../machines/implementations/guest-app-core.js';
import { createGuestReceiverActor } from '../../machines/implementations/guest-receiver-core.js';
import { XEN_ARGO_DOMID_ANY } from '../argo/constants.js';
import { XEN_DOMINF_running } from '../domain/lifecycle.js';
import { ArgoError } from '../guest/argo-error.js';
import { ArgoGuest } from '../guest/argo-guest.js';
import type { ArgoRing } from '../guest/argo-ring.js';
import { platformOf } from '../guest/platform.js';
import { SeededRandom } from '../runtime/random.js';
import type { Scenario, ScenarioWorkload } from '../scenario/schema.js';
import { ERRNO } from '../xen/errno.js';
import { attachHypervisor, type Hypervisor, type SharedHypervisor } from '../xen/hypervisor.js';
import { VIRQ_ARGO } from '../xen/virq.js';
import { ACT, CTL, Digest, REC, RunLogWriter, WS, tick, type RunBuffers } from './run-log.js';
import type { HostCommand, HostReply, WorkerFigures } from './protocol.js';
import { DeviceHost } from './device-host.js';
import { installArgoFirewall } from '../xsm/argo-firewall.js';
import { WorkloadPayloads } from './workload-payloads.js';
import { PageAllocator } from '../memory/page-allocator.js';
import { XenbusClient } from '../xenstore/xenbus-client.js';
import { dom0lessStorePfn } from '../xenstore/xenstored-ring.js';
import { bridgePorts, bridgeVirq } from './virq-bridge.js';
import { createIoreq } from '../ioreq/ioreq.js';
import { ioreqBugsOf } from '../ioreq/host.js';
import type { IoreqTableBuffers } from '../ioreq/tables.js';
import { setReaderSlot } from '../sync/brlock.js';

/** What the main thread hands each worker: the shared state, the scenario and its share of domains. */
export interface DomainHostTask {
  worker: number;
  shared: SharedHypervisor;
  scenario: Scenario;
  /** The domains this worker hosts. */
  domids: number[];
  /** Seed of each scenario workload (by index), drawn as the deterministic runtime draws them. */
  workloadSeeds: number[];
  /** Seed of each scenario device (by index), likewise. */
  deviceSeeds: number[];
  run: RunBuffers;
  /** Commands from the main thread, replies to it (see `protocol.ts`). */
  port: MessagePort;
  /** The shared IOREQ state and how Xen was built (when the scenario has virtio-mmio devices). */
  ioreq?: { buffers: IoreqTableBuffers; built: boolean };
  /** Worker threads hosting domains, this one included. */
  workers: number;
}

interface RingHost {
  ring: ArgoRing;
  actor: Actor<ReturnType<typeof argoRingMachineFor>>;
  /** The application receiving on it (`guestReceiverMachine`, as in the deterministic runtime): each VIRQ_ARGO reaches it as an event. */
  receiver: ReturnType<typeof createGuestReceiverActor>;
  incarnation: number;
  /** Whole messages its receiver takes per handler run: every one, or one (`consume: one`, a poller). */
  budget: number;
}

interface AppHost {
  spec: ScenarioWorkload;
  actor: ReturnType<typeof createGuestAppActor>;
  refusedSeen: Record<string, number>;
  final: boolean;
  /** The stamp after this app's last accepted sendv in the current `step`, else 0. */
  lastStamp: number;
  /** Messages of the workload dealt with by earlier kernels of its domain (a restart). */
  base: number;
  /** The workload's message sizes and payloads, carried over to the next kernel's app. */
  source: AppSource;
  /** Where it sends: its destination's domid when it started (a destination restarted later keeps that one here). */
  dst: { domid: number; aport: number };
}

interface AppSource {
  sizes: number[];
  payloads: WorkloadPayloads;
}

interface Hosted {
  domid: number;
  /** Its domid in the scenario (a restart gives the domain another one). */
  sid: number;
  name: string;
  guest: ArgoGuest;
  rings: RingHost[];
  apps: AppHost[];
  stopBridge: () => void;
  /** A dom0less guest's first kernel: its xenbus's wait on its xenstore port. */
  stopXenbus: () => void;
  /** The guest kernel is gone (quiesced for teardown): no guest code runs. */
  stopped: boolean;
  /** A delayed VIRQ (fault `virq_delay`): the handler waits until this time. */
  holdUntilMs: number;
  /** A poller left whole messages behind: its handler runs again soon (NAPI). */
  repoll: boolean;
  virqs: number;
  waits: number;
}

/**
 * The guest side of a set of domains in one worker thread (issue #5): each domain's guest kernel
 * (`ArgoGuest`), its rings as ring actors with a receiving-application actor each, and its
 * workloads as guest-application actors, over a view of the hypervisor attached to the shared
 * buffers — so every hypercall runs here, in the calling domain's thread, under the §8.6 locks.
 * VIRQ_ARGO reaches a domain from any thread through its pending bit (`bridgeVirq`), and its handler
 * passes it as an event to the receivers (which consume) and to blocked apps (which wake), then
 * notifies, as the deterministic runtime's handler does. Everything that matters to the invariants is written to
 * this worker's shared run log, stamped with the shared clock.
 *
 * @example
 * ```ts
 * // workers/domain-host.ts
 * export default (task: DomainHostTask) => new DomainHost(task).run();
 * ```
 */
export class DomainHost {
  private readonly hv: Hypervisor;
  private readonly log: RunLogWriter;
  private readonly control: Int32Array;
  private readonly status: Int32Array;
  private readonly statusAt: number;
  private readonly hosted = new Map<number, Hosted>();
  /** Scenario domid → the domid its domain has now (a restart gives it another). */
  private readonly current = new Map<number, number>();
  private readonly digest = new Digest();
  private startedAtMs = -1;
  private timeScale = 1;
  private pumpTimer: ReturnType<typeof setTimeout> | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private finish: ((figures: WorkerFigures) => void) | undefined;
  private halted = false;
  private readonly devices: DeviceHost;
  /** The xenbus connections of the dom0less guests booted here (their figures outlive the kernels). */
  private readonly xenbus: XenbusClient[] = [];

  constructor(private readonly task: DomainHostTask) {
    // a reader slot of L1 of its own (the main thread has slot 0): every hypercall takes R(L1)
    setReaderSlot(task.worker + 1);
    this.hv = attachHypervisor(task.shared);
    // the Argo firewall is XSM's, in each thread's view of the hypervisor: the same static policy
    if (task.scenario.firewall !== null) installArgoFirewall(this.hv, task.scenario.firewall);
    this.log = new RunLogWriter(task.run.logs[task.worker]);
    this.control = new Int32Array(task.run.control);
    this.status = new Int32Array(task.run.status);
    this.statusAt = task.worker * WS.STRIDE;
    this.devices = new DeviceHost({
      hv: this.hv,
      // virtio-mmio over IOREQ is libxl's Arm path (§5.10), as in the deterministic runtime
      ioreq: task.ioreq && createIoreq(this.hv, { attach: task.ioreq.buffers, built: task.ioreq.built, arch: 'arm', bugs: ioreqBugsOf(task.scenario.bugs) }),
      bell: task.worker,
      scenario: task.scenario,
      deviceSeeds: task.deviceSeeds,
      timeScale: () => this.timeScale,
      runnable: (domid) => {
        const h = this.hosted.get(domid);
        return h !== undefined && this.runnable(h);
      },
      alive: (domid) => this.hosted.get(domid)?.stopped === false && this.hv.life(domid) === 'alive',
      // the domains whose guests run here now (a stopped one's domain may be gone already)
      hosted: () =>
        [...this.hosted.values()]
          .filter((h) => !h.stopped)
          .map((h) => ({ domid: h.domid, ready: () => this.runnable(h) && h.holdUntilMs <= performance.now(), handleVirq: () => this.handleVirq(h, false) })),
      announce: (domid, work) => this.announce(work === 'init' ? ACT.DEVICE_INIT : work === 'batch' ? ACT.DEVICE_BATCH : ACT.IDLE, domid),
      heartbeat: () => void Atomics.add(this.status, this.statusAt + WS.HEARTBEAT, 1),
      progress: () => void Atomics.add(this.control, CTL.DEVICE_PROGRESS, 1),
      final: (name) => this.reply({ type: 'device-final', name }),
    });
  }

  /** Boots the hosted guests, says ready, and serves commands until `finish`; resolves with its figures. */
  run(): Promise<WorkerFigures> {
    const done = new Promise<WorkerFigures>((resolve) => (this.finish = resolve));
    this.heartbeat = setInterval(() => Atomics.add(this.status, this.statusAt + WS.HEARTBEAT, 1), 5);
    for (const d of this.task.scenario.domains) this.current.set(d.domid, d.domid);
    for (const domid of this.task.domids) {
      this.boot(domid, domid, true, (h) =>
        this.task.scenario.workloads.flatMap((w, i) => {
          if (w.fromDomid !== domid) return [];
          const rng = new SeededRandom(this.task.workloadSeeds[i]);
          const sizes = Array.from({ length: Math.max(1, w.count) }, () => rng.int(w.size.minBytes, w.size.maxBytes));
          return [this.createApp(h, w, { sizes, payloads: new WorkloadPayloads(rng, w.size.maxBytes) }, 0)];
        }),
      );
    }
    this.task.port.on('message', (command: HostCommand) => this.command(command));
    this.reply({ type: 'ready' });
    return done;
  }

  private reply(message: HostReply): void {
    this.task.port.postMessage(message);
  }

  private command(c: HostCommand): void {
    switch (c.type) {
      case 'start':
        this.startedAtMs = performance.now();
        this.timeScale = c.timeScale;
        for (const h of this.hosted.values()) for (const app of h.apps) this.startApp(h, app);
        this.devices.start();
        return this.pump();
      case 'quiesce':
        this.quiesce(c.domid);
        return this.reply({ type: 'ack', id: c.id });
      case 'reboot': {
        const old = this.hosted.get(c.domid)!;
        this.hosted.delete(c.domid);
        this.boot(c.domid, old.sid, false, () => []); // soft reset: a new kernel, without the old one's apps
        return this.reply({ type: 'ack', id: c.id });
      }
      case 'attach':
        this.hv.attachMemory(c.domid, c.memory);
        return this.reply({ type: 'ack', id: c.id });
      case 'restart':
        for (const [sid, domid] of c.domids) this.current.set(sid, domid);
        this.restart(c.from, c.domid);
        return this.reply({ type: 'ack', id: c.id });
      case 'unregister':
        this.unregister(c.domid, c.port, c.partner);
        return this.reply({ type: 'ack', id: c.id });
      case 'backend-up':
        return this.devices.backendUp(c.device, c.domid);
      case 'kick': {
        const h = this.hosted.get(c.domid);
        if (h) this.handleVirq(h, true);
        return;
      }
      case 'virq_delay': {
        const h = this.hosted.get(c.domid);
        if (h) h.holdUntilMs = performance.now() + c.delayMs * this.timeScale;
        return;
      }
      case 'balloon':
        this.devices.balloon(c.domid);
        return this.reply({ type: 'ack', id: c.id });
      case 'device-model':
        return this.reply({ type: 'ack', id: c.id, ok: this.devices.deviceModelFault(c.device, c.fault) });
      case 'device-model-close':
        return this.devices.closeDeviceModel(c.device, () => this.reply({ type: 'device-closed', device: c.device }));
      case 'device-removed':
        return this.devices.removed(c.device);
      case 'crash':
        process.exit(70); // a worker thread dies between two hypercalls: its domains' guests vanish
        return;
      case 'halt':
        clearTimeout(this.pumpTimer);
        this.halted = true;
        this.devices.halt();
        for (const h of this.hosted.values()) for (const app of h.apps) if (app.actor.getSnapshot().status === 'active') app.actor.stop();
        return this.reply({ type: 'ack', id: c.id });
      case 'finish':
        return this.end();
    }
  }

  /**
   * A domain's guest boots in this thread: its kernel, its scenario rings (`sid`: its domid in the
   * scenario; partners as they are now), its VirtIO-Argo devices' ends (`DeviceHost.booted`; front
   * ends on its `first` boot only), the VIRQ bridge, and the apps `appsOf` makes.
   */
  private boot(domid: number, sid: number, first: boolean, appsOf: (h: Hosted) => AppHost[]): Hosted {
    const spec = this.task.scenario.domains.find((d) => d.domid === sid)!;
    const platform = platformOf(this.hv, domid);
    // a guest Xen built at boot (dom0less; its scenario domid — a restart gets another): its last page
    // is its xenstore page, not the kernel's to hand out, also after a soft reset; its xenbus runs in
    // its first kernel only (a soft reset's is libxl's to introduce)
    const built = spec.dom0less && domid === sid;
    const dom0less = built && first;
    const guest = new ArgoGuest(platform, built ? { pages: new PageAllocator(dom0lessStorePfn(platform.memory.pages)) } : {});
    const h: Hosted = { domid, sid, name: spec.name, guest, rings: [], apps: [], stopBridge: () => {}, stopXenbus: () => {}, stopped: false, holdUntilMs: 0, repoll: false, virqs: 0, waits: 0 };
    this.hosted.set(domid, h);
    for (const r of this.task.scenario.rings) {
      if (r.ownerDomid === sid) this.registerRing(h, r.port, r.partnerDomid === 'any' ? XEN_ARGO_DOMID_ANY : this.current.get(r.partnerDomid)!, r.len, r.consume === 'one' ? 1 : Infinity);
    }
    this.devices.booted(domid, sid, guest, (s) => this.current.get(s) ?? s, first);
    // with one worker, the senders that raise VIRQ_ARGO run in this thread: it would poll for them in vain
    h.stopBridge = bridgeVirq(this.hv, domid, VIRQ_ARGO, () => this.handleVirq(h, false), this.task.workers > 1);
    if (dom0less) {
      const xenbus = new XenbusClient(this.hv, domid, spec.name);
      this.xenbus.push(xenbus);
      // a paused guest leaves its event pending, as its VIRQ: the handler runs once it runs again
      h.stopXenbus = bridgePorts(this.hv, domid, ~0, () => this.runnable(h) && (xenbus.event(), true));
    }
    h.apps = appsOf(h);
    return h;
  }

  /**
   * on_*=restart (as in the deterministic runtime): the old domain's kernel is gone; the new one
   * boots as `domid` and goes on with each workload the old one had not finished, from the message
   * it stopped at, to its destination's domid of now. Its figures are the domain's over the run.
   */
  private restart(from: number, domid: number): void {
    const old = this.hosted.get(from)!;
    if (!old.stopped) throw new Error(`restart of domain ${from} as ${domid}: its guest still runs here`);
    this.hosted.delete(from);
    const h = this.boot(domid, old.sid, false, (h) =>
      old.apps.flatMap((app) => {
        const base = app.base + app.actor.getSnapshot().context.seq;
        if (app.actor.getSnapshot().status !== 'stopped' || base >= app.spec.count) {
          this.reply({ type: 'app-final', name: app.spec.name });
          return [];
        }
        return [this.createApp(h, app.spec, app.source, base)];
      }),
    );
    h.virqs = old.virqs;
    h.waits = old.waits;
    if (this.startedAtMs >= 0) for (const app of h.apps) this.startApp(h, app);
  }

  private announce(activity: number, domid: number, peer = 0): void {
    Atomics.store(this.status, this.statusAt + WS.DOMID, domid);
    Atomics.store(this.status, this.statusAt + WS.PEER, peer);
    Atomics.store(this.status, this.statusAt + WS.ACTIVITY, activity);
    if (activity === ACT.IDLE) Atomics.add(this.status, this.statusAt + WS.HEARTBEAT, 1);
  }

  /** Registers a ring through its ring actor, logging the incarnation (or the refusal). */
  private registerRing(h: Hosted, aport: number, partner: number, len: number, budget: number): void {
    let refused: ArgoError | undefined;
    const actor = createActor(argoRingMachineFor(this.hv, h.guest, (e) => (refused = e)), { input: { owner: h.domid, aport, partner, len } }).start();
    this.announce(ACT.REGISTER, h.domid);
    const before = tick(this.control);
    actor.send({ type: 'REGISTER' });
    const after = tick(this.control);
    this.announce(ACT.IDLE, 0);
    const ring = [...h.guest.rings.values()].find((r) => r.aport === aport >>> 0 && r.partner === partner);
    if (refused || !ring || !actor.getSnapshot().matches('registered')) {
      this.log.append(REC.REGISTER_REFUSED, after, 0, h.domid, aport, partner, refused?.errno ?? 0);
      actor.stop();
      return;
    }
    const incarnation = Atomics.add(this.control, CTL.INCARNATION, 1) + 1;
    this.log.append(REC.REGISTERED, before, after, h.domid, aport, partner, incarnation, this.hv.domainTable.identityOf(h.domid));
    // where the guest copies each message out of the ring, and the same bytes as words (the digest)
    const scratch = new Uint8Array(ring.len);
    const scratchWords = new Int32Array(scratch.buffer, 0, ring.len >>> 2);
    const onMessage = (source: number, payload: Uint8Array): void => {
      const d = this.digest.of(scratch, scratchWords, 0, payload.length);
      this.log.stage(REC.RECEIVED, h.domid, ring.aport, incarnation, source, payload.length, d.lo, d.hi);
    };
    const receiver = createGuestReceiverActor({ ring, scratch, budget, onMessage }, { input: { owner: h.domid, aport: ring.aport } }).start();
    h.rings.push({ ring, actor, receiver, incarnation, budget });
  }

  private unregister(domid: number, aport: number, partner: number): void {
    const h = this.hosted.get(domid);
    const r = h?.rings.find((x) => x.ring.aport === aport && x.ring.partner === partner);
    if (!h || !r || h.stopped) return;
    this.announce(ACT.UNREGISTER, domid);
    const before = tick(this.control);
    r.actor.send({ type: 'UNREGISTER' }); // the ring actor unregisters it (argo.md §4.2)
    const after = tick(this.control);
    this.announce(ACT.IDLE, 0);
    this.log.append(REC.UNREGISTERED, before, after, r.incarnation);
    h.rings.splice(h.rings.indexOf(r), 1);
    r.receiver.send({ type: 'STOP' });
    r.actor.stop();
  }

  /** The domain is about to be torn down: its guest stops running here (its vCPUs are descheduled). */
  private quiesce(domid: number): void {
    const h = this.hosted.get(domid);
    if (!h || h.stopped) return;
    h.stopped = true;
    h.stopBridge();
    h.stopXenbus();
    this.devices.quiesced(domid);
    for (const app of h.apps) if (app.actor.getSnapshot().status === 'active') app.actor.stop();
    for (const r of h.rings) {
      r.receiver.send({ type: 'STOP' });
      r.actor.stop();
    }
    h.guest.close();
  }

  /**
   * A workload as a guest-application actor; payloads drawn from its seed, every accepted sendv
   * logged. Stamps: the one after a sendv is also the one before the next sendv of the same run
   * (`sendRun`'s loop inside one actor event, see `step`): nothing of this app happens between them.
   */
  private createApp(h: Hosted, spec: ScenarioWorkload, source: AppSource, base: number): AppHost {
    const { payloads } = source;
    let before = 0;
    const hooks = {
      payload: (seq: number, size: number) => {
        const bytes = payloads.of(base + seq, size);
        before = app.lastStamp !== 0 ? app.lastStamp : tick(this.control); // before the sendv: smaller than any stamp of its delivery
        return bytes;
      },
      onSendv: (_seq: number, bytes: Uint8Array, rc: number) => {
        if (rc < 0) {
          app.lastStamp = 0;
          if (rc === -ERRNO.EAGAIN) h.waits++;
          return; // refusals are logged from the app's own tally (see observeApp)
        }
        const after = tick(this.control);
        this.log.append(REC.SENT, before, after, h.domid, dst.domid, dst.aport, bytes.length, payloads.digest.lo, payloads.digest.hi, meant); // where it went: the domid looked up
        app.lastStamp = after;
      },
    };
    // an application looks its peer up when it starts: a peer restarted later keeps its old domid here
    const dst = { domid: this.current.get(spec.to.domid) ?? spec.to.domid, aport: spec.to.port };
    const meant = this.hv.domainTable.identityOf(dst.domid); // the domain it means (monitor stale-domid)
    const actor = createGuestAppActor(h.guest, { messageType: spec.messageType, srcPort: spec.srcPort }, hooks, {
      input: { dst, count: spec.count - base, sizes: source.sizes.slice(base, Math.max(base + 1, spec.count)), paced: spec.intervalMs > 0 },
    });
    const app: AppHost = { spec, actor, refusedSeen: {}, final: false, lastStamp: 0, base, source, dst };
    actor.subscribe((snapshot) => this.observeApp(h, app, snapshot));
    actor.start();
    return app;
  }

  /** One event to an app; its sendvs all happen inside this call (a run of `sendRun`). */
  private step(app: AppHost, event: { type: 'START' } | { type: 'SEND' } | { type: 'VIRQ' }): void {
    app.lastStamp = 0;
    app.actor.send(event);
    app.lastStamp = 0;
  }

  private observeApp(h: Hosted, app: AppHost, snapshot: ReturnType<AppHost['actor']['getSnapshot']>): void {
    for (const [name, n] of Object.entries(snapshot.context.refused)) {
      const errno = ERRNO[name as keyof typeof ERRNO] ?? 0;
      for (let k = app.refusedSeen[name] ?? 0; k < n; k++) {
        this.log.append(REC.REFUSED, tick(this.control), 0, h.domid, app.actor.getSnapshot().context.dst.domid, app.spec.to.port, errno);
      }
      app.refusedSeen[name] = n;
    }
    if (!app.final && snapshot.status !== 'active') {
      app.final = true;
      this.reply({ type: 'app-final', name: app.spec.name });
    }
  }

  /** True while the domain's vCPUs run (alive, not paused, not shut down) and its guest is here. */
  private runnable(h: Hosted): boolean {
    if (h.stopped || this.hv.life(h.domid) !== 'alive') return false;
    return (this.hv.domctl.getInfo(h.domid).flags & XEN_DOMINF_running) !== 0;
  }

  private startApp(h: Hosted, app: AppHost): void {
    const at = this.startedAtMs + (app.spec.startMs + app.base * app.spec.intervalMs) * this.timeScale;
    const go = () => {
      if (app.actor.getSnapshot().status !== 'active') return;
      if (!this.runnable(h)) return void (h.stopped ? undefined : setTimeout(go, 1)); // deferred until it runs again
      this.announce(ACT.SENDV, h.domid, app.dst.domid);
      this.step(app, { type: 'START' });
      this.announce(ACT.IDLE, 0);
    };
    const delayMs = at - performance.now();
    if (delayMs > 0) setTimeout(go, delayMs);
    else setImmediate(go); // due now: a setTimeout would add a millisecond
  }

  /** Paced apps: a SEND for every slot of their rate that has come (virtual ms × timeScale). */
  private pump(): void {
    const now = performance.now();
    for (const h of this.hosted.values()) {
      if (!this.runnable(h)) continue;
      for (const app of h.apps) {
        if (app.spec.intervalMs <= 0) continue;
        for (let guard = 0; guard < 64; guard++) {
          const s = app.actor.getSnapshot();
          if (s.status !== 'active' || s.value !== 'ready') break;
          if (this.startedAtMs + (app.spec.startMs + (app.base + s.context.seq) * app.spec.intervalMs) * this.timeScale > now) break;
          this.announce(ACT.SENDV, h.domid, app.dst.domid);
          this.step(app, { type: 'SEND' });
          this.announce(ACT.IDLE, 0);
        }
      }
    }
    if (!this.halted) this.pumpTimer = setTimeout(() => this.pump(), 1);
  }

  /**
   * The guest's VIRQ_ARGO handler (as the deterministic runtime's): acknowledge, pass the VIRQ to
   * each ring's receiving application (it consumes; each message logged with its digest), notify
   * once, and pass it to blocked apps, which re-check. A paused or held domain leaves the VIRQ pending
   * for later (false).
   */
  private handleVirq(h: Hosted, force: boolean): boolean {
    if (!this.runnable(h)) return false;
    if (!force && h.holdUntilMs > performance.now()) return false;
    h.virqs++;
    this.announce(ACT.VIRQ_HANDLER, h.domid);
    this.hv.clearVirq(h.domid, VIRQ_ARGO);
    let drained = 0;
    for (const r of h.rings) drained += this.consume(r);
    if (drained > 0) {
      this.log.publishStaged(tick(this.control)); // after every read of the batch
      h.guest.notify();
    }
    this.devices.virq(h.domid); // its VirtIO-Argo transports' rings, under the same acknowledgement
    // a poller (`consume: one`) left whole messages behind: it polls again, as the deterministic runtime's does
    if (!h.repoll && h.rings.some((r) => r.budget !== Infinity && r.ring.nextPayloadBytes() >= 0)) {
      h.repoll = true;
      setImmediate(() => {
        h.repoll = false;
        this.handleVirq(h, true);
      });
    }
    for (const app of h.apps) {
      if (app.actor.getSnapshot().status === 'active' && app.actor.getSnapshot().value === 'blocked') this.step(app, { type: 'VIRQ' });
    }
    this.announce(ACT.IDLE, 0);
    return true;
  }

  /**
   * The VIRQ reaches the ring's receiving application as an event: it takes every whole message (a
   * poller one), each staged as a record (published by the handler). How many it took.
   */
  private consume(r: RingHost): number {
    const before = r.receiver.getSnapshot().context.received;
    r.receiver.send({ type: 'VIRQ' });
    return r.receiver.getSnapshot().context.received - before;
  }

  /** The end of the run: a last consume of every ring of a running domain, then the figures. */
  private end(): void {
    clearTimeout(this.pumpTimer);
    clearInterval(this.heartbeat);
    this.devices.end();
    for (const h of this.hosted.values()) {
      // the last consume takes every whole message, a poller's too
      while (this.runnable(h)) {
        this.handleVirq(h, true);
        if (!h.rings.some((r) => r.ring.nextPayloadBytes() >= 0)) break;
      }
      this.quiesce(h.domid);
    }
    this.task.port.close();
    this.finish?.({
      worker: this.task.worker,
      threadId,
      domains: [...this.hosted.values()].map((h) => ({ domid: h.domid, name: h.name, virqs: h.virqs, waits: h.waits })),
      devices: this.devices.figures(),
      mmioBackends: this.devices.mmioFigures(),
      xenbus: this.xenbus.map((x) => x.figures()),
      violations: [...this.devices.violations],
    });
  }
}
