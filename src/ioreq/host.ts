import { D } from '../domain/domain-table.js';
import type { Hypervisor } from '../xen/hypervisor.js';
import type { IoreqArch } from './constants.js';
import type { IoreqEventChannels } from './event-channels.js';
import type { DomainRef } from './server.js';
import type { IoreqTables, TargetView } from './tables.js';

/**
 * Historical IOREQ bugs the core can bring back (virtio-ioreq-lifecycle.md §6.7); all off by
 * default, which is today's Xen.
 *
 * @example
 * ```ts
 * createIoreq(hv, { bugs: { ioreqStateStuckAfterServerDestroy: true } });
 * ```
 */
export interface IoreqBugs {
  /** R1, before Xen f7039ee41b: a vCPU whose server was destroyed keeps io.req.state READY; every later emulation is UNHANDLEABLE. */
  ioreqStateStuckAfterServerDestroy: boolean;
  /** R3, before XSA-262 (Xen 92938e5d14): a backwards or invalid state is not caught; the vCPU waits forever instead of the target crashing. */
  ioreqStateUnchecked: boolean;
  /** R4, before Xen da20c93108: completion waits for one pending server only, not every one a broadcast reached. */
  broadcastWaitsForOneServer: boolean;
  /**
   * R2, before Xen b7e0d89788: back from `ioreq_send`, the arch code (Arm `try_fwd_ioserv`, x86
   * `hvmemul_do_io`) dropped the latched request whenever the domain was shutting down — also for a
   * request it had sent — so the instruction ran again after resume and the emulator got it twice.
   */
  ioreqResentAfterShutdown: boolean;
}

/** Every IOREQ bug switch off. */
export const NO_IOREQ_BUGS: Readonly<IoreqBugs> = Object.freeze({
  ioreqStateStuckAfterServerDestroy: false,
  ioreqStateUnchecked: false,
  broadcastWaitsForOneServer: false,
  ioreqResentAfterShutdown: false,
});

/**
 * The IOREQ switches among a scenario's historical-bug switches (every other key ignored).
 *
 * @example
 * ```ts
 * createIoreq(hv, { bugs: ioreqBugsOf(scenario.bugs) });
 * ```
 */
export function ioreqBugsOf(bugs: Readonly<Partial<Record<keyof IoreqBugs, boolean>>>): IoreqBugs {
  const out = { ...NO_IOREQ_BUGS };
  for (const key of Object.keys(out) as Array<keyof IoreqBugs>) out[key] = bugs[key] === true;
  return out;
}

/** The vCPU's own record of its I/O (`v->io`): the latched request and what completing it needs. */
export interface VcpuIo {
  /** `io.req.state`: NONE, READY (sent, awaiting), IORESP_READY (data to take). */
  state: number;
  /** The request latched at send (`io.req`); null when none. */
  dir: number;
  size: number;
  needsCompletion: boolean;
  /** Data the completion hands the vCPU (a read's value). */
  data: bigint;
  /** True while the vCPU is blocked in Xen on an ioreq (`_VPF_blocked_in_xen`). */
  blocked: boolean;
  /** `v->suspended`-style mark: a send refused because the domain was shutting down (§5.5, b7e0d89788). */
  suspended: boolean;
  /**
   * The latched request was dropped after it was sent (R2's bug): the completion discards the answer
   * and the instruction runs again — its PC was not advanced.
   */
  reexecute: boolean;
}

/** IOREQ state of one target domain: its servers by id, its vCPUs' `VcpuIo`, its SPI levels (shared memory, `ioreq/tables.ts`). */
export type IoreqTarget = TargetView;

/** Everything the IOREQ functions act on. */
export interface IoreqHost {
  readonly hv: Hypervisor;
  readonly arch: IoreqArch;
  /** Whether Xen was built with CONFIG_IOREQ_SERVER. */
  readonly built: boolean;
  readonly bugs: Readonly<IoreqBugs>;
  /**
   * Targets, their servers and vCPUs, device-model links (XEN_DOMCTL_set_target) and the emulators
   * servers hold references on (commit ccb42e0ca6: a reused domid is another domain) — in shared memory.
   */
  readonly tables: IoreqTables;
  readonly channels: IoreqEventChannels;
  readonly wakeListeners: Set<(target: number, vcpu: number) => void>;
  /** Heard when a device model raises an interrupt line of a target (a rising edge): the vGIC injects it. */
  readonly irqListeners: Set<(target: number, irq: number) => void>;
}

/** The domain's current reference (domid and generation), or null when it does not resolve. */
export function domainRef(hv: Hypervisor, domid: number): DomainRef | null {
  const slot = hv.domainTable.slotOf(domid);
  return slot < 0 ? null : { domid, generation: hv.domainTable.get(slot, D.GENERATION) };
}

/** True while `ref` still names a live-or-dying domain of the same generation. */
export function sameDomain(hv: Hypervisor, ref: DomainRef): boolean {
  const now = domainRef(hv, ref.domid);
  return now !== null && now.generation === ref.generation;
}

/**
 * The IOREQ state of `target`, made on first use, fresh when the domid was reused; null when the
 * domain does not resolve or every target record is taken (`IOREQ_TARGETS_MAX`).
 */
export function targetOf(host: IoreqHost, target: number): IoreqTarget | null {
  const ref = domainRef(host.hv, target);
  if (ref === null) return null;
  const known = host.tables.target(target);
  if (known && known.generation === ref.generation) return known;
  return host.tables.claimTarget(target, ref.generation, host.hv.domain(target)?.vcpus ?? 1);
}
