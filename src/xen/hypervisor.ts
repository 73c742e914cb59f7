import { NO_BUGS, type HistoricalBugs } from './historical-bugs.js';
import { parseArgoBootOption } from '../argo/boot-option.js';
import { XEN_ARGO_OP_notify } from '../argo/constants.js';
import { decodeArgoCall, type DecodedArgoCall } from '../argo/decode.js';
import { doArgoOp } from '../argo/do-argo-op.js';
import { XEN_QUIRKS, hasArgo, type ArgoHost, type ArgoOptions, type ArgoQuirks } from '../argo/host.js';
import { describeArgoDomain, ringOccupancy, type ArgoDomainState } from '../argo/introspect.js';
import { ArgoTables, GFN_ARENA_PAGES_DEFAULT, type ArgoTableBuffers } from '../argo/tables.js';
import { argoInitLocked, argoTeardownLocked, underArgoExclusive } from '../argo/domain-lifecycle.js';
import { D, DOMAIN_ALIVE, DOMAIN_DYING, DomainTable, MAX_DOMAINS_DEFAULT, VCPUS_MAX, type DomainTableBuffers } from '../domain/domain-table.js';
import { EventChannels, type VirqListener } from '../domain/event-channels.js';
import {
  domainCreatedPaused,
  domainInfo,
  domainMarkDying,
  domainPause,
  domainResume,
  domainShutdown,
  domainSoftReset,
  domainUnpause,
  notifyDomainException,
  SHUTDOWN_COMPLETE,
  SHUTDOWN_crash,
  SHUTDOWN_NONE,
  vcpuEndShutdownDeferral,
  vcpuShutdownInfo,
  vcpuStartShutdownDeferral,
  XEN_DOMINF_paused,
  type DomainInfo,
  type VcpuShutdownInfo,
} from '../domain/lifecycle.js';
import { GuestMemory } from '../memory/guest-memory.js';
import { FRESH_SHARED_BUFFERS, type SharedBufferSource } from '../memory/shared-buffers.js';
import { createDummyXsm } from '../xsm/dummy.js';
import { createFlaskXsm } from '../xsm/flask.js';
import { DEFAULT_FLASK_POLICY, parseFlaskPolicy } from '../xsm/flask-policy.js';
import { LabelRegistry, type LabelRegistryBuffers } from '../xsm/label-registry.js';
import { createSiloXsm } from '../xsm/silo.js';
import type { Xsm, XsmConfig } from '../xsm/xsm.js';
import { DOMID_FIRST_RESERVED } from './domid.js';
import { NR_VIRQS } from './virq.js';
import { ERRNO, errnoName } from './errno.js';
import { EVTCHN_PORTS } from '../domain/event-channels.js';

/** public/hvm/params.h: the guest's xenstore page (a PFN) and its port to xenstored. */
export const HVM_PARAM_STORE_PFN = 1;
export const HVM_PARAM_STORE_EVTCHN = 2;

/** Options of `createHypervisor` (hypercall-api.md "Creating a host"). */
export interface HypervisorOptions {
  /** Kconfig: `argo: false` builds Xen without CONFIG_ARGO (every argo_op is ENOSYS). */
  build?: { argo?: boolean };
  /** Xen's `argo=` boot option, as an object or as the command-line text (`'argo=1,mac-permissive=1'`). */
  argo?: { enabled?: boolean; macPermissive?: boolean } | string;
  /** XSM module: dummy (default), silo or flask with its policy text. */
  xsm?: XsmConfig;
  /** argo.md §9 quirks; each defaults to Xen's actual behaviour (true). */
  quirks?: Partial<ArgoQuirks>;
  /** Historical bugs to bring back (src/xen/historical-bugs.ts); all off by default. */
  bugs?: Partial<HistoricalBugs>;
  /** OpenXT patches that are not upstream. */
  openxt?: { viptables?: boolean };
  /** Domain slots in the shared tables (default 256). */
  maxDomains?: number;
  /** gfn arena size: pages of all mapped rings together (default 1 Mi). */
  gfnArenaPages?: number;
}

/** The shared buffers behind a hypervisor: structured-cloneable, for `attachHypervisor` in another thread. */
export interface HypervisorBuffers {
  domains: DomainTableBuffers;
  argo: ArgoTableBuffers;
  labels: LabelRegistryBuffers;
  /** Guest memory by domain-table slot (undefined where no domain is). */
  memories: Array<SharedArrayBuffer | undefined>;
}

/** What another thread needs to run this hypervisor's code against the same state. */
export interface SharedHypervisor {
  options: HypervisorOptions;
  buffers: HypervisorBuffers;
}

/** Options of `createDomain`. */
export interface CreateDomainOptions {
  /** Domain id; defaults to the lowest free id. */
  domid?: number;
  /** Guest RAM in bytes, a multiple of 4096 (default 4 MiB). */
  memoryBytes?: number;
  /** XSM type; default `domU_t`, or `dom0_t` for a control domain. */
  label?: string;
  /** Marks the control domain; domid 0 is control by default. */
  control?: boolean;
  /** vCPUs (default 1). */
  vcpus?: number;
  /** A 32-bit ("compat") guest: sendv's iovs carry 4-byte handles (`COMPAT_IOV`). Default false. */
  compat?: boolean;
}

/** A domain as the host sees it. Its state lives in the shared tables; this is a handle. */
export interface Domain {
  readonly domid: number;
  readonly memory: GuestMemory;
  readonly label: string;
  readonly control: boolean;
  readonly vcpus: number;
  readonly compat: boolean;
}

/** One Argo hypercall as `onHypercall` reports it. */
export interface HypercallRecord {
  caller: number;
  cmd: number;
  args: DecodedArgoCall;
  /** What argoOp returned: 0, a byte count or -errno. */
  result: number;
  /** The errno's name when the call failed. */
  errno?: string;
}

/** A domain state change as `onLifecycle` reports it (virtio-ioreq-lifecycle.md §6). */
export interface LifecycleChange {
  domid: number;
  change: 'created' | 'paused' | 'unpaused' | 'shutting_down' | 'shutdown' | 'resumed' | 'soft_reset' | 'dying' | 'dead';
  /** The shutdown reason (SHUTDOWN_*), for shutting_down and shutdown. */
  reason?: number;
}

/** What became of a domain: alive, dying (resolves, no Argo), or gone. */
export type DomainLife = 'alive' | 'dying' | 'gone';


/**
 * The modelled Xen host: the Argo hypercall with Xen's exact contract (hypercall-api.md), domains
 * with guest memory, VIRQ binding, and the teardown paths. All hypervisor state lives in
 * SharedArrayBuffers (`buffers`), so another thread can run the same code against it.
 *
 * @example
 * ```ts
 * const hv = createHypervisor({ argo: { enabled: true } });
 * const a = hv.createDomain({ domid: 1 });
 * hv.argoOp(1, XEN_ARGO_OP_notify, 0, 0, 0, 0); // 0
 * ```
 */
export class Hypervisor {
  readonly domainTable: DomainTable;
  readonly argoTables: ArgoTables;
  readonly events: EventChannels;
  readonly labels: LabelRegistry;
  readonly xsm: Xsm;
  readonly argoOptions: Readonly<ArgoOptions>;
  readonly quirks: Readonly<ArgoQuirks>;
  /** Boot-option parse errors (Xen reports and carries on). */
  readonly bootWarnings: readonly string[];
  private readonly host: ArgoHost;
  private readonly memories: Array<GuestMemory | undefined> = [];
  private readonly memoryGenerations: number[] = [];
  private readonly handles: Array<{ generation: number; handle: Domain } | undefined> = [];
  private readonly options: HypervisorOptions;
  private readonly hypercallListeners = new Set<(call: HypercallRecord) => void>();
  private readonly lifecycleListeners = new Set<(change: LifecycleChange) => void>();
  /** Where new tables and guest memories come from. */
  private readonly source: SharedBufferSource;

  /** A new host (its buffers from `source`, default fresh ones), or a view of another thread's (`attach`). */
  constructor(options: HypervisorOptions = {}, attach?: HypervisorBuffers, source: SharedBufferSource = FRESH_SHARED_BUFFERS) {
    const maxDomains = options.maxDomains ?? MAX_DOMAINS_DEFAULT;
    if (!Number.isInteger(maxDomains) || maxDomains < 1 || maxDomains > DOMID_FIRST_RESERVED) {
      throw new RangeError(`maxDomains ${maxDomains} must be an integer in [1, ${DOMID_FIRST_RESERVED}]`);
    }
    this.options = options;
    this.source = source;
    this.domainTable = new DomainTable(attach?.domains ?? maxDomains, source);
    this.argoTables = new ArgoTables(attach?.argo ?? { maxDomains, gfnArenaPages: options.gfnArenaPages ?? GFN_ARENA_PAGES_DEFAULT, source });
    attach?.memories.forEach((buffer, slot) => {
      if (buffer) this.setMemory(slot, new GuestMemory(buffer));
    });
    this.events = new EventChannels(this.domainTable);
    const boot =
      typeof options.argo === 'string'
        ? parseArgoBootOption(options.argo)
        : { enabled: options.argo?.enabled ?? false, macPermissive: options.argo?.macPermissive ?? false, errors: [] };
    this.bootWarnings = boot.errors;
    this.argoOptions = Object.freeze({
      built: options.build?.argo ?? true,
      enabled: boot.enabled,
      macPermissive: boot.macPermissive,
      viptables: options.openxt?.viptables ?? false,
    });
    this.quirks = Object.freeze({ ...XEN_QUIRKS, ...options.quirks });
    const { xsm, labels } = buildXsm(options.xsm ?? { mode: 'dummy' }, this.domainTable, attach?.labels, source);
    this.xsm = xsm;
    this.labels = labels;
    this.host = {
      tables: this.argoTables,
      domains: this.domainTable,
      memories: this.memories,
      memoryGenerations: this.memoryGenerations,
      xsm,
      events: this.events,
      options: this.argoOptions,
      quirks: this.quirks,
      bugs: Object.freeze({ ...NO_BUGS, ...options.bugs }),
    };
  }

  /**
   * `do_argo_op(cmd, arg1, arg2, arg3, arg4)` executed by domain `callerDomid`: arg1/arg2 are gpas
   * in the caller's memory (0 is NULL), arg3/arg4 unsigned integers. Returns 0, a byte count or
   * -errno; never throws for guest input. A caller that does not resolve gets -ESRCH.
   */
  argoOp(callerDomid: number, cmd: number, arg1: number, arg2: number, arg3: number, arg4: number): number {
    const cs = this.domainTable.slotOf(callerDomid);
    if (cs < 0) return -ERRNO.ESRCH;
    if (this.hypercallListeners.size === 0) return doArgoOp(this.host, cs, callerDomid, cmd, arg1, arg2, arg3, arg4);
    return this.tracedArgoOp(cs, callerDomid, cmd, arg1, arg2, arg3, arg4);
  }

  /**
   * Listens to every Argo hypercall made on this thread: caller, op, arguments decoded from guest
   * memory (before the call; notify's flags after it) and result. Costs nothing while no one listens.
   */
  onHypercall(listener: (call: HypercallRecord) => void): () => void {
    this.hypercallListeners.add(listener);
    return () => this.hypercallListeners.delete(listener);
  }

  private tracedArgoOp(cs: number, caller: number, cmd: number, a1: number, a2: number, a3: number, a4: number): number {
    const mem = this.memories[cs];
    const compat = this.domainTable.get(cs, D.COMPAT) !== 0;
    const before = mem ? decodeArgoCall(mem, cmd, a1, a2, a3, a4, { compat }) : { op: 'unknown' as const, cmd };
    const result = doArgoOp(this.host, cs, caller, cmd, a1, a2, a3, a4);
    const args = mem && cmd === XEN_ARGO_OP_notify && result === 0 ? decodeArgoCall(mem, cmd, a1, a2, a3, a4, { after: true }) : before;
    const record: HypercallRecord = { caller, cmd, args, result, errno: result < 0 ? (errnoName(result) ?? `E${-result}`) : undefined };
    for (const listener of this.hypercallListeners) listener(record);
    return result;
  }

  /**
   * Creates a domain, paused as `domain_create` leaves it (lifecycle §6.3; `domctl.unpause` lets it
   * run), with Argo state per `argo_init` (argo.md §8.1). Throws on bad options or a domid in use.
   */
  createDomain(options: CreateDomainOptions = {}): Domain {
    const domid = options.domid ?? this.lowestFreeDomid();
    if (!Number.isInteger(domid) || domid < 0 || domid >= DOMID_FIRST_RESERVED) {
      throw new RangeError(`domid ${domid} must be an integer in [0, 0x${DOMID_FIRST_RESERVED.toString(16)})`);
    }
    if (this.domainTable.slotOf(domid) >= 0) throw new Error(`domid ${domid} is already in use`);
    const vcpus = options.vcpus ?? 1;
    if (!Number.isInteger(vcpus) || vcpus < 1 || vcpus > VCPUS_MAX) throw new RangeError(`vcpus ${vcpus} must be in [1, ${VCPUS_MAX}]`);
    const control = options.control ?? domid === 0;
    const label = options.label ?? (control ? 'dom0_t' : 'domU_t');
    if (typeof label !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(label)) throw new Error(`label "${label}" is not a valid XSM type name`);
    const memory = new GuestMemory(options.memoryBytes ?? 4 << 20, this.source);
    const t = this.domainTable;
    const slot = t.claim(domid);
    t.set(slot, D.CONTROL, control ? 1 : 0);
    t.set(slot, D.SID, this.labels.sidOf(label));
    t.set(slot, D.VCPUS, vcpus);
    t.set(slot, D.MEMORY_PAGES, memory.pages);
    t.set(slot, D.COMPAT, options.compat ? 1 : 0);
    this.setMemory(slot, memory);
    domainCreatedPaused(t, slot); // a new domain exists paused (lifecycle §6.3)
    underArgoExclusive(this.host, () => {
      argoInitLocked(this.host, slot); // argo.md §8.1, pointer published under W(L1)
      t.publish(slot);
    });
    this.emitLifecycle({ domid, change: 'created' });
    return this.handleFor(slot)!;
  }

  /** Listens to every domain state change made on this thread; returns the unsubscribe function. */
  onLifecycle(listener: (change: LifecycleChange) => void): () => void {
    this.lifecycleListeners.add(listener);
    return () => this.lifecycleListeners.delete(listener);
  }

  private emitLifecycle(change: LifecycleChange): void {
    for (const listener of this.lifecycleListeners) listener(change);
  }

  /** Runs a lifecycle operation and reports the state changes it made (by comparing domain info). */
  private observed<T>(domid: number, op: () => T): T {
    if (this.lifecycleListeners.size === 0) return op();
    const slot = this.slot(domid);
    const before = domainInfo(this.domainTable, slot);
    const result = op();
    if (this.domainTable.slotOf(domid) !== slot) return result;
    const after = domainInfo(this.domainTable, slot);
    const paused = (i: DomainInfo) => (i.flags & XEN_DOMINF_paused) !== 0;
    if (!before.dying && after.dying) this.emitLifecycle({ domid, change: 'dying' });
    if (!paused(before) && paused(after) && !after.dying) this.emitLifecycle({ domid, change: 'paused' });
    if (paused(before) && !paused(after)) this.emitLifecycle({ domid, change: 'unpaused' });
    if (before.shutdownState === SHUTDOWN_NONE && after.shutdownState !== SHUTDOWN_NONE) {
      this.emitLifecycle({ domid, change: 'shutting_down', reason: after.shutdownCode });
    }
    if (before.shutdownState !== SHUTDOWN_COMPLETE && after.shutdownState === SHUTDOWN_COMPLETE) {
      this.emitLifecycle({ domid, change: 'shutdown', reason: after.shutdownCode });
    }
    if (before.shutdownState !== SHUTDOWN_NONE && after.shutdownState === SHUTDOWN_NONE) this.emitLifecycle({ domid, change: 'resumed' });
    return result;
  }

  /** The domain with this id, while it resolves (alive or dying) and its memory is attached here. */
  domain(domid: number): Domain | undefined {
    const slot = this.domainTable.slotOf(domid);
    return slot >= 0 ? this.handleFor(slot) : undefined;
  }

  /** Every domain that resolves (and whose memory is attached here), in id order. */
  domainList(): Domain[] {
    return this.domainTable.domids().flatMap((id) => this.domain(id) ?? []);
  }

  /**
   * Attaches the guest memory of a domain created by another thread's view of this hypervisor, so
   * this thread can run hypercalls that touch it.
   */
  attachMemory(domid: number, buffer: SharedArrayBuffer): void {
    const slot = this.slot(domid);
    const memory = new GuestMemory(buffer);
    if (memory.pages !== this.domainTable.get(slot, D.MEMORY_PAGES)) {
      throw new RangeError(`attachMemory(${domid}): ${memory.pages} pages, but the domain has ${this.domainTable.get(slot, D.MEMORY_PAGES)}`);
    }
    this.setMemory(slot, memory);
  }

  /** What `attachHypervisor` needs in another thread: the options and every shared buffer. */
  share(): SharedHypervisor {
    return { options: this.options, buffers: this.buffers };
  }

  private setMemory(slot: number, memory: GuestMemory): void {
    this.memories[slot] = memory;
    this.memoryGenerations[slot] = this.domainTable.get(slot, D.GENERATION);
  }

  /** The handle of the domain in `slot`, rebuilt when the slot's generation changes. */
  private handleFor(slot: number): Domain | undefined {
    const t = this.domainTable;
    const generation = t.get(slot, D.GENERATION);
    const cached = this.handles[slot];
    if (cached && cached.generation === generation) return cached.handle;
    const memory = this.memories[slot];
    if (!memory || this.memoryGenerations[slot] !== generation) return undefined;
    const handle: Domain = Object.freeze({
      domid: t.get(slot, D.DOMID),
      memory,
      label: this.labels.labelOf(t.get(slot, D.SID)),
      control: t.get(slot, D.CONTROL) !== 0,
      vcpus: t.get(slot, D.VCPUS),
      compat: t.get(slot, D.COMPAT) !== 0,
    });
    this.handles[slot] = { generation, handle };
    return handle;
  }

  /** Alive, dying or gone. */
  life(domid: number): DomainLife {
    const slot = this.domainTable.slotOf(domid);
    if (slot < 0) return 'gone';
    return this.domainTable.get(slot, D.STATE) === DOMAIN_DYING ? 'dying' : 'alive';
  }

  /** True when the domain has Argo state (`d->argo`). */
  hasArgo(domid: number): boolean {
    const slot = this.domainTable.slotOf(domid);
    return slot >= 0 && hasArgo(this.host, slot);
  }

  /** EVTCHNOP_bind_virq for the domain: 0, -EINVAL, -ENOENT (no such vCPU) or -EEXIST. */
  bindVirq(domid: number, virq: number, vcpu: number): number {
    return this.events.bindVirq(this.slot(domid), virq, vcpu);
  }

  /** The event-channel pending bit of a bound VIRQ. */
  virqPending(domid: number, virq: number): boolean {
    return this.events.pending(this.slot(domid), virq);
  }

  /**
   * Blocks this thread until the VIRQ is pending (set from any thread) or `timeoutMs` passes; true
   * when pending. For worker threads; the main thread of a program should wait with `onVirq`.
   */
  waitVirqSync(domid: number, virq: number, timeoutMs: number): boolean {
    return this.events.waitPendingSync(this.slot(domid), virq, timeoutMs);
  }

  /** Clears the pending bit (the guest's handler acknowledging it). */
  clearVirq(domid: number, virq: number): void {
    this.events.clear(this.slot(domid), virq);
  }

  /** EVTCHNOP_alloc_unbound in `domid` for `remoteDomid`: the port, -ENOSPC or -ESRCH (no such domain). */
  evtchnAllocUnbound(domid: number, remoteDomid: number): number {
    const slot = this.domainTable.slotOf(domid);
    return slot < 0 ? -ERRNO.ESRCH : this.events.allocUnbound(slot, remoteDomid);
  }

  /** EVTCHNOP_bind_interdomain by `domid` to `remotePort` of `remoteDomid`: the local port, -EINVAL, -ENOSPC or -ESRCH. */
  evtchnBindInterdomain(domid: number, remoteDomid: number, remotePort: number): number {
    const slot = this.domainTable.slotOf(domid);
    const remote = this.domainTable.slotOf(remoteDomid);
    return slot < 0 || remote < 0 ? -ERRNO.ESRCH : this.events.bindInterdomain(slot, remote, remotePort);
  }

  /** EVTCHNOP_send by `domid` on `port`: 0 or -EINVAL (-ESRCH: no such domain). */
  evtchnSend(domid: number, port: number): number {
    const slot = this.domainTable.slotOf(domid);
    return slot < 0 ? -ERRNO.ESRCH : this.events.sendPort(slot, port);
  }

  /** EVTCHNOP_close by `domid` of `port`: 0 or -EINVAL (-ESRCH: no such domain). */
  evtchnClose(domid: number, port: number): number {
    const slot = this.domainTable.slotOf(domid);
    return slot < 0 ? -ERRNO.ESRCH : this.events.closePort(slot, port);
  }

  /** Takes the pending bits of `domid`'s interdomain ports (clearing them): the handler's acknowledgement. 0 for no such domain. */
  evtchnTakePending(domid: number): number {
    const slot = this.domainTable.slotOf(domid);
    return slot < 0 ? 0 : this.events.clearPorts(slot);
  }

  /**
   * HVMOP_set_param of HVM_PARAM_STORE_PFN or HVM_PARAM_STORE_EVTCHN (the only two this model keeps,
   * in the shared domain table): 0, -ESRCH (no such domain) or -EINVAL (another parameter, or a value
   * that is not a page of the domain's memory / a port).
   */
  hvmSetParam(domid: number, param: number, value: number): number {
    const slot = this.domainTable.slotOf(domid);
    if (slot < 0) return -ERRNO.ESRCH;
    if (param === HVM_PARAM_STORE_PFN && Number.isInteger(value) && value >= 0 && value < this.domainTable.get(slot, D.MEMORY_PAGES)) {
      this.domainTable.set(slot, D.HVM_STORE_PFN, value + 1);
      return 0;
    }
    if (param === HVM_PARAM_STORE_EVTCHN && Number.isInteger(value) && value > 0 && value < EVTCHN_PORTS) {
      this.domainTable.set(slot, D.HVM_STORE_EVTCHN, value);
      return 0;
    }
    return -ERRNO.EINVAL;
  }

  /** HVMOP_get_param of HVM_PARAM_STORE_PFN or HVM_PARAM_STORE_EVTCHN: the value, or undefined while it is not set (or no such domain). */
  hvmGetParam(domid: number, param: number): number | undefined {
    const slot = this.domainTable.slotOf(domid);
    if (slot < 0) return undefined;
    if (param === HVM_PARAM_STORE_PFN) {
      const pfn = this.domainTable.get(slot, D.HVM_STORE_PFN) - 1; // stored + 1: 0 is "not set" (Xen's ~0)
      return pfn >= 0 ? pfn : undefined;
    }
    if (param === HVM_PARAM_STORE_EVTCHN) return this.domainTable.get(slot, D.HVM_STORE_EVTCHN) || undefined;
    return undefined;
  }

  /** Listens to VIRQs raised on this thread; returns the unsubscribe function. */
  onVirq(listener: VirqListener): () => void {
    return this.events.onRaise(listener);
  }

  /** The domain starts dying: Argo teardown (argo.md §8.2) runs; the id still resolves. Idempotent. */
  killDomain(domid: number): void {
    const slot = this.slot(domid);
    this.observed(domid, () => domainMarkDying(this.domainTable, slot));
    underArgoExclusive(this.host, () => argoTeardownLocked(this.host, slot, domid, false));
    this.events.closeAllPorts(slot); // domain_kill → evtchn_destroy
  }

  /** A dying domain is gone: teardown runs again (idempotent) and its id no longer resolves. */
  reapDomain(domid: number): void {
    const slot = this.slot(domid);
    if (this.domainTable.get(slot, D.STATE) !== DOMAIN_DYING) {
      throw new Error(`reapDomain(${domid}): the domain is not dying; kill it first`);
    }
    this.events.closeAllPorts(slot); // anything bound to it while it was dying goes too
    underArgoExclusive(this.host, () => {
      argoTeardownLocked(this.host, slot, domid, false);
      this.domainTable.release(slot); // retired under W(L1): no operation holding R(L1) sees it go
    });
    this.memories[slot] = undefined;
    this.handles[slot] = undefined;
    notifyDomainException(this.domainTable, this.events); // dead (lifecycle §6.3)
    this.emitLifecycle({ domid, change: 'dead' });
  }

  /** Kill then reap. */
  destroyDomain(domid: number): void {
    if (this.life(domid) === 'alive') this.killDomain(domid);
    this.reapDomain(domid);
  }

  /** Soft reset (argo.md §8.3): teardown, then fresh empty Argo state; rings can be registered at once. */
  softResetDomain(domid: number): void {
    const slot = this.slot(domid);
    if (this.domainTable.get(slot, D.STATE) !== DOMAIN_ALIVE) throw new Error(`softResetDomain(${domid}): the domain is dying`);
    underArgoExclusive(this.host, () => argoTeardownLocked(this.host, slot, domid, true));
    this.events.closeAllPorts(slot); // domain_soft_reset → evtchn_reset
  }

  /**
   * SCHEDOP_shutdown by the domain (or the toolstack's xc_domain_shutdown): the first reason wins;
   * the shutdown completes when every vCPU has stopped (a vCPU with I/O in flight defers it), and
   * VIRQ_DOM_EXC goes to the control domain. 0 or -EINVAL (unknown reason).
   */
  shutdownDomain(domid: number, reason: number): number {
    return this.observed(domid, () => domainShutdown(this.domainTable, this.events, this.slot(domid), reason));
  }

  /** `domain_crash`: shutdown with reason crash, which cancels every vCPU's deferral. */
  crashDomain(domid: number): number {
    return this.shutdownDomain(domid, SHUTDOWN_crash);
  }

  /**
   * The toolstack's domctls on the domain lifecycle (lifecycle §6.1–§6.3), each 0 or -errno:
   * `pause` / `unpause` (reference-counted; a new domain holds one, so the first unpause lets it run),
   * `resume` (a cancelled suspend), `softReset` (needs the shutdown complete: resets event channels
   * and Argo, then resumes), `getInfo` (XEN_DOMCTL_getdomaininfo), and the per-vCPU shutdown
   * deferral an I/O in flight takes.
   */
  readonly domctl = {
    pause: (domid: number): number => this.observed(domid, () => domainPause(this.domainTable, this.slot(domid))),
    unpause: (domid: number): number => this.observed(domid, () => domainUnpause(this.domainTable, this.slot(domid))),
    resume: (domid: number): number => this.observed(domid, () => domainResume(this.domainTable, this.slot(domid))),
    softReset: (domid: number): number => {
      const slot = this.slot(domid);
      const rc = this.observed(domid, () =>
        domainSoftReset(this.domainTable, slot, () => {
          for (let virq = 0; virq < NR_VIRQS; virq++) this.events.unbindVirq(slot, virq);
          this.events.closeAllPorts(slot); // evtchn_reset: its interdomain channels too
          underArgoExclusive(this.host, () => argoTeardownLocked(this.host, slot, domid, true));
        }),
      );
      if (rc === 0) this.emitLifecycle({ domid, change: 'soft_reset' });
      return rc;
    },
    getInfo: (domid: number): DomainInfo => domainInfo(this.domainTable, this.slot(domid)),
    getVcpuInfo: (domid: number, vcpu: number): VcpuShutdownInfo => {
      const slot = this.slot(domid);
      if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= this.domainTable.get(slot, D.VCPUS)) {
        throw new RangeError(`domain ${domid} has no vCPU ${vcpu}`);
      }
      return vcpuShutdownInfo(this.domainTable, slot, vcpu);
    },
    startShutdownDeferral: (domid: number, vcpu: number): boolean =>
      this.observed(domid, () => vcpuStartShutdownDeferral(this.domainTable, this.events, this.slot(domid), vcpu)),
    endShutdownDeferral: (domid: number, vcpu: number): void =>
      this.observed(domid, () => vcpuEndShutdownDeferral(this.domainTable, this.events, this.slot(domid), vcpu)),
  };

  /** Puts the domain in or out of log-dirty mode (live migration): ring registration then gets EAGAIN. */
  setLogDirty(domid: number, on: boolean): void {
    this.domainTable.set(this.slot(domid), D.LOG_DIRTY, on ? 1 : 0);
  }

  /** A snapshot of a domain's Argo state: rings, waiters, ring count and send-info records. */
  argoState(domid: number): ArgoDomainState | undefined {
    const slot = this.domainTable.slotOf(domid);
    if (slot < 0) return undefined;
    return describeArgoDomain(this.host, slot, domid);
  }

  /** How full a ring is (bytes between rx and tx, waiters), or undefined when there is no such ring. */
  argoRingOccupancy(domid: number, aport: number, partner: number): { pendingBytes: number; waiters: number } | undefined {
    const slot = this.domainTable.slotOf(domid);
    return slot < 0 ? undefined : ringOccupancy(this.host, slot, domid, aport, partner);
  }

  /** The shared buffers behind this host, for another thread. */
  get buffers(): HypervisorBuffers {
    return {
      domains: this.domainTable.buffers,
      argo: this.argoTables.buffers,
      labels: this.labels.buffers,
      memories: this.memories.map((m) => m?.buffer),
    };
  }

  private slot(domid: number): number {
    const slot = this.domainTable.slotOf(domid);
    if (slot < 0) throw new RangeError(`no domain ${domid}`);
    return slot;
  }

  private lowestFreeDomid(): number {
    for (let id = 0; id < DOMID_FIRST_RESERVED; id++) if (this.domainTable.slotOf(id) < 0) return id;
    throw new RangeError('no free domid');
  }
}


function buildXsm(
  config: XsmConfig,
  domains: DomainTable,
  shared: LabelRegistryBuffers | undefined,
  source: SharedBufferSource,
): { xsm: Xsm; labels: LabelRegistry } {
  if (config.mode === 'flask') {
    const policy = parseFlaskPolicy(config.policy ?? DEFAULT_FLASK_POLICY);
    const labels = new LabelRegistry(shared ?? [...policy.types].sort(), source);
    return { xsm: createFlaskXsm(domains, labels, policy, config.enforcing ?? true), labels };
  }
  const labels = new LabelRegistry(shared ?? [], source);
  if (config.mode === 'silo') return { xsm: createSiloXsm(domains), labels };
  if (config.mode === 'dummy') return { xsm: createDummyXsm(), labels };
  throw new Error(`xsm.mode "${String((config as { mode: unknown }).mode)}" is not one of dummy, silo, flask`);
}

/**
 * Creates a Xen host (hypercall-api.md); its shared tables and guest memories come from `source`
 * (default: fresh buffers; a `SharedBufferPool` to reuse them from one run to the next).
 *
 * @example
 * ```ts
 * const hv = createHypervisor({
 *   argo: { enabled: true, macPermissive: false },
 *   xsm: { mode: 'dummy' },
 * });
 * ```
 */
export function createHypervisor(options: HypervisorOptions = {}, source: SharedBufferSource = FRESH_SHARED_BUFFERS): Hypervisor {
  return new Hypervisor(options, undefined, source);
}

/**
 * A view, in this thread, of a hypervisor created in another: the same domains, rings, waiters and
 * event-channel bits, through the shared buffers of `hv.share()`. Hypercalls made here run here,
 * against that state, under the same locks — as in Xen a hypercall runs on the calling vCPU.
 *
 * @example
 * ```ts
 * // main thread
 * new Worker(url, { workerData: hv.share() });
 * // worker
 * const hv = attachHypervisor(workerData);
 * hv.argoOp(1, XEN_ARGO_OP_sendv, sendAddrGpa, iovsGpa, 1, 0);
 * ```
 */
export function attachHypervisor(shared: SharedHypervisor): Hypervisor {
  return new Hypervisor(shared.options, shared.buffers);
}
