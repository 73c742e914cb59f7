import { LOCK_WAIT_TOTAL_MS, LockTimeoutError, waitSlice } from '../sync/errors.js';
import { ERRNO } from '../xen/errno.js';
import { MAX_NR_IO_RANGES } from './constants.js';

/**
 * Where a rangeset keeps its entries: a count word, a sequence word (in the same array; odd while
 * a change is being made, so that a reader in another thread looks again — a seqlock, where Xen's
 * rangeset has a read-write lock) and (start, end) pairs of Float64 slots.
 */
export interface RangesetStorage {
  counts: Int32Array;
  countAt: number;
  seqAt: number;
  pairs: Float64Array;
  pairsAt: number;
}

/**
 * Readers look again at once this many times, then sleep on the sequence word in slices: a writer
 * another thread preempted (two cores, many threads) can take a whole timeslice to finish.
 */
const SEQ_SPINS = 64;

/**
 * Xen's rangeset (common/rangeset.c) as an ioreq server uses it: inclusive [start, end] ranges,
 * kept sorted and merged with their neighbours, at most `MAX_NR_IO_RANGES` entries
 * (virtio-ioreq-lifecycle.md §5.1, §5.2 ops 3–4). Adjacent ranges merge into one entry, so they
 * count once; removing the middle of a range splits it and needs one more entry.
 *
 * @example
 * ```ts
 * const set = new Rangeset();
 * set.add(0x1000, 0x1fff);    // 0
 * set.contains(0x1800, 0x1803); // true
 * ```
 */
export class Rangeset {
  private readonly counts: Int32Array;
  private readonly countAt: number;
  private readonly seqAt: number;
  private readonly pairs: Float64Array;
  private readonly at: number;

  /**
   * A rangeset of its own (in plain memory), or one over `storage` (an ioreq server's, in shared
   * memory). A reader waits at most `waitMs` for a change under way in another thread
   * (`LockTimeoutError` after: its writer is dead or stuck).
   */
  constructor(
    readonly limit = MAX_NR_IO_RANGES,
    storage?: RangesetStorage,
    private readonly waitMs = LOCK_WAIT_TOTAL_MS,
  ) {
    const own = storage ?? { counts: new Int32Array(2), countAt: 0, seqAt: 1, pairs: new Float64Array(2 * limit), pairsAt: 0 };
    this.counts = own.counts;
    this.countAt = own.countAt;
    this.seqAt = own.seqAt;
    this.pairs = own.pairs;
    this.at = own.pairsAt;
  }

  /** A rangeset of `MAX_NR_IO_RANGES` entries over `storage` (`ioreq/tables.ts`). */
  static over(storage: RangesetStorage): Rangeset {
    return new Rangeset(MAX_NR_IO_RANGES, storage);
  }

  get size(): number {
    return this.counts[this.countAt];
  }

  /** True when some range shares an address with [s, e]. */
  overlaps(s: number, e: number): boolean {
    return this.read(() => {
      for (let i = 0; i < this.size; i++) if (this.start(i) <= e && s <= this.end(i)) return true;
      return false;
    });
  }

  /** True when one range holds all of [s, e] (rangeset_contains_range). */
  contains(s: number, e: number): boolean {
    return this.read(() => {
      for (let i = 0; i < this.size; i++) if (this.start(i) <= s && e <= this.end(i)) return true;
      return false;
    });
  }

  /**
   * Adds [s, e] (which must not overlap: the caller checks `overlaps`), merging with an adjacent
   * range on either side. 0, or -ENOMEM when it needs a new entry past the limit.
   */
  add(s: number, e: number): number {
    return this.write(() => this.addNow(s, e));
  }

  private addNow(s: number, e: number): number {
    const n = this.size;
    let before = -1; // the last range wholly below s
    while (before + 1 < n && this.end(before + 1) < s) before++;
    const after = before + 1 < n && this.start(before + 1) > e ? before + 1 : -1; // the first range above e
    const joinsBefore = before >= 0 && this.end(before) === s - 1;
    const joinsAfter = after >= 0 && this.start(after) === e + 1;
    if (joinsBefore && joinsAfter) {
      this.setEnd(before, this.end(after));
      this.removeAt(after);
    } else if (joinsBefore) this.setEnd(before, e);
    else if (joinsAfter) this.setStart(after, s);
    else {
      if (n >= this.limit) return -ERRNO.ENOMEM;
      this.insertAt(before + 1, s, e);
    }
    return 0;
  }

  /**
   * Removes [s, e], which one range must contain (the caller checks `contains`): trims it, or splits
   * it in two. 0, or -ENOMEM when a split needs an entry past the limit.
   */
  remove(s: number, e: number): number {
    return this.write(() => this.removeNow(s, e));
  }

  private removeNow(s: number, e: number): number {
    let at = -1;
    for (let i = 0; i < this.size && at < 0; i++) if (this.start(i) <= s && e <= this.end(i)) at = i;
    if (at < 0) throw new Error(`rangeset: [${s}, ${e}] is not contained; check contains() first`);
    const rs = this.start(at);
    const re = this.end(at);
    if (rs < s && e < re) {
      if (this.size >= this.limit) return -ERRNO.ENOMEM;
      this.insertAt(at + 1, e + 1, re);
      this.setEnd(at, s - 1);
    } else if (rs < s) this.setEnd(at, s - 1);
    else if (e < re) this.setStart(at, e + 1);
    else this.removeAt(at);
    return 0;
  }

  /** The ranges, sorted. */
  list(): Array<{ start: number; end: number }> {
    return this.read(() => {
      const out: Array<{ start: number; end: number }> = [];
      for (let i = 0, n = this.size; i < n; i++) out.push({ start: this.start(i), end: this.end(i) });
      return out;
    });
  }

  /** A change, seen by readers elsewhere as one step (writers are one at a time: the IOREQ lock). */
  private write<T>(change: () => T): T {
    Atomics.add(this.counts, this.seqAt, 1);
    try {
      return change();
    } finally {
      Atomics.add(this.counts, this.seqAt, 1);
      Atomics.notify(this.counts, this.seqAt); // readers asleep on the odd value (changes are rare: DM ops)
    }
  }

  /**
   * `look` over a state no change was under way in, from start to end (looked at again otherwise).
   * Bounded: after `SEQ_SPINS` quick looks it sleeps while a change is under way, `waitMs` in all.
   */
  private read<T>(look: () => T): T {
    let waitedMs = 0;
    for (let tries = 0; ; tries++) {
      const before = Atomics.load(this.counts, this.seqAt);
      if ((before & 1) === 0) {
        const seen = look();
        if (Atomics.load(this.counts, this.seqAt) === before) return seen;
      } else if (tries >= SEQ_SPINS) {
        // (odd in plain memory cannot be: a change there runs to its end before anyone reads)
        if (!(this.counts.buffer instanceof SharedArrayBuffer)) throw new LockTimeoutError('rangeset', before, waitedMs);
        waitedMs = waitSlice(this.counts, this.seqAt, before, 'rangeset', waitedMs, this.waitMs);
      }
    }
  }

  private start(i: number): number {
    return this.pairs[this.at + 2 * i];
  }

  private end(i: number): number {
    return this.pairs[this.at + 2 * i + 1];
  }

  private setStart(i: number, v: number): void {
    this.pairs[this.at + 2 * i] = v;
  }

  private setEnd(i: number, v: number): void {
    this.pairs[this.at + 2 * i + 1] = v;
  }

  private insertAt(i: number, s: number, e: number): void {
    const n = this.size;
    this.pairs.copyWithin(this.at + 2 * (i + 1), this.at + 2 * i, this.at + 2 * n);
    this.pairs[this.at + 2 * i] = s;
    this.pairs[this.at + 2 * i + 1] = e;
    this.counts[this.countAt] = n + 1;
  }

  private removeAt(i: number): void {
    const n = this.size;
    this.pairs.copyWithin(this.at + 2 * i, this.at + 2 * (i + 1), this.at + 2 * n);
    this.counts[this.countAt] = n - 1;
  }
}
