import type { GuestMemory } from '../memory/guest-memory.js';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from './constants.js';
import { VIRTQ_DESC, type VringAddresses } from './layout.js';
import { readU64 } from './ring-stores.js';

/** One element of a chain as the device sees it: `len` bytes at `gpa`, checked to lie in RAM. */
export interface Segment {
  readonly gpa: number;
  readonly len: number;
}

/** A descriptor chain the device took from the available ring, split at the readable/writable border. */
export interface DescChain {
  readonly head: number;
  readonly readable: readonly Segment[];
  readonly writable: readonly Segment[];
  readonly readableBytes: number;
  readonly writableBytes: number;
}

/** The walk's answer: the chain, or why the ring is malformed (the device then needs a reset). */
export type ChainWalk = { ok: true; chain: DescChain } | { ok: false; reason: string };

/**
 * The most entries an indirect table may hold (**SIM CHOICE**: §2.2 lets the device cap a chain "at
 * a reasonable value"; QEMU's VIRTQUEUE_MAX_SIZE).
 */
export const INDIRECT_TABLE_MAX = 1024;

/** Total bytes of one chain must stay below 2^32 (§2.2). */
const CHAIN_BYTES_LIMIT = 0x1_0000_0000;

interface Walk {
  table: number;
  tableSize: number;
  inIndirect: boolean;
  readable: Segment[];
  writable: Segment[];
  bytes: number;
}

/**
 * Walks the chain at `head` (virtio-ioreq-lifecycle.md §2.2, §2.3) with every bound a guest can break
 * checked, never trusting a field: at most qsz descriptors direct (or the table's entries inside an
 * indirect table), so a loop ends; `next` inside the table; no readable element after a writable one
 * (case 7); INDIRECT only when negotiated (case 8), never with NEXT nor inside an indirect table
 * (case 9), its table a whole number of descriptors in RAM; every buffer in RAM; total bytes < 2^32.
 * WRITE on the INDIRECT descriptor itself is ignored (§2.3).
 *
 * @example
 * ```ts
 * const walk = walkChain(mem, ring, head, true);
 * if (!walk.ok) needsReset(walk.reason);
 * ```
 */
export function walkChain(memory: GuestMemory, ring: VringAddresses, head: number, indirectAllowed: boolean): ChainWalk {
  const { view } = memory;
  const w: Walk = { table: ring.desc, tableSize: ring.qsz, inIndirect: false, readable: [], writable: [], bytes: 0 };
  let i = head;
  let count = 0;
  for (;;) {
    if (count++ >= w.tableSize) return fail(`descriptor chain from head ${head} is longer than its table of ${w.tableSize} (a loop)`);
    const gpa = w.table + VIRTQ_DESC.size * i;
    const addr = readU64(view, gpa + VIRTQ_DESC.addr);
    const len = view.getUint32(gpa + VIRTQ_DESC.len, true);
    const flags = view.getUint16(gpa + VIRTQ_DESC.flags, true);
    if ((flags & VIRTQ_DESC_F_INDIRECT) !== 0) {
      const why = enterIndirect(memory, w, addr, len, flags, indirectAllowed);
      if (why !== null) return fail(`head ${head}: ${why}`);
      i = 0;
      count = 0;
      continue;
    }
    const why = addSegment(memory, w, addr, len, flags);
    if (why !== null) return fail(`head ${head}, descriptor ${i}: ${why}`);
    if ((flags & VIRTQ_DESC_F_NEXT) === 0) break;
    i = view.getUint16(gpa + VIRTQ_DESC.next, true);
    if (i >= w.tableSize) return fail(`head ${head}: next ${i} is outside a table of ${w.tableSize}`);
  }
  return { ok: true, chain: finish(head, w) };
}

/** §2.3: switch the walk into the indirect table, or say why the descriptor is illegal. */
function enterIndirect(memory: GuestMemory, w: Walk, addr: number, len: number, flags: number, allowed: boolean): string | null {
  if (!allowed) return 'INDIRECT without VIRTIO_F_INDIRECT_DESC negotiated (§2.3)';
  if (w.inIndirect) return 'INDIRECT inside an indirect table (§2.3)';
  if ((flags & VIRTQ_DESC_F_NEXT) !== 0) return 'INDIRECT and NEXT set together (§2.3)';
  if (len === 0 || len % VIRTQ_DESC.size !== 0) return `indirect table of ${len} bytes is not a whole number of descriptors`;
  if (len / VIRTQ_DESC.size > INDIRECT_TABLE_MAX) return `indirect table of ${len / VIRTQ_DESC.size} descriptors exceeds ${INDIRECT_TABLE_MAX}`;
  if (!memory.contains(addr, len)) return `indirect table [0x${addr.toString(16)}, +${len}) is not in RAM`;
  w.table = addr;
  w.tableSize = len / VIRTQ_DESC.size;
  w.inIndirect = true;
  return null;
}

/** Adds one element to the walk, or says why it is illegal. */
function addSegment(memory: GuestMemory, w: Walk, addr: number, len: number, flags: number): string | null {
  if (!memory.contains(addr, len)) return `buffer [0x${addr.toString(16)}, +${len}) is not in RAM`;
  w.bytes += len;
  if (w.bytes >= CHAIN_BYTES_LIMIT) return 'chain carries 2^32 bytes or more (§2.2)';
  if ((flags & VIRTQ_DESC_F_WRITE) !== 0) {
    w.writable.push({ gpa: addr, len });
  } else {
    if (w.writable.length > 0) return 'device-readable element after a device-writable one (§2.2)';
    w.readable.push({ gpa: addr, len });
  }
  return null;
}

function finish(head: number, w: Walk): DescChain {
  const sum = (s: readonly Segment[]) => s.reduce((n, x) => n + x.len, 0);
  return { head, readable: w.readable, writable: w.writable, readableBytes: sum(w.readable), writableBytes: sum(w.writable) };
}

function fail(reason: string): ChainWalk {
  return { ok: false, reason };
}
