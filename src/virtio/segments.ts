import type { GuestMemory } from '../memory/guest-memory.js';
import type { Segment } from './desc-chain.js';

/**
 * Copies out of a chain's readable elements, from byte `offset` of their concatenation, as many
 * bytes as `dst` holds; returns how many it copied (fewer when the elements end first). The device
 * assumes no framing (virtio-ioreq-lifecycle.md §2.2), so a header may straddle elements.
 *
 * @example
 * ```ts
 * const header = new Uint8Array(16);
 * if (gatherBytes(mem, chain.readable, 0, header) < 16) malformed('short header');
 * ```
 */
export function gatherBytes(memory: GuestMemory, segments: readonly Segment[], offset: number, dst: Uint8Array): number {
  let copied = 0;
  forEachPiece(segments, offset, dst.length, (gpa, at, n) => {
    dst.set(memory.u8.subarray(gpa, gpa + n), at);
    copied += n;
  });
  return copied;
}

/**
 * Copies `src` into a chain's writable elements from byte `offset` of their concatenation; returns
 * how many bytes it wrote (fewer when the elements end first).
 *
 * @example
 * ```ts
 * scatterBytes(mem, chain.writable, 0, sectorData);
 * ```
 */
export function scatterBytes(memory: GuestMemory, segments: readonly Segment[], offset: number, src: Uint8Array): number {
  let written = 0;
  forEachPiece(segments, offset, src.length, (gpa, at, n) => {
    memory.u8.set(src.subarray(at, at + n), gpa);
    written += n;
  });
  return written;
}

/** Calls `piece(gpa, at, n)` for each run of the byte range [offset, offset + length) of the segments. */
function forEachPiece(segments: readonly Segment[], offset: number, length: number, piece: (gpa: number, at: number, n: number) => void): void {
  let skip = offset;
  let at = 0;
  for (const s of segments) {
    if (at >= length) return;
    if (skip >= s.len) {
      skip -= s.len;
      continue;
    }
    const n = Math.min(s.len - skip, length - at);
    piece(s.gpa + skip, at, n);
    at += n;
    skip = 0;
  }
}
