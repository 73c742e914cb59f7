import type { ArgoGuest } from '../guest/argo-guest.js';
import { vringFits } from '../virtio/place-vring.js';
import { DeviceQueue } from '../virtio/device-queue.js';
import type { DescChain } from '../virtio/desc-chain.js';
import type { VringAddresses } from '../virtio/layout.js';
import { gatherBytes, scatterBytes } from '../virtio/segments.js';
import type { VirtioDriverAccess } from '../virtio/driver-init.js';
import { VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC } from '../virtio/constants.js';
import { ERRNO, errnoName } from '../xen/errno.js';
import { VirtioArgoEndpoint } from './endpoint.js';
import { VA_AVAIL_ENTRY, VA_CONFIG_CHANGED, VA_HELLO, VA_MSG, VA_OP, VA_REPLY, VA_REQUEST, VA_SYNC, VA_USED_ENTRY, align4, writeSyncHead } from './protocol.js';

/** Ring bytes of each side's receive ring by default: 256 pages with the 64-byte header. */
export const VIRTIO_ARGO_RING_LEN_DEFAULT = 256 * 4096 - 64;

/** Options of a front-end transport. */
export interface VirtioArgoFrontendOptions {
  /** The device's Argo port: the back end listens on (backend, port), the front end on (frontend, port). */
  port: number;
  backendDomid: number;
  ringLen?: number;
  /** A used-buffer notification for queue `q` (§1.7): the driver harvests. */
  onUsed?(q: number): void;
  /** A configuration-change notification with the status the back end reported. */
  onConfigChange?(status: number): void;
  /** The back end became unreachable: sendv answered `errno` (ECONNREFUSED, ESRCH, EACCES, EPERM, ETIMEDOUT). */
  onLinkDown?(errno: number): void;
  /** Lets a back end that is not driven by its VIRQ run before a control answer is given up on. */
  pumpPeer?(): void;
  /**
   * A back end in another thread answers later: blocks, bounded, until this domain's VIRQ_ARGO may
   * have brought the answer, and runs the domain's VIRQ handler — which drains this transport's ring
   * (`VirtioArgoEndpoint.serve`) with the domain's other rings; asked again while no answer came
   * (`attempt` counts from 0 for each control operation). False: give up — the link is down
   * (ETIMEDOUT), as when no answer comes at all.
   */
  waitForPeer?(attempt: number): boolean;
}

/** Per-device figures (also what `argosim run --json` would report under `devices`). */
export interface VirtioArgoFigures {
  status: number;
  /** Chains sent to the back end. */
  requests: number;
  /** Chains the back end returned. */
  completions: number;
  /** Links lost and protocol faults. */
  errors: number;
  /** Payload bytes through sendv, both directions, as this side counts them. */
  bytes: number;
}

interface LocalQueue {
  size: number;
  addresses: VringAddresses | null;
  vq: DeviceQueue | null;
  inFlight: Map<number, DescChain>;
}

interface Reply {
  rc: number;
  value: number;
  generation: number;
}

/**
 * The VirtIO-Argo front-end transport (virtio-ioreq-lifecycle.md §4.3, §4.5–§4.7; protocol in
 * docs/virtio-argo.md): the driver's `VirtioDriverAccess` carried as Argo messages to a back end.
 * The vrings stay in the guest's own memory; the transport is the device side of them locally (a
 * `DeviceQueue`), and on each kick it copies every newly available chain's readable bytes into one
 * AVAIL_SYNC message (more only when the ring cannot take it whole). USED_SYNC answers bring the
 * written bytes back, which it scatters into the chains' writable buffers before pushing them used.
 * Guest-physical addresses never leave the guest. A sendv that fails hard (the back end died, a
 * firewall edge went) makes the status read DEVICE_NEEDS_RESET until `attachBackend` and a reset.
 *
 * @example
 * ```ts
 * const fe = new VirtioArgoFrontend(feGuest, { port: 0x10000, backendDomid: 2 });
 * fe.start();
 * const init = initialiseDevice(fe, feGuest.platform.memory, feGuest.pages, { wanted });
 * const q = new DriverQueue(mem, init.rings[0], { notify: () => fe.notify(0) });
 * ```
 */
export class VirtioArgoFrontend implements VirtioDriverAccess {
  readonly endpoint: VirtioArgoEndpoint;
  /** 0, or the -errno that cut the link. */
  linkError = 0;
  /** Why the transport last needed a reset (a protocol fault or the link). */
  lastError: string | null = null;
  usedNotifications = 0;
  configNotifications = 0;
  readonly figures: VirtioArgoFigures = { status: 0, requests: 0, completions: 0, errors: 0, bytes: 0 };
  private shadowStatus = 0;
  private localFault = false;
  private seq = 0;
  private reply: Reply | null = null;
  private hello: { queueCount: number; queueSizeMax: number; deviceId: number } | null = null;
  private readonly driverFeatures = [0, 0];
  private generation = 0;
  private queues: LocalQueue[] = [];
  private readonly scratch: Uint8Array;
  private readonly scratchView: DataView;

  constructor(
    readonly guest: ArgoGuest,
    private readonly options: VirtioArgoFrontendOptions,
  ) {
    const ringLen = options.ringLen ?? VIRTIO_ARGO_RING_LEN_DEFAULT;
    this.endpoint = new VirtioArgoEndpoint(guest, options.port, { domid: options.backendDomid, aport: options.port }, ringLen, (op, payload) => this.receive(op, payload));
    this.scratch = new Uint8Array(this.endpoint.maxPayload);
    this.scratchView = new DataView(this.scratch.buffer);
  }

  /** Registers the answer ring (partner: the back end); 0 or -errno, after which the link is down. */
  start(): number {
    const rc = this.endpoint.register();
    if (rc < 0) this.linkDown(rc, 'register_ring');
    return rc;
  }

  /** A new back-end domain came up (recovery, §6.7 R9): re-register towards it; the driver then resets and re-initialises. */
  attachBackend(domid: number): number {
    this.endpoint.unregister();
    this.endpoint.peer = { domid, aport: this.options.port };
    this.linkError = 0;
    this.localFault = false;
    this.hello = null;
    this.dropQueues();
    return this.start();
  }

  /** Unregisters and stops listening. */
  stop(): void {
    this.endpoint.unregister();
    this.endpoint.close();
  }

  // ---- VirtioDriverAccess (§1.2 through messages) ----

  readStatus(): number {
    if (this.linkError !== 0 || this.localFault) return this.report(this.shadowStatus | VIRTIO_CONFIG_S_NEEDS_RESET);
    const r = this.control(VA_OP.GET_STATUS);
    return this.report(r === null ? this.shadowStatus | VIRTIO_CONFIG_S_NEEDS_RESET : (this.shadowStatus = r.value));
  }

  writeStatus(value: number): void {
    this.shadowStatus = value; // FAILED latches here even when no back end hears it
    if (value === 0) {
      this.localFault = false;
      this.dropQueues();
    }
    const r = this.control(VA_OP.SET_STATUS, value);
    if (r !== null) this.shadowStatus = r.value;
    this.report(this.shadowStatus);
  }

  readDeviceFeatures(sel: number): number {
    return this.control(VA_OP.GET_FEATURES, sel)?.value ?? 0;
  }

  writeDriverFeatures(sel: number, word: number): void {
    if (sel === 0 || sel === 1) this.driverFeatures[sel] = word >>> 0;
    this.control(VA_OP.SET_FEATURES, sel, word >>> 0);
  }

  queueSizeMax(q: number): number {
    const hello = this.identify();
    return hello !== null && Number.isInteger(q) && q >= 0 && q < hello.queueCount ? hello.queueSizeMax : 0;
  }

  /** The device ID HELLO reported (0 when the back end is unreachable: §1.8 "placeholder"). */
  get deviceId(): number {
    return this.identify()?.deviceId ?? 0;
  }

  setQueueSize(q: number, size: number): void {
    const s = this.localQueue(q);
    if (s !== null && s.vq === null) s.size = size;
  }

  setQueueAddresses(q: number, desc: number, avail: number, used: number): void {
    const s = this.localQueue(q);
    if (s !== null && s.vq === null) s.addresses = { qsz: s.size, desc, avail, used };
  }

  /** QueueReady: the back end sets up its own copy of the queue; only the size crosses, never an address. */
  setQueueReady(q: number, ready: boolean): void {
    const s = this.localQueue(q);
    if (s === null) return;
    if (!ready) {
      this.control(VA_OP.QUEUE_READY, q, 0, 0);
      Object.assign(s, { vq: null, inFlight: new Map() });
      return;
    }
    if (s.vq !== null || s.addresses === null) return;
    const ring = { ...s.addresses, qsz: s.size };
    if (!vringFits(this.guest.platform.memory, ring)) return;
    const r = this.control(VA_OP.QUEUE_READY, q, s.size, 1);
    if (r !== null && r.rc !== 0) this.lastError = `QUEUE_READY of queue ${q} (${s.size} entries): ${errnoName(-r.rc) ?? r.rc}`; // e.g. ENOMEM: the back end's arena does not fit its domain
    if (r === null || r.rc !== 0 || r.value !== 1) return;
    const features = BigInt(this.driverFeatures[0]) | (BigInt(this.driverFeatures[1]) << 32n);
    const has = (n: number) => (features & (1n << BigInt(n))) !== 0n;
    s.vq = new DeviceQueue(this.guest.platform.memory, ring, { eventIdx: has(VIRTIO_F_EVENT_IDX), indirect: has(VIRTIO_F_INDIRECT_DESC) });
  }

  queueReady(q: number): boolean {
    return this.localQueue(q)?.vq != null;
  }

  readConfig(offset: number, width: number): number {
    return this.control(VA_OP.GET_CONFIG, offset, width)?.value ?? 0;
  }

  /** A driver config write (§1.6); the back end's device decides whether it is allowed. */
  writeConfig(offset: number, width: number, value: number): void {
    this.control(VA_OP.SET_CONFIG, offset, width, value >>> 0);
  }

  get configGeneration(): number {
    this.control(VA_OP.GET_CONFIG, 0, 0);
    return this.generation;
  }

  // ---- the kick (§4.6) ----

  /**
   * The available-buffer notification of queue `q` (install it as the DriverQueue's `notify`): every
   * chain made available since the last kick goes to the back end in one sendv — more only when the
   * batch outgrows the ring. Ignored while the link is down (the device already needs a reset).
   */
  notify(q: number): void {
    const s = this.localQueue(q);
    if (s === null || s.vq === null || this.linkError !== 0 || this.localFault) return;
    const vq = s.vq;
    let at = VA_SYNC.size;
    let count = 0;
    const send = (): boolean => {
      if (count === 0) return true;
      writeSyncHead(this.scratchView, q, count, at);
      const ok = this.sendOrLinkDown(VA_MSG | VA_OP.AVAIL_SYNC, this.scratch.subarray(0, at), 'AVAIL_SYNC');
      if (ok) this.figures.requests += count;
      at = VA_SYNC.size;
      count = 0;
      return ok;
    };
    vq.disableNotifications();
    do {
      for (let r = vq.pop(); r.kind !== 'empty'; r = vq.pop()) {
        if (r.kind === 'malformed') return this.fault(`queue ${q}: ${r.reason}`);
        const chain = r.chain;
        const entryBytes = VA_AVAIL_ENTRY.size + align4(chain.readableBytes);
        if (VA_SYNC.size + entryBytes > this.scratch.length) return this.fault(`queue ${q}: a chain of ${chain.readableBytes} readable bytes never fits a ${this.endpoint.ringLen}-byte ring`);
        if (at + entryBytes > this.scratch.length && !send()) return;
        this.writeAvailEntry(at, chain);
        s.inFlight.set(chain.head, chain);
        at += entryBytes;
        count++;
      }
    } while (vq.enableNotifications());
    send();
  }

  // ---- answers from the back end ----

  private receive(op: number, payload: Uint8Array): void {
    this.figures.bytes += payload.length;
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    if (op === VA_OP.REPLY && payload.length >= VA_REPLY.size) {
      if (view.getUint32(VA_REPLY.seq, true) !== this.seq) return; // an answer to a request given up on
      this.generation = view.getUint32(VA_REPLY.generation, true);
      this.reply = { rc: view.getInt32(VA_REPLY.rc, true), value: view.getUint32(VA_REPLY.value, true), generation: this.generation };
    } else if (op === VA_OP.USED_SYNC && payload.length >= VA_SYNC.size) {
      this.applyUsed(view, payload);
    } else if (op === VA_OP.CONFIG_CHANGED && payload.length >= VA_CONFIG_CHANGED.size) {
      this.shadowStatus = view.getUint32(VA_CONFIG_CHANGED.status, true);
      this.generation = view.getUint32(VA_CONFIG_CHANGED.generation, true);
      this.configNotifications++;
      this.report(this.shadowStatus);
      this.options.onConfigChange?.(this.shadowStatus);
    } else {
      this.fault(`unexpected message op ${op} of ${payload.length} bytes from the back end`);
    }
  }

  /** USED_SYNC: bytes into the writable buffers, then the used entry (§2.5: len ≤ what was written). */
  private applyUsed(view: DataView, payload: Uint8Array): void {
    const q = view.getUint16(VA_SYNC.queue, true);
    const count = view.getUint16(VA_SYNC.count, true);
    const s = this.localQueue(q);
    if (s === null || s.vq === null) return; // a queue reset since: the answers are stale
    const memory = this.guest.platform.memory;
    let at = VA_SYNC.size;
    for (let i = 0; i < count; i++) {
      if (at + VA_USED_ENTRY.size > payload.length) return this.fault(`USED_SYNC entry ${i} past the message end`);
      const head = view.getUint16(at + VA_USED_ENTRY.head, true);
      const len = view.getUint32(at + VA_USED_ENTRY.len, true);
      const chain = s.inFlight.get(head);
      if (chain === undefined) return this.fault(`USED_SYNC: head ${head} is not in flight ("is not a head!", §2.5)`);
      if (len > chain.writableBytes || at + VA_USED_ENTRY.size + len > payload.length) return this.fault(`USED_SYNC: head ${head} len ${len} exceeds its ${chain.writableBytes} writable bytes or the message`);
      scatterBytes(memory, chain.writable, 0, payload.subarray(at + VA_USED_ENTRY.size, at + VA_USED_ENTRY.size + len));
      s.inFlight.delete(head);
      s.vq.push(head, len);
      this.figures.completions++;
      at += VA_USED_ENTRY.size + align4(len);
    }
    if (count > 0 && s.vq.needInterrupt()) {
      this.usedNotifications++;
      this.options.onUsed?.(q);
    }
  }

  // ---- helpers ----

  /** One control round trip: the answer, or null when the link is down or nobody answered. */
  private control(op: number, arg0 = 0, arg1 = 0, arg2 = 0): Reply | null {
    if (this.linkError !== 0) return null;
    const v = this.scratchView;
    this.seq = (this.seq + 1) >>> 0;
    v.setUint32(VA_REQUEST.seq, this.seq, true);
    v.setUint32(VA_REQUEST.arg0, arg0 >>> 0, true);
    v.setUint32(VA_REQUEST.arg1, arg1 >>> 0, true);
    v.setUint32(VA_REQUEST.arg2, arg2 >>> 0, true);
    this.reply = null;
    if (!this.sendOrLinkDown(VA_MSG | op, this.scratch.subarray(0, VA_REQUEST.size), `control op ${op}`)) return null;
    const wait = this.options.waitForPeer;
    if (wait) {
      // the domain's VIRQ handler drains this ring with its others while the vCPU waits
      for (let attempt = 0; this.reply === null && this.linkError === 0 && wait(attempt); attempt++);
    } else {
      if (this.reply === null) this.endpoint.pump(); // our upcall may have coalesced into a pending bit
      if (this.reply === null && this.options.pumpPeer) {
        this.options.pumpPeer();
        this.endpoint.pump();
      }
    }
    if (this.reply === null) {
      this.linkDown(-ERRNO.ETIMEDOUT, `control op ${op}`);
      return null;
    }
    return this.reply;
  }

  private identify(): { queueCount: number; queueSizeMax: number; deviceId: number } | null {
    if (this.hello !== null) return this.hello;
    const r = this.control(VA_OP.HELLO);
    if (r === null || r.rc !== 0) return null;
    this.hello = {
      deviceId: (r.value >>> VA_HELLO.deviceIdShift) & 0xffff,
      queueCount: (r.value >>> VA_HELLO.queueCountShift) & 0xffff,
      queueSizeMax: (r.generation >>> VA_HELLO.queueSizeMaxShift) & 0xffff,
    };
    return this.hello;
  }

  private sendOrLinkDown(type: number, bytes: Uint8Array, what: string): boolean {
    const rc = this.endpoint.send(type, bytes);
    if (rc < 0) {
      this.linkDown(rc, what);
      return false;
    }
    this.figures.bytes += rc;
    return true;
  }

  /** §4.11 failure mapping: ECONNREFUSED/ESRCH (back end gone), an XSM denial, no answer → DEVICE_NEEDS_RESET. */
  private linkDown(rc: number, what: string): void {
    if (this.linkError !== 0) return;
    this.linkError = rc;
    this.figures.errors++;
    this.lastError = `${what}: ${errnoName(rc) ?? rc}`;
    this.report(this.shadowStatus | VIRTIO_CONFIG_S_NEEDS_RESET);
    this.options.onLinkDown?.(-rc);
  }

  /** A protocol fault (the driver's ring or the back end's answer): DEVICE_NEEDS_RESET until a reset. */
  private fault(reason: string): void {
    this.localFault = true;
    this.figures.errors++;
    this.lastError = reason;
    this.shadowStatus |= VIRTIO_CONFIG_S_NEEDS_RESET;
    this.report(this.shadowStatus);
    this.options.onConfigChange?.(this.shadowStatus);
  }

  private report(status: number): number {
    this.figures.status = status;
    return status;
  }


  private writeAvailEntry(at: number, chain: DescChain): void {
    const v = this.scratchView;
    v.setUint16(at + VA_AVAIL_ENTRY.head, chain.head, true);
    v.setUint16(at + VA_AVAIL_ENTRY.pad, 0, true);
    v.setUint32(at + VA_AVAIL_ENTRY.readableBytes, chain.readableBytes, true);
    v.setUint32(at + VA_AVAIL_ENTRY.writableBytes, chain.writableBytes, true);
    const data = this.scratch.subarray(at + VA_AVAIL_ENTRY.size, at + VA_AVAIL_ENTRY.size + chain.readableBytes);
    gatherBytes(this.guest.platform.memory, chain.readable, 0, data);
  }

  private localQueue(q: number): LocalQueue | null {
    const hello = this.identify();
    if (hello === null || !Number.isInteger(q) || q < 0 || q >= hello.queueCount) return null;
    while (this.queues.length <= q) this.queues.push({ size: hello.queueSizeMax, addresses: null, vq: null, inFlight: new Map() });
    return this.queues[q];
  }

  private dropQueues(): void {
    this.queues = [];
  }
}
