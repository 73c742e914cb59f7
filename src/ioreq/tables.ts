import { VCPUS_MAX } from '../domain/domain-table.js';
import { PAGE_SIZE } from '../memory/constants.js';
import { GuestMemory } from '../memory/guest-memory.js';
import { MAX_NR_IO_RANGES, MAX_NR_IOREQ_SERVERS, NR_IO_RANGE_TYPES, NR_LOCAL_IRQS } from './constants.js';
import type { VcpuIo } from './host.js';
import { Rangeset } from './rangeset.js';
import { waitSlice } from '../sync/errors.js';
import type { IoreqVcpu } from './server.js';

/**
 * Xen's IOREQ state (virtio-ioreq-lifecycle.md §5) on SharedArrayBuffers, laid out for threads as
 * the Argo tables are (ARCHITECTURE.md principle 2): a guest's vCPU sends from its thread, the device
 * model answers from its own, the toolstack tears down from a third, all against the same words.
 * This file is the one place these layouts live.
 *
 * A directory of fixed size says which domain holds which target record and which port table; a
 * record's own words, rangesets and pages (~250 KB: 32 pages, room for 256 ranges in each of
 * 24 rangesets — Xen's limit) and a port table (80 KB) are each a buffer of their own, made when first
 * claimed — so a host whose guests have no virtio-mmio device, or one such guest, pays for what it
 * uses. Another thread sees the same records once they exist when it attaches (`share()` makes
 * them all first).
 *
 * SIM CHOICES (docs/ioreq.md "Shared memory"): fixed capacities where Xen allocates — at most
 * `IOREQ_TARGETS_MAX` domains hold IOREQ state at once (a further one's create_server is -ENOSPC),
 * at most `IOREQ_CHANNEL_DOMAINS_MAX` domains hold IOREQ event channels, and each has
 * `IOREQ_PORTS_MAX - 1` ports.
 */
export const IOREQ_TARGETS_MAX = 32;
export const IOREQ_CHANNEL_DOMAINS_MAX = 64;
/** Ports of a domain's IOREQ event channels: 1 … IOREQ_PORTS_MAX - 1 (port 0 is never allocated). */
export const IOREQ_PORTS_MAX = 4096;
/** Emulator references a host keeps (a server per target per emulator at most: 8 per target). */
const EMULATOR_REFS_MAX = IOREQ_TARGETS_MAX * MAX_NR_IOREQ_SERVERS;

/** Per-vCPU words of `v->io` (the latched request). */
export const IO = { STATE: 0, DIR: 1, SIZE: 2, NEEDS: 3, DATA_LO: 4, DATA_HI: 5, BLOCKED: 6, SUSPENDED: 7, REEXECUTE: 8, STRIDE: 9 } as const;
/** Per-server, per-vCPU words (`struct ioreq_vcpu`). */
export const SV = { PORT: 0, PENDING: 1, PREV: 2, STRIDE: 3 } as const;
/** Per-server words (`struct ioreq_server`): the rangesets' counts, then a vCPU record each. */
export const S = {
  USED: 0,
  EMULATOR_DOMID: 1,
  EMULATOR_GENERATION: 2,
  BUFIOREQ: 3,
  ENABLED: 4,
  BUF_PORT: 5,
  /** Which of the slot's two page pairs this server has (the other is its predecessor's, see `create`). */
  PAGE_SET: 6,
  /** The rangesets' sequence word: odd while one is being changed (readers look again). */
  RANGES_SEQ: 7,
  RANGE_COUNTS: 8,
  VCPUS: 8 + NR_IO_RANGE_TYPES,
  STRIDE: 8 + NR_IO_RANGE_TYPES + VCPUS_MAX * SV.STRIDE,
} as const;
/** A target record's words: its vCPUs' latched requests, the levels of its SPIs, and its eight server slots. */
export const T = {
  NVCPUS: 0,
  /** SPI levels a device model drove (bit irq - NR_LOCAL_IRQS; GUEST_NR_SPIS = 32). */
  LINES: 1,
  /** Bumped at every server created or released: a thread's list of servers is current while it is unchanged. */
  SERVERS_VERSION: 2,
  /** Bumped (and notified) at every wake of a blocked vCPU: the thread running the vCPUs waits on it. */
  WAKES: 3,
  /** Bumped (and notified) at every SPI a device model raised (vgic_inject_irq): the guest's thread waits on it. */
  IRQS: 4,
  IO: 5,
  SERVERS: 5 + VCPUS_MAX * IO.STRIDE,
  STRIDE: 5 + VCPUS_MAX * IO.STRIDE + MAX_NR_IOREQ_SERVERS * S.STRIDE,
} as const;
/** Float64 slots of one rangeset: MAX_NR_IO_RANGES (start, end) pairs, sorted by start. */
const RANGESET_F64 = 2 * MAX_NR_IO_RANGES;
/**
 * A target record's buffer: two pairs of pages per server slot (synchronous, buffered; a new server
 * in the slot takes the pair its predecessor did not have), its words, its rangesets.
 */
const SEG_PAGES = 0;
const SLOT_PAGES = 4;
const SEG_WORDS = MAX_NR_IOREQ_SERVERS * SLOT_PAGES * PAGE_SIZE;
const SEG_RANGES = SEG_WORDS + Math.ceil((T.STRIDE * 4) / 8) * 8;
const SEG_BYTES = SEG_RANGES + MAX_NR_IOREQ_SERVERS * NR_IO_RANGE_TYPES * RANGESET_F64 * 8;
/**
 * A port table's words: a record per port (see `ioreq/event-channels.ts`), with its pending flag.
 * Port 0 is never allocated: its first word counts the events delivered to the table (bumped and
 * notified at each), which the thread serving the domain waits on; its second, the highest port
 * ever allocated in it (how far a scan for pending ports looks).
 */
export const C = { EVENTS: 0, HIGHEST: 1, KIND: 0, PEER: 1, PEER_PORT: 2, VCPU: 3, PENDING: 4, PORT_STRIDE: 5, STRIDE: IOREQ_PORTS_MAX * 5 } as const;
export const KIND_FREE = 0;
export const KIND_XEN = 1;
export const KIND_BOUND = 2;

/** Directory words: per target record, per port table, per emulator reference, per device-model link. */
const DT = { IN_USE: 0, DOMID: 1, GENERATION: 2, STRIDE: 3 } as const;
/** Per emulator reference: (domid, generation), the servers holding it, reaped (a zombie, R5), its order. */
const E = { IN_USE: 0, DOMID: 1, GENERATION: 2, COUNT: 3, REAPED: 4, SEQ: 5, STRIDE: 6 } as const;
/** Per device-model link (XEN_DOMCTL_set_target): a device-model domain and its target (`d->target`). */
const DM = { IN_USE: 0, TARGET: 1, DM: 2, STRIDE: 3 } as const;
/** Directory words: the IOREQ lock (its holder's token), the tokens handed out, the emulator references' order. */
const W_LOCK = 0;
const W_TOKENS = 1;
const W_SEQ = 2;
const W_TARGETS = 3;
/** A port table's directory word while its claimer clears it: no domid matches it. */
const CLAIMING = -1;
const W_CHANNELS = W_TARGETS + IOREQ_TARGETS_MAX * DT.STRIDE;
const W_REFS = W_CHANNELS + IOREQ_CHANNEL_DOMAINS_MAX;
const W_DMS = W_REFS + EMULATOR_REFS_MAX * E.STRIDE;
/**
 * Doorbells: a thread that runs several domains' vCPUs and device models waits on one word for all
 * of them — each domain may name a doorbell that every IOREQ event for it also rings (a notification
 * to it as an emulator, a wake or an interrupt of it as a target). First the count of domains that
 * named one (none: nothing to ring), then (domid + 1, doorbell) per domain, then the doorbells.
 */
export const IOREQ_DOORBELLS_MAX = 64;
const BELL_DOMAINS_MAX = 128;
const W_BELL_COUNT = W_DMS + IOREQ_TARGETS_MAX * DM.STRIDE;
const W_BELL_OF = W_BELL_COUNT + 1;
const W_BELLS = W_BELL_OF + 2 * BELL_DOMAINS_MAX;
const W_TOTAL = W_BELLS + IOREQ_DOORBELLS_MAX;

/** The buffers behind `IoreqTables`: structured-cloneable, for another thread's view. */
export interface IoreqTableBuffers {
  directory: SharedArrayBuffer;
  /** Per target record, its buffer (absent until first claimed). */
  targets: Array<SharedArrayBuffer | undefined>;
  /** Per port table, its buffer (absent until first claimed). */
  channels: Array<SharedArrayBuffer | undefined>;
}

/**
 * The IOREQ state's words and pages (one per host, shared by every thread's `Ioreq`).
 *
 * @example
 * ```ts
 * const tables = new IoreqTables();
 * const t = tables.claimTarget(1, 0, 1); // domid 1, generation 0, one vCPU
 * const again = new IoreqTables(tables.share()); // another thread's view of the same state
 * ```
 */
export class IoreqTables {
  readonly buffers: IoreqTableBuffers;
  /** The directory's words. */
  readonly w: Int32Array;
  private readonly targetViews: Array<TargetView | undefined> = [];
  /** This view's token for the IOREQ lock, and how deep it holds it. */
  private readonly token: number;
  private depth = 0;
  private readonly portTables: Array<Int32Array | undefined> = [];
  /** This thread's memory of which port table each domain had (checked against the directory before use). */
  private readonly portsOf = new Map<number, number>();

  constructor(attach?: IoreqTableBuffers) {
    this.buffers = attach ?? { directory: new SharedArrayBuffer(W_TOTAL * 4), targets: [], channels: [] };
    this.w = new Int32Array(this.buffers.directory);
    this.token = Atomics.add(this.w, W_TOKENS, 1) + 1;
  }

  /**
   * Runs `op` holding the IOREQ lock — what makes a DM op, a binding or a record claim one step to
   * every thread (Xen: `d->ioreq_server.lock` and the event lock; here one lock for all targets).
   * Recursive, as Xen's is: an op may run another under it. Waits are bounded (LockTimeoutError).
   */
  locked<T>(op: () => T): T {
    if (this.depth === 0) {
      let waitedMs = 0;
      for (let seen = Atomics.compareExchange(this.w, W_LOCK, 0, this.token); seen !== 0; seen = Atomics.compareExchange(this.w, W_LOCK, 0, this.token)) {
        waitedMs = waitSlice(this.w, W_LOCK, seen, 'ioreq', waitedMs);
      }
    }
    this.depth++;
    try {
      return op();
    } finally {
      if (--this.depth === 0) {
        Atomics.store(this.w, W_LOCK, 0);
        Atomics.notify(this.w, W_LOCK, 1);
      }
    }
  }

  /** Every record's buffer made, then the buffers: what another thread attaches to. */
  share(): IoreqTableBuffers {
    for (let i = 0; i < IOREQ_TARGETS_MAX; i++) this.segment(i);
    for (let i = 0; i < IOREQ_CHANNEL_DOMAINS_MAX; i++) this.portTable(i);
    return this.buffers;
  }

  /** The in-use target record of `domid` (any generation), or undefined. */
  target(domid: number): TargetView | undefined {
    const last = this.lastTarget; // the record found last time, if it is still domid's
    if (last >= 0 && this.isTarget(last, domid)) return this.viewOf(last);
    for (let i = 0; i < IOREQ_TARGETS_MAX; i++) {
      if (!this.isTarget(i, domid)) continue;
      this.lastTarget = i;
      return this.viewOf(i);
    }
    return undefined;
  }

  private lastTarget = -1;

  private isTarget(i: number, domid: number): boolean {
    const at = W_TARGETS + i * DT.STRIDE;
    return Atomics.load(this.w, at + DT.IN_USE) === 1 && this.w[at + DT.DOMID] === domid;
  }

  /**
   * A fresh record for `domid` of `generation` with `vcpus` idle vCPUs, replacing any it had (its
   * servers must have been released); null when every record is taken.
   */
  claimTarget(domid: number, generation: number, vcpus: number): TargetView | null {
    return this.locked(() => {
      const known = this.target(domid); // another thread may have claimed it meanwhile
      if (known && known.generation === generation) return known;
      this.dropTarget(domid);
      return this.claimFree(domid, generation, vcpus);
    });
  }

  private claimFree(domid: number, generation: number, vcpus: number): TargetView | null {
    for (let i = 0; i < IOREQ_TARGETS_MAX; i++) {
      const at = W_TARGETS + i * DT.STRIDE;
      if (Atomics.compareExchange(this.w, at + DT.IN_USE, 0, 2) !== 0) continue; // 2: being set up
      const t = this.viewOf(i);
      // kept across owners: the version goes on up (no thread's list of the last owner stays current),
      // and each slot's next server takes the page pair its last one did not have
      const version = t.w[T.SERVERS_VERSION];
      const pageSets = Array.from({ length: MAX_NR_IOREQ_SERVERS }, (_, id) => t.w[T.SERVERS + id * S.STRIDE + S.PAGE_SET]);
      t.w.fill(0);
      t.w[T.SERVERS_VERSION] = version + 1;
      pageSets.forEach((set, id) => (t.w[T.SERVERS + id * S.STRIDE + S.PAGE_SET] = set));
      t.w[T.NVCPUS] = vcpus;
      this.w[at + DT.DOMID] = domid;
      this.w[at + DT.GENERATION] = generation;
      Atomics.store(this.w, at + DT.IN_USE, 1);
      return t;
    }
    return null;
  }

  /** Forgets `domid`'s target record (its servers already released). */
  dropTarget(domid: number): void {
    const t = this.target(domid);
    if (t) Atomics.store(this.w, W_TARGETS + t.index * DT.STRIDE + DT.IN_USE, 0);
  }

  /** The port table of `domid` (its words), made when `claim` and it has none; null otherwise. */
  ports(domid: number, claim: boolean): Int32Array | null {
    const known = this.portsOf.get(domid); // where it was last time, if it is still there
    if (known !== undefined && Atomics.load(this.w, W_CHANNELS + known) === domid + 1) return this.portTable(known);
    for (let i = 0; i < IOREQ_CHANNEL_DOMAINS_MAX; i++) {
      if (Atomics.load(this.w, W_CHANNELS + i) !== domid + 1) continue;
      this.portsOf.set(domid, i);
      return this.portTable(i);
    }
    if (!claim) return null;
    return this.locked(() => {
      for (let i = 0; i < IOREQ_CHANNEL_DOMAINS_MAX; i++) if (Atomics.load(this.w, W_CHANNELS + i) === domid + 1) return this.portTable(i);
      for (let i = 0; i < IOREQ_CHANNEL_DOMAINS_MAX; i++) {
        if (Atomics.compareExchange(this.w, W_CHANNELS + i, 0, CLAIMING) !== 0) continue;
        const table = this.portTable(i);
        table.fill(0);
        Atomics.store(this.w, W_CHANNELS + i, domid + 1);
        return table;
      }
      return null; // every table taken: the caller answers -ENOSPC
    });
  }

  /** `domid` holds no port table any more. */
  dropPorts(domid: number): void {
    for (let i = 0; i < IOREQ_CHANNEL_DOMAINS_MAX; i++) if (Atomics.compareExchange(this.w, W_CHANNELS + i, domid + 1, 0) === domid + 1) return;
  }

  /**
   * True when `dm` holds XEN_DOMCTL_set_target over `target` — Xen's `d->target` of the device-model
   * domain: each device-model domain has one target, and a guest may have several device models.
   */
  isDeviceModel(dm: number, target: number): boolean {
    const i = this.dmIndex(dm);
    return i >= 0 && this.w[W_DMS + i * DM.STRIDE + DM.TARGET] === target;
  }

  /** XEN_DOMCTL_set_target: `dm`'s target becomes `target` (replacing the one it had). */
  setDeviceModel(target: number, dm: number): void {
    this.locked(() => {
      const i = this.dmIndex(dm);
      if (i >= 0) return void (this.w[W_DMS + i * DM.STRIDE + DM.TARGET] = target);
      this.claim(W_DMS, DM.STRIDE, IOREQ_TARGETS_MAX, 'device-model links', (at) => {
        this.w[at + DM.TARGET] = target;
        this.w[at + DM.DM] = dm;
      });
    });
  }

  /** A dead domain's links go: its own (it was a device model) and those whose target it was. */
  forgetDeviceModel(domid: number): void {
    for (let i = 0; i < IOREQ_TARGETS_MAX; i++) {
      const at = W_DMS + i * DM.STRIDE;
      if (Atomics.load(this.w, at + DM.IN_USE) === 1 && (this.w[at + DM.DM] === domid || this.w[at + DM.TARGET] === domid)) Atomics.store(this.w, at + DM.IN_USE, 0);
    }
  }

  /** Takes a reference on emulator (domid, generation) for a server. */
  holdEmulator(domid: number, generation: number): void {
    const i = this.refIndex(domid, generation);
    if (i >= 0) {
      Atomics.add(this.w, W_REFS + i * E.STRIDE + E.COUNT, 1);
      return;
    }
    this.claim(W_REFS, E.STRIDE, EMULATOR_REFS_MAX, 'emulator references', (at) => {
      this.w[at + E.DOMID] = domid;
      this.w[at + E.GENERATION] = generation;
      this.w[at + E.COUNT] = 1;
      this.w[at + E.REAPED] = 0;
      this.w[at + E.SEQ] = Atomics.add(this.w, W_SEQ, 1);
    });
  }

  /** Drops a server's reference on emulator (domid, generation); false when it held none. */
  releaseEmulator(domid: number, generation: number): boolean {
    const i = this.refIndex(domid, generation);
    if (i < 0) return false;
    const at = W_REFS + i * E.STRIDE;
    if (Atomics.sub(this.w, at + E.COUNT, 1) === 1) Atomics.store(this.w, at + E.IN_USE, 0);
    return true;
  }

  /** Marks every reference on domain `domid` reaped: the servers keep the emulator as a zombie (R5). */
  reapEmulator(domid: number): void {
    for (let i = 0; i < EMULATOR_REFS_MAX; i++) {
      const at = W_REFS + i * E.STRIDE;
      if (Atomics.load(this.w, at + E.IN_USE) === 1 && this.w[at + E.DOMID] === domid) this.w[at + E.REAPED] = 1;
    }
  }

  /** The emulator references, in the order they were first taken. */
  emulatorRefs(): Array<{ domid: number; generation: number; count: number; reaped: boolean }> {
    const out: Array<{ domid: number; generation: number; count: number; reaped: boolean; seq: number }> = [];
    for (let i = 0; i < EMULATOR_REFS_MAX; i++) {
      const at = W_REFS + i * E.STRIDE;
      if (Atomics.load(this.w, at + E.IN_USE) !== 1) continue;
      out.push({ domid: this.w[at + E.DOMID], generation: this.w[at + E.GENERATION], count: this.w[at + E.COUNT], reaped: this.w[at + E.REAPED] === 1, seq: this.w[at + E.SEQ] });
    }
    return out.sort((a, b) => a.seq - b.seq).map(({ seq: _, ...r }) => r);
  }

  /** Every IOREQ event for `domid` rings doorbell `bell` too (0 … IOREQ_DOORBELLS_MAX - 1). */
  ringOnEvents(domid: number, bell: number): void {
    if (!Number.isInteger(bell) || bell < 0 || bell >= IOREQ_DOORBELLS_MAX) throw new RangeError(`ioreq: doorbell ${bell} is not in [0, ${IOREQ_DOORBELLS_MAX})`);
    this.locked(() => {
      let free = -1;
      for (let i = 0; i < BELL_DOMAINS_MAX; i++) {
        const owner = this.w[W_BELL_OF + 2 * i];
        if (owner === domid + 1) return void Atomics.store(this.w, W_BELL_OF + 2 * i + 1, bell);
        if (owner === 0 && free < 0) free = i;
      }
      if (free < 0) throw new RangeError(`ioreq: all ${BELL_DOMAINS_MAX} domains' doorbells are taken`);
      this.w[W_BELL_OF + 2 * free + 1] = bell;
      Atomics.store(this.w, W_BELL_OF + 2 * free, domid + 1);
      Atomics.add(this.w, W_BELL_COUNT, 1);
    });
  }

  /** Rings `domid`'s doorbell, if it named one. */
  ring(domid: number): void {
    if (Atomics.load(this.w, W_BELL_COUNT) === 0) return;
    let i = this.bellsOf.get(domid) ?? -1; // where it was last time, if it is still there
    if (i < 0 || this.w[W_BELL_OF + 2 * i] !== domid + 1) {
      for (i = 0; i < BELL_DOMAINS_MAX && Atomics.load(this.w, W_BELL_OF + 2 * i) !== domid + 1; i++);
      if (i === BELL_DOMAINS_MAX) return;
      this.bellsOf.set(domid, i);
    }
    const at = W_BELLS + Atomics.load(this.w, W_BELL_OF + 2 * i + 1);
    Atomics.add(this.w, at, 1);
    Atomics.notify(this.w, at);
  }

  /** This thread's memory of where each domain's doorbell entry is (checked before use). */
  private readonly bellsOf = new Map<number, number>();

  /** Doorbell `bell`'s word (a count that only goes up), to wait on. */
  doorbell(bell: number): { words: Int32Array; index: number } {
    return { words: this.w, index: W_BELLS + bell };
  }

  /** The domid target record `index` was claimed for. */
  ownerDomid(index: number): number {
    return this.w[W_TARGETS + index * DT.STRIDE + DT.DOMID];
  }

  /** The domid and generation target record `index` was claimed for. */
  owner(index: number): { domid: number; generation: number } {
    const at = W_TARGETS + index * DT.STRIDE;
    return { domid: this.w[at + DT.DOMID], generation: this.w[at + DT.GENERATION] };
  }

  private viewOf(i: number): TargetView {
    return (this.targetViews[i] ??= new TargetView(this, i, this.segment(i)));
  }

  private segment(i: number): SharedArrayBuffer {
    return (this.buffers.targets[i] ??= new SharedArrayBuffer(SEG_BYTES));
  }

  private portTable(i: number): Int32Array {
    return (this.portTables[i] ??= new Int32Array((this.buffers.channels[i] ??= new SharedArrayBuffer(C.STRIDE * 4))));
  }

  private dmIndex(dm: number): number {
    for (let i = 0; i < IOREQ_TARGETS_MAX; i++) {
      const at = W_DMS + i * DM.STRIDE;
      if (Atomics.load(this.w, at + DM.IN_USE) === 1 && this.w[at + DM.DM] === dm) return i;
    }
    return -1;
  }

  private refIndex(domid: number, generation: number): number {
    for (let i = 0; i < EMULATOR_REFS_MAX; i++) {
      const at = W_REFS + i * E.STRIDE;
      if (Atomics.load(this.w, at + E.IN_USE) === 1 && this.w[at + E.DOMID] === domid && this.w[at + E.GENERATION] === generation) return i;
    }
    return -1;
  }

  /**
   * Claims a free record of a table: IN_USE (word 0) goes 0 → 2 (being set up), `fill` writes its
   * fields, then IN_USE is 1 — no reader matches a half-written record. A RangeError names the table
   * when every record is taken (the toolstack's error: each table has room for every server).
   */
  private claim(base: number, stride: number, count: number, what: string, fill: (at: number) => void): void {
    for (let i = 0; i < count; i++) {
      const at = base + i * stride;
      if (Atomics.compareExchange(this.w, at, 0, 2) !== 0) continue;
      fill(at);
      Atomics.store(this.w, at, 1);
      return;
    }
    throw new RangeError(`ioreq: all ${count} ${what} are in use`);
  }
}

/** One target's IOREQ state (`IoreqTarget`): views over its record's buffer, made once per record. */
export class TargetView {
  /** The record's words (layout `T`). */
  readonly w: Int32Array;
  readonly f: Float64Array;
  private readonly ioViews: VcpuIoView[] = [];
  private readonly serverViews: ServerView[] = [];
  readonly lines: LinesView;

  constructor(
    private readonly tables: IoreqTables,
    readonly index: number,
    readonly buffer: SharedArrayBuffer,
  ) {
    this.w = new Int32Array(buffer, SEG_WORDS, T.STRIDE);
    this.f = new Float64Array(buffer, SEG_RANGES, MAX_NR_IOREQ_SERVERS * NR_IO_RANGE_TYPES * RANGESET_F64);
    this.lines = new LinesView(this.w, T.LINES);
    for (let id = 0; id < MAX_NR_IOREQ_SERVERS; id++) this.serverViews.push(new ServerView(this, id));
  }

  get domid(): number {
    return this.tables.ownerDomid(this.index);
  }

  get generation(): number {
    return this.tables.owner(this.index).generation;
  }

  get nvcpus(): number {
    return this.w[T.NVCPUS];
  }

  /** Per vCPU, its latched request. */
  get io(): VcpuIoView[] {
    const n = this.w[T.NVCPUS];
    for (let v = this.ioViews.length; v < n; v++) this.ioViews.push(new VcpuIoView(this.w, T.IO + v * IO.STRIDE));
    return this.ioViews.length === n ? this.ioViews : this.ioViews.slice(0, n);
  }

  /** The server slots, by id: a view where one is in use, undefined where none (read-only: made again when a server comes or goes). */
  get servers(): ReadonlyArray<ServerView | undefined> {
    const version = Atomics.load(this.w, T.SERVERS_VERSION);
    if (this.listed === null || this.listedVersion !== version) {
      this.listed = this.serverViews.map((s) => (s.used ? s : undefined));
      this.listedVersion = version;
    }
    return this.listed;
  }

  private listed: Array<ServerView | undefined> | null = null;
  private listedVersion = 0;

  /** Server slot `id` (in use or not). */
  slot(id: number): ServerView {
    return this.serverViews[id];
  }

  /** vgic_inject_irq's signal to the thread running the target's vCPUs: the interrupt count goes up. */
  injectIrq(): void {
    Atomics.add(this.w, T.IRQS, 1);
    Atomics.notify(this.w, T.IRQS);
    this.tables.ring(this.domid);
  }

  /** vcpu_unblock's signal to the thread running the target's vCPUs: the wake count goes up. */
  wake(): void {
    Atomics.add(this.w, T.WAKES, 1);
    Atomics.notify(this.w, T.WAKES);
    this.tables.ring(this.domid);
  }

  /** The interrupt count's word. */
  irqWord(): { words: Int32Array; index: number } {
    return { words: this.w, index: T.IRQS };
  }

  /** The wake count (only goes up while the record is the target's). */
  get wakes(): number {
    return Atomics.load(this.w, T.WAKES);
  }

  /** Blocks this thread (at most `timeoutMs`) until the wake count is no longer `seen`. */
  waitWake(seen: number, timeoutMs: number): 'ok' | 'not-equal' | 'timed-out' {
    return Atomics.wait(this.w, T.WAKES, seen, timeoutMs);
  }
}

/** `v->io` of one vCPU. */
export class VcpuIoView implements VcpuIo {
  constructor(
    private readonly w: Int32Array,
    private readonly at: number,
  ) {}
  get state(): number { return this.w[this.at + IO.STATE]; }
  set state(v: number) { this.w[this.at + IO.STATE] = v; }
  get dir(): number { return this.w[this.at + IO.DIR]; }
  set dir(v: number) { this.w[this.at + IO.DIR] = v; }
  get size(): number { return this.w[this.at + IO.SIZE]; }
  set size(v: number) { this.w[this.at + IO.SIZE] = v; }
  get needsCompletion(): boolean { return this.w[this.at + IO.NEEDS] === 1; }
  set needsCompletion(v: boolean) { this.w[this.at + IO.NEEDS] = v ? 1 : 0; }
  get data(): bigint { return (BigInt(this.w[this.at + IO.DATA_HI] >>> 0) << 32n) | BigInt(this.w[this.at + IO.DATA_LO] >>> 0); }
  set data(v: bigint) {
    this.w[this.at + IO.DATA_LO] = Number(BigInt.asUintN(32, v)) | 0;
    this.w[this.at + IO.DATA_HI] = Number(BigInt.asUintN(32, v >> 32n)) | 0;
  }
  get blocked(): boolean { return Atomics.load(this.w, this.at + IO.BLOCKED) === 1; }
  set blocked(v: boolean) { Atomics.store(this.w, this.at + IO.BLOCKED, v ? 1 : 0); }
  get suspended(): boolean { return this.w[this.at + IO.SUSPENDED] === 1; }
  set suspended(v: boolean) { this.w[this.at + IO.SUSPENDED] = v ? 1 : 0; }
  get reexecute(): boolean { return this.w[this.at + IO.REEXECUTE] === 1; }
  set reexecute(v: boolean) { this.w[this.at + IO.REEXECUTE] = v ? 1 : 0; }
}

/** The levels of a target's SPIs, as a device model drove them (set_irq_level). */
export class LinesView {
  constructor(
    private readonly w: Int32Array,
    private readonly at: number,
  ) {}
  get(irq: number): 0 | 1 | undefined {
    const bit = irq - NR_LOCAL_IRQS;
    if (bit < 0 || bit > 31) return undefined;
    return ((Atomics.load(this.w, this.at) >>> bit) & 1) as 0 | 1;
  }
  set(irq: number, level: 0 | 1): void {
    const bit = 1 << (irq - NR_LOCAL_IRQS);
    if (level) Atomics.or(this.w, this.at, bit);
    else Atomics.and(this.w, this.at, ~bit);
  }
}

/** `struct ioreq_vcpu` of one server and vCPU. */
export class ServerVcpuView implements IoreqVcpu {
  constructor(
    private readonly w: Int32Array,
    private readonly at: number,
  ) {}
  get port(): number { return this.w[this.at + SV.PORT]; }
  set port(v: number) { this.w[this.at + SV.PORT] = v; }
  get pending(): boolean { return Atomics.load(this.w, this.at + SV.PENDING) === 1; }
  set pending(v: boolean) { Atomics.store(this.w, this.at + SV.PENDING, v ? 1 : 0); }
  get prevState(): number { return this.w[this.at + SV.PREV]; }
  set prevState(v: number) { this.w[this.at + SV.PREV] = v; }
}

/** One server slot of a target (`IoreqServer` while in use). */
export class ServerView {
  private readonly at: number;
  private readonly w: Int32Array;
  readonly ranges: readonly Rangeset[];
  /** The slot's two pairs of pages: [synchronous, buffered] each. */
  private readonly pageSets: ReadonlyArray<readonly [GuestMemory, GuestMemory]>;
  private readonly vcpuViews: ServerVcpuView[] = [];

  constructor(
    private readonly t: TargetView,
    readonly id: number,
  ) {
    this.w = t.w;
    this.at = T.SERVERS + id * S.STRIDE;
    const f64At = id * NR_IO_RANGE_TYPES * RANGESET_F64;
    this.ranges = Array.from({ length: NR_IO_RANGE_TYPES }, (_, k) =>
      Rangeset.over({ counts: t.w, countAt: this.at + S.RANGE_COUNTS + k, seqAt: this.at + S.RANGES_SEQ, pairs: t.f, pairsAt: f64At + k * RANGESET_F64 }),
    );
    const page = (k: number) => GuestMemory.region(t.buffer, SEG_PAGES + (id * SLOT_PAGES + k) * PAGE_SIZE, PAGE_SIZE);
    this.pageSets = [
      [page(0), page(1)],
      [page(2), page(3)],
    ];
  }

  /** The synchronous page: one `ioreq_t` per vCPU. */
  get ioreqPage(): GuestMemory {
    return this.pageSets[this.w[this.at + S.PAGE_SET]][0];
  }

  get used(): boolean { return Atomics.load(this.w, this.at + S.USED) === 1; }
  get target(): number { return this.t.domid; }
  get emulator(): { domid: number; generation: number } {
    return { domid: this.w[this.at + S.EMULATOR_DOMID], generation: this.w[this.at + S.EMULATOR_GENERATION] };
  }
  get bufioreq(): number { return this.w[this.at + S.BUFIOREQ]; }
  get enabled(): boolean { return Atomics.load(this.w, this.at + S.ENABLED) === 1; }
  set enabled(v: boolean) { Atomics.store(this.w, this.at + S.ENABLED, v ? 1 : 0); }
  get bufPort(): number { return this.w[this.at + S.BUF_PORT]; }
  set bufPort(v: number) { this.w[this.at + S.BUF_PORT] = v; }
  /** The buffered page (null when handle_bufioreq is OFF). */
  get bufPage(): GuestMemory | null { return this.bufioreq !== 0 ? this.pageSets[this.w[this.at + S.PAGE_SET]][1] : null; }

  /** Per vCPU of the target. */
  get vcpus(): ServerVcpuView[] {
    const n = this.t.nvcpus;
    for (let v = this.vcpuViews.length; v < n; v++) this.vcpuViews.push(new ServerVcpuView(this.w, this.at + S.VCPUS + v * SV.STRIDE));
    return this.vcpuViews.length === n ? this.vcpuViews : this.vcpuViews.slice(0, n);
  }

  /**
   * hvm_create_ioreq_server's new server in this slot, disabled, with no ranges and zeroed pages —
   * the pair its predecessor in the slot did not have (SIM CHOICE, docs/ioreq.md: Xen allocates fresh
   * pages, and an emulator still mapping its destroyed server's page must not reach the new one's) —
   * and its vCPUs' ports; published (USED) last.
   */
  create(emulator: { domid: number; generation: number }, bufioreq: number, ports: readonly number[], bufPort: number): void {
    const w = this.w;
    const pages = 1 - w[this.at + S.PAGE_SET];
    w.fill(0, this.at + 1, this.at + S.STRIDE);
    w[this.at + S.PAGE_SET] = pages;
    w[this.at + S.EMULATOR_DOMID] = emulator.domid;
    w[this.at + S.EMULATOR_GENERATION] = emulator.generation;
    w[this.at + S.BUFIOREQ] = bufioreq;
    w[this.at + S.BUF_PORT] = bufPort;
    ports.forEach((port, v) => (w[this.at + S.VCPUS + v * SV.STRIDE + SV.PORT] = port));
    for (const page of this.pageSets[pages]) page.u8.fill(0);
    Atomics.store(w, this.at + S.USED, 1);
    Atomics.add(w, T.SERVERS_VERSION, 1);
  }

  /** The slot is free again. */
  release(): void {
    Atomics.store(this.w, this.at + S.USED, 0);
    Atomics.add(this.w, T.SERVERS_VERSION, 1);
  }
}
