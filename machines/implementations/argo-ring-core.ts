import { assign, type AnyActorRef } from 'xstate';
import { ArgoError } from '../../src/guest/argo-error.js';
import type { ArgoGuest } from '../../src/guest/argo-guest.js';
import type { ArgoRing } from '../../src/guest/argo-ring.js';
import type { Hypervisor } from '../../src/xen/hypervisor.js';
import { argoRingMachine, type ArgoRingContext } from '../argo-ring.js';
import { wiredActors } from './wired.js';

/**
 * `argoRingMachine` wired to a Hypervisor and the ring owner's guest library: `registerRing`,
 * `reregisterRing` and `unregisterRing` go through `guest` (which owns the ring's pages), and
 * `readRing` reads the ring from `hv.argoState(owner)`: whether it exists, rx/tx and its waiters.
 * A call the core refuses (an ArgoError) changes nothing there, so the machine stays where it was;
 * `onRefused` hears of it with the errno.
 *
 * @example
 * ```ts
 * const hv = createHypervisor({ argo: { enabled: true } });
 * hv.createDomain({ domid: 1 });
 * hv.createDomain({ domid: 2 });
 * const guest = new ArgoGuest(platformOf(hv, 2));
 * const ring = createActor(argoRingMachineFor(hv, guest), { input: { owner: 2, aport: 80, partner: 1, len: 4032 } }).start();
 * ring.send({ type: 'REGISTER' });
 * hv.killDomain(1);
 * ring.send({ type: 'PARTNER_DIED' });   // tornDown, reason 'partnerDeath' (argo.md §8.2 step 2)
 * ```
 */
export function argoRingMachineFor(hv: Hypervisor, guest: ArgoGuest, onRefused?: (error: ArgoError) => void) {
  const wire: ArgoRingWire = { hv, guest, onRefused };
  return provideArgoRing(() => wire);
}

/**
 * What a wired ring actor acts on: the hypervisor, the owner's guest library, and who hears of a
 * refusal.
 *
 * @example
 * ```ts
 * const wire: ArgoRingWire = { hv, guest, onRefused: (e) => console.log(e.code) };
 * ```
 */
export interface ArgoRingWire {
  hv: Hypervisor;
  guest: ArgoGuest;
  onRefused?: (error: ArgoError) => void;
}

/**
 * A ring actor (not started) over `wire` — the same as `createActor(argoRingMachineFor(hv, guest,
 * onRefused), actorOptions)`, made from one shared machine (see `wiredActors`).
 *
 * @example
 * ```ts
 * const ring = createArgoRingActor({ hv, guest }, { input: { owner: 2, aport: 80, partner: 1, len: 4032 } }).start();
 * ring.send({ type: 'REGISTER' });
 * ```
 */
export const createArgoRingActor = wiredActors('createArgoRingActor', provideArgoRing);

/** `argoRingMachine` with each action using the running actor's wire. */
function provideArgoRing(wireOf: (self: AnyActorRef) => ArgoRingWire) {
  const owned = ({ guest }: ArgoRingWire, context: ArgoRingContext): ArgoRingContext => {
    if (context.owner !== guest.domid) {
      throw new Error(`argoRingMachineFor: ring owner ${context.owner}, but the guest library is domain ${guest.domid}'s`);
    }
    return context;
  };
  const ringOf = (w: ArgoRingWire, context: ArgoRingContext): ArgoRing => {
    owned(w, context);
    for (const ring of w.guest.rings.values()) if (ring.aport === context.aport >>> 0 && ring.partner === context.partner) return ring;
    throw new Error(`argoRingMachineFor: domain ${w.guest.domid}'s guest library holds no ring (aport ${context.aport}, partner ${context.partner})`);
  };
  return argoRingMachine.provide({
    actions: {
      registerRing: ({ context, self }) => {
        const w = wireOf(self);
        const { aport, partner, len } = owned(w, context);
        refusable(() => w.guest.registerRing({ aport, partner, len }), w.onRefused);
      },
      reregisterRing: ({ context, self }) => {
        const w = wireOf(self);
        refusable(() => w.guest.reregister(ringOf(w, context)), w.onRefused);
      },
      unregisterRing: ({ context, self }) => {
        const w = wireOf(self);
        refusable(() => w.guest.unregisterRing(ringOf(w, context)), w.onRefused);
      },
      readRing: assign(({ context, self }) => readRing(wireOf(self).hv, context)),
    },
  });
}

/**
 * Runs a hypercall of the guest library; an ArgoError is the core's refusal, which `readRing` will
 * see (and `onRefused` is told of, with its errno).
 */
function refusable(hypercall: () => unknown, onRefused?: (error: ArgoError) => void): void {
  try {
    hypercall();
  } catch (e) {
    if (!(e instanceof ArgoError)) throw e;
    onRefused?.(e);
  }
}

/** The ring as the core has it (argo.md §4.1 ring id: owner, aport, partner). */
function readRing(hv: Hypervisor, context: ArgoRingContext): Partial<ArgoRingContext> {
  const ring = hv.argoState(context.owner)?.rings.find((r) => r.aport === context.aport >>> 0 && r.partner === context.partner);
  if (!ring) return { exists: false, pendingBytes: 0, waiters: 0 };
  const pending = ring.tx - ring.rx;
  return { exists: true, pendingBytes: pending < 0 ? pending + ring.len : pending, waiters: ring.waiters.length };
}
