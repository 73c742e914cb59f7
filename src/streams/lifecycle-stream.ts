import type { Observable } from 'rxjs';
import type { Hypervisor, LifecycleChange } from '../xen/hypervisor.js';
import { fromListener } from './from-listener.js';

/**
 * `lifecycle$`: every domain state change (created, paused, unpaused, shutting_down, shutdown,
 * resumed, soft_reset, dying, dead), with the shutdown reason where there is one.
 *
 * @example
 * ```ts
 * lifecycle$(hv).subscribe(({ domid, change, reason }) => console.log(domid, change, reason));
 * ```
 */
export function lifecycle$(hv: Hypervisor, clock?: { now(): number }): Observable<LifecycleChange & { atMs: number }> {
  return fromListener<LifecycleChange>((emit) => hv.onLifecycle(emit), clock);
}
