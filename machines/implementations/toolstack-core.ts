import { assign } from 'xstate';
import { SHUTDOWN_suspend, XEN_DOMINF_shutdown, XEN_DOMINF_shutdownshift } from '../../src/domain/lifecycle.js';
import type { Clock } from '../../src/runtime/virtual-clock.js';
import type { CreateDomainOptions, Hypervisor } from '../../src/xen/hypervisor.js';
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

  /** libxl: writes the request. */
  write(domid: number, request: ControlRequest): void {
    this.nodes.set(domid, request);
  }

  /** The node's value, or undefined when empty. */
  read(domid: number): ControlRequest | undefined {
    return this.nodes.get(domid);
  }

  /** The guest clears the node; false if there was no request to acknowledge. */
  acknowledge(domid: number): boolean {
    return this.nodes.delete(domid);
  }

  /**
   * libxl's timeout transaction: read the node and clear it. True when the guest had already
   * cleared it (a last-moment acknowledgement), false when the request was still there.
   */
  cancelInTransaction(domid: number): boolean {
    return !this.nodes.delete(domid);
  }
}

/**
 * A device model process (QEMU) as the toolstack sees it: `start` spawns it and calls `started` when
 * it reports ready, or never; `kill` stops it.
 *
 * @example
 * ```ts
 * const neverStarts: DeviceModel = { start: () => {}, kill: () => {} };
 * ```
 */
export interface DeviceModel {
  start(domid: number, started: () => void): void;
  kill(domid: number): void;
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
  /** Passed to `hv.createDomain` with the allocated domid. */
  createOptions?: Omit<CreateDomainOptions, 'domid'>;
  /** The device model; default one that reports started at once. */
  deviceModel?: DeviceModel;
  /** The control/shutdown nodes; default a fresh set (no guest acknowledges). */
  controlNodes?: ControlNodes;
  /** The domain running the backends: once gone, device removal does not wait (§6.6, case 44). */
  backendDomid?: number;
}

const startsAtOnce: DeviceModel = { start: (_domid, started) => started(), kill: () => {} };

/**
 * `toolstackMachine` wired to a Hypervisor: `domainMake` is `hv.createDomain` (created paused),
 * `domctlPause` / `domctlUnpause` / `domctlSoftReset` the domctls, `domainSuspendDirect`
 * `hv.shutdownDomain(domid, SHUTDOWN_suspend)`, `domainDestroy` `hv.destroyDomain` (kill + reap);
 * the device model and control nodes are the host's. Domid allocation skips ids in use and
 * quarantined ones; `backendGone` also asks the hypervisor whether the backend domain still exists.
 *
 * @example
 * ```ts
 * const ts = createActor(toolstackMachineFor(hv), { input: { domid: 1, deviceModel: false, pvControl: true }, clock: xstateClock(scheduler) }).start();
 * ts.send({ type: 'CREATE' });
 * hv.domctl.getInfo(1).flags & XEN_DOMINF_paused;   // set: created paused
 * ```
 */
export function toolstackMachineFor(hv: Hypervisor, host: ToolstackHost = {}) {
  const deviceModel = host.deviceModel ?? startsAtOnce;
  const nodes = host.controlNodes ?? new ControlNodes();
  const domidOf = (context: { domid: number | null }): number => {
    if (context.domid === null) throw new Error('toolstack: no domid assigned yet');
    return context.domid;
  };
  return toolstackMachine.provide({
    actions: {
      domainMake: ({ context }) => void hv.createDomain({ ...host.createOptions, domid: domidOf(context) }),
      spawnDeviceModel: ({ context, self }) => deviceModel.start(domidOf(context), () => self.send({ type: 'DM_STARTED' })),
      killDeviceModel: ({ context }) => deviceModel.kill(domidOf(context)),
      domctlPause: ({ context }) => void hv.domctl.pause(domidOf(context)),
      domctlUnpause: ({ context }) => void hv.domctl.unpause(domidOf(context)),
      writeControlNode: ({ context }) => nodes.write(domidOf(context), context.request!),
      domainSuspendDirect: ({ context }) => void hv.shutdownDomain(domidOf(context), SHUTDOWN_suspend),
      domctlSoftReset: ({ context }) => void hv.domctl.softReset(domidOf(context)),
      domainDestroy: ({ context }) => {
        const domid = domidOf(context);
        if (hv.life(domid) !== 'gone') hv.destroyDomain(domid);
      },
      controlNodeTransaction: assign(({ context }) => ({ acked: nodes.cancelInTransaction(domidOf(context)) })),
      allocateDomid: assign(({ context }, params: { domid: number | undefined }) => {
        if (params.domid !== undefined) return { domid: params.domid };
        let domid = context.config.domid;
        while (context.quarantined.includes(domid) || hv.life(domid) !== 'gone') domid++;
        return { domid };
      }),
    },
    guards: {
      backendGone: ({ context }) => context.backendGone || (host.backendDomid !== undefined && hv.life(host.backendDomid) === 'gone'),
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
