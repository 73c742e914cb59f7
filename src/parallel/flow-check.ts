import { XEN_ARGO_DOMID_ANY } from '../argo/constants.js';
import { MessageLedger, type MessageCounts } from '../runtime/message-ledger.js';
import { Slab } from '../runtime/slab.js';
import { errnoName } from '../xen/errno.js';
import { REC, type RunRecord } from './run-log.js';

/** A ring incarnation: one successful registration, until the teardown that removed it. */
interface Incarnation {
  id: number;
  owner: number;
  port: number;
  partner: number;
  /** Stamp before the register hypercall. */
  bornAt: number;
  /** Stamp after the teardown that removed it (Infinity while it lives). */
  endedAt: number;
  /** The ledger's name for it: `owner:port#id`, a ring of its own. */
  key: string;
  /** Its owner's `DomainTable.identityOf` (0: not recorded). */
  ownerIdentity: number;
}

/** What the flow check makes of a run's records. */
export interface FlowReport {
  messages: MessageCounts;
  errors: Record<string, number>;
  refusedRings: Record<string, number>;
  /** Per domid: messages and bytes sent (accepted) and received. */
  perDomain: Map<number, { sent: number; received: number; bytesSent: number; bytesReceived: number }>;
  violations: string[];
}

/** What the check needs to know besides the records. */
export interface FlowCheckContext {
  /** May `src` send to `dst` by the scenario's own reading of its policy? */
  policyAllows(src: number, dst: number, dstPort: number): boolean;
  /** At the end, should a still-registered ring of `owner` have been drained? */
  drainable(owner: number): boolean;
}

const nameOf = (errno: number): string => errnoName(-errno) ?? `E${errno}`;

/**
 * The message invariants of a parallel run, checked from the records every thread left (issue #5
 * item 4): each accepted message is delivered exactly once, intact and in order per (sender, ring),
 * or lost only to its ring's teardown; nothing arrives that no sendv put in that incarnation of the
 * ring — so nothing sent after a teardown is delivered from the torn-down ring; nothing crosses a
 * denied policy edge. Messages are recognised by their digest, and the deterministic runtime's
 * `MessageLedger` does the per-flow bookkeeping, with each ring incarnation as a ring of its own.
 *
 * Which incarnation a send went to follows from the stamps: the ring (unicast for the sender, else
 * wildcard, argo.md §6.1) alive at some point between the stamps around the sendv. When two could
 * have been (a teardown and re-registration inside that window) the one whose receiver saw the
 * message's digest next wins.
 *
 * @example
 * ```ts
 * const report = checkFlows(records, { policyAllows: () => true, drainable: () => true });
 * report.violations; // []
 * ```
 */
export function checkFlows(records: RunRecord[], context: FlowCheckContext): FlowReport {
  const report: FlowReport = { messages: zeroCounts(), errors: {}, refusedRings: {}, perDomain: new Map(), violations: [] };
  const incarnations = collectIncarnations(records, report);
  const byRing = incarnationsByRing(incarnations);
  const ledger = new MessageLedger();
  // the keys of messages in flight, which the ledger keeps: carved from a slab, one view each
  const keys = new Slab();
  // the digests each incarnation's receiver took: built only if a send is ambiguous (rare)
  let received: Map<number, string[]> | undefined;
  const receivedTags = () => (received ??= receivedByIncarnation(records));
  for (const r of records) {
    if (r.kind === REC.REFUSED) {
      const name = nameOf(r.f[3]);
      report.errors[name] = (report.errors[name] ?? 0) + 1;
      ledger.refused();
    }
    if (r.kind !== REC.SENT) continue;
    const [sender, dst, port, bytes, lo, hi, meant = 0] = r.f;
    const f = figures(report, sender);
    f.sent++;
    f.bytesSent += bytes;
    if (!context.policyAllows(sender, dst, port)) report.violations.push(`stamp ${r.stampA}: a message crossed a denied policy edge: domain ${sender} → (${dst}, ${port})`);
    const inc = incarnationOf(byRing.get(ringOf(dst, port)), receivedTags, sender, r.stampA, r.stampB, lo, hi);
    if (!inc) {
      report.violations.push(`stamp ${r.stampA}: sendv ${sender} → (${dst}, ${port}) was accepted while no such ring was registered`);
      continue;
    }
    // monitor stale-domid (lifecycle §6.7 R15): the domid the app looked up belonged to an earlier
    // domain; a later one given that domid must not take what was meant for it
    if (meant > 0 && inc.ownerIdentity > 0 && meant !== inc.ownerIdentity) {
      report.violations.push(`stamp ${r.stampA}: stale-domid: domain ${sender} sent to domid ${dst} meaning the domain that had it when its application started, and a later domain with that domid accepted it (ring ${dst}:${port})`);
    }
    ledger.sent(sender, inc.key, messageKey(keys.take(12), lo, hi, bytes));
  }
  const scratch = new Uint8Array(12); // the ledger keeps no reference to a received message's bytes
  for (const r of records) {
    if (r.kind !== REC.RECEIVED) continue;
    const [owner, port, id, source, bytes, lo, hi] = r.f;
    const inc = incarnations.get(id);
    const f = figures(report, owner);
    f.received++;
    f.bytesReceived += bytes;
    if (!inc || inc.owner !== owner || inc.port !== port) {
      report.violations.push(`stamp ${r.stampA}: domain ${owner} received from ring incarnation ${id} that it never registered`);
      continue;
    }
    ledger.received(source, inc.key, messageKey(scratch, lo, hi, bytes), r.stampA);
  }
  for (const inc of incarnations.values()) if (inc.endedAt !== Infinity) ledger.ringTornDown(inc.key);
  ledger.settle((ring) => {
    const inc = incarnations.get(Number(ring.split('#')[1]));
    return !!inc && inc.endedAt === Infinity && context.drainable(inc.owner);
  });
  report.messages = { ...ledger.counts };
  report.violations.push(...ledger.violations);
  return report;
}

function zeroCounts(): MessageCounts {
  return { sent: 0, delivered: 0, refused: 0, lost: 0, duplicated: 0, corrupted: 0, reordered: 0 };
}

function figures(report: FlowReport, domid: number) {
  let f = report.perDomain.get(domid);
  if (!f) report.perDomain.set(domid, (f = { sent: 0, received: 0, bytesSent: 0, bytesReceived: 0 }));
  return f;
}

/** A ring as a number: its owner (below 2¹⁵) and port (32 bits). */
const ringOf = (owner: number, port: number): number => owner * 0x1_0000_0000 + (port >>> 0);

/**
 * The bytes the ledger compares for a message (it recognises messages by their bytes): its digest
 * and its length, as 12 little-endian bytes, written into `out`.
 */
function messageKey(out: Uint8Array, lo: number, hi: number, bytes: number): Uint8Array {
  le32(out, 0, lo);
  le32(out, 4, hi);
  le32(out, 8, bytes);
  return out;
}

function le32(out: Uint8Array, at: number, value: number): void {
  out[at] = value;
  out[at + 1] = value >>> 8;
  out[at + 2] = value >>> 16;
  out[at + 3] = value >>> 24;
}

/**
 * Ring incarnations from the registration records, each ended by the first later teardown that
 * removes it: its owner's unregister, its owner's Argo teardown, or (a unicast ring) its partner's
 * (argo.md §8.2 steps 1–2). A teardown whose window overlaps the registration counts as ending it.
 */
function collectIncarnations(records: RunRecord[], report: FlowReport): Map<number, Incarnation> {
  const out = new Map<number, Incarnation>();
  for (const r of records) {
    if (r.kind === REC.REGISTERED) {
      const [owner, port, partner, id, ownerIdentity = 0] = r.f;
      out.set(id, { id, owner, port, partner, bornAt: r.stampA, endedAt: Infinity, key: `${owner}:${port}#${id}`, ownerIdentity });
    } else if (r.kind === REC.REGISTER_REFUSED) {
      const name = nameOf(r.f[3]);
      report.refusedRings[name] = (report.refusedRings[name] ?? 0) + 1;
    }
  }
  const end = (inc: Incarnation, at: number) => {
    if (at > inc.bornAt && at < inc.endedAt) inc.endedAt = at;
  };
  for (const r of records) {
    if (r.kind === REC.UNREGISTERED) {
      const inc = out.get(r.f[0]);
      if (inc) end(inc, r.stampB);
    } else if (r.kind === REC.DOMAIN_TORN_DOWN) {
      const domid = r.f[0];
      for (const inc of out.values()) if (inc.owner === domid || inc.partner === domid) end(inc, r.stampB);
    }
  }
  return out;
}

/** Per incarnation, the digests its receiver took, oldest first (for resolving ambiguous sends). */
function receivedByIncarnation(records: RunRecord[]): Map<number, string[]> {
  const out = new Map<number, string[]>();
  for (const r of records) {
    if (r.kind !== REC.RECEIVED) continue;
    let list = out.get(r.f[2]);
    if (!list) out.set(r.f[2], (list = []));
    list.push(`${r.f[3]}:${r.f[5]}:${r.f[6]}`);
  }
  return out;
}

/** The incarnations of each ring (`ringOf(owner, port)`), in registration order. */
function incarnationsByRing(incarnations: Map<number, Incarnation>): Map<number, Incarnation[]> {
  const out = new Map<number, Incarnation[]>();
  for (const inc of incarnations.values()) {
    const ring = ringOf(inc.owner, inc.port);
    const list = out.get(ring);
    if (list) list.push(inc);
    else out.set(ring, [inc]);
  }
  return out;
}

/**
 * The incarnation of the destination ring (`ofRing`: its incarnations) a send landed in (see
 * `checkFlows`), or undefined when no ring could have taken it.
 */
function incarnationOf(
  ofRing: Incarnation[] | undefined,
  received: () => Map<number, string[]>,
  sender: number,
  before: number,
  after: number,
  lo: number,
  hi: number,
): Incarnation | undefined {
  let first: Incarnation | undefined;
  let candidates: Incarnation[] | undefined;
  for (const inc of ofRing ?? []) {
    if (inc.partner !== sender && inc.partner !== XEN_ARGO_DOMID_ANY) continue;
    if (!(inc.bornAt < after && inc.endedAt > before)) continue;
    if (first === undefined) first = inc;
    else (candidates ??= [first]).push(inc);
  }
  if (candidates === undefined) return first;
  const tag = `${sender}:${lo}:${hi}`;
  return candidates.find((inc) => received().get(inc.id)?.includes(tag)) ?? first;
}
