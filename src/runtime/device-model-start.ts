import type { DeviceModel } from '../../machines/implementations/toolstack-core.js';
import type { ScenarioDevice } from '../scenario/schema.js';
import type { XenstoreApi as Xenstore } from '../xenstore/xenstore-api.js';

/**
 * What a guest's device model needs of the runtime: scheduling points, its back end's domain, the
 * store, and the toolstack's steps.
 *
 * @example
 * ```ts
 * const host: DeviceModelHost = { point, asBackend, backendDomid, xenstore, toolstackDoes, confirmed };
 * ```
 */
export interface DeviceModelHost {
  /** Schedules a scheduling point `delayMs` from now. */
  point(kind: 'guest' | 'toolstack', actor: string, label: string, delayMs: number, run: () => void): void;
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
 * deviceModelStartOf(scenario.devices.filter((d) => d.transport === 'mmio' && d.frontend === 'guest')); // { delayMs: 0, fails: false }
 * ```
 */
export function deviceModelStartOf(devices: readonly ScenarioDevice[]): DeviceModelStart {
  const starts = devices.map((d) => d.dmStart ?? { delayMs: 0, fails: false });
  return { delayMs: Math.max(0, ...starts.map((s) => s.delayMs)), fails: starts.some((s) => s.fails) };
}

/**
 * The device model libxl spawns when it creates a guest with virtio-mmio devices, in a run
 * (virtio-ioreq-lifecycle.md §6.4 create step 4, §7 case 39, R16). `start` is libxl's spawn
 * (libxl_exec.c `libxl__spawn_spawn`): `delayMs` later the device model, running in the back end's
 * domain, writes `/local/domain/<be>/device-model/<domid>/state = running` (a scheduling point of
 * that domain), and libxl's xswait watch on the node hears of it (a scheduling point of the
 * toolstack) — the confirmation, unless the toolstack gave up meanwhile. A device model that fails
 * (`fails`, or a `dm_start_fail` fault) exits instead, and libxl sees its child die
 * (`spawn_middle_death`): a scheduling point too. `kill` (destroy, or a start given up) cancels
 * what is pending and removes the node, as `libxl__destroy_device_model` does.
 *
 * @example
 * ```ts
 * const dm = new GuestDeviceModel('guest', { delayMs: 70_000, fails: false }, host);
 * dm.start(3, started, failed); // nothing for 70 s: libxl's 60 s timeout fires first
 * ```
 */
export class GuestDeviceModel implements DeviceModel {
  /** The start in flight: its guest's domid, whether it is over (confirmed, failed or killed), and its exit. */
  private pending: { domid: number; over: boolean; exit: () => void } | null = null;
  /** A `dm_start_fail` fault waits for the next start. */
  private failNext = false;

  constructor(
    readonly guest: string,
    private readonly startSpec: DeviceModelStart,
    private readonly host: DeviceModelHost,
  ) {}

  start(domid: number, started: () => void, failed: () => void): void {
    const start = {
      domid,
      over: false,
      exit: () => {
        // libxl_exec.c spawn_middle_death: the child died before it confirmed its start
        start.over = true;
        this.host.point('toolstack', `toolstack:${this.guest}`, 'device model: exited', 0, () => this.host.toolstackDoes(failed));
      },
    };
    this.pending = start;
    const fails = this.startSpec.fails || this.failNext;
    this.failNext = false;
    this.host.point('guest', `dm:${this.guest}`, 'device model: start', this.startSpec.delayMs, () => {
      if (start.over) return;
      // a guest that died before its device model ran (killed, crashed): creating its IOREQ server
      // and mapping its memory fail, and the device model exits — libxl sees its child die
      if (fails || !this.host.guestAlive(domid)) return start.exit();
      this.host.asBackend(() => {
        const be = this.host.backendDomid();
        if (start.over || be === undefined) return;
        this.host.xenstore.write(be, stateNode(be, domid), 'running');
        // libxl's xswait on the node (lifecycle §6.4: the device model reports ready through xenstore)
        this.host.point('toolstack', `toolstack:${this.guest}`, 'device-model state: running', 0, () => {
          if (start.over) return;
          start.over = true;
          this.host.toolstackDoes(started);
          this.host.confirmed(domid);
        });
      });
    });
  }

  kill(domid: number): void {
    if (this.pending?.domid === domid) this.pending.over = true;
    const be = this.host.backendDomid();
    if (be !== undefined) this.host.xenstore.rm(0, `/local/domain/${be}/device-model/${domid}`);
  }

  /**
   * The `dm_start_fail` fault: a start in flight fails now (the device model exits before it
   * confirms); else the next start fails. Returns which.
   */
  failStart(): 'now' | 'next' {
    const start = this.pending;
    if (start && !start.over) {
      start.exit();
      return 'now';
    }
    this.failNext = true;
    return 'next';
  }
}

const stateNode = (be: number, domid: number) => `/local/domain/${be}/device-model/${domid}/state`;
