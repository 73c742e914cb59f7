import { FRESH_SHARED_BUFFERS, type SharedBufferSource } from '../memory/shared-buffers.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';

/** Labels the shared table holds, and the longest label in UTF-8 bytes. */
export const LABELS_MAX = 256;
export const LABEL_BYTES_MAX = 63;
const SLOT_BYTES = LABEL_BYTES_MAX + 1; // a length byte, then the name
const LOCK = 0;
const COUNT = 1;

/** The SharedArrayBuffers behind a `LabelRegistry`, for another thread. */
export interface LabelRegistryBuffers {
  words: SharedArrayBuffer;
  names: SharedArrayBuffer;
}

/**
 * Security labels (XSM types) by number, in SharedArrayBuffers: a domain's label is stored in the
 * shared domain table as its sid, and any thread resolves the sid to the same name. Sid 0 is the
 * hypervisor's `xen_t`. Each thread keeps a read cache; additions take the table's spinlock.
 *
 * @example
 * ```ts
 * const labels = new LabelRegistry(['dom0_t']);
 * labels.sidOf('domU_t'); // 2 (assigned on first use)
 * new LabelRegistry(labels.buffers).labelOf(2); // 'domU_t', from another thread too
 * ```
 */
export class LabelRegistry {
  private readonly words: Int32Array;
  private readonly names: Uint8Array;
  private readonly cacheByName = new Map<string, number>();
  private readonly cacheBySid: string[] = [];

  /** New labels (their buffers from `source`, default fresh ones), or a view of another thread's registry. */
  constructor(init: Iterable<string> | LabelRegistryBuffers = [], source: SharedBufferSource = FRESH_SHARED_BUFFERS) {
    const shared = 'words' in (init as object) && 'names' in (init as object);
    const buffers = shared
      ? (init as LabelRegistryBuffers)
      : { words: source.take(8), names: source.take(LABELS_MAX * SLOT_BYTES) };
    this.words = new Int32Array(buffers.words);
    this.names = new Uint8Array(buffers.names);
    if (!shared) {
      this.sidOf('xen_t');
      for (const name of init as Iterable<string>) this.sidOf(name);
    }
  }

  get buffers(): LabelRegistryBuffers {
    return { words: this.words.buffer as SharedArrayBuffer, names: this.names.buffer as SharedArrayBuffer };
  }

  /** The sid of a label, assigned on first use. Throws for a label too long or a full table. */
  sidOf(label: string): number {
    const cached = this.cacheByName.get(label);
    if (cached !== undefined) return cached;
    spinLock(this.words, LOCK, 'label registry');
    try {
      const count = this.refresh();
      const known = this.cacheByName.get(label);
      if (known !== undefined) return known;
      const bytes = new TextEncoder().encode(label);
      if (bytes.length === 0 || bytes.length > LABEL_BYTES_MAX) {
        throw new RangeError(`label "${label}" must be 1 to ${LABEL_BYTES_MAX} bytes`);
      }
      if (count >= LABELS_MAX) throw new RangeError(`label table full: ${LABELS_MAX} labels in use`);
      this.names[count * SLOT_BYTES] = bytes.length;
      this.names.set(bytes, count * SLOT_BYTES + 1);
      Atomics.store(this.words, COUNT, count + 1);
      this.remember(count, label);
      return count;
    } finally {
      spinUnlock(this.words, LOCK);
    }
  }

  /** The label of a sid. */
  labelOf(sid: number): string {
    const cached = this.cacheBySid[sid];
    if (cached !== undefined) return cached;
    if (!(sid >= 0 && sid < this.refresh())) throw new RangeError(`no label with sid ${sid}`);
    return this.cacheBySid[sid];
  }

  /** Every label, in sid order. */
  all(): readonly string[] {
    this.refresh();
    return [...this.cacheBySid];
  }

  /** Reads labels other threads added into the cache; returns the count. */
  private refresh(): number {
    const count = Atomics.load(this.words, COUNT);
    const decoder = new TextDecoder();
    for (let sid = this.cacheBySid.length; sid < count; sid++) {
      const at = sid * SLOT_BYTES;
      this.remember(sid, decoder.decode(this.names.slice(at + 1, at + 1 + this.names[at])));
    }
    return count;
  }

  private remember(sid: number, label: string): void {
    this.cacheBySid[sid] = label;
    this.cacheByName.set(label, sid);
  }
}
