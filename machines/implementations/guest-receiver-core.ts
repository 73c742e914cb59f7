import { assign, type AnyActorRef } from 'xstate';
import type { ArgoRing } from '../../src/guest/argo-ring.js';
import { guestReceiverMachine, takeFrom, type DrainResult } from '../guest-receiver.js';
import { wiredActors } from './wired.js';

/**
 * What a receiver actor reads: its ring (the guest library's view), a buffer as long as the ring (the
 * longest message), and who hears of each message (`source` domid as Xen wrote it, the payload — a
 * view of `scratch`, valid during the call).
 */
export interface GuestReceiverWire {
  ring: ArgoRing;
  scratch: Uint8Array;
  /** Messages one drain takes at most (a poll's budget); default every whole one. */
  budget?: number;
  onMessage?: (source: number, payload: Uint8Array) => void;
}

/** Every whole message now in the ring (argo.md §5.5), each passed to `onMessage`. */
export function drainRing(wire: GuestReceiverWire): DrainResult {
  let messages = 0;
  let bytes = 0;
  const budget = wire.budget ?? Infinity;
  for (let n = messages < budget ? wire.ring.recvInto(wire.scratch) : -1; n >= 0; n = messages < budget ? wire.ring.recvInto(wire.scratch) : -1) {
    messages++;
    bytes += n;
    wire.onMessage?.(wire.ring.last.sourceDomid, wire.scratch.subarray(0, n));
  }
  return { messages, bytes };
}

/**
 * A receiver actor (not started) over `wire`, made from one shared machine (see `wiredActors`).
 *
 * @example
 * ```ts
 * const rx = createGuestReceiverActor({ ring, scratch: new Uint8Array(ring.len) }, { input: { owner: 2, aport: 80 } }).start();
 * rx.send({ type: 'VIRQ' });
 * receiverGuest.notify(); // the handler's notify after draining
 * ```
 */
export const createGuestReceiverActor = wiredActors('createGuestReceiverActor', (wireOf: (self: AnyActorRef) => GuestReceiverWire) =>
  guestReceiverMachine.provide({ actions: { drain: assign(({ context, self }) => takeFrom(context, drainRing(wireOf(self)))) } }),
);
