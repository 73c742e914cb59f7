/**
 * virtio-vsock constants (virtio-ioreq-lifecycle.md §3.4): the device ID, queue indices, feature bits,
 * the 44-byte `virtio_vsock_hdr`, ops, types, shutdown flags, the event layout and the configuration
 * space. The VirtIO spec's own names.
 *
 * @example
 * ```ts
 * view.setUint16(VIRTIO_VSOCK_HDR.op, VIRTIO_VSOCK_OP_REQUEST, true);
 * ```
 */

/** Device ID of a socket device (§3). */
export const VIRTIO_ID_VSOCK = 19;

/** rx 0, tx 1, event 2 (§3.4). */
export const VIRTIO_VSOCK_RXQ = 0;
export const VIRTIO_VSOCK_TXQ = 1;
export const VIRTIO_VSOCK_EVENTQ = 2;

/** Feature bit (a bit number): stream sockets; with no type feature negotiated both sides act as if it was. */
export const VIRTIO_VSOCK_F_STREAM = 0;

/** `virtio_vsock_hdr`: 44 bytes, little-endian, packed (§3.4). */
export const VIRTIO_VSOCK_HDR = { src_cid: 0, dst_cid: 8, src_port: 16, dst_port: 20, len: 24, type: 28, op: 30, flags: 32, buf_alloc: 36, fwd_cnt: 40, size: 44 } as const;

/** type: the only one modelled. */
export const VIRTIO_VSOCK_TYPE_STREAM = 1;
export const VIRTIO_VSOCK_TYPE_SEQPACKET = 2;

export const VIRTIO_VSOCK_OP_INVALID = 0;
export const VIRTIO_VSOCK_OP_REQUEST = 1;
export const VIRTIO_VSOCK_OP_RESPONSE = 2;
export const VIRTIO_VSOCK_OP_RST = 3;
export const VIRTIO_VSOCK_OP_SHUTDOWN = 4;
export const VIRTIO_VSOCK_OP_RW = 5;
export const VIRTIO_VSOCK_OP_CREDIT_UPDATE = 6;
export const VIRTIO_VSOCK_OP_CREDIT_REQUEST = 7;

/** SHUTDOWN flags: the sender will receive no more, will send no more (sticky). */
export const VIRTIO_VSOCK_SHUTDOWN_RCV = 1;
export const VIRTIO_VSOCK_SHUTDOWN_SEND = 2;

/** `virtio_vsock_event` {id le32}: 4 bytes; id TRANSPORT_RESET = 0. */
export const VIRTIO_VSOCK_EVENT = { id: 0, size: 4 } as const;
export const VIRTIO_VSOCK_EVENT_TRANSPORT_RESET = 0;

/** Configuration space: guest_cid le64 (upper 32 bits zero). */
export const VSOCK_CONFIG = { guest_cid: 0, size: 8 } as const;

/** The host's CID (§3.4 reserved CIDs 0, 1, 2 = host). */
export const VMADDR_CID_HOST = 2;

/** Bytes of one RW payload at most, whatever the buffers (Linux VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
export const VSOCK_PKT_PAYLOAD_MAX = 64 * 1024;

/** Whether `cid` may be a guest's: not 0, 1, 2 or 0xffffffff, and below 2^32 (§3.4). */
export function isGuestCid(cid: number): boolean {
  return Number.isInteger(cid) && cid > VMADDR_CID_HOST && cid < 0xffffffff;
}
