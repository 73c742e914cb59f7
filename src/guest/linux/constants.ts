import { ARGO_DEFAULT_RING_LEN, ARGO_MSG_HEADER_BYTES, XEN_ARGO_MSG_SLOT_SIZE } from '../../argo/constants.js';

/**
 * The OpenXT Linux Argo driver's numbers (argo-linux `argo-module.c`, `linux/argo_dev.h`;
 * argo.md §10): ioctl numbers, protocol numbers carried in `message_type`, stream header flags,
 * ring sizes and the auto-port range.
 *
 * @example
 * ```ts
 * guest.sendvRaw(dst, iovs, { messageType: ARGO_PROTO_DGRAM, srcPort: 7 });
 * ```
 */

/** ioctl magic `'W'` (`ARGO_TYPE`). */
export const ARGO_TYPE = 0x57;

const IOC_WRITE = 1;

/** Linux `_IOW(ARGO_TYPE, nr, size)` on x86: dir << 30 | size << 16 | type << 8 | nr. */
function iow(nr: number, sizeBytes: number): number {
  return ((IOC_WRITE << 30) | (sizeBytes << 16) | (ARGO_TYPE << 8) | nr) >>> 0;
}

/** ioctls of `/dev/argo_dgram` and `/dev/argo_stream` (argo.md §10.1), as a 64-bit kernel encodes them. */
export const ARGOIOCSETRINGSIZE = iow(1, 4); // uint32_t
export const ARGOIOCBIND = iow(2, 8); // struct argo_ring_id
export const ARGOIOCGETSOCKNAME = iow(3, 8); // struct argo_ring_id
export const ARGOIOCGETPEERNAME = iow(4, 8); // xen_argo_addr_t
export const ARGOIOCCONNECT = iow(5, 8); // xen_argo_addr_t
export const ARGOIOCGETCONNECTERR = iow(6, 4); // int
export const ARGOIOCLISTEN = iow(7, 4); // uint32_t, unused
export const ARGOIOCACCEPT = iow(8, 8); // xen_argo_addr_t
export const ARGOIOCSEND = iow(9, 32); // struct argo_dev (64-bit)
export const ARGOIOCRECV = iow(10, 32); // struct argo_dev (64-bit)
export const ARGOIOCSEND32 = iow(9, 16); // struct argo_dev_32 (compat)
export const ARGOIOCRECV32 = iow(10, 16); // struct argo_dev_32 (compat)
export const ARGOIOCGETSOCKTYPE = iow(11, 4); // int
export const ARGOIOCVIPTABLESADD = iow(12, 16); // struct viptables_rule_pos (64-bit)
export const ARGOIOCVIPTABLESDEL = iow(13, 16); // struct viptables_rule_pos (64-bit)
export const ARGOIOCVIPTABLESLIST = iow(14, 4); // uint32_t, unused

/** `argo_ptype`, what ARGOIOCGETSOCKTYPE answers. */
export const ARGO_PTYPE_DGRAM = 1;
export const ARGO_PTYPE_STREAM = 2;

/** Protocols carried in `message_type` (argo.md §10.2). */
export const ARGO_PROTO_DGRAM = 0x6447724d;
export const ARGO_PROTO_STREAM = 0x3574526d;

/** Stream header flags (`ARGO_SHF_*`). */
export const ARGO_SHF_SYN = 0x1;
export const ARGO_SHF_ACK = 0x2;
export const ARGO_SHF_RST = 0x4;
export const ARGO_SHF_PING = 0x100;
export const ARGO_SHF_PONG = 0x200;

/** `struct argo_stream_header` {flags u32 @0, conid u32 @4}: 8 bytes, the first iov of every stream message. */
export const STREAM_HEADER = { flags: 0, conid: 4, size: 8 } as const;

/** `DEFAULT_RING_SIZE`: ROUNDUP16(32 pages − 64 − 16) = 130 992. */
export const ARGO_DRIVER_DEFAULT_RING_SIZE = ARGO_DEFAULT_RING_LEN;
/** Smallest ring `SETRINGSIZE` accepts: message header + two slots = 48. */
export const ARGO_DRIVER_RING_SIZE_MIN = ARGO_MSG_HEADER_BYTES + 2 * XEN_ARGO_MSG_SLOT_SIZE;
/** Stream writes go out in lumps of `DEFAULT_RING_SIZE >> 2` = 32 748 bytes. */
export const ARGO_STREAM_WRITE_LUMP = ARGO_DRIVER_DEFAULT_RING_SIZE >>> 2;
/** A stream socket takes at most this many + 1 messages off its ring before it is "full". */
export const MAX_PENDING_RECVS = 2;
/** A blocking connect gives up after 5 s (`mod_timer(..., msecs_to_jiffies(5000))`). */
export const ARGO_CONNECT_TIMEOUT_MS = 5_000;

/** Auto-assigned ports: random with the top bit set, folded into [0x80000000, 0xF0000000]. */
export const ARGO_AUTO_PORT_MIN = 0x80000000;
export const ARGO_AUTO_PORT_MAX = 0xf0000000;
/** `argo_find_spare_port_number` answers this when it cannot find a port (bind → ENOSPC). */
export const ARGO_PORTS_EXHAUSTED = 0xffffffff;
