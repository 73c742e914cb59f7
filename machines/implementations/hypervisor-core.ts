import { assign, type AnyActorRef } from 'xstate';
import type { Hypervisor } from '../../src/xen/hypervisor.js';
import { wiredActors } from './wired.js';
import { hypervisorMachine, type HostDomain, type HostOperation, type HypervisorContext } from '../hypervisor.js';

/**
 * `hypervisorMachine` wired to a Hypervisor: each named action makes the call its name says
 * (`killDomain` is `hv.killDomain(domid)`, …) and `readDomains` records `hv.domainList()` with each
 * `hv.life`. The core throws for a call it refuses (a reap of a domain that is not dying, a create of an
 * id in use or with bad options, any call on an id that does not resolve): the wiring catches it,
 * records `{ op, domid }` in `lastRefused` and passes the error to `onRefused`; the domain list is then
 * read back as the core left it. `readBootOptions` records `hv.argoOptions` and `hv.xsm.mode`.
 *
 * HOST_SHUTDOWN destroys every domain (`hv.destroyDomain`: kill if alive, then reap), which the core
 * never refuses; should it throw, the actor stops with that error.
 *
 * @example
 * ```ts
 * const hv = createHypervisor({ argo: { enabled: true } });
 * const refusals: string[] = [];
 * const host = createActor(hypervisorMachineFor(hv, (op, domid, e) => refusals.push(`${op} ${domid}: ${e}`))).start();
 * host.send({ type: 'CREATE_DOMAIN', domid: 1, options: {} });
 * host.send({ type: 'REAP_DOMAIN', domid: 1 });
 * refusals; // ['reap 1: Error: reapDomain(1): the domain is not dying; kill it first']
 * ```
 */
export function hypervisorMachineFor(hv: Hypervisor, onRefused: (op: HostOperation, domid: number, error: unknown) => void = () => {}) {
  const wire: HypervisorWire = { hv, onRefused };
  return provideHypervisor(() => wire);
}

/**
 * What a wired host actor acts on: the hypervisor, and who hears of a refusal.
 *
 * @example
 * ```ts
 * const wire: HypervisorWire = { hv, onRefused: () => {} };
 * ```
 */
export interface HypervisorWire {
  hv: Hypervisor;
  onRefused: (op: HostOperation, domid: number, error: unknown) => void;
}

/**
 * A host actor (not started) over `wire` — the same as `createActor(hypervisorMachineFor(hv,
 * onRefused), actorOptions)`, made from one shared machine (see `wiredActors`).
 *
 * @example
 * ```ts
 * const host = createHypervisorActor({ hv, onRefused: () => {} }, {}).start();
 * ```
 */
export const createHypervisorActor = wiredActors('createHypervisorActor', provideHypervisor);

/** `hypervisorMachine` with each action using the running actor's wire. */
function provideHypervisor(wireOf: (self: AnyActorRef) => HypervisorWire) {
  const attempt = (self: AnyActorRef, op: HostOperation, domid: number, run: (hv: Hypervisor) => void): Partial<HypervisorContext> => {
    const { hv, onRefused } = wireOf(self);
    try {
      run(hv);
      return { lastRefused: null };
    } catch (error) {
      onRefused(op, domid, error);
      return { lastRefused: { op, domid } };
    }
  };
  return hypervisorMachine.provide({
    actions: {
      readBootOptions: assign(({ self }) => {
        const { hv } = wireOf(self);
        return { boot: { argoEnabled: hv.argoOptions.enabled, macPermissive: hv.argoOptions.macPermissive, xsmMode: hv.xsm.mode } };
      }),
      readDomains: assign(({ self }) => ({ domains: readDomains(wireOf(self).hv) })),
      createDomain: assign(({ self }, params) => attempt(self, 'create', params.domid, (hv) => void hv.createDomain({ ...params.options, domid: params.domid }))),
      killDomain: assign(({ self }, params) => attempt(self, 'kill', params.domid, (hv) => hv.killDomain(params.domid))),
      reapDomain: assign(({ self }, params) => attempt(self, 'reap', params.domid, (hv) => hv.reapDomain(params.domid))),
      softResetDomain: assign(({ self }, params) => attempt(self, 'softReset', params.domid, (hv) => hv.softResetDomain(params.domid))),
      destroyAllDomains: assign(({ self }) => {
        const { hv } = wireOf(self);
        for (const { domid } of hv.domainList()) hv.destroyDomain(domid);
        return { lastRefused: null };
      }),
    },
  });
}

/** `hv.domainList()` (ascending id) with the life of each. */
function readDomains(hv: Hypervisor): HostDomain[] {
  return hv.domainList().map(({ domid }) => {
    const life = hv.life(domid);
    if (life === 'gone') throw new Error(`hv.domainList() lists domain ${domid}, but hv.life(${domid}) is 'gone'`);
    return { domid, life };
  });
}
