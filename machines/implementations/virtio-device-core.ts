import { assign, type AnyActorRef } from 'xstate';
import { ArgoGuest } from '../../src/guest/argo-guest.js';
import { platformOf } from '../../src/guest/platform.js';
import { VirtioArgoBackend } from '../../src/virtio-argo/backend.js';
import { freeRun } from '../../src/virtio-argo/free-run.js';
import { VIRTIO_ARGO_PORT_BASE, sharedMappings, type VirtioArgoEnd } from '../../src/virtio-argo/connect.js';
import { VirtioArgoFrontend, type VirtioArgoFigures } from '../../src/virtio-argo/frontend.js';
import { readFeatures } from '../../src/virtio/driver-init.js';
import { usedRingBytes, type VringAddresses } from '../../src/virtio/layout.js';
import { placeVring } from '../../src/virtio/place-vring.js';
import type { VirtioDeviceModel } from '../../src/virtio/virtio-device.js';
import { errnoName } from '../../src/xen/errno.js';
import type { Hypervisor } from '../../src/xen/hypervisor.js';
import { VIRTIO_STATUS, virtioDeviceMachine, type VirtioDeviceContext } from '../virtio-device.js';
import { wiredActors } from './wired.js';

/**
 * What a wired device actor acts on: the front-end transport with what the driver wants, or the
 * back-end transport it follows.
 *
 * @example
 * ```ts
 * const wire: VirtioDeviceWire = { role: 'frontend', frontend: pair.frontend, wanted, queueSizes: [64] };
 * ```
 */
export type VirtioDeviceWire =
  | { role: 'frontend'; frontend: VirtioArgoFrontend; wanted: bigint; queueSizes?: readonly number[]; live?: { features: bigint; rings: VringAddresses[] } }
  | { role: 'backend'; backend: () => VirtioArgoBackend };

/**
 * A device actor (not started) over `wire` (see `wiredActors`): the front end runs §1.2 through
 * its VirtIO-Argo transport; the back end follows its device's status from `STATUS` reports.
 *
 * @example
 * ```ts
 * const fe = createVirtioDeviceActor({ role: 'frontend', frontend: pair.frontend, wanted }, { input: { name: 'vda', role: 'frontend' } }).start();
 * fe.send({ type: 'INITIALISE' });
 * ```
 */
export const createVirtioDeviceActor = wiredActors('createVirtioDeviceActor', provideVirtioDevice);

/**
 * `virtioDeviceMachine` wired to one wire, for `createActor` (one machine per wire; prefer
 * `createVirtioDeviceActor` for many actors).
 *
 * @example
 * ```ts
 * const actor = createActor(virtioDeviceMachineFor({ role: 'backend', backend: () => pair.backend }), { input: { name: 'vda', role: 'backend' } });
 * ```
 */
export function virtioDeviceMachineFor(wire: VirtioDeviceWire) {
  return provideVirtioDevice(() => wire);
}

function provideVirtioDevice(wireOf: (self: AnyActorRef) => VirtioDeviceWire) {
  const fe = (self: AnyActorRef) => {
    const w = wireOf(self);
    return w.role === 'frontend' ? w : null;
  };
  return virtioDeviceMachine.provide({
    actions: {
      writeStatus: ({ context, self }, params: { add: number }) => fe(self)?.frontend.writeStatus(params.add === 0 ? 0 : context.status | params.add),
      negotiate: ({ context, self }) => {
        const w = fe(self);
        if (!w) return;
        const features = readFeatures(w.frontend) & w.wanted; // §1.2 step 4
        w.frontend.writeDriverFeatures(0, Number(features & 0xffff_ffffn));
        w.frontend.writeDriverFeatures(1, Number(features >> 32n));
        w.live = { features, rings: [] };
        w.frontend.writeStatus(context.status | VIRTIO_STATUS.FEATURES_OK); // step 5
      },
      setupQueues: ({ self }) => {
        const w = fe(self);
        if (w) setupQueues(w);
      },
      failIfRefused: ({ context, self }, params: { needs: number }) => {
        // §1.2 steps 6 and 8: a step the device refused, with no reset needed, makes the driver give up
        if ((context.status & params.needs) === 0 && (context.status & VIRTIO_STATUS.NEEDS_RESET) === 0) fe(self)?.frontend.writeStatus(context.status | VIRTIO_STATUS.FAILED);
      },
      attachBackend: ({ self }, params: { domid: number }) => void fe(self)?.frontend.attachBackend(params.domid),
      readStatus: assign(({ self }): Partial<VirtioDeviceContext> => {
        const w = wireOf(self);
        return { status: w.role === 'frontend' ? w.frontend.readStatus() : w.backend().device.readStatus() };
      }),
    },
  });
}

/** §1.2 step 7 with the §1.8 queue set-up, in the guest's own memory; a queue refused → FAILED. */
function setupQueues(w: Extract<VirtioDeviceWire, { role: 'frontend' }>): void {
  const t = w.frontend;
  const { memory } = t.guest.platform;
  for (const ring of w.live?.rings ?? []) freeRun(t.guest.pages, ring.desc, ring.used + usedRingBytes(ring.qsz) - ring.desc);
  const rings: VringAddresses[] = [];
  w.live = { features: w.live?.features ?? 0n, rings };
  const sizes = w.queueSizes ?? [t.queueSizeMax(0)];
  for (let q = 0; q < sizes.length; q++) {
    const max = t.queueSizeMax(q);
    if (max === 0 || t.queueReady(q)) return t.writeStatus(t.readStatus() | VIRTIO_STATUS.FAILED);
    const ring = placeVring(memory, t.guest.pages, Math.min(sizes[q], max));
    rings.push(ring);
    t.setQueueSize(q, ring.qsz);
    t.setQueueAddresses(q, ring.desc, ring.avail, ring.used);
    t.setQueueReady(q, true);
    if (!t.queueReady(q)) return t.writeStatus(t.readStatus() | VIRTIO_STATUS.FAILED);
  }
}

/** Options of `createVirtioArgoDevice`. */
export interface VirtioArgoDeviceOptions {
  hv: Hypervisor;
  name: string;
  frontend: VirtioArgoEnd;
  backend: VirtioArgoEnd;
  model: VirtioDeviceModel;
  /** Features the front-end driver understands. */
  wanted: bigint;
  queueSizes?: readonly number[];
  port?: number;
  ringLen?: number;
  chainBytesMax?: number;
  /** A used-buffer notification for queue `q`. */
  onUsed?(q: number): void;
}

/** Per-device figures for `argosim run --json` `devices`. */
export interface VirtioArgoDeviceFigures extends Omit<VirtioArgoFigures, 'completions'> {
  name: string;
  state: string;
  completions: number;
  recoveries: number;
  sharedMappings: number;
  /** Why the device last stopped working, as its front end saw it (a refused ring registration, a queue the back end refused, the link lost), else null. */
  reason: string | null;
}

/**
 * The guest's side of a VirtIO-Argo device: its front-end transport and the actor that drives §1.2
 * through it. What a runtime that hosts the two ends in different threads builds in the front end's
 * thread (`createVirtioArgoFrontSide`); `VirtioArgoDevice` is both sides in one.
 */
export interface VirtioArgoFrontSide {
  readonly name: string;
  readonly frontend: VirtioArgoFrontend;
  readonly frontendActor: ReturnType<typeof createVirtioDeviceActor>;
  /** The negotiated features and the guest-side rings once the front end is live. */
  live(): { features: bigint; rings: VringAddresses[] } | null;
  /** Starts the actor and INITIALISEs the device. */
  start(): void;
  /** A new back end listens in domain `domid`: BACKEND_UP (the front end resets and re-initialises). */
  backendUp(domid: number): void;
  /** The figures, with `sharedMappings` counted by `shared` (the memories both ends touch). */
  figures(shared: () => number): VirtioArgoDeviceFigures;
  stop(): void;
}

/**
 * The device model's side of a VirtIO-Argo device: the back-end transport over the model and the
 * actor that follows the device's status. What a runtime builds in the back end's thread
 * (`createVirtioArgoBackSide`).
 */
export interface VirtioArgoBackSide {
  readonly backend: VirtioArgoBackend;
  readonly backendActor: ReturnType<typeof createVirtioDeviceActor>;
  start(): void;
  /** A new back-end domain came up: a back end there, serving `model` (the old one's endpoint closed). */
  replace(end: VirtioArgoEnd, model: VirtioDeviceModel): void;
  stop(): void;
}

/** Options of `createVirtioArgoFrontSide`. */
export interface VirtioArgoFrontSideOptions {
  hv: Hypervisor;
  name: string;
  frontend: VirtioArgoEnd;
  /** The back end's domain (where its device listens on `port`). */
  backendDomid: number;
  wanted: bigint;
  queueSizes?: readonly number[];
  port?: number;
  ringLen?: number;
  /** A used-buffer notification for queue `q`. */
  onUsed?(q: number): void;
  /** How the front end waits for a control answer from a back end in another thread (`VirtioArgoFrontendOptions.waitForPeer`). */
  waitForPeer?(attempt: number): boolean;
}

/** Options of `createVirtioArgoBackSide`. */
export interface VirtioArgoBackSideOptions {
  hv: Hypervisor;
  name: string;
  backend: VirtioArgoEnd;
  frontendDomid: number;
  model: VirtioDeviceModel;
  port?: number;
  ringLen?: number;
  chainBytesMax?: number;
}

/**
 * The front end of a device alone: registers (frontend, port) for the back end now; `start`
 * initialises it.
 *
 * @example
 * ```ts
 * const side = createVirtioArgoFrontSide({ hv, name: 'vda', frontend: { domid: 1 }, backendDomid: 2, wanted });
 * side.start();
 * ```
 */
export function createVirtioArgoFrontSide(options: VirtioArgoFrontSideOptions): VirtioArgoFrontSide {
  let actor: ReturnType<typeof createVirtioDeviceActor> | null = null;
  const guest = options.frontend.guest ?? new ArgoGuest(platformOf(options.hv, options.frontend.domid));
  const frontend = new VirtioArgoFrontend(guest, {
    port: options.port ?? VIRTIO_ARGO_PORT_BASE,
    backendDomid: options.backendDomid,
    ringLen: options.ringLen,
    onUsed: options.onUsed,
    onLinkDown: (errno) => actor?.send({ type: 'BACKEND_GONE', errno: errnoName(errno) ?? `E${errno}` }),
    onConfigChange: (status) => actor?.send({ type: 'STATUS', status }),
    waitForPeer: options.waitForPeer,
  });
  frontend.start();
  const wire: VirtioDeviceWire = { role: 'frontend', frontend, wanted: options.wanted, queueSizes: options.queueSizes };
  const fa = (actor = createVirtioDeviceActor(wire, { input: { name: options.name, role: 'frontend' } }));
  return {
    name: options.name,
    frontend,
    frontendActor: fa,
    live: () => (fa.getSnapshot().value === 'driverOk' && wire.role === 'frontend' ? (wire.live ?? null) : null),
    start() {
      fa.start();
      fa.send({ type: 'INITIALISE' });
    },
    backendUp: (domid) => fa.send({ type: 'BACKEND_UP', domid }),
    figures(shared) {
      const f = frontend.figures;
      const snap = fa.getSnapshot();
      return { name: options.name, state: String(snap.value), status: f.status, requests: f.requests, completions: f.completions, errors: f.errors, bytes: f.bytes, recoveries: snap.context.recoveries, sharedMappings: shared(), reason: frontend.lastError };
    },
    stop() {
      fa.stop();
      frontend.stop();
    },
  };
}

/**
 * The back end of a device alone: registers (backend, port) for the front end now; `start` starts
 * its actor.
 *
 * @example
 * ```ts
 * const side = createVirtioArgoBackSide({ hv, name: 'vda', backend: { domid: 2 }, frontendDomid: 1, model });
 * side.start();
 * ```
 */
export function createVirtioArgoBackSide(options: VirtioArgoBackSideOptions): VirtioArgoBackSide {
  const port = options.port ?? VIRTIO_ARGO_PORT_BASE;
  let actor: ReturnType<typeof createVirtioDeviceActor> | null = null;
  const backendIn = (end: VirtioArgoEnd, model: VirtioDeviceModel) => {
    const guest = end.guest ?? new ArgoGuest(platformOf(options.hv, end.domid));
    const backend = new VirtioArgoBackend(guest, { port, frontendDomid: options.frontendDomid, model, ringLen: options.ringLen, chainBytesMax: options.chainBytesMax, onStatus: (status) => actor?.send({ type: 'STATUS', status }) });
    backend.start();
    return backend;
  };
  let backend = backendIn(options.backend, options.model);
  const ba = (actor = createVirtioDeviceActor({ role: 'backend', backend: () => backend }, { input: { name: options.name, role: 'backend' } }));
  return {
    get backend() {
      return backend;
    },
    backendActor: ba,
    start: () => void ba.start(),
    replace(end, model) {
      backend.endpoint.close();
      backend = backendIn(end, model);
    },
    stop() {
      ba.stop();
      backend.endpoint.close();
    },
  };
}

/**
 * A VirtIO device over VirtIO-Argo with its two actors
 *
 * @example
 * ```ts
 * const vda = createVirtioArgoDevice({ hv, name: 'vda', frontend: { domid: 1 }, backend: { domid: 2 }, model, wanted });
 * vda.start();                                   // front end INITIALISEs: 'driverOk'
 * hv.destroyDomain(2);                           // the next kick sees ESRCH: 'needsReset'
 * vda.replaceBackend({ domid: 3 }, model);       // BACKEND_UP: 'driverOk' again
 * ```
 */
export interface VirtioArgoDevice {
  readonly name: string;
  readonly frontend: VirtioArgoFrontend;
  readonly backend: VirtioArgoBackend;
  readonly frontendActor: ReturnType<typeof createVirtioDeviceActor>;
  readonly backendActor: ReturnType<typeof createVirtioDeviceActor>;
  /** The negotiated features and the guest-side rings once the front end is live. */
  live(): { features: bigint; rings: VringAddresses[] } | null;
  start(): void;
  /** A new back-end domain came up: a back end there, then BACKEND_UP to the front end (it resets and re-initialises). */
  replaceBackend(end: VirtioArgoEnd, model: VirtioDeviceModel): void;
  figures(): VirtioArgoDeviceFigures;
  stop(): void;
}

/**
 * Builds a device: the back side (`createVirtioArgoBackSide`: its transport registers first, as
 * `connectVirtioArgo` does), the front side (`createVirtioArgoFrontSide`), both in this thread.
 *
 * @example
 * ```ts
 * const vda = createVirtioArgoDevice({ hv, name: 'vda', frontend: { domid: 1 }, backend: { domid: 2 }, model: virtioBlkModel({ disk }), wanted });
 * vda.start();
 * vda.frontendActor.getSnapshot().value; // 'driverOk'
 * ```
 */
export function createVirtioArgoDevice(options: VirtioArgoDeviceOptions): VirtioArgoDevice {
  const feDomid = options.frontend.guest?.domid ?? options.frontend.domid;
  const beDomid = options.backend.guest?.domid ?? options.backend.domid;
  if (feDomid !== options.frontend.domid || beDomid !== options.backend.domid) {
    throw new Error(`createVirtioArgoDevice: guest libraries of domains ${feDomid}/${beDomid}, ends ${options.frontend.domid}/${options.backend.domid}`);
  }
  const back = createVirtioArgoBackSide({ ...options, frontendDomid: options.frontend.domid });
  const front = createVirtioArgoFrontSide({ ...options, backendDomid: options.backend.domid });
  return {
    name: options.name,
    frontend: front.frontend,
    get backend() {
      return back.backend;
    },
    frontendActor: front.frontendActor,
    backendActor: back.backendActor,
    live: () => front.live(),
    start() {
      back.start();
      front.start();
    },
    replaceBackend(end, model) {
      back.replace(end, model);
      front.backendUp(end.domid);
    },
    figures: () => front.figures(() => sharedMappings(front.frontend, back.backend)),
    stop() {
      front.stop();
      back.stop();
    },
  };
}
