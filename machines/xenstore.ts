/**
 * `xenstoreMachine`: xenstored as an actor (issue #7 item 4; docs/xenstore.md). Every request of a
 * client — libxl's flows of virtio-ioreq-lifecycle.md §6.4, the guests' xenbus, the virtio-mmio
 * backends — is an event to it (`XS_READ`, `XS_WRITE`, …, with the caller's domid); the hypervisor's
 * domain events are `INTRODUCE` and `RELEASE` (`@introduceDomain`, `@releaseDomain`). It answers from
 * the store (`serve`, injected: `implementations/xenstore-core.ts` wires it to a `Xenstore`), leaving
 * the answer in `context.reply`. A watch that fires is an event too (`WATCH_FIRED`, raised by the
 * store as it changes), which the actor emits as `{ type: 'watch', domid, path, token }` for its
 * clients — so every request and every watch event shows in inspection.
 *
 * | state                    | what                                                        |
 * |--------------------------|-------------------------------------------------------------|
 * | `serving.idle`           | no transaction open                                         |
 * | `serving.inTransaction`  | at least one transaction open (XS_TRANSACTION_START … END)  |
 *
 * @example
 * ```ts
 * const xs = createActor(xenstoreMachine).start();
 * xs.send({ type: 'XS_WRITE', domid: 0, path: '/local/domain/1/control/shutdown', value: 'poweroff' });
 * xs.getSnapshot().context.requests; // 1
 * ```
 */
import { assign, emit, setup } from 'xstate';

/** A request of the xenstore wire protocol, from domain `domid`. */
export type XenstoreRequest =
  | { type: 'XS_READ'; domid: number; path: string; tx?: number }
  | { type: 'XS_WRITE'; domid: number; path: string; value: string; tx?: number }
  | { type: 'XS_RM'; domid: number; path: string; tx?: number }
  | { type: 'XS_DIRECTORY'; domid: number; path: string }
  | { type: 'XS_SET_PERMS'; domid: number; path: string; grantee: number; write: boolean }
  | { type: 'XS_WATCH'; domid: number; path: string; token: string }
  | { type: 'XS_UNWATCH'; domid: number; path: string; token: string }
  | { type: 'XS_TRANSACTION_START'; domid: number }
  | { type: 'XS_TRANSACTION_END'; domid: number; tx: number; commit: boolean };

/**
 * Events of the xenstored actor: requests, the hypervisor's domain events, and watch firings.
 *
 * @example
 * ```ts
 * const e: XenstoreEvent = { type: 'RELEASE', domid: 3 };
 * ```
 */
export type XenstoreEvent =
  | XenstoreRequest
  | { type: 'INTRODUCE'; domid: number }
  | { type: 'RELEASE'; domid: number }
  | { type: 'WATCH_FIRED'; domid: number; path: string; token: string };

/** A reply: a value, the children's names, a transaction id, `true` (done), or a negative errno. */
export type XenstoreReply = string | string[] | number | true;

/**
 * What the xenstored actor emits for each watch event it delivers.
 *
 * @example
 * ```ts
 * actor.on('watch', (e: XenstoreWatchEvent) => console.log(e.domid, e.path, e.token));
 * ```
 */
export interface XenstoreWatchEvent {
  type: 'watch';
  domid: number;
  path: string;
  token: string;
}

/**
 * The xenstored actor's context: its counts and the last reply.
 *
 * @example
 * ```ts
 * const { requests, errors, watchEvents, reply } = actor.getSnapshot().context;
 * ```
 */
export interface XenstoreContext {
  requests: number;
  /** Requests answered with an errno. */
  errors: number;
  watchEvents: number;
  transactionsOpen: number;
  /** Domains introduced and not yet released. */
  domains: number;
  reply: XenstoreReply | null;
}

const isRequest = (type: string) => type.startsWith('XS_');

/**
 * The machine. `serve` is an assign that answers the event from the store (default: -ENOSYS, 38, so
 * the definition runs alone and `xstate/graph` can walk it).
 *
 * @example
 * ```ts
 * xenstoreMachine.provide({ actions: { serve: assign(({ event }) => ({ reply: answer(event) })) } });
 * ```
 */
export const xenstoreMachine = setup({
  types: { context: {} as XenstoreContext, events: {} as XenstoreEvent, emitted: {} as XenstoreWatchEvent },
  actions: {
    /** Answers the request or domain event from the store; records `reply`. */
    serve: assign(({ event }) => ({ reply: isRequest(event.type) ? -38 : true })),
    count: assign(({ context }) => ({
      requests: context.requests + 1,
      errors: context.errors + (typeof context.reply === 'number' && context.reply < 0 ? 1 : 0),
    })),
    countWatch: assign(({ context }) => ({ watchEvents: context.watchEvents + 1 })),
    deliverWatch: emit(({ event }) => {
      if (event.type !== 'WATCH_FIRED') throw new Error(`xenstored: ${event.type} is not a watch event`);
      return { type: 'watch' as const, domid: event.domid, path: event.path, token: event.token };
    }),
    opened: assign(({ context }) => ({ transactionsOpen: context.transactionsOpen + (typeof context.reply === 'number' && context.reply > 0 ? 1 : 0) })),
    /** A transaction ends whatever its outcome (committed, aborted, EAGAIN); only an unknown id (-ENOENT, 2) ends none. */
    closed: assign(({ context, event }) =>
      event.type === 'XS_TRANSACTION_END' && context.reply !== -2 ? { transactionsOpen: Math.max(0, context.transactionsOpen - 1) } : {},
    ),
    introduced: assign(({ context }) => ({ domains: context.domains + 1 })),
    released: assign(({ context }) => ({ domains: Math.max(0, context.domains - 1) })),
  },
  guards: {
    noTransactionOpen: ({ context }) => context.transactionsOpen === 0,
  },
}).createMachine({
  id: 'xenstore',
  context: { requests: 0, errors: 0, watchEvents: 0, transactionsOpen: 0, domains: 0, reply: null },
  initial: 'serving',
  states: {
    serving: {
      description: 'xenstored answers each request from the store, in the order they come.',
      initial: 'idle',
      on: {
        XS_READ: { actions: ['serve', 'count'] },
        XS_WRITE: { actions: ['serve', 'count'] },
        XS_RM: { actions: ['serve', 'count'] },
        XS_DIRECTORY: { actions: ['serve', 'count'] },
        XS_SET_PERMS: { actions: ['serve', 'count'] },
        XS_WATCH: { actions: ['serve', 'count'] },
        XS_UNWATCH: { actions: ['serve', 'count'] },
        // the hypervisor's domain events: a home made, or a domain's nodes removed (§6.7 R19)
        INTRODUCE: { actions: ['serve', 'introduced'] },
        RELEASE: { actions: ['serve', 'released'] },
        WATCH_FIRED: { actions: ['countWatch', 'deliverWatch'] },
      },
      states: {
        idle: {
          description: 'No transaction open.',
          on: {
            XS_TRANSACTION_START: { target: 'inTransaction', actions: ['serve', 'count', 'opened'] },
            XS_TRANSACTION_END: { actions: ['serve', 'count'] }, // an unknown id: ENOENT
          },
        },
        inTransaction: {
          description: 'A transaction is open: its writes wait for XS_TRANSACTION_END (EAGAIN if a node it read changed).',
          on: {
            XS_TRANSACTION_START: { actions: ['serve', 'count', 'opened'] },
            XS_TRANSACTION_END: { target: 'ending', actions: ['serve', 'count', 'closed'] },
          },
        },
        ending: {
          always: [{ guard: 'noTransactionOpen', target: 'idle' }, { target: 'inTransaction' }],
        },
      },
    },
  },
});
