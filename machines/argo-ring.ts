/**
 * `argoRingMachine`: one Argo receive ring, identified as Xen does by (owner, aport, partner), from
 * registration to teardown (argo.md §4.1, §4.2, §8). The hypervisor core keeps the ring; the machine
 * calls it through named actions and follows what it reports.
 *
 * Every transition that calls the core runs the call (`registerRing`, `unregisterRing`,
 * `reregisterRing`) and then `readRing`, which records whether the ring exists, its pending bytes and
 * its waiters; eventless transitions move the machine to what the record shows, so a registration the
 * core refuses leaves the machine where it was. Teardowns the core makes on its own (the owner or the
 * partner dies, a soft reset) are reported with events, after which the machine reads the ring again.
 * Bytes never travel through the machine: the runtime sends `RING_STATE` after each batch.
 *
 * The default implementations are an abstract model of the core kept in context, so the machine runs
 * without a hypervisor and `xstate/graph` can walk it; `argoRingMachineFor` in
 * `implementations/argo-ring-core.ts` wires it to a Hypervisor and the owner's ArgoGuest.
 *
 * States:
 *
 * | state                        | the core reports                                           |
 * |------------------------------|------------------------------------------------------------|
 * | `unregistered`               | no such ring (initial)                                     |
 * | `registered.empty`           | the ring exists; rx = tx, no waiters                       |
 * | `registered.holdingData`     | messages pending (rx ≠ tx), no waiters                     |
 * | `registered.fullWithWaiters` | senders wait for space (argo.md §6.3 pending entries)      |
 * | `tornDown`                   | the ring is gone; `context.reason` says why                |
 *
 * Events:
 *
 * | event                               | accepted in             | does                                              |
 * |-------------------------------------|-------------------------|---------------------------------------------------|
 * | `REGISTER`                          | unregistered tornDown   | `registerRing` (register_ring, fresh zeroed pages) |
 * | `REREGISTER`                        | registered              | `reregisterRing` (same pages, flags 0: resume, §8.5) |
 * | `UNREGISTER`                        | registered              | `unregisterRing` (unregister_ring, §4.2)          |
 * | `RING_STATE {pendingBytes, waiters}`| registered              | records the runtime's summary after a batch       |
 * | `OWNER_DIED`                        | any                     | the owner began dying: argo_destroy step 1 (§8.2) |
 * | `PARTNER_DIED`                      | any                     | the partner began dying: argo_destroy step 2      |
 * | `SOFT_RESET`                        | registered              | owner or partner soft reset (§8.3)                |
 *
 * Teardown reasons: `unregister`, `ownerDeath`, `partnerDeath`, `softReset`, and `reregisterFailed`
 * (a failed re-registration deletes the ring: argo.md §4.1 step 14, quirk Q3).
 *
 * @example
 * ```ts
 * const ring = createActor(argoRingMachine, { input: { owner: 2, aport: 80, partner: 1, len: 4032 } }).start();
 * ring.send({ type: 'REGISTER' });
 * ring.send({ type: 'RING_STATE', pendingBytes: 64, waiters: 0 });
 * ring.getSnapshot().matches({ registered: 'holdingData' }); // true
 * ring.send({ type: 'PARTNER_DIED' });
 * ring.getSnapshot().context.reason;                         // 'partnerDeath'
 * ```
 */
import { assign, setup } from 'xstate';

/**
 * Why a ring is gone.
 *
 * @example
 * ```ts
 * if (snapshot.matches('tornDown') && snapshot.context.reason === 'ownerDeath') { … }
 * ```
 */
export type RingTeardownReason = 'unregister' | 'ownerDeath' | 'partnerDeath' | 'softReset' | 'reregisterFailed';

/**
 * The ring's identity and size: the ring id of argo.md §6.1 is (owner, aport, partner).
 *
 * @example
 * ```ts
 * const input: ArgoRingInput = { owner: 2, aport: 5432, partner: 1, len: 8192 };
 * ```
 */
export interface ArgoRingInput {
  owner: number;
  aport: number;
  /** The single permitted sender, or `XEN_ARGO_DOMID_ANY` for a wildcard ring. */
  partner: number;
  /** Ring data bytes (a multiple of 16). */
  len: number;
}

/**
 * What the machine knows of its ring: what the core last reported, and why it went.
 *
 * @example
 * ```ts
 * const { exists, pendingBytes, waiters, reason } = ring.getSnapshot().context;
 * ```
 */
export interface ArgoRingContext extends ArgoRingInput {
  /** The core has a ring with this id. */
  exists: boolean;
  /** Bytes between rx_ptr and tx_ptr (message headers included). */
  pendingBytes: number;
  /** Pending space-wait entries on the ring (argo.md §6.3, at most 32). */
  waiters: number;
  /** Why the ring was torn down; null while it has not been. */
  reason: RingTeardownReason | null;
  /** False once OWNER_DIED was reported. */
  ownerAlive: boolean;
  /** False once PARTNER_DIED was reported. */
  partnerAlive: boolean;
}

/**
 * Events of the ring machine (see the table at the top of this file).
 *
 * @example
 * ```ts
 * const batchDone: ArgoRingEvent = { type: 'RING_STATE', pendingBytes: ring.pendingBytes(), waiters: 0 };
 * ```
 */
export type ArgoRingEvent =
  | { type: 'REGISTER' }
  | { type: 'REREGISTER' }
  | { type: 'UNREGISTER' }
  | { type: 'RING_STATE'; pendingBytes: number; waiters: number }
  | { type: 'OWNER_DIED' }
  | { type: 'PARTNER_DIED' }
  | { type: 'SOFT_RESET' };

type Occupancy = 'empty' | 'holdingData' | 'fullWithWaiters';

function occupancyOf(c: ArgoRingContext): Occupancy {
  if (c.waiters > 0) return 'fullWithWaiters';
  return c.pendingBytes > 0 ? 'holdingData' : 'empty';
}

/** Which event tore the ring down; only these can, since only they are followed by `readRing`. */
function teardownReasonOf(event: ArgoRingEvent): RingTeardownReason {
  switch (event.type) {
    case 'UNREGISTER':
      return 'unregister';
    case 'OWNER_DIED':
      return 'ownerDeath';
    case 'PARTNER_DIED':
      return 'partnerDeath';
    case 'SOFT_RESET':
      return 'softReset';
    case 'REREGISTER':
      return 'reregisterFailed';
    default:
      throw new Error(`argoRing: the ring went away on ${event.type}, which reads nothing from the core`);
  }
}

type Change = Partial<ArgoRingContext>;
const GONE: Change = { exists: false, pendingBytes: 0, waiters: 0 };

/** An action (a call on the core, or the record of a report), then `readRing`. */
const thenReadRing = <A extends string>(action: A) => ({ actions: [action, 'readRing'] as const });

/** The eventless transition into an occupancy substate, taken when the record shows it. */
const holding = (occupancy: Occupancy) => ({
  target: occupancy,
  guard: { type: 'occupancyIs' as const, params: { occupancy } },
});

/**
 * The Argo ring machine. Without `.provide()` it runs its abstract model of the core;
 * `argoRingMachineFor(hv, guest)` wires it to a Hypervisor and the owner's guest library.
 *
 * @example
 * ```ts
 * const guest = new ArgoGuest(platformOf(hv, 2));
 * const ring = createActor(argoRingMachineFor(hv, guest), { input: { owner: 2, aport: 80, partner: 1, len: 4032 } }).start();
 * ring.send({ type: 'REGISTER' });        // registered.empty: hv.argoState(2).rings has it
 * ring.send({ type: 'UNREGISTER' });      // tornDown, reason 'unregister'
 * ```
 */
export const argoRingMachine = setup({
  types: {
    context: {} as ArgoRingContext,
    events: {} as ArgoRingEvent,
    input: {} as ArgoRingInput,
  },
  actions: {
    // argo.md §4.1: the model refuses what Xen refuses for a dead owner (ENODEV) or partner (ESRCH, ECONNREFUSED)
    registerRing: assign(({ context }): Change => (context.ownerAlive && context.partnerAlive ? { exists: true, pendingBytes: 0, waiters: 0 } : {})),
    // argo.md §8.5: same id, same len, flags 0 keeps tx_ptr and the pending waiters
    reregisterRing: assign((): Change => ({})),
    // argo.md §4.2: waiters are dropped without a signal; the messages are abandoned
    unregisterRing: assign((): Change => GONE),
    recordOwnerDeath: assign((): Change => ({ ownerAlive: false, ...GONE })),
    recordPartnerDeath: assign((): Change => ({ partnerAlive: false, ...GONE })),
    recordSoftReset: assign((): Change => GONE),
    /** The ring as the core has it; the model's record is already current. */
    readRing: assign((): Change => ({})),
    recordRingState: assign((_, params: { pendingBytes: number; waiters: number }): Change => params),
    recordTeardownReason: assign(({ event }): Change => ({ reason: teardownReasonOf(event) })),
    clearTeardownReason: assign((): Change => ({ reason: null })),
  },
  guards: {
    ringExists: ({ context }) => context.exists,
    ringGone: ({ context }) => !context.exists,
    occupancyIs: ({ context }, params: { occupancy: Occupancy }) => context.exists && occupancyOf(context) === params.occupancy,
  },
}).createMachine({
  id: 'argoRing',
  context: ({ input }) => ({
    ...input,
    exists: false,
    pendingBytes: 0,
    waiters: 0,
    reason: null,
    ownerAlive: true,
    partnerAlive: true,
  }),
  initial: 'unregistered',
  on: {
    OWNER_DIED: { actions: 'recordOwnerDeath' },
    PARTNER_DIED: { actions: 'recordPartnerDeath' },
  },
  states: {
    unregistered: {
      description: 'No ring with this id.',
      on: { REGISTER: thenReadRing('registerRing') },
      always: { target: 'registered', guard: 'ringExists' },
    },
    registered: {
      description: 'The ring exists in the core and receives messages.',
      entry: 'clearTeardownReason',
      initial: 'empty',
      on: {
        REREGISTER: thenReadRing('reregisterRing'),
        UNREGISTER: thenReadRing('unregisterRing'),
        RING_STATE: {
          actions: { type: 'recordRingState', params: ({ event }) => ({ pendingBytes: event.pendingBytes, waiters: event.waiters }) },
        },
        // argo.md §8.2 steps 1–2 and §8.3: the core removed the ring itself and signalled nobody
        OWNER_DIED: thenReadRing('recordOwnerDeath'),
        PARTNER_DIED: thenReadRing('recordPartnerDeath'),
        SOFT_RESET: thenReadRing('recordSoftReset'),
      },
      always: { target: 'tornDown', guard: 'ringGone', actions: 'recordTeardownReason' },
      states: {
        empty: { always: [holding('holdingData'), holding('fullWithWaiters')] },
        holdingData: { always: [holding('empty'), holding('fullWithWaiters')] },
        fullWithWaiters: {
          description: 'A sender found too little space and waits for VIRQ_ARGO (argo.md §6.3).',
          always: [holding('empty'), holding('holdingData')],
        },
      },
    },
    tornDown: {
      description: 'The ring is gone; messages left in its pages are abandoned (argo.md §8.4).',
      // argo.md §8.3: after a soft reset the domain can register rings again at once
      on: { REGISTER: thenReadRing('registerRing') },
      always: { target: 'registered', guard: 'ringExists' },
    },
  },
});
