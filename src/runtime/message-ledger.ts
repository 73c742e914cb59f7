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
  /** Per ring (`domid:port`), per sender: what is in flight, oldest first, and the last delivered. */
  private readonly rings = new Map<string, Map<number, Flow>>();

  /** A sendv accepted `payload` from `sender` into the ring at `ring` (`domid:port`). */
  sent(sender: number, ring: string, payload: Uint8Array): void {
    this.counts.sent++;
    this.flow(sender, ring).inFlight.push(payload);
  }

  /** A send failed with an errno: the message never entered a ring. */
  refused(): void {
    this.counts.refused++;
  }

  /** The ring at `ring` was torn down: what was in flight to it is lost, legitimately. */
  ringTornDown(ring: string): void {
    const flows = this.rings.get(ring);
    if (!flows) return;
    for (const flow of flows.values()) this.counts.lost += flow.inFlight.length - flow.head;
    this.rings.delete(ring);
  }

  /**
   * A receiver took `bytes` from `ring`, with `source` as Xen wrote it in the header. `bytes` may
   * be a scratch buffer the caller reuses: the ledger keeps no reference to it.
   */
  received(source: number, ring: string, bytes: Uint8Array, atMs: number): Receipt {
    const flow = this.rings.get(ring)?.get(source);
    const at = flow ? indexOf(flow, bytes) : -1;
    if (at >= 0) {
      const payload = take(flow!, at);
      flow!.recent.push(payload);
      if (flow!.recent.length > RECENT_DELIVERED) flow!.recent.shift();
      if (at === 0) {
        this.counts.delivered++;
        return 'delivered';
      }
      this.counts.reordered++;
      this.violations.push(`${atMs}ms: message from domain ${source} to ring ${ring} arrived ahead of ${at} earlier ones`);
      return 'reordered';
    }
    if ((flow?.recent ?? []).some((p) => same(p, bytes))) {
      this.counts.duplicated++;
      this.violations.push(`${atMs}ms: a message from domain ${source} to ring ${ring} was delivered twice`);
      return 'duplicated';
    }
    this.counts.corrupted++;
    this.violations.push(`${atMs}ms: ring ${ring} held ${bytes.length} bytes from domain ${source} that no sendv sent there`);
    return 'corrupted';
  }

  /** At the end: messages still in flight to rings that `drained` says should have been drained. */
  settle(drained: (ring: string) => boolean): void {
    for (const [ring, flows] of this.rings) {
      for (const [sender, flow] of flows) {
        const n = flow.inFlight.length - flow.head;
        if (n === 0) continue;
        this.counts.lost += n;
        if (drained(ring)) this.violations.push(`end: ${n} message(s) from ${sender} to ring ${ring} were accepted but never delivered`);
      }
    }
    this.rings.clear();
  }

  private flow(sender: number, ring: string): Flow {
    let flows = this.rings.get(ring);
    if (!flows) this.rings.set(ring, (flows = new Map()));
    let flow = flows.get(sender);
    if (!flow) flows.set(sender, (flow = { inFlight: [], head: 0, recent: [] }));
    return flow;
  }
}

interface Flow {
  /** Accepted and not yet delivered, oldest first from `head` (a queue without shifting). */
  inFlight: Uint8Array[];
  head: number;
  recent: Uint8Array[];
}

/** Where `bytes` waits in the flow, relative to its head (0: next in order), or -1. */
function indexOf(flow: Flow, bytes: Uint8Array): number {
  const q = flow.inFlight;
  for (let i = flow.head; i < q.length; i++) if (same(q[i], bytes)) return i - flow.head;
  return -1;
}

/** Removes and returns the message `at` places behind the head. */
function take(flow: Flow, at: number): Uint8Array {
  const q = flow.inFlight;
  if (at === 0) {
    const payload = q[flow.head++];
    if (flow.head > 64 && flow.head * 2 > q.length) {
      q.splice(0, flow.head);
      flow.head = 0;
    }
    return payload;
  }
  return q.splice(flow.head + at, 1)[0];
}

/** Byte equality, a word at a time where both arrays allow it. */
function same(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  let i = 0;
  if (n >= 16 && ((a.byteOffset | b.byteOffset) & 3) === 0) {
    const wa = new Int32Array(a.buffer, a.byteOffset, n >>> 2);
    const wb = new Int32Array(b.buffer, b.byteOffset, n >>> 2);
    for (let w = 0; w < wa.length; w++) if (wa[w] !== wb[w]) return false;
    i = wa.length << 2;
  }
  for (; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}
