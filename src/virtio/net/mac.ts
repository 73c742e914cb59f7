import { ETH_ALEN } from './constants.js';

/**
 * A MAC address as a 12-digit lower-case hex string (a Map key), from `bytes` at `offset`.
 *
 * @example
 * ```ts
 * macKey(frame, 0); // destination, e.g. "525400000001"
 * ```
 */
export function macKey(bytes: Uint8Array, offset = 0): string {
  let key = '';
  for (let i = 0; i < ETH_ALEN; i++) key += bytes[offset + i].toString(16).padStart(2, '0');
  return key;
}

/**
 * Parses "52:54:00:12:34:56" into 6 bytes; throws on anything else.
 *
 * @example
 * ```ts
 * parseMac('52:54:00:00:00:01'); // Uint8Array [0x52, 0x54, 0, 0, 0, 1]
 * ```
 */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(':');
  if (parts.length !== ETH_ALEN || parts.some((p) => !/^[0-9a-fA-F]{2}$/.test(p))) throw new RangeError(`"${text}" is not a MAC address (six hex pairs, ':'-separated)`);
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/**
 * True for a group (multicast or broadcast) address: bit 0 of the first byte.
 *
 * @example
 * ```ts
 * isGroupMac(new Uint8Array(6).fill(0xff)); // true (broadcast)
 * ```
 */
export function isGroupMac(bytes: Uint8Array, offset = 0): boolean {
  return (bytes[offset] & 1) === 1;
}
