import { Observable } from 'rxjs';

/**
 * An Observable over a listener registration of the hypervisor (`onVirq`, `onHypercall`,
 * `onLifecycle`): subscribing registers, unsubscribing removes. Each value is stamped with the
 * injected clock's time, so streams of the deterministic runtime carry virtual time.
 *
 * @example
 * ```ts
 * const virq$ = fromListener((emit) => hv.onVirq((domid, virq) => emit({ domid, virq })), clock);
 * ```
 */
export function fromListener<T extends object>(
  register: (emit: (value: T) => void) => () => void,
  clock: { now(): number } = { now: () => 0 },
): Observable<T & { atMs: number }> {
  return new Observable<T & { atMs: number }>((subscriber) =>
    register((value) => subscriber.next({ ...value, atMs: clock.now() })),
  );
}
