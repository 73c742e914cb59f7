import { D, type DomainTable } from '../domain/domain-table.js';
import { ERRNO } from '../xen/errno.js';
import type { Xsm } from './xsm.js';

/**
 * The SILO XSM module (xen/xsm/silo.c): domains may talk only to the control domain or to
 * themselves. `register_single_source` and `send` are allowed iff the caller, d or t is the control
 * domain or d == t; otherwise EPERM. The other hooks behave as dummy (argo.md §7.2).
 *
 * @example
 * ```ts
 * const xsm = createSiloXsm(domains);
 * xsm.argoSend(guestSlot, otherGuestSlot); // -EPERM
 * ```
 */
export function createSiloXsm(domains: DomainTable): Xsm {
  const isControl = (slot: number) => domains.get(slot, D.CONTROL) !== 0;
  // In every Argo hook the subject d is the current (calling) domain.
  const check = (d: number, t: number) => (isControl(d) || isControl(t) || d === t ? 0 : -ERRNO.EPERM);
  return {
    mode: 'silo',
    argoEnable: () => 0,
    argoRegisterSingleSource: check,
    argoRegisterAnySource: () => 0,
    argoSend: check,
  };
}
