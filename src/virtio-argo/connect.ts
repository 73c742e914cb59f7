import { ArgoGuest } from '../guest/argo-guest.js';
import { platformOf } from '../guest/platform.js';
import type { VirtioDeviceModel } from '../virtio/virtio-device.js';
import type { Hypervisor } from '../xen/hypervisor.js';
import { VirtioArgoBackend } from './backend.js';
import { VirtioArgoFrontend, type VirtioArgoFigures, type VirtioArgoFrontendOptions } from './frontend.js';

/** The well-known Argo port of the first VirtIO-Argo device (§4.4 "well-known ports"; SIM CHOICE). */
export const VIRTIO_ARGO_PORT_BASE = 0x5641_0000;

/**
 * One end of a device: a domain and, optionally, the guest library it already runs. Pass the library
 * whenever the domain runs anything else (another device, its own rings): one made here has a page
 * allocator of its own over the domain's memory, and two allocators hand out the same pages.
 */
export interface VirtioArgoEnd {
  domid: number;
  guest?: ArgoGuest;
}

/** What `connectVirtioArgo` needs. */
export interface VirtioArgoConnectOptions {
  hv: Hypervisor;
  frontend: VirtioArgoEnd;
  backend: VirtioArgoEnd;
  model: VirtioDeviceModel;
  /** Default `VIRTIO_ARGO_PORT_BASE`. */
  port?: number;
  ringLen?: number;
  chainBytesMax?: number;
  /** Front-end callbacks (used-buffer, config-change, link-down). */
  frontendHooks?: Pick<VirtioArgoFrontendOptions, 'onUsed' | 'onConfigChange' | 'onLinkDown'>;
  onBackendStatus?(status: number): void;
}

/** A device's two transports, with what both register and what they share (nothing). */
export interface VirtioArgoPair {
  readonly frontend: VirtioArgoFrontend;
  readonly backend: VirtioArgoBackend;
  /** register_ring results: 0, or -errno (a firewall denial is -EACCES). */
  readonly registered: { frontend: number; backend: number };
  /** Guest memories both ends touch: always 0 — the point of VirtIO-Argo (§4.1). */
  sharedMappings(): number;
  figures(): { frontend: VirtioArgoFigures; backend: VirtioArgoFigures };
}

/**
 * Connects a front end in `frontend.domid` to a back end running `model` in `backend.domid` over Argo:
 * the back end registers (backend, port) for the front end, the front end (frontend, port) for the
 * back end; the driver then initialises the front end like any VirtIO device.
 *
 * @example
 * ```ts
 * const pair = connectVirtioArgo({ hv, frontend: { domid: 1 }, backend: { domid: 2 }, model: virtioBlkModel({ disk }) });
 * const init = initialiseDevice(pair.frontend, pair.frontend.guest.platform.memory, pair.frontend.guest.pages, { wanted });
 * pair.sharedMappings(); // 0
 * ```
 */
export function connectVirtioArgo(options: VirtioArgoConnectOptions): VirtioArgoPair {
  const port = options.port ?? VIRTIO_ARGO_PORT_BASE;
  const feGuest = options.frontend.guest ?? new ArgoGuest(platformOf(options.hv, options.frontend.domid));
  const beGuest = options.backend.guest ?? new ArgoGuest(platformOf(options.hv, options.backend.domid));
  if (feGuest.domid !== options.frontend.domid || beGuest.domid !== options.backend.domid) {
    throw new Error(`connectVirtioArgo: guest libraries of domains ${feGuest.domid}/${beGuest.domid}, ends ${options.frontend.domid}/${options.backend.domid}`);
  }
  const backend = new VirtioArgoBackend(beGuest, {
    port,
    frontendDomid: feGuest.domid,
    model: options.model,
    ringLen: options.ringLen,
    chainBytesMax: options.chainBytesMax,
    onStatus: options.onBackendStatus,
  });
  const frontend = new VirtioArgoFrontend(feGuest, { port, backendDomid: beGuest.domid, ringLen: options.ringLen, ...options.frontendHooks });
  const registered = { backend: backend.start(), frontend: frontend.start() };
  return {
    frontend,
    backend,
    registered,
    sharedMappings: () => sharedMappings(frontend, backend),
    figures: () => ({ frontend: { ...frontend.figures }, backend: { ...backend.figures } }),
  };
}

/**
 * Counts the memories both ends touch: the front end's guest memory against the back end's guest
 * memory and its device model's. Each transport reaches only its own domain's memory through its
 * guest library, and the back end's device serves from the back end's memory, so this is 0 unless
 * someone wires a device to the front end's memory.
 *
 * @example
 * ```ts
 * sharedMappings(pair.frontend, pair.backend); // 0
 * ```
 */
export function sharedMappings(frontend: VirtioArgoFrontend, backend: VirtioArgoBackend): number {
  const feSide = new Set([frontend.guest.platform.memory.buffer]);
  const beSide = new Set([backend.guest.platform.memory.buffer, backend.device.memory.buffer]);
  let shared = 0;
  for (const buffer of feSide) if (beSide.has(buffer)) shared++;
  return shared;
}
