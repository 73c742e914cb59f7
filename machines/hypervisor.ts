/**
 * `hypervisorMachine`: the host as the actor shell sees it — booted with its options, then taking the
 * global domain operations of the toolstack. The hypervisor core keeps the truth (which ids resolve,
 * alive or dying); the machine calls it through named actions and follows what it reports.
 *
 * Every operation runs two actions: the call (`createDomain`, `killDomain`, …), which records whether
 * the core refused it, and `readDomains`, which records the domain list (`hv.domainList` with each
 * `hv.life`) the core then reports. A refused call (a reap of a domain that is not dying, a create of
 * an id in use) therefore leaves the context as the core says, with the refusal in `lastRefused`.
 *
 * The default implementations are an abstract model of the core kept in context, booted with Xen's
 * default options (argo off, mac-permissive off, XSM dummy): the machine runs without a hypervisor and
 * `xstate/graph` can walk it. `hypervisorMachineFor(hv)` in `implementations/hypervisor-core.ts`
 * replaces them with calls on a Hypervisor.
 *
 * States:
 *
 * | state      | the core reports                                                        |
 * |------------|-------------------------------------------------------------------------|
 * | `booting`  | nothing read yet (entry: `readBootOptions`, `readDomains`)              |
 * | `running`  | the boot options are recorded: the host takes operations                |
 * | `halting`  | HOST_SHUTDOWN destroyed the domains; left once the core reports none    |
 * | `shutdown` | the core reports no domain (final)                                      |
 *
 * Events (all accepted in `running`; each call is followed by `readDomains`):
 *
 * | event                           | calls                                         | refused (model) when            |
 * |---------------------------------|-----------------------------------------------|---------------------------------|
 * | `CREATE_DOMAIN {domid, options}`| `createDomain` (domain_create)                | the id resolves or is reserved  |
 * | `KILL_DOMAIN {domid}`           | `killDomain` (domain_kill: Argo teardown)     | the id does not resolve         |
 * | `REAP_DOMAIN {domid}`           | `reapDomain` (the id stops resolving)         | the domain is not dying         |
 * | `SOFT_RESET_DOMAIN {domid}`     | `softResetDomain` (argo.md §8.3)              | the domain is not alive         |
 * | `HOST_SHUTDOWN`                 | `destroyAllDomains`, then → halting           | —                               |
 * | `VIRQ_DOM_EXC`                  | — (a domain's state changed: re-read the list) | —                              |
 *
 * @example
 * ```ts
 * const host = createActor(hypervisorMachine).start();        // running, Xen's default boot options
 * host.send({ type: 'CREATE_DOMAIN', domid: 1, options: {} });
 * host.send({ type: 'REAP_DOMAIN', domid: 1 });              // refused: not dying
 * host.getSnapshot().context.lastRefused;                    // { op: 'reap', domid: 1 }
 * host.send({ type: 'HOST_SHUTDOWN' });                      // shutdown
 * ```
 */
import { assertEvent, assign, setup } from 'xstate';

/**
 * The host's boot options as the core reports them: Xen's `argo=` option and the XSM module.
 *
 * @example
 * ```ts
 * const boot: HostBootOptions = { argoEnabled: true, macPermissive: false, xsmMode: 'flask' };
 * ```
 */
export interface HostBootOptions {
  argoEnabled: boolean;
  macPermissive: boolean;
  xsmMode: 'dummy' | 'silo' | 'flask';
}

/**
 * One domain whose id resolves, with its life as the core reports it.
 *
 * @example
 * ```ts
 * const d: HostDomain = { domid: 1, life: 'dying' };
 * ```
 */
export interface HostDomain {
  domid: number;
  life: 'alive' | 'dying';
}

/**
 * The operations of the host machine, as named in `lastRefused`.
 *
 * @example
 * ```ts
 * const op: HostOperation = 'reap';
 * ```
 */
export type HostOperation = 'create' | 'kill' | 'reap' | 'softReset';

/**
 * Options of a new domain (the core's `createDomain` options without the id).
 *
 * @example
 * ```ts
 * const options: HostDomainOptions = { vcpus: 2, memoryBytes: 8 << 20 };
 * ```
 */
export interface HostDomainOptions {
  memoryBytes?: number;
  label?: string;
  control?: boolean;
  vcpus?: number;
  compat?: boolean;
}

/**
 * The host machine's context: the boot options (null while booting), the domains the core reports
 * (ascending id, as `hv.domainList`), and the last operation the core refused (null after one it took).
 *
 * @example
 * ```ts
 * const { boot, domains, lastRefused } = host.getSnapshot().context;
 * ```
 */
export interface HypervisorContext {
  boot: HostBootOptions | null;
  domains: HostDomain[];
  lastRefused: { op: HostOperation; domid: number } | null;
}

/**
 * Events of the host machine (see the table at the top of this file).
 *
 * @example
 * ```ts
 * const event: HypervisorEvent = { type: 'KILL_DOMAIN', domid: 3 };
 * ```
 */
export type HypervisorEvent =
  | { type: 'CREATE_DOMAIN'; domid: number; options: HostDomainOptions }
  | { type: 'KILL_DOMAIN'; domid: number }
  | { type: 'REAP_DOMAIN'; domid: number }
  | { type: 'SOFT_RESET_DOMAIN'; domid: number }
  | { type: 'HOST_SHUTDOWN' }
  /** VIRQ_DOM_EXC: a domain changed state by some other path (its own shutdown, a toolstack's domctl). */
  | { type: 'VIRQ_DOM_EXC' };

/** public/xen.h DOMID_FIRST_RESERVED: ids from here on are not domains. */
const DOMID_FIRST_RESERVED = 0x7ff0;

/** Xen's defaults: `argo=` absent (disabled, not permissive), XSM dummy. */
const XEN_DEFAULT_BOOT: HostBootOptions = { argoEnabled: false, macPermissive: false, xsmMode: 'dummy' };

type Change = Partial<HypervisorContext>;

const lifeOf = (c: HypervisorContext, domid: number) => c.domains.find((d) => d.domid === domid)?.life ?? 'gone';
const refused = (op: HostOperation, domid: number): Change => ({ lastRefused: { op, domid } });
const withLife = (c: HypervisorContext, domid: number, life: HostDomain['life'] | 'gone'): HostDomain[] => {
  const others = c.domains.filter((d) => d.domid !== domid);
  return (life === 'gone' ? others : [...others, { domid, life }]).sort((a, b) => a.domid - b.domid);
};

/** The abstract model of the core's domain table. The graph tests check the real core agrees. */
const model = {
  create: (c: HypervisorContext, domid: number): Change =>
    !Number.isInteger(domid) || domid < 0 || domid >= DOMID_FIRST_RESERVED || lifeOf(c, domid) !== 'gone'
      ? refused('create', domid)
      : { domains: withLife(c, domid, 'alive'), lastRefused: null },
  // killDomain is idempotent: a dying domain stays dying
  kill: (c: HypervisorContext, domid: number): Change =>
    lifeOf(c, domid) === 'gone' ? refused('kill', domid) : { domains: withLife(c, domid, 'dying'), lastRefused: null },
  reap: (c: HypervisorContext, domid: number): Change =>
    lifeOf(c, domid) === 'dying' ? { domains: withLife(c, domid, 'gone'), lastRefused: null } : refused('reap', domid),
  softReset: (c: HypervisorContext, domid: number): Change =>
    lifeOf(c, domid) === 'alive' ? { lastRefused: null } : refused('softReset', domid),
};

const domidParams = ({ event }: { event: HypervisorEvent }) => {
  assertEvent(event, ['CREATE_DOMAIN', 'KILL_DOMAIN', 'REAP_DOMAIN', 'SOFT_RESET_DOMAIN']);
  return { domid: event.domid };
};
const createParams = ({ event }: { event: HypervisorEvent }) => {
  assertEvent(event, 'CREATE_DOMAIN');
  return { domid: event.domid, options: event.options };
};
const call = <A extends 'killDomain' | 'reapDomain' | 'softResetDomain'>(type: A) =>
  ({ actions: [{ type, params: domidParams }, 'readDomains'] }) as const;

/**
 * The host machine. Without `.provide()` it runs its abstract model of the core;
 * `hypervisorMachineFor(hv)` wires it to a Hypervisor.
 *
 * @example
 * ```ts
 * const hv = createHypervisor({ argo: { enabled: true } });
 * const host = createActor(hypervisorMachineFor(hv)).start();
 * host.getSnapshot().context.boot?.argoEnabled;              // true
 * host.send({ type: 'CREATE_DOMAIN', domid: 1, options: {} });
 * host.send({ type: 'KILL_DOMAIN', domid: 1 });
 * host.getSnapshot().context.domains;                        // [{ domid: 1, life: 'dying' }]
 * ```
 */
export const hypervisorMachine = setup({
  types: {
    context: {} as HypervisorContext,
    events: {} as HypervisorEvent,
  },
  actions: {
    /** The boot options the core runs with; the model boots with Xen's defaults. */
    readBootOptions: assign(() => ({ boot: XEN_DEFAULT_BOOT })),
    /** The domain list the core reports; the model's list is already current. */
    readDomains: assign(() => ({})),
    createDomain: assign(({ context }, params: { domid: number; options: HostDomainOptions }) => model.create(context, params.domid)),
    killDomain: assign(({ context }, params: { domid: number }) => model.kill(context, params.domid)),
    reapDomain: assign(({ context }, params: { domid: number }) => model.reap(context, params.domid)),
    softResetDomain: assign(({ context }, params: { domid: number }) => model.softReset(context, params.domid)),
    /** Every domain destroyed: killed (if alive), then reaped. */
    destroyAllDomains: assign(() => ({ domains: [], lastRefused: null })),
  },
  guards: {
    booted: ({ context }) => context.boot !== null,
    noDomains: ({ context }) => context.domains.length === 0,
  },
}).createMachine({
  id: 'hypervisor',
  context: { boot: null, domains: [], lastRefused: null },
  initial: 'booting',
  states: {
    booting: {
      description: 'The host is coming up: its boot options and domains are read from the core.',
      entry: ['readBootOptions', 'readDomains'],
      always: { target: 'running', guard: 'booted' },
    },
    running: {
      description: 'Booted: the toolstack creates, kills, reaps and soft-resets domains.',
      on: {
        CREATE_DOMAIN: { actions: [{ type: 'createDomain', params: createParams }, 'readDomains'] },
        KILL_DOMAIN: call('killDomain'),
        REAP_DOMAIN: call('reapDomain'),
        SOFT_RESET_DOMAIN: call('softResetDomain'),
        HOST_SHUTDOWN: { target: 'halting', actions: ['destroyAllDomains', 'readDomains'] },
        VIRQ_DOM_EXC: { actions: 'readDomains' },
      },
    },
    halting: {
      description: 'HOST_SHUTDOWN destroyed every domain; the host stops once the core reports none.',
      always: { target: 'shutdown', guard: 'noDomains' },
    },
    shutdown: {
      description: 'The host is down: no domain resolves.',
      type: 'final',
    },
  },
});
