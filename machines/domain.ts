/**
 * `domainMachine`: the composite VM lifecycle of virtio-ioreq-lifecycle.md §6.5, as the actor shell
 * sees one domain. The hypervisor core keeps the truth (pause references, shutdown state and reason,
 * is_dying); the machine calls it through named actions and follows what it reports.
 *
 * Every transition that touches the hypervisor runs two actions: the call (`domctlPause`,
 * `schedopShutdown`, …) and `getDomainInfo`, which records what XEN_DOMCTL_getdomaininfo then reports.
 * Eventless transitions guarded by `domainInfoShows` move the machine to the state the record shows,
 * so a call the core refuses (an unpause with no reference held, a soft reset before the shutdown
 * completed) leaves the machine where it was, and its state always matches the core.
 *
 * The default implementations are an abstract model of the core (lifecycle §6.1–§6.3) kept in
 * context: the machine runs without a hypervisor, and `xstate/graph` can walk it. The core wiring
 * (`domainMachineFor` in `implementations/domain-core.ts`) replaces them with calls on a Hypervisor.
 *
 * States (lifecycle §6.5):
 *
 * | state          | the core reports                                                  |
 * |----------------|-------------------------------------------------------------------|
 * | `none`         | no domain with this id (before CREATE)                            |
 * | `createdPaused`| alive, creation not finished (the first toolstack reference held) |
 * | `running`      | alive, no toolstack pause reference, shutdown_state NONE          |
 * | `paused`       | alive, creation finished, toolstack references > 0, NONE          |
 * | `shuttingDown` | shutdown IN_PROGRESS (a vCPU holds a deferral)                    |
 * | `shutdown`     | shutdown COMPLETE, with its reason                                |
 * | `destroying`   | alive, paused by the destroy; the toolstack removes devices       |
 * | `dying`        | is_dying = dying: Argo torn down, the id still resolves           |
 * | `dead`         | gone: the id no longer resolves (final)                           |
 *
 * Events:
 *
 * | event                          | accepted in                                  | calls (then `getDomainInfo`)            |
 * |--------------------------------|----------------------------------------------|-----------------------------------------|
 * | `CREATE`                       | none                                         | `domainCreate` (domain_create)          |
 * | `PAUSE`                        | createdPaused running paused shuttingDown shutdown | `domctlPause` (pausedomain)        |
 * | `UNPAUSE`                      | createdPaused running paused shuttingDown shutdown | `domctlUnpause` (unpausedomain)    |
 * | `SHUTDOWN {reason}`            | running paused shuttingDown shutdown         | `schedopShutdown` (SCHEDOP_shutdown)    |
 * | `CRASH`                        | running paused shuttingDown shutdown         | `domainCrash` (domain_crash)            |
 * | `START_SHUTDOWN_DEFERRAL {vcpu}` | running                                    | `vcpuStartShutdownDeferral`             |
 * | `END_SHUTDOWN_DEFERRAL {vcpu}` | running shuttingDown                         | `vcpuEndShutdownDeferral`               |
 * | `VCPUS_STOPPED`                | shuttingDown                                 | — (the core reports COMPLETE: re-read)  |
 * | `RESUME`                       | shuttingDown shutdown                        | `domctlResume` (resumedomain)           |
 * | `SOFT_RESET`                   | shuttingDown shutdown                        | `domctlSoftReset` (domain_soft_reset)   |
 * | `DESTROY`                      | createdPaused running paused shuttingDown shutdown | `domctlPause`, then → destroying   |
 * | `KILL`                         | destroying                                   | `domainKill` (destroydomain: domain_kill) |
 * | `TEARDOWN_DONE`                | dying                                        | `domainReap` (resources relinquished)   |
 *
 * @example
 * ```ts
 * const domain = createActor(domainMachine, { input: { domid: 1 } }).start();
 * domain.send({ type: 'CREATE' });                 // createdPaused
 * domain.send({ type: 'UNPAUSE' });                // running
 * domain.send({ type: 'SHUTDOWN', reason: 'reboot' });
 * domain.getSnapshot().matches('shutdown');        // true
 * domain.getSnapshot().context.shutdownReason;     // 'reboot'
 * ```
 */
import { assertEvent, assign, setup } from 'xstate';

/**
 * Shutdown reasons of public/sched.h, each at the index of its code (`SHUTDOWN_poweroff` 0 …
 * `SHUTDOWN_soft_reset` 5).
 *
 * @example
 * ```ts
 * SHUTDOWN_REASONS.indexOf('crash'); // 3, SHUTDOWN_crash
 * ```
 */
export const SHUTDOWN_REASONS = ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'] as const;

/**
 * A shutdown reason by its public/sched.h name.
 *
 * @example
 * ```ts
 * const reason: ShutdownReason = 'watchdog';
 * ```
 */
export type ShutdownReason = (typeof SHUTDOWN_REASONS)[number];

/**
 * `shutdown_state` (lifecycle §6.1): NONE, IN_PROGRESS (a vCPU defers it), COMPLETE.
 *
 * @example
 * ```ts
 * snapshot.context.shutdownState === 'inProgress'; // in shuttingDown
 * ```
 */
export type ShutdownState = 'none' | 'inProgress' | 'complete';

/**
 * What the machine knows of its domain: the last answer of XEN_DOMCTL_getdomaininfo, plus the
 * vCPUs that hold a shutdown deferral (`defer_shutdown`, which getdomaininfo does not report).
 *
 * @example
 * ```ts
 * const { pauseRefs, shutdownReason } = snapshot.context;
 * ```
 */
export interface DomainInfoRecord {
  /** As `hv.life`: 'gone' before creation and after the domain was reaped. */
  life: 'alive' | 'dying' | 'gone';
  /** Toolstack pause references (`controller_pause_count`); the domain is paused while > 0. */
  pauseRefs: number;
  /** Set the first time the toolstack references reach 0. */
  creationFinished: boolean;
  shutdownState: ShutdownState;
  /** The first shutdown reason, or null (`SHUTDOWN_CODE_INVALID`). */
  shutdownReason: ShutdownReason | null;
  /** vCPUs holding a shutdown deferral (I/O in flight), ascending. */
  deferringVcpus: number[];
}

/**
 * The domain machine's context: the domain id and the record of what the core reports.
 *
 * @example
 * ```ts
 * const context: DomainContext = domain.getSnapshot().context;
 * ```
 */
export interface DomainContext extends DomainInfoRecord {
  domid: number;
}

/**
 * The domain machine's input.
 *
 * @example
 * ```ts
 * createActor(domainMachine, { input: { domid: 3 } satisfies DomainInput });
 * ```
 */
export interface DomainInput {
  domid: number;
}

/**
 * Events of the domain machine (see the table at the top of this file).
 *
 * @example
 * ```ts
 * const event: DomainEvent = { type: 'SHUTDOWN', reason: 'suspend' };
 * ```
 */
export type DomainEvent =
  | { type: 'CREATE' }
  | { type: 'PAUSE' }
  | { type: 'UNPAUSE' }
  | { type: 'SHUTDOWN'; reason: ShutdownReason }
  | { type: 'CRASH' }
  | { type: 'START_SHUTDOWN_DEFERRAL'; vcpu: number }
  | { type: 'END_SHUTDOWN_DEFERRAL'; vcpu: number }
  | { type: 'VCPUS_STOPPED' }
  | { type: 'RESUME' }
  | { type: 'SOFT_RESET' }
  | { type: 'DESTROY' }
  | { type: 'KILL' }
  | { type: 'TEARDOWN_DONE' };

/** Where a getdomaininfo record puts the domain; 'gone' is `none` before CREATE and `dead` after. */
type ReportedState = 'createdPaused' | 'running' | 'paused' | 'shuttingDown' | 'shutdown' | 'dying' | 'gone';

function reportedState(c: DomainInfoRecord): ReportedState {
  if (c.life !== 'alive') return c.life;
  if (c.shutdownState === 'complete') return 'shutdown';
  if (c.shutdownState === 'inProgress') return 'shuttingDown';
  if (!c.creationFinished) return 'createdPaused';
  return c.pauseRefs > 0 ? 'paused' : 'running';
}

/** Toolstack pause references are capped (the core's CONTROLLER_PAUSE_MAX; lifecycle §6.1). */
const PAUSE_REFS_MAX = 255;

type Change = Partial<DomainContext>;
const NO_CHANGE: Change = {};

/**
 * The abstract model of the core (lifecycle §6.1–§6.3), over the record alone. A refusal is no
 * change. The graph tests check the real core agrees with it on every path.
 */
const model = {
  create: (): Change => ({
    life: 'alive',
    pauseRefs: 1, // lifecycle §6.3: a new domain exists paused, holding one toolstack reference
    creationFinished: false,
    shutdownState: 'none',
    shutdownReason: null,
    deferringVcpus: [],
  }),
  pause: (c: DomainInfoRecord): Change =>
    c.life === 'alive' && c.pauseRefs < PAUSE_REFS_MAX ? { pauseRefs: c.pauseRefs + 1 } : NO_CHANGE,
  unpause: (c: DomainInfoRecord): Change =>
    c.life === 'alive' && c.pauseRefs > 0
      ? { pauseRefs: c.pauseRefs - 1, creationFinished: c.creationFinished || c.pauseRefs === 1 }
      : NO_CHANGE,
  shutdown: (c: DomainInfoRecord, reason: ShutdownReason): Change => {
    if (c.life !== 'alive' || c.shutdownState !== 'none') return NO_CHANGE; // lifecycle §6.3: the first reason wins
    const deferring = reason === 'crash' ? [] : c.deferringVcpus; // lifecycle §6.3: a crash cancels deferrals
    return { shutdownState: deferring.length === 0 ? 'complete' : 'inProgress', shutdownReason: reason, deferringVcpus: deferring };
  },
  startDeferral: (c: DomainInfoRecord, vcpu: number): Change =>
    c.shutdownState === 'none' && !c.deferringVcpus.includes(vcpu)
      ? { deferringVcpus: [...c.deferringVcpus, vcpu].sort((a, b) => a - b) }
      : NO_CHANGE,
  endDeferral: (c: DomainInfoRecord, vcpu: number): Change => {
    const deferring = c.deferringVcpus.filter((v) => v !== vcpu);
    // lifecycle §6.3: a vCPU that ends its deferral runs the completion check
    const completes = c.shutdownState === 'inProgress' && deferring.length === 0;
    return completes ? { deferringVcpus: deferring, shutdownState: 'complete' } : { deferringVcpus: deferring };
  },
  resume: (c: DomainInfoRecord): Change =>
    c.life === 'alive' ? { shutdownState: 'none', shutdownReason: null } : NO_CHANGE,
  // lifecycle §6.3: domain_soft_reset is -EINVAL unless every vCPU is paused for shutdown
  softReset: (c: DomainInfoRecord): Change =>
    c.life === 'alive' && c.shutdownState === 'complete' ? { shutdownState: 'none', shutdownReason: null } : NO_CHANGE,
  kill: (c: DomainInfoRecord): Change => (c.life === 'alive' ? { life: 'dying' } : NO_CHANGE),
  reap: (c: DomainInfoRecord): Change => (c.life === 'dying' ? { life: 'gone' } : NO_CHANGE),
};

/** A call on the core, then getdomaininfo. */
const call = <A extends string>(action: A) => ({ actions: [action, 'getDomainInfo'] as const });
const PAUSE = call('domctlPause');
const UNPAUSE = call('domctlUnpause');
const CRASH = call('domainCrash');
const RESUME = call('domctlResume');
const SOFT_RESET = call('domctlSoftReset');
const reasonParams = ({ event }: { event: DomainEvent }) => {
  assertEvent(event, 'SHUTDOWN');
  return { reason: event.reason };
};
const vcpuParams = ({ event }: { event: DomainEvent }) => {
  assertEvent(event, ['START_SHUTDOWN_DEFERRAL', 'END_SHUTDOWN_DEFERRAL']);
  return { vcpu: event.vcpu };
};
const SHUTDOWN = { actions: [{ type: 'schedopShutdown', params: reasonParams }, 'getDomainInfo'] } as const;
const START_SHUTDOWN_DEFERRAL = { actions: [{ type: 'vcpuStartShutdownDeferral', params: vcpuParams }, 'getDomainInfo'] } as const;
const END_SHUTDOWN_DEFERRAL = { actions: [{ type: 'vcpuEndShutdownDeferral', params: vcpuParams }, 'getDomainInfo'] } as const;
// lifecycle §6.4 destroy: libxl pauses the domain before it removes the device model and devices
const DESTROY = { target: '#domain.destroying', actions: ['domctlPause', 'getDomainInfo'] } as const;

/** The eventless transition to `to`, taken when the record shows the domain there. */
const when = (state: ReportedState, to: string = state) => ({
  target: to,
  guard: { type: 'domainInfoShows' as const, params: { state } },
});

/**
 * The domain lifecycle machine (lifecycle §6.5). Without `.provide()` it runs its abstract model of
 * the core; `domainMachineFor(hv, domid)` wires it to a Hypervisor.
 *
 * @example
 * ```ts
 * const domain = createActor(domainMachineFor(hv, 1), { input: { domid: 1 } }).start();
 * domain.send({ type: 'CREATE' });
 * domain.send({ type: 'UNPAUSE' });
 * domain.send({ type: 'DESTROY' });
 * domain.send({ type: 'KILL' });           // dying: Argo torn down (argo.md §8.2)
 * domain.send({ type: 'TEARDOWN_DONE' });  // dead: hv.life(1) === 'gone'
 * ```
 */
export const domainMachine = setup({
  types: {
    context: {} as DomainContext,
    events: {} as DomainEvent,
    input: {} as DomainInput,
  },
  actions: {
    domainCreate: assign(() => model.create()),
    domctlPause: assign(({ context }) => model.pause(context)),
    domctlUnpause: assign(({ context }) => model.unpause(context)),
    schedopShutdown: assign(({ context }, params: { reason: ShutdownReason }) => model.shutdown(context, params.reason)),
    domainCrash: assign(({ context }) => model.shutdown(context, 'crash')),
    vcpuStartShutdownDeferral: assign(({ context }, params: { vcpu: number }) => model.startDeferral(context, params.vcpu)),
    vcpuEndShutdownDeferral: assign(({ context }, params: { vcpu: number }) => model.endDeferral(context, params.vcpu)),
    domctlResume: assign(({ context }) => model.resume(context)),
    domctlSoftReset: assign(({ context }) => model.softReset(context)),
    domainKill: assign(({ context }) => model.kill(context)),
    domainReap: assign(({ context }) => model.reap(context)),
    /** XEN_DOMCTL_getdomaininfo into the record; the model's record is already current. */
    getDomainInfo: assign(() => NO_CHANGE),
  },
  guards: {
    domainInfoShows: ({ context }, params: { state: ReportedState }) => reportedState(context) === params.state,
  },
}).createMachine({
  id: 'domain',
  context: ({ input }) => ({
    domid: input.domid,
    life: 'gone',
    pauseRefs: 0,
    creationFinished: false,
    shutdownState: 'none',
    shutdownReason: null,
    deferringVcpus: [],
  }),
  initial: 'none',
  states: {
    none: {
      description: 'No domain with this id yet.',
      on: { CREATE: call('domainCreate') },
      always: when('createdPaused'),
    },
    createdPaused: {
      description: 'domain_create left it paused with one toolstack reference (lifecycle §6.3).',
      on: { PAUSE, UNPAUSE, DESTROY },
      // lifecycle §6.1: the first time the toolstack references reach 0, creation is finished
      always: when('running'),
    },
    running: {
      description: 'No toolstack pause reference, no shutdown: its vCPUs may run.',
      on: { PAUSE, UNPAUSE, SHUTDOWN, CRASH, START_SHUTDOWN_DEFERRAL, END_SHUTDOWN_DEFERRAL, DESTROY },
      always: [when('paused'), when('shuttingDown'), when('shutdown')],
    },
    paused: {
      description: 'Toolstack pause references held (reference-counted, lifecycle §6.1).',
      on: { PAUSE, UNPAUSE, SHUTDOWN, CRASH, DESTROY },
      always: [when('running'), when('shuttingDown'), when('shutdown')],
    },
    shuttingDown: {
      description: 'Shutdown IN_PROGRESS: a vCPU with I/O in flight defers it (lifecycle §6.5).',
      on: { PAUSE, UNPAUSE, SHUTDOWN, CRASH, END_SHUTDOWN_DEFERRAL, VCPUS_STOPPED: { actions: 'getDomainInfo' }, RESUME, SOFT_RESET, DESTROY },
      always: [when('shutdown'), when('running'), when('paused')],
    },
    shutdown: {
      description: 'Shutdown COMPLETE with its reason: every vCPU stopped; VIRQ_DOM_EXC sent.',
      on: { PAUSE, UNPAUSE, SHUTDOWN, CRASH, RESUME, SOFT_RESET, DESTROY },
      // lifecycle §6.5: resume (a cancelled suspend) and soft reset (same domid) run it again
      always: [when('running'), when('paused')],
    },
    destroying: {
      description: 'The toolstack destroys it: paused, device model and devices going (lifecycle §6.4).',
      on: { KILL: call('domainKill') },
      always: when('dying'),
    },
    dying: {
      description: 'is_dying = dying: Argo torn down (argo.md §8.2); the id still resolves.',
      on: { TEARDOWN_DONE: call('domainReap') },
      always: when('gone', 'dead'),
    },
    dead: {
      description: 'Gone: the id no longer resolves; nothing reaches it (lifecycle §6.5).',
      type: 'final',
    },
  },
});
