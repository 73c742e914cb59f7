import { STREAM_HEADER } from './constants.js';

/** `struct argo_stream_header`: what precedes every stream message's data. */
export interface StreamHeader {
  /** `ARGO_SHF_*` bits; 0 for data. */
  flags: number;
  /** Connection id the connector chose at random. */
  conid: number;
}

/**
 * Writes a stream header in its 8-byte wire form (little-endian u32 flags, u32 conid).
 *
 * @example
 * ```ts
 * guest.sendvRaw(dst, [stage(encodeStreamHeader({ flags: ARGO_SHF_SYN, conid: 42 }))], { messageType: ARGO_PROTO_STREAM });
 * ```
 */
export function encodeStreamHeader(header: StreamHeader): Uint8Array {
  const bytes = new Uint8Array(STREAM_HEADER.size);
  const view = new DataView(bytes.buffer);
  view.setUint32(STREAM_HEADER.flags, header.flags >>> 0, true);
  view.setUint32(STREAM_HEADER.conid, header.conid >>> 0, true);
  return bytes;
}

/**
 * Reads the stream header at the start of a message payload, or null when the payload is shorter
 * than 8 bytes.
 *
 * @example
 * ```ts
 * decodeStreamHeader(msg.payload)?.flags; // ARGO_SHF_RST
 * ```
 */
export function decodeStreamHeader(payload: Uint8Array): StreamHeader | null {
  if (payload.length < STREAM_HEADER.size) return null;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return { flags: view.getUint32(STREAM_HEADER.flags, true), conid: view.getUint32(STREAM_HEADER.conid, true) };
}
