/**
 * `ioreqSlotMachine`: one vCPU's `ioreq_t` slot in one IOREQ server's synchronous page, and whether
 * the vCPU is blocked on it (virtio-ioreq-lifecycle.md §5.4, §5.5, §5.9). The state is the slot's
 * state nibble as the core reports it; the machine never keeps its own idea of it. Each event calls
 * the core and then `readSlot`; root-level eventless transitions move to the state the record shows.
 *
 * Who moves what (§5.4): only Xen sets READY (`SEND`, the vCPU traps) and only Xen moves
 * IORESP_READY → NONE (`WAKE`, the vCPU's completion); the emulator moves READY → INPROCESS
 * (`TAKE`) and on to IORESP_READY (`RESPOND`, then it notifies). `CORRUPT` is an emulator writing
 * any value (a buggy or malicious one): a backwards move or a value above 3 crashes the target on the
 * vCPU's next check (XSA-262).
 *
 * The default implementations are an abstract model of the core kept in context, so the machine runs
 * without a hypervisor and `xstate/graph` can walk it; `ioreqSlotMachineFor` in
 * `implementations/ioreq-slot-core.ts` wires it to an `Ioreq` and an emulator's mapped page.
 *
 * | state         | the slot holds                                               |
 * |---------------|--------------------------------------------------------------|
 * | `none`        | STATE_IOREQ_NONE (0)                                         |
 * | `ready`       | STATE_IOREQ_READY (1): sent, the emulator has not taken it   |
 * | `inProcess`   | STATE_IOREQ_INPROCESS (2)                                    |
 * | `respReady`   | STATE_IORESP_READY (3): answered, Xen has not consumed it    |
 * | `invalid`     | 4–15: only an emulator writes these                          |
 * | `crashed`     | the target crashed on a bad transition (final)               |
 * | `gone`        | the server was destroyed; a blocked vCPU still needs `WAKE`  |
 *
 * `context.vcpuBlocked` says whether the vCPU waits in Xen (it executes nothing meanwhile).
 *
 * @example
 * ```ts
 * const slot = createActor(ioreqSlotMachine, { input: { target: 1, vcpu: 0, server: 0, addr: 0x2000000 } }).start();
 * slot.send({ type: 'SEND' });     // 'ready', vcpuBlocked true
 * slot.send({ type: 'TAKE' });     // 'inProcess'
 * slot.send({ type: 'RESPOND' });  // 'respReady'
 * slot.send({ type: 'WAKE' });     // 'none', vcpuBlocked false
 * ```
 */
import { and, assign, not, setup, stateIn } from 'xstate';

/** Slot states (§5.3), repeated here so the definition imports only xstate. */
export const IOREQ_SLOT_STATE = { NONE: 0, READY: 1, INPROCESS: 2, IORESP_READY: 3 } as const;

/**
 * Which slot: the target's vCPU, the server, and the MMIO address the vCPU's access uses.
 *
 * @example
 * ```ts
 * const input: IoreqSlotInput = { target: 1, vcpu: 0, server: 0, addr: 0x2000000 };
 * ```
 */
export interface IoreqSlotInput {
  target: number;
  vcpu: number;
  server: number;
  /** A guest-physical address inside the server's MEMORY range. */
  addr: number;
}

/**
 * What the actor knows: the slot's state nibble, the vCPU's wait, and how the slot ended.
 *
 * @example
 * ```ts
 * const { slotState, vcpuBlocked, crashed } = slot.getSnapshot().context;
 * ```
 */
export interface IoreqSlotContext extends IoreqSlotInput {
  slotState: number;
  vcpuBlocked: boolean;
  /** The state Xen last saw while waiting (XSA-262 forward-only check); NONE between requests. */
  seen: number;
  crashed: boolean;
  serverGone: boolean;
}

/**
 * Events of the slot machine (see the top of this file).
 *
 * @example
 * ```ts
 * const evil: IoreqSlotEvent = { type: 'CORRUPT', state: 7 };
 * ```
 */
export type IoreqSlotEvent =
  | { type: 'SEND' }
  | { type: 'TAKE' }
  | { type: 'RESPOND' }
  | { type: 'WAKE' }
  | { type: 'CORRUPT'; state: number }
  | { type: 'SERVER_GONE' };

type StateName = 'none' | 'ready' | 'inProcess' | 'respReady' | 'invalid' | 'crashed' | 'gone';
type Change = Partial<IoreqSlotContext>;

/**
 * The state a record shows.
 *
 * @example
 * ```ts
 * ioreqSlotStateOf({ slotState: 7, crashed: false, serverGone: false }); // 'invalid'
 * ```
 */
export function ioreqSlotStateOf(c: Pick<IoreqSlotContext, 'slotState' | 'crashed' | 'serverGone'>): StateName {
  if (c.crashed) return 'crashed';
  if (c.serverGone) return 'gone';
  return (['none', 'ready', 'inProcess', 'respReady'] as const)[c.slotState] ?? 'invalid';
}

const ALL: readonly StateName[] = ['none', 'ready', 'inProcess', 'respReady', 'invalid', 'crashed', 'gone'];

/** Root-level eventless transitions to the state the record shows, never to the current one. */
const follow = ALL.map((target) => ({
  target: `.${target}`,
  guard: and([{ type: 'recordShows' as const, params: { state: target } }, not(stateIn(target))]),
}));

const thenRead = <A extends string>(action: A) => ({ actions: [action, 'readSlot'] as const });

/** The abstract `wait_for_io` (§5.4): what the vCPU's check does to the record. */
function modelWake(c: IoreqSlotContext): Change {
  if (!c.vcpuBlocked) return {};
  if (c.serverGone || c.slotState === IOREQ_SLOT_STATE.NONE) return { vcpuBlocked: false, seen: 0 };
  if (c.slotState < c.seen || c.slotState > IOREQ_SLOT_STATE.IORESP_READY) return { crashed: true, vcpuBlocked: false };
  if (c.slotState === IOREQ_SLOT_STATE.IORESP_READY) return { slotState: 0, vcpuBlocked: false, seen: 0 };
  return { seen: c.slotState };
}

/**
 * The ioreq slot machine. Without `.provide()` it runs its abstract model of the core;
 * `ioreqSlotMachineFor(wire)` wires it to an `Ioreq` and the emulator's page.
 *
 * @example
 * ```ts
 * const slot = createActor(ioreqSlotMachine, { input: { target: 1, vcpu: 0, server: 0, addr: 0x2000000 } }).start();
 * slot.send({ type: 'SEND' });
 * slot.send({ type: 'CORRUPT', state: 7 });
 * slot.send({ type: 'WAKE' });
 * slot.getSnapshot().value; // 'crashed'
 * ```
 */
export const ioreqSlotMachine = setup({
  types: {
    context: {} as IoreqSlotContext,
    events: {} as IoreqSlotEvent,
    input: {} as IoreqSlotInput,
  },
  actions: {
    // §5.4 ioreq_send: only from NONE, only by a running vCPU
    send: assign(({ context: c }): Change => (c.slotState === 0 && !c.vcpuBlocked && !c.serverGone ? { slotState: 1, vcpuBlocked: true, seen: 0 } : {})),
    take: assign(({ context: c }): Change => (c.slotState === 1 ? { slotState: 2 } : {})),
    respond: assign(({ context: c }): Change => (c.slotState === 1 || c.slotState === 2 ? { slotState: 3 } : {})),
    wake: assign(({ context }): Change => modelWake(context)),
    // the emulator's mapping of the page goes with the server: a write after that reaches nothing
    corrupt: assign(({ context: c }, params: { state: number }): Change => (c.serverGone ? {} : { slotState: params.state })),
    serverGone: assign((): Change => ({ serverGone: true, seen: 0 })), // the server's record of what Xen saw goes with it
    /** The slot as the core has it; the model's record is already current. */
    readSlot: assign((): Change => ({})),
  },
  guards: {
    recordShows: ({ context }, params: { state: StateName }) => ioreqSlotStateOf(context) === params.state,
  },
}).createMachine({
  id: 'ioreqSlot',
  context: ({ input }) => ({ ...input, slotState: 0, vcpuBlocked: false, seen: 0, crashed: false, serverGone: false }),
  initial: 'none',
  always: follow,
  on: {
    CORRUPT: { actions: [{ type: 'corrupt', params: ({ event }) => ({ state: event.state }) }, 'readSlot'] },
    WAKE: thenRead('wake'),
    SERVER_GONE: thenRead('serverGone'),
  },
  states: {
    none: { description: 'STATE_IOREQ_NONE: free for the next request.', on: { SEND: thenRead('send') } },
    ready: { description: 'READY: Xen sent it and notified the emulator.', on: { TAKE: thenRead('take'), RESPOND: thenRead('respond') } },
    inProcess: { description: 'INPROCESS: the emulator is working on it.', on: { RESPOND: thenRead('respond') } },
    respReady: { description: 'IORESP_READY: answered; the vCPU takes the data on its next check.' },
    invalid: { description: 'A value above 3: the vCPU\'s next check crashes the target (XSA-262).' },
    crashed: { type: 'final', description: 'domain_crash(target): "Weird HVM ioreq state transition".' },
    gone: {
      description: 'The server was destroyed (§5.9); a waiting vCPU finishes on its next check (f7039ee41b).',
    },
  },
});
