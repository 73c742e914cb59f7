import { ERRNO } from '../xen/errno.js';
import { MAX_NR_IO_RANGES } from './constants.js';

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
  private readonly ranges: Array<{ s: number; e: number }> = [];

  constructor(readonly limit = MAX_NR_IO_RANGES) {}

  /** Entries in use. */
  get size(): number {
    return this.ranges.length;
  }

  /** True when some range meets [s, e]. */
  overlaps(s: number, e: number): boolean {
    return this.ranges.some((r) => r.s <= e && s <= r.e);
  }

  /** True when one range holds the whole of [s, e]. */
  contains(s: number, e: number): boolean {
    return this.ranges.some((r) => r.s <= s && e <= r.e);
  }

  /** `rangeset_add_range` for a range that overlaps nothing: 0, or -ENOMEM when a new entry is needed and none is left. */
  add(s: number, e: number): number {
    const before = this.ranges.findLast((r) => r.e < s);
    const after = this.ranges.find((r) => r.s > e);
    const joinsBefore = before !== undefined && before.e === s - 1;
    const joinsAfter = after !== undefined && after.s === e + 1;
    if (joinsBefore && joinsAfter) {
      before.e = after.e;
      this.ranges.splice(this.ranges.indexOf(after), 1);
    } else if (joinsBefore) before.e = e;
    else if (joinsAfter) after.s = s;
    else {
      if (this.ranges.length >= this.limit) return -ERRNO.ENOMEM;
      this.ranges.push({ s, e });
      this.ranges.sort((a, b) => a.s - b.s);
    }
    return 0;
  }

  /** `rangeset_remove_range` for a range `contains` accepted: 0, or -ENOMEM when a split needs an entry and none is left. */
  remove(s: number, e: number): number {
    const at = this.ranges.findIndex((r) => r.s <= s && e <= r.e);
    if (at < 0) throw new Error(`rangeset: [${s}, ${e}] is not contained; check contains() first`);
    const r = this.ranges[at];
    if (r.s < s && e < r.e) {
      if (this.ranges.length >= this.limit) return -ERRNO.ENOMEM;
      this.ranges.splice(at + 1, 0, { s: e + 1, e: r.e });
      r.e = s - 1;
    } else if (r.s < s) r.e = s - 1;
    else if (e < r.e) r.s = e + 1;
    else this.ranges.splice(at, 1);
    return 0;
  }

  /** A copy of the entries, in order. */
  list(): Array<{ start: number; end: number }> {
    return this.ranges.map((r) => ({ start: r.s, end: r.e }));
  }
}
