/**
 * The runtime's own check of the message invariants (issue #3 item 5): every message a sendv
 * accepted is delivered exactly once, intact and in order per (sender, ring), unless its ring was
 * torn down first (then it is `lost`, which is no violation); nothing arrives that was not sent.
 * Messages are recognised by their bytes: workloads send seeded random payloads.
 *
 * @example
 * ```ts
 * ledger.sent(1, ringKey, payload);
 * ledger.received(1, ringKey, bytes); // 'delivered' | 'reordered' | 'duplicated' | 'corrupted'
 * ```
 */
export type Receipt = 'delivered' | 'reordered' | 'duplicated' | 'corrupted';

/** Counters of the run summary's `messages`. */
export interface MessageCounts {
  sent: number;
  delivered: number;
  refused: number;
  lost: number;
  duplicated: number;
  corrupted: number;
  reordered: number;
}

const RECENT_DELIVERED = 64;

export class MessageLedger {
  readonly counts: MessageCounts = { sent: 0, delivered: 0, refused: 0, lost: 0, duplicated: 0, corrupted: 0, reordered: 0 };
  readonly violations: string[] = [];
  /** In flight, per `sender>ring`, oldest first. */
  private readonly inFlight = new Map<string, Uint8Array[]>();
  private readonly recent = new Map<string, Uint8Array[]>();

  /** A sendv accepted `payload` from `sender` into the ring at `ring` (`domid:port`). */
  sent(sender: number, ring: string, payload: Uint8Array): void {
    this.counts.sent++;
    this.queue(this.inFlight, `${sender}>${ring}`).push(payload);
  }

  /** A send failed with an errno: the message never entered a ring. */
  refused(): void {
    this.counts.refused++;
  }

  /** The ring at `ring` was torn down: what was in flight to it is lost, legitimately. */
  ringTornDown(ring: string): void {
    for (const [key, queue] of this.inFlight) {
      if (!key.endsWith(`>${ring}`)) continue;
      this.counts.lost += queue.length;
      this.inFlight.delete(key);
    }
  }

  /** A receiver took `bytes` from `ring`, with `source` as Xen wrote it in the header. */
  received(source: number, ring: string, bytes: Uint8Array, atMs: number): Receipt {
    const key = `${source}>${ring}`;
    const queue = this.inFlight.get(key) ?? [];
    const at = queue.findIndex((p) => same(p, bytes));
    if (at === 0 || at > 0) {
      queue.splice(at, 1);
      const recent = this.queue(this.recent, key);
      recent.push(bytes);
      if (recent.length > RECENT_DELIVERED) recent.shift();
      if (at === 0) {
        this.counts.delivered++;
        return 'delivered';
      }
      this.counts.reordered++;
      this.violations.push(`${atMs}ms: message from domain ${source} to ring ${ring} arrived ahead of ${at} earlier ones`);
      return 'reordered';
    }
    if ((this.recent.get(key) ?? []).some((p) => same(p, bytes))) {
      this.counts.duplicated++;
      this.violations.push(`${atMs}ms: a message from domain ${source} to ring ${ring} was delivered twice`);
      return 'duplicated';
    }
    this.counts.corrupted++;
    this.violations.push(`${atMs}ms: ring ${ring} held ${bytes.length} bytes from domain ${source} that no sendv sent there`);
    return 'corrupted';
  }

  /** At the end: messages still in flight to rings that `stillOpen` says should have been drained. */
  settle(drained: (ring: string) => boolean): void {
    for (const [key, queue] of this.inFlight) {
      if (queue.length === 0) continue;
      const ring = key.slice(key.indexOf('>') + 1);
      this.counts.lost += queue.length;
      if (drained(ring)) this.violations.push(`end: ${queue.length} message(s) from ${key.replace('>', ' to ring ')} were accepted but never delivered`);
    }
    this.inFlight.clear();
  }

  private queue(map: Map<string, Uint8Array[]>, key: string): Uint8Array[] {
    let q = map.get(key);
    if (!q) map.set(key, (q = []));
    return q;
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
