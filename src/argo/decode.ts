import type { GuestMemory } from '../memory/guest-memory.js';
import { ADDR, COMPAT_IOV, GFN, IOV, REGISTER_RING, RING_DATA, RING_DATA_ENT, SEND_ADDR, UNREGISTER_RING } from './abi.js';
import {
  MAX_NOTIFY_COUNT,
  XEN_ARGO_MAXIOV,
  XEN_ARGO_OP_notify,
  XEN_ARGO_OP_register_ring,
  XEN_ARGO_OP_sendv,
  XEN_ARGO_OP_unregister_ring,
} from './constants.js';
import { guestOk } from './host.js';

/** An Argo hypercall's arguments as read from guest memory, for traces. */
export type DecodedArgoCall =
  | { op: 'register_ring'; ring?: { aport: number; partner: number; len: number }; npage: number; flags: number; gfns?: number[] }
  | { op: 'unregister_ring'; ring?: { aport: number; partner: number } }
  | {
      op: 'sendv';
      src?: { domid: number; aport: number };
      dst?: { domid: number; aport: number };
      iovs?: Array<{ gpa: number; len: number }>;
      niov: number;
      messageType: number;
    }
  | { op: 'notify'; entries: Array<{ domid: number; aport: number; spaceRequired: number; flags?: number; maxMessageSize?: number }> | null }
  | { op: 'unknown'; cmd: number };

const GFNS_SHOWN = 8;

/**
 * Decodes an Argo hypercall's arguments from the caller's memory, as a trace shows them. It reads
 * only what is accessible (an inaccessible structure is left out) and never throws. With
 * `after` for notify it also reads the flags Xen wrote back; `compat` reads 12-byte iovs.
 *
 * @example
 * ```ts
 * decodeArgoCall(mem, XEN_ARGO_OP_sendv, a1, a2, 1, 0); // { op: 'sendv', dst: { domid: 2, aport: 7 }, ... }
 * ```
 */
export function decodeArgoCall(
  mem: GuestMemory,
  cmd: number,
  a1: number,
  a2: number,
  a3: number,
  a4: number,
  options: { after?: boolean; compat?: boolean } = {},
): DecodedArgoCall {
  const after = options.after ?? false;
  const layout = options.compat ? COMPAT_IOV : IOV;
  const v = mem.view;
  const at = (gpa: number, bytes: number) => Number.isSafeInteger(gpa) && guestOk(mem, gpa, bytes) && gpa !== 0;
  const addr = (gpa: number) => ({ domid: v.getUint16(gpa + ADDR.domain_id, true), aport: v.getUint32(gpa + ADDR.aport, true) });
  switch (cmd) {
    case XEN_ARGO_OP_register_ring: {
      const shown = Math.min(Number(a3) >>> 0, GFNS_SHOWN);
      return {
        op: 'register_ring',
        ring: at(a1, REGISTER_RING.size)
          ? { aport: v.getUint32(a1 + REGISTER_RING.aport, true), partner: v.getUint16(a1 + REGISTER_RING.partner_id, true), len: v.getUint32(a1 + REGISTER_RING.len, true) }
          : undefined,
        npage: a3,
        flags: a4,
        gfns: at(a2, shown * GFN.size) ? Array.from({ length: shown }, (_, i) => v.getUint32(a2 + i * GFN.size, true)) : undefined,
      };
    }
    case XEN_ARGO_OP_unregister_ring:
      return {
        op: 'unregister_ring',
        ring: at(a1, UNREGISTER_RING.size)
          ? { aport: v.getUint32(a1 + UNREGISTER_RING.aport, true), partner: v.getUint16(a1 + UNREGISTER_RING.partner_id, true) }
          : undefined,
      };
    case XEN_ARGO_OP_sendv: {
      const niov = a3;
      const readable = niov <= XEN_ARGO_MAXIOV && at(a2, niov * layout.size);
      return {
        op: 'sendv',
        src: at(a1, SEND_ADDR.size) ? addr(a1 + SEND_ADDR.src) : undefined,
        dst: at(a1, SEND_ADDR.size) ? addr(a1 + SEND_ADDR.dst) : undefined,
        iovs: readable
          ? Array.from({ length: niov }, (_, i) => ({
              gpa: v.getUint32(a2 + i * layout.size + layout.iov_hnd, true),
              len: v.getUint32(a2 + i * layout.size + layout.iov_len, true),
            }))
          : undefined,
        niov,
        messageType: a4,
      };
    }
    case XEN_ARGO_OP_notify: {
      if (a1 === 0 || !at(a1, RING_DATA.size)) return { op: 'notify', entries: null };
      const nent = Math.min(v.getUint32(a1 + RING_DATA.nent, true), MAX_NOTIFY_COUNT);
      if (!at(a1 + RING_DATA.data, nent * RING_DATA_ENT.size)) return { op: 'notify', entries: null };
      return {
        op: 'notify',
        entries: Array.from({ length: nent }, (_, i) => {
          const e = a1 + RING_DATA.data + i * RING_DATA_ENT.size;
          const entry = { domid: v.getUint16(e + RING_DATA_ENT.ring_domain_id, true), aport: v.getUint32(e + RING_DATA_ENT.ring_aport, true), spaceRequired: v.getUint32(e + RING_DATA_ENT.space_required, true) };
          return after
            ? { ...entry, flags: v.getUint16(e + RING_DATA_ENT.flags, true), maxMessageSize: v.getUint32(e + RING_DATA_ENT.max_message_size, true) }
            : entry;
        }),
      };
    }
    default:
      return { op: 'unknown', cmd };
  }
}
