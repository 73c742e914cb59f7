import type { GuestMemory } from '../../memory/guest-memory.js';
import type { PageAllocator } from '../../memory/page-allocator.js';
import type { DriverBuffer, DriverQueue } from '../driver-queue.js';
import {
  BLK_REQ_HEADER,
  SECTOR_SIZE,
  VIRTIO_BLK_ID_BYTES,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
} from './constants.js';

/** A finished request: what was asked, the status byte, the data read (IN, GET_ID) and used.len. */
export interface BlkCompletion {
  readonly tag: number;
  readonly type: number;
  readonly sector: number;
  readonly status: number;
  readonly data: Uint8Array | null;
  readonly usedLen: number;
}

/** Request buffers of a `VirtioBlkDriver`. */
export interface BlkDriverOptions {
  /** Requests in flight at most (default 64). */
  slots?: number;
  /** Data bytes one request may carry (default 64 KiB). */
  slotDataBytes?: number;
  /** Data is split into descriptors of at most this many bytes (default 4096), so chains are long. */
  segmentBytes?: number;
}

interface Slot {
  type: number;
  sector: number;
  inBytes: number;
  busy: boolean;
}

const SLOT_HEADER_BYTES = 32; // header (16), status byte at 16, data from 32

/**
 * The driver side of virtio-blk (virtio-ioreq-lifecycle.md §3.2): builds requests in guest memory —
 * a readable header {type, reserved, sector}, the data (readable for OUT, writable for IN and GET_ID)
 * split into descriptors of `segmentBytes`, and a writable status byte — and puts them on a
 * `DriverQueue`; `harvest` reads back status and data. Each request has a slot of guest memory, so
 * at most `slots` are in flight. The request methods follow the driver rules: IN and OUT carry whole
 * sectors; FLUSH has sector 0 and no data; GET_ID has 20 data bytes.
 *
 * @example
 * ```ts
 * const blk = new VirtioBlkDriver(mem, pages, queue);
 * const tag = blk.write(8, new Uint8Array(1024));
 * blk.kick();
 * blk.harvest(); // [{ tag, type: VIRTIO_BLK_T_OUT, status: VIRTIO_BLK_S_OK, … }]
 * ```
 */
export class VirtioBlkDriver {
  private readonly slots: Slot[];
  private readonly base: number;
  private readonly slotBytes: number;
  private readonly slotDataBytes: number;
  private readonly segmentBytes: number;

  constructor(
    private readonly memory: GuestMemory,
    pages: PageAllocator,
    readonly queue: DriverQueue<number>,
    options: BlkDriverOptions = {},
  ) {
    const count = options.slots ?? 64;
    this.slotDataBytes = options.slotDataBytes ?? 64 * 1024;
    this.segmentBytes = options.segmentBytes ?? 4096;
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`VirtioBlkDriver: ${count} slots`);
    if (this.segmentBytes < 1) throw new RangeError(`VirtioBlkDriver: segmentBytes ${this.segmentBytes}`);
    this.slotBytes = SLOT_HEADER_BYTES + this.slotDataBytes;
    this.base = pages.allocateBytes(count * this.slotBytes);
    this.slots = Array.from({ length: count }, () => ({ type: 0, sector: 0, inBytes: 0, busy: false }));
  }

  /** Reads `sectors` sectors from `sector`; the tag, or null when no slot or descriptor is free. */
  read(sector: number, sectors: number): number | null {
    return this.request(VIRTIO_BLK_T_IN, sector, { inBytes: sectors * SECTOR_SIZE });
  }

  /** Writes `data` (whole sectors) at `sector`. */
  write(sector: number, data: Uint8Array): number | null {
    if (data.length % SECTOR_SIZE !== 0) throw new RangeError(`VirtioBlkDriver.write: ${data.length} bytes is not whole sectors (§3.2)`);
    return this.request(VIRTIO_BLK_T_OUT, sector, { out: data });
  }

  /** FLUSH: sector 0, no data (§3.2). */
  flush(): number | null {
    return this.request(VIRTIO_BLK_T_FLUSH, 0, {});
  }

  /** GET_ID: 20 data bytes (§3.2). */
  getId(): number | null {
    return this.request(VIRTIO_BLK_T_GET_ID, 0, { inBytes: VIRTIO_BLK_ID_BYTES });
  }

  /**
   * Any request, rules unchecked (for tests of the device's answers): `out` bytes after the header,
   * `inBytes` writable data bytes before the status byte.
   */
  request(type: number, sector: number, data: { out?: Uint8Array; inBytes?: number }): number | null {
    const out = data.out ?? new Uint8Array(0);
    const inBytes = data.inBytes ?? 0;
    if (out.length + inBytes > this.slotDataBytes) throw new RangeError(`VirtioBlkDriver: ${out.length + inBytes} data bytes exceed a slot of ${this.slotDataBytes}`);
    const tag = this.slots.findIndex((s) => !s.busy);
    if (tag < 0) return null;
    const at = this.base + tag * this.slotBytes;
    const view = this.memory.view;
    view.setUint32(at + BLK_REQ_HEADER.type, type, true);
    view.setUint32(at + BLK_REQ_HEADER.reserved, 0, true);
    view.setUint32(at + BLK_REQ_HEADER.sector, sector >>> 0, true);
    view.setUint32(at + BLK_REQ_HEADER.sector + 4, Math.floor(sector / 0x1_0000_0000), true);
    this.memory.u8[at + 16] = 0xff; // a status the device has not written yet
    this.memory.write(at + SLOT_HEADER_BYTES, out);
    const readable = [{ gpa: at, len: BLK_REQ_HEADER.size }, ...this.split(at + SLOT_HEADER_BYTES, out.length)];
    const writable = [...this.split(at + SLOT_HEADER_BYTES, inBytes), { gpa: at + 16, len: 1 }];
    const added = this.queue.add(readable, writable, tag);
    if (!added.ok) return null;
    this.slots[tag] = { type, sector, inBytes, busy: true };
    return tag;
  }

  /** Notifies the device unless it suppressed notifications. */
  kick(): boolean {
    return this.queue.kick();
  }

  /** Every request the device has completed since the last call. */
  harvest(): BlkCompletion[] {
    const done: BlkCompletion[] = [];
    for (let used = this.queue.getBuf(); used !== null; used = this.queue.getBuf()) {
      const slot = this.slots[used.token];
      const at = this.base + used.token * this.slotBytes;
      const data = slot.inBytes > 0 ? this.memory.read(at + SLOT_HEADER_BYTES, slot.inBytes) : null;
      done.push({ tag: used.token, type: slot.type, sector: slot.sector, status: this.memory.u8[at + 16], data, usedLen: used.len });
      slot.busy = false;
    }
    return done;
  }

  private split(gpa: number, bytes: number): DriverBuffer[] {
    const pieces: DriverBuffer[] = [];
    for (let done = 0; done < bytes; done += this.segmentBytes) pieces.push({ gpa: gpa + done, len: Math.min(this.segmentBytes, bytes - done) });
    return pieces;
  }
}
