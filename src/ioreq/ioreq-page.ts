import { PAGE_SIZE } from '../memory/constants.js';
import type { GuestMemory } from '../memory/guest-memory.js';

/**
 * `ioreq_t` (public/hvm/ioreq.h; 32 bytes, virtio-ioreq-lifecycle.md §5.3) and the synchronous
 * page `shared_iopage` holding one per vCPU. The one place this layout lives. The bit-fields after
 * `_pad0` share byte 30 (GCC, little-endian: state bits 0–3, data_is_ptr 4, dir 5, df 6).
 *
 * @example
 * ```ts
 * writeIoreq(page, 0, { addr: 0x2000050n, data: 0n, count: 1, size: 4, vpEport: 3, state: STATE_IOREQ_READY,
 *   dataIsPtr: false, dir: IOREQ_WRITE, df: false, type: IOREQ_TYPE_COPY });
 * readIoreq(page, 0).state; // 1
 * ```
 */
export const IOREQ_T = { addr: 0, data: 8, count: 16, size: 20, vp_eport: 24, _pad0: 28, flags: 30, type: 31, size_bytes: 32 } as const;
const STATE_MASK = 0x0f;
const DATA_IS_PTR = 1 << 4;
const DIR = 1 << 5;
const DF = 1 << 6;

/** Slots one synchronous page holds: 4096 / 32 = 128, the model's vCPU limit as well. */
export const IOREQ_SLOTS_PER_PAGE = PAGE_SIZE / IOREQ_T.size_bytes;

/** One decoded `ioreq_t`. `data` is the u64 field. */
export interface Ioreq {
  addr: bigint;
  data: bigint;
  count: number;
  size: number;
  vpEport: number;
  /** 4 bits: any value 0–15 can be read back, since the emulator writes it. */
  state: number;
  dataIsPtr: boolean;
  dir: number;
  df: boolean;
  type: number;
}

/** Byte offset of vCPU `vcpu`'s slot in the synchronous page (`vcpu_ioreq[vcpu]`). */
export function slotOffset(vcpu: number): number {
  if (!Number.isInteger(vcpu) || vcpu < 0 || vcpu >= IOREQ_SLOTS_PER_PAGE) throw new RangeError(`vCPU ${vcpu} has no ioreq slot (0–${IOREQ_SLOTS_PER_PAGE - 1})`);
  return vcpu * IOREQ_T.size_bytes;
}

/** Decodes the slot of `vcpu`. */
export function readIoreq(page: GuestMemory, vcpu: number): Ioreq {
  const at = slotOffset(vcpu);
  const v = page.view;
  const flags = v.getUint8(at + IOREQ_T.flags);
  return {
    addr: v.getBigUint64(at + IOREQ_T.addr, true),
    data: v.getBigUint64(at + IOREQ_T.data, true),
    count: v.getUint32(at + IOREQ_T.count, true),
    size: v.getUint32(at + IOREQ_T.size, true),
    vpEport: v.getUint32(at + IOREQ_T.vp_eport, true),
    state: flags & STATE_MASK,
    dataIsPtr: (flags & DATA_IS_PTR) !== 0,
    dir: (flags & DIR) !== 0 ? 1 : 0,
    df: (flags & DF) !== 0,
    type: v.getUint8(at + IOREQ_T.type),
  };
}

/** Encodes every field of the slot of `vcpu` (padding zeroed), the state byte last. */
export function writeIoreq(page: GuestMemory, vcpu: number, p: Ioreq): void {
  const at = slotOffset(vcpu);
  const v = page.view;
  v.setBigUint64(at + IOREQ_T.addr, BigInt.asUintN(64, p.addr), true);
  v.setBigUint64(at + IOREQ_T.data, BigInt.asUintN(64, p.data), true);
  v.setUint32(at + IOREQ_T.count, p.count >>> 0, true);
  v.setUint32(at + IOREQ_T.size, p.size >>> 0, true);
  v.setUint32(at + IOREQ_T.vp_eport, p.vpEport >>> 0, true);
  v.setUint16(at + IOREQ_T._pad0, 0, true);
  v.setUint8(at + IOREQ_T.type, p.type & 0xff);
  // the state is published last: the reader sees the request complete once it sees READY (§5.4)
  Atomics.store(page.u8, at + IOREQ_T.flags, encodeFlags(p));
}

function encodeFlags(p: Ioreq): number {
  return (p.state & STATE_MASK) | (p.dataIsPtr ? DATA_IS_PTR : 0) | (p.dir ? DIR : 0) | (p.df ? DF : 0);
}

/** The state nibble of the slot, read once (XSA-262: Xen reads it once per check, §5.4). */
export function slotState(page: GuestMemory, vcpu: number): number {
  return Atomics.load(page.u8, slotOffset(vcpu) + IOREQ_T.flags) & STATE_MASK;
}

/** Stores `state` (0–15) into the slot's nibble, keeping the other bit-fields. */
export function setSlotState(page: GuestMemory, vcpu: number, state: number): void {
  if (!Number.isInteger(state) || state < 0 || state > STATE_MASK) throw new RangeError(`ioreq state ${state} does not fit 4 bits`);
  const at = slotOffset(vcpu) + IOREQ_T.flags;
  const flags = Atomics.load(page.u8, at);
  Atomics.store(page.u8, at, (flags & ~STATE_MASK) | state);
}

/** Stores the `data` field (an emulator answering a read). */
export function setSlotData(page: GuestMemory, vcpu: number, data: bigint): void {
  page.view.setBigUint64(slotOffset(vcpu) + IOREQ_T.data, BigInt.asUintN(64, data), true);
}

/** Stores `vp_eport` (Xen does on enable, §5.8). */
export function setSlotEport(page: GuestMemory, vcpu: number, port: number): void {
  page.view.setUint32(slotOffset(vcpu) + IOREQ_T.vp_eport, port >>> 0, true);
}
