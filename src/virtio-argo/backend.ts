import type { ArgoGuest } from '../guest/argo-guest.js';
import { DriverQueue } from '../virtio/driver-queue.js';
import { VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_F_EVENT_IDX, isValidQueueSize } from '../virtio/constants.js';
import { usedRingBytes, type VringAddresses } from '../virtio/layout.js';
import { placeVring } from '../virtio/place-vring.js';
import { VirtioDevice, type VirtioDeviceModel, type VirtioInterrupt } from '../virtio/virtio-device.js';
import { ERRNO } from '../xen/errno.js';
import { VirtioArgoEndpoint } from './endpoint.js';
import { freeRun } from './free-run.js';
import { VIRTIO_ARGO_RING_LEN_DEFAULT, type VirtioArgoFigures } from './frontend.js';
import { VA_AVAIL_ENTRY, VA_CONFIG_CHANGED, VA_HELLO, VA_MSG, VA_OP, VA_REPLY, VA_REQUEST, VA_SYNC, VA_USED_ENTRY, align4, writeSyncHead } from './protocol.js';

/** Bytes (readable + writable) one chain may carry by default: a 64 KiB block request with its header and status. */
export const CHAIN_BYTES_MAX_DEFAULT = 64 * 1024 + 4096;

/** Options of a back-end transport. */
export interface VirtioArgoBackendOptions {
  port: number;
  frontendDomid: number;
  model: VirtioDeviceModel;
  ringLen?: number;
  /** The most bytes one chain may carry; the back end keeps qsz chains of this size per queue. */
  chainBytesMax?: number;
  /** The device status after each control message or device event (the back-end actor follows it). */
  onStatus?(status: number): void;
}

interface Shadow {
  ring: VringAddresses;
  ringBytes: number;
  dq: DriverQueue<number>;
  arena: number;
  arenaBytes: number;
  slotBytes: number;
  /** Chains received, not yet on the local queue (it had no free descriptor). */
  backlog: number[];
  /** Per front-end head: readable bytes, writable bytes; -1 when not in flight. */
  readable: Int32Array;
  writable: Int32Array;
}

/** A USED_SYNC being filled: the next entry's offset in `out`, and its entries so far. */
interface UsedBatch {
  at: number;
  count: number;
}

/**
 * The VirtIO-Argo back-end transport (virtio-ioreq-lifecycle.md §4.3, §4.6) in a platform domain: it
 * answers the front end's control messages with a `VirtioDevice` over the back end's *own* memory,
 * and for each queue keeps a local copy — a vring in its own pages, filled by a local `DriverQueue`
 * with the bytes each AVAIL_SYNC carried — which the unchanged device model serves. Used chains go
 * back in USED_SYNC with the bytes the device wrote — at once, or later for a chain the model held
 * (its used-buffer notification sends it); a configuration-change notification (or
 * DEVICE_NEEDS_RESET) goes back as CONFIG_CHANGED. Nothing of the front end's memory is ever mapped.
 *
 * @example
 * ```ts
 * const be = new VirtioArgoBackend(beGuest, { port: 0x10000, frontendDomid: 1, model: virtioBlkModel({ disk }) });
 * be.start(); // registers (backend, port) for the front end only
 * ```
 */
export class VirtioArgoBackend {
  readonly device: VirtioDevice;
  readonly endpoint: VirtioArgoEndpoint;
  readonly figures: VirtioArgoFigures = { status: 0, requests: 0, completions: 0, errors: 0, bytes: 0 };
  /** 0, or the -errno of the last failed answer. */
  linkError = 0;
  private readonly shadows: Array<Shadow | null>;
  private readonly chainBytesMax: number;
  private readonly out: Uint8Array;
  private readonly outView: DataView;
  /** True while `serve` runs: used entries are harvested there, and `out` is in use. */
  private serving = false;
  /** Queues with used entries not yet sent (a late completion). */
  private readonly lateQueues = new Set<number>();

  constructor(
    readonly guest: ArgoGuest,
    private readonly options: VirtioArgoBackendOptions,
  ) {
    this.device = new VirtioDevice(guest.platform.memory, options.model, { onInterrupt: (n) => this.interrupt(n) });
    this.endpoint = new VirtioArgoEndpoint(guest, options.port, { domid: options.frontendDomid, aport: options.port }, options.ringLen ?? VIRTIO_ARGO_RING_LEN_DEFAULT, (op, payload) => this.receive(op, payload));
    this.shadows = new Array<Shadow | null>(options.model.queueCount).fill(null);
    this.chainBytesMax = options.chainBytesMax ?? CHAIN_BYTES_MAX_DEFAULT;
    this.out = new Uint8Array(this.endpoint.maxPayload);
    this.outView = new DataView(this.out.buffer);
  }

  /** Registers the request ring with the front end as its only sender; 0 or -errno (ESRCH, EACCES, ...). */
  start(): number {
    return this.endpoint.register();
  }

  /** Unregisters and stops listening (the device model stays as it is). */
  stop(): void {
    this.endpoint.unregister();
    this.endpoint.close();
  }

  private receive(op: number, payload: Uint8Array): void {
    this.figures.bytes += payload.length;
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    if (op === VA_OP.AVAIL_SYNC) {
      if (payload.length < VA_SYNC.size) return this.malformed('AVAIL_SYNC shorter than its head');
      this.availSync(view, payload);
    } else if (payload.length < VA_REQUEST.size) {
      this.answer(0, -ERRNO.EINVAL, 0); // too short to carry its seq: docs/virtio-argo.md "error answers"
    } else {
      const seq = view.getUint32(VA_REQUEST.seq, true);
      const args = [view.getUint32(VA_REQUEST.arg0, true), view.getUint32(VA_REQUEST.arg1, true), view.getUint32(VA_REQUEST.arg2, true)] as const;
      const [rc, value, generation] = this.control(op, args[0], args[1], args[2]);
      this.answer(seq, rc, value, generation);
    }
    const status = this.report();
    this.options.onStatus?.(status);
  }

  /** The control operations (§4.11): [rc, value, generation]. */
  private control(op: number, a0: number, a1: number, a2: number): [number, number, number] {
    const d = this.device;
    const gen = () => d.configGeneration;
    switch (op) {
      case VA_OP.HELLO: {
        const m = this.options.model;
        return [0, (m.deviceId << VA_HELLO.deviceIdShift) | (m.queueCount << VA_HELLO.queueCountShift), (m.queueSizeMax << VA_HELLO.queueSizeMaxShift) | (m.config.length << VA_HELLO.configBytesShift)];
      }
      case VA_OP.GET_STATUS:
        return [0, d.readStatus(), gen()];
      case VA_OP.SET_STATUS:
        if (a0 === 0) this.dropShadows();
        d.writeStatus(a0);
        return [0, d.readStatus(), gen()];
      case VA_OP.GET_FEATURES:
        return [0, d.readDeviceFeatures(a0) >>> 0, gen()];
      case VA_OP.SET_FEATURES:
        d.writeDriverFeatures(a0, a1);
        return [0, 0, gen()];
      case VA_OP.GET_CONFIG:
        return [0, a1 === 0 ? 0 : d.readConfig(a0, a1) >>> 0, gen()];
      case VA_OP.SET_CONFIG:
        d.writeConfig(a0, a1, a2);
        return [0, 0, gen()];
      case VA_OP.QUEUE_READY:
        return [a2 === 1 ? this.queueUp(a0, a1) : this.queueDown(a0), d.queueReady(a0) ? 1 : 0, gen()];
      case VA_OP.QUEUE_RESET:
        d.resetQueue(a0);
        if (!d.queueReady(a0)) this.dropShadow(a0);
        return [0, 0, gen()];
      default:
        return [-ERRNO.EOPNOTSUPP, 0, gen()];
    }
  }

  /** QueueReady=1 of size `size`: the back end's own vring and buffer arena, then the device's queue registers. */
  private queueUp(q: number, size: number): number {
    const d = this.device;
    if (d.queueSizeMax(q) === 0) return -ERRNO.EINVAL;
    if (this.shadows[q] !== null) return 0;
    if (!isValidQueueSize(size) || size > d.queueSizeMax(q)) {
      d.setQueueSize(q, size);
      d.setQueueReady(q, true); // the device refuses and logs it (case 1)
      return -ERRNO.EINVAL;
    }
    const { memory, pages } = { memory: this.guest.platform.memory, pages: this.guest.pages };
    let ring: VringAddresses;
    let arena: number;
    try {
      ring = placeVring(memory, pages, size);
    } catch {
      return -ERRNO.ENOMEM;
    }
    const ringBytes = ring.used + usedRingBytes(size) - ring.desc;
    const slotBytes = align4(this.chainBytesMax);
    try {
      arena = pages.allocateBytes(size * slotBytes);
    } catch {
      freeRun(this.guest.pages, ring.desc, ringBytes);
      return -ERRNO.ENOMEM;
    }
    d.setQueueSize(q, size);
    d.setQueueAddresses(q, ring.desc, ring.avail, ring.used);
    d.setQueueReady(q, true);
    const shadow: Shadow = {
      ring,
      ringBytes,
      dq: new DriverQueue<number>(memory, ring, { eventIdx: d.status.has(VIRTIO_F_EVENT_IDX) }),
      arena,
      arenaBytes: size * slotBytes,
      slotBytes,
      backlog: [],
      readable: new Int32Array(size).fill(-1),
      writable: new Int32Array(size).fill(-1),
    };
    this.shadows[q] = shadow;
    if (!d.queueReady(q)) {
      this.dropShadow(q);
      return -ERRNO.EINVAL;
    }
    return 0;
  }

  private queueDown(q: number): number {
    if (this.device.queueSizeMax(q) === 0) return -ERRNO.EINVAL;
    this.device.setQueueReady(q, false);
    this.dropShadow(q);
    return 0;
  }

  /** AVAIL_SYNC: each chain's readable bytes into the back end's own buffer, then the device serves the local queue. */
  private availSync(view: DataView, payload: Uint8Array): void {
    const q = view.getUint16(VA_SYNC.queue, true);
    const count = view.getUint16(VA_SYNC.count, true);
    const s = q < this.shadows.length ? this.shadows[q] : null;
    if (!this.device.status.is(VIRTIO_CONFIG_S_DRIVER_OK) || s === null) {
      this.device.notify(q); // logs notify-before-driver-ok or notify-queue-not-ready (case 18); nothing is served
      return;
    }
    const memory = this.guest.platform.memory;
    let at = VA_SYNC.size;
    for (let i = 0; i < count; i++) {
      if (at + VA_AVAIL_ENTRY.size > payload.length) return this.malformed(`AVAIL_SYNC entry ${i} past the message end`);
      const head = view.getUint16(at + VA_AVAIL_ENTRY.head, true);
      const readable = view.getUint32(at + VA_AVAIL_ENTRY.readableBytes, true);
      const writable = view.getUint32(at + VA_AVAIL_ENTRY.writableBytes, true);
      const end = at + VA_AVAIL_ENTRY.size + readable;
      if (head >= s.ring.qsz || s.readable[head] >= 0) return this.malformed(`AVAIL_SYNC head ${head}: ≥ qsz ${s.ring.qsz} or already in flight (§2.6)`);
      if (readable + writable > s.slotBytes || readable + writable === 0 || end > payload.length) return this.malformed(`AVAIL_SYNC head ${head}: ${readable}+${writable} bytes (slot ${s.slotBytes}, message ${payload.length})`);
      memory.u8.set(payload.subarray(at + VA_AVAIL_ENTRY.size, end), s.arena + head * s.slotBytes);
      s.readable[head] = readable;
      s.writable[head] = writable;
      s.backlog.push(head);
      this.figures.requests++;
      at = VA_AVAIL_ENTRY.size + align4(readable) + at;
    }
    this.serve(q, s);
  }

  /** Puts backlog chains on the local queue (one readable and one writable element each), lets the device serve, returns what it used. */
  private serve(q: number, s: Shadow): void {
    this.serving = true;
    try {
      this.serveLocal(q, s);
    } finally {
      this.serving = false;
    }
    this.sendLate();
  }

  private serveLocal(q: number, s: Shadow): void {
    const batch: UsedBatch = { at: VA_SYNC.size, count: 0 };
    let progress = true;
    while (progress) {
      while (s.backlog.length > 0) {
        const head = s.backlog[0];
        const base = s.arena + head * s.slotBytes;
        const out = s.readable[head] > 0 ? [{ gpa: base, len: s.readable[head] }] : [];
        const inBufs = s.writable[head] > 0 ? [{ gpa: base + s.readable[head], len: s.writable[head] }] : [];
        if (!s.dq.add(out, inBufs, head).ok) break;
        s.backlog.shift();
      }
      this.device.notify(q); // serves synchronously; a spurious notification is harmless (§1.7)
      if (this.shadows[q] !== s) return; // the device needed a reset meanwhile
      progress = this.harvest(q, s, batch) > 0;
      if (!this.device.status.live || s.backlog.length === 0) break;
    }
    this.flushUsed(q, batch);
  }

  /** Used entries of the local queue into USED_SYNC messages (sent as each fills); how many. */
  private harvest(q: number, s: Shadow, batch: UsedBatch): number {
    let harvested = 0;
    for (let used = s.dq.getBuf(); used !== null; used = s.dq.getBuf()) {
      const head = used.token;
      const entryBytes = VA_USED_ENTRY.size + align4(used.len);
      if (batch.at + entryBytes > this.out.length) this.flushUsed(q, batch);
      const from = s.arena + head * s.slotBytes + s.readable[head];
      this.writeUsedEntry(batch.at, head, used.len, this.guest.platform.memory.u8.subarray(from, from + used.len));
      s.readable[head] = s.writable[head] = -1;
      batch.at += entryBytes;
      batch.count++;
      harvested++;
      this.figures.completions++;
    }
    return harvested;
  }

  private flushUsed(q: number, batch: UsedBatch): void {
    if (batch.count === 0) return;
    writeSyncHead(this.outView, q, batch.count, batch.at);
    this.send(VA_MSG | VA_OP.USED_SYNC, this.out.subarray(0, batch.at));
    batch.at = VA_SYNC.size;
    batch.count = 0;
  }

  /**
   * Completions that came later than their AVAIL_SYNC (a device model held the chain, e.g. a
   * virtio-net receive buffer until a frame arrived): USED_SYNC for each queue that had one.
   */
  private sendLate(): void {
    for (const q of this.lateQueues) {
      this.lateQueues.delete(q);
      const s = this.shadows[q];
      if (s === null || s === undefined) continue;
      const batch: UsedBatch = { at: VA_SYNC.size, count: 0 };
      this.harvest(q, s, batch);
      this.flushUsed(q, batch);
    }
  }

  private interrupt(n: VirtioInterrupt): void {
    if (n.kind === 'used') {
      // Inside `serve` its own harvest (and `sendLate` after it) picks these up; outside, it is a late completion.
      this.lateQueues.add(n.queue);
      if (!this.serving) this.sendLate();
      return;
    }
    const v = this.outView;
    v.setUint32(VA_CONFIG_CHANGED.seq, 0, true);
    v.setUint32(VA_CONFIG_CHANGED.status, this.device.readStatus(), true);
    v.setUint32(VA_CONFIG_CHANGED.generation, this.device.configGeneration, true);
    v.setUint32(VA_CONFIG_CHANGED.reserved, 0, true);
    this.send(VA_MSG | VA_OP.CONFIG_CHANGED, this.out.slice(0, VA_CONFIG_CHANGED.size));
  }

  /** A malformed message: the device's protocol error (§2.6 SIM CHOICE) — DEVICE_NEEDS_RESET and CONFIG_CHANGED. */
  private malformed(reason: string): void {
    this.figures.errors++;
    this.device.log.record('malformed-ring', `VirtIO-Argo: ${reason}`);
    this.device.fail(reason);
  }

  private answer(seq: number, rc: number, value: number, generation = this.device.configGeneration): void {
    const v = new DataView(new ArrayBuffer(VA_REPLY.size));
    v.setUint32(VA_REPLY.seq, seq, true);
    v.setInt32(VA_REPLY.rc, rc, true);
    v.setUint32(VA_REPLY.value, value >>> 0, true);
    v.setUint32(VA_REPLY.generation, generation >>> 0, true);
    this.send(VA_MSG | VA_OP.REPLY, new Uint8Array(v.buffer));
  }

  private send(type: number, bytes: Uint8Array): void {
    const rc = this.endpoint.send(type, bytes);
    if (rc < 0) {
      this.linkError = rc;
      this.figures.errors++;
    } else this.figures.bytes += rc;
  }

  private report(): number {
    this.figures.status = this.device.readStatus();
    return this.figures.status;
  }


  private writeUsedEntry(at: number, head: number, len: number, bytes: Uint8Array): void {
    const v = this.outView;
    v.setUint16(at + VA_USED_ENTRY.head, head, true);
    v.setUint16(at + VA_USED_ENTRY.pad, 0, true);
    v.setUint32(at + VA_USED_ENTRY.len, len, true);
    this.out.set(bytes, at + VA_USED_ENTRY.size);
  }

  private dropShadows(): void {
    for (let q = 0; q < this.shadows.length; q++) this.dropShadow(q);
  }

  private dropShadow(q: number): void {
    const s = this.shadows[q];
    if (!s) return;
    this.shadows[q] = null;
    freeRun(this.guest.pages, s.ring.desc, s.ringBytes);
    freeRun(this.guest.pages, s.arena, s.arenaBytes);
  }
}
