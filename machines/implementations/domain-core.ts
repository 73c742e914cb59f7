import { assign, type AnyActorRef } from 'xstate';
import { SHUTDOWN_CODE_INVALID, SHUTDOWN_COMPLETE, SHUTDOWN_IN_PROGRESS, type DomainInfo } from '../../src/domain/lifecycle.js';
import type { CreateDomainOptions, Hypervisor } from '../../src/xen/hypervisor.js';
import { domainMachine, SHUTDOWN_REASONS, type DomainContext, type ShutdownState } from '../domain.js';
import { wiredActors } from './wired.js';

/**
 * `domainMachine` wired to a Hypervisor for domain `domid`: each named action makes the call its name
 * says (`domctlPause` is `hv.domctl.pause(domid)`, …) and `getDomainInfo` records what
 * `hv.domctl.getInfo` then reports. The return codes are not kept: the machine checks the outcome in
 * the record, so a refused call (0 or -errno) leaves it where the core left the domain.
 *
 * `CREATE` creates the domain with `options`; an id already in use is a toolstack bug, and
 * `createDomain` throws (the actor stops with that error).
 *
 * @example
 * ```ts
 * const hv = createHypervisor({ argo: { enabled: true } });
 * const domain = createActor(domainMachineFor(hv, 1, { vcpus: 2 }), { input: { domid: 1 } }).start();
 * domain.send({ type: 'CREATE' });
 * domain.send({ type: 'UNPAUSE' });
 * hv.domctl.getInfo(1).flags & XEN_DOMINF_running; // set
 * ```
 */
export function domainMachineFor(hv: Hypervisor, domid: number, options: Omit<CreateDomainOptions, 'domid'> = {}) {
  const wire: DomainWire = { hv, domid, options };
  return provideDomain(() => wire);
}

/**
 * What a wired domain actor acts on: the hypervisor, its domain's id, and how `CREATE` creates it.
 *
 * @example
 * ```ts
 * const wire: DomainWire = { hv, domid: 3, options: { memoryBytes: 1 << 20 } };
 * ```
 */
export interface DomainWire {
  hv: Hypervisor;
  domid: number;
  options: Omit<CreateDomainOptions, 'domid'>;
}

/**
 * A domain actor (not started) over `wire` — the same as `createActor(domainMachineFor(hv, domid,
 * options), actorOptions)`, made from one shared machine (see `wiredActors`).
 *
 * @example
 * ```ts
 * const domain = createDomainActor({ hv, domid: 1, options: {} }, { input: { domid: 1 } }).start();
 * domain.send({ type: 'CREATE' });
 * ```
 */
export const createDomainActor = wiredActors('createDomainActor', provideDomain);

/** `domainMachine` with each action calling the hypervisor of the running actor's wire. */
function provideDomain(wireOf: (self: AnyActorRef) => DomainWire) {
  const sameDomain = (w: DomainWire, context: DomainContext): number => {
    if (context.domid !== w.domid) {
      throw new Error(`domainMachineFor(hv, ${w.domid}) was started with input domid ${context.domid}: pass { domid: ${w.domid} }`);
    }
    return w.domid;
  };
  const call = (fn: (w: DomainWire) => unknown) => ({ self }: { self: AnyActorRef }) => void fn(wireOf(self));
  return domainMachine.provide({
    actions: {
      domainCreate: ({ context, self }) => {
        const w = wireOf(self);
        w.hv.createDomain({ ...w.options, domid: sameDomain(w, context) });
      },
      domctlPause: call((w) => w.hv.domctl.pause(w.domid)),
      domctlUnpause: call((w) => w.hv.domctl.unpause(w.domid)),
      schedopShutdown: ({ self }, params) => call((w) => w.hv.shutdownDomain(w.domid, SHUTDOWN_REASONS.indexOf(params.reason)))({ self }),
      domainCrash: call((w) => w.hv.crashDomain(w.domid)),
      vcpuStartShutdownDeferral: ({ self }, params) => call((w) => w.hv.domctl.startShutdownDeferral(w.domid, params.vcpu))({ self }),
      vcpuEndShutdownDeferral: ({ self }, params) => call((w) => w.hv.domctl.endShutdownDeferral(w.domid, params.vcpu))({ self }),
      domctlResume: call((w) => w.hv.domctl.resume(w.domid)),
      domctlSoftReset: call((w) => w.hv.domctl.softReset(w.domid)),
      domainKill: call((w) => w.hv.killDomain(w.domid)),
      domainReap: call((w) => w.hv.reapDomain(w.domid)),
      getDomainInfo: assign(({ self }) => readDomainInfo(wireOf(self).hv, wireOf(self).domid)),
    },
  });
}

/** XEN_DOMCTL_getdomaininfo as the machine records it; only `life` once the id no longer resolves. */
function readDomainInfo(hv: Hypervisor, domid: number): Partial<DomainContext> {
  const life = hv.life(domid);
  if (life === 'gone') return { life };
  const info = hv.domctl.getInfo(domid);
  return {
    life,
    pauseRefs: info.controllerPauseCount,
    creationFinished: info.creationFinished,
    shutdownState: shutdownStateOf(info),
    shutdownReason: info.shutdownCode === SHUTDOWN_CODE_INVALID ? null : reasonOf(info.shutdownCode),
    deferringVcpus: deferringVcpus(hv, domid),
  };
}

function shutdownStateOf(info: DomainInfo): ShutdownState {
  if (info.shutdownState === SHUTDOWN_COMPLETE) return 'complete';
  return info.shutdownState === SHUTDOWN_IN_PROGRESS ? 'inProgress' : 'none';
}

function reasonOf(code: number) {
  const reason = SHUTDOWN_REASONS[code];
  if (reason === undefined) {
    throw new Error(`getdomaininfo: shutdown code ${code} is not a reason of public/sched.h`);
  }
  return reason;
}

/** The vCPUs with `defer_shutdown` set (`hv.domctl.getVcpuInfo`). */
function deferringVcpus(hv: Hypervisor, domid: number): number[] {
  const vcpus = hv.domain(domid)?.vcpus ?? 0;
  const out: number[] = [];
  for (let v = 0; v < vcpus; v++) if (hv.domctl.getVcpuInfo(domid, v).deferShutdown) out.push(v);
  return out;
}
