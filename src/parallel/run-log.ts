/**
 * The parallel runtime's record of what happened, kept in SharedArrayBuffers so that it outlives a
 * worker thread that crashes: one append-only log per writer (each worker, and the main thread for
 * the toolstack), and one shared event clock that orders records across threads. This file is the one
 * place the record layout lives.
 *
 * Every record is `RECORD_WORDS` Int32 words: `[kind, stampA, stampB, f0 … f6]`. Stamps come from
 * `tick` (an Atomics.add on the shared clock word), so a stamp taken before an operation is smaller
 * than any stamp taken after it anywhere.
 */

/** Record kinds and their fields (f0…f6). */
export const REC = {
  /**
   * A sendv accepted: stampA before the hypercall, stampB after; sender, dst domid, dst port, bytes,
   * digest lo, digest hi, and the domain the app meant by that domid (`DomainTable.identityOf` when it looked it up).
   */
  SENT: 1,
  /** A message taken off a ring: stampA after it was read (one stamp for a handler's whole batch); owner, port, incarnation, source domid, bytes, digest lo, digest hi. */
  RECEIVED: 2,
  /** A sendv refused with an errno (EAGAIN excluded): stampA; sender, dst domid, dst port, errno. */
  REFUSED: 3,
  /** A ring registered: stampA/B around the hypercall; owner, port, partner, incarnation, the owner's `DomainTable.identityOf`. */
  REGISTERED: 4,
  /** A ring registration refused: stampA; owner, port, partner, errno. */
  REGISTER_REFUSED: 5,
  /** A ring unregistered by its owner: stampA/B around the hypercall; incarnation. */
  UNREGISTERED: 6,
  /** Argo teardown of a domain (kill, reap, soft reset) under W(L1): stampA/B around it; domid. */
  DOMAIN_TORN_DOWN: 7,
} as const;

export const RECORD_WORDS = 10;

/** Words of the run's control block. */
export const CTL = {
  /** The event clock. */
  CLOCK: 0,
  /** Next ring incarnation id. */
  INCARNATION: 1,
  /** Batches of device workloads that moved requests (the run is not idle while it grows). */
  DEVICE_PROGRESS: 2,
  STRIDE: 3,
} as const;

/** Words of each worker's status block, read by the watchdog. */
export const WS = {
  /** Bumped by the worker every time it comes back to its event loop. */
  HEARTBEAT: 0,
  /** What the worker is doing now (`ACT`). */
  ACTIVITY: 1,
  /** The domain it does it for. */
  DOMID: 2,
  /** The peer (destination domid), where there is one. */
  PEER: 3,
  STRIDE: 4,
} as const;

/** Activities a worker announces before running guest code that enters the hypervisor. */
export const ACT = { IDLE: 0, SENDV: 1, VIRQ_HANDLER: 2, REGISTER: 3, UNREGISTER: 4, NOTIFY: 5, DEVICE_INIT: 6, DEVICE_BATCH: 7 } as const;
export const ACT_NAMES = ['idle', 'sendv', 'VIRQ handler (consume + notify)', 'register_ring', 'unregister_ring', 'notify', 'VirtIO-Argo device initialisation (control round trips)', 'VirtIO-Argo device batch'] as const;

/** The structured-cloneable buffers of a run: control block, worker status blocks, one log per writer. */
export interface RunBuffers {
  control: SharedArrayBuffer;
  status: SharedArrayBuffer;
  logs: SharedArrayBuffer[];
}

/**
 * Allocates a run's buffers: `writers` logs of `recordsMax` records each, status for `workers`.
 *
 * @example
 * ```ts
 * const buffers = allocateRunBuffers(3, 2, 100_000); // 2 workers + the main thread
 * ```
 */
export function allocateRunBuffers(writers: number, workers: number, recordsMax: number): RunBuffers {
  return {
    control: new SharedArrayBuffer(CTL.STRIDE * 4),
    status: new SharedArrayBuffer(workers * WS.STRIDE * 4),
    // word 0: words used; the records follow
    logs: Array.from({ length: writers }, () => new SharedArrayBuffer((1 + recordsMax * RECORD_WORDS) * 4)),
  };
}

/** The shared event clock: the next stamp, from any thread. */
export function tick(control: Int32Array): number {
  return Atomics.add(control, CTL.CLOCK, 1) + 1;
}

/**
 * The single writer of one log. Running out of room is a loud error (a limit exceeded), never a
 * silent loss of records.
 *
 * @example
 * ```ts
 * log.append(REC.REFUSED, tick(control), 0, sender, dst, port, 13);
 * ```
 */
export class RunLogWriter {
  private readonly words: Int32Array;
  /** Words written by `stage` and not yet published. */
  private staged = 0;

  constructor(buffer: SharedArrayBuffer) {
    this.words = new Int32Array(buffer);
  }

  append(kind: number, stampA: number, stampB: number, f0 = 0, f1 = 0, f2 = 0, f3 = 0, f4 = 0, f5 = 0, f6 = 0): void {
    if (this.staged !== 0) throw new Error(`run log: append with ${this.staged / RECORD_WORDS} staged records unpublished`);
    this.write(0, kind, stampA, stampB, f0, f1, f2, f3, f4, f5, f6);
    Atomics.store(this.words, 0, this.words[0] + RECORD_WORDS); // publish the whole record at once
  }

  /**
   * Writes a record without publishing it (stampA 0 for now, stampB 0); `publishStaged` stamps every
   * staged record and publishes them at once. A batch of records stamped once, after its last
   * operation, costs one tick of the shared clock instead of one per record.
   */
  stage(kind: number, f0 = 0, f1 = 0, f2 = 0, f3 = 0, f4 = 0, f5 = 0, f6 = 0): void {
    this.write(this.staged, kind, 0, 0, f0, f1, f2, f3, f4, f5, f6);
    this.staged += RECORD_WORDS;
  }

  /** Gives every staged record `stampA` and publishes them; returns how many there were. */
  publishStaged(stampA: number): number {
    const w = this.words;
    const used = w[0];
    for (let at = 1 + used; at < 1 + used + this.staged; at += RECORD_WORDS) w[at + 1] = stampA;
    const records = this.staged / RECORD_WORDS;
    Atomics.store(w, 0, used + this.staged);
    this.staged = 0;
    return records;
  }

  /** Writes a record `offset` words past the published ones. */
  private write(offset: number, kind: number, stampA: number, stampB: number, f0: number, f1: number, f2: number, f3: number, f4: number, f5: number, f6: number): void {
    const w = this.words;
    const at = 1 + w[0] + offset;
    if (at + RECORD_WORDS > w.length) {
      throw new RangeError(`parallel run log full: ${(w.length - 1) / RECORD_WORDS} records (raise recordsMax)`);
    }
    w[at] = kind;
    w[at + 1] = stampA;
    w[at + 2] = stampB;
    w[at + 3] = f0;
    w[at + 4] = f1;
    w[at + 5] = f2;
    w[at + 6] = f3;
    w[at + 7] = f4;
    w[at + 8] = f5;
    w[at + 9] = f6;
  }
}

/** One record read back. */
export interface RunRecord {
  kind: number;
  stampA: number;
  stampB: number;
  f: number[];
}

/** Every whole record of a log, in the order it was written. */
export function readRunLog(buffer: SharedArrayBuffer): RunRecord[] {
  const w = new Int32Array(buffer);
  const used = Atomics.load(w, 0);
  const out: RunRecord[] = [];
  for (let at = 1; at < 1 + used; at += RECORD_WORDS) {
    // f0 … f6 (RECORD_WORDS is 10), copied out one by one: a view and an Array.from per record cost more
    out.push({ kind: w[at], stampA: w[at + 1], stampB: w[at + 2], f: [w[at + 3], w[at + 4], w[at + 5], w[at + 6], w[at + 7], w[at + 8], w[at + 9]] });
  }
  return out;
}

/**
 * A 64-bit digest of a message's bytes (two 32-bit hashes, each over two interleaved lanes of words
 * where the bytes are 4-aligned, so the multiplies of the lanes overlap): the flow checker
 * recognises a message by it, as the deterministic runtime's ledger recognises it by its bytes.
 * Allocates two views and the pair; the hot paths use `Digest`.
 */
export function digest(bytes: Uint8Array): [number, number] {
  const aligned = (bytes.byteOffset & 3) === 0;
  const words = aligned ? new Int32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2) : null;
  const d = new Digest().of(bytes, words, 0, bytes.length);
  return [d.lo, d.hi];
}

/**
 * `digest` without allocation, for the per-message paths of the parallel runtime: the result stays
 * in `lo` and `hi` until the next `of`.
 *
 * @example
 * ```ts
 * const d = new Digest();
 * d.of(scratch, scratchWords, 0, n); // the same as digest(scratch.subarray(0, n))
 * log.append(REC.RECEIVED, stamp, 0, owner, port, incarnation, source, n, d.lo, d.hi);
 * ```
 */
export class Digest {
  lo = 0;
  hi = 0;

  /**
   * Digests the `n` bytes of `bytes` from byte `at`; `words` views the same buffer from the same
   * start as Int32 words (`at` is then a multiple of 4), or is null (byte by byte).
   */
  of(bytes: Uint8Array, words: Int32Array | null, at: number, n: number): this {
    let a = 0x811c9dc5 ^ n; // lanes a, c: FNV-1a-like, word at a time
    let c = 0x050c5d1f ^ n;
    let b = 0x9e3779b9 + n; // lanes b, e: a multiply-xorshift mix
    let e = 0x7f4a7c15 + n;
    const wordCount = words !== null && n >= 4 ? n >>> 2 : 0;
    const w0 = at >>> 2;
    let k = 0;
    for (; k + 1 < wordCount; k += 2) {
      const x = words![w0 + k];
      const y = words![w0 + k + 1];
      a = Math.imul(a ^ x, 0x01000193);
      c = Math.imul(c ^ y, 0x01000193);
      b = Math.imul((b + x) ^ (b >>> 15), 0x85ebca6b);
      e = Math.imul((e + y) ^ (e >>> 15), 0x85ebca6b);
    }
    if (k < wordCount) {
      const x = words![w0 + k];
      a = Math.imul(a ^ x, 0x01000193);
      b = Math.imul((b + x) ^ (b >>> 15), 0x85ebca6b);
    }
    for (let i = wordCount << 2; i < n; i++) {
      a = Math.imul(a ^ bytes[at + i], 0x01000193);
      b = Math.imul((b + bytes[at + i]) ^ (b >>> 15), 0x85ebca6b);
    }
    this.lo = (a ^ Math.imul(c ^ (c >>> 16), 0x2c1b3c6d)) | 0;
    this.hi = (b ^ (b >>> 13) ^ Math.imul(e ^ (e >>> 16), 0x297a2d39)) | 0;
    return this;
  }
}
