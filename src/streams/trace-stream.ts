import type { Observable } from 'rxjs';
import type { HypercallRecord, Hypervisor } from '../xen/hypervisor.js';
import { fromListener } from './from-listener.js';

/**
 * `trace$`: every Argo hypercall made on this thread — caller, op, arguments decoded from guest
 * memory, result and errno name. The hypervisor decodes only while someone subscribes.
 *
 * @example
 * ```ts
 * trace$(hv).pipe(filter((c) => c.result < 0)).subscribe((c) => console.log(c.caller, c.args.op, c.errno));
 * ```
 */
export function trace$(hv: Hypervisor, clock?: { now(): number }): Observable<HypercallRecord & { atMs: number }> {
  return fromListener<HypercallRecord>((emit) => hv.onHypercall(emit), clock);
}
