import type { DeviceRemoval } from '../../machines/implementations/toolstack-core.js';
import { LIBXL_DESTROY_TIMEOUT_MS } from '../../machines/toolstack.js';
import { backendDirsOf, destroyLibxlDevice, devdRemovesBackend, libxlDevices, parseBackendPath, XENBUS_STATE, type LibxlDevice } from '../xenstore/libxl-devices.js';
import { xsRead, type XenstoreApi as Xenstore } from '../xenstore/xenstore-api.js';

/** What `DeviceTeardown` needs of the runtime. */
export interface DeviceTeardownHost {
  store: Xenstore;
  /** Historical bug R10: libxl finds the devices from the guest's frontend paths. */
  devicesFromFrontendPaths: boolean;
  /** Historical bug R9: libxl waits for be/state=Closed from backends whose domain is gone. */
  deadBackendWaitsForClosed: boolean;
  /** Whether a domain exists (libxl_domain_info succeeds: alive or dying, not gone). */
  exists(domid: number): boolean;
  /** The scenario name of a domid (for messages). */
  nameOf(domid: number): string;
  /** Runs `work` as a scheduling point of domain `domid`, once its vCPUs run (its xenbus watch firing). */
  asDomain(domid: number, label: string, work: () => void): void;
  /** Runs `work` as a scheduling point of the toolstack of `name` (libxl's xenstore watch firing). */
  asToolstack(name: string, label: string, work: () => void): void;
  /** A timer of the toolstack of `name` (libxl's, on the run's clock); returns its cancel. */
  timer(name: string, ms: number, run: () => void): () => void;
  /**
   * The backend saw be/state=Closing (from its xenbus watch, in its domain's step): it closes the
   * device — a virtio-mmio device model unmaps its window, drains, destroys its server — and calls
   * `closed` when done, which writes be/state=Closed.
   */
  backendCloses(frontend: number, device: LibxlDevice, closed: () => void): void;
  violate(what: string): void;
}

/**
 * How a detach ended (libxl_device_disk_safe_remove): the backend closed the device and libxl removed
 * it; LIBXL_DESTROY_TIMEOUT ran out first, and the device stays (a safe remove is never forced); or
 * libxl found no such device.
 */
export type DetachResult = 'removed' | 'timed out' | 'not found';

/** One destroy's device removal in progress. */
interface Removal {
  devices: LibxlDevice[];
  /** Backend domains already gone when the removal started. */
  deadAtStart: number[];
  /** Backend directories whose be/state=Closed the removal still waits for. */
  waiting: Set<string>;
  closed: () => void;
  done: boolean;
  /** The xenstore watches this removal set, to remove when it is over. */
  unwatch: Array<() => void>;
}

/**
 * libxl's device removal at destroy in a run (virtio-ioreq-lifecycle.md §6.4 destroy step 2, §6.6),
 * over the run's xenstore, and the two monitors that judge it:
 *
 * * the removal (`removalFor(name)`, a `DeviceRemoval` for that domain's toolstack): the devices as
 *   libxl enumerates them (`/libxl/<domid>/device`; with `devicesFromFrontendPaths`, the guest's
 *   own frontend paths — R10), be/state=Closing written for each, each live backend answering Closed
 *   from its xenbus watch on the node (a xenstore watch whose firing runs as a scheduling point of the
 *   backend's domain), libxl's own watch on the node seeing it (a point of the toolstack), then the
 *   paths removed;
 * * `dead-backend-wait` (R9, §7 case 44): a removal waited out LIBXL_DESTROY_TIMEOUT while a backend
 *   domain of its devices was already gone when it started;
 * * `device-teardown` (R10): when the toolstack's xc_domain_destroy runs, no backend directory of the
 *   domain is left in the store.
 *
 * SIM CHOICE (docs/races.md): a backend domain that dies while libxl waits removes its home, and with
 * it the state node libxl watches; libxl's watch then fires (xenstored fires a watch on every node XS_RM
 * deletes) and libxl counts that device as closed, switch or no switch. The backend's watch on its
 * state node stands for its xenbus watch on its directory, set when the device connected.
 *
 * @example
 * ```ts
 * const teardown = new DeviceTeardown(host);
 * createToolstackActor(toolstackWire(hv, { devices: teardown.removalFor('guest') }), …);
 * ```
 */
export class DeviceTeardown {
  private readonly removals = new Map<number, Removal>();
  /** Numbers each removal's xenstore watch tokens: two removals of one device (a detach and a destroy) watch apart. */
  private serial = 0;

  constructor(private readonly host: DeviceTeardownHost) {}

  /** The `DeviceRemoval` port of the toolstack of scenario domain `name`. */
  removalFor(name: string): DeviceRemoval {
    return {
      close: (domid, closed) => this.close(name, domid, closed),
      backendsGone: (domid) => {
        const r = this.removals.get(domid);
        return !!r && r.devices.length > 0 && r.devices.every((d) => !this.host.exists(d.backendDomid));
      },
      remove: (domid) => this.remove(domid),
    };
  }

  /** Monitor dead-backend-wait: the toolstack of `name` (domain `domid`) just timed out waiting for its backends. */
  timedOut(name: string, domid: number): void {
    const r = this.removals.get(domid);
    if (r) this.deadBackendWait(r, `domain ${name} (${domid})'s device removal`);
  }

  /** dead-backend-wait for a removal that timed out: was a backend it waited for gone from the start? */
  private deadBackendWait(r: Removal, what: string): void {
    if (r.deadAtStart.length === 0) return;
    const dead = r.deadAtStart.map((d) => `${this.host.nameOf(d)} (${d})`).join(', ');
    this.host.violate(`dead-backend-wait: ${what} waited out LIBXL_DESTROY_TIMEOUT for be/state=Closed from backend domain ${dead}, already gone when the removal started`);
  }

  /** Monitor device-teardown: the toolstack of `name` destroys domain `domid` now; its devices must be gone from the store. */
  destroyed(name: string, domid: number): void {
    // a driver domain's vif backend that its devd did not remove within libxl's wait (its domain paused,
    // stalled, or its devd restarted) is the driver domain's to remove when it can: not a libxl bug
    const left = backendDirsOf(this.host.store, domid).filter((p) => {
      const parsed = parseBackendPath(p);
      return !parsed || !devdRemovesBackend({ type: parsed.kind, backendDomid: parsed.backendDomid });
    });
    if (left.length === 0) return;
    this.host.violate(`device-teardown: the toolstack destroyed domain ${name} (${domid}) and left ${left.length} backend director${left.length === 1 ? 'y' : 'ies'} behind: ${left.join(', ')}`);
  }

  /**
   * The detach of domain `domid`'s device `device` (libxl_device_disk_safe_remove →
   * libxl__initiate_device_generic_remove, lifecycle §6.4's removal for one device): be/online=0 and
   * be/state=Closing, the backend's answer awaited as at destroy — none from a backend domain that is
   * gone — and the device's paths removed once it came (libxl__device_destroy). It is
   * libxl_device_disk_safe_remove, as `xl block-detach` calls it since Xen 4.15: after
   * LIBXL_DESTROY_TIMEOUT it gives up with ERROR_TIMEDOUT and leaves the device, never forcing.
   * SIM CHOICE (docs/races.md R6): xl itself refuses to hot-unplug a virtio disk ("Hotunplug isn't
   * supported for specification virtio"); the op stands for a toolstack that calls libxl's API.
   * `done` gets the result, as a step of the toolstack of `name`.
   */
  detach(name: string, domid: number, device: string, done: (result: DetachResult) => void): void {
    const { store } = this.host;
    const found = libxlDevices(store, domid, false).filter((d) => d.name === device);
    if (found.length === 0) return done('not found'); // ERROR_NOTFOUND: nothing in libxl's record
    let cancel = () => {};
    const finish = (result: DetachResult) => {
      cancel();
      for (const u of r.unwatch.splice(0)) u();
      if (result === 'removed') for (const d of found) destroyLibxlDevice(store, domid, d);
      done(result);
    };
    const r = this.removal(found, () => finish('removed'));
    cancel = this.host.timer(name, LIBXL_DESTROY_TIMEOUT_MS, () => {
      if (r.done) return;
      r.done = true;
      this.deadBackendWait(r, `the detach of domain ${name} (${domid})'s device ${device}`);
      finish('timed out'); // safe_remove: ERROR_TIMEDOUT, the device left as it is
    });
    this.closeDevices(name, domid, r);
    // its backend's domain is gone: libxl does not wait (Xen 9eaaedfcde), the removal goes on
    if (r.waiting.size === 0) this.host.asToolstack(name, `${device}: no backend to wait for`, () => this.backendAnswered(r, []));
  }

  private close(name: string, domid: number, closed: () => void): void {
    const devices = libxlDevices(this.host.store, domid, this.host.devicesFromFrontendPaths);
    const r = this.removal(devices, closed);
    this.removals.get(domid)?.unwatch.forEach((u) => u());
    this.removals.set(domid, r);
    this.closeDevices(name, domid, r);
  }

  /** A removal of `devices`: today's libxl waits only for backends that exist (Xen 9eaaedfcde); before it, for every one. */
  private removal(devices: LibxlDevice[], closed: () => void): Removal {
    const deadAtStart = [...new Set(devices.map((d) => d.backendDomid).filter((d) => !this.host.exists(d)))];
    const awaited = devices.filter((d) => this.host.deadBackendWaitsForClosed || this.host.exists(d.backendDomid));
    return { devices, deadAtStart, waiting: new Set(awaited.map((d) => d.backend)), closed, done: false, unwatch: [] };
  }

  /** be/state=Closing for each of the removal's devices, and the watches of the backend and of libxl on it. */
  private closeDevices(name: string, domid: number, r: Removal): void {
    const { store } = this.host;
    const serial = ++this.serial;
    for (const d of r.devices) {
      if (!this.host.exists(d.backendDomid)) continue; // nobody will answer
      const state = `${d.backend}/state`;
      let armed = false; // a watch fires once when it is set: not news
      // the backend's xenbus watch: it closes the device and answers Closed
      r.unwatch.push(store.watch(d.backendDomid, state, `libxl-remove-be ${domid} ${d.name} #${serial}`, () => {
        if (!armed || r.done || store.read(d.backendDomid, state) !== String(XENBUS_STATE.Closing)) return;
        this.host.asDomain(d.backendDomid, `${d.name}: be/state=Closing`, () =>
          this.host.backendCloses(domid, d, () => {
            if (store.read(d.backendDomid, state) === String(XENBUS_STATE.Closing)) store.write(d.backendDomid, state, String(XENBUS_STATE.Closed));
          }),
        );
      }));
      // libxl's watch on be/state: Closed, or the node gone with its domain, ends the wait for it. A
      // driver domain's vif backend is its devd's to remove: libxl waits for the path to go
      // (device_hotplug's xswait, "removal of backend path") rather than for Closed
      const gone = devdRemovesBackend(d);
      const answered = (label: string) => this.host.asToolstack(name, `${d.name}: ${label}`, () => this.backendAnswered(r, [d]));
      if (gone && xsRead(store, 0, state) === null) {
        answered('backend path already removed'); // "backend already removed, cleanup frontend only"
        continue;
      }
      let heard = false; // devd's cleanup removes the path, then its parents: one answer
      r.unwatch.push(store.watch(0, state, `libxl-remove ${domid} ${d.name} #${serial}`, () => {
        const now = store.read(0, state);
        if (!armed || r.done || heard || (typeof now === 'string' && (gone || now !== String(XENBUS_STATE.Closed)))) return;
        heard = gone;
        answered(`be/state ${typeof now === 'string' ? 'Closed' : 'removed'}`);
      }));
      armed = true;
      store.write(0, `${d.backend}/online`, '0');
      store.write(0, state, String(XENBUS_STATE.Closing));
    }
    // no device found: libxl's multidev completes at its next callback
    if (r.devices.length === 0) this.host.asToolstack(name, 'devices: none found', () => this.backendAnswered(r, []));
  }

  /** libxl's watch saw these backends' state Closed (or gone): when none is left to wait for, removal goes on. */
  private backendAnswered(r: Removal, devices: LibxlDevice[]): void {
    for (const d of devices) r.waiting.delete(d.backend);
    if (r.done || r.waiting.size > 0) return;
    r.done = true;
    r.closed();
  }

  private remove(domid: number): void {
    const { store } = this.host;
    const r = this.removals.get(domid);
    if (r) {
      r.done = true; // forced, or finished: later answers change nothing
      for (const u of r.unwatch.splice(0)) u();
    }
    for (const d of r?.devices ?? []) destroyLibxlDevice(store, domid, d);
    // libxl__destroy_domid: the domain's paths, and libxl__destroy_device_model's directory
    for (const path of [`/local/domain/${domid}`, `/libxl/${domid}`, `/local/domain/0/device-model/${domid}`]) store.rm(0, path);
  }
}
