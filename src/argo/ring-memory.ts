import type { GuestMemory } from '../memory/guest-memory.js';
import { MESSAGE_HEADER, RING_HEADER } from './abi.js';
import { R, type ArgoTables } from './tables.js';

/**
 * Access to a registered ring's memory: one logical byte array of 64 + len bytes spread over the
 * ring's gfns, logical byte b in page gfn[b >> 12] at offset b & 4095 (argo.md §5.1). Rings whose
 * pages are consecutive frames take a single-copy fast path.
 */

/** gpa of logical ring byte `logical` of the ring at word `rb`. */
export function ringGpa(tables: ArgoTables, rb: number, logical: number): number {
  const rings = tables.rings;
  const contig = rings[rb + R.CONTIG_GPA];
  if (contig >= 0) return contig + logical;
  return tables.arena[rings[rb + R.PAGES_AT] + (logical >>> 12)] * 4096 + (logical & 4095);
}

/** Atomic read of the guest's rx_ptr (unsanitised). */
export function loadRxPtr(tables: ArgoTables, mem: GuestMemory, rb: number): number {
  return Atomics.load(mem.i32, ringGpa(tables, rb, RING_HEADER.rx_ptr) >>> 2) >>> 0;
}

/** Atomic read of tx_ptr as it stands in the header. */
export function loadTxPtr(tables: ArgoTables, mem: GuestMemory, rb: number): number {
  return Atomics.load(mem.i32, ringGpa(tables, rb, RING_HEADER.tx_ptr) >>> 2) >>> 0;
}

/** Publishes tx_ptr: an atomic 32-bit store (a full barrier in JS), argo.md §5.4 step 4. */
export function storeTxPtr(tables: ArgoTables, mem: GuestMemory, rb: number, tx: number): void {
  Atomics.store(mem.i32, ringGpa(tables, rb, RING_HEADER.tx_ptr) >>> 2, tx);
}

/**
 * Copies `count` bytes of guest memory `src` (from gpa `srcAt`) to ring data offset `dataOff` — the
 * caller has already split at the ring's end, so the run is contiguous in logical space.
 */
export function copyToRing(
  tables: ArgoTables,
  mem: GuestMemory,
  rb: number,
  dataOff: number,
  src: GuestMemory,
  srcAt: number,
  count: number,
): void {
  const contig = tables.rings[rb + R.CONTIG_GPA];
  let logical = RING_HEADER.ring + dataOff;
  if (contig >= 0) {
    copyBytes(mem, contig + logical, src, srcAt, count);
    return;
  }
  while (count > 0) {
    const inPage = Math.min(count, 4096 - (logical & 4095));
    copyBytes(mem, ringGpa(tables, rb, logical), src, srcAt, inPage);
    logical += inPage;
    srcAt += inPage;
    count -= inPage;
  }
}

/**
 * The copy leaf. Short runs are copied in place — by 32-bit words when both ends are 4-aligned (a
 * payload always starts 16-aligned in the ring), else by bytes — which is cheaper than making a
 * `subarray`; long runs use `set`.
 */
function copyBytes(dst: GuestMemory, dstAt: number, src: GuestMemory, srcAt: number, count: number): void {
  if (count > 64) {
    dst.u8.set(src.u8.subarray(srcAt, srcAt + count), dstAt);
    return;
  }
  let i = 0;
  if (((dstAt | srcAt) & 3) === 0) {
    const d32 = dst.i32;
    const s32 = src.i32;
    const dw = dstAt >> 2;
    const sw = srcAt >> 2;
    const words = count >> 2;
    for (let w = 0; w < words; w++) d32[dw + w] = s32[sw + w];
    i = words << 2;
  }
  const d8 = dst.u8;
  const s8 = src.u8;
  for (; i < count; i++) d8[dstAt + i] = s8[srcAt + i];
}

/** True on little-endian hosts, where the 16-aligned message header can be written as four words. */
const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * Writes a message header `{len, source: {aport, domain_id, pad 0}, message_type}` at `gpa`
 * (16-aligned: it never straddles a page, argo.md §5.4 step 1).
 */
export function writeMessageHeader(
  mem: GuestMemory,
  gpa: number,
  len: number,
  srcPort: number,
  srcDomid: number,
  messageType: number,
): void {
  if (HOST_LITTLE_ENDIAN) {
    const w = gpa >>> 2;
    const i32 = mem.i32;
    i32[w] = len;
    i32[w + 1] = srcPort;
    i32[w + 2] = srcDomid & 0xffff; // domain_id u16, pad u16 = 0
    i32[w + 3] = messageType;
    return;
  }
  const v = mem.view;
  v.setUint32(gpa + MESSAGE_HEADER.len, len, true);
  v.setUint32(gpa + MESSAGE_HEADER.source_aport, srcPort, true);
  v.setUint16(gpa + MESSAGE_HEADER.source_domain_id, srcDomid, true);
  v.setUint16(gpa + MESSAGE_HEADER.source_pad, 0, true);
  v.setUint32(gpa + MESSAGE_HEADER.message_type, messageType, true);
}
