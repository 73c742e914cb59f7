import { assign } from 'xstate';
import { SHUTDOWN_CODE_INVALID, SHUTDOWN_COMPLETE, SHUTDOWN_IN_PROGRESS, type DomainInfo } from '../../src/domain/lifecycle.js';
import type { CreateDomainOptions, Hypervisor } from '../../src/xen/hypervisor.js';
import { domainMachine, SHUTDOWN_REASONS, type DomainContext, type ShutdownState } from '../domain.js';

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
  const sameDomain = (context: DomainContext): number => {
    if (context.domid !== domid) {
      throw new Error(`domainMachineFor(hv, ${domid}) was started with input domid ${context.domid}: pass { domid: ${domid} }`);
    }
    return domid;
  };
  return domainMachine.provide({
    actions: {
      domainCreate: ({ context }) => void hv.createDomain({ ...options, domid: sameDomain(context) }),
      domctlPause: () => void hv.domctl.pause(domid),
      domctlUnpause: () => void hv.domctl.unpause(domid),
      schedopShutdown: (_, params) => void hv.shutdownDomain(domid, SHUTDOWN_REASONS.indexOf(params.reason)),
      domainCrash: () => void hv.crashDomain(domid),
      vcpuStartShutdownDeferral: (_, params) => void hv.domctl.startShutdownDeferral(domid, params.vcpu),
      vcpuEndShutdownDeferral: (_, params) => hv.domctl.endShutdownDeferral(domid, params.vcpu),
      domctlResume: () => void hv.domctl.resume(domid),
      domctlSoftReset: () => void hv.domctl.softReset(domid),
      domainKill: () => hv.killDomain(domid),
      domainReap: () => hv.reapDomain(domid),
      getDomainInfo: assign(() => readDomainInfo(hv, domid)),
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
