import type { Observable } from 'rxjs';
import type { Hypervisor } from '../xen/hypervisor.js';
import { fromListener } from './from-listener.js';

/** A VIRQ upcall: the pending bit of `virq` went from clear to set in `domid`. */
export interface VirqEvent {
  domid: number;
  virq: number;
  atMs: number;
}

/**
 * `virq$`: every VIRQ upcall raised on this thread (signals to an already-pending VIRQ coalesce, as
 * event channels do).
 *
 * @example
 * ```ts
 * virq$(hv, scheduler).pipe(filter((e) => e.virq === VIRQ_ARGO)).subscribe(console.log);
 * ```
 */
export function virq$(hv: Hypervisor, clock?: { now(): number }): Observable<VirqEvent> {
  return fromListener<{ domid: number; virq: number }>((emit) => hv.onVirq((domid, virq) => emit({ domid, virq })), clock);
}
