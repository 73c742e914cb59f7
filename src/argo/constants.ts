/**
 * Argo's public ABI constants (xen/include/public/argo.h) and the hypervisor's internal limits
 * (xen/common/argo.c), with Xen's names and values (argo.md §1, §2).
 *
 * @example
 * ```ts
 * hv.argoOp(1, XEN_ARGO_OP_sendv, sendAddrGpa, iovsGpa, 1, 0);
 * ```
 */
export const __HYPERVISOR_argo_op = 39;

export const XEN_ARGO_OP_register_ring = 1;
export const XEN_ARGO_OP_unregister_ring = 2;
export const XEN_ARGO_OP_sendv = 3;
export const XEN_ARGO_OP_notify = 4;
/** OpenXT viptables ops (not upstream; only with `openxt.viptables`), argo.md §7.3. */
export const XEN_ARGO_OP_viptables_add = 6;
export const XEN_ARGO_OP_viptables_del = 7;
export const XEN_ARGO_OP_viptables_list = 8;

/** Wildcard partner: `DOMID_INVALID` (not Xen's `DOMID_ANY`). */
export const XEN_ARGO_DOMID_ANY = 0x7ff4;
/** OpenXT / Linux header port values (no meaning to upstream Xen). */
export const XEN_ARGO_PORT_ANY = 0xffffffff;
export const XEN_ARGO_PORT_NONE = 0;

export const XEN_ARGO_MAX_RING_SIZE = 0x1000000;
export const XEN_ARGO_MSG_SLOT_SIZE = 0x10;
export const XEN_ARGO_MAXIOV = 8;
export const XEN_ARGO_REGISTER_FLAG_FAIL_EXIST = 0x1;
export const XEN_ARGO_REGISTER_FLAG_MASK = 0x1;

/** Notify flags (u16, output only), argo.md §2. */
export const XEN_ARGO_RING_EXISTS = 1 << 0;
export const XEN_ARGO_RING_SHARED = 1 << 1;
export const XEN_ARGO_RING_EMPTY = 1 << 2;
export const XEN_ARGO_RING_SUFFICIENT = 1 << 3;
export const XEN_ARGO_RING_EMSGSIZE = 1 << 4;
export const XEN_ARGO_RING_EBUSY = 1 << 5;

/** argo.c limits. */
export const MAX_RINGS_PER_DOMAIN = 128;
export const MAX_NOTIFY_COUNT = 256;
export const MAX_PENDING_PER_RING = 32;
export const ARGO_HASHTABLE_SIZE = 32;

/** Sizes of the guest-visible structures, argo.md §2. */
export const ARGO_RING_HEADER_BYTES = 64;
export const ARGO_MSG_HEADER_BYTES = 16;
/** 16 MiB − 16 − 16: the per-iov and total payload bound (argo.c `MAX_ARGO_MESSAGE_SIZE`). */
export const MAX_ARGO_MESSAGE_SIZE = XEN_ARGO_MAX_RING_SIZE - ARGO_MSG_HEADER_BYTES - XEN_ARGO_MSG_SLOT_SIZE;
/** Smallest ring `len`: header slot + one payload slot + the always-free slot. */
export const ARGO_RING_LEN_MIN = ARGO_MSG_HEADER_BYTES + 2 * XEN_ARGO_MSG_SLOT_SIZE;
/** Largest `npage` a register_ring may pass (16 MiB / 4 KiB). */
export const ARGO_NPAGE_MAX = XEN_ARGO_MAX_RING_SIZE >>> 12;
/** Linux / XTF convention: ring header + one message header. */
export const ARGO_RING_OVERHEAD = ARGO_RING_HEADER_BYTES + ARGO_MSG_HEADER_BYTES;
/** The Linux driver's default ring size: ROUNDUP16(32 pages − 80) = 130 992. */
export const ARGO_DEFAULT_RING_LEN = 130_992;

/** Rounds up to the 16-byte message slot (argo.c `ROUNDUP_MESSAGE`). */
export function roundupMessage(bytes: number): number {
  return (bytes + XEN_ARGO_MSG_SLOT_SIZE - 1) & ~(XEN_ARGO_MSG_SLOT_SIZE - 1);
}

/** Pages a ring of `len` data bytes occupies with its 64-byte header (argo.c `NPAGES_RING`). */
export function npagesRing(len: number): number {
  return Math.ceil((len + ARGO_RING_HEADER_BYTES) / 4096);
}
