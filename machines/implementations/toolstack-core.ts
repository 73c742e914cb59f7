import { assign, type AnyActorRef } from 'xstate';
import { SHUTDOWN_suspend, XEN_DOMINF_shutdown, XEN_DOMINF_shutdownshift } from '../../src/domain/lifecycle.js';
import type { Clock } from '../../src/runtime/virtual-clock.js';
import type { XenstoreApi } from '../../src/xenstore/xenstore-api.js';
import type { CreateDomainOptions, Hypervisor } from '../../src/xen/hypervisor.js';
import { wiredActors } from './wired.js';
import { toolstackMachine, TOOLSTACK_SHUTDOWN_REASONS, type ControlRequest, type ToolstackEvent } from '../toolstack.js';

/** The clock `createActor` takes (XState's `Clock`, which the package does not export by name). */
export interface XStateClock {
  setTimeout(fn: (...args: unknown[]) => void, timeout: number): unknown;
  clearTimeout(id: unknown): void;
}

/**
 * XState's clock (`createActor(…, { clock })`) over a model `Clock`: delayed transitions and delayed
 * raises become timers of the virtual clock (the deterministic Scheduler is one).
 *
 * @example
 * ```ts
 * const scheduler = new Scheduler({ strategy: fifoStrategy() });
 * createActor(machine, { clock: xstateClock(scheduler) });
 * ```
 */
export function xstateClock(clock: Clock): XStateClock {
  return {
    setTimeout: (fn: (...args: unknown[]) => void, ms: number) => clock.setTimer(ms, () => fn()),
    clearTimeout: (id: unknown) => (id as () => void)(),
  };
}

/**
 * The `control/shutdown` node of each domain (`/local/domain/N/control/shutdown`), the part of xenstore
 * the shutdown, reboot and suspend protocol uses. libxl writes a request; the guest acknowledges by
 * clearing it; on timeout libxl clears it in a transaction, finding out whether the guest did first.
 *
 * @example
 * ```ts
 * const nodes = new ControlNodes();
 * nodes.write(1, 'suspend');
 * nodes.acknowledge(1);              // the guest: true, it cleared the request
 * nodes.cancelInTransaction(1);      // true: acknowledged before the timeout's transaction
 * ```
 */
export class ControlNodes {
  private readonly nodes = new Map<number, ControlRequest>();
  private readonly watchers = new Set<ControlWatch>();

  /**
   * Over `store` (a Xenstore) the nodes are `/local/domain/<domid>/control/shutdown`, written by dom0
   * (libxl) and removed by the guest, each operation counted by the store; without one, a map.
   */
  constructor(private readonly store?: XenstoreApi) {}

  /** libxl: writes the request (the guest's watch on the node fires). */
  write(domid: number, request: ControlRequest): void {
    if (this.store) this.store.write(0, nodeOf(domid), request);
    else this.nodes.set(domid, request);
    for (const w of this.watchers) w.written?.(domid, request);
  }

  /** The node's value, or undefined when empty. */
  read(domid: number): ControlRequest | undefined {
    if (!this.store) return this.nodes.get(domid);
    const value = this.store.read(0, nodeOf(domid));
    return typeof value === 'string' && value !== '' ? (value as ControlRequest) : undefined;
  }

  /** The guest clears the node (libxl's watch on it fires); false if there was no request to acknowledge. */
  acknowledge(domid: number): boolean {
    const request = this.read(domid);
    if (request === undefined) return false;
    if (this.store) this.store.rm(domid, nodeOf(domid));
    else this.nodes.delete(domid);
    for (const w of this.watchers) w.acknowledged?.(domid, request);
    return true;
  }

  /**
   * libxl's timeout transaction: read the node and clear it. True when the guest had already
   * cleared it (a last-moment acknowledgement), false when the request was still there.
   */
  cancelInTransaction(domid: number): boolean {
    if (!this.store) return !this.nodes.delete(domid);
    for (;;) {
      const tx = this.store.transactionStart(0);
      const there = typeof this.store.read(0, nodeOf(domid), tx) === 'string';
      if (there) this.store.rm(0, nodeOf(domid), tx);
      if (this.store.transactionEnd(0, tx) === true) return !there; // EAGAIN: someone wrote meanwhile, again
    }
  }

  /**
   * xenstore watches on the nodes: `written` is the guest's (its xenbus watch on control/shutdown),
   * `acknowledged` libxl's (the node cleared by the guest). Returns the unwatch function.
   *
   * @example
   * ```ts
   * const unwatch = nodes.watch({ written: (domid, request) => guestOf(domid).onControl(request) });
   * ```
   */
  watch(watch: ControlWatch): () => void {
    this.watchers.add(watch);
    return () => void this.watchers.delete(watch);
  }
}

const nodeOf = (domid: number) => `/local/domain/${domid}/control/shutdown`;

/**
 * Watches on the control/shutdown nodes (see `ControlNodes.watch`).
 *
 * @example
 * ```ts
 * const w: ControlWatch = { acknowledged: (domid) => toolstack.send({ type: 'GUEST_ACK' }) };
 * ```
 */
export interface ControlWatch {
  written?(domid: number, request: ControlRequest): void;
  acknowledged?(domid: number, request: ControlRequest): void;
}

/**
 * The domain's devices as libxl removes them at destroy (lifecycle §6.4 destroy step 2,
 * `libxl__devices_destroy`), over the host's xenstore.
 *
 * @example
 * ```ts
 * const none: DeviceRemoval = { close: (_domid, closed) => closed(), backendsGone: () => false, remove: () => {} };
 * ```
 */
export interface DeviceRemoval {
  /**
   * Finds the domain's devices and sets each backend's state to Closing; calls `closed` (later, not
   * within the call) once every backend that still exists has answered Closed.
   */
  close(domid: number, closed: () => void): void;
  /** True when the devices found have backends and every backend domain is gone (§6.6: no wait, Xen 9eaaedfcde). */
  backendsGone(domid: number): boolean;
  /** Removes each device's frontend, backend and libxl paths, then the domain's own paths. */
  remove(domid: number): void;
}

/**
 * A device model process (QEMU) as the toolstack sees it: `start` spawns it and calls `started` when
 * it reports ready, `failed` when it dies before that (libxl_exec.c spawn_middle_death), or neither;
 * `resume` is libxl__dm_resume (QMP "cont"), `done(false)` when QEMU did not answer; `kill` stops
 * it, false when it had already exited.
 *
 * @example
 * ```ts
 * const neverStarts: DeviceModel = { start: () => {}, resume: () => {}, kill: () => true };
 * ```
 */
export interface DeviceModel {
  start(domid: number, started: () => void, failed: () => void): void;
  resume(domid: number, done: (ok: boolean) => void): void;
  kill(domid: number): boolean;
}

/**
 * The domctls and domain operations the toolstack makes on a domain, as one port: by default the
 * hypervisor's own calls (`hypervisorControl`); a runtime passes one that goes through its domain
 * actors, so each call is an event of the domain's actor.
 *
 * @example
 * ```ts
 * const control: DomainControl = { ...hypervisorControl(hv), pause: (domid) => domainActor.send({ type: 'PAUSE' }) };
 * ```
 */
export interface DomainControl {
  /** domain_make: XEN_DOMCTL_createdomain (the domain is created paused). */
  make(domid: number): void;
  pause(domid: number): void;
  unpause(domid: number): void;
  /** XEN_DOMCTL_resumedomain. */
  resume(domid: number): void;
  /** xc_domain_shutdown(SHUTDOWN_suspend): suspending a guest without PV control. */
  suspend(domid: number): void;
  /** XEN_DOMCTL_soft_reset. */
  softReset(domid: number): void;
  /** xc_domain_destroy: the domain is killed, and reaped once its resources are relinquished. */
  destroy(domid: number): void;
  /** Whether `domid` names a domain (one being destroyed by this toolstack no longer does); default: the hypervisor's answer. */
  inUse?(domid: number): boolean;
}

/**
 * `DomainControl` over a Hypervisor's own calls.
 *
 * @example
 * ```ts
 * hypervisorControl(hv, { memoryBytes: 1 << 20 }).make(3);
 * ```
 */
export function hypervisorControl(hv: Hypervisor, createOptions: Omit<CreateDomainOptions, 'domid'> = {}): DomainControl {
  return {
    make: (domid) => void hv.createDomain({ ...createOptions, domid }),
    pause: (domid) => void hv.domctl.pause(domid),
    unpause: (domid) => void hv.domctl.unpause(domid),
    resume: (domid) => void hv.domctl.resume(domid),
    suspend: (domid) => void hv.shutdownDomain(domid, SHUTDOWN_suspend),
    softReset: (domid) => void hv.domctl.softReset(domid),
    destroy: (domid) => {
      if (hv.life(domid) !== 'gone') hv.destroyDomain(domid);
    },
  };
}

/**
 * Options of `toolstackMachineFor`.
 *
 * @example
 * ```ts
 * const options: ToolstackHost = { controlNodes: new ControlNodes(), backendDomid: 2 };
 * ```
 */
export interface ToolstackHost {
  /** Passed to `hv.createDomain` with the allocated domid (by the default `control`). */
  createOptions?: Omit<CreateDomainOptions, 'domid'>;
  /** How the domctls are made; default the hypervisor's own calls (`hypervisorControl`). */
  control?: DomainControl;
  /** The device model; default one that reports started at once. */
  deviceModel?: DeviceModel;
  /** The control/shutdown nodes; default a fresh set (no guest acknowledges). */
  controlNodes?: ControlNodes;
  /** The domain running the backends: once gone, device removal does not wait (§6.6, case 44). */
  backendDomid?: number;
  /** Historical bug R14: the timeout's transaction does not see a late acknowledgement (see `ToolstackWire`). */
  ackWithoutTransaction?: boolean;
  /** Historical bug R15: domids reused at once (see `ToolstackWire`). */
  reuseWithoutQuarantine?: boolean;
  /** The domain's devices in xenstore, removed at destroy; default none. */
  devices?: DeviceRemoval;
  /** Historical bug R9: device removal waits for be/state=Closed from a backend domain that is gone (see `ToolstackWire`). */
  waitForDeadBackend?: boolean;
}

const startsAtOnce: DeviceModel = { start: (_domid, started) => started(), resume: (_domid, done) => done(true), kill: () => true };

/**
 * `toolstackMachine` wired to a Hypervisor: `domainMake` is `control.make` (by default
 * `hv.createDomain`, created paused), `domctlPause` / `domctlUnpause` / `domctlResume` /
 * `domctlSoftReset` the domctls, `domainSuspendDirect` a shutdown with SHUTDOWN_suspend,
 * `domainDestroy` kill + reap; the device model and control nodes are the host's. Domid allocation
 * skips ids in use and quarantined ones; `backendGone` also asks the hypervisor whether the backend
 * domain still exists.
 *
 * @example
 * ```ts
 * const ts = createActor(toolstackMachineFor(hv), { input: { domid: 1, deviceModel: false, pvControl: true }, clock: xstateClock(scheduler) }).start();
 * ts.send({ type: 'CREATE' });
 * hv.domctl.getInfo(1).flags & XEN_DOMINF_paused;   // set: created paused
 * ```
 */
export function toolstackMachineFor(hv: Hypervisor, host: ToolstackHost = {}) {
  const wire = toolstackWire(hv, host);
  return provideToolstack(() => wire);
}

/**
 * What a wired toolstack actor acts on (see `toolstackWire`).
 *
 * @example
 * ```ts
 * const wire: ToolstackWire = toolstackWire(hv, { controlNodes });
 * ```
 */
export interface ToolstackWire {
  hv: Hypervisor;
  control: DomainControl;
  deviceModel: DeviceModel;
  nodes: ControlNodes;
  backendDomid: number | undefined;
  /**
   * Historical bug R14 (virtio-ioreq-lifecycle.md §6.7): on the acknowledgement timeout libxl
   * removes control/shutdown without re-reading it in a transaction, so a guest's acknowledgement
   * that raced the timeout is lost and the operation fails although the guest goes on.
   */
  ackWithoutTransaction: boolean;
  /** Historical bug R15 (before Xen 2b02882ebb): a domid is reused at once, without LIBXL_DOMID_REUSE_TIMEOUT. */
  reuseWithoutQuarantine: boolean;
  devices: DeviceRemoval | undefined;
  /**
   * Historical bug R9 (before Xen 9eaaedfcde; virtio-ioreq-lifecycle.md §6.7, §7 case 44): device
   * removal does not check whether the backend domain still exists, so it waits for a be/state=Closed
   * that never comes until LIBXL_DESTROY_TIMEOUT.
   */
  waitForDeadBackend: boolean;
}

/** A toolstack's wire from a hypervisor and the host's options (defaults as `toolstackMachineFor`'s). */
export function toolstackWire(hv: Hypervisor, host: ToolstackHost = {}): ToolstackWire {
  return {
    hv,
    control: host.control ?? hypervisorControl(hv, host.createOptions),
    deviceModel: host.deviceModel ?? startsAtOnce,
    nodes: host.controlNodes ?? new ControlNodes(),
    backendDomid: host.backendDomid,
    ackWithoutTransaction: host.ackWithoutTransaction ?? false,
    reuseWithoutQuarantine: host.reuseWithoutQuarantine ?? false,
    devices: host.devices,
    waitForDeadBackend: host.waitForDeadBackend ?? false,
  };
}

/**
 * A toolstack actor (not started) over `wire` — the same as `createActor(toolstackMachineFor(hv,
 * host), actorOptions)`, made from one shared machine (see `wiredActors`).
 *
 * @example
 * ```ts
 * const ts = createToolstackActor(toolstackWire(hv), { input: { domid: 1, deviceModel: false, pvControl: true } }).start();
 * ```
 */
export const createToolstackActor = wiredActors('createToolstackActor', provideToolstack);

/** `toolstackMachine` with each action using the running actor's wire. */
function provideToolstack(wireOf: (self: AnyActorRef) => ToolstackWire) {
  const domidOf = (context: { domid: number | null }): number => {
    if (context.domid === null) throw new Error('toolstack: no domid assigned yet');
    return context.domid;
  };
  const on = (op: (w: ToolstackWire, domid: number) => void) => ({ context, self }: { context: { domid: number | null }; self: AnyActorRef }) =>
    op(wireOf(self), domidOf(context));
  return toolstackMachine.provide({
    actions: {
      domainMake: on((w, domid) => w.control.make(domid)),
      spawnDeviceModel: ({ context, self }) =>
        wireOf(self).deviceModel.start(domidOf(context), () => self.send({ type: 'DM_STARTED' }), () => self.send({ type: 'DM_FAILED' })),
      resumeDeviceModel: ({ context, self }) => wireOf(self).deviceModel.resume(domidOf(context), (ok) => self.send({ type: 'DM_RESUMED', ok })),
      killDeviceModel: assign(({ context, self }) => ({ dmExited: !wireOf(self).deviceModel.kill(domidOf(context)) })),
      domctlPause: on((w, domid) => w.control.pause(domid)),
      domctlUnpause: on((w, domid) => w.control.unpause(domid)),
      domctlResume: on((w, domid) => w.control.resume(domid)),
      writeControlNode: ({ context, self }) => wireOf(self).nodes.write(domidOf(context), context.request!),
      domainSuspendDirect: on((w, domid) => w.control.suspend(domid)),
      domctlSoftReset: on((w, domid) => w.control.softReset(domid)),
      domainDestroy: on((w, domid) => w.control.destroy(domid)),
      controlNodeTransaction: assign(({ context, self }) => {
        const w = wireOf(self);
        const acked = w.nodes.cancelInTransaction(domidOf(context));
        return { acked: acked && !w.ackWithoutTransaction };
      }),
      allocateDomid: assign(({ context, self }, params: { domid: number | undefined }) => {
        if (params.domid !== undefined) return { domid: params.domid };
        const { hv, control, reuseWithoutQuarantine } = wireOf(self);
        const inUse = (d: number) => (control.inUse ? control.inUse(d) : hv.life(d) !== 'gone');
        let domid = context.config.domid;
        while ((!reuseWithoutQuarantine && context.quarantined.includes(domid)) || inUse(domid)) domid++;
        return { domid };
      }),
      closeDevices: ({ context, self }) => wireOf(self).devices?.close(domidOf(context), () => self.send({ type: 'BACKEND_CLOSED' })),
      removeXenstorePaths: on((w, domid) => w.devices?.remove(domid)),
      readBackend: assign(({ context, self }) => {
        const w = wireOf(self);
        if (w.waitForDeadBackend) return { backendGone: false }; // R9: libxl did not look
        const gone = (w.backendDomid !== undefined && w.hv.life(w.backendDomid) === 'gone') || (w.devices?.backendsGone(domidOf(context)) ?? false);
        return { backendGone: context.backendGone || gone };
      }),
    },
  });
}

/**
 * What libxl reports when `@releaseDomain` fires for `domid` (lifecycle §6.4 domain death events):
 * getdomaininfo, then DOMAIN_DEATH when the domain is dying or gone, DOMAIN_SHUTDOWN with the reason
 * from the flags when XEN_DOMINF_shutdown is set, nothing otherwise. The machine reports each once.
 *
 * @example
 * ```ts
 * hv.shutdownDomain(1, SHUTDOWN_poweroff);
 * toolstack.send(releaseDomainEvent(hv, 1)!);   // { type: 'DOMAIN_SHUTDOWN', reason: 'poweroff' }
 * ```
 */
export function releaseDomainEvent(hv: Hypervisor, domid: number): ToolstackEvent | null {
  if (hv.life(domid) !== 'alive') return { type: 'DOMAIN_DEATH' };
  const { flags } = hv.domctl.getInfo(domid);
  if ((flags & XEN_DOMINF_shutdown) === 0) return null;
  const reason = TOOLSTACK_SHUTDOWN_REASONS[(flags >> XEN_DOMINF_shutdownshift) & 255];
  if (reason === undefined) throw new Error(`getdomaininfo: shutdown code ${(flags >> XEN_DOMINF_shutdownshift) & 255} is not a reason of public/sched.h`);
  return { type: 'DOMAIN_SHUTDOWN', reason };
}
