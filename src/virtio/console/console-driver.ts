import type { GuestMemory } from '../../memory/guest-memory.js';
import type { PageAllocator } from '../../memory/page-allocator.js';
import { type DriverQueue, postReceiveBuffers } from '../driver-queue.js';

/** Buffers of a `VirtioConsoleDriver`. */
export interface ConsoleDriverOptions {
  /** Receive buffers (default: the receiveq's size) of `rxBufferBytes` (default 128) each. */
  rxBuffers?: number;
  rxBufferBytes?: number;
  /** Transmit slots (default 16) of `txSlotBytes` (default 256) each. */
  txSlots?: number;
  txSlotBytes?: number;
}

/**
 * The driver side of virtio-console port 0 (virtio-ioreq-lifecycle.md §3.3) in guest memory: posts
 * writable-only buffers on receiveq and readable-only ones on transmitq, as the spec requires.
 *
 * @example
 * ```ts
 * const tty = new VirtioConsoleDriver(mem, pages, rxQueue, txQueue);
 * tty.postRx();
 * tty.write(new TextEncoder().encode('login: '));
 * tty.read(); // what was typed
 * ```
 */
export class VirtioConsoleDriver {
  private readonly rxBase: number;
  private readonly rxBufferBytes: number;
  private readonly rxFree: number[];
  private readonly txBase: number;
  private readonly txSlotBytes: number;
  private readonly txFree: number[];

  constructor(
    private readonly memory: GuestMemory,
    pages: PageAllocator,
    readonly rx: DriverQueue<number>,
    readonly tx: DriverQueue<number>,
    options: ConsoleDriverOptions = {},
  ) {
    const rxBuffers = options.rxBuffers ?? rx.qsz;
    const txSlots = options.txSlots ?? 16;
    this.rxBufferBytes = options.rxBufferBytes ?? 128;
    this.txSlotBytes = options.txSlotBytes ?? 256;
    if (rxBuffers < 1 || txSlots < 1 || this.rxBufferBytes < 1 || this.txSlotBytes < 1) throw new RangeError(`VirtioConsoleDriver: ${rxBuffers}×${this.rxBufferBytes} receive, ${txSlots}×${this.txSlotBytes} transmit bytes`);
    this.rxBase = pages.allocateBytes(rxBuffers * this.rxBufferBytes);
    this.txBase = pages.allocateBytes(txSlots * this.txSlotBytes);
    this.rxFree = Array.from({ length: rxBuffers }, (_, i) => rxBuffers - 1 - i);
    this.txFree = Array.from({ length: txSlots }, (_, i) => txSlots - 1 - i);
  }

  /** Posts every free receive buffer (one writable descriptor each), then kicks; how many. */
  postRx(): number {
    return postReceiveBuffers(this.rx, this.rxFree, this.rxBase, this.rxBufferBytes);
  }

  /** Output on transmitq in slot-sized pieces (readable descriptors only); the bytes queued. */
  write(bytes: Uint8Array): number {
    let sent = 0;
    while (sent < bytes.length) {
      if (this.txFree.length === 0) this.reclaimTx();
      const slot = this.txFree.at(-1);
      if (slot === undefined) break;
      const n = Math.min(this.txSlotBytes, bytes.length - sent);
      const at = this.txBase + slot * this.txSlotBytes;
      this.memory.write(at, bytes.subarray(sent, sent + n));
      if (!this.tx.add([{ gpa: at, len: n }], [], slot).ok) break;
      this.txFree.pop();
      sent += n;
    }
    if (sent > 0) this.tx.kick();
    return sent;
  }

  /** Every byte received since the last call, in order; the buffers are re-posted. */
  read(): Uint8Array {
    const parts: Uint8Array[] = [];
    for (let used = this.rx.getBuf(); used !== null; used = this.rx.getBuf()) {
      parts.push(this.memory.read(this.rxBase + used.token * this.rxBufferBytes, Math.min(used.len, this.rxBufferBytes)));
      this.rxFree.push(used.token);
    }
    this.postRx();
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** Takes back the transmit slots the device used; how many. */
  reclaimTx(): number {
    let n = 0;
    for (let used = this.tx.getBuf(); used !== null; used = this.tx.getBuf(), n++) this.txFree.push(used.token);
    return n;
  }
}
