import { XEN_ARGO_DOMID_ANY } from '../../argo/constants.js';

/**
 * `struct argo_ring_id` as ARGOIOCBIND and ARGOIOCGETSOCKNAME carry it (argo.md §10.1):
 * `domain_id` must be `XEN_ARGO_DOMID_ANY` (the driver's own domain), `partner_id` is the one
 * domain allowed to send (or ANY for a wildcard ring) and `aport` 0 asks for an automatic port.
 *
 * @example
 * ```ts
 * const id: ArgoRingId = { domainId: XEN_ARGO_DOMID_ANY, partnerId: 2, aport: 0 };
 * ```
 */
export interface ArgoRingId {
  domainId: number;
  partnerId: number;
  aport: number;
}

/** The name of an unbound socket (ARGOIOCGETSOCKNAME before bind). */
export const UNBOUND_RING_ID: Readonly<ArgoRingId> = Object.freeze({
  domainId: XEN_ARGO_DOMID_ANY,
  partnerId: XEN_ARGO_DOMID_ANY,
  aport: 0,
});
