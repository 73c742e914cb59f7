/**
 * Byte layouts of Argo's guest-visible structures (argo.md §2), all little-endian. This is the one
 * place their offsets live; the hypervisor and the guest library both use it.
 *
 * @example
 * ```ts
 * view.setUint32(gpa + REGISTER_RING.len, 4032, true);
 * ```
 */

/** `xen_argo_addr_t` (8). */
export const ADDR = { aport: 0, domain_id: 4, pad: 6, size: 8 } as const;
/** `xen_argo_send_addr_t` (16). */
export const SEND_ADDR = { src: 0, dst: 8, size: 16 } as const;
/** `xen_argo_iov_t` (16 on 64-bit guests). */
export const IOV = { iov_hnd: 0, iov_len: 8, pad: 12, size: 16 } as const;
/** `compat_argo_iov_t` of a 32-bit guest (12): a 4-byte handle; Xen translates it (argo.md §2, §3). */
export const COMPAT_IOV = { iov_hnd: 0, iov_len: 4, pad: 8, size: 12 } as const;
/** `xen_argo_register_ring_t` (12). */
export const REGISTER_RING = { aport: 0, partner_id: 4, pad: 6, len: 8, size: 12 } as const;
/** `xen_argo_unregister_ring_t` (8). */
export const UNREGISTER_RING = { aport: 0, partner_id: 4, pad: 6, size: 8 } as const;
/** `xen_argo_gfn_t` (8): one u64 guest frame number. */
export const GFN = { size: 8 } as const;
/** `xen_argo_ring_t`: the ring header at the start of the first ring page (64). */
export const RING_HEADER = { rx_ptr: 0, tx_ptr: 4, reserved: 8, ring: 64, size: 64 } as const;
/** `xen_argo_ring_message_header` (16), before each payload in the ring. */
export const MESSAGE_HEADER = {
  len: 0,
  source_aport: 4,
  source_domain_id: 8,
  source_pad: 10,
  message_type: 12,
  size: 16,
} as const;
/** `xen_argo_ring_data_ent_t` (20). */
export const RING_DATA_ENT = {
  ring_aport: 0,
  ring_domain_id: 4,
  ring_pad: 6,
  flags: 8,
  pad: 10,
  space_required: 12,
  max_message_size: 16,
  size: 20,
} as const;
/** `xen_argo_ring_data_t` (8 + 20·nent). */
export const RING_DATA = { nent: 0, pad: 4, data: 8, size: 8 } as const;
/**
 * OpenXT `xen_argo_viptables_rule_t` (20): src addr, dst addr, accept (argo.md §7.3). The layout is
 * argosim's reading of the OpenXT patch; see docs/argo-core.md.
 */
export const VIPTABLES_RULE = { src: 0, dst: 8, accept: 16, size: 20 } as const;
/** OpenXT `xen_argo_viptables_list_t` (8 + 20·nrules): start_rule, nrules (in: capacity, out: count). */
export const VIPTABLES_LIST = { start_rule: 0, nrules: 4, rules: 8, size: 8 } as const;
