import { GuestMemory } from '../memory/guest-memory.js';
import { PAGE_SIZE } from '../memory/constants.js';
import { NR_IO_RANGE_TYPES } from './constants.js';
import { Rangeset } from './rangeset.js';

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

/** `struct ioreq_server` (§5.1). */
export interface IoreqServer {
  readonly id: number;
  readonly target: number;
  /** The emulator that created it; the server holds a reference on it (commit ccb42e0ca6). */
  readonly emulator: DomainRef;
  readonly bufioreq: number;
  enabled: boolean;
  /** Port, memory and PCI rangesets, indexed by XEN_DMOP_IO_RANGE_*. */
  readonly ranges: readonly Rangeset[];
  /** The synchronous page: one `ioreq_t` per vCPU. */
  readonly ioreqPage: GuestMemory;
  /** The buffered page (null when handle_bufioreq is OFF). */
  readonly bufPage: GuestMemory | null;
  /** vCPU 0's extra port for buffered requests (0 when none). */
  bufPort: number;
  readonly vcpus: IoreqVcpu[];
}

/** A fresh disabled server with its pages (the page contents mean nothing until enabled, §5.2 op 5). */
export function newServer(id: number, target: number, emulator: DomainRef, bufioreq: number): IoreqServer {
  return {
    id,
    target,
    emulator,
    bufioreq,
    enabled: false,
    ranges: Array.from({ length: NR_IO_RANGE_TYPES }, () => new Rangeset()),
    ioreqPage: new GuestMemory(PAGE_SIZE),
    bufPage: bufioreq !== 0 ? new GuestMemory(PAGE_SIZE) : null,
    bufPort: 0,
    vcpus: [],
  };
}
