import type { ServerView } from './tables.js';

/** `struct ioreq_vcpu`: one vCPU's end of a server (§5.1). */
export interface IoreqVcpu {
  /** The target-side event channel port (`ioreq_evtchn`). */
  port: number;
  /** `sv->pending`: a synchronous request sent and not yet consumed. */
  pending: boolean;
  /** The state last seen while waiting (XSA-262 forward-only check, §5.4); NONE between requests. */
  prevState: number;
}

/** A domain as a server remembers it: its id and the domain-table generation it had. */
export interface DomainRef {
  domid: number;
  generation: number;
}

/**
 * An ioreq server (`struct ioreq_server`, virtio-ioreq-lifecycle.md §5.1): its id, target and
 * emulator (the server holds a reference on it, commit ccb42e0ca6), bufioreq mode, enabled flag,
 * port / memory / PCI rangesets (indexed by XEN_DMOP_IO_RANGE_*), the synchronous page (one
 * `ioreq_t` per vCPU), the buffered page (null when handle_bufioreq is OFF) with vCPU 0's extra
 * port, and a record per vCPU — a view of its slot in the shared IOREQ tables (`ioreq/tables.ts`).
 */
export type IoreqServer = ServerView;
