/**
 * The VirtIO-Argo wire protocol (docs/virtio-argo.md; a SIM CHOICE after virtio-ioreq-lifecycle.md
 * §4.11): every constant and byte offset of the messages in one place. Each message is one Argo
 * message; its `message_type` names it (`VA_MSG | op`), its payload is little-endian.
 *
 * @example
 * ```ts
 * const type = VA_MSG | VA_OP.SET_STATUS;  // 0x56410003
 * vaOpOf(type);                             // VA_OP.SET_STATUS
 * ```
 */

/** 'VA' in the top half of message_type: a receiver drops anything else (as the Linux driver does, argo.md §10.2). */
export const VA_MSG = 0x5641_0000;
export const VA_MSG_MASK = 0xffff_0000;

/** Message operations: 1–15 front→back control, 16 the kick, 32+ back→front. */
export const VA_OP = {
  HELLO: 1,
  GET_STATUS: 2,
  SET_STATUS: 3,
  GET_FEATURES: 4,
  SET_FEATURES: 5,
  GET_CONFIG: 6,
  SET_CONFIG: 7,
  QUEUE_READY: 8,
  QUEUE_RESET: 9,
  AVAIL_SYNC: 16,
  REPLY: 32,
  USED_SYNC: 33,
  CONFIG_CHANGED: 34,
} as const;

/** The op of a VirtIO-Argo message_type, or -1 for a message of another protocol. */
export function vaOpOf(messageType: number): number {
  return (messageType & VA_MSG_MASK) >>> 0 === VA_MSG ? messageType & 0xffff : -1;
}

/** A control request: {seq u32, arg0 u32, arg1 u32, arg2 u32}. */
export const VA_REQUEST = { seq: 0, arg0: 4, arg1: 8, arg2: 12, size: 16 } as const;

/** The answer to a control request: {seq u32, rc i32 (0 or -errno), value u32, generation u32}. */
export const VA_REPLY = { seq: 0, rc: 4, value: 8, generation: 12, size: 16 } as const;

/** HELLO's answer packs the device's identity into `value`/`generation`: deviceId u16 | queueCount u16, queueSizeMax u16 | configBytes u16. */
export const VA_HELLO = { deviceIdShift: 0, queueCountShift: 16, queueSizeMaxShift: 0, configBytesShift: 16 } as const;

/** Head of AVAIL_SYNC and USED_SYNC: {seq u32, queue u16, count u16, bytes u32 (whole payload), reserved u32}. */
export const VA_SYNC = { seq: 0, queue: 4, count: 6, bytes: 8, reserved: 12, size: 16 } as const;

/** One chain in AVAIL_SYNC: {head u16, pad u16, readableBytes u32, writableBytes u32}, then readableBytes bytes, padded to 4. */
export const VA_AVAIL_ENTRY = { head: 0, pad: 2, readableBytes: 4, writableBytes: 8, size: 12 } as const;

/** One used chain in USED_SYNC: {head u16, pad u16, len u32}, then len bytes written, padded to 4. */
export const VA_USED_ENTRY = { head: 0, pad: 2, len: 4, size: 8 } as const;

/** CONFIG_CHANGED: {seq u32 = 0, status u32, generation u32, reserved u32}. */
export const VA_CONFIG_CHANGED = { seq: 0, status: 4, generation: 8, reserved: 12, size: 16 } as const;

/** Bytes rounded up to the 4-byte alignment of the next entry. */
export const align4 = (n: number): number => (n + 3) & ~3;

/** The largest Argo payload a ring of `ringLen` bytes takes (argo.md §4.3 step 16: len > 16 + roundup16(L)). */
export const maxPayloadFor = (ringLen: number): number => ringLen - 32;

/**
 * Writes the 16-byte head of an AVAIL_SYNC or USED_SYNC at the start of `view`.
 *
 * @example
 * ```ts
 * writeSyncHead(view, 0, chains, bytes);
 * ```
 */
export function writeSyncHead(view: DataView, queue: number, count: number, bytes: number): void {
  view.setUint32(VA_SYNC.seq, 0, true);
  view.setUint16(VA_SYNC.queue, queue, true);
  view.setUint16(VA_SYNC.count, count, true);
  view.setUint32(VA_SYNC.bytes, bytes, true);
  view.setUint32(VA_SYNC.reserved, 0, true);
}
