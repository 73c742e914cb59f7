import { xsChildren, type XenstoreApi as Xenstore } from './xenstore-api.js';

/**
 * A device as libxl finds it at destroy time: its frontend and backend directories and the backend's
 * domain (virtio-ioreq-lifecycle.md §6.4 destroy step 2, `libxl__devices_destroy`).
 *
 * @example
 * ```ts
 * const d: LibxlDevice = { type: 'virtio', name: 'vdb', frontend: '/local/domain/3/device/virtio/vdb', backend: '/local/domain/1/backend/virtio/3/vdb', backendDomid: 1 };
 * ```
 */
export interface LibxlDevice {
  type: string;
  name: string;
  frontend: string;
  backend: string;
  backendDomid: number;
}

/** XenbusState values of lifecycle §6.4 (PV backend handshake) that device removal uses. */
export const XENBUS_STATE = { Initialising: 1, InitWait: 2, Connected: 4, Closing: 5, Closed: 6 } as const;

/** libxl's own record of a domain's devices, written by dom0 only (XSA-175: `/libxl/<domid>/device`). */
export const libxlDeviceDir = (domid: number): string => `/libxl/${domid}/device`;

/**
 * libxl__device_generic_add's record: `/libxl/<fe>/device/<type>/<name>/{frontend,backend}`, in dom0's
 * part of the store where no guest can write (lifecycle §6.7 R10, XSA-175). Returns the operations made.
 *
 * @example
 * ```ts
 * recordLibxlDevice(xs, 3, 'virtio', 'vdb', '/local/domain/3/device/virtio/vdb', '/local/domain/1/backend/virtio/3/vdb');
 * ```
 */
export function recordLibxlDevice(store: Xenstore, fe: number, type: string, name: string, frontend: string, backend: string): number {
  const dir = `${libxlDeviceDir(fe)}/${type}/${name}`;
  store.write(0, `${dir}/frontend`, frontend);
  store.write(0, `${dir}/backend`, backend);
  return 2;
}

/**
 * libxl__devices_destroy's enumeration of `domid`'s devices (lifecycle §6.4 destroy, §6.7 R10). Today
 * libxl reads its own record, `/libxl/<domid>/device/<type>/<name>/backend` (Xen e3d851340c). With
 * `fromFrontend` (the historical bug `devicesFromFrontendPaths`) it walks the guest's own
 * `/local/domain/<domid>/device/<type>/<name>` and trusts each one's `backend` node — so what the
 * guest deleted is not found, and what it altered points elsewhere.
 *
 * @example
 * ```ts
 * libxlDevices(xs, 3, false).map((d) => d.backend); // ['/local/domain/1/backend/virtio/3/vdb']
 * ```
 */
export function libxlDevices(store: Xenstore, domid: number, fromFrontend: boolean): LibxlDevice[] {
  const root = fromFrontend ? `/local/domain/${domid}/device` : libxlDeviceDir(domid);
  const out: LibxlDevice[] = [];
  for (const type of xsChildren(store, 0, root)) {
    for (const name of xsChildren(store, 0, `${root}/${type}`)) {
      const dir = `${root}/${type}/${name}`;
      const backend = store.read(0, `${dir}/backend`);
      if (typeof backend !== 'string') continue; // no backend node: nothing libxl can remove
      const frontend = fromFrontend ? dir : store.read(0, `${dir}/frontend`);
      const m = /^\/local\/domain\/(\d+)\//.exec(backend);
      if (typeof frontend !== 'string' || !m) continue; // libxl__parse_backend_path fails: skipped
      out.push({ type, name, frontend, backend, backendDomid: Number(m[1]) });
    }
  }
  return out;
}

/**
 * libxl__parse_backend_path: `/local/domain/<be>/backend/<kind>/<fe>/<devid>` (anything under it
 * too), or null for a path of another shape.
 *
 * @example
 * ```ts
 * parseBackendPath('/local/domain/1/backend/vif/3/0'); // { backendDomid: 1, kind: 'vif', domid: 3, devid: '0', path: '/local/domain/1/backend/vif/3/0' }
 * ```
 */
export function parseBackendPath(path: string): { backendDomid: number; kind: string; domid: number; devid: string; path: string } | null {
  const m = /^(\/local\/domain\/(\d+)\/backend\/([^/]+)\/(\d+)\/([^/]+))(\/|$)/.exec(path);
  return m ? { backendDomid: Number(m[2]), kind: m[3], domid: Number(m[4]), devid: m[5], path: m[1] } : null;
}

/**
 * Whether a device's backend directory is its driver domain's xl devd's to remove, after its hotplug
 * script (a vif served by a domain other than dom0): libxl__device_destroy in dom0 leaves it, "the
 * driver domain is in charge of removing what it can from the backend path".
 */
export function devdRemovesBackend(device: { type: string; backendDomid: number }): boolean {
  return device.type === 'vif' && device.backendDomid !== 0;
}

/**
 * libxl__device_destroy: the frontend's directory, the backend's and libxl's record go (forced removal
 * removes them whatever the backend said). A driver domain's vif backend is left to its xl devd
 * (`devdRemovesBackend`). SIM CHOICE (docs/races.md): dom0's libxl removes the backend directory of
 * a driver domain's virtio backend itself — argosim models no devd action for virtio devices (libxl's
 * devd dispatches none for them); the store ends the same.
 */
export function destroyLibxlDevice(store: Xenstore, domid: number, device: LibxlDevice): void {
  pathCleanup(store, device.frontend, 4); // down to /local/domain/<fe>/device
  if (!devdRemovesBackend(device)) pathCleanup(store, device.backend, 4); // down to /local/domain/<be>/backend
  pathCleanup(store, `${libxlDeviceDir(domid)}/${device.type}/${device.name}`, 3); // down to /libxl/<fe>/device
}

/**
 * libxl__xs_path_cleanup: removes `path`, then each parent left empty, keeping the first `keep`
 * components (the subtree's root); as `domid` (dom0's libxl by default, or a driver domain's).
 */
export function pathCleanup(store: Xenstore, path: string, keep: number, domid = 0): void {
  store.rm(domid, path);
  for (let p = path.slice(0, path.lastIndexOf('/')); p.split('/').length - 1 > keep && xsChildren(store, domid, p).length === 0; p = p.slice(0, p.lastIndexOf('/'))) store.rm(domid, p);
}

/**
 * Backend directories still in the store for frontend `domid`: `/local/domain/<be>/backend/<type>/<domid>/<name>`
 * (monitor device-teardown).
 *
 * @example
 * ```ts
 * backendDirsOf(xs, 3); // [] once libxl destroyed domain 3's devices
 * ```
 */
export function backendDirsOf(store: Xenstore, domid: number): string[] {
  const out: string[] = [];
  for (const be of xsChildren(store, 0, '/local/domain')) {
    const base = `/local/domain/${be}/backend`;
    for (const type of xsChildren(store, 0, base)) {
      for (const name of xsChildren(store, 0, `${base}/${type}/${domid}`)) out.push(`${base}/${type}/${domid}/${name}`);
    }
  }
  return out;
}


