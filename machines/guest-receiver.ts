/**
 * `guestReceiverMachine`: a guest application receiving on one Argo ring of its domain (argo.md §5.5
 * consumer): on each VIRQ_ARGO its domain's handler passes on, it takes every whole message the ring
 * holds — `drain`, which reads them with the guest library and moves rx past them — and records how
 * many and how many bytes. Its domain's handler notifies once after its receivers drained (so Xen
 * re-checks the space-waiters, §6.3).
 *
 * The default `drain` takes nothing (the machine runs alone); `createGuestReceiverActor` in
 * `implementations/guest-receiver-core.ts` drains a real ring.
 *
 * | state       | what                                                         |
 * |-------------|--------------------------------------------------------------|
 * | `listening` | VIRQ: `drain` (a transition without a target: one microstep) |
 * | `stopped`   | STOP: the ring was torn down or the kernel went away (final) |
 *
 * @example
 * ```ts
 * const rx = createActor(guestReceiverMachine, { input: { owner: 2, aport: 80 } }).start();
 * rx.send({ type: 'VIRQ' });
 * rx.getSnapshot().context.received; // 0: the default drain takes nothing
 * ```
 */
import { assign, setup } from 'xstate';

/** The ring a receiver reads: its owner (the receiver's domain) and port. */
export interface GuestReceiverInput {
  owner: number;
  aport: number;
}

/** What a receiver took so far: messages, payload bytes, VIRQs that found some. */
export interface GuestReceiverContext extends GuestReceiverInput {
  received: number;
  bytes: number;
  drains: number;
}

export type GuestReceiverEvent = { type: 'VIRQ' } | { type: 'STOP' };

/** What one drain took. */
export interface DrainResult {
  messages: number;
  bytes: number;
}

/**
 * The receiver machine. `drain` is an assign that adds what it took (`takeFrom`).
 *
 * @example
 * ```ts
 * guestReceiverMachine.provide({ actions: { drain: assign(({ context }) => takeFrom(context, ring.drainCount())) } });
 * ```
 */
export const guestReceiverMachine = setup({
  types: { context: {} as GuestReceiverContext, events: {} as GuestReceiverEvent, input: {} as GuestReceiverInput },
  actions: {
    /** Takes every whole message of the ring; the default takes none. */
    drain: assign(({ context }) => takeFrom(context, { messages: 0, bytes: 0 })),
  },
}).createMachine({
  id: 'guestReceiver',
  context: ({ input }) => ({ ...input, received: 0, bytes: 0, drains: 0 }),
  initial: 'listening',
  states: {
    listening: {
      description: 'Each VIRQ_ARGO: take every whole message of the ring (argo.md §5.5).',
      on: { VIRQ: { actions: 'drain' }, STOP: 'stopped' },
    },
    stopped: {
      description: 'The ring was torn down, or the kernel that received went away.',
      type: 'final',
    },
  },
});

/** The context after a drain that took `result`. */
export function takeFrom(c: GuestReceiverContext, result: DrainResult): Partial<GuestReceiverContext> {
  return result.messages === 0 ? {} : { received: c.received + result.messages, bytes: c.bytes + result.bytes, drains: c.drains + 1 };
}
