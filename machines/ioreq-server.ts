/**
 * `ioreqServerMachine`: one Xen IOREQ server from create_ioreq_server to its end
 * (virtio-ioreq-lifecycle.md §5.1, §5.2, §5.8a, §5.9). The core keeps the server; the machine calls
 * it through named actions and follows what it reports: every event that calls the core runs the call
 * and then `readServer` (exists, enabled, requests pending, ranges), and root-level eventless
 * transitions move to the state the record shows — so a DM op the core refuses (an errno) leaves the
 * machine where it was, with `context.errno` set.
 *
 * The default implementations are an abstract model of the core kept in context, so the machine runs
 * without a hypervisor and `xstate/graph` can walk it; `ioreqServerMachineFor` in
 * `implementations/ioreq-server-core.ts` wires it to an `Ioreq`.
 *
 * | state       | the core reports                                                   |
 * |-------------|--------------------------------------------------------------------|
 * | `absent`    | no server yet (initial), or create was refused                     |
 * | `disabled`  | created, or disabled again: no request is delivered (§5.2 op 5)   |
 * | `enabled`   | requests in its ranges are delivered; none pending                 |
 * | `serving`   | at least one vCPU's request is pending on it                       |
 * | `destroyed` | destroy_ioreq_server, or the target died (final)                   |
 *
 * | event                         | does                                                            |
 * |-------------------------------|-----------------------------------------------------------------|
 * | `CREATE`                      | create_ioreq_server (§5.2 op 1)                                 |
 * | `MAP_RANGE` / `UNMAP_RANGE`   | map / unmap an io range (ops 3, 4)                              |
 * | `ENABLE` / `DISABLE`          | set_ioreq_server_state (op 5)                                   |
 * | `DESTROY`                     | destroy_ioreq_server (op 6)                                     |
 * | `REQUESTS {pending}`          | the runtime's summary after a batch: requests pending on it     |
 * | `TARGET_DIED`                 | the target was killed: relinquish destroyed every server (§5.9) |
 * | `EMULATOR_DIED`               | the emulator died without destroying it: a zombie (R5, §5.9)    |
 *
 * @example
 * ```ts
 * const server = createActor(ioreqServerMachine, { input: { target: 1, emulator: 0, handleBufioreq: 0 } }).start();
 * server.send({ type: 'CREATE' });                                  // 'disabled'
 * server.send({ type: 'MAP_RANGE', rangeType: 1, start: 0x2000000, end: 0x20001ff });
 * server.send({ type: 'ENABLE' });                                  // 'enabled'
 * server.send({ type: 'REQUESTS', pending: 1 });                    // 'serving'
 * ```
 */
import { and, assign, not, setup, stateIn } from 'xstate';

/**
 * Whose server: the target, the emulator that creates it, and its buffered mode (0 off, 1 legacy, 2 atomic).
 *
 * @example
 * ```ts
 * const input: IoreqServerInput = { target: 1, emulator: 0, handleBufioreq: 0 };
 * ```
 */
export interface IoreqServerInput {
  target: number;
  emulator: number;
  handleBufioreq: number;
}

/**
 * What the actor knows of its server.
 *
 * @example
 * ```ts
 * const { id, enabled, pending, errno } = server.getSnapshot().context;
 * ```
 */
export interface IoreqServerContext extends IoreqServerInput {
  /** ioservid_t, once created. */
  id: number | null;
  exists: boolean;
  enabled: boolean;
  /** vCPU requests pending on the server. */
  pending: number;
  /** Ranges mapped, as `type:start-end` (inclusive, hexadecimal), sorted. */
  mapped: string[];
  /** The errno of the last refused op (negative), null after a successful one. */
  errno: number | null;
  /** Once created and then gone. */
  gone: boolean;
  /** False once the emulator died: the server is a zombie's (R5). */
  emulatorAlive: boolean;
}

/**
 * Events of the server machine (see the table at the top of this file).
 *
 * @example
 * ```ts
 * const map: IoreqServerEvent = { type: 'MAP_RANGE', rangeType: 1, start: 0x2000000, end: 0x20001ff };
 * ```
 */
export type IoreqServerEvent =
  | { type: 'CREATE' }
  | { type: 'MAP_RANGE'; rangeType: number; start: number; end: number }
  | { type: 'UNMAP_RANGE'; rangeType: number; start: number; end: number }
  | { type: 'ENABLE' }
  | { type: 'DISABLE' }
  | { type: 'DESTROY' }
  | { type: 'REQUESTS'; pending: number }
  | { type: 'TARGET_DIED' }
  | { type: 'EMULATOR_DIED' };

type StateName = 'absent' | 'disabled' | 'enabled' | 'serving' | 'destroyed';
type Change = Partial<IoreqServerContext>;
type RangeParams = { rangeType: number; start: number; end: number };

/**
 * The key of a mapped range in `context.mapped`.
 *
 * @example
 * ```ts
 * ioreqRangeKey(1, 0x2000000, 0x20001ff); // '1:2000000-20001ff'
 * ```
 */
export const ioreqRangeKey = (rangeType: number, start: number, end: number): string => `${rangeType}:${start.toString(16)}-${end.toString(16)}`;

/**
 * The state a record shows.
 *
 * @example
 * ```ts
 * ioreqServerStateOf({ exists: true, gone: false, enabled: true, pending: 1 }); // 'serving'
 * ```
 */
export function ioreqServerStateOf(c: Pick<IoreqServerContext, 'exists' | 'gone' | 'enabled' | 'pending'>): StateName {
  if (c.gone) return 'destroyed';
  if (!c.exists) return 'absent';
  if (!c.enabled) return 'disabled';
  return c.pending > 0 ? 'serving' : 'enabled';
}

/** Every state a record can move the machine to: never back to `absent` (a server once created only goes). */
const FOLLOWED: readonly StateName[] = ['disabled', 'enabled', 'serving', 'destroyed'];
const follow = FOLLOWED.map((target) => ({
  target: `.${target}`,
  guard: and([{ type: 'recordShows' as const, params: { state: target } }, not(stateIn(target))]),
}));

const thenRead = <A extends string>(action: A) => ({ actions: [action, 'readServer'] as const });
const rangeOp = (action: 'mapRange' | 'unmapRange') => ({
  actions: [{ type: action, params: ({ event }: { event: RangeParams }) => ({ rangeType: event.rangeType, start: event.start, end: event.end }) }, 'readServer'] as const,
});

/** The abstract core refuses what the real one refuses of a dead emulator (-ESRCH) or a missing server. */
const refused = (c: IoreqServerContext): Change | null => (!c.emulatorAlive ? { errno: -3 } : !c.exists ? { errno: -2 } : null);

/**
 * The IOREQ server machine. Without `.provide()` it runs its abstract model;
 * `ioreqServerMachineFor(wire)` wires it to an `Ioreq`.
 *
 * @example
 * ```ts
 * const server = createActor(ioreqServerMachine, { input: { target: 1, emulator: 0, handleBufioreq: 0 } }).start();
 * server.send({ type: 'CREATE' });
 * server.send({ type: 'TARGET_DIED' });
 * server.getSnapshot().value; // 'destroyed'
 * ```
 */
export const ioreqServerMachine = setup({
  types: {
    context: {} as IoreqServerContext,
    events: {} as IoreqServerEvent,
    input: {} as IoreqServerInput,
  },
  actions: {
    create: assign(({ context: c }): Change => (c.emulatorAlive ? { id: 0, exists: true, errno: null } : { errno: -3 })),
    // the abstract core knows only exact ranges: the same range again is -EEXIST, an unknown one -ENOENT (§5.2 ops 3–4)
    mapRange: assign(({ context: c }, p: RangeParams): Change => {
      const key = ioreqRangeKey(p.rangeType, p.start, p.end);
      return refused(c) ?? (c.mapped.includes(key) ? { errno: -17 } : { mapped: [...c.mapped, key].sort(), errno: null });
    }),
    unmapRange: assign(({ context: c }, p: RangeParams): Change => {
      const key = ioreqRangeKey(p.rangeType, p.start, p.end);
      return refused(c) ?? (c.mapped.includes(key) ? { mapped: c.mapped.filter((k) => k !== key), errno: null } : { errno: -2 });
    }),
    enable: assign(({ context: c }): Change => refused(c) ?? { enabled: true, errno: null }),
    disable: assign(({ context: c }): Change => refused(c) ?? { enabled: false, errno: null }),
    destroy: assign(({ context: c }): Change => refused(c) ?? { exists: false, gone: true, enabled: false, pending: 0, mapped: [], errno: null }),
    recordRequests: assign(({ context: c }, params: { pending: number }): Change => (c.exists ? { pending: params.pending } : {})),
    recordTargetDeath: assign(({ context: c }): Change => (c.exists ? { exists: false, gone: true, enabled: false, pending: 0, mapped: [] } : {})),
    recordEmulatorDeath: assign((): Change => ({ emulatorAlive: false })),
    /** The server as the core has it; the model's record is already current. */
    readServer: assign((): Change => ({})),
  },
  guards: {
    recordShows: ({ context }, params: { state: StateName }) => ioreqServerStateOf(context) === params.state,
  },
}).createMachine({
  id: 'ioreqServer',
  context: ({ input }) => ({ ...input, id: null, exists: false, enabled: false, pending: 0, mapped: [], errno: null, gone: false, emulatorAlive: true }),
  initial: 'absent',
  always: follow,
  on: {
    TARGET_DIED: thenRead('recordTargetDeath'),
    EMULATOR_DIED: thenRead('recordEmulatorDeath'),
  },
  states: {
    absent: { description: 'No server yet, or create was refused.', on: { CREATE: thenRead('create') } },
    disabled: {
      description: 'Created (servers start disabled) or disabled again: nothing is delivered (§5.2 op 5).',
      on: { MAP_RANGE: rangeOp('mapRange'), UNMAP_RANGE: rangeOp('unmapRange'), ENABLE: thenRead('enable'), DESTROY: thenRead('destroy') },
    },
    enabled: {
      description: 'Accesses wholly inside its ranges are delivered to it (§5.6).',
      on: {
        MAP_RANGE: rangeOp('mapRange'),
        UNMAP_RANGE: rangeOp('unmapRange'),
        DISABLE: thenRead('disable'),
        DESTROY: thenRead('destroy'),
        REQUESTS: { actions: [{ type: 'recordRequests', params: ({ event }) => ({ pending: event.pending }) }, 'readServer'] },
      },
    },
    serving: {
      description: 'vCPUs wait on it: each is blocked until the emulator answers (§5.4).',
      on: {
        MAP_RANGE: rangeOp('mapRange'),
        UNMAP_RANGE: rangeOp('unmapRange'),
        DISABLE: thenRead('disable'),
        DESTROY: thenRead('destroy'),
        REQUESTS: { actions: [{ type: 'recordRequests', params: ({ event }) => ({ pending: event.pending }) }, 'readServer'] },
      },
    },
    destroyed: {
      type: 'final',
      description: 'Destroyed by its emulator, or by relinquish when the target died (§5.9).',
    },
  },
});
