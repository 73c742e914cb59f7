import type { GuestMemory } from '../memory/guest-memory.js';
import { BUF_IOREQ_ADDR_MAX, IOREQ_BUFFER_SLOT_NUM } from './constants.js';

/**
 * The buffered page (`buffered_iopage`, virtio-ioreq-lifecycle.md §5.3, §5.7): read_pointer u32,
 * write_pointer u32, then 511 slots of `buf_ioreq` (8 bytes). The one place this layout lives.
 * A slot's first word packs type (bits 0–7), pad (8), dir (9), size (10–11: 0→1, 1→2, 2→4, 3→8
 * bytes) and addr (12–31, 20 bits); its second word is the data (an 8-byte write takes two slots,
 * the second carrying the high half).
 *
 * @example
 * ```ts
 * bufferedSend(page, { type: IOREQ_TYPE_PIO, dir: IOREQ_WRITE, size: 1, addr: 0x3c0, data: 7n }, true); // true
 * drainBuffered(page);  // [{ type: 0, dir: 0, size: 1, addr: 0x3c0, data: 7n }]
 * ```
 */
export const BUFFERED_IOPAGE = { read_pointer: 0, write_pointer: 4, buf_ioreq: 8, slot_bytes: 8 } as const;

/** One buffered request (always a single write of 1, 2, 4 or 8 bytes). */
export interface BufIoreq {
  type: number;
  dir: number;
  size: 1 | 2 | 4 | 8;
  addr: number;
  data: bigint;
}

const SIZE_CODE: Record<number, number> = { 1: 0, 2: 1, 4: 2, 8: 3 };
const SIZE_OF_CODE = [1, 2, 4, 8] as const;

const slotAt = (index: number): number => BUFFERED_IOPAGE.buf_ioreq + (index % IOREQ_BUFFER_SLOT_NUM) * BUFFERED_IOPAGE.slot_bytes;

/** Whether a request may go on the buffered page at all (§5.7): addr ≤ 0xFFFFF, count 1, no data pointer. */
export function bufferable(addr: number, count: number, dataIsPtr: boolean, size: number): boolean {
  return addr >= 0 && addr <= BUF_IOREQ_ADDR_MAX && count === 1 && !dataIsPtr && SIZE_CODE[size] !== undefined;
}

/**
 * Xen's `ioreq_send_buffered` after the checks on the request: false when the queue is full
 * ((wp − rp) ≥ 511 − qw, qw = 1 for 8 bytes). Writes the slot(s), then advances write_pointer (the
 * write barrier: the pointer is stored last). `atomic` (HANDLE_BUFIOREQ_ATOMIC) normalises both
 * pointers so they never overflow.
 */
export function bufferedSend(page: GuestMemory, req: BufIoreq, atomic: boolean): boolean {
  const v = page.view;
  const qw = req.size === 8 ? 1 : 0;
  const rp = Atomics.load(page.i32, BUFFERED_IOPAGE.read_pointer >> 2) >>> 0;
  const wp = Atomics.load(page.i32, BUFFERED_IOPAGE.write_pointer >> 2) >>> 0;
  if (((wp - rp) >>> 0) >= IOREQ_BUFFER_SLOT_NUM - qw) return false; // §5.7 queue full
  const head = (req.type & 0xff) | ((req.dir & 1) << 9) | (SIZE_CODE[req.size] << 10) | ((req.addr & BUF_IOREQ_ADDR_MAX) << 12);
  v.setUint32(slotAt(wp), head >>> 0, true);
  v.setUint32(slotAt(wp) + 4, Number(BigInt.asUintN(32, req.data)), true);
  if (qw) {
    v.setUint32(slotAt(wp + 1), head >>> 0, true);
    v.setUint32(slotAt(wp + 1) + 4, Number(BigInt.asUintN(32, req.data >> 32n)), true);
  }
  Atomics.store(page.i32, BUFFERED_IOPAGE.write_pointer >> 2, (wp + qw + 1) | 0);
  if (atomic) normalisePointers(page);
  return true;
}

/** §5.7 ATOMIC mode: both pointers lose whole multiples of 511 together (Xen uses one 64-bit cmpxchg). */
function normalisePointers(page: GuestMemory): void {
  const rp = Atomics.load(page.i32, BUFFERED_IOPAGE.read_pointer >> 2) >>> 0;
  if (rp < IOREQ_BUFFER_SLOT_NUM) return;
  const cut = rp - (rp % IOREQ_BUFFER_SLOT_NUM);
  const wp = Atomics.load(page.i32, BUFFERED_IOPAGE.write_pointer >> 2) >>> 0;
  Atomics.store(page.i32, BUFFERED_IOPAGE.read_pointer >> 2, rp - cut);
  Atomics.store(page.i32, BUFFERED_IOPAGE.write_pointer >> 2, wp - cut);
}

/** The emulator's side: every queued request, oldest first; read_pointer advances past them. */
export function drainBuffered(page: GuestMemory): BufIoreq[] {
  const v = page.view;
  const out: BufIoreq[] = [];
  let rp = Atomics.load(page.i32, BUFFERED_IOPAGE.read_pointer >> 2) >>> 0;
  const wp = Atomics.load(page.i32, BUFFERED_IOPAGE.write_pointer >> 2) >>> 0;
  while (rp !== wp) {
    const head = v.getUint32(slotAt(rp), true);
    const size = SIZE_OF_CODE[(head >>> 10) & 3];
    let data = BigInt(v.getUint32(slotAt(rp) + 4, true));
    if (size === 8) data |= BigInt(v.getUint32(slotAt(rp + 1) + 4, true)) << 32n;
    out.push({ type: head & 0xff, dir: (head >>> 9) & 1, size, addr: head >>> 12, data });
    rp = (rp + (size === 8 ? 2 : 1)) >>> 0;
  }
  Atomics.store(page.i32, BUFFERED_IOPAGE.read_pointer >> 2, rp | 0);
  return out;
}

/** read_pointer and write_pointer as stored. */
export function bufferedPointers(page: GuestMemory): { readPointer: number; writePointer: number } {
  return {
    readPointer: Atomics.load(page.i32, BUFFERED_IOPAGE.read_pointer >> 2) >>> 0,
    writePointer: Atomics.load(page.i32, BUFFERED_IOPAGE.write_pointer >> 2) >>> 0,
  };
}
