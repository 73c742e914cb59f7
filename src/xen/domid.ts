/**
 * Domain id space (xen/include/public/xen.h). Ids from `DOMID_FIRST_RESERVED` up are special and
 * never name an ordinary domain.
 *
 * @example
 * ```ts
 * isOrdinaryDomid(0x7ff4); // false
 * ```
 */
export const DOMID_FIRST_RESERVED = 0x7ff0;
/** `DOMID_SELF`. */
export const DOMID_SELF = 0x7ff0;
/** `DOMID_IO`. */
export const DOMID_IO = 0x7ff1;
/** `DOMID_XEN`. */
export const DOMID_XEN = 0x7ff2;
/** `DOMID_COW`. */
export const DOMID_COW = 0x7ff3;
/** `DOMID_INVALID` — also Argo's `XEN_ARGO_DOMID_ANY`. */
export const DOMID_INVALID = 0x7ff4;
/** `DOMID_IDLE`. */
export const DOMID_IDLE = 0x7fff;

/** True for an id that can name an ordinary domain (0 ≤ id < 0x7FF0). */
export function isOrdinaryDomid(domid: number): boolean {
  return Number.isInteger(domid) && domid >= 0 && domid < DOMID_FIRST_RESERVED;
}
