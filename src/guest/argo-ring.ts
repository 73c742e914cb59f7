import { MESSAGE_HEADER, RING_HEADER } from '../argo/abi.js';
import { ARGO_MSG_HEADER_BYTES, XEN_ARGO_DOMID_ANY, roundupMessage } from '../argo/constants.js';
import type { GuestMemory } from '../memory/guest-memory.js';

/** `nextPayloadBytes` of a ring whose next header disagrees with the pointers. */
export const RING_CORRUPT = -2;
const NOTHING = new Uint8Array(0);

/** A message taken off a ring. */
export interface ArgoMessage {
  source: { domid: number; aport: number };
  messageType: number;
  payload: Uint8Array;
}

/** Metadata of the last message `recvInto` returned (reused, no allocation). */
export interface ArgoMessageInfo {
  sourceDomid: number;
  sourcePort: number;
  messageType: number;
}

/**
 * The guest's view of one of its registered rings: the receive side of argo.md §5.5. The guest owns
 * rx_ptr; Xen owns tx_ptr. Reads use atomic loads of both pointers and copy out whole messages, so
 * a message is seen whole or not at all.
 *
 * @example
 * ```ts
 * const ring = guest.registerRing({ aport: 7, partner: 2, len: 4032 });
 * const msg = ring.recv();        // null when empty
 * guest.notify();                 // let Xen wake senders waiting for space (argo.md §5.5 step 5)
 * ```
 */
export class ArgoRing {
  /** Messages whose header was inconsistent with the pointers (the driver "recovers" by skipping). */
  corrupt = 0;
  readonly last: ArgoMessageInfo = { sourceDomid: 0, sourcePort: 0, messageType: 0 };
  private readonly contiguousGpa: number;

  constructor(
    readonly memory: GuestMemory,
    readonly aport: number,
    readonly partner: number,
    readonly len: number,
    readonly gfns: readonly number[],
  ) {
    const contiguous = gfns.every((g, i) => g === gfns[0] + i);
    this.contiguousGpa = contiguous ? gfns[0] * 4096 : -1;
  }

  /** True for a wildcard (partner ANY) ring. */
  get wildcard(): boolean {
    return this.partner === XEN_ARGO_DOMID_ANY;
  }

  /** gpa of logical ring byte `logical` (0 = header). */
  gpa(logical: number): number {
    if (this.contiguousGpa >= 0) return this.contiguousGpa + logical;
    return this.gfns[logical >>> 12] * 4096 + (logical & 4095);
  }

  get rxPtr(): number {
    return Atomics.load(this.memory.i32, this.gpa(RING_HEADER.rx_ptr) >>> 2) >>> 0;
  }

  set rxPtr(value: number) {
    Atomics.store(this.memory.i32, this.gpa(RING_HEADER.rx_ptr) >>> 2, value); // barrier, then store
  }

  get txPtr(): number {
    return Atomics.load(this.memory.i32, this.gpa(RING_HEADER.tx_ptr) >>> 2) >>> 0;
  }

  /** Bytes between rx and tx (headers and padding included). */
  pendingBytes(): number {
    const d = this.txPtr - this.rxPtr;
    return d < 0 ? d + this.len : d;
  }

  /** True when rx == tx. */
  isEmpty(): boolean {
    return this.rxPtr === this.txPtr;
  }

  /**
   * Takes the next message into `out` and returns its payload length (−1 when there is none; the
   * payload is cut to out.length if longer). Metadata goes to `last`. With `peek`, rx is not moved.
   */
  recvInto(out: Uint8Array, peek = false): number {
    const rx = this.rxPtr;
    const tx = this.txPtr;
    let avail = tx - rx;
    if (avail < 0) avail += this.len;
    if (avail < ARGO_MSG_HEADER_BYTES) return -1; // §5.5 step 1
    const header = this.gpa(RING_HEADER.ring + rx);
    const v = this.memory.view;
    const msgLen = v.getUint32(header + MESSAGE_HEADER.len, true);
    if (msgLen < ARGO_MSG_HEADER_BYTES || avail < msgLen) {
      this.corrupt++; // §5.5 step 2: garbage; the driver recovers by skipping to tx
      if (!peek) this.rxPtr = tx;
      return -1;
    }
    this.last.sourcePort = v.getUint32(header + MESSAGE_HEADER.source_aport, true);
    this.last.sourceDomid = v.getUint16(header + MESSAGE_HEADER.source_domain_id, true);
    this.last.messageType = v.getUint32(header + MESSAGE_HEADER.message_type, true);
    const payload = msgLen - ARGO_MSG_HEADER_BYTES;
    this.copyOut(rx + ARGO_MSG_HEADER_BYTES, out, Math.min(payload, out.length));
    if (!peek) {
      let next = roundupMessage(rx + msgLen); // §5.5 step 4
      if (next >= this.len) next -= this.len;
      this.rxPtr = next;
    }
    return payload;
  }

  /**
   * The next message, or null when the ring is empty (or held an inconsistent header, which is
   * skipped as the Linux driver does and counted in `corrupt`). Allocates; see `recvInto` for the
   * hot path.
   */
  recv(options: { peek?: boolean } = {}): ArgoMessage | null {
    const size = this.nextPayloadBytes();
    if (size === RING_CORRUPT) this.recvInto(NOTHING, options.peek ?? false); // counts and recovers
    if (size < 0) return null;
    const payload = new Uint8Array(size);
    if (this.recvInto(payload, options.peek ?? false) < 0) return null;
    return {
      source: { domid: this.last.sourceDomid, aport: this.last.sourcePort },
      messageType: this.last.messageType,
      payload,
    };
  }

  /** Payload bytes of the next whole message; −1 when there is none, `RING_CORRUPT` (−2) for a bad header. */
  nextPayloadBytes(): number {
    const rx = this.rxPtr;
    let avail = this.txPtr - rx;
    if (avail < 0) avail += this.len;
    if (avail < ARGO_MSG_HEADER_BYTES) return -1;
    const msgLen = this.memory.view.getUint32(this.gpa(RING_HEADER.ring + rx) + MESSAGE_HEADER.len, true);
    return msgLen >= ARGO_MSG_HEADER_BYTES && msgLen <= avail ? msgLen - ARGO_MSG_HEADER_BYTES : RING_CORRUPT;
  }

  /** How many whole messages lie between rx and tx (walks the headers; moves nothing). */
  pendingMessages(): number {
    let rx = this.rxPtr;
    const tx = this.txPtr;
    let count = 0;
    while (rx !== tx) {
      let avail = tx - rx;
      if (avail < 0) avail += this.len;
      if (avail < ARGO_MSG_HEADER_BYTES) break;
      const msgLen = this.memory.view.getUint32(this.gpa(RING_HEADER.ring + rx) + MESSAGE_HEADER.len, true);
      if (msgLen < ARGO_MSG_HEADER_BYTES || msgLen > avail) break;
      count++;
      rx = roundupMessage(rx + msgLen);
      if (rx >= this.len) rx -= this.len;
    }
    return count;
  }

  /** Every whole message now in the ring. */
  drain(): ArgoMessage[] {
    const out: ArgoMessage[] = [];
    for (let m = this.recv(); m; m = this.recv()) out.push(m);
    return out;
  }

  /** Copies `count` bytes from data offset `from` (wrapping at len) into out[0..count). */
  private copyOut(from: number, out: Uint8Array, count: number): void {
    const u8 = this.memory.u8;
    let off = from >= this.len ? from - this.len : from;
    let done = 0;
    while (done < count) {
      const logical = RING_HEADER.ring + off;
      let run = Math.min(count - done, this.len - off);
      if (this.contiguousGpa < 0) run = Math.min(run, 4096 - (logical & 4095));
      const at = this.gpa(logical);
      if (run <= 32) for (let i = 0; i < run; i++) out[done + i] = u8[at + i];
      else out.set(u8.subarray(at, at + run), done);
      done += run;
      off += run;
      if (off === this.len) off = 0;
    }
  }
}
