import { VIRTIO_VSOCK_HDR } from './constants.js';

/** The fields of one `virtio_vsock_hdr` (§3.4); CIDs are numbers below 2^32. */
export interface VsockHdr {
  src_cid: number;
  dst_cid: number;
  src_port: number;
  dst_port: number;
  len: number;
  type: number;
  op: number;
  flags: number;
  buf_alloc: number;
  fwd_cnt: number;
}

/**
 * Encodes a header into its 44 little-endian bytes. The upper 32 bits of each CID are written 0.
 *
 * @example
 * ```ts
 * const bytes = encodeVsockHdr({ ...hdr, op: VIRTIO_VSOCK_OP_RST, len: 0 }); // 44 bytes
 * ```
 */
export function encodeVsockHdr(h: VsockHdr): Uint8Array {
  const bytes = new Uint8Array(VIRTIO_VSOCK_HDR.size);
  const v = new DataView(bytes.buffer);
  v.setUint32(VIRTIO_VSOCK_HDR.src_cid, h.src_cid, true);
  v.setUint32(VIRTIO_VSOCK_HDR.dst_cid, h.dst_cid, true);
  v.setUint32(VIRTIO_VSOCK_HDR.src_port, h.src_port, true);
  v.setUint32(VIRTIO_VSOCK_HDR.dst_port, h.dst_port, true);
  v.setUint32(VIRTIO_VSOCK_HDR.len, h.len, true);
  v.setUint16(VIRTIO_VSOCK_HDR.type, h.type, true);
  v.setUint16(VIRTIO_VSOCK_HDR.op, h.op, true);
  v.setUint32(VIRTIO_VSOCK_HDR.flags, h.flags, true);
  v.setUint32(VIRTIO_VSOCK_HDR.buf_alloc, h.buf_alloc, true);
  v.setUint32(VIRTIO_VSOCK_HDR.fwd_cnt, h.fwd_cnt, true);
  return bytes;
}

/**
 * Decodes 44 bytes into a header. A CID with upper 32 bits set decodes as 0xffffffff (never a
 * guest's or the host's), so it is refused like any reserved CID.
 *
 * @example
 * ```ts
 * const hdr = decodeVsockHdr(bytes);
 * if (hdr.op === VIRTIO_VSOCK_OP_RW) take(hdr.len);
 * ```
 */
export function decodeVsockHdr(bytes: Uint8Array): VsockHdr {
  if (bytes.length < VIRTIO_VSOCK_HDR.size) throw new RangeError(`virtio_vsock_hdr: ${bytes.length} bytes < ${VIRTIO_VSOCK_HDR.size}`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, VIRTIO_VSOCK_HDR.size);
  const cid = (at: number): number => (v.getUint32(at + 4, true) === 0 ? v.getUint32(at, true) : 0xffffffff);
  return {
    src_cid: cid(VIRTIO_VSOCK_HDR.src_cid),
    dst_cid: cid(VIRTIO_VSOCK_HDR.dst_cid),
    src_port: v.getUint32(VIRTIO_VSOCK_HDR.src_port, true),
    dst_port: v.getUint32(VIRTIO_VSOCK_HDR.dst_port, true),
    len: v.getUint32(VIRTIO_VSOCK_HDR.len, true),
    type: v.getUint16(VIRTIO_VSOCK_HDR.type, true),
    op: v.getUint16(VIRTIO_VSOCK_HDR.op, true),
    flags: v.getUint32(VIRTIO_VSOCK_HDR.flags, true),
    buf_alloc: v.getUint32(VIRTIO_VSOCK_HDR.buf_alloc, true),
    fwd_cnt: v.getUint32(VIRTIO_VSOCK_HDR.fwd_cnt, true),
  };
}
