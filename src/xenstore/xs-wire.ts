import { PAGE_SIZE } from '../memory/constants.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { ERRNO, errnoName } from '../xen/errno.js';
import type { XenstoreApi } from './xenstore-api.js';

/**
 * The xenstore wire (public/io/xs_wire.h, docs/misc/xenstore-ring.txt): the shared page
 * `struct xenstore_domain_interface` between a guest and xenstored, and the `struct xsd_sockmsg`
 * messages on its two rings. The one place this layout lives.
 *
 * The page: `req[1024]` (guest → xenstored), `rsp[1024]` (replies and watch events), then the
 * free-running u32 indexes `req_cons, req_prod, rsp_cons, rsp_prod` (masked by the ring size when
 * used), `server_features`, `connection` and `error`. A message is a 16-byte header (`type`,
 * `req_id`, `tx_id`, `len`) and `len` ≤ 4096 payload bytes, and may span the ring's wrap and several
 * writes: each side keeps what it has read of a message until the rest comes (xenstored's `conn->in`).
 */
export const XENSTORE_RING_SIZE = 1024;
export const XS_IFACE = {
  req: 0,
  rsp: 1024,
  req_cons: 2048,
  req_prod: 2052,
  rsp_cons: 2056,
  rsp_prod: 2060,
  server_features: 2064,
  connection: 2068,
  error: 2072,
} as const;
/** `struct xsd_sockmsg`: type, req_id, tx_id, len (u32 each). */
export const XSD_SOCKMSG_BYTES = 16;
export const XENSTORE_PAYLOAD_MAX = 4096;

/** `enum xsd_sockmsg_type` (the ones this model sends or answers). */
export const XS_DIRECTORY = 1;
export const XS_READ = 2;
export const XS_WRITE = 11;
export const XS_RM = 13;
export const XS_ERROR = 16;

/** `connection`: the steady state, or a (re)connection in progress (dom0less: until XS_INTRODUCE). */
export const XENSTORE_CONNECTED = 0;
export const XENSTORE_RECONNECT = 1;
/** `server_features` bits. */
export const XENSTORE_SERVER_FEATURE_RECONNECTION = 1;
export const XENSTORE_SERVER_FEATURE_ERROR = 2;
/** `error`: what made xenstored give up on the connection. */
export const XENSTORE_ERROR_NONE = 0;
export const XENSTORE_ERROR_RINGIDX = 2;
export const XENSTORE_ERROR_PROTO = 3;

/** One `xsd_sockmsg` and its payload. */
export interface XsMessage {
  type: number;
  reqId: number;
  txId: number;
  payload: Uint8Array;
}

/** Which end of the page this is: the guest writes `req` and reads `rsp`; xenstored the other way. */
export type XsSide = 'guest' | 'xenstored';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Strings as the wire carries them: each NUL-terminated (a path, or a path and a value). */
export function xsStrings(...parts: string[]): Uint8Array {
  return encoder.encode(parts.map((p) => `${p}\0`).join(''));
}

/** The NUL-separated strings of a payload (a directory listing, an error name), the last NUL optional. */
export function xsParts(payload: Uint8Array): string[] {
  const text = decoder.decode(payload);
  const parts = text.split('\0');
  if (parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/**
 * One end of a xenstore page in guest memory: sends messages into its outgoing ring (as much as fits
 * now; the rest when the other side has made room — `flush` again after its notification) and takes
 * whole messages from its incoming ring. The caller notifies the other side's event channel when
 * `flush` moved bytes or `receive` freed room, as Linux's xenbus and xenstored do.
 *
 * @example
 * ```ts
 * const guest = new XsConnection(memory, gpa, 'guest');
 * guest.send({ type: XS_DIRECTORY, reqId: 1, txId: 0, payload: xsStrings('/local/domain/3/device') });
 * guest.flush(); // > 0: notify xenstored
 * ```
 */
export class XsConnection {
  private readonly outRing: number;
  private readonly inRing: number;
  private readonly outCons: number;
  private readonly outProd: number;
  private readonly inCons: number;
  private readonly inProd: number;
  private readonly outQueue: Uint8Array[] = [];
  private outOffset = 0;
  /** Bytes of an incoming message taken so far (header, then payload). */
  private partial = new Uint8Array(0);

  constructor(
    readonly memory: GuestMemory,
    readonly gpa: number,
    readonly side: XsSide,
  ) {
    if (!Number.isInteger(gpa) || gpa % PAGE_SIZE !== 0 || !memory.contains(gpa, PAGE_SIZE)) throw new RangeError(`xenstore page at ${gpa} is not a page of the guest's memory`);
    const guest = side === 'guest';
    this.outRing = gpa + (guest ? XS_IFACE.req : XS_IFACE.rsp);
    this.inRing = gpa + (guest ? XS_IFACE.rsp : XS_IFACE.req);
    this.outCons = (gpa + (guest ? XS_IFACE.req_cons : XS_IFACE.rsp_cons)) >>> 2;
    this.outProd = (gpa + (guest ? XS_IFACE.req_prod : XS_IFACE.rsp_prod)) >>> 2;
    this.inCons = (gpa + (guest ? XS_IFACE.rsp_cons : XS_IFACE.req_cons)) >>> 2;
    this.inProd = (gpa + (guest ? XS_IFACE.rsp_prod : XS_IFACE.req_prod)) >>> 2;
  }

  /** Queues a message (payload ≤ XENSTORE_PAYLOAD_MAX); `flush` writes it. */
  send(m: XsMessage): void {
    if (m.payload.length > XENSTORE_PAYLOAD_MAX) throw new RangeError(`xenstore message of ${m.payload.length} bytes: the wire carries at most ${XENSTORE_PAYLOAD_MAX}`);
    const bytes = new Uint8Array(XSD_SOCKMSG_BYTES + m.payload.length);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, m.type, true);
    view.setUint32(4, m.reqId, true);
    view.setUint32(8, m.txId, true);
    view.setUint32(12, m.payload.length, true);
    bytes.set(m.payload, XSD_SOCKMSG_BYTES);
    this.outQueue.push(bytes);
  }

  /**
   * Writes queued bytes while the outgoing ring has room: the bytes first, the producer index after
   * (the reader sees them once it sees the index). Returns the bytes written, or -1 when the indexes
   * are invalid (the other side broke them: XENSTORE_ERROR_RINGIDX).
   */
  flush(): number {
    const i32 = this.memory.i32;
    const cons = Atomics.load(i32, this.outCons) >>> 0;
    let prod = Atomics.load(i32, this.outProd) >>> 0;
    if (((prod - cons) >>> 0) > XENSTORE_RING_SIZE) return -1;
    let written = 0;
    while (this.outQueue.length > 0) {
      const room = XENSTORE_RING_SIZE - ((prod - cons) >>> 0);
      if (room === 0) break;
      const head = this.outQueue[0];
      const n = Math.min(room, head.length - this.outOffset);
      this.copyIn(prod, head.subarray(this.outOffset, this.outOffset + n));
      prod = (prod + n) >>> 0;
      written += n;
      this.outOffset += n;
      if (this.outOffset === head.length) {
        this.outQueue.shift();
        this.outOffset = 0;
      }
    }
    if (written > 0) Atomics.store(i32, this.outProd, prod | 0);
    return written;
  }

  /** True when the other side has read everything this end sent (nothing queued, the outgoing ring empty). */
  drained(): boolean {
    const i32 = this.memory.i32;
    return this.outQueue.length === 0 && Atomics.load(i32, this.outCons) === Atomics.load(i32, this.outProd);
  }

  /** Bytes still queued for the outgoing ring. */
  get queued(): number {
    return this.outQueue.reduce((n, b) => n + b.length, 0) - this.outOffset;
  }

  /**
   * Takes every byte the incoming ring holds and returns the whole messages among them (a message's
   * start stays here until its end comes). `error` is set, and nothing more is taken, when the
   * indexes are invalid or a header announces more than XENSTORE_PAYLOAD_MAX bytes — the other side
   * broke the protocol. `freed`: bytes of room made for the other side (notify it).
   */
  receive(): { messages: XsMessage[]; freed: number; error: number } {
    const i32 = this.memory.i32;
    let cons = Atomics.load(i32, this.inCons) >>> 0;
    const prod = Atomics.load(i32, this.inProd) >>> 0;
    const avail = (prod - cons) >>> 0;
    if (avail > XENSTORE_RING_SIZE) return { messages: [], freed: 0, error: XENSTORE_ERROR_RINGIDX };
    const messages: XsMessage[] = [];
    if (avail > 0) {
      const joined = new Uint8Array(this.partial.length + avail);
      joined.set(this.partial);
      this.copyOut(cons, joined.subarray(this.partial.length));
      cons = (cons + avail) >>> 0;
      Atomics.store(i32, this.inCons, cons | 0);
      this.partial = joined;
    }
    let at = 0;
    while (this.partial.length - at >= XSD_SOCKMSG_BYTES) {
      const view = new DataView(this.partial.buffer, this.partial.byteOffset + at);
      const len = view.getUint32(12, true);
      if (len > XENSTORE_PAYLOAD_MAX) return { messages, freed: avail, error: XENSTORE_ERROR_PROTO };
      if (this.partial.length - at < XSD_SOCKMSG_BYTES + len) break;
      messages.push({
        type: view.getUint32(0, true),
        reqId: view.getUint32(4, true),
        txId: view.getUint32(8, true),
        payload: this.partial.slice(at + XSD_SOCKMSG_BYTES, at + XSD_SOCKMSG_BYTES + len),
      });
      at += XSD_SOCKMSG_BYTES + len;
    }
    this.partial = this.partial.slice(at);
    return { messages, freed: avail, error: XENSTORE_ERROR_NONE };
  }

  /**
   * xenstored's `domain_conn_reset`: the four indexes back to zero, whatever either side had written
   * and not read dropped (and this end's partial and queued messages). Returns the whole requests it
   * wiped from `req` and the whole replies from `rsp` (answers the guest will never read).
   */
  reset(): { requests: number; replies: number } {
    const i32 = this.memory.i32;
    const base = this.gpa >>> 2;
    // each index read and zeroed in one step: a message whose producer store lands before it is
    // counted as wiped; one landing after it is written past the new, empty ring (as in Xen)
    const wipe = (prodAt: number, consAt: number, ring: number): number => {
      const prod = Atomics.exchange(i32, base + (prodAt >>> 2), 0) >>> 0;
      const cons = Atomics.exchange(i32, base + (consAt >>> 2), 0) >>> 0;
      const unread = (prod - cons) >>> 0;
      return unread <= XENSTORE_RING_SIZE ? this.wholeMessagesAt(this.gpa + ring, cons, unread) : 0;
    };
    // counted from the ring's message boundaries: right while each side takes whole messages and no
    // reply waits in this end's queue — as for the small requests and replies of this model's clients
    const requests = wipe(XS_IFACE.req_prod, XS_IFACE.req_cons, XS_IFACE.req);
    const replies = wipe(XS_IFACE.rsp_prod, XS_IFACE.rsp_cons, XS_IFACE.rsp);
    this.partial = new Uint8Array(0);
    this.outQueue.length = 0;
    this.outOffset = 0;
    return { requests, replies };
  }

  /** Reads a u32 field of the page (`connection`, `server_features`, `error`). */
  field(offset: typeof XS_IFACE.connection | typeof XS_IFACE.server_features | typeof XS_IFACE.error): number {
    return Atomics.load(this.memory.i32, (this.gpa + offset) >>> 2) >>> 0;
  }

  /** Writes a u32 field of the page. */
  setField(offset: typeof XS_IFACE.connection | typeof XS_IFACE.server_features | typeof XS_IFACE.error, value: number): void {
    Atomics.store(this.memory.i32, (this.gpa + offset) >>> 2, value | 0);
  }

  /** Whole messages in `len` unread bytes of the ring at `ring` from index `cons`. */
  private wholeMessagesAt(ring: number, cons: number, len: number): number {
    const bytes = new Uint8Array(len);
    for (let i = 0; i < len; i++) bytes[i] = this.memory.u8[ring + ((cons + i) & (XENSTORE_RING_SIZE - 1))];
    let n = 0;
    for (let at = 0; len - at >= XSD_SOCKMSG_BYTES; n++) {
      const size = XSD_SOCKMSG_BYTES + new DataView(bytes.buffer, at).getUint32(12, true);
      if (len - at < size) break;
      at += size;
    }
    return n;
  }

  private copyIn(index: number, bytes: Uint8Array): void {
    const at = index & (XENSTORE_RING_SIZE - 1);
    const first = Math.min(bytes.length, XENSTORE_RING_SIZE - at);
    this.memory.u8.set(bytes.subarray(0, first), this.outRing + at);
    if (first < bytes.length) this.memory.u8.set(bytes.subarray(first), this.outRing);
  }

  private copyOut(index: number, into: Uint8Array): void {
    const at = index & (XENSTORE_RING_SIZE - 1);
    const first = Math.min(into.length, XENSTORE_RING_SIZE - at);
    into.set(this.memory.u8.subarray(this.inRing + at, this.inRing + at + first));
    if (first < into.length) into.set(this.memory.u8.subarray(this.inRing, this.inRing + into.length - first), first);
  }
}

/**
 * xenstored's answer to one request from domain `domid`, served by `store`: the reply has the
 * request's type, `req_id` and `tx_id`, or is XS_ERROR with the errno's name (xenstored's
 * `send_error`). SIM CHOICE (docs/xenstore.md): the wire serves XS_DIRECTORY, XS_READ, XS_WRITE and
 * XS_RM outside transactions — what this model's clients over it send; any other type is ENOSYS (as
 * xenstored answers a type it does not serve), a non-zero `tx_id` ENOENT (no transaction was opened
 * on the wire), a reply larger than XENSTORE_PAYLOAD_MAX E2BIG.
 *
 * @example
 * ```ts
 * answerXsRequest(store, 3, { type: XS_DIRECTORY, reqId: 1, txId: 0, payload: xsStrings('/local/domain/3/device') });
 * // { type: XS_ERROR, reqId: 1, txId: 0, payload: 'ENOENT\0' } for a guest with no devices
 * ```
 */
export function answerXsRequest(store: XenstoreApi, domid: number, m: XsMessage): XsMessage {
  const fail = (errno: number): XsMessage => ({ type: XS_ERROR, reqId: m.reqId, txId: m.txId, payload: xsStrings(errnoName(errno) ?? 'EIO') });
  const reply = (type: number, payload: Uint8Array): XsMessage =>
    // xenstored's send_reply: a reply that does not fit one message is E2BIG
    payload.length > XENSTORE_PAYLOAD_MAX ? fail(ERRNO.E2BIG) : { type, reqId: m.reqId, txId: m.txId, payload };
  if (![XS_DIRECTORY, XS_READ, XS_WRITE, XS_RM].includes(m.type)) return fail(ERRNO.ENOSYS);
  // no XS_TRANSACTION_START is served here: any transaction id is one this connection never
  // opened (transaction_lookup: ENOENT) — never another domain's
  if (m.txId !== 0) return fail(ERRNO.ENOENT);
  const [path] = xsParts(m.payload);
  if (path === undefined) return fail(ERRNO.EINVAL);
  switch (m.type) {
    case XS_DIRECTORY: {
      const children = store.directory(domid, path);
      return typeof children === 'number' ? fail(children) : reply(XS_DIRECTORY, xsStrings(...children));
    }
    case XS_READ: {
      const value = store.read(domid, path);
      return typeof value === 'number' ? fail(value) : reply(XS_READ, encoder.encode(value));
    }
    case XS_WRITE: {
      // the path NUL-terminated, then the value's bytes (not terminated)
      const nul = m.payload.indexOf(0);
      if (nul < 0) return fail(ERRNO.EINVAL);
      const rc = store.write(domid, path, decoder.decode(m.payload.subarray(nul + 1)));
      return rc === true ? reply(XS_WRITE, xsStrings('OK')) : fail(rc);
    }
    default: {
      const rc = store.rm(domid, path);
      return rc === true ? reply(XS_RM, xsStrings('OK')) : fail(rc);
    }
  }
}
