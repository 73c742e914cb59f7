import type { GuestMemory } from '../memory/guest-memory.js';
import { VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_FEATURES_OK, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_RESET, isValidQueueSize } from './constants.js';
import { ConfigSpace } from './config-space.js';
import type { DescChain } from './desc-chain.js';
import { DeviceQueue } from './device-queue.js';
import { DeviceStatus } from './device-status.js';
import { INLINE_WORKER, type DeviceWorker } from './device-worker.js';
import type { VringAddresses } from './layout.js';
import { vringFits } from './place-vring.js';
import type { VirtioDriverAccess } from './driver-init.js';
import { ViolationLog } from './violation-log.js';

/**
 * What a device model answers for one chain: bytes written into its writable part, a malformed
 * request, or `held` — the model keeps the chain and completes it later through `ServeContext.complete`
 * (a virtio-net receive buffer waits for a frame, §3.1).
 */
export type ServeResult = { written: number } | { malformed: string } | { held: true };

/** One held chain to return: the chain and the bytes written into its writable part. */
export interface HeldCompletion {
  readonly chain: DescChain;
  readonly written: number;
}

/** What a device model sees while serving a chain. */
export interface ServeContext {
  readonly memory: GuestMemory;
  /** The negotiated features. */
  readonly features: bigint;
  readonly queue: number;
  readonly log: ViolationLog;
  /**
   * Returns held chains of this queue to the driver, now or later, as one batch: used entries, then
   * one used-buffer notification decided as for immediate completions (§2.7, EVENT_IDX included).
   * False (nothing pushed) once the queue was reset or stopped since the chains were popped, or the
   * device is not live: the chains belong to a ring the driver has already reclaimed.
   */
  readonly complete: (done: readonly HeldCompletion[]) => boolean;
}

/**
 * A device type (virtio-net, virtio-blk, …) as the device core runs it: its ID, offered features,
 * queues and configuration space, and how it serves one chain. Serving is synchronous.
 *
 * @example
 * ```ts
 * const device = new VirtioDevice(mem, virtioBlkModel({ disk: new MemoryDisk(image) }));
 * ```
 */
export interface VirtioDeviceModel {
  readonly deviceId: number;
  /** Offered features, VIRTIO_F_VERSION_1 included. */
  readonly features: bigint;
  readonly queueCount: number;
  /** QueueSizeMax of every queue: a power of 2 ≤ 32768 (§2.1). */
  readonly queueSizeMax: number;
  /** Initial configuration space bytes (the core keeps its own copy). */
  readonly config: Uint8Array;
  /** Device-specific check of an accepted feature set; default: any subset is fine. */
  acceptFeatures?(accepted: bigint): boolean;
  /** Whether the driver may write this config field once FEATURES_OK is set; default: none. */
  configWritable?(offset: number, width: number): boolean;
  serve(ctx: ServeContext, chain: DescChain): ServeResult;
  /** Called on device reset. */
  reset?(): void;
}

/** A notification from device to driver (§1.7). */
export type VirtioInterrupt = { kind: 'used'; queue: number } | { kind: 'config' };

interface QueueState {
  size: number;
  addresses: VringAddresses | null;
  ready: boolean;
  vq: DeviceQueue | null;
}

/**
 * The device core (virtio-ioreq-lifecycle.md §1–§2): the status state machine, the configuration
 * space, per-queue registers and device-side queues, and the loop that serves available chains with
 * a device model. Transport-neutral: an MMIO register file, a VirtIO-Argo back-end or a test drives
 * it through these methods. Guest misbehaviour never throws: it is logged in `log` and answered as
 * docs/virtio.md lists (ignored, or DEVICE_NEEDS_RESET plus a configuration-change notification).
 *
 * @example
 * ```ts
 * const device = new VirtioDevice(mem, model, { onInterrupt: (n) => interrupts.push(n) });
 * initialiseDevice(device, mem, pages, { wanted }); // §1.2, from the driver's side
 * device.notify(0);                                  // serves what the driver made available
 * ```
 */
export class VirtioDevice implements VirtioDriverAccess {
  readonly log = new ViolationLog();
  readonly status: DeviceStatus;
  readonly config: ConfigSpace;
  usedNotifications = 0;
  configNotifications = 0;
  /** Chains served since creation (held chains count once completed). */
  served = 0;
  /** Held chains whose completion came after their queue was reset or stopped, or the device stopped being live. */
  staleCompletions = 0;
  /** Why the device last needed a reset (cleared by a reset). */
  lastError: string | null = null;
  /** How the queue worker runs its steps (a run sets one before the queues go live; see `DeviceWorker`). */
  worker: DeviceWorker = INLINE_WORKER;
  private readonly queues: QueueState[];
  /** Queues whose worker has a re-check pending, with the token of that pass. */
  private readonly working = new Map<number, object>();
  private readonly contexts = new WeakMap<DeviceQueue, ServeContext>();

  constructor(
    readonly memory: GuestMemory,
    readonly model: VirtioDeviceModel,
    private readonly options: { onInterrupt?: (n: VirtioInterrupt) => void } = {},
  ) {
    if (!isValidQueueSize(model.queueSizeMax)) throw new RangeError(`device model offers queue size ${model.queueSizeMax}: not a power of 2 in [1, 32768] (§2.1)`);
    if (!Number.isInteger(model.queueCount) || model.queueCount < 1 || model.queueCount > 65536) {
      throw new RangeError(`device model has ${model.queueCount} queues; 1 to 65536 allowed (§2.1)`);
    }
    this.config = new ConfigSpace(model.config.slice(), this.log);
    this.status = new DeviceStatus(model.features, this.log, {
      acceptFeatures: (f) => model.acceptFeatures?.(f) ?? true,
      reset: () => this.reset(),
      configNotify: () => this.interrupt({ kind: 'config' }),
    });
    this.queues = Array.from({ length: model.queueCount }, () => this.freshQueue());
  }

  /** The status byte (§1.1). */
  readStatus(): number {
    return this.status.read();
  }

  /** A driver status write (§1.3); 0 resets the device. */
  writeStatus(value: number): void {
    this.status.write(value);
  }

  /** Word `sel` of the offered features (§1.5). */
  readDeviceFeatures(sel: number): number {
    return this.status.readDeviceFeatures(sel);
  }

  /** Word `sel` of the driver's accepted features (§1.5; case 15). */
  writeDriverFeatures(sel: number, word: number): void {
    this.status.writeDriverFeatures(sel, word);
  }

  /** The configuration generation (§1.6). */
  get configGeneration(): number {
    return this.config.generation;
  }

  /** QueueSizeMax of queue `q`: 0 when it does not exist (§1.8). */
  queueSizeMax(q: number): number {
    return this.queueOf(q) === null ? 0 : this.model.queueSizeMax;
  }

  /** Whether queue `q` is ready (QueueReady reads back). */
  queueReady(q: number): boolean {
    return this.queueOf(q)?.ready ?? false;
  }

  /** QueueSize write: any value is stored; it is checked when the queue is made ready (case 1). */
  setQueueSize(q: number, size: number): void {
    const s = this.writableQueue(q, 'QueueSize');
    if (s !== null) s.size = size;
  }

  /** The Descriptor, Driver and Device Area addresses of queue `q` (its size comes from `setQueueSize`). */
  setQueueAddresses(q: number, desc: number, avail: number, used: number): void {
    const s = this.writableQueue(q, 'queue addresses');
    if (s !== null) s.addresses = { qsz: s.size, desc, avail, used };
  }

  /**
   * QueueReady = 1: the queue goes live with the negotiated EVENT_IDX and INDIRECT_DESC. Refused (it
   * reads back 0, logged) before FEATURES_OK, for a size §2.1 or QueueSizeMax forbids (case 1), or for
   * areas outside RAM or misaligned. Writing 0 stops the queue.
   */
  setQueueReady(q: number, ready: boolean): void {
    const s = this.queueOf(q);
    if (s === null) return this.log.record('queue-setup-invalid', `queue ${q} does not exist`);
    if (!ready) {
      this.working.delete(q);
      return void Object.assign(s, { ready: false, vq: null });
    }
    if (s.ready) return;
    const why = this.queueSetupFault(s);
    if (why !== null) return this.log.record('queue-setup-invalid', `queue ${q}: ${why}`);
    const ring = { ...(s.addresses as VringAddresses), qsz: s.size };
    const { recheckReadBarrier, took } = this.worker;
    const onTake = took && ((availIdx: number, head: number) => took({ memory: this.memory, queue: q, ring, availIdx, head }));
    s.vq = new DeviceQueue(this.memory, ring, { eventIdx: this.status.has(VIRTIO_F_EVENT_IDX), indirect: this.status.has(VIRTIO_F_INDIRECT_DESC), recheckReadBarrier, onTake });
    s.ready = true;
  }

  /**
   * Per-queue reset (§1.4, needs VIRTIO_F_RING_RESET): the queue stops, forgets its ring state and
   * takes its defaults again. Without the feature the write is ignored and logged.
   */
  resetQueue(q: number): void {
    if (this.queueOf(q) === null) return this.log.record('queue-setup-invalid', `reset of queue ${q}, which does not exist`);
    if (!this.status.has(VIRTIO_F_RING_RESET)) return this.log.record('queue-reset-not-negotiated', `queue ${q}`);
    this.working.delete(q);
    this.queues[q] = this.freshQueue();
  }

  /** The device-side queue of `q` while it is ready (for device actors and tests). */
  deviceQueue(q: number): DeviceQueue | null {
    return this.queueOf(q)?.vq ?? null;
  }

  /** A driver read of the configuration space (§1.6). */
  readConfig(offset: number, width: number): number {
    return this.config.read(offset, width);
  }

  /** A driver write of the configuration space: before FEATURES_OK, or to a read-only field, ignored and logged. */
  writeConfig(offset: number, width: number, value: number): void {
    if (!this.status.is(VIRTIO_CONFIG_S_FEATURES_OK)) return this.log.record('config-write-before-features-ok', `offset ${offset}`);
    if (!this.config.valid(offset, width)) return this.log.record('config-access-invalid', `write of ${width} bytes at ${offset}`);
    if (!(this.model.configWritable?.(offset, width) ?? false)) return this.log.record('config-write-read-only', `offset ${offset}`);
    this.config.store(offset, width, value);
  }

  /**
   * The device changes its configuration (§1.6): the generation moves and, once DRIVER_OK is set, the
   * driver gets a configuration-change notification.
   */
  updateConfig(change: (view: DataView) => void): void {
    this.config.update(change);
    if (this.status.is(VIRTIO_CONFIG_S_DRIVER_OK)) this.interrupt({ kind: 'config' });
  }

  /** The device hit an internal error (§1.1, case 19): DEVICE_NEEDS_RESET and, when live, a config notification. */
  fail(reason: string): void {
    this.lastError = reason;
    this.status.needsReset();
  }

  /**
   * An available-buffer notification for queue `q` (§1.7). Before DRIVER_OK it is ignored and logged
   * (case 18); while FAILED or needing a reset it is ignored; while the queue's worker has a re-check
   * pending it wakes nobody (the worker will see the chains); otherwise the device serves every
   * available chain, then notifies the driver unless suppressed.
   */
  notify(q: number): void {
    const s = this.queueOf(q);
    if (!this.status.is(VIRTIO_CONFIG_S_DRIVER_OK)) return this.log.record('notify-before-driver-ok', `queue ${q}, status ${this.status.read()}`);
    if (!this.status.live) return;
    if (s === null || s.vq === null) return this.log.record('notify-queue-not-ready', `queue ${q}`);
    if (this.working.has(q)) return;
    this.serveQueue(q, s.vq);
  }

  /**
   * One pass of the §2.8 device loop with notifications suppressed while it polls; then, as the
   * worker's later steps (`DeviceWorker`), its CPU's early avail.ring load and the re-check of
   * avail.idx after re-enabling notifications, which starts another pass if chains came meanwhile.
   */
  private serveQueue(q: number, vq: DeviceQueue): void {
    let pushed = 0;
    vq.disableNotifications();
    for (;;) {
      const r = vq.pop();
      if (r.kind === 'empty') break;
      if (r.kind === 'malformed') return this.malformed('malformed-ring', `queue ${q}: ${r.reason}`);
      const answer = this.model.serve(this.serveContext(q, vq), r.chain);
      if ('malformed' in answer) return this.malformed('malformed-request', `queue ${q}, head ${r.chain.head}: ${answer.malformed}`);
      if ('held' in answer) continue;
      vq.push(r.chain.head, answer.written);
      this.served++;
      pushed++;
    }
    if (pushed > 0 && vq.needInterrupt()) this.interrupt({ kind: 'used', queue: q });
    vq.enableNotificationsPrepare();
    const pass = {};
    this.working.set(q, pass);
    const current = () => this.working.get(q) === pass && this.queues[q].vq === vq && this.status.live && this.status.is(VIRTIO_CONFIG_S_DRIVER_OK);
    this.worker.defer(`queue ${q}: the worker's CPU loads avail.ring early`, () => {
      if (current()) vq.speculateAvailEntry();
    });
    this.worker.defer(`queue ${q}: the worker re-checks avail.idx`, () => {
      if (!current()) return;
      this.working.delete(q);
      if (vq.recheckAvail()) this.serveQueue(q, vq);
    });
  }

  /** One context per live queue, so a model can tell chains of a queue reset since from current ones. */
  private serveContext(q: number, vq: DeviceQueue): ServeContext {
    let ctx = this.contexts.get(vq);
    if (ctx === undefined) {
      ctx = { memory: this.memory, features: this.status.negotiated, queue: q, log: this.log, complete: (done) => this.completeHeld(q, vq, done) };
      this.contexts.set(vq, ctx);
    }
    return ctx;
  }

  /** Deferred completion: push the held chains, then notify unless suppressed (§2.8 device steps 4–8). */
  private completeHeld(q: number, vq: DeviceQueue, done: readonly HeldCompletion[]): boolean {
    if (this.queues[q].vq !== vq || !this.status.live || !this.status.is(VIRTIO_CONFIG_S_DRIVER_OK)) {
      this.staleCompletions += done.length;
      return false;
    }
    if (done.length === 0) return true;
    for (const d of done) {
      if (d.written > d.chain.writableBytes) throw new RangeError(`queue ${q}, head ${d.chain.head}: ${d.written} bytes written into ${d.chain.writableBytes} writable (§2.5: len must not overstate)`);
      vq.push(d.chain.head, d.written);
    }
    this.served += done.length;
    if (vq.needInterrupt()) this.interrupt({ kind: 'used', queue: q });
    return true;
  }

  /** §2.6 SIM CHOICE: a malformed ring or request → protocol error, DEVICE_NEEDS_RESET, config notification. */
  private malformed(kind: 'malformed-ring' | 'malformed-request', detail: string): void {
    this.log.record(kind, detail);
    this.fail(detail);
  }

  private interrupt(n: VirtioInterrupt): void {
    if (n.kind === 'used') this.usedNotifications++;
    else this.configNotifications++;
    this.options.onInterrupt?.(n);
  }

  /** §1.4: every queue stops and takes its defaults; the model forgets its state. */
  private reset(): void {
    this.working.clear();
    for (let q = 0; q < this.queues.length; q++) this.queues[q] = this.freshQueue();
    this.lastError = null;
    this.model.reset?.();
  }

  private queueSetupFault(s: QueueState): string | null {
    if (!this.status.is(VIRTIO_CONFIG_S_FEATURES_OK)) return `made ready with status ${this.status.read()}, before FEATURES_OK (§1.2 step 7)`;
    if (!isValidQueueSize(s.size) || s.size > this.model.queueSizeMax) return `size ${s.size} is not a power of 2 ≤ ${this.model.queueSizeMax} (§2.1)`;
    if (s.addresses === null) return 'no queue addresses written';
    if (!vringFits(this.memory, { ...s.addresses, qsz: s.size })) return 'queue areas outside RAM or misaligned (§2.1)';
    return null;
  }

  private writableQueue(q: number, what: string): QueueState | null {
    const s = this.queueOf(q);
    if (s === null) {
      this.log.record('queue-setup-invalid', `${what} of queue ${q}, which does not exist`);
      return null;
    }
    if (s.ready) {
      this.log.record('queue-register-while-ready', `${what} of queue ${q} while QueueReady=1 (§1.3)`);
      return null;
    }
    return s;
  }

  private queueOf(q: number): QueueState | null {
    return Number.isInteger(q) && q >= 0 && q < this.queues.length ? this.queues[q] : null;
  }

  private freshQueue(): QueueState {
    return { size: this.model.queueSizeMax, addresses: null, ready: false, vq: null };
  }
}
