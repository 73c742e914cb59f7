import type { GuestMemory } from '../../memory/guest-memory.js';
import type { PageAllocator } from '../../memory/page-allocator.js';
import { type DriverQueue, postReceiveBuffers } from '../driver-queue.js';
import { ETH_FRAME_LEN, RX_BUFFER_BYTES_MIN, VIRTIO_NET_HDR } from './constants.js';

/** A received frame and the receive buffers it came in (`num_buffers`, §3.1). */
export interface NetRxFrame {
  readonly frame: Uint8Array;
  readonly numBuffers: number;
}

/** Buffers of a `VirtioNetDriver`. */
export interface NetDriverOptions {
  /** MRG_RXBUF was negotiated: a frame may span receive buffers. */
  mergeable: boolean;
  /** Receive buffers (default: the receive queue's size). */
  rxBuffers?: number;
  /** Bytes of each receive buffer (default 1526, §3.1's minimum without MRG_RXBUF). */
  rxBufferBytes?: number;
  /** Transmit buffers (default 64). */
  txSlots?: number;
}

const TX_SLOT_BYTES = 1536; // header (12) + the largest frame (1514), rounded up

/**
 * The driver side of virtio-net (virtio-ioreq-lifecycle.md §3.1) in guest memory: posts receive
 * buffers (one writable descriptor each) on receiveq, sends frames on transmitq as two readable
 * descriptors — a zeroed `virtio_net_hdr` (num_buffers = 0, as the driver MUST) and the frame — and
 * harvests received frames, joining the buffers of a merged frame by `num_buffers`. It does not
 * re-post buffers by itself: call `postRx` after `receive`, as a NAPI poll refills its ring.
 *
 * @example
 * ```ts
 * const net = new VirtioNetDriver(mem, pages, rxQueue, txQueue, { mergeable: true, rxBufferBytes: 512 });
 * net.postRx();
 * net.send(frame); net.kickTx();
 * net.receive(); // [{ frame, numBuffers: 3 }]
 * ```
 */
export class VirtioNetDriver {
  /** Frames received whose header broke §3.1 (num_buffers 0, or > 1 without MRG_RXBUF). */
  rxBadHeaders = 0;
  private readonly rxBase: number;
  private readonly rxBufferBytes: number;
  private readonly rxBuffers: number;
  private readonly rxFree: number[];
  private readonly txBase: number;
  private readonly txFree: number[];
  /** A merged frame still waiting for buffers: its bytes so far and buffers still due. */
  private partial: { parts: Uint8Array[]; numBuffers: number; due: number } | null = null;

  constructor(
    private readonly memory: GuestMemory,
    pages: PageAllocator,
    readonly rx: DriverQueue<number>,
    readonly tx: DriverQueue<number>,
    private readonly options: NetDriverOptions,
  ) {
    const rxBuffers = (this.rxBuffers = options.rxBuffers ?? rx.qsz);
    const txSlots = options.txSlots ?? 64;
    this.rxBufferBytes = options.rxBufferBytes ?? RX_BUFFER_BYTES_MIN;
    if (!Number.isInteger(rxBuffers) || rxBuffers < 1 || !Number.isInteger(txSlots) || txSlots < 1) throw new RangeError(`VirtioNetDriver: ${rxBuffers} receive buffers, ${txSlots} transmit slots`);
    if (!Number.isInteger(this.rxBufferBytes) || this.rxBufferBytes < 1) throw new RangeError(`VirtioNetDriver: receive buffers of ${this.rxBufferBytes} bytes`);
    this.rxBase = pages.allocateBytes(rxBuffers * this.rxBufferBytes);
    this.txBase = pages.allocateBytes(txSlots * TX_SLOT_BYTES);
    this.rxFree = Array.from({ length: rxBuffers }, (_, i) => rxBuffers - 1 - i);
    this.txFree = Array.from({ length: txSlots }, (_, i) => txSlots - 1 - i);
  }

  /**
   * Frames of up to `frameBytes` (Ethernet header included) the receive buffers hold at once: each
   * takes its `virtio_net_hdr` and as many buffers as that needs with MRG_RXBUF, one without. More
   * arriving before the driver takes them find no buffer and are dropped (§5.1.6.3.1).
   */
  framesHeld(frameBytes: number): number {
    const perFrame = this.options.mergeable ? Math.ceil((VIRTIO_NET_HDR.size + frameBytes) / this.rxBufferBytes) : 1;
    return Math.floor(Math.min(this.rxBuffers, this.rx.qsz) / perFrame);
  }

  /** Posts every free receive buffer the queue takes, then kicks; how many it posted. */
  postRx(): number {
    return postReceiveBuffers(this.rx, this.rxFree, this.rxBase, this.rxBufferBytes);
  }

  /** Puts a frame on transmitq; false when no transmit slot or descriptor is free (call `reclaimTx`). */
  send(frame: Uint8Array): boolean {
    if (frame.length > ETH_FRAME_LEN) throw new RangeError(`VirtioNetDriver.send: ${frame.length} bytes exceed ${ETH_FRAME_LEN} (no GSO)`);
    const slot = this.txFree.at(-1);
    if (slot === undefined) return false;
    const at = this.txBase + slot * TX_SLOT_BYTES;
    this.memory.u8.fill(0, at, at + VIRTIO_NET_HDR.size); // §3.1: num_buffers = 0 on transmit
    this.memory.write(at + VIRTIO_NET_HDR.size, frame);
    const added = this.tx.add([{ gpa: at, len: VIRTIO_NET_HDR.size }, { gpa: at + VIRTIO_NET_HDR.size, len: frame.length }], [], slot);
    if (!added.ok) return false;
    this.txFree.pop();
    return true;
  }

  /** Notifies the device of transmitted frames unless it suppressed notifications. */
  kickTx(): boolean {
    return this.tx.kick();
  }

  /** Takes back the transmit slots the device used; how many. */
  reclaimTx(): number {
    let n = 0;
    for (let used = this.tx.getBuf(); used !== null; used = this.tx.getBuf(), n++) this.txFree.push(used.token);
    return n;
  }

  /** Every frame completed since the last call, merged buffers joined; their buffers become free. */
  receive(): NetRxFrame[] {
    const frames: NetRxFrame[] = [];
    for (let used = this.rx.getBuf(); used !== null; used = this.rx.getBuf()) {
      const at = this.rxBase + used.token * this.rxBufferBytes;
      const bytes = this.memory.read(at, Math.min(used.len, this.rxBufferBytes));
      this.rxFree.push(used.token);
      if (used.len === 0 && this.partial === null) continue; // a buffer the device refused (case 24)
      const frame = this.take(bytes);
      if (frame !== null) frames.push(frame);
    }
    return frames;
  }

  /** One used receive buffer: the start of a frame (its header) or the next piece of a merged one. */
  private take(bytes: Uint8Array): NetRxFrame | null {
    if (this.partial === null) {
      const numBuffers = bytes.length >= VIRTIO_NET_HDR.size ? new DataView(bytes.buffer, bytes.byteOffset).getUint16(VIRTIO_NET_HDR.num_buffers, true) : 0;
      if (numBuffers === 0 || (numBuffers > 1 && !this.options.mergeable)) {
        this.rxBadHeaders++;
        return null;
      }
      this.partial = { parts: [bytes.subarray(VIRTIO_NET_HDR.size)], numBuffers, due: numBuffers - 1 };
    } else {
      this.partial.parts.push(bytes);
      this.partial.due--;
    }
    if (this.partial.due > 0) return null;
    const { parts, numBuffers } = this.partial;
    this.partial = null;
    const frame = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      frame.set(p, at);
      at += p.length;
    }
    return { frame, numBuffers };
  }
}
