import type { HistoricalBugs } from '../xen/historical-bugs.js';
import { D, type DomainTable } from '../domain/domain-table.js';
import type { EventChannels } from '../domain/event-channels.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import type { Xsm } from '../xsm/xsm.js';
import { A, type ArgoTables } from './tables.js';

/**
 * Reference-implementation quirks (argo.md §9). `true` reproduces Xen's actual behaviour (the
 * default); `false` gives the behaviour the code evidently intended. See docs/argo-core.md.
 */
export interface ArgoQuirks {
  /** Q1: the ENOSPC check precedes the re-registration lookup and every successful register counts. */
  ringCountOnReregister: boolean;
  /** Q2: every re-registration of a unicast ring adds another send-info to the partner's table. */
  duplicateSendInfo: boolean;
  /** Q3: a failed re-registration (bad gfn) deletes the existing ring. */
  failedReregisterDeletes: boolean;
}

export const XEN_QUIRKS: Readonly<ArgoQuirks> = Object.freeze({
  ringCountOnReregister: true,
  duplicateSendInfo: true,
  failedReregisterDeletes: true,
});

/** Build- and boot-time switches of the Argo core. */
export interface ArgoOptions {
  /** CONFIG_ARGO: false means the hypercall does not exist (ENOSYS). */
  built: boolean;
  /** Boot option `argo`. */
  enabled: boolean;
  /** Boot option `mac-permissive`. */
  macPermissive: boolean;
  /** OpenXT's viptables patch (ops 6–8 and the sendv rule check); not upstream. */
  viptables: boolean;
}

/**
 * Everything an Argo operation runs against: the shared tables, the domain table, each domain's
 * guest memory (by slot), the XSM module and the event channels. Any thread that builds a host over
 * the same SharedArrayBuffers runs the same operations against the same state.
 */
export interface ArgoHost {
  readonly tables: ArgoTables;
  readonly domains: DomainTable;
  readonly memories: Array<GuestMemory | undefined>;
  /** The domain-table generation each attached memory belongs to (a reused slot needs its new memory). */
  readonly memoryGenerations: number[];
  readonly xsm: Xsm;
  readonly events: EventChannels;
  readonly options: Readonly<ArgoOptions>;
  readonly quirks: Readonly<ArgoQuirks>;
  /** Historical bugs switched back on (all off: today's Xen). */
  readonly bugs: HistoricalBugs;
}

/** True when the domain slot has Argo state (`d->argo != NULL`). */
export function hasArgo(host: ArgoHost, slot: number): boolean {
  return Atomics.load(host.tables.domains, host.tables.domainBase(slot) + A.HAS_ARGO) !== 0;
}

/**
 * A guest handle of `bytes` bytes at `gpa` is accessible: inside RAM and not NULL. A zero-length
 * handle is always accessible (Xen's `guest_handle_okay(hnd, 0)`).
 */
export function guestOk(mem: GuestMemory, gpa: number, bytes: number): boolean {
  return bytes === 0 || (gpa !== 0 && mem.contains(gpa, bytes));
}

/**
 * The guest memory of a domain slot. Every domain's memory must be attached to each thread that runs
 * hypervisor code; a missing one is a wiring bug of the runtime, reported loudly (never a guest error).
 */
export function memoryOf(host: ArgoHost, slot: number): GuestMemory {
  const mem = host.memories[slot];
  if (mem === undefined || host.memoryGenerations[slot] !== Atomics.load(host.domains.slots, slot * D.STRIDE + D.GENERATION)) {
    throw new Error(`argosim: guest memory of domain slot ${slot} is not attached to this thread's hypervisor`);
  }
  return mem;
}
