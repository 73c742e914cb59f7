import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, bit, isValidQueueSize } from '../constants.js';
import type { DescChain } from '../desc-chain.js';
import { gatherBytes, scatterBytes } from '../segments.js';
import type { HeldCompletion, ServeContext, ServeResult, VirtioDeviceModel } from '../virtio-device.js';
import {
  ETH_ALEN,
  ETH_FRAME_LEN,
  ETH_HLEN,
  NET_CONFIG,
  RX_BUFFER_BYTES_MIN,
  VIRTIO_ID_NET,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR,
  VIRTIO_NET_MTU,
  VIRTIO_NET_RXQ,
  VIRTIO_NET_S_LINK_UP,
} from './constants.js';
import type { NetBackend, NetPort } from './net-backend.js';

/** How to build a virtio-net device. */
export interface VirtioNetOptions {
  /** The 6-byte MAC address in config. */
  mac: Uint8Array;
  /** Where transmitted frames go; null (the default) drops them, counted. Settable later (`backend`). */
  backend?: NetBackend | null;
  /** QueueSizeMax of both queues (default 256). */
  queueSizeMax?: number;
  /** config.status LINK_UP (default true). */
  linkUp?: boolean;
}

/** What the device counted. */
export interface VirtioNetFigures {
  txFrames: number;
  txBytes: number;
  /** Transmit chains whose frame was not 14..1514 bytes, or that had no backend. */
  txDropped: number;
  rxFrames: number;
  rxBytes: number;
  /** Frames that found no (or not enough) posted receive buffers. */
  rxDropped: number;
  /** Receive buffers refused as too small (case 24), returned unused. */
  rxBuffersRefused: number;
}

interface HeldRx {
  readonly ctx: ServeContext;
  readonly chain: DescChain;
}

/**
 * A virtio-net device model (virtio-ioreq-lifecycle.md §3.1) for `VirtioDevice`: receiveq 0 and
 * transmitq 1, a 12-byte `virtio_net_hdr` (VERSION_1 is required), config {mac, status, max_virtqueue_pairs = 1,
 * mtu = 1500}; offers VERSION_1, MAC, STATUS, MTU, MRG_RXBUF, EVENT_IDX and INDIRECT_DESC. Transmit
 * chains are served at once: the frame after the header goes to the `NetBackend`. Receive chains are
 * *held* (deferred completion) until `deliver` brings a frame: without MRG_RXBUF one buffer per frame,
 * `num_buffers` = 1; with it a frame spans buffers and `num_buffers` counts them (case 24). A frame
 * that finds too few buffers is dropped and counted, as a NIC with an empty ring drops.
 *
 * @example
 * ```ts
 * const net = new VirtioNet({ mac: parseMac('52:54:00:00:00:01'), backend: bridge.attach(other) });
 * const device = new VirtioDevice(mem, net);
 * net.deliver(frame); // fills posted receive buffers, then a used-buffer notification unless suppressed
 * ```
 */
export class VirtioNet implements VirtioDeviceModel, NetPort {
  readonly deviceId = VIRTIO_ID_NET;
  readonly features = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_EVENT_IDX) | bit(VIRTIO_F_INDIRECT_DESC) | bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_STATUS) | bit(VIRTIO_NET_F_MTU) | bit(VIRTIO_NET_F_MRG_RXBUF);
  readonly queueCount = 2;
  readonly queueSizeMax: number;
  readonly config: Uint8Array;
  readonly mac: Uint8Array;
  backend: NetBackend | null;
  readonly figures: VirtioNetFigures = { txFrames: 0, txBytes: 0, txDropped: 0, rxFrames: 0, rxBytes: 0, rxDropped: 0, rxBuffersRefused: 0 };
  /** Posted receive buffers, oldest first. */
  private held: HeldRx[] = [];

  constructor(options: VirtioNetOptions) {
    if (options.mac.length !== ETH_ALEN) throw new RangeError(`virtio-net: a MAC has ${ETH_ALEN} bytes, not ${options.mac.length}`);
    this.queueSizeMax = options.queueSizeMax ?? 256;
    if (!isValidQueueSize(this.queueSizeMax)) throw new RangeError(`virtio-net: queueSizeMax ${this.queueSizeMax} is not a power of 2 in [1, 32768]`);
    this.mac = options.mac.slice();
    this.backend = options.backend ?? null;
    this.config = netConfig(this.mac, options.linkUp ?? true);
  }

  /** Receive buffers posted and not yet filled. */
  get rxBuffersHeld(): number {
    return this.held.length;
  }

  /** SIM CHOICE: VERSION_1 is required — the 10-byte legacy header is not modelled. */
  acceptFeatures(accepted: bigint): boolean {
    return (accepted & bit(VIRTIO_F_VERSION_1)) !== 0n;
  }

  serve(ctx: ServeContext, chain: DescChain): ServeResult {
    return ctx.queue === VIRTIO_NET_RXQ ? this.serveRx(ctx, chain) : this.serveTx(ctx, chain);
  }

  reset(): void {
    this.held = [];
  }

  /**
   * A frame from the backend: into the oldest posted receive buffers, header first. False (dropped,
   * counted) when it is not 14..1514 bytes or the buffers are too few.
   */
  deliver(frame: Uint8Array): boolean {
    if (frame.length < ETH_HLEN || frame.length > ETH_FRAME_LEN) return this.dropRx();
    if (this.held.length === 0) return this.dropRx();
    const ctx = this.held[0].ctx;
    const bytes = VIRTIO_NET_HDR.size + frame.length;
    const count = (ctx.features & bit(VIRTIO_NET_F_MRG_RXBUF)) !== 0n ? this.buffersFor(bytes) : 1;
    if (count === 0 || (count === 1 && this.held[0].chain.writableBytes < bytes)) return this.dropRx(); // too few, or too small (refused when posted)
    const taken = this.held.splice(0, count);
    if (!ctx.complete(fillRx(ctx, taken, frame))) {
      this.held = []; // the device stopped being live since they were posted: they are gone
      return this.dropRx();
    }
    this.figures.rxFrames++;
    this.figures.rxBytes += frame.length;
    return true;
  }

  /** Receive buffers: writable only; below the minimum (case 24) refused and returned unused. */
  private serveRx(ctx: ServeContext, chain: DescChain): ServeResult {
    if (chain.readableBytes > 0) return { malformed: `receive chain with ${chain.readableBytes} device-readable bytes` }; // QEMU: virtio_error
    const mergeable = (ctx.features & bit(VIRTIO_NET_F_MRG_RXBUF)) !== 0n;
    const min = mergeable ? VIRTIO_NET_HDR.size : RX_BUFFER_BYTES_MIN;
    if (chain.writableBytes < min) {
      // case 24: the driver SHOULD NOT post it; SIM CHOICE: log, return it with len 0, never fill it.
      ctx.log.record('request-rule-broken', `receive buffer of ${chain.writableBytes} bytes < ${min} ${mergeable ? '(header)' : 'without MRG_RXBUF'} (§3.1)`);
      this.figures.rxBuffersRefused++;
      return { written: 0 };
    }
    if (this.held.length > 0 && this.held[0].ctx !== ctx) this.held = []; // a queue reset since: the driver reclaimed those (§1.4)
    this.held.push({ ctx, chain });
    return { held: true };
  }

  /** A transmit chain: the header, then the frame, to the backend; nothing is written back. */
  private serveTx(ctx: ServeContext, chain: DescChain): ServeResult {
    if (chain.readableBytes < VIRTIO_NET_HDR.size) return { malformed: `transmit chain of ${chain.readableBytes} readable bytes has no ${VIRTIO_NET_HDR.size}-byte header` }; // QEMU: virtio_error
    const frameBytes = chain.readableBytes - VIRTIO_NET_HDR.size;
    if (frameBytes < ETH_HLEN || frameBytes > ETH_FRAME_LEN || this.backend === null) {
      if (this.backend !== null) ctx.log.record('request-rule-broken', `transmit frame of ${frameBytes} bytes, not ${ETH_HLEN}..${ETH_FRAME_LEN} (no GSO negotiated)`);
      this.figures.txDropped++;
      return { written: 0 };
    }
    const frame = new Uint8Array(frameBytes);
    gatherBytes(ctx.memory, chain.readable, VIRTIO_NET_HDR.size, frame);
    this.figures.txFrames++;
    this.figures.txBytes += frameBytes;
    this.backend.transmit(frame);
    return { written: 0 };
  }

  /** MRG_RXBUF: how many of the oldest held buffers `bytes` needs, or 0 when they are too few. */
  private buffersFor(bytes: number): number {
    let room = 0;
    for (let i = 0; i < this.held.length; i++) {
      room += this.held[i].chain.writableBytes;
      if (room >= bytes) return i + 1;
    }
    return 0;
  }

  private dropRx(): false {
    this.figures.rxDropped++;
    return false;
  }
}

/** Writes header and frame across `taken` (num_buffers = their count, §3.1); the used lengths. */
function fillRx(ctx: ServeContext, taken: readonly HeldRx[], frame: Uint8Array): HeldCompletion[] {
  const hdr = new Uint8Array(VIRTIO_NET_HDR.size);
  new DataView(hdr.buffer).setUint16(VIRTIO_NET_HDR.num_buffers, taken.length, true); // flags 0, GSO_NONE
  const packet = new Uint8Array(hdr.length + frame.length);
  packet.set(hdr);
  packet.set(frame, hdr.length);
  const done: HeldCompletion[] = [];
  let at = 0;
  for (const h of taken) {
    const n = Math.min(h.chain.writableBytes, packet.length - at);
    const wrote = scatterBytes(ctx.memory, h.chain.writable, 0, packet.subarray(at, at + n));
    if (wrote !== n) throw new Error(`virtio-net: wrote ${wrote} of ${n} bytes into head ${h.chain.head}`);
    done.push({ chain: h.chain, written: n });
    at += n;
  }
  if (at !== packet.length) throw new Error(`virtio-net: ${at} of ${packet.length} packet bytes placed in ${taken.length} buffers`);
  return done;
}

/** The config space of §3.1 for `mac`. */
function netConfig(mac: Uint8Array, linkUp: boolean): Uint8Array {
  const bytes = new Uint8Array(NET_CONFIG.size);
  const view = new DataView(bytes.buffer);
  bytes.set(mac, NET_CONFIG.mac);
  view.setUint16(NET_CONFIG.status, linkUp ? VIRTIO_NET_S_LINK_UP : 0, true);
  view.setUint16(NET_CONFIG.max_virtqueue_pairs, 1, true);
  view.setUint16(NET_CONFIG.mtu, VIRTIO_NET_MTU, true);
  return bytes;
}
