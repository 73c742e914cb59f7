/**
 * `toolstackMachine`: the libxl-style asynchronous ("ao") operations of virtio-ioreq-lifecycle.md §6.4
 * for one domain configuration, with libxl's timeouts as delayed transitions (`after`) on whatever
 * clock the actor is given (the deterministic scheduler in tests: `xstateClock` in
 * `implementations/toolstack-core.ts`).
 *
 * Every effect on the host is a named action (`domainMake`, `domctlPause`, `spawnDeviceModel`,
 * `writeControlNode`, `closeDevices`, `removeXenstorePaths`, `domainDestroy`, …); the defaults do nothing, so the definition runs alone and
 * `xstate/graph` can walk it. `toolstackMachineFor(hv, …)` wires them to a Hypervisor. Reads of host
 * state are injected too: `controlNodeTransaction` (the xenstore transaction that cancels a request
 * the guest did not acknowledge), `allocateDomid` and `readBackend` (does the backend domain still exist?) are assigns.
 *
 * States:
 *
 * | state                          | what                                                              |
 * |--------------------------------|-------------------------------------------------------------------|
 * | `idle`                         | no domain of this configuration                                   |
 * | `creating.choosing`            | domain_make done (created paused); a device model to start?       |
 * | `creating.startingDm`          | waiting for DM_STARTED, at most LIBXL_DEVICE_MODEL_START_TIMEOUT  |
 * | `creating.attaching`           | devices attached (if it has any); creation completes (then UNPAUSE if `autoUnpause`) |
 * | `active.ao.idle`               | the domain exists; no ao in flight                                |
 * | `active.ao.awaitingAck`        | control/shutdown written; waiting LIBXL_ACK_TIMEOUT for the guest |
 * | `active.ao.checkingAck`        | timed out: the transaction re-reads the node (a late ack counts)  |
 * | `active.ao.awaitingSuspend`    | suspend acknowledged: waiting for shutdown with reason suspend    |
 * | `active.watch.alive`           | @releaseDomain: no shutdown reported for this domain              |
 * | `active.watch.shutdown`        | DOMAIN_SHUTDOWN reported once; the on_* action applied            |
 * | `destroying.deviceModel`       | PCI removed, domain paused; the device model is killed if any     |
 * | `destroying.deviceModelKilled` | the kill found the device model already exited: libxl logs an error |
 * | `destroying.devicesChoice`     | none attached (a failed create, or none configured): nothing to remove |
 * | `destroying.devices`           | devices removed: waits for be/state=Closed unless the backend is gone |
 * | `destroying.xenstore`          | xenstore paths removed (recorded as a step)                       |
 * | `destroying.domain`            | xc_domain_destroy; the domid quarantined LIBXL_DOMID_REUSE_TIMEOUT |
 *
 * Events:
 *
 * | event                      | accepted in                          | does                                               |
 * |----------------------------|--------------------------------------|----------------------------------------------------|
 * | `CREATE {domid?}`          | idle                                 | refused (ERROR_FAIL) for a quarantined domid, else domain_make |
 * | `DM_STARTED`               | creating.startingDm                  | → attaching                                        |
 * | `DM_FAILED`                | creating.startingDm                  | the device model died starting: → destroying the half-built domain; then ERROR_FAIL |
 * | after 60 s                 | creating.startingDm                  | → destroying the half-built domain; then ERROR_FAIL |
 * | `PAUSE` / `UNPAUSE`        | active                               | `domctlPause` / `domctlUnpause`; with a device model, UNPAUSE first resumes it (QMP `cont`) |
 * | `DM_RESUMED {ok}`          | active                               | the `cont` answered: `domctlUnpause`; not answered: the domain stays paused |
 * | `SHUTDOWN` / `REBOOT`      | active.ao.idle                       | ERROR_NOPARAVIRT without PV control, else write the node |
 * | `SUSPEND`                  | active.ao.idle                       | write "suspend"; without PV control SHUTDOWN_suspend directly |
 * | `GUEST_ACK`                | active.ao.awaitingAck                | the ao completes OK (suspend: wait for the shutdown) |
 * | after 60 s                 | active.ao.awaitingAck                | → checkingAck: acknowledged after all, or ERROR_TIMEDOUT |
 * | after 60 s                 | active.ao.awaitingSuspend            | the guest acknowledged but did not suspend: ERROR_GUEST_TIMEDOUT |
 * | `DOMAIN_SHUTDOWN {reason}` | active (both regions), destroying    | reported once; suspend ao: OK for suspend, else ERROR_FAIL; the on_* action |
 * | `DOMAIN_DEATH`             | active, destroying                   | reported once; in active the domain is gone → idle  |
 * | `RESUME`                   | active                               | `domctlResume` (libxl_domain_resume: xc_domain_resume); after a reported shutdown the watch is armed again |
 * | `DESTROY`                  | active                               | → destroying                                       |
 * | `BACKEND_CLOSED`           | destroying.devices                   | be/state=Closed: removal finishes                  |
 * | after 10 s                 | destroying.devices                   | LIBXL_DESTROY_TIMEOUT: removal forced              |
 * | `BACKEND_GONE`             | anywhere                             | the backend domain vanished: removal will not wait |
 * | `QUARANTINE_EXPIRED {domid}` | anywhere (raised 60 s after a destroy) | the domid may be reused                        |
 * | `ON_SHUTDOWN_ACTION`       | active (raised by the watch)         | destroy / restart (destroy + create) / soft-reset / preserve |
 *
 * @example
 * ```ts
 * const ts = createActor(toolstackMachine, { input: { domid: 1, deviceModel: false, pvControl: true }, clock }).start();
 * ts.send({ type: 'CREATE' });            // active: created paused
 * ts.send({ type: 'SHUTDOWN' });          // awaitingAck
 * ts.send({ type: 'GUEST_ACK' });         // lastResult 'OK'
 * ```
 */
import { and, assertEvent, assign, not, raise, setup } from 'xstate';

/** LIBXL_DEVICE_MODEL_START_TIMEOUT (libxl_internal.h; lifecycle §6.4). */
export const LIBXL_DEVICE_MODEL_START_TIMEOUT_MS = 60_000;
/** How long libxl waits for the guest to clear control/shutdown (lifecycle §6.4). */
export const LIBXL_ACK_TIMEOUT_MS = 60_000;
/**
 * How long libxl waits, after the acknowledgement, for the guest to show shutdown with reason
 * suspend (libxl_dom_suspend.c `suspend_common_wait_guest_timeout`: "guest did not suspend, timed
 * out", ERROR_GUEST_TIMEDOUT; the spec's §6.4 suspend leaves it out — docs/runtime.md SIM CHOICE).
 */
export const LIBXL_SUSPEND_WAIT_TIMEOUT_MS = 60_000;
/** LIBXL_DESTROY_TIMEOUT: the wait for a backend to reach Closed (lifecycle §6.4). */
export const LIBXL_DESTROY_TIMEOUT_MS = 10_000;
/** LIBXL_INIT_TIMEOUT (libxl_internal.h): how long libxl waits for a backend to reach InitWait. */
export const LIBXL_INIT_TIMEOUT_MS = 10_000;
/** LIBXL_DOMID_REUSE_TIMEOUT (commit 2b02882ebb; lifecycle §6.4 destroy step 3). */
export const LIBXL_DOMID_REUSE_TIMEOUT_MS = 60_000;

/**
 * Shutdown reasons of public/sched.h (the same list as `SHUTDOWN_REASONS` of domain.ts, repeated
 * because a definition imports only xstate).
 *
 * @example
 * ```ts
 * TOOLSTACK_SHUTDOWN_REASONS.indexOf('suspend'); // 2
 * ```
 */
export const TOOLSTACK_SHUTDOWN_REASONS = ['poweroff', 'reboot', 'suspend', 'crash', 'watchdog', 'soft_reset'] as const;

type Reason = (typeof TOOLSTACK_SHUTDOWN_REASONS)[number];

/**
 * xl's on_* actions the machine carries out (lifecycle §6.2). `restart` is destroy plus a new create
 * of the same configuration; `preserve` leaves the shut-down domain as it is.
 *
 * @example
 * ```ts
 * const onCrash: OnShutdownAction = 'preserve';
 * ```
 */
export type OnShutdownAction = 'destroy' | 'restart' | 'preserve' | 'soft-reset';

/**
 * The on_* settings, by the reason they apply to (suspend has none: xl leaves a suspend to the save).
 *
 * @example
 * ```ts
 * const actions: OnShutdownActions = { ...XL_DEFAULT_ON_SHUTDOWN, crash: 'restart' };
 * ```
 */
export type OnShutdownActions = Record<Exclude<Reason, 'suspend'>, OnShutdownAction>;

/**
 * xl's defaults (lifecycle §6.2): on_poweroff=destroy, on_reboot=restart, on_crash=destroy,
 * on_watchdog=destroy, on_soft_reset=soft-reset.
 *
 * @example
 * ```ts
 * XL_DEFAULT_ON_SHUTDOWN.reboot; // 'restart'
 * ```
 */
export const XL_DEFAULT_ON_SHUTDOWN: Readonly<OnShutdownActions> = {
  poweroff: 'destroy',
  reboot: 'restart',
  crash: 'destroy',
  watchdog: 'destroy',
  soft_reset: 'soft-reset',
};

/**
 * libxl error codes an ao ends with.
 *
 * @example
 * ```ts
 * snapshot.context.lastResult === 'ERROR_NOPARAVIRT';
 * ```
 */
export type LibxlResult = 'OK' | 'ERROR_FAIL' | 'ERROR_NOPARAVIRT' | 'ERROR_TIMEDOUT' | 'ERROR_GUEST_TIMEDOUT';

/**
 * The asynchronous operations whose completion is recorded.
 *
 * @example
 * ```ts
 * const op: AoOperation = 'suspend';
 * ```
 */
export type AoOperation = 'create' | 'shutdown' | 'reboot' | 'suspend' | 'destroy';

/**
 * What libxl writes to `/local/domain/N/control/shutdown`.
 *
 * @example
 * ```ts
 * const request: ControlRequest = 'reboot';
 * ```
 */
export type ControlRequest = 'poweroff' | 'reboot' | 'suspend';

/**
 * A domain-death event as libxl reports it to its caller.
 *
 * @example
 * ```ts
 * const r: ReportedEvent = { type: 'DOMAIN_SHUTDOWN', domid: 1, reason: 'poweroff' };
 * ```
 */
export type ReportedEvent = { type: 'DOMAIN_SHUTDOWN'; domid: number; reason: Reason } | { type: 'DOMAIN_DEATH'; domid: number };

/**
 * One domain configuration.
 *
 * @example
 * ```ts
 * const input: ToolstackInput = { domid: 1, deviceModel: true, pvControl: false };
 * ```
 */
export interface ToolstackInput {
  /** The domid to create with when CREATE names none (the lowest free one from here is taken). */
  domid: number;
  /** The configuration has a device model (QEMU) to start before devices are attached. */
  deviceModel: boolean;
  /** PV control: PV/PVH, or HVM with PV drivers (HVM_PARAM_CALLBACK_IRQ ≠ 0). */
  pvControl: boolean;
  /** Unpause once created (`xl create` without -p). Default false: the domain stays paused. */
  autoUnpause?: boolean;
  /**
   * The configuration has PV devices (disks, NICs, VirtIO) with a backend: a destroy removes them and
   * waits for the backend to close them. Default true; false for a domain with none.
   */
  devices?: boolean;
  /** on_* actions; missing ones take `XL_DEFAULT_ON_SHUTDOWN`. */
  onShutdown?: Partial<OnShutdownActions>;
  /**
   * Historical bug R16 (virtio-ioreq-lifecycle.md §6.7; default false): a create that fails after
   * domain_make (the device model not started in time, or dead) ends in ERROR_FAIL without
   * destroying the half-built domain.
   */
  halfBuiltDomainKept?: boolean;
}

/**
 * The toolstack machine's context.
 *
 * @example
 * ```ts
 * const { lastResult, steps, reported, quarantined } = actor.getSnapshot().context;
 * ```
 */
export interface ToolstackContext {
  config: Required<Omit<ToolstackInput, 'onShutdown'>> & { onShutdown: OnShutdownActions };
  /** The domain's id once domain_make assigned it; the last one after a destroy. */
  domid: number | null;
  /** Domids not to be reused yet (LIBXL_DOMID_REUSE_TIMEOUT), oldest first. */
  quarantined: number[];
  lastResult: LibxlResult | null;
  /** Every completed ao with its result, in order. */
  results: Array<{ op: AoOperation; result: LibxlResult }>;
  /** The steps taken, in order, e.g. `pause`, `device model: kill`, `xc_domain_destroy`. */
  steps: string[];
  /** Domain-death events reported to the caller, in order. */
  reported: ReportedEvent[];
  /** The request waiting in control/shutdown, or null. */
  request: ControlRequest | null;
  /** The guest acknowledged the request (cleared the node). */
  acked: boolean;
  /** The reason of the shutdown reported for this domain, or null. */
  shutdownReason: Reason | null;
  deathReported: boolean;
  /** The backend domain was reported gone (BACKEND_GONE). */
  backendGone: boolean;
  /** Devices were attached (creation got past the device model): a destroy removes them. */
  devicesAttached: boolean;
  /** Why the domain is being destroyed. */
  destroyCause: 'request' | 'createFailed' | 'onShutdown' | 'restart' | null;
  /** The destroy's kill found the device model already exited (libxl__kill_xs_path logs an error). */
  dmExited: boolean;
}

/**
 * Events of the toolstack machine (see the table at the top of this file).
 *
 * @example
 * ```ts
 * const event: ToolstackEvent = { type: 'DOMAIN_SHUTDOWN', reason: 'crash' };
 * ```
 */
export type ToolstackEvent =
  | { type: 'CREATE'; domid?: number }
  | { type: 'DM_STARTED' }
  | { type: 'DM_FAILED' }
  | { type: 'DM_RESUMED'; ok: boolean }
  | { type: 'PAUSE' }
  | { type: 'UNPAUSE' }
  | { type: 'SHUTDOWN' }
  | { type: 'REBOOT' }
  | { type: 'SUSPEND' }
  | { type: 'GUEST_ACK' }
  | { type: 'RESUME' }
  | { type: 'DOMAIN_SHUTDOWN'; reason: Reason }
  | { type: 'DOMAIN_DEATH' }
  | { type: 'DESTROY' }
  | { type: 'BACKEND_CLOSED' }
  | { type: 'BACKEND_GONE' }
  | { type: 'QUARANTINE_EXPIRED'; domid: number }
  | { type: 'ON_SHUTDOWN_ACTION' };

type Ctx = ToolstackContext;

/** The lowest id from the configured one that is not quarantined (the wiring also skips ids in use). */
function lowestUnquarantined(context: Ctx, from: number): number {
  let domid = from;
  while (context.quarantined.includes(domid)) domid++;
  return domid;
}

const step = (name: string) => ({ type: 'recordStep' as const, params: { step: name } });
const result = (op: AoOperation, r: LibxlResult) => ({ type: 'aoDone' as const, params: { op, result: r } });
const requestOf = (request: ControlRequest) => ({ type: 'setRequest' as const, params: { request } });
const writeRequest = (request: ControlRequest) => [requestOf(request), 'writeControlNode', step(`control/shutdown: ${request}`)] as const;
/**
 * A create failing after domain_make (lifecycle §6.4 create: "any failure after a domid was assigned
 * → libxl__domain_destroy of the half-built domain", R16): destroy it, then ERROR_FAIL — or, with the
 * historical bug `halfBuiltDomainKept`, ERROR_FAIL with the domain left as it is.
 */
const createFailed = (why: string) =>
  [
    { guard: 'halfBuiltDomainKept' as const, target: '#toolstack.idle', actions: [step(why), step('create: half-built domain left behind'), result('create', 'ERROR_FAIL')] },
    { target: '#toolstack.destroying', actions: [step(why), { type: 'destroyFor' as const, params: { cause: 'createFailed' as const } }] },
  ];
const aoOf = (c: Ctx): AoOperation => (c.request === 'poweroff' ? 'shutdown' : (c.request ?? 'shutdown'));

/**
 * The toolstack machine (lifecycle §6.4). Give the actor a `clock` for the timeouts.
 *
 * @example
 * ```ts
 * const ts = createActor(toolstackMachineFor(hv), { input: { domid: 1, deviceModel: true, pvControl: true }, clock: xstateClock(scheduler) }).start();
 * ts.send({ type: 'CREATE' });
 * scheduler.run({ untilMs: 60_000 });   // no DM_STARTED: the half-built domain is destroyed, ERROR_FAIL
 * ```
 */
export const toolstackMachine = setup({
  types: {
    context: {} as ToolstackContext,
    events: {} as ToolstackEvent,
    input: {} as ToolstackInput,
  },
  actions: {
    // effects (wired in implementations/toolstack-core.ts)
    domainMake: () => {},
    spawnDeviceModel: () => {},
    /** libxl__dm_resume: QMP "cont" (DM_RESUMED with its outcome). */
    resumeDeviceModel: () => {},
    /** Kills the device model; records `dmExited` when it had already exited. */
    killDeviceModel: assign(() => ({})),
    /** libxl__devices_destroy: enumerate the domain's devices, set each be/state=Closing (BACKEND_CLOSED when every live one closed). */
    closeDevices: () => {},
    /** libxl__device_destroy of each device, then /vm, /local/domain/N, /libxl/N and the device model's directory. */
    removeXenstorePaths: () => {},
    domctlPause: () => {},
    domctlUnpause: () => {},
    domctlResume: () => {},
    writeControlNode: () => {},
    domainSuspendDirect: () => {},
    domctlSoftReset: () => {},
    domainDestroy: () => {},
    /** libxl's transaction on timeout: clear the node unless the guest already did; records `acked`. */
    controlNodeTransaction: assign(() => ({})),
    /** Reads whether the backend domain still exists (the wiring asks the hypervisor); records `backendGone`. */
    readBackend: assign(() => ({})),
    /** Picks the domid for domain_make: the one CREATE names, else the lowest not quarantined. */
    allocateDomid: assign(({ context }, params: { domid: number | undefined }) => ({
      domid: params.domid ?? lowestUnquarantined(context, context.config.domid),
    })),
    // bookkeeping
    recordStep: assign(({ context }, params: { step: string }) => ({ steps: [...context.steps, params.step] })),
    aoDone: assign(({ context }, params: { op: AoOperation; result: LibxlResult }) => ({
      lastResult: params.result,
      results: [...context.results, { op: params.op, result: params.result }],
      request: null,
    })),
    setRequest: assign((_, params: { request: ControlRequest }) => ({ request: params.request, acked: false })),
    recordAck: assign({ acked: true }),
    newDomain: assign({ shutdownReason: null, deathReported: false, backendGone: false, devicesAttached: false, destroyCause: null, request: null, acked: false, dmExited: false }),
    markDevicesAttached: assign(({ context }) => ({ devicesAttached: context.config.devices })),
    reportShutdown: assign(({ context, event }) => {
      assertEvent(event, 'DOMAIN_SHUTDOWN');
      return {
        shutdownReason: event.reason,
        reported: [...context.reported, { type: 'DOMAIN_SHUTDOWN' as const, domid: context.domid!, reason: event.reason }],
      };
    }),
    /** Idempotent: DOMAIN_DEATH is reported once per domain. */
    reportDeath: assign(({ context }) =>
      context.deathReported ? {} : { deathReported: true, reported: [...context.reported, { type: 'DOMAIN_DEATH' as const, domid: context.domid! }] },
    ),
    clearShutdown: assign({ shutdownReason: null }),
    destroyFor: assign((_, params: { cause: NonNullable<Ctx['destroyCause']> }) => ({ destroyCause: params.cause })),
    quarantine: assign(({ context }) => ({ quarantined: [...context.quarantined.filter((d) => d !== context.domid), context.domid!] })),
    expireQuarantine: assign(({ context, event }) => {
      assertEvent(event, 'QUARANTINE_EXPIRED');
      return { quarantined: context.quarantined.filter((d) => d !== event.domid) };
    }),
    markBackendGone: assign({ backendGone: true }),
  },
  guards: {
    requestedDomidQuarantined: ({ context, event }) => {
      assertEvent(event, 'CREATE');
      return event.domid !== undefined && context.quarantined.includes(event.domid);
    },
    hasDeviceModel: ({ context }) => context.config.deviceModel,
    autoUnpause: ({ context }) => context.config.autoUnpause,
    pvControl: ({ context }) => context.config.pvControl,
    acked: ({ context }) => context.acked,
    requestIsSuspend: ({ context }) => context.request === 'suspend',
    shutdownIsSuspend: ({ event }) => {
      assertEvent(event, 'DOMAIN_SHUTDOWN');
      return event.reason === 'suspend';
    },
    onShutdownIs: ({ context }, params: { action: OnShutdownAction | 'none' }) => {
      const reason = context.shutdownReason;
      const action = reason === null || reason === 'suspend' ? 'none' : context.config.onShutdown[reason];
      return action === params.action;
    },
    /** The backend domain is gone: device removal does not wait for be/state=Closed (§6.6, case 44). */
    backendGone: ({ context }) => context.backendGone,
    deathReported: ({ context }) => context.deathReported,
    devicesAttached: ({ context }) => context.devicesAttached,
    shutdownReported: ({ context }) => context.shutdownReason !== null,
    shutdownReportedSuspend: ({ context }) => context.shutdownReason === 'suspend',
    shutdownReportedOther: ({ context }) => context.shutdownReason !== null && context.shutdownReason !== 'suspend',
    destroyCauseIs: ({ context }, params: { cause: NonNullable<Ctx['destroyCause']> }) => context.destroyCause === params.cause,
    halfBuiltDomainKept: ({ context }) => context.config.halfBuiltDomainKept,
    dmResumed: ({ event }) => {
      assertEvent(event, 'DM_RESUMED');
      return event.ok;
    },
    dmExited: ({ context }) => context.dmExited,
  },
  delays: {
    LIBXL_DEVICE_MODEL_START_TIMEOUT: LIBXL_DEVICE_MODEL_START_TIMEOUT_MS,
    LIBXL_ACK_TIMEOUT: LIBXL_ACK_TIMEOUT_MS,
    LIBXL_SUSPEND_WAIT_TIMEOUT: LIBXL_SUSPEND_WAIT_TIMEOUT_MS,
    LIBXL_DESTROY_TIMEOUT: LIBXL_DESTROY_TIMEOUT_MS,
  },
}).createMachine({
  id: 'toolstack',
  context: ({ input }) => ({
    config: {
      domid: input.domid,
      deviceModel: input.deviceModel,
      pvControl: input.pvControl,
      autoUnpause: input.autoUnpause ?? false,
      devices: input.devices ?? true,
      halfBuiltDomainKept: input.halfBuiltDomainKept ?? false,
      onShutdown: { ...XL_DEFAULT_ON_SHUTDOWN, ...input.onShutdown },
    },
    domid: null,
    quarantined: [],
    lastResult: null,
    results: [],
    steps: [],
    reported: [],
    request: null,
    acked: false,
    shutdownReason: null,
    deathReported: false,
    backendGone: false,
    devicesAttached: false,
    destroyCause: null,
    dmExited: false,
  }),
  on: {
    QUARANTINE_EXPIRED: { actions: 'expireQuarantine' },
    BACKEND_GONE: { actions: 'markBackendGone' },
  },
  initial: 'idle',
  states: {
    idle: {
      description: 'No domain of this configuration.',
      on: {
        CREATE: [
          // libxl_create.c: a domid recently used is refused (LIBXL_DOMID_REUSE_TIMEOUT)
          { guard: 'requestedDomidQuarantined', actions: [step('create: domid recently used'), result('create', 'ERROR_FAIL')] },
          {
            target: 'creating',
            actions: [
              { type: 'allocateDomid', params: ({ event }) => ({ domid: event.domid }) },
              'newDomain',
            ],
          },
        ],
      },
    },
    creating: {
      description: 'libxl_domain_create_new (lifecycle §6.4 create): the domain exists paused from domain_make on.',
      entry: ['domainMake', step('domain_make')],
      initial: 'choosing',
      states: {
        choosing: {
          always: [{ guard: 'hasDeviceModel', target: 'startingDm' }, { target: 'attaching' }],
        },
        startingDm: {
          entry: ['spawnDeviceModel', step('device model: spawn')],
          on: {
            DM_STARTED: { target: 'attaching', actions: step('device model: started') },
            // libxl_exec.c spawn_middle_death: the device model exited before confirming its start
            DM_FAILED: createFailed('device model: died during startup'),
          },
          after: {
            // lifecycle §6.4 create step 4: no confirmation within LIBXL_DEVICE_MODEL_START_TIMEOUT
            LIBXL_DEVICE_MODEL_START_TIMEOUT: createFailed('device model: start timed out'),
          },
        },
        attaching: {
          entry: ['markDevicesAttached', step('devices: attach')],
          always: [
            // xl create unpauses the domain it created (libxl_domain_unpause), unless -p
            { guard: 'autoUnpause', target: '#toolstack.active', actions: [result('create', 'OK'), raise({ type: 'UNPAUSE' })] },
            { target: '#toolstack.active', actions: result('create', 'OK') },
          ],
        },
      },
    },
    active: {
      description: 'The domain exists: ao operations and the @releaseDomain watch run side by side.',
      type: 'parallel',
      on: {
        PAUSE: { actions: ['domctlPause', step('pause')] },
        UNPAUSE: [
          // lifecycle §6.4 pause / unpause: for HVM, libxl__dm_resume (QMP "cont") first, then the domctl
          { guard: 'hasDeviceModel', actions: ['resumeDeviceModel', step('device model: cont')] },
          { actions: ['domctlUnpause', step('unpause')] },
        ],
        DM_RESUMED: [
          { guard: 'dmResumed', actions: ['domctlUnpause', step('unpause')] },
          // no answer within LIBXL_QMP_CMD_TIMEOUT, or QEMU gone: the unpause fails, the domain stays paused
          { actions: step('unpause: the device model did not resume') },
        ],
        DESTROY: { target: 'destroying', actions: { type: 'destroyFor', params: { cause: 'request' } } },
        DOMAIN_DEATH: { target: 'idle', actions: 'reportDeath' },
        ON_SHUTDOWN_ACTION: [
          { guard: { type: 'onShutdownIs', params: { action: 'destroy' } }, target: 'destroying', actions: { type: 'destroyFor', params: { cause: 'onShutdown' } } },
          { guard: { type: 'onShutdownIs', params: { action: 'restart' } }, target: 'destroying', actions: { type: 'destroyFor', params: { cause: 'restart' } } },
        ],
      },
      states: {
        ao: {
          initial: 'idle',
          states: {
            idle: {
              on: {
                SHUTDOWN: [
                  { guard: not('pvControl'), actions: result('shutdown', 'ERROR_NOPARAVIRT') },
                  { target: 'awaitingAck', actions: writeRequest('poweroff') },
                ],
                REBOOT: [
                  { guard: not('pvControl'), actions: result('reboot', 'ERROR_NOPARAVIRT') },
                  { target: 'awaitingAck', actions: writeRequest('reboot') },
                ],
                SUSPEND: [
                  // HVM without PV drivers: xc_domain_shutdown(SHUTDOWN_suspend) directly
                  { guard: not('pvControl'), target: 'awaitingSuspend', actions: [requestOf('suspend'), 'domainSuspendDirect', step('shutdown: suspend')] },
                  { target: 'awaitingAck', actions: writeRequest('suspend') },
                ],
              },
            },
            awaitingAck: {
              on: {
                GUEST_ACK: [
                  { guard: 'requestIsSuspend', target: 'awaitingSuspend', actions: ['recordAck', step('control/shutdown: acknowledged')] },
                  {
                    target: 'idle',
                    actions: ['recordAck', step('control/shutdown: acknowledged'), { type: 'aoDone', params: ({ context }) => ({ op: aoOf(context), result: 'OK' as const }) }],
                  },
                ],
              },
              after: { LIBXL_ACK_TIMEOUT: { target: 'checkingAck' } },
            },
            checkingAck: {
              // lifecycle §6.4 suspend: on timeout, clear the node in a transaction, handling a
              // last-moment acknowledgement (case 42)
              entry: ['controlNodeTransaction', step('control/shutdown: timeout, transaction')],
              always: [
                { guard: and(['acked', 'requestIsSuspend']), target: 'awaitingSuspend', actions: step('control/shutdown: acknowledged') },
                {
                  guard: 'acked',
                  target: 'idle',
                  actions: [step('control/shutdown: acknowledged'), { type: 'aoDone', params: ({ context }) => ({ op: aoOf(context), result: 'OK' as const }) }],
                },
                // the guest never acknowledged: the ao fails, the domain keeps running
                { target: 'idle', actions: { type: 'aoDone', params: ({ context }) => ({ op: aoOf(context), result: 'ERROR_TIMEDOUT' as const }) } },
              ],
            },
            awaitingSuspend: {
              // libxl's @releaseDomain watch fires once when it is set up (xenstore watches do), so a
              // shutdown that came before the acknowledgement reached libxl is seen at once
              always: [
                { guard: 'shutdownReportedSuspend', target: 'idle', actions: [step('suspend: save device model and memory'), result('suspend', 'OK')] },
                { guard: 'shutdownReportedOther', target: 'idle', actions: result('suspend', 'ERROR_FAIL') },
              ],
              on: {
                DOMAIN_SHUTDOWN: [
                  { guard: 'shutdownIsSuspend', target: 'idle', actions: [step('suspend: save device model and memory'), result('suspend', 'OK')] },
                  // any other reason fails the suspend (case 41)
                  { target: 'idle', actions: result('suspend', 'ERROR_FAIL') },
                ],
              },
              // libxl gives the guest 60 s to suspend once it acknowledged (for example a vCPU still
              // waiting on a dead device model's ioreq holds its shutdown deferral: R5)
              after: { LIBXL_SUSPEND_WAIT_TIMEOUT: { target: 'idle', actions: [step('suspend: the guest did not suspend, timed out'), result('suspend', 'ERROR_GUEST_TIMEDOUT')] } },
            },
          },
        },
        watch: {
          initial: 'alive',
          states: {
            alive: {
              on: {
                DOMAIN_SHUTDOWN: { target: 'shutdown', actions: ['reportShutdown', raise({ type: 'ON_SHUTDOWN_ACTION' })] },
                // a resume of a domain that did not shut down: Xen refuses it, the watch stays as it is
                RESUME: { actions: ['domctlResume', step('resume')] },
              },
            },
            shutdown: {
              // DOMAIN_SHUTDOWN again (the watch fires more than once): not reported again (case 45)
              on: {
                // lifecycle §6.3 domain_resume: the domain runs again, and its next shutdown is news
                RESUME: { target: 'alive', actions: ['domctlResume', step('resume'), 'clearShutdown'] },
                ON_SHUTDOWN_ACTION: [
                  {
                    guard: { type: 'onShutdownIs', params: { action: 'soft-reset' } },
                    target: 'alive',
                    actions: ['domctlSoftReset', step('soft reset'), 'clearShutdown'],
                  },
                  { guard: { type: 'onShutdownIs', params: { action: 'preserve' } }, actions: step('preserve') },
                  { guard: { type: 'onShutdownIs', params: { action: 'none' } } },
                ],
              },
            },
          },
        },
      },
    },
    destroying: {
      description: 'libxl__destroy_domid (lifecycle §6.4 destroy), in its order.',
      entry: [step('pci: remove'), 'domctlPause', step('pause')],
      on: {
        DOMAIN_DEATH: { guard: not('deathReported'), actions: 'reportDeath' },
        DOMAIN_SHUTDOWN: { guard: not('shutdownReported'), actions: 'reportShutdown' },
      },
      initial: 'deviceModel',
      states: {
        deviceModel: {
          always: [
            // QEMU first, so no more emulation (§6.6)
            { guard: 'hasDeviceModel', target: 'deviceModelKilled', actions: ['killDeviceModel', step('device model: kill')] },
            { target: 'devicesChoice' },
          ],
        },
        deviceModelKilled: {
          // libxl_aoutils.c libxl__kill_xs_path: a device model that exited by itself is logged as an
          // error ("Device Model already exited"), and the destroy goes on (R13)
          always: [{ guard: 'dmExited', target: 'devicesChoice', actions: step('device model: already exited') }, { target: 'devicesChoice' }],
        },
        devicesChoice: {
          // a create that failed before devices were attached has none to remove
          always: [{ guard: not('devicesAttached'), target: 'xenstore', actions: step('devices: none attached') }, { target: 'devices' }],
        },
        devices: {
          entry: ['closeDevices', 'readBackend', step('devices: remove (be/state=Closing)')],
          always: { guard: 'backendGone', target: 'xenstore', actions: step('devices: backend gone, no wait') },
          on: { BACKEND_CLOSED: { target: 'xenstore', actions: step('devices: be/state=Closed') } },
          after: { LIBXL_DESTROY_TIMEOUT: { target: 'xenstore', actions: step('devices: timed out, forced') } },
        },
        xenstore: {
          entry: ['removeXenstorePaths', step('xenstore: remove /vm, /local/domain/N, /libxl/N')],
          always: 'domain',
        },
        domain: {
          entry: [
            'domainDestroy',
            step('xc_domain_destroy'),
            // the domain is gone: @releaseDomain fires and libxl reports DOMAIN_DEATH (once)
            'reportDeath',
            'quarantine',
            raise(({ context }) => ({ type: 'QUARANTINE_EXPIRED' as const, domid: context.domid! }), { delay: LIBXL_DOMID_REUSE_TIMEOUT_MS }),
          ],
          always: [
            { guard: { type: 'destroyCauseIs', params: { cause: 'createFailed' } }, target: '#toolstack.idle', actions: result('create', 'ERROR_FAIL') },
            // restart = destroy + create again with the same configuration (a new domid)
            {
              guard: { type: 'destroyCauseIs', params: { cause: 'restart' } },
              target: '#toolstack.creating',
              actions: [result('destroy', 'OK'), { type: 'allocateDomid', params: { domid: undefined } }, 'newDomain'],
            },
            { target: '#toolstack.idle', actions: result('destroy', 'OK') },
          ],
        },
      },
    },
  },
});
