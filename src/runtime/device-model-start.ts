import type { DeviceModel } from '../../machines/implementations/toolstack-core.js';
import type { Scenario, ScenarioDevice } from '../scenario/schema.js';
import type { XenstoreApi as Xenstore } from '../xenstore/xenstore-api.js';
import { QmpMonitor } from './qmp.js';

/**
 * What a guest's device model needs of the runtime: scheduling points, its back end's domain, the
 * store, and the toolstack's steps.
 *
 * @example
 * ```ts
 * const host: DeviceModelHost = { point, timer, asBackend, backendDomid, guestAlive, xenstore, toolstackDoes, confirmed, violate };
 * ```
 */
export interface DeviceModelHost {
  /** Schedules a scheduling point `delayMs` from now. */
  point(kind: 'guest' | 'toolstack', actor: string, label: string, delayMs: number, run: () => void): void;
  /** A timer of the guest's toolstack (its domctls made after `run`): `run` after `ms` unless the returned function cancels it first. */
  timer(ms: number, run: () => void): () => void;
  /** Runs `work` as a vCPU of the back end's domain: now if it runs, when it runs again, never once it is gone. */
  asBackend(work: () => void): void;
  /** The back end's domid now (undefined while it has none). */
  backendDomid(): number | undefined;
  /** Whether the guest `domid` still lives: a device model cannot attach to a dead one. */
  guestAlive(domid: number): boolean;
  readonly xenstore: Xenstore;
  /** Runs a step of the guest's toolstack actor and the domctls it made. */
  toolstackDoes(step: () => void): void;
  /** Called once the toolstack has taken a confirmation (create went on to attach the devices). */
  confirmed(domid: number): void;
  /** A monitor's report (qmp-answers). */
  violate(what: string): void;
}

/**
 * The device model's historical bugs (docs/races.md R8, R13).
 *
 * @example
 * ```ts
 * const today: DeviceModelBugs = { qmpDisconnectBeforeReply: false, qemuExitsOnGuestPoweroff: false };
 * ```
 */
export interface DeviceModelBugs {
  /**
   * R8, before Xen ae29aa0f8f: QEMU started running (no -S) and its start was confirmed by xenstore's
   * "running"; libxl then dropped its QMP connection, with the answer to its query perhaps unread.
   */
  qmpDisconnectBeforeReply: boolean;
  /** R13, before Xen 9ba80a722b: QEMU ran without -no-shutdown, so it exited when its guest powered off. */
  qemuExitsOnGuestPoweroff: boolean;
}

/** A device model process of one start: its guest's domid, its QMP monitor, and how it ended. */
interface DeviceModelProcess {
  domid: number;
  qmp: QmpMonitor;
  /** The start is over: confirmed, failed, or given up. */
  over: boolean;
  /** Killed by libxl, or exited by itself. */
  end: 'killed' | 'exited' | null;
  /** The start failed: QEMU exited and libxl sees its child die. */
  exit(): void;
}

/** A device model's start as the scenario sets it (`devices[].dmStart`). */
export interface DeviceModelStart {
  /** Virtual ms from the spawn to the confirmation (or, with `fails`, to its exit). */
  delayMs: number;
  fails: boolean;
}

/**
 * The start of a guest's virtio-mmio devices taken together: their device model runs in the back
 * end's domain (the first device's when they have several, a SIM CHOICE: libxl spawns one device
 * model per guest), confirms `delayMs` after the spawn — the latest of the devices' `dmStart` — and
 * fails when any of them says `fails`.
 *
 * @example
 * ```ts
 * deviceModelStartOf(mmioDevicesOf(scenario, 'guest')); // { delayMs: 0, fails: false }
 * ```
 */
export function deviceModelStartOf(devices: readonly ScenarioDevice[]): DeviceModelStart {
  const starts = devices.map((d) => d.dmStart ?? { delayMs: 0, fails: false });
  return { delayMs: Math.max(0, ...starts.map((s) => s.delayMs)), fails: starts.some((s) => s.fails) };
}

/**
 * The device model libxl spawns when it creates a guest with virtio-mmio devices, in a run
 * (virtio-ioreq-lifecycle.md §6.4 create step 4 and unpause, §7 case 39, R8, R13, R16). `start` is
 * libxl's spawn (libxl_exec.c `libxl__spawn_spawn`): `delayMs` later the device model is up in the
 * back end's domain (a scheduling point of that domain). Today's QEMU is started paused (-S) and
 * libxl relies on QMP alone (Xen ae29aa0f8f): its `query-status` answered is the confirmation, and
 * the guest's unpause first sends `cont` (libxl__dm_resume), upon which QEMU runs and writes
 * `/local/domain/<be>/device-model/<domid>/state = running`. With `qmpDisconnectBeforeReply` (R8)
 * QEMU runs at once and writes "running" itself; libxl's xswait on the node confirms the start and
 * libxl drops its QMP connection, the answer to its query perhaps unread — which wedges QEMU's
 * monitor, and the `cont` of the unpause then goes unanswered.
 *
 * A device model that fails (`fails`, or a `dm_start_fail` fault) exits instead, and libxl sees its
 * child die (`spawn_middle_death`): a scheduling point too. `kill` (destroy, or a start given up)
 * cancels what is pending and removes the node, as `libxl__destroy_device_model` does, and tells
 * whether the process was still there. Run with -no-shutdown (today, Xen 9ba80a722b), QEMU stays
 * when its guest powers off, stopped, until libxl kills it; with `qemuExitsOnGuestPoweroff` (R13) it
 * exits, closing its QMP socket, and libxl's destroy finds it gone.
 *
 * @example
 * ```ts
 * const dm = new GuestDeviceModel('guest', { delayMs: 70_000, fails: false }, host);
 * dm.start(3, started, failed); // nothing for 70 s: libxl's 60 s timeout fires first
 * ```
 */
export class GuestDeviceModel implements DeviceModel {
  /** The process of the latest start. */
  private process: DeviceModelProcess | null = null;
  /** A `dm_start_fail` fault waits for the next start. */
  private failNext = false;

  constructor(
    readonly guest: string,
    private readonly startSpec: DeviceModelStart,
    private readonly host: DeviceModelHost,
    private readonly bugs: DeviceModelBugs = { qmpDisconnectBeforeReply: false, qemuExitsOnGuestPoweroff: false },
  ) {}

  start(domid: number, started: () => void, failed: () => void): void {
    const toolstack = `toolstack:${this.guest}`;
    const process: DeviceModelProcess = {
      domid,
      over: false,
      end: null,
      qmp: new QmpMonitor({
        qemu: (label, run) => this.host.point('guest', `dm:${this.guest}`, label, 0, () => this.host.asBackend(run)),
        libxl: (label, run) => this.host.point('toolstack', toolstack, label, 0, () => this.host.toolstackDoes(run)),
        timer: (ms, run) => this.host.timer(ms, run),
        unanswered: (what) => this.host.violate(what),
      }),
      exit: () => {
        // libxl_exec.c spawn_middle_death: the child died before it confirmed its start
        process.over = true;
        process.end = 'exited';
        process.qmp.close();
        this.host.point('toolstack', toolstack, 'device model: exited', 0, () => this.host.toolstackDoes(failed));
      },
    };
    const confirm = () => {
      process.over = true;
      started();
      this.host.confirmed(domid);
    };
    this.process = process;
    const fails = this.startSpec.fails || this.failNext;
    this.failNext = false;
    this.host.point('guest', `dm:${this.guest}`, 'device model: start', this.startSpec.delayMs, () => {
      if (process.over) return;
      // a guest that died before its device model ran (killed, crashed): creating its IOREQ server
      // and mapping its memory fail, and the device model exits — libxl sees its child die
      if (fails || !this.host.guestAlive(domid)) return process.exit();
      this.host.asBackend(() => {
        const be = this.host.backendDomid();
        if (process.over || be === undefined) return;
        if (!this.bugs.qmpDisconnectBeforeReply) {
          // QEMU waits in "prelaunch" (-S); libxl's QMP query-status answered confirms the start. A
          // QEMU that cannot answer yet (its domain paused) is asked again: the start has
          // LIBXL_DEVICE_MODEL_START_TIMEOUT, not one command's timeout
          const ask = (): void =>
            process.qmp.command('query-status', () => {}, (result) => {
              if (process.over) return;
              if (result === 'answered') return confirm();
              if (result === 'closed') return process.exit();
              ask();
            });
          return ask();
        }
        // R8's QEMU runs at once and says so in xenstore; libxl's QMP connection asks too
        this.host.xenstore.write(be, stateNode(be, domid), 'running');
        process.qmp.command('query-status', () => {}, () => {});
        // libxl's xswait on the node (lifecycle §6.4: the device model reports ready through xenstore)
        this.host.point('toolstack', toolstack, 'device-model state: running', 0, () => {
          if (process.over) return;
          process.qmp.disconnect('when xenstore said "running"');
          this.host.toolstackDoes(confirm);
        });
      });
    });
  }

  /** Whether the device model of guest `domid` runs: started for it, neither killed by libxl nor exited. */
  runs(domid: number): boolean {
    const process = this.process;
    return process?.domid === domid && process.end === null;
  }

  resume(domid: number, done: (ok: boolean) => void): void {
    const process = this.process;
    if (process?.domid !== domid) return done(false);
    // QEMU leaves "prelaunch" and runs: its state change is written to xenstore (R8's QEMU already ran)
    const run = () => {
      const be = this.host.backendDomid();
      if (be !== undefined && !this.bugs.qmpDisconnectBeforeReply) this.host.xenstore.write(be, stateNode(be, domid), 'running');
    };
    // an answer for a device model libxl killed meanwhile (a destroy, a restart) is nobody's news:
    // the toolstack may already be unpausing the next domain of this configuration
    process.qmp.command('cont', run, (result) => {
      if (this.process === process && process.end !== 'killed') done(result === 'answered');
    });
  }

  kill(domid: number): boolean {
    const process = this.process?.domid === domid ? this.process : null;
    const be = this.host.backendDomid();
    if (be !== undefined) this.host.xenstore.rm(0, `/local/domain/${be}/device-model/${domid}`);
    if (!process) return true;
    process.over = true;
    if (process.end === 'exited') return false;
    process.end = 'killed';
    process.qmp.close();
    return true;
  }

  /**
   * The guest `domid` powered off (its ACPI power-off reaches QEMU, a SIM CHOICE: the model's guest
   * shuts itself down through Xen and QEMU hears of it after): with -no-shutdown QEMU stops the VM
   * and stays; with `qemuExitsOnGuestPoweroff` (R13) it exits, closing its QMP socket.
   */
  guestPoweredOff(domid: number): void {
    const process = this.process;
    if (process?.domid !== domid || process.end !== null || !this.bugs.qemuExitsOnGuestPoweroff) return;
    this.host.point('guest', `dm:${this.guest}`, 'device model: guest powered off', 0, () =>
      this.host.asBackend(() => {
        if (process.end !== null) return;
        process.end = 'exited';
        process.qmp.close();
      }),
    );
  }

  /**
   * The `dm_start_fail` fault: a start in flight fails now (the device model exits before it
   * confirms); else the next start fails. Returns which.
   */
  failStart(): 'now' | 'next' {
    const process = this.process;
    if (process && !process.over) {
      process.exit();
      return 'now';
    }
    this.failNext = true;
    return 'next';
  }
}

const stateNode = (be: number, domid: number) => `/local/domain/${be}/device-model/${domid}/state`;

/** The virtio-mmio devices the scenario domain `guest` is the front end of: those its device model serves (lifecycle §6.4 create step 4). */
export function mmioDevicesOf(scenario: Pick<Scenario, 'devices'>, guest: string): ScenarioDevice[] {
  return scenario.devices.filter((d) => d.transport === 'mmio' && d.frontend === guest);
}

/**
 * Monitor create-failure-cleans-up (lifecycle §6.4, R16): a create that ended ERROR_FAIL after its
 * domid was assigned must leave no half-built domain; what the violation says when one is left
 * (`state` as the domain's actor has it).
 */
export function halfBuiltDomainLeft(name: string, domid: number, state: string, memoryBytes: number): string {
  return `create-failure-cleans-up: domain ${name}'s create ended in ERROR_FAIL, yet its half-built domain ${domid} is still there (${state}, ${memoryBytes / 1024} KiB of memory held)`;
}

/**
 * Monitor destroy-clean (lifecycle §6.4 destroy step 2, R13): what the violation says when libxl's
 * destroy of a domain that was created found its device model already exited.
 */
export function deviceModelAlreadyExited(name: string, domid: number | null): string {
  return `destroy-clean: libxl's destroy of ${name} (domain ${domid}) logged an error: its device model had already exited`;
}
