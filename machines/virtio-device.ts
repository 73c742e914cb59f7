/**
 * `virtioDeviceMachine`: one VirtIO device's status (virtio-ioreq-lifecycle.md §1.1–§1.4) as the
 * front end (the driver's side of a VirtIO-Argo transport) or the back end (the device model in a
 * platform domain) sees it. The state is the status byte the core reports; the machine never keeps
 * its own idea of it. Each step event calls the core (`writeStatus`, `negotiate`, `setupQueues`) and
 * then `readStatus`; eventless transitions move to the state the status shows, so a write the
 * device refuses (FEATURES_OK read back clear, §1.2 step 6) or a back end that went away leaves the
 * machine where the status says.
 *
 * The default implementations are an abstract model of the device kept in context, so the machine
 * runs without a hypervisor and `xstate/graph` can walk it; `virtioDeviceMachineFor` in
 * `implementations/virtio-device-core.ts` wires it to a VirtIO-Argo transport.
 *
 * States (status value):
 *
 * | state          | status                                  |
 * |----------------|-----------------------------------------|
 * | `reset`        | 0                                       |
 * | `acknowledge`  | ACKNOWLEDGE                             |
 * | `driver`       | ACKNOWLEDGE DRIVER                      |
 * | `featuresOk`   | … FEATURES_OK                           |
 * | `driverOk`     | … DRIVER_OK: live                       |
 * | `failed`       | FAILED set (the driver gave up, §1.1)   |
 * | `needsReset`   | DEVICE_NEEDS_RESET set, FAILED clear    |
 *
 * Events:
 *
 * | event                          | does                                                                   |
 * |--------------------------------|------------------------------------------------------------------------|
 * | `INITIALISE`                   | the whole §1.2 sequence: RESET, then each step as the status allows it |
 * | `RESET`                        | writes 0 (§1.4)                                                        |
 * | `ACKNOWLEDGE` `DRIVER`         | adds the bit (§1.2 steps 2–3)                                          |
 * | `FEATURES_OK`                  | negotiates and sets FEATURES_OK; refused → FAILED (steps 4–6)          |
 * | `DRIVER_OK`                    | sets the queues up, then DRIVER_OK; a queue refused → FAILED (7–8)     |
 * | `FAIL`                         | sets FAILED                                                            |
 * | `STATUS {status}`              | the core reports a status (a back-end actor follows its device so)     |
 * | `BACKEND_GONE {errno}`         | a send failed hard (ECONNREFUSED, ESRCH, EACCES): DEVICE_NEEDS_RESET   |
 * | `BACKEND_UP {domid}`           | a new back-end domain (in driverOk, failed, needsReset): attach to it, then INITIALISE (recovery) |
 *
 * @example
 * ```ts
 * const device = createActor(virtioDeviceMachine, { input: { name: 'vda', role: 'frontend' } }).start();
 * device.send({ type: 'INITIALISE' });
 * device.getSnapshot().value;                          // 'driverOk'
 * device.send({ type: 'BACKEND_GONE', errno: 'ECONNREFUSED' });
 * device.getSnapshot().value;                          // 'needsReset'
 * device.send({ type: 'BACKEND_UP', domid: 3 });       // 'driverOk' again
 * ```
 */
import { and, assign, enqueueActions, not, setup, stateIn } from 'xstate';

/** Status bits (§1.1), repeated here so the definition imports only xstate. */
export const VIRTIO_STATUS = { ACKNOWLEDGE: 1, DRIVER: 2, DRIVER_OK: 4, FEATURES_OK: 8, NEEDS_RESET: 64, FAILED: 128 } as const;

/**
 * Which side of the transport the actor follows.
 *
 * @example
 * ```ts
 * const input: VirtioDeviceInput = { name: 'vda', role: 'backend' };
 * ```
 */
export interface VirtioDeviceInput {
  name: string;
  role: 'frontend' | 'backend';
  /** Abstract model only: the device refuses the feature subset (§1.2 step 6). */
  refuseFeatures?: boolean;
}

/**
 * What the actor knows: the status the core last reported and why the device last broke.
 *
 * @example
 * ```ts
 * const { status, errno, recoveries } = device.getSnapshot().context;
 * ```
 */
export interface VirtioDeviceContext extends VirtioDeviceInput {
  status: number;
  /** The errno of the last BACKEND_GONE, null after a successful re-initialisation. */
  errno: string | null;
  /** The back-end domain (abstract model: null until BACKEND_UP names one). */
  backendDomid: number | null;
  /** True while INITIALISE runs its steps. */
  initialising: boolean;
  /** Abstract model: whether a back end answers. */
  linkUp: boolean;
  /** Times the device came back to DRIVER_OK after needing a reset or failing. */
  recoveries: number;
  /** Whether the device was ever live before its current initialisation. */
  wasLive: boolean;
}

/**
 * Events of the device machine (see the table at the top of this file).
 *
 * @example
 * ```ts
 * const gone: VirtioDeviceEvent = { type: 'BACKEND_GONE', errno: 'ESRCH' };
 * ```
 */
export type VirtioDeviceEvent =
  | { type: 'INITIALISE' }
  | { type: 'RESET' }
  | { type: 'ACKNOWLEDGE' }
  | { type: 'DRIVER' }
  | { type: 'FEATURES_OK' }
  | { type: 'DRIVER_OK' }
  | { type: 'FAIL' }
  | { type: 'STATUS'; status: number }
  | { type: 'BACKEND_GONE'; errno: string }
  | { type: 'BACKEND_UP'; domid: number };

type StateName = 'reset' | 'acknowledge' | 'driver' | 'featuresOk' | 'driverOk' | 'failed' | 'needsReset';

/** The state a status byte shows (§1.3). */
export function virtioStateOf(status: number): StateName {
  const S = VIRTIO_STATUS;
  if (status & S.FAILED) return 'failed';
  if (status & S.NEEDS_RESET) return 'needsReset';
  if (status & S.DRIVER_OK) return 'driverOk';
  if (status & S.FEATURES_OK) return 'featuresOk';
  if (status & S.DRIVER) return 'driver';
  if (status & S.ACKNOWLEDGE) return 'acknowledge';
  return 'reset';
}

type Change = Partial<VirtioDeviceContext>;
const ALL: readonly StateName[] = ['reset', 'acknowledge', 'driver', 'featuresOk', 'driverOk', 'failed', 'needsReset'];

/**
 * Eventless transitions, at the root, to the state the reported status shows (one per state: a
 * report may jump, e.g. a back end that reset under us); never to the state the machine is in.
 */
const follow = ALL.map((target) => ({
  target: `.${target}`,
  guard: and([{ type: 'statusShows' as const, params: { state: target } }, not(stateIn(target))]),
}));

type StepEvent = 'ACKNOWLEDGE' | 'DRIVER' | 'FEATURES_OK' | 'DRIVER_OK';

/** Adds `add` to the status (0: writes 0, a reset), then reads it back. */
const write = (add: number) => ({ actions: [{ type: 'writeStatus', params: { add } }, 'readStatus'] as const });

/** While INITIALISE runs, a state's entry raises the next step. */
const next = (event: StepEvent) => ({ type: 'continueInitialising', params: { next: event } }) as const;

/** BACKEND_UP: attach to the new back end, reset and initialise again. */
const recover = {
  guard: 'isFrontend',
  actions: [
    { type: 'attachBackend', params: ({ event }: { event: { domid: number } }) => ({ domid: event.domid }) },
    'startInitialising',
    { type: 'writeStatus', params: { add: 0 } },
    'readStatus',
    next('ACKNOWLEDGE'),
  ],
} as const;

/** The abstract device: what a write of `value` leaves in the status (§1.3), given the link. */
function modelWrite(c: VirtioDeviceContext, value: number): Change {
  // unreachable: the transport keeps what the driver wrote (FAILED latches there) and reads DEVICE_NEEDS_RESET
  if (!c.linkUp) return { status: value | VIRTIO_STATUS.NEEDS_RESET };
  return { status: value };
}

/**
 * The VirtIO device machine. Without `.provide()` it runs its abstract model;
 * `virtioDeviceMachineFor(wire)` wires it to a VirtIO-Argo transport.
 *
 * @example
 * ```ts
 * const device = createActor(virtioDeviceMachine, { input: { name: 'vda', role: 'frontend' } }).start();
 * device.send({ type: 'INITIALISE' });
 * ```
 */
export const virtioDeviceMachine = setup({
  types: {
    context: {} as VirtioDeviceContext,
    events: {} as VirtioDeviceEvent,
    input: {} as VirtioDeviceInput,
  },
  actions: {
    writeStatus: assign(({ context }, params: { add: number }): Change => modelWrite(context, params.add === 0 ? 0 : context.status | params.add)),
    negotiate: assign(({ context }): Change =>
      context.refuseFeatures ? modelWrite(context, context.status) : modelWrite(context, context.status | VIRTIO_STATUS.FEATURES_OK),
    ),
    setupQueues: assign((): Change => ({})),
    /** The status as the core has it; the model's record is already current. */
    readStatus: assign((): Change => ({})),
    /** §1.2 step 6 / step 8: a step the device refused leaves the driver to set FAILED. */
    failIfRefused: assign(({ context }, params: { needs: number }): Change =>
      (context.status & params.needs) === 0 && (context.status & VIRTIO_STATUS.NEEDS_RESET) === 0 ? modelWrite(context, context.status | VIRTIO_STATUS.FAILED) : {},
    ),
    recordStatus: assign((_, params: { status: number }): Change => ({ status: params.status })),
    recordBackendGone: assign(({ context }, params: { errno: string }): Change => ({ errno: params.errno, linkUp: false, status: context.status | VIRTIO_STATUS.NEEDS_RESET })),
    attachBackend: assign((_, params: { domid: number }): Change => ({ backendDomid: params.domid, linkUp: true })),
    startInitialising: assign(({ context }): Change => ({ initialising: true, wasLive: context.wasLive || context.status !== 0 })),
    stopInitialising: assign((): Change => ({ initialising: false })),
    continueInitialising: enqueueActions(({ context, enqueue }, params: { next: StepEvent }) => {
      if (context.initialising) enqueue.raise({ type: params.next });
    }),
    recordLive: assign(({ context }): Change => ({ initialising: false, errno: null, recoveries: context.wasLive ? context.recoveries + 1 : context.recoveries, wasLive: true })),
  },
  guards: {
    statusShows: ({ context }, params: { state: StateName }) => virtioStateOf(context.status) === params.state,
    isFrontend: ({ context }) => context.role === 'frontend',
  },
}).createMachine({
  id: 'virtioDevice',
  context: ({ input }) => ({
    ...input,
    status: 0,
    errno: null,
    backendDomid: null,
    initialising: false,
    linkUp: true,
    recoveries: 0,
    wasLive: false,
  }),
  initial: 'reset',
  always: follow,
  on: {
    INITIALISE: { guard: 'isFrontend', actions: ['startInitialising', { type: 'writeStatus', params: { add: 0 } }, 'readStatus', next('ACKNOWLEDGE')] },
    RESET: write(0),
    FAIL: write(VIRTIO_STATUS.FAILED),
    STATUS: { actions: { type: 'recordStatus', params: ({ event }) => ({ status: event.status }) } },
    BACKEND_GONE: { guard: 'isFrontend', actions: [{ type: 'recordBackendGone', params: ({ event }) => ({ errno: event.errno }) }, 'readStatus'] },
  },
  states: {
    reset: {
      description: 'Status 0: the device does nothing until the driver initialises it (§1.4).',
      entry: next('ACKNOWLEDGE'),
      on: { ACKNOWLEDGE: write(VIRTIO_STATUS.ACKNOWLEDGE) },
    },
    acknowledge: {
      entry: next('DRIVER'),
      on: { DRIVER: write(VIRTIO_STATUS.DRIVER) },
    },
    driver: {
      entry: next('FEATURES_OK'),
      on: { FEATURES_OK: { actions: ['negotiate', 'readStatus', { type: 'failIfRefused', params: { needs: VIRTIO_STATUS.FEATURES_OK } }, 'readStatus'] } },
    },
    featuresOk: {
      entry: next('DRIVER_OK'),
      on: { DRIVER_OK: { actions: ['setupQueues', { type: 'writeStatus', params: { add: VIRTIO_STATUS.DRIVER_OK } }, 'readStatus', { type: 'failIfRefused', params: { needs: VIRTIO_STATUS.DRIVER_OK } }, 'readStatus'] } },
    },
    driverOk: {
      description: 'Live: the device serves the queues (§1.2 step 8).',
      entry: 'recordLive',
      // a back end replaced before this front end noticed the old one gone (its next send would
      // fail): the new back end's device starts at status 0, so reset and initialise again
      on: { BACKEND_UP: recover },
    },
    failed: {
      description: 'FAILED latched until a reset (§1.1, case 20).',
      entry: 'stopInitialising',
      on: { BACKEND_UP: recover },
    },
    needsReset: {
      description: 'DEVICE_NEEDS_RESET: in-flight requests may or may not complete; recovery is by reset (§1.1).',
      entry: 'stopInitialising',
      on: { BACKEND_UP: recover },
    },
  },
});
