import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, bit, isValidQueueSize } from '../constants.js';
import type { DescChain } from '../desc-chain.js';
import { gatherBytes, scatterBytes } from '../segments.js';
import type { HeldCompletion, ServeContext, ServeResult, VirtioDeviceModel } from '../virtio-device.js';
import {
  VIRTIO_ID_VSOCK,
  VIRTIO_VSOCK_EVENT,
  VIRTIO_VSOCK_EVENT_TRANSPORT_RESET,
  VIRTIO_VSOCK_EVENTQ,
  VIRTIO_VSOCK_F_STREAM,
  VIRTIO_VSOCK_HDR,
  VIRTIO_VSOCK_OP_CREDIT_REQUEST,
  VIRTIO_VSOCK_OP_CREDIT_UPDATE,
  VIRTIO_VSOCK_OP_REQUEST,
  VIRTIO_VSOCK_OP_RESPONSE,
  VIRTIO_VSOCK_OP_RST,
  VIRTIO_VSOCK_OP_RW,
  VIRTIO_VSOCK_OP_SHUTDOWN,
  VIRTIO_VSOCK_RXQ,
  VIRTIO_VSOCK_SHUTDOWN_RCV,
  VIRTIO_VSOCK_SHUTDOWN_SEND,
  VIRTIO_VSOCK_TYPE_STREAM,
  VMADDR_CID_HOST,
  VSOCK_CONFIG,
  VSOCK_PKT_PAYLOAD_MAX,
  isGuestCid,
} from './constants.js';
import { VsockHostConnection, type VsockHostTransport } from './host-connection.js';
import { type VsockHdr, decodeVsockHdr, encodeVsockHdr } from './vsock-hdr.js';

/** How to build a virtio-vsock device. */
export interface VirtioVsockOptions {
  /** config.guest_cid: 3 ≤ cid < 0xffffffff. */
  guestCid: number;
  /** buf_alloc of every host connection (default 64 KiB). */
  bufAlloc?: number;
  /** QueueSizeMax of the three queues (default 128). */
  queueSizeMax?: number;
}

/** What the device counted. */
export interface VirtioVsockFigures {
  /** Packets the guest put on tx. */
  txPackets: number;
  /** Packets the device wrote into rx buffers. */
  rxPackets: number;
  /** RW payload bytes each way. */
  txBytes: number;
  rxBytes: number;
  /** RST packets sent to the guest. */
  rstSent: number;
  /** RW packets beyond the host's free buffer (case 25): dropped, connection reset. */
  creditViolations: number;
  /** rx buffers < 44 bytes or event buffers < 4 bytes, returned unused. */
  buffersRefused: number;
  /** Control packets dropped because `CONTROL_QUEUE_MAX` were already waiting for rx buffers. */
  controlDropped: number;
}

/** Control packets (RESPONSE, RST, SHUTDOWN, CREDIT_UPDATE) waiting for rx buffers, at most. */
export const CONTROL_QUEUE_MAX = 1024;

interface Held {
  readonly ctx: ServeContext;
  readonly chain: DescChain;
}

/** A packet for the guest; `conn` set when buf_alloc / fwd_cnt are taken from it at send time. */
interface Outgoing {
  readonly hdr: VsockHdr;
  readonly conn: VsockHostConnection | null;
}

/**
 * A virtio-vsock device model (virtio-ioreq-lifecycle.md §3.4; §7 case 25) for `VirtioDevice`, and the
 * host's socket layer it is the transport of: rx 0, tx 1, event 2; config guest_cid; stream sockets
 * only. The host `listen`s on ports; a guest REQUEST to a listening port is answered RESPONSE and the
 * connection waits in `accept`, to any other port RST. Guest tx packets are served at once; rx and
 * event buffers are *held* (deferred completion) until the device has a packet or an event for them.
 * Host data goes out as RW only while the guest's credit covers it (§3.4).
 *
 * @example
 * ```ts
 * const vsock = new VirtioVsock({ guestCid: 3 });
 * const device = new VirtioDevice(mem, vsock);
 * vsock.listen(1234);
 * // … the guest connects …
 * const conn = vsock.accept(1234)!;
 * conn.send(new TextEncoder().encode('hello'));
 * ```
 */
export class VirtioVsock implements VirtioDeviceModel, VsockHostTransport {
  readonly deviceId = VIRTIO_ID_VSOCK;
  readonly features = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_EVENT_IDX) | bit(VIRTIO_F_INDIRECT_DESC) | bit(VIRTIO_VSOCK_F_STREAM);
  readonly queueCount = 3;
  readonly queueSizeMax: number;
  readonly config: Uint8Array;
  readonly guestCid: number;
  readonly bufAlloc: number;
  readonly figures: VirtioVsockFigures = { txPackets: 0, rxPackets: 0, txBytes: 0, rxBytes: 0, rstSent: 0, creditViolations: 0, buffersRefused: 0, controlDropped: 0 };
  /** Listening ports and their connections not yet accepted. */
  private readonly listeners = new Map<number, VsockHostConnection[]>();
  /** Connections by `guestPort:hostPort`. */
  private readonly connections = new Map<string, VsockHostConnection>();
  private control: Outgoing[] = [];
  private rxHeld: Held[] = [];
  private eventHeld: Held[] = [];
  private resetEventDue = false;

  constructor(options: VirtioVsockOptions) {
    if (!isGuestCid(options.guestCid)) throw new RangeError(`virtio-vsock: guest_cid ${options.guestCid} is reserved or ≥ 2^32 (§3.4)`);
    this.queueSizeMax = options.queueSizeMax ?? 128;
    if (!isValidQueueSize(this.queueSizeMax)) throw new RangeError(`virtio-vsock: queueSizeMax ${this.queueSizeMax} is not a power of 2 in [1, 32768]`);
    this.bufAlloc = options.bufAlloc ?? 64 * 1024;
    this.guestCid = options.guestCid;
    this.config = new Uint8Array(VSOCK_CONFIG.size);
    new DataView(this.config.buffer).setUint32(VSOCK_CONFIG.guest_cid, options.guestCid, true); // upper 32 bits stay 0
  }

  /** The host listens on `port`; idempotent. */
  listen(port: number): void {
    if (!this.listeners.has(port)) this.listeners.set(port, []);
  }

  /** The host stops listening; connections not accepted are reset. */
  unlisten(port: number): void {
    for (const c of [...(this.listeners.get(port) ?? [])]) this.resetConnection(c);
    this.listeners.delete(port);
  }

  /** Whether the host listens on `port`. */
  listening(port: number): boolean {
    return this.listeners.has(port);
  }

  /** The oldest connection to `port` not yet accepted, or null. */
  accept(port: number): VsockHostConnection | null {
    return this.listeners.get(port)?.shift() ?? null;
  }

  /** Established connections (accepted or not). */
  get connectionCount(): number {
    return this.connections.size;
  }

  serve(ctx: ServeContext, chain: DescChain): ServeResult {
    if (ctx.queue === VIRTIO_VSOCK_RXQ) return this.hold(ctx, chain, 'rx');
    if (ctx.queue === VIRTIO_VSOCK_EVENTQ) return this.hold(ctx, chain, 'event');
    return this.serveTx(ctx, chain);
  }

  /** Device reset (§1.4): connections and held buffers are gone; the host's listeners stay. */
  reset(): void {
    this.closeAll();
    this.rxHeld = [];
    this.eventHeld = [];
    this.resetEventDue = false;
  }

  /**
   * A transport reset (§3.4, e.g. after migration): every connection is closed on the host side and a
   * TRANSPORT_RESET event goes to the guest (now, or when it posts an event buffer); listeners are kept.
   */
  transportReset(): void {
    this.closeAll();
    this.resetEventDue = true;
    this.deliverEvent();
  }

  /** Fills held rx buffers with control packets, then RW data the guest's credit allows. */
  pump(): void {
    const done: HeldCompletion[] = [];
    const ctx = this.rxHeld[0]?.ctx;
    while (this.rxHeld.length > 0) {
      const room = this.rxHeld[0].chain.writableBytes - VIRTIO_VSOCK_HDR.size;
      const packet = this.nextPacket(room);
      if (packet === null) break;
      const held = this.rxHeld.shift() as Held;
      done.push({ chain: held.chain, written: writePacket(held, packet.hdr, packet.payload) });
      this.figures.rxPackets++;
    }
    if (ctx !== undefined && done.length > 0 && !ctx.complete(done)) this.rxHeld = []; // the ring was reclaimed
  }

  /** VsockHostTransport: the host closes a connection with RST. */
  resetConnection(conn: VsockHostConnection): void {
    if (conn.state === 'closed') return;
    this.sendRst(conn.hostPort, conn.guestPort, VIRTIO_VSOCK_TYPE_STREAM);
    this.forget(conn);
    this.pump();
  }

  /** VsockHostTransport: the host shuts down directions (SHUTDOWN, §3.4). */
  shutdownConnection(conn: VsockHostConnection, flags: number): void {
    this.queueControl(hostHdr(this.guestCid, conn.hostPort, conn.guestPort, VIRTIO_VSOCK_OP_SHUTDOWN, flags & (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND), VIRTIO_VSOCK_TYPE_STREAM), conn);
    this.pump();
  }

  /** rx and event buffers wait for packets and events; too small ones are refused (SIM CHOICE, logged). */
  private hold(ctx: ServeContext, chain: DescChain, which: 'rx' | 'event'): ServeResult {
    if (chain.readableBytes > 0) return { malformed: `${which} chain with ${chain.readableBytes} device-readable bytes` };
    const min = which === 'rx' ? VIRTIO_VSOCK_HDR.size : VIRTIO_VSOCK_EVENT.size;
    if (chain.writableBytes < min) {
      ctx.log.record('request-rule-broken', `${which} buffer of ${chain.writableBytes} bytes < ${min} (§3.4)`);
      this.figures.buffersRefused++;
      return { written: 0 };
    }
    const list = which === 'rx' ? this.rxHeld : this.eventHeld;
    if (list.length > 0 && list[0].ctx !== ctx) list.length = 0; // a queue reset since: the driver reclaimed those (§1.4)
    list.push({ ctx, chain });
    if (which === 'rx') this.pump();
    else this.deliverEvent();
    return { held: true };
  }

  /** One guest packet from tx: header, payload, then the answer of §3.4. Nothing is written back. */
  private serveTx(ctx: ServeContext, chain: DescChain): ServeResult {
    if (chain.readableBytes < VIRTIO_VSOCK_HDR.size) return { malformed: `tx chain of ${chain.readableBytes} readable bytes has no ${VIRTIO_VSOCK_HDR.size}-byte header` };
    const raw = new Uint8Array(VIRTIO_VSOCK_HDR.size);
    gatherBytes(ctx.memory, chain.readable, 0, raw);
    const hdr = decodeVsockHdr(raw);
    if (hdr.len > chain.readableBytes - VIRTIO_VSOCK_HDR.size) return { malformed: `header len ${hdr.len} > ${chain.readableBytes - VIRTIO_VSOCK_HDR.size} payload bytes` };
    const payload = new Uint8Array(hdr.len);
    gatherBytes(ctx.memory, chain.readable, VIRTIO_VSOCK_HDR.size, payload);
    this.figures.txPackets++;
    this.receivePacket(ctx, hdr, payload);
    this.pump();
    return { written: 0 };
  }

  /** §3.4: what the host does with one guest packet. */
  private receivePacket(ctx: ServeContext, hdr: VsockHdr, payload: Uint8Array): void {
    if (hdr.src_cid !== this.guestCid || hdr.dst_cid !== VMADDR_CID_HOST) {
      return ctx.log.record('request-rule-broken', `packet from cid ${hdr.src_cid} to cid ${hdr.dst_cid}; the guest is ${this.guestCid}, the host ${VMADDR_CID_HOST}: dropped`);
    }
    if (hdr.type !== VIRTIO_VSOCK_TYPE_STREAM) return this.sendRst(hdr.dst_port, hdr.src_port, hdr.type); // §3.4 unknown type → RST
    const conn = this.connections.get(key(hdr.src_port, hdr.dst_port));
    if (hdr.op === VIRTIO_VSOCK_OP_REQUEST) return this.request(hdr, conn);
    if (conn === undefined) {
      if (hdr.op !== VIRTIO_VSOCK_OP_RST) this.sendRst(hdr.dst_port, hdr.src_port, hdr.type);
      return;
    }
    conn.credit.updatePeer(hdr.buf_alloc, hdr.fwd_cnt);
    switch (hdr.op) {
      case VIRTIO_VSOCK_OP_RW:
        return this.rw(ctx, conn, payload);
      case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
        return;
      case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
        conn.creditUpdateDue = true;
        return;
      case VIRTIO_VSOCK_OP_SHUTDOWN:
        conn.peerShutdown |= hdr.flags & (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND); // sticky
        if (conn.peerShutdown === (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)) this.resetConnection(conn); // both ways: Linux resets
        return;
      case VIRTIO_VSOCK_OP_RST:
        return this.forget(conn);
      default: // RESPONSE on an established connection, INVALID, unknown ops
        ctx.log.record('request-rule-broken', `op ${hdr.op} on connection ${conn.guestPort}→${conn.hostPort}: reset`);
        return this.resetConnection(conn);
    }
  }

  /** REQUEST: RESPONSE when the host listens on dst_port, RST otherwise (case 25). */
  private request(hdr: VsockHdr, existing: VsockHostConnection | undefined): void {
    if (existing !== undefined) this.forget(existing); // a new connection on the same ports replaces it
    const accepting = this.listeners.get(hdr.dst_port);
    if (accepting === undefined) return this.sendRst(hdr.dst_port, hdr.src_port, hdr.type);
    const conn = new VsockHostConnection(hdr.dst_port, hdr.src_port, this.bufAlloc, this);
    conn.credit.updatePeer(hdr.buf_alloc, hdr.fwd_cnt);
    this.connections.set(key(conn.guestPort, conn.hostPort), conn);
    accepting.push(conn);
    this.queueControl(hostHdr(this.guestCid, conn.hostPort, conn.guestPort, VIRTIO_VSOCK_OP_RESPONSE, 0, VIRTIO_VSOCK_TYPE_STREAM), conn);
  }

  /** RW: within the host's free buffer it is delivered; beyond it (case 25) dropped and the connection reset. */
  private rw(ctx: ServeContext, conn: VsockHostConnection, payload: Uint8Array): void {
    if (!conn.credit.fits(payload.length) || (conn.peerShutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) !== 0) {
      ctx.log.record('request-rule-broken', `RW of ${payload.length} bytes on ${conn.guestPort}→${conn.hostPort} with ${conn.credit.bufAlloc - conn.credit.rxQueued} free, peer shutdown ${conn.peerShutdown} (§3.4)`);
      this.figures.creditViolations++;
      return this.resetConnection(conn);
    }
    conn.deliver(payload);
    this.figures.txBytes += payload.length;
  }

  /** The next packet for an rx buffer with `room` payload bytes: control first, then data or credit. */
  private nextPacket(room: number): { hdr: VsockHdr; payload: Uint8Array } | null {
    const c = this.control.shift();
    if (c !== undefined) {
      if (c.conn !== null) stampCredit(c.hdr, c.conn);
      return { hdr: c.hdr, payload: new Uint8Array(0) };
    }
    for (const conn of this.connections.values()) {
      const n = Math.min(conn.pendingTxBytes, conn.credit.peerFree(), room, VSOCK_PKT_PAYLOAD_MAX);
      if (n > 0) {
        const payload = conn.takeTx(n);
        conn.credit.sent(payload.length);
        this.figures.rxBytes += payload.length;
        const hdr = hostHdr(this.guestCid, conn.hostPort, conn.guestPort, VIRTIO_VSOCK_OP_RW, 0, VIRTIO_VSOCK_TYPE_STREAM);
        hdr.len = payload.length;
        stampCredit(hdr, conn);
        return { hdr, payload };
      }
      if (conn.creditUpdateDue) {
        const hdr = hostHdr(this.guestCid, conn.hostPort, conn.guestPort, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, VIRTIO_VSOCK_TYPE_STREAM);
        stampCredit(hdr, conn);
        return { hdr, payload: new Uint8Array(0) };
      }
    }
    return null;
  }

  private deliverEvent(): void {
    if (!this.resetEventDue || this.eventHeld.length === 0) return;
    const held = this.eventHeld.shift() as Held;
    const event = new Uint8Array(VIRTIO_VSOCK_EVENT.size);
    new DataView(event.buffer).setUint32(VIRTIO_VSOCK_EVENT.id, VIRTIO_VSOCK_EVENT_TRANSPORT_RESET, true);
    scatterBytes(held.ctx.memory, held.chain.writable, 0, event);
    this.resetEventDue = false;
    if (!held.ctx.complete([{ chain: held.chain, written: event.length }])) this.eventHeld = [];
  }

  private sendRst(hostPort: number, guestPort: number, type: number): void {
    this.queueControl(hostHdr(this.guestCid, hostPort, guestPort, VIRTIO_VSOCK_OP_RST, 0, type), null);
  }

  private queueControl(hdr: VsockHdr, conn: VsockHostConnection | null): void {
    if (this.control.length >= CONTROL_QUEUE_MAX) {
      this.figures.controlDropped++;
      return;
    }
    if (hdr.op === VIRTIO_VSOCK_OP_RST) this.figures.rstSent++;
    this.control.push({ hdr, conn });
  }

  /** The connection is gone: closed, out of the table and any accept queue. */
  private forget(conn: VsockHostConnection): void {
    conn.closed();
    this.connections.delete(key(conn.guestPort, conn.hostPort));
    const accepting = this.listeners.get(conn.hostPort);
    const at = accepting?.indexOf(conn) ?? -1;
    if (accepting !== undefined && at >= 0) accepting.splice(at, 1);
  }

  private closeAll(): void {
    for (const conn of [...this.connections.values()]) this.forget(conn);
    this.control = [];
  }
}

const key = (guestPort: number, hostPort: number): string => `${guestPort}:${hostPort}`;

/** A header from the host to the guest, len 0, credit 0 until stamped. */
function hostHdr(guestCid: number, hostPort: number, guestPort: number, op: number, flags: number, type: number): VsockHdr {
  return { src_cid: VMADDR_CID_HOST, dst_cid: guestCid, src_port: hostPort, dst_port: guestPort, len: 0, type, op, flags, buf_alloc: 0, fwd_cnt: 0 };
}

/** Every packet of a connection carries its sender's buf_alloc and fwd_cnt (§3.4); it settles a credit update owed. */
function stampCredit(hdr: VsockHdr, conn: VsockHostConnection): void {
  hdr.buf_alloc = conn.credit.bufAlloc;
  hdr.fwd_cnt = conn.credit.fwdCnt;
  conn.creditUpdateDue = false;
}

/** Header then payload into a held rx buffer; the bytes written. */
function writePacket(held: Held, hdr: VsockHdr, payload: Uint8Array): number {
  const bytes = new Uint8Array(VIRTIO_VSOCK_HDR.size + payload.length);
  bytes.set(encodeVsockHdr(hdr));
  bytes.set(payload, VIRTIO_VSOCK_HDR.size);
  const wrote = scatterBytes(held.ctx.memory, held.chain.writable, 0, bytes);
  if (wrote !== bytes.length) throw new Error(`virtio-vsock: wrote ${wrote} of ${bytes.length} bytes into head ${held.chain.head}`);
  return wrote;
}
