import type { Scenario, ScenarioVif } from '../scenario/schema.js';
import { recordLibxlDevice, XENBUS_STATE } from '../xenstore/libxl-devices.js';
import { xsRead, type XenstoreApi as Xenstore } from '../xenstore/xenstore-api.js';
import { SeededRandom } from './random.js';
import { XlDevd } from './xl-devd.js';
import { mmioDevicesOf } from './device-model-start.js';

/** What a PV vif needs of the runtime. */
export interface VifHost {
  store: Xenstore;
  /** Runs `work` as a step of domain `domid`'s kernel (its xenbus watch handler), when its vCPUs run. */
  asDomain(domid: number, label: string, work: () => void): void;
}

/** `argosim run --json` `vifs[]`: where the vif's handshake got to. */
export interface VifFigures {
  frontend: string;
  backend: string;
  devid: number;
  /** The backend's XenbusState by name (`Connected`, `Closed`, …; `removed` once its directory is gone). */
  state: string;
  /** The frontend's XenbusState by name. */
  frontendState: string;
  /** What the hotplug script reported in the backend directory (`connected`), or `none`. */
  hotplugStatus: string;
}

const STATE_NAMES = ['Unknown', 'Initialising', 'InitWait', 'Initialised', 'Connected', 'Closing', 'Closed', 'Reconfiguring', 'Reconfigured'];

/**
 * A PV network interface (netfront in the guest, netback in a driver domain) at the level argosim
 * models it: its control plane over xenstore (virtio-ioreq-lifecycle.md §6.4's PV backend
 * handshake), not a data path — argosim's guests move bytes over Argo and VirtIO. `attach` is
 * libxl__device_vif_add's part in dom0 (libxl_nic.c: the backend and frontend directories and
 * libxl's own record, in one go); then, each as a step of its own domain: netback's probe writes
 * InitWait; netfront, seeing it, writes its ring references and Connected; netback goes Connected
 * once the frontend is and the hotplug script — run by xl devd in the driver domain (`XlDevd`) —
 * reported hotplug-status=connected. Removal is libxl's (`DeviceTeardown`) and devd's.
 *
 * @example
 * ```ts
 * const vif = new VifRun(spec, host);
 * vif.attach(3, 1); // guest 3's vif 0, backend in driver domain 1
 * vif.figures().state; // 'Connected' once the handshake is over
 * ```
 */
export class VifRun {
  private back = '';
  private front = '';
  /** The current incarnation's netback watches (in the driver domain: they outlive a frontend's kernel) and netfront's. */
  private netbackWatches: Array<() => void> = [];
  private netfrontWatches: Array<() => void> = [];

  constructor(
    readonly spec: ScenarioVif,
    private readonly host: VifHost,
  ) {}

  /** libxl's add in dom0, then the watches of netback (in `be`) and netfront (in `fe`): for each incarnation of the frontend. */
  attach(fe: number, be: number): void {
    const { store } = this.host;
    // an earlier incarnation's device, if any, is gone: its watches with it
    this.frontendDown();
    for (const u of this.netbackWatches.splice(0)) u();
    const netbackWatches: Array<() => void> = (this.netbackWatches = []);
    const netfrontWatches: Array<() => void> = (this.netfrontWatches = []);

    const devid = String(this.spec.devid);
    this.back = `/local/domain/${be}/backend/vif/${fe}/${devid}`;
    this.front = `/local/domain/${fe}/device/vif/${devid}`;
    const mac = `00:16:3e:00:${fe.toString(16).padStart(2, '0')}:${devid.padStart(2, '0')}`;
    // libxl__device_generic_add: each end may read the other's directory
    store.write(0, this.back, '');
    store.grantRead(0, this.back, fe);
    store.write(0, this.front, '');
    store.grantRead(0, this.front, be);
    const nodes: Array<[string, string]> = [
      [`${this.back}/frontend`, this.front],
      [`${this.back}/frontend-id`, String(fe)],
      [`${this.back}/online`, '1'],
      [`${this.back}/state`, String(XENBUS_STATE.Initialising)],
      [`${this.back}/script`, '/etc/xen/scripts/vif-bridge'],
      [`${this.back}/mac`, mac],
      [`${this.back}/bridge`, 'xenbr0'],
      [`${this.back}/handle`, devid],
      [`${this.front}/backend`, this.back],
      [`${this.front}/backend-id`, String(be)],
      [`${this.front}/state`, String(XENBUS_STATE.Initialising)],
      [`${this.front}/handle`, devid],
      [`${this.front}/mac`, mac],
    ];
    for (const [path, value] of nodes) store.write(0, path, value);
    recordLibxlDevice(store, fe, 'vif', devid, this.front, this.back);
    const back = this.back;
    const front = this.front;
    const read = (domid: number, path: string) => xsRead(store, domid, path);
    // netback: its xenbus probe of the new device (InitWait), then its watches on the frontend's
    // state and on hotplug-status: Connected when both are ready (xen-netback's connect())
    const netback = () =>
      this.host.asDomain(be, `netback: ${back}`, () => {
        const state = read(be, `${back}/state`);
        if (state === null) return void netbackWatches.splice(0).forEach((u) => u()); // its device removed: netback lets it go
        if (state === String(XENBUS_STATE.Initialising)) store.write(be, `${back}/state`, String(XENBUS_STATE.InitWait));
        else if (state === String(XENBUS_STATE.InitWait) && read(be, `${front}/state`) === String(XENBUS_STATE.Connected) && read(be, `${back}/hotplug-status`) === 'connected') {
          store.write(be, `${back}/state`, String(XENBUS_STATE.Connected));
        }
      });
    // netfront: on the backend's InitWait it publishes its rings and event channel, and is Connected
    const netfront = () =>
      this.host.asDomain(fe, `netfront: ${front}`, () => {
        if (read(fe, `${back}/state`) !== String(XENBUS_STATE.InitWait) || read(fe, `${front}/state`) !== String(XENBUS_STATE.Initialising)) return;
        for (const [key, value] of [['tx-ring-ref', '8'], ['rx-ring-ref', '9'], ['event-channel', '5'], ['request-rx-copy', '1']]) store.write(fe, `${front}/${key}`, value);
        store.write(fe, `${front}/state`, String(XENBUS_STATE.Connected));
      });
    let armed = false; // each watch fires once when it is set: not news
    const on = (into: Array<() => void>, domid: number, path: string, run: () => void) => into.push(store.watch(domid, path, `vif ${path}`, () => armed && run()));
    on(netbackWatches, be, `${back}/state`, netback);
    on(netbackWatches, be, `${front}/state`, netback);
    on(netbackWatches, be, `${back}/hotplug-status`, netback);
    on(netfrontWatches, fe, `${back}/state`, netfront);
    armed = true;
    netback(); // the probe
  }

  /**
   * The frontend's kernel is gone (its domain destroyed, or a kexec): netfront's watches with it.
   * A new kernel does not negotiate the vif again (Linux's xenbus_reset_state is not modelled).
   */
  frontendDown(): void {
    for (const u of this.netfrontWatches.splice(0)) u();
  }

  figures(): VifFigures {
    const name = (path: string) => {
      const v = xsRead(this.host.store, 0, path);
      return v === null ? 'removed' : (STATE_NAMES[Number(v)] ?? v);
    };
    return {
      frontend: this.spec.frontend,
      backend: this.spec.backend,
      devid: this.spec.devid,
      state: name(`${this.back}/state`),
      frontendState: name(`${this.front}/state`),
      hotplugStatus: xsRead(this.host.store, 0, `${this.back}/hotplug-status`) ?? 'none',
    };
  }
}

/**
 * What the scenario's PV network needs of a runtime: domain `domid`'s steps (a xenbus watch handler,
 * devd's event loop, a hotplug script's exit), each run once the domain's vCPUs run, and the store.
 */
export interface VifNetworkHost {
  store: Xenstore;
  /** Runs `work` as a step of domain `domid` `delayMs` from now (scenario ms), when its vCPUs run. */
  step(domid: number, label: string, delayMs: number, work: () => void): void;
  /** A timer of a userspace program of domain `domid` (devd's libxl event loop); returns its cancel. */
  timer(domid: number, ms: number, run: () => void): () => void;
  /** The domid of the scenario domain `name` now, if it lives. */
  domidOf(name: string): number | undefined;
  /** The scenario name of a domid, for reports. */
  nameOf(domid: number): string;
  violate(what: string): void;
}

/**
 * The scenario's PV network (`vifs[]`), as both runtimes run it: a `VifRun` per vif and `xl devd`
 * (`XlDevd`) in each driver domain that serves one. The runtime says when a domain is created, when
 * its kernel starts and when its userspace is gone; the steps are the runtime's (`VifNetworkHost`).
 *
 * @example
 * ```ts
 * const network = new VifNetwork(scenario, seed, host);
 * network.start();                 // devd in each driver domain, then libxl's add of every vif
 * network.created('web');          // a new incarnation of web: libxl adds its vifs again
 * network.figures()[0].state;      // 'Connected'
 * ```
 */
export class VifNetwork {
  private readonly vifs: VifRun[];
  /** The driver domains, by scenario name, in the order the scenario names them first. */
  private readonly drivers: Set<string>;
  /** xl devd of each driver domain, by scenario name (its running kernel's). */
  private readonly devds = new Map<string, XlDevd>();
  /** Switch `devdAddSharesDevice` (R7's bug). */
  private readonly addSharesDevice: boolean;

  constructor(
    scenario: Scenario,
    private readonly seed: number,
    private readonly host: VifNetworkHost,
  ) {
    const asDomain = (domid: number, label: string, work: () => void) => host.step(domid, label, 0, work);
    this.vifs = scenario.vifs.map((spec) => new VifRun(spec, { store: host.store, asDomain }));
    this.drivers = new Set(scenario.vifs.map((v) => v.backend));
    this.addSharesDevice = scenario.bugs.devdAddSharesDevice;
  }

  get size(): number {
    return this.vifs.length;
  }

  /** At boot: xl devd in each driver domain, then libxl's add of every vif whose domains are there. */
  start(): void {
    for (const name of this.drivers) {
      const domid = this.host.domidOf(name);
      if (domid !== undefined) this.kernelUp(name, domid);
    }
    for (const vif of this.vifs) this.attach(vif);
  }

  /** A new incarnation of domain `name` was made: libxl adds its vifs as it creates it (domcreate_attach_devices). */
  created(name: string): void {
    for (const vif of this.vifs) if (vif.spec.frontend === name) this.attach(vif);
  }

  /**
   * Domain `name` runs a new kernel as `domid`: a driver domain's init starts xl devd (lifecycle §6.7
   * R7); its hotplug scripts take 2–20 ms each (SIM CHOICE, docs/races.md R7), drawn from a generator
   * of its own so that no other draw of the run moves.
   */
  kernelUp(name: string, domid: number): void {
    if (!this.drivers.has(name)) return;
    this.devds.get(name)?.stop();
    const rng = new SeededRandom((this.seed ^ (0x0de7d000 + domid * 0x9e37)) >>> 0);
    const { host } = this;
    const devd = new XlDevd(
      domid,
      {
        store: host.store,
        step: (label, delayMs, work) => host.step(domid, label, delayMs, work),
        timer: (ms, run) => host.timer(domid, ms, run),
        scriptMs: () => rng.int(2000, 20000) / 1000,
        nameOf: (d) => host.nameOf(d),
        violate: (what) => host.violate(what),
      },
      { addSharesDevice: this.addSharesDevice },
    );
    this.devds.set(name, devd);
    devd.start();
  }

  /** Domain `name`'s userspace and kernel drivers are gone (destroyed, or a new kernel): its xl devd, the netfronts of its vifs. */
  kernelGone(name: string): void {
    this.devds.get(name)?.stop();
    for (const vif of this.vifs) if (vif.spec.frontend === name) vif.frontendDown();
  }

  /** `argosim run --json` `vifs[]`. */
  figures(): VifFigures[] {
    return this.vifs.map((v) => v.figures());
  }

  /** libxl's add of a vif for its frontend's domain now, if its backend's domain is there to serve it. */
  private attach(vif: VifRun): void {
    const fe = this.host.domidOf(vif.spec.frontend);
    const be = this.host.domidOf(vif.spec.backend);
    if (fe !== undefined && be !== undefined) vif.attach(fe, be);
  }
}

/** Whether the scenario domain `name` is the front end of a device libxl keeps in xenstore (virtio-mmio, a vif). */
export function hasXenstoreDevices(scenario: Scenario, name: string): boolean {
  return mmioDevicesOf(scenario, name).length > 0 || scenario.vifs.some((v) => v.frontend === name);
}
