import { performance } from 'node:perf_hooks';
import { createVirtioArgoBackSide, createVirtioArgoFrontSide, type VirtioArgoBackSide, type VirtioArgoFrontSide } from '../../machines/implementations/virtio-device-core.js';
import type { ArgoGuest } from '../guest/argo-guest.js';
import { argoFrontTransport, blkModelFor, DeviceRun, sharedWithPeer, type DeviceFigures } from '../runtime/devices.js';
import { bridgeFor, NET_CHAIN_BYTES_MAX, NetDeviceRun, netFrontOptions, netModelFor } from '../runtime/net-devices.js';
import { SeededRandom } from '../runtime/random.js';
import type { Scenario, ScenarioDevice } from '../scenario/schema.js';
import type { NetBridge } from '../virtio/net/bridge.js';
import type { VirtioDeviceModel } from '../virtio/virtio-device.js';
import type { Hypervisor } from '../xen/hypervisor.js';
import { VIRQ_ARGO } from '../xen/virq.js';

/**
 * How long a front end waits for a control answer from a back end in another thread, in wall
 * milliseconds per scenario millisecond of `timeScale` (SIM CHOICE, docs/parallel.md): the guest's
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
/** The longest a device's workload waits before it looks again when a batch got nowhere. */
const IDLE_BATCH_DELAY_MAX_MS = 32;

/** What the domain host lends the devices of its domains. */
export interface DeviceHostEnv {
  hv: Hypervisor;
  scenario: Scenario;
  /** Seed of each scenario device (by index), drawn as the deterministic runtime draws them. */
  deviceSeeds: number[];
  /** Wall milliseconds per scenario millisecond. */
  timeScale(): number;
  /** True while the domain's vCPUs run and its guest is here. */
  runnable(domid: number): boolean;
  /** The domains hosted here now, with their VIRQ handler (what runs when one is pending during a wait). */
  hosted(): Iterable<{ domid: number; handleVirq(): void }>;
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
  side: VirtioArgoFrontSide;
  /** The pending batch's timer (one batch in the offing per device). */
  timer: ReturnType<typeof setTimeout> | undefined;
  /** Batches in a row that got nowhere (the next waits 2^n ms, up to `IDLE_BATCH_DELAY_MAX_MS`). */
  idle: number;
  final: boolean;
}

interface Back {
  spec: ScenarioDevice;
  side: VirtioArgoBackSide;
  model: VirtioDeviceModel;
  domid: number;
}

/**
 * The VirtIO-Argo devices of the domains one worker hosts (issue #5 with issue #6's devices): a
 * device's back end — its transport, device model and actor — runs in the thread of its back-end
 * domain, its front end — transport, actor, the guest's driver and workload — in the thread of its
 * front-end domain, and every byte between them crosses as Argo sendv over the shared rings, woken
 * by the domains' VIRQs from thread to thread. The front end's control operations are round trips:
 * its vCPU waits, bounded, for the answer on its domain's pending bit, serving meanwhile whatever
 * else of this thread has a VIRQ pending (so two threads waiting on each other's back ends both go
 * on). Blocks are checked against the guest's reference image and echoes against what was sent, as
 * in the deterministic runtime; what is wrong goes to `violations`.
 */
export class DeviceHost {
  readonly violations: string[] = [];
  private readonly fronts: Front[] = [];
  private readonly backs: Back[] = [];
  private readonly bridges = new Map<string, NetBridge>();
  private started = false;
  private halted = false;
  /** A front end waits for an answer: the deadline of the wait. */
  private deadline = 0;

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
      if (spec.transport !== 'argo') continue;
      if (spec.backend === name) this.backendBooted(spec, domid, guest, current(this.sidOf(spec.frontend)));
      if (spec.frontend === name && first) this.frontendBooted(spec, i, domid, guest, current(this.sidOf(spec.backend)));
    }
  }

  /**
   * The run starts: every front end initialises its device — each in a turn of its own of the
   * thread's event loop, so the other domains here run between two probes — then its workload
   * begins at its `start`.
   */
  start(): void {
    this.started = true;
    for (const f of this.fronts) {
      setImmediate(() => {
        if (f.final || this.halted) return;
        this.env.announce(f.domid, 'init');
        f.run.start();
        this.env.announce(0, null);
        this.schedule(f, f.spec.startMs * this.env.timeScale());
      });
    }
  }

  /** A new back end of device `name` listens in domain `domid`: its front end resets and re-initialises. */
  backendUp(name: string, domid: number): void {
    const f = this.fronts.find((x) => x.spec.name === name);
    if (!f || f.final || this.halted) return;
    this.env.announce(f.domid, 'init');
    f.side.backendUp(domid);
    this.env.announce(0, null);
    this.schedule(f, 0);
  }

  /** Domain `domid`'s VIRQ handler runs: its devices' transports drain their rings and retry what waited. */
  virq(domid: number): void {
    for (const b of this.backs) if (b.domid === domid) b.side.backend.endpoint.serve();
    for (const f of this.fronts) {
      if (f.domid !== domid || f.final) continue;
      f.side.frontend.endpoint.serve();
      if (this.started) this.schedule(f, 0); // completions came, or the link went: the workload looks
    }
  }

  /** The domain stops running here (teardown, soft reset): its back ends stop serving, its front ends' workloads end. */
  quiesced(domid: number): void {
    for (const b of this.backs) if (b.domid === domid) b.side.backend.endpoint.close();
    for (const f of this.fronts) {
      if (f.domid !== domid || f.final) continue;
      f.run.frontendDown();
      this.finalise(f);
    }
  }

  /** No more batches (the run is ending). */
  halt(): void {
    this.halted = true;
    for (const f of this.fronts) clearTimeout(f.timer);
  }

  /** The figures of the devices whose front ends run here. */
  figures(): DeviceFigures[] {
    return this.fronts.map((f) => f.run.figures());
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
    const hooks = { onUsed: () => this.schedule(f, 0), waitForPeer: (attempt: number) => this.waitForPeer(domid, attempt) };
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
    const f: Front = { spec, domid, run, side: side!, timer: undefined, idle: 0, final: false };
    // the domain's VIRQ handler pumps it (`virq`)
    f.side.frontend.endpoint.autoPump = false;
    this.fronts.push(f);
  }

  /**
   * The device's next batch `delayMs` (wall) from now — or sooner: one batch in the offing per
   * device, and an earlier call (a completion) brings a later one forward.
   */
  private schedule(f: Front, delayMs: number): void {
    if (f.final || this.halted || !this.started) return;
    clearTimeout(f.timer);
    f.timer = setTimeout(() => this.batch(f), Math.max(0, delayMs));
  }

  private batch(f: Front): void {
    f.timer = undefined;
    if (f.final || this.halted) return;
    if (!f.run.wantsMore) return this.finalise(f);
    if (!this.env.runnable(f.domid)) return this.schedule(f, 1); // paused: it goes on when it runs again
    this.env.announce(f.domid, 'batch');
    const moved = f.run.batch();
    this.env.announce(0, null);
    if (!f.run.wantsMore) return this.finalise(f);
    if (moved) {
      f.idle = 0;
      this.env.progress();
      return this.schedule(f, f.spec.intervalMs * this.env.timeScale());
    }
    // nothing moved (completions still on their way, or the device not live): look again later,
    // or as soon as a completion or a new back end comes
    f.idle = Math.min(f.idle + 1, Math.log2(IDLE_BATCH_DELAY_MAX_MS));
    this.schedule(f, 2 ** f.idle);
  }

  private finalise(f: Front): void {
    if (f.final) return;
    f.final = true;
    clearTimeout(f.timer);
    this.env.final(f.spec.name);
  }

  /**
   * A front end in `domid` waits for a control answer (`VirtioArgoFrontendOptions.waitForPeer`): one
   * bounded wait on the domain's pending bit, then every hosted domain with VIRQ_ARGO pending has
   * its handler run — its own (the answer) and any other, a back end another thread may be waiting
   * on among them. False once the deadline has passed or the run is halting.
   */
  private waitForPeer(domid: number, attempt: number): boolean {
    const hv = this.env.hv;
    if (attempt === 0) this.deadline = performance.now() + CONTROL_ANSWER_TIMEOUT_MS * this.env.timeScale();
    if (this.halted || performance.now() >= this.deadline || !this.env.runnable(domid)) return false;
    const hosted = [...this.env.hosted()];
    // a back end of this thread may be what it waits for: no wait while a VIRQ of this thread is pending
    if (!hosted.some((h) => hv.virqPending(h.domid, VIRQ_ARGO))) hv.waitVirqSync(domid, VIRQ_ARGO, ANSWER_WAIT_SLICE_MS);
    this.env.heartbeat();
    for (const h of hosted) if (hv.virqPending(h.domid, VIRQ_ARGO)) h.handleVirq();
    return true;
  }

  private nameOf(sid: number): string {
    return this.env.scenario.domains.find((d) => d.domid === sid)!.name;
  }

  private sidOf(name: string): number {
    return this.env.scenario.domains.find((d) => d.name === name)!.domid;
  }
}
