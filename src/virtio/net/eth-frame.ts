import { ETH_ALEN, ETH_FRAME_LEN, ETH_HLEN } from './constants.js';

/**
 * An Ethernet frame (no FCS): destination, source, EtherType, then `payload`; at most 1514 bytes.
 *
 * @example
 * ```ts
 * const frame = ethFrame(BROADCAST_MAC, parseMac('52:54:00:00:00:01'), 0x88b5, new Uint8Array(46));
 * ```
 */
export function ethFrame(dst: Uint8Array, src: Uint8Array, etherType: number, payload: Uint8Array): Uint8Array {
  if (dst.length !== ETH_ALEN || src.length !== ETH_ALEN) throw new RangeError(`ethFrame: MACs of ${dst.length} and ${src.length} bytes`);
  if (ETH_HLEN + payload.length > ETH_FRAME_LEN) throw new RangeError(`ethFrame: ${ETH_HLEN + payload.length} bytes exceed ${ETH_FRAME_LEN}`);
  const frame = new Uint8Array(ETH_HLEN + payload.length);
  frame.set(dst, 0);
  frame.set(src, ETH_ALEN);
  frame[12] = (etherType >>> 8) & 0xff;
  frame[13] = etherType & 0xff;
  frame.set(payload, ETH_HLEN);
  return frame;
}

/** ff:ff:ff:ff:ff:ff. */
export const BROADCAST_MAC: Uint8Array = new Uint8Array(ETH_ALEN).fill(0xff);
