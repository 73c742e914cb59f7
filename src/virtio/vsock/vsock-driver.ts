import type { GuestMemory } from '../../memory/guest-memory.js';
import type { PageAllocator } from '../../memory/page-allocator.js';
import type { DriverQueue } from '../driver-queue.js';
import { concatBytes } from './concat-bytes.js';
import { VsockCredit } from './credit.js';
import {
  VIRTIO_VSOCK_EVENT,
  VIRTIO_VSOCK_EVENT_TRANSPORT_RESET,
  VIRTIO_VSOCK_HDR,
  VIRTIO_VSOCK_OP_CREDIT_REQUEST,
  VIRTIO_VSOCK_OP_CREDIT_UPDATE,
  VIRTIO_VSOCK_OP_REQUEST,
  VIRTIO_VSOCK_OP_RESPONSE,
  VIRTIO_VSOCK_OP_RST,
  VIRTIO_VSOCK_OP_RW,
  VIRTIO_VSOCK_OP_SHUTDOWN,
  VIRTIO_VSOCK_SHUTDOWN_RCV,
  VIRTIO_VSOCK_SHUTDOWN_SEND,
  VIRTIO_VSOCK_TYPE_STREAM,
  VMADDR_CID_HOST,
} from './constants.js';
import { type VsockHdr, decodeVsockHdr, encodeVsockHdr } from './vsock-hdr.js';

/** A guest connection's state. */
export type VsockDriverState = 'connecting' | 'connected' | 'closed';

/** One guest stream connection to a host port. */
export interface VsockDriverConnection {
  readonly localPort: number;
  readonly peerPort: number;
  state: VsockDriverState;
  readonly credit: VsockCredit;
  /** SHUTDOWN flags the host sent, or-ed (sticky, §3.4). */
  peerShutdown: number;
  /** SHUTDOWN flags this side sent, or-ed. */
  localShutdown: number;
  /** Received bytes not yet taken by `receive`. */
  readonly rxQueue: Uint8Array[];
}

/** Buffers and identity of a `VirtioVsockDriver`. */
export interface VsockDriverOptions {
  /** guest_cid as read from config (re-read on TRANSPORT_RESET through `readGuestCid`). */
  guestCid: number;
  /** Re-reads config.guest_cid after a transport reset (§3.4); default: keep `guestCid`. */
  readGuestCid?: () => number;
  /** buf_alloc of each connection (default 64 KiB). */
  bufAlloc?: number;
  /** rx buffers (default: the rx queue's size) of `rxBufferBytes` (default 4096) each. */
  rxBuffers?: number;
  rxBufferBytes?: number;
  /** Transmit slots (default 64) of `txSlotBytes` (default 4096, header included). */
  txSlots?: number;
  txSlotBytes?: number;
  /** First local port handed out by `connect` (default 1024). */
  firstLocalPort?: number;
}

const EVENT_BUFFERS = 4;

/**
 * The driver side of virtio-vsock (virtio-ioreq-lifecycle.md §3.4) in guest memory: posts rx and
 * event buffers, connects to host ports, sends RW only while peer_free covers the payload, gives
 * credit back (CREDIT_UPDATE) as the application consumes, answers CREDIT_REQUEST, shuts down, and on
 * TRANSPORT_RESET closes every connection and re-reads guest_cid. Call `poll` to process what the
 * device completed (it re-posts rx and event buffers).
 *
 * @example
 * ```ts
 * const vs = new VirtioVsockDriver(mem, pages, rx, tx, event, { guestCid: 3 });
 * vs.postBuffers();
 * const conn = vs.connect(1234); vs.poll(); // conn.state === 'connected'
 * vs.send(conn, bytes); vs.poll();
 * ```
 */
export class VirtioVsockDriver {
  readonly connections = new Map<number, VsockDriverConnection>();
  guestCid: number;
  /** Packets from the device for no connection of ours, or that broke §3.4 (credit, ops). */
  rxBadPackets = 0;
  transportResets = 0;
  private readonly bufAlloc: number;
  private readonly rxBase: number;
  private readonly rxBufferBytes: number;
  private readonly rxFree: number[];
  private readonly eventBase: number;
  private readonly eventFree: number[];
  private readonly txBase: number;
  private readonly txSlotBytes: number;
  private readonly txFree: number[];
  private nextLocalPort: number;

  constructor(
    private readonly memory: GuestMemory,
    pages: PageAllocator,
    readonly rx: DriverQueue<number>,
    readonly tx: DriverQueue<number>,
    readonly event: DriverQueue<number>,
    private readonly options: VsockDriverOptions,
  ) {
    const rxBuffers = options.rxBuffers ?? rx.qsz;
    const txSlots = options.txSlots ?? 64;
    this.rxBufferBytes = options.rxBufferBytes ?? 4096;
    this.txSlotBytes = options.txSlotBytes ?? 4096;
    this.bufAlloc = options.bufAlloc ?? 64 * 1024;
    if (this.rxBufferBytes < VIRTIO_VSOCK_HDR.size || this.txSlotBytes <= VIRTIO_VSOCK_HDR.size) throw new RangeError(`VirtioVsockDriver: buffers of ${this.rxBufferBytes} / ${this.txSlotBytes} bytes cannot hold a ${VIRTIO_VSOCK_HDR.size}-byte header`);
    this.guestCid = options.guestCid;
    this.nextLocalPort = options.firstLocalPort ?? 1024;
    this.rxBase = pages.allocateBytes(rxBuffers * this.rxBufferBytes);
    this.eventBase = pages.allocateBytes(EVENT_BUFFERS * VIRTIO_VSOCK_EVENT.size);
    this.txBase = pages.allocateBytes(txSlots * this.txSlotBytes);
    this.rxFree = Array.from({ length: rxBuffers }, (_, i) => rxBuffers - 1 - i);
    this.eventFree = Array.from({ length: EVENT_BUFFERS }, (_, i) => EVENT_BUFFERS - 1 - i);
    this.txFree = Array.from({ length: txSlots }, (_, i) => txSlots - 1 - i);
  }

  /** Posts every free rx and event buffer the queues take, then kicks. */
  postBuffers(): void {
    postAll(this.rx, this.rxFree, (slot) => ({ gpa: this.rxBase + slot * this.rxBufferBytes, len: this.rxBufferBytes }));
    postAll(this.event, this.eventFree, (slot) => ({ gpa: this.eventBase + slot * VIRTIO_VSOCK_EVENT.size, len: VIRTIO_VSOCK_EVENT.size }));
  }

  /** REQUEST to host port `peerPort` from a fresh local port; `connected` once RESPONSE comes (`poll`). */
  connect(peerPort: number): VsockDriverConnection {
    while (this.connections.has(this.nextLocalPort)) this.nextLocalPort++;
    const conn: VsockDriverConnection = { localPort: this.nextLocalPort++, peerPort, state: 'connecting', credit: new VsockCredit(this.bufAlloc), peerShutdown: 0, localShutdown: 0, rxQueue: [] };
    this.connections.set(conn.localPort, conn);
    this.control(conn, VIRTIO_VSOCK_OP_REQUEST, 0);
    return conn;
  }

  /**
   * Sends as much of `bytes` as peer_free and the transmit slots allow (§3.4), as RW packets; the
   * number of bytes sent. The caller sends the rest after credit comes back (`poll`).
   */
  send(conn: VsockDriverConnection, bytes: Uint8Array): number {
    if (conn.state !== 'connected' || (conn.localShutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) !== 0) return 0;
    let sent = 0;
    while (sent < bytes.length) {
      const n = Math.min(bytes.length - sent, conn.credit.peerFree(), this.txSlotBytes - VIRTIO_VSOCK_HDR.size);
      if (n === 0 || !this.transmit(this.hdr(conn, VIRTIO_VSOCK_OP_RW, 0, n), bytes.subarray(sent, sent + n))) break;
      conn.credit.sent(n);
      sent += n;
    }
    if (sent > 0) this.tx.kick();
    return sent;
  }

  /**
   * Puts one packet on tx as given, whatever the credit: for tests of a driver that breaks §3.4
   * (case 25). False when no transmit slot is free.
   */
  sendRaw(hdr: VsockHdr, payload: Uint8Array = new Uint8Array(0)): boolean {
    const ok = this.transmit(hdr, payload);
    if (ok) this.tx.kick();
    return ok;
  }

  /** Every byte received on `conn` so far; its credit goes back to the host (CREDIT_UPDATE). */
  receive(conn: VsockDriverConnection): Uint8Array {
    const out = concatBytes(conn.rxQueue.splice(0));
    if (out.length > 0) {
      conn.credit.consumed(out.length);
      if (conn.state === 'connected') this.control(conn, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
    }
    return out;
  }

  /** Asks the host for its credit (CREDIT_REQUEST). */
  requestCredit(conn: VsockDriverConnection): void {
    if (conn.state === 'connected') this.control(conn, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0);
  }

  /** SHUTDOWN with `flags` (RCV 1, SEND 2); sticky. */
  shutdown(conn: VsockDriverConnection, flags: number): void {
    if (conn.state !== 'connected') return;
    conn.localShutdown |= flags & (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
    this.control(conn, VIRTIO_VSOCK_OP_SHUTDOWN, conn.localShutdown);
  }

  /** Closes with RST. */
  close(conn: VsockDriverConnection): void {
    if (conn.state === 'closed') return;
    this.control(conn, VIRTIO_VSOCK_OP_RST, 0);
    this.drop(conn);
  }

  /** Processes every completed event and rx buffer, reclaims tx slots, and re-posts buffers. */
  poll(): void {
    for (let used = this.event.getBuf(); used !== null; used = this.event.getBuf()) {
      const id = this.memory.view.getUint32(this.eventBase + used.token * VIRTIO_VSOCK_EVENT.size + VIRTIO_VSOCK_EVENT.id, true);
      this.eventFree.push(used.token);
      if (used.len >= VIRTIO_VSOCK_EVENT.size && id === VIRTIO_VSOCK_EVENT_TRANSPORT_RESET) this.onTransportReset();
    }
    for (let used = this.rx.getBuf(); used !== null; used = this.rx.getBuf()) {
      const at = this.rxBase + used.token * this.rxBufferBytes;
      const bytes = this.memory.read(at, Math.min(used.len, this.rxBufferBytes));
      this.rxFree.push(used.token);
      if (bytes.length >= VIRTIO_VSOCK_HDR.size) this.onPacket(decodeVsockHdr(bytes), bytes.subarray(VIRTIO_VSOCK_HDR.size));
      else this.rxBadPackets++;
    }
    this.reclaimTx();
    this.postBuffers();
  }

  /** §3.4: established connections are dropped, listening sockets kept, guest_cid re-read. */
  private onTransportReset(): void {
    this.transportResets++;
    for (const conn of [...this.connections.values()]) this.drop(conn);
    this.guestCid = this.options.readGuestCid?.() ?? this.guestCid;
  }

  private onPacket(hdr: VsockHdr, payload: Uint8Array): void {
    const conn = this.connections.get(hdr.dst_port);
    if (conn === undefined || hdr.src_port !== conn.peerPort || hdr.src_cid !== VMADDR_CID_HOST || hdr.type !== VIRTIO_VSOCK_TYPE_STREAM) {
      this.rxBadPackets++;
      if (hdr.op !== VIRTIO_VSOCK_OP_RST) this.sendRaw({ ...this.replyTo(hdr), op: VIRTIO_VSOCK_OP_RST });
      return;
    }
    conn.credit.updatePeer(hdr.buf_alloc, hdr.fwd_cnt);
    if (hdr.op === VIRTIO_VSOCK_OP_RST) return this.drop(conn);
    if (conn.state === 'connecting') {
      if (hdr.op === VIRTIO_VSOCK_OP_RESPONSE) conn.state = 'connected';
      else this.close(conn);
      return;
    }
    if (hdr.op === VIRTIO_VSOCK_OP_RW) return this.onRw(conn, payload.subarray(0, hdr.len));
    if (hdr.op === VIRTIO_VSOCK_OP_CREDIT_REQUEST) return this.control(conn, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
    if (hdr.op === VIRTIO_VSOCK_OP_SHUTDOWN) {
      conn.peerShutdown |= hdr.flags & (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND); // sticky
      return;
    }
    if (hdr.op !== VIRTIO_VSOCK_OP_CREDIT_UPDATE) this.close(conn);
  }

  private onRw(conn: VsockDriverConnection, payload: Uint8Array): void {
    if (!conn.credit.fits(payload.length)) {
      this.rxBadPackets++; // the host broke §3.4
      return this.close(conn);
    }
    conn.credit.received(payload.length);
    conn.rxQueue.push(payload.slice());
  }

  private drop(conn: VsockDriverConnection): void {
    conn.state = 'closed';
    this.connections.delete(conn.localPort);
  }

  private control(conn: VsockDriverConnection, op: number, flags: number): void {
    this.sendRaw(this.hdr(conn, op, flags, 0));
  }

  private hdr(conn: VsockDriverConnection, op: number, flags: number, len: number): VsockHdr {
    return { src_cid: this.guestCid, dst_cid: VMADDR_CID_HOST, src_port: conn.localPort, dst_port: conn.peerPort, len, type: VIRTIO_VSOCK_TYPE_STREAM, op, flags, buf_alloc: conn.credit.bufAlloc, fwd_cnt: conn.credit.fwdCnt };
  }

  private replyTo(hdr: VsockHdr): VsockHdr {
    return { src_cid: this.guestCid, dst_cid: hdr.src_cid, src_port: hdr.dst_port, dst_port: hdr.src_port, len: 0, type: hdr.type, op: VIRTIO_VSOCK_OP_RST, flags: 0, buf_alloc: 0, fwd_cnt: 0 };
  }

  /** One packet into a transmit slot: header and payload as readable descriptors. */
  private transmit(hdr: VsockHdr, payload: Uint8Array): boolean {
    if (payload.length > this.txSlotBytes - VIRTIO_VSOCK_HDR.size) throw new RangeError(`VirtioVsockDriver: ${payload.length} payload bytes exceed a ${this.txSlotBytes}-byte slot`);
    if (this.txFree.length === 0) this.reclaimTx();
    const slot = this.txFree.at(-1);
    if (slot === undefined) return false;
    const at = this.txBase + slot * this.txSlotBytes;
    this.memory.write(at, encodeVsockHdr(hdr));
    this.memory.write(at + VIRTIO_VSOCK_HDR.size, payload);
    const out: { gpa: number; len: number }[] = [{ gpa: at, len: VIRTIO_VSOCK_HDR.size }];
    if (payload.length > 0) out.push({ gpa: at + VIRTIO_VSOCK_HDR.size, len: payload.length });
    if (!this.tx.add(out, [], slot).ok) return false;
    this.txFree.pop();
    return true;
  }

  private reclaimTx(): void {
    for (let used = this.tx.getBuf(); used !== null; used = this.tx.getBuf()) this.txFree.push(used.token);
  }
}

function postAll(queue: DriverQueue<number>, free: number[], buffer: (slot: number) => { gpa: number; len: number }): void {
  let posted = 0;
  while (free.length > 0) {
    const slot = free[free.length - 1];
    if (!queue.add([], [buffer(slot)], slot).ok) break;
    free.pop();
    posted++;
  }
  if (posted > 0) queue.kick();
}
