/**
 * `guestAppMachine`: a guest application that sends `count` messages to one Argo destination with
 * the sender protocol of argo.md §6.3 — sendv; on EAGAIN wait for VIRQ_ARGO, ask with notify whether
 * the message fits now (which queues a space-wait if not), and retry when SUFFICIENT.
 *
 * Every step that touches the hypervisor is a named action that records what the core answered in
 * `report` (`sendv`: sent / eagain / refused with its errno; `queryRing`: sufficient / insufficient /
 * gone), and eventless transitions guarded by `reportIs` move the machine to the state that answer
 * puts it in. Message `seq` has `sizes[seq % sizes.length]` bytes.
 *
 * The default implementations are an ideal destination that takes every message at once, so the
 * machine runs alone; `guestAppMachineFor(guest)` in `implementations/guest-app-core.ts` sends with a
 * real ArgoGuest.
 *
 * States:
 *
 * | state      | what                                                                              |
 * |------------|-----------------------------------------------------------------------------------|
 * | `idle`     | not started                                                                       |
 * | `sending`  | one sendv of message `seq` (entry), then: sent → `sending` again (unpaced, more to send) or `ready` (paced, more to send) or `next`; EAGAIN → `blocked`; another errno → counted, `next` |
 * | `next`     | all `count` messages dealt with → `done`; paced → `ready`; else → `sending`       |
 * | `ready`    | paced: waits for the runtime's SEND (the workload's next slot)                    |
 * | `blocked`  | EAGAIN: the core queued a space-wait; waits for VIRQ                              |
 * | `checking` | notify with the message's size: SUFFICIENT → `sending`; the ring gone → ECONNREFUSED counted, `next`; else → `blocked` |
 * | `done`     | every message sent or refused (final)                                             |
 * | `stopped`  | STOP (final)                                                                      |
 *
 * `sending`, `next` and `checking` are left in the same macrostep: the stable states are idle,
 * blocked, done and stopped.
 *
 * Events:
 *
 * | event   | accepted in    | does                                                               |
 * |---------|----------------|--------------------------------------------------------------------|
 * | `START` | idle           | → `next` (so `count` 0 is done at once)                            |
 * | `SEND`  | ready          | → `sending` (paced apps only)                                      |
 * | `VIRQ`  | blocked        | `queryRing` (notify, acknowledging the VIRQ), → `checking`         |
 * | `STOP`  | idle, ready, blocked | → `stopped`                                                  |
 *
 * @example
 * ```ts
 * const app = createActor(guestAppMachine, { input: { dst: { domid: 2, aport: 80 }, count: 3, sizes: [100] } }).start();
 * app.send({ type: 'START' });
 * app.getSnapshot().value;        // 'done'
 * app.getSnapshot().context.sent; // 3
 * ```
 */
import { assign, setup } from 'xstate';

/**
 * What the core last answered: a sendv's outcome (errno by its name), or a notify query's.
 *
 * @example
 * ```ts
 * const report: GuestAppReport = { kind: 'refused', errno: 'EMSGSIZE' };
 * ```
 */
export type GuestAppReport =
  | { kind: 'sent'; bytes: number }
  | { kind: 'eagain' }
  | { kind: 'refused'; errno: string }
  | { kind: 'sufficient' }
  | { kind: 'insufficient' }
  | { kind: 'gone' };

/**
 * The guest application's input: where to send, how many messages, and their sizes (message `seq`
 * has `sizes[seq % sizes.length]` bytes).
 *
 * @example
 * ```ts
 * const input: GuestAppInput = { dst: { domid: 2, aport: 80 }, count: 10, sizes: [64, 1000] };
 * ```
 */
export interface GuestAppInput {
  dst: { domid: number; aport: number };
  count: number;
  sizes: number[];
  /**
   * Paced: after each message the app waits in `ready` for the runtime's SEND (a workload's rate);
   * unpaced (the default) it sends as fast as the ring allows.
   */
  paced?: boolean;
}

/**
 * The guest application's context: its input, the next message (`seq`), messages sent, refusals by
 * errno name, how many sendvs answered EAGAIN, and the core's last answer.
 *
 * @example
 * ```ts
 * const { sent, refused, blockedCount } = app.getSnapshot().context;
 * ```
 */
export interface GuestAppContext extends GuestAppInput {
  seq: number;
  sent: number;
  refused: Record<string, number>;
  blockedCount: number;
  report: GuestAppReport | null;
}

/**
 * Events of the guest application (see the table at the top of this file). The runtime delivers
 * VIRQ when the domain's VIRQ_ARGO fires.
 *
 * @example
 * ```ts
 * app.send({ type: 'VIRQ' } satisfies GuestAppEvent);
 * ```
 */
export type GuestAppEvent = { type: 'START' } | { type: 'SEND' } | { type: 'VIRQ' } | { type: 'STOP' };

/** The size of message `seq`. */
export const messageSize = (c: GuestAppInput, seq: number): number => {
  if (c.sizes.length === 0) throw new Error('guestAppMachine: input.sizes is empty');
  return c.sizes[seq % c.sizes.length];
};

const countRefusal = (c: GuestAppContext, errno: string) => ({
  seq: c.seq + 1,
  refused: { ...c.refused, [errno]: (c.refused[errno] ?? 0) + 1 },
});

const reportIs = (kind: GuestAppReport['kind']) => ({ type: 'reportIs' as const, params: { kind } });

/**
 * The guest application machine. Without `.provide()` its destination takes every message;
 * `guestAppMachineFor(guest)` sends with an ArgoGuest.
 *
 * @example
 * ```ts
 * const app = createActor(guestAppMachineFor(guest), { input: { dst: { domid: 2, aport: 80 }, count: 5, sizes: [1000] } }).start();
 * app.send({ type: 'START' });                          // blocked if the ring filled up
 * receiver.consume(ring);                               // notify: Xen signals VIRQ_ARGO to the sender
 * app.send({ type: 'VIRQ' });                           // query SUFFICIENT: sending again
 * ```
 */
export const guestAppMachine = setup({
  types: {
    context: {} as GuestAppContext,
    events: {} as GuestAppEvent,
    input: {} as GuestAppInput,
  },
  actions: {
    /** One sendv of message `seq`; the ideal destination takes it. */
    sendv: assign(({ context }) => ({ report: { kind: 'sent' as const, bytes: messageSize(context, context.seq) } })),
    /** Notify with one entry for the destination, `space_required` the message's size. */
    queryRing: assign(() => ({ report: { kind: 'sufficient' as const } })),
    countSent: assign(({ context }) => ({ seq: context.seq + 1, sent: context.sent + 1 })),
    countBlocked: assign(({ context }) => ({ blockedCount: context.blockedCount + 1 })),
    countRefused: assign(({ context }) => {
      if (context.report?.kind !== 'refused') throw new Error(`guestAppMachine: sendv reported ${JSON.stringify(context.report)}`);
      return countRefusal(context, context.report.errno);
    }),
    // argo.md §6.2: Xen signals nobody when a ring goes away; the sender finds it gone on its re-check
    countConnRefused: assign(({ context }) => countRefusal(context, 'ECONNREFUSED')),
  },
  guards: {
    reportIs: ({ context }, params: { kind: GuestAppReport['kind'] }) => context.report?.kind === params.kind,
    allDealtWith: ({ context }) => context.seq >= context.count,
    paced: ({ context }) => context.paced === true,
    sentAndMoreUnpaced: ({ context }) => context.report?.kind === 'sent' && context.paced !== true && context.seq + 1 < context.count,
    sentAndMorePaced: ({ context }) => context.report?.kind === 'sent' && context.paced === true && context.seq + 1 < context.count,
  },
}).createMachine({
  id: 'guestApp',
  context: ({ input }) => ({ ...input, seq: 0, sent: 0, refused: {}, blockedCount: 0, report: null }),
  initial: 'idle',
  states: {
    idle: {
      description: 'Not started.',
      on: { START: 'next', STOP: 'stopped' },
    },
    sending: {
      description: 'One sendv of message seq (argo.md §6.3).',
      entry: 'sendv',
      always: [
        // unpaced and more to send: straight on to the next message (one microstep per message)
        { target: 'sending', reenter: true, guard: 'sentAndMoreUnpaced', actions: 'countSent' },
        // paced and more to send: wait for the next slot
        { target: 'ready', guard: 'sentAndMorePaced', actions: 'countSent' },
        { target: 'next', guard: reportIs('sent'), actions: 'countSent' },
        { target: 'blocked', guard: reportIs('eagain'), actions: 'countBlocked' },
        { target: 'next', actions: 'countRefused' },
      ],
    },
    next: {
      description: 'The next message, or done; a paced app waits for its turn.',
      always: [{ target: 'done', guard: 'allDealtWith' }, { target: 'ready', guard: 'paced' }, { target: 'sending' }],
    },
    ready: {
      description: "Paced: waiting for the runtime's SEND (the workload's next slot in virtual time).",
      on: { SEND: 'sending', STOP: 'stopped' },
    },
    blocked: {
      description: 'EAGAIN: a space-wait is queued on the ring; waiting for VIRQ_ARGO.',
      on: { VIRQ: { target: 'checking', actions: 'queryRing' }, STOP: 'stopped' },
    },
    checking: {
      description: 'notify with space_required: SUFFICIENT, still short (a space-wait queued again), or the ring gone.',
      always: [
        { target: 'sending', guard: reportIs('sufficient') },
        { target: 'next', guard: reportIs('gone'), actions: 'countConnRefused' },
        { target: 'blocked' },
      ],
    },
    done: {
      description: 'Every message sent or refused.',
      type: 'final',
    },
    stopped: {
      description: 'Stopped by the runtime.',
      type: 'final',
    },
  },
});
