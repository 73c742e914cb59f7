import { assign } from 'xstate';
import { ArgoError } from '../../src/guest/argo-error.js';
import type { ArgoGuest } from '../../src/guest/argo-guest.js';
import type { ArgoRing } from '../../src/guest/argo-ring.js';
import type { Hypervisor } from '../../src/xen/hypervisor.js';
import { argoRingMachine, type ArgoRingContext } from '../argo-ring.js';

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
  const owned = (context: ArgoRingContext): ArgoRingContext => {
    if (context.owner !== guest.domid) {
      throw new Error(`argoRingMachineFor: ring owner ${context.owner}, but the guest library is domain ${guest.domid}'s`);
    }
    return context;
  };
  const ringOf = (context: ArgoRingContext): ArgoRing => {
    owned(context);
    for (const ring of guest.rings.values()) if (ring.aport === context.aport >>> 0 && ring.partner === context.partner) return ring;
    throw new Error(`argoRingMachineFor: domain ${guest.domid}'s guest library holds no ring (aport ${context.aport}, partner ${context.partner})`);
  };
  return argoRingMachine.provide({
    actions: {
      registerRing: ({ context }) => {
        const { aport, partner, len } = owned(context);
        refusable(() => guest.registerRing({ aport, partner, len }), onRefused);
      },
      reregisterRing: ({ context }) => refusable(() => guest.reregister(ringOf(context)), onRefused),
      unregisterRing: ({ context }) => refusable(() => guest.unregisterRing(ringOf(context)), onRefused),
      readRing: assign(({ context }) => readRing(hv, context)),
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
