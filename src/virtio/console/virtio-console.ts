import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, bit, isValidQueueSize } from '../constants.js';
import type { DescChain } from '../desc-chain.js';
import { gatherBytes, scatterBytes } from '../segments.js';
import type { HeldCompletion, ServeContext, ServeResult, VirtioDeviceModel } from '../virtio-device.js';
import { CONSOLE_CONFIG, VIRTIO_CONSOLE_F_EMERG_WRITE, VIRTIO_CONSOLE_F_SIZE, VIRTIO_CONSOLE_RXQ, VIRTIO_ID_CONSOLE } from './constants.js';

/** How to build a virtio-console device. */
export interface VirtioConsoleOptions {
  /** Where the guest's output goes, byte runs in order (transmitq and emerg_wr). */
  onOutput?: (bytes: Uint8Array) => void;
  /** config cols and rows (default 80 × 25). */
  cols?: number;
  rows?: number;
  /** QueueSizeMax of both queues (default 64). */
  queueSizeMax?: number;
  /** Input bytes kept while no receive buffer is posted (default 4096); beyond, dropped and counted. */
  inputPendingMax?: number;
}

/** What the device counted. */
export interface VirtioConsoleFigures {
  outputBytes: number;
  inputBytes: number;
  /** Input bytes dropped because `inputPendingMax` were already waiting. */
  inputDropped: number;
  /** Bytes written through emerg_wr. */
  emergencyBytes: number;
  /** Chains with the wrong direction of buffer (§3.3 MUST NOT). */
  wrongDirectionBuffers: number;
}

interface HeldRx {
  readonly ctx: ServeContext;
  readonly chain: DescChain;
}

/**
 * A virtio-console device model (virtio-ioreq-lifecycle.md §3.3) for `VirtioDevice`: port 0 only
 * (receiveq 0, transmitq 1; MULTIPORT is not offered), config {cols, rows, max_nr_ports = 1,
 * emerg_wr}; offers VERSION_1, SIZE, EMERG_WRITE, EVENT_IDX and INDIRECT_DESC. transmitq chains are
 * output at once; receiveq buffers are *held* until `input` brings bytes. `emergencyWrite` is what a
 * write of emerg_wr does (the low byte is output); `ConsoleDriverAccess` routes such writes to it at
 * any time, since the core refuses config writes before FEATURES_OK.
 *
 * @example
 * ```ts
 * const console = new VirtioConsole({ onOutput: (b) => log.push(...b) });
 * const device = new VirtioDevice(mem, console);
 * console.input(new TextEncoder().encode('ls\n'));
 * ```
 */
export class VirtioConsole implements VirtioDeviceModel {
  readonly deviceId = VIRTIO_ID_CONSOLE;
  readonly features = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_EVENT_IDX) | bit(VIRTIO_F_INDIRECT_DESC) | bit(VIRTIO_CONSOLE_F_SIZE) | bit(VIRTIO_CONSOLE_F_EMERG_WRITE);
  readonly queueCount = 2;
  readonly queueSizeMax: number;
  readonly config: Uint8Array;
  readonly figures: VirtioConsoleFigures = { outputBytes: 0, inputBytes: 0, inputDropped: 0, emergencyBytes: 0, wrongDirectionBuffers: 0 };
  private held: HeldRx[] = [];
  private pending: number[] = [];
  private readonly inputPendingMax: number;

  constructor(private readonly options: VirtioConsoleOptions = {}) {
    this.queueSizeMax = options.queueSizeMax ?? 64;
    if (!isValidQueueSize(this.queueSizeMax)) throw new RangeError(`virtio-console: queueSizeMax ${this.queueSizeMax} is not a power of 2 in [1, 32768]`);
    this.inputPendingMax = options.inputPendingMax ?? 4096;
    this.config = new Uint8Array(CONSOLE_CONFIG.size);
    const view = new DataView(this.config.buffer);
    view.setUint16(CONSOLE_CONFIG.cols, options.cols ?? 80, true);
    view.setUint16(CONSOLE_CONFIG.rows, options.rows ?? 25, true);
    view.setUint32(CONSOLE_CONFIG.max_nr_ports, 1, true);
  }

  /** Input bytes waiting for a receive buffer. */
  get pendingInputBytes(): number {
    return this.pending.length;
  }

  /** emerg_wr is the one field the driver writes (§3.3). */
  configWritable(offset: number, width: number): boolean {
    return offset === CONSOLE_CONFIG.emerg_wr && width === 4;
  }

  /** A write of emerg_wr, allowed at any time, even before initialisation: its low byte is output (§3.3). */
  emergencyWrite(value: number): void {
    this.figures.emergencyBytes++;
    this.output(new Uint8Array([value & 0xff]));
  }

  serve(ctx: ServeContext, chain: DescChain): ServeResult {
    return ctx.queue === VIRTIO_CONSOLE_RXQ ? this.serveRx(ctx, chain) : this.serveTx(ctx, chain);
  }

  reset(): void {
    this.held = [];
  }

  /** Bytes typed at the console: into the held receive buffers, the rest kept (bounded) until more are posted. */
  input(bytes: Uint8Array): void {
    const room = this.inputPendingMax - this.pending.length;
    const kept = Math.min(room, bytes.length);
    for (let i = 0; i < kept; i++) this.pending.push(bytes[i]);
    this.figures.inputDropped += bytes.length - kept;
    this.fill();
  }

  /** §3.3: the driver MUST NOT put a readable buffer on a receiveq; SIM CHOICE: logged, returned unused. */
  private serveRx(ctx: ServeContext, chain: DescChain): ServeResult {
    if (chain.readableBytes > 0 || chain.writableBytes === 0) {
      ctx.log.record('request-rule-broken', `receiveq chain with ${chain.readableBytes} readable and ${chain.writableBytes} writable bytes (§3.3): returned unused`);
      this.figures.wrongDirectionBuffers++;
      return { written: 0 };
    }
    if (this.held.length > 0 && this.held[0].ctx !== ctx) this.held = []; // a queue reset since (§1.4)
    this.held.push({ ctx, chain });
    this.fill();
    return { held: true };
  }

  /** §3.3: the driver MUST NOT put a writable buffer on a transmitq; SIM CHOICE: logged, readable part still output. */
  private serveTx(ctx: ServeContext, chain: DescChain): ServeResult {
    if (chain.writableBytes > 0) {
      ctx.log.record('request-rule-broken', `transmitq chain with ${chain.writableBytes} writable bytes (§3.3): ignored, nothing written`);
      this.figures.wrongDirectionBuffers++;
    }
    const bytes = new Uint8Array(chain.readableBytes);
    gatherBytes(ctx.memory, chain.readable, 0, bytes);
    this.output(bytes);
    return { written: 0 };
  }

  private fill(): void {
    if (this.held.length === 0 || this.pending.length === 0) return;
    const ctx = this.held[0].ctx;
    const done: HeldCompletion[] = [];
    while (this.held.length > 0 && this.pending.length > 0) {
      const h = this.held.shift() as HeldRx;
      const bytes = Uint8Array.from(this.pending.splice(0, h.chain.writableBytes));
      const wrote = scatterBytes(ctx.memory, h.chain.writable, 0, bytes);
      if (wrote !== bytes.length) throw new Error(`virtio-console: wrote ${wrote} of ${bytes.length} bytes into head ${h.chain.head}`);
      done.push({ chain: h.chain, written: wrote });
      this.figures.inputBytes += wrote;
    }
    if (!ctx.complete(done)) this.held = []; // the ring was reclaimed; those bytes are lost with it
  }

  private output(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.figures.outputBytes += bytes.length;
    this.options.onOutput?.(bytes);
  }
}
