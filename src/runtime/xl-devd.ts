import { LIBXL_INIT_TIMEOUT_MS } from '../../machines/toolstack.js';
import { xsChildren, xsRead, type XenstoreApi as Xenstore } from '../xenstore/xenstore-api.js';
import { parseBackendPath, pathCleanup, XENBUS_STATE } from '../xenstore/libxl-devices.js';
/** libxl's ERROR_INVAL and ERROR_TIMEDOUT (libxl_types.idl), as a devstate wait ends with them. */
const ERROR_INVAL = -6;
const ERROR_TIMEDOUT = -9;

/** What xl devd needs of the runtime. */
export interface XlDevdHost {
  store: Xenstore;
  /** Runs `work` as a step of devd, in its domain, `delayMs` from now: a watch event, a child's exit. */
  step(label: string, delayMs: number, work: () => void): void;
  /** A timer of devd's event loop (libxl's); returns its cancel. */
  timer(ms: number, run: () => void): () => void;
  /** How long one run of a hotplug script takes, in ms (SIM CHOICE, drawn from the run's seed). */
  scriptMs(): number;
  /** The scenario name of a domid, for reports. */
  nameOf(domid: number): string;
  violate(what: string): void;
}

/** A `libxl__device` as devd parses it from a backend path (`libxl__parse_backend_path`). */
interface BackendDevice {
  kind: string;
  /** The frontend's domain. */
  domid: number;
  devid: string;
  /** The backend directory. */
  path: string;
}

/** One asynchronous device operation of devd (a `libxl__ao_device` in a nested ao). */
interface AoDevice {
  action: 'add' | 'remove';
  /** Its `libxl__device`: a pointer into devd's heap. */
  dev: number;
  /** Whether the ao owns `dev` (a copy made for it) or points at the device list's own (R7's bug). */
  owned: boolean;
}

/** Kinds whose add and remove devd dispatches as asynchronous operations (add_device, remove_device). */
const ASYNC_KINDS = new Set(['vif', 'vbd']);

/**
 * devd's malloc'd `libxl__device` records. argosim's TypeScript frees nothing under its user, so
 * the C program's heap is explicit here: a read of a freed record is reported as AddressSanitizer
 * would report it (monitor devd-use-after-free), then goes on with the stale bytes — what the C
 * program does next is undefined.
 */
class DeviceHeap {
  private readonly blocks: Array<{ dev: BackendDevice; freedBy: string | null; reported: boolean }> = [];

  alloc(dev: BackendDevice): number {
    this.blocks.push({ dev: { ...dev }, freedBy: null, reported: false });
    return this.blocks.length - 1;
  }

  free(ptr: number, by: string): void {
    this.blocks[ptr].freedBy ??= by;
  }

  /** The record at `ptr`; `onFreed` once when it was freed already. */
  read(ptr: number, onFreed: (freedBy: string, dev: BackendDevice) => void): BackendDevice {
    const block = this.blocks[ptr];
    if (block.freedBy !== null && !block.reported) {
      block.reported = true;
      onFreed(block.freedBy, block.dev);
    }
    return block.dev;
  }
}

/**
 * `xl devd` in a driver domain (libxl_device.c `libxl_device_events_handler`, virtio-ioreq-lifecycle.md
 * §6.7 R7): it watches the domain's `backend` directory and, for each backend device that appears,
 * runs libxl's add in the driver domain — for a vif, wait for the backend to reach InitWait
 * (LIBXL_INIT_TIMEOUT), then run the hotplug script `vif-bridge online`, which reports
 * hotplug-status=connected; for a device whose backend is Closed with online=0, the removal — the
 * script `offline`, then the backend path removed (the driver domain is in charge of it,
 * libxl__device_destroy). Each add and each removal is an asynchronous operation of its own.
 *
 * Today (Xen fd519a5119) each operation works on its own copy of the device's `libxl__device`, so
 * remove_device frees the list's copy at once. Before it (switch `devdAddSharesDevice`) the
 * operations pointed at the list's own record, which the removal freed when it completed: an add
 * still in flight then — waiting for InitWait, or its script still running — read freed memory at
 * its next step. Monitor devd-use-after-free reports the read.
 *
 * @example
 * ```ts
 * const devd = new XlDevd(1, host, { addSharesDevice: false });
 * devd.start(); // watches /local/domain/1/backend
 * devd.stop();  // the domain's userspace is gone
 * ```
 */
export class XlDevd {
  /** dguest → its devices (backend kind/devid → the list's `libxl__device`). */
  private readonly guests = new Map<number, Map<string, number>>();
  private readonly heap = new DeviceHeap();
  private readonly cancels = new Set<() => void>();
  private stopped = false;
  /** Numbers devstate waits' watch tokens: two waits on one path watch apart. */
  private serial = 0;

  constructor(
    readonly domid: number,
    private readonly host: XlDevdHost,
    private readonly bugs: { addSharesDevice: boolean },
  ) {}

  /** libxl_device_events_handler: the watch on the backend directory, then a scan for devices already in InitWait. */
  start(): void {
    const root = `/local/domain/${this.domid}/backend`;
    const unwatch = this.host.store.watch(this.domid, root, `devd ${this.domid}`, (path) => {
      if (this.stopped || !/\/(state|online)$/.test(path)) return; // backend_watch_callback skips the rest
      this.host.step(`xl devd: ${path.slice(root.length + 1)}`, 0, () => this.backendWatch(path));
    });
    this.cancels.add(unwatch);
    this.host.step('xl devd: start', 0, () => {
      for (const state of this.backendStates(root)) {
        if (this.read(state) === String(XENBUS_STATE.InitWait)) this.backendWatch(state);
      }
    });
  }

  /** The domain's userspace is gone (destroyed, or a new kernel): devd and its pending operations with it. */
  stop(): void {
    this.stopped = true;
    for (const cancel of this.cancels) cancel();
    this.cancels.clear();
  }

  /** Devices in devd's list now, as `<frontend domid>/<kind>/<devid>`. */
  devices(): string[] {
    return [...this.guests].flatMap(([domid, devices]) => [...devices.keys()].map((key) => `${domid}/${key}`));
  }

  private backendStates(root: string): string[] {
    const list = (p: string) => xsChildren(this.host.store, this.domid, p);
    return list(root).flatMap((kind) => list(`${root}/${kind}`).flatMap((fe) => list(`${root}/${kind}/${fe}`).map((devid) => `${root}/${kind}/${fe}/${devid}/state`)));
  }

  private read(path: string): string | null {
    return xsRead(this.host.store, this.domid, path);
  }

  /** backend_watch_callback: a state or online node of a backend device changed. */
  private backendWatch(eventPath: string): void {
    if (this.stopped) return;
    const parsed = parseBackendPath(eventPath);
    if (!parsed || !/\/(state|online)$/.test(eventPath)) return;
    const { path, kind, domid, devid } = parsed;
    const sstate = this.read(`${path}/state`);
    const sonline = this.read(`${path}/online`);
    if (sstate === null || sonline === null) return;
    const state = Number(sstate);
    const dev: BackendDevice = { kind, domid, devid, path };
    let dguest = this.guests.get(dev.domid);
    if (!dguest && state === XENBUS_STATE.Closed) return; // spurious: already disconnected, or never attached
    if (!dguest) this.guests.set(dev.domid, (dguest = new Map()));
    const key = `${kind}/${devid}`;
    const ddev = dguest.get(key);
    if (ddev === undefined && state === XENBUS_STATE.Closed) return this.maybeRemoveGuest(dev.domid);
    if (ddev === undefined) this.addDevice(dguest, key, dev);
    else if (state === XENBUS_STATE.Closed && Number(sonline) === 0) {
      this.removeDevice(dguest, key, ddev);
      this.maybeRemoveGuest(dev.domid);
    }
  }

  /** add_device: the device joins the list; a vif's or vbd's add runs as an operation of its own. */
  private addDevice(dguest: Map<string, number>, key: string, dev: BackendDevice): void {
    const ptr = this.heap.alloc(dev);
    dguest.set(key, ptr);
    if (!ASYNC_KINDS.has(dev.kind)) return; // no operation dispatched for other kinds
    // fd519a5119: "Clone the libxl__device to avoid races if remove_device is called before the
    // device addition has finished"; before it, the operation used the list's own record
    const shared = this.bugs.addSharesDevice;
    const aodev: AoDevice = { action: 'add', dev: shared ? ptr : this.heap.alloc(dev), owned: !shared };
    // libxl__wait_device_connection: wait for the backend's InitWait, then the hotplug script
    const { path } = this.use(aodev, 'libxl__wait_device_connection');
    this.devstateWait(`${path}/state`, XENBUS_STATE.InitWait, LIBXL_INIT_TIMEOUT_MS, (rc) => this.deviceBackendCallback(aodev, rc));
  }

  /** remove_device: the device leaves the list; a vif's or vbd's removal runs as an operation of its own. */
  private removeDevice(dguest: Map<string, number>, key: string, ptr: number): void {
    dguest.delete(key);
    const dev = this.heap.read(ptr, () => {});
    if (!ASYNC_KINDS.has(dev.kind)) return this.heap.free(ptr, 'remove_device');
    const shared = this.bugs.addSharesDevice;
    const aodev: AoDevice = { action: 'remove', dev: shared ? ptr : this.heap.alloc(dev), owned: !shared };
    // "the freeing is safe because all the async ops … make a copy of the data they use"
    if (!shared) this.heap.free(ptr, 'remove_device');
    // libxl__initiate_device_generic_remove: the backend is Closed already, so its wait ends at once
    this.host.step(`xl devd: remove ${dev.path}`, 0, () => {
      if (!this.stopped) this.deviceHotplug(aodev);
    });
  }

  /** device_backend_callback: the wait for the backend's state ended (0, or a libxl error). */
  private deviceBackendCallback(aodev: AoDevice, rc: number): void {
    this.use(aodev, 'device_backend_callback'); // its log names the device's backend path
    if (rc !== 0) return this.deviceComplete(aodev); // "unable to add device with path …"
    this.deviceHotplug(aodev);
  }

  /** device_hotplug: the script runs as a child; its exit is devd's next step for the operation. */
  private deviceHotplug(aodev: AoDevice): void {
    const dev = this.use(aodev, 'device_hotplug');
    const script = `${dev.kind === 'vif' ? 'vif-bridge' : 'block'} ${aodev.action === 'add' ? 'online' : 'offline'}`;
    this.host.step(`xl devd: ${script} ${dev.path} exits`, this.host.scriptMs(), () => {
      if (this.stopped) return;
      // the script reports to the backend through XENBUS_PATH, set when it started; a backend
      // removed meanwhile gets nothing (SIM: the script finds its directory gone)
      if (aodev.action === 'add' && this.read(`${dev.path}/state`) !== null) this.host.store.write(this.domid, `${dev.path}/hotplug-status`, 'connected');
      this.deviceHotplugDone(aodev);
    });
  }

  /** device_hotplug_done: a removal goes on with libxl__device_destroy — in a driver domain, its backend path. */
  private deviceHotplugDone(aodev: AoDevice): void {
    const dev = this.use(aodev, 'device_hotplug_done');
    if (aodev.action === 'remove') pathCleanup(this.host.store, dev.path, 4, this.domid); // down to /local/domain/<dd>/backend
    this.deviceComplete(aodev);
  }

  /** device_complete: logs the outcome ("device <path> add succeed"), frees what the operation owned. */
  private deviceComplete(aodev: AoDevice): void {
    this.use(aodev, 'device_complete');
    if (aodev.owned) this.heap.free(aodev.dev, `the ${aodev.action}'s completion`);
    // before fd519a5119 the removal's completion freed the record it shared with the list (and any add)
    else if (aodev.action === 'remove') this.heap.free(aodev.dev, "the removal's completion (device_complete)");
  }

  /** The operation reads its `libxl__device`; a freed one is reported (monitor devd-use-after-free). */
  private use(aodev: AoDevice, where: string): BackendDevice {
    return this.heap.read(aodev.dev, (freedBy, dev) => {
      this.host.violate(
        `devd-use-after-free: xl devd in domain ${this.host.nameOf(this.domid)} read the libxl__device of ${dev.kind} ${dev.devid} of domain ${this.host.nameOf(dev.domid)} in ${where} of its ${aodev.action}, after ${freedBy} freed it: the device was removed while its add was still in flight`,
      );
    });
  }

  /** libxl__ev_devstate_wait: `done(0)` once `path` reads `wanted`, an error when it is removed or after `ms`. */
  private devstateWait(path: string, wanted: number, ms: number, done: (rc: number) => void): void {
    let over = false;
    const finish = (rc: number) => {
      if (over) return;
      over = true;
      unwatch();
      cancel();
      this.cancels.delete(unwatch);
      this.cancels.delete(cancel);
      done(rc);
    };
    const unwatch = this.host.store.watch(this.domid, path, `devstate ${path} #${++this.serial}`, () => {
      if (over || this.stopped) return;
      this.host.step(`xl devd: devstate ${path}`, 0, () => {
        if (over || this.stopped) return;
        const got = this.read(path);
        if (got === null) finish(ERROR_INVAL);
        else if (Number(got) === wanted) finish(0);
      });
    });
    const cancel = this.host.timer(ms, () => finish(ERROR_TIMEDOUT));
    this.cancels.add(unwatch);
    this.cancels.add(cancel);
  }

  /** check_and_maybe_remove_guest: a guest with no device left leaves the list. */
  private maybeRemoveGuest(domid: number): void {
    if (this.guests.get(domid)?.size === 0) this.guests.delete(domid);
  }
}
