/**
 * Model-based property tests of Argo rings (argo.md §4.1–§4.4, §5, §6, §8.3, §9): random sequences
 * of sends, receives, notifies, (re-/un-)registrations, failing re-registrations (Q3) and soft
 * resets by four domains over a handful of small unicast and wildcard rings (some on scattered
 * pages), checked after every step against a simple reference model written here from the spec;
 * plus focused properties for waiter lists (§6.3) and rx_ptr sanitisation (§5.2).
 * Seeds are fixed; set ARGO_PROP_STATS=1 to print what the runs exercised.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ADDR,
  ArgoError,
  ArgoGuest,
  ArgoRing,
  ERRNO,
  GFN,
  IOV,
  MAX_PENDING_PER_RING,
  REGISTER_RING,
  SEND_ADDR,
  VIRQ_ARGO,
  XEN_ARGO_DOMID_ANY,
  XEN_ARGO_OP_register_ring,
  XEN_ARGO_OP_sendv,
  XEN_ARGO_REGISTER_FLAG_FAIL_EXIST,
  XEN_ARGO_RING_EBUSY,
  XEN_ARGO_RING_EMPTY,
  XEN_ARGO_RING_EMSGSIZE,
  XEN_ARGO_RING_EXISTS,
  XEN_ARGO_RING_SHARED,
  XEN_ARGO_RING_SUFFICIENT,
  createHypervisor,
  platformOf,
  type Hypervisor,
} from '../../src/index.js';

// ---------------------------------------------------------------------------------------------
// Reference model (argo.md §5.3, §5.4, §6.1, §6.3)
// ---------------------------------------------------------------------------------------------

const DOMS = [1, 2, 3, 4] as const;
const ABSENT_DOMID = 9;
const BOGUS_PORT = 7;
const MAX_RING_LEN = 12_224; // 3 pages with the 64-byte header
const PAYLOAD_MAX = MAX_RING_LEN + 64;
const PAYLOAD_BUF = 5 * 4096;
const RINGS_MAX = 128;

const ru16 = (n: number): number => Math.ceil(n / 16) * 16;

/**
 * Hot-path assertions: a plain comparison, falling back to vitest's expect (for its diff) only on a
 * mismatch. Thousands of steps are checked per run, and `expect` is comparatively slow.
 */
function eq(actual: unknown, expected: unknown, what: string): void {
  if (actual === expected) return;
  if (typeof actual === 'object' && actual !== null && JSON.stringify(actual) === JSON.stringify(expected)) return;
  expect(actual, what).toEqual(expected);
}
function ok(cond: boolean, what: string): void {
  if (!cond) expect.fail(what);
}

/** What the runs exercised (so a property cannot pass vacuously). */
const stats = new Map<string, number>();
const bump = (what: string): void => void stats.set(what, (stats.get(what) ?? 0) + 1);

interface RingSpec {
  owner: number; // index into DOMS
  aport: number;
  partner: number; // index into DOMS, or -1 for the wildcard
  len: number;
  scatter: boolean;
}

interface Msg {
  payload: Uint8Array;
  source: number;
  srcPort: number;
  messageType: number;
}

interface MRing {
  spec: number;
  owner: number;
  aport: number;
  partner: number; // domid or XEN_ARGO_DOMID_ANY
  len: number;
  tx: number;
  rx: number;
  msgs: Msg[];
  waiters: Array<{ domid: number; length: number }>;
  handle: ArgoRing;
}

class Model {
  readonly rings = new Map<number, MRing>(); // registered rings by spec index
  readonly ringCount = new Map<number, number>(DOMS.map((d) => [d, 0]));
  /** Send-info records (owner, aport) kept in each partner's table (§4.1, Q2). */
  readonly sendInfo = new Map<number, Array<{ owner: number; aport: number }>>(DOMS.map((d) => [d, []]));
  virqs = new Set<number>();

  /** §6.1: exact (D, p, S) first, then (D, p, ANY). */
  lookup(owner: number, aport: number, sender: number): MRing | undefined {
    let wild: MRing | undefined;
    for (const r of this.rings.values()) {
      if (r.owner !== owner || r.aport !== aport) continue;
      if (r.partner === sender) return r;
      if (r.partner === XEN_ARGO_DOMID_ANY) wild = r;
    }
    return wild;
  }

  static freeSpace(r: MRing): number {
    return r.rx === r.tx ? r.len : (r.rx - r.tx + r.len) % r.len;
  }

  static payloadSpace(r: MRing): number {
    let d = r.rx - r.tx;
    if (d <= 0) d += r.len;
    return Math.max(0, d - 32);
  }

  /** §6.3 queue/update: 0 or -EBUSY. */
  static requeue(r: MRing, domid: number, length: number): number {
    const w = r.waiters.find((x) => x.domid === domid);
    if (w) {
      w.length = Math.max(w.length, length);
      return 0;
    }
    if (r.waiters.length >= MAX_PENDING_PER_RING) return -ERRNO.EBUSY;
    r.waiters.push({ domid, length });
    return 0;
  }

  /** §4.4 step 4 / §6.3 "Fire": the owner notifies; every eligible waiter is removed and signalled. */
  fire(owner: number): void {
    for (const r of this.rings.values()) {
      if (r.owner !== owner) continue;
      const space = Model.payloadSpace(r);
      if (space <= 0) continue;
      for (const w of r.waiters) {
        if (w.length <= space) {
          this.virqs.add(w.domid);
          bump('waiter fired');
        }
      }
      r.waiters = r.waiters.filter((w) => w.length > space);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

type SrcMode = 'any' | 'self' | 'other';

interface SendOp {
  k: 'send';
  from: number;
  /** Send as the target ring's partner (unicast) rather than as `from`: most sends then find a ring. */
  legit: boolean;
  target: number; // ring spec (mod count); -1 bogus port, -2 absent domain
  sizeMode: number;
  sizeX: number;
  niov: number;
  cutA: number;
  cutB: number;
  messageType: number;
  srcPort: number;
  srcMode: SrcMode;
  seed: number;
}
interface RecvOp {
  k: 'recv';
  ring: number;
  count: number;
  notify: boolean;
}
interface NotifyQuery {
  target: number; // ring spec; -1 bogus port, -2 absent domain
  mode: number;
  x: number;
  mms: number;
}
interface NotifyOp {
  k: 'notify';
  from: number;
  queries: NotifyQuery[];
}
interface UnregisterOp {
  k: 'unregister';
  ring: number;
}
interface RegisterOp {
  k: 'register';
  ring: number;
  resume: boolean;
}
/** A register_ring that must fail: a bad gfn (§4.1 step 14, Q3), FAIL_EXIST (step 12) or another len (13). */
interface BadRegisterOp {
  k: 'badRegister';
  ring: number;
  variant: number;
  which: number;
}
interface SoftResetOp {
  k: 'softReset';
  dom: number;
}
type Op = SendOp | RecvOp | NotifyOp | UnregisterOp | RegisterOp | SoftResetOp | BadRegisterOp;

const u32 = fc.integer({ min: 0, max: 0xffffffff });

const lenArb = fc.oneof(
  { weight: 5, arbitrary: fc.constantFrom(48, 64, 80, 96, 112, 128, 160, 208, 256) },
  { weight: 3, arbitrary: fc.integer({ min: 3, max: 64 }).map((n) => n * 16) },
  { weight: 2, arbitrary: fc.integer({ min: 65, max: MAX_RING_LEN / 16 }).map((n) => n * 16) },
);

const ringSpecArb: fc.Arbitrary<RingSpec> = fc.record({
  owner: fc.nat(3),
  aport: fc.integer({ min: 1, max: 2 }),
  partner: fc.oneof({ weight: 3, arbitrary: fc.nat(3) }, { weight: 2, arbitrary: fc.constant(-1) }),
  len: lenArb,
  scatter: fc.boolean(),
});

const targetArb = fc.oneof({ weight: 15, arbitrary: fc.nat(31) }, { weight: 1, arbitrary: fc.constantFrom(-1, -2) });

const sendArb: fc.Arbitrary<Op> = fc.record({
  k: fc.constant('send' as const),
  from: fc.nat(3),
  legit: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  target: targetArb,
  sizeMode: fc.nat(4),
  sizeX: fc.nat(1 << 20),
  niov: fc.integer({ min: 0, max: 3 }),
  cutA: fc.nat(1000),
  cutB: fc.nat(1000),
  messageType: u32,
  srcPort: u32,
  srcMode: fc.constantFrom<SrcMode>('any', 'any', 'any', 'any', 'any', 'self', 'self', 'self', 'self', 'other'),
  seed: u32,
});

const recvArb: fc.Arbitrary<Op> = fc.record({
  k: fc.constant('recv' as const),
  ring: fc.nat(31),
  count: fc.integer({ min: 0, max: 4 }),
  notify: fc.boolean(),
});

const notifyArb: fc.Arbitrary<Op> = fc.record({
  k: fc.constant('notify' as const),
  from: fc.nat(3),
  queries: fc.array(fc.record({ target: targetArb, mode: fc.nat(4), x: fc.nat(1 << 20), mms: u32 }), { maxLength: 3 }),
});

const unregisterArb: fc.Arbitrary<Op> = fc.record({ k: fc.constant('unregister' as const), ring: fc.nat(31) });
const registerArb: fc.Arbitrary<Op> = fc.record({ k: fc.constant('register' as const), ring: fc.nat(31), resume: fc.boolean() });
const softResetArb: fc.Arbitrary<Op> = fc.record({ k: fc.constant('softReset' as const), dom: fc.nat(3) });
const badRegisterArb: fc.Arbitrary<Op> = fc.record({
  k: fc.constant('badRegister' as const),
  ring: fc.nat(31),
  variant: fc.nat(2),
  which: fc.nat(7),
});

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: sendArb },
  { weight: 7, arbitrary: recvArb },
  { weight: 4, arbitrary: notifyArb },
  { weight: 1, arbitrary: unregisterArb },
  { weight: 1, arbitrary: registerArb },
  { weight: 1, arbitrary: softResetArb },
  { weight: 1, arbitrary: badRegisterArb },
);

const scenarioArb = fc.record({
  rings: fc.uniqueArray(ringSpecArb, {
    minLength: 1,
    maxLength: 6,
    selector: (r) => `${r.owner}:${r.aport}:${r.partner}`,
  }),
  ops: fc.array(opArb, { minLength: 1, maxLength: 120, size: 'max' }),
});

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

interface Dom {
  domid: number;
  guest: ArgoGuest;
  sendArea: number; // send_addr at +0, iovs at +64
  payloadArea: number;
}

function fillPayload(bytes: Uint8Array, seed: number): void {
  let x = seed | 0 || 0x9e3779b9;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
}

class Harness {
  readonly hv: Hypervisor;
  readonly model = new Model();
  readonly doms = new Map<number, Dom>();
  private msgCounter = 0;

  constructor(readonly specs: RingSpec[]) {
    this.hv = createHypervisor({ argo: { enabled: true, macPermissive: true }, maxDomains: 8, gfnArenaPages: 2048 });
    for (const domid of DOMS) {
      this.hv.createDomain({ domid, memoryBytes: 1 << 20 });
      const guest = new ArgoGuest(platformOf(this.hv, domid));
      this.doms.set(domid, {
        domid,
        guest,
        sendArea: guest.pages.allocateBytes(4096),
        payloadArea: guest.pages.allocateBytes(PAYLOAD_BUF),
      });
    }
    specs.forEach((_, i) => this.register(i, false));
    this.check();
  }

  close(): void {
    for (const d of this.doms.values()) d.guest.close();
  }

  partnerOf(spec: RingSpec): number {
    return spec.partner < 0 ? XEN_ARGO_DOMID_ANY : DOMS[spec.partner];
  }

  address(target: number): { domid: number; aport: number; spec?: RingSpec } {
    if (target === -1) return { domid: DOMS[0], aport: BOGUS_PORT };
    if (target === -2) return { domid: ABSENT_DOMID, aport: 1 };
    const spec = this.specs[target % this.specs.length];
    return { domid: DOMS[spec.owner], aport: spec.aport, spec };
  }

  run(op: Op): void {
    for (const d of DOMS) this.hv.clearVirq(d, VIRQ_ARGO);
    this.model.virqs = new Set();
    switch (op.k) {
      case 'send':
        this.send(op);
        break;
      case 'recv':
        this.recv(op);
        break;
      case 'notify':
        this.notify(op);
        break;
      case 'unregister':
        this.unregister(op.ring % this.specs.length);
        break;
      case 'register':
        this.register(op.ring % this.specs.length, op.resume);
        break;
      case 'softReset':
        this.softReset(DOMS[op.dom]);
        break;
      case 'badRegister':
        this.badRegister(op);
        break;
    }
    this.check();
  }

  // --- sendv ---------------------------------------------------------------------------------

  private send(op: SendOp): void {
    const dst = this.address(op.target);
    const from = op.legit && dst.spec && dst.spec.partner >= 0 ? DOMS[dst.spec.partner] : DOMS[op.from];
    const me = this.doms.get(from)!;
    const found = this.model.lookup(dst.domid, dst.aport, from);
    const hintLen = found?.len ?? dst.spec?.len ?? 64;
    let size: number;
    switch (op.sizeMode) {
      case 0:
        size = op.sizeX % 33;
        break;
      case 1: // around the largest message that can ever fit (len - 32)
        size = hintLen - 64 + (op.sizeX % 81);
        break;
      case 2:
        size = op.sizeX % (hintLen + 1);
        break;
      default: // around what fits right now: hits the EAGAIN boundary exactly
        size = (found ? Model.payloadSpace(found) : 16) - 16 + (op.sizeX % 33);
        break;
    }
    size = Math.max(0, Math.min(PAYLOAD_MAX, size));
    const niov = op.niov === 0 && size > 0 ? 1 : op.niov;
    // Split into niov pieces (zero-length pieces allowed), placed at odd gaps in the payload area.
    const cuts = [Math.floor((size * op.cutA) / 1000), Math.floor((size * op.cutB) / 1000)].sort((a, b) => a - b);
    const bounds = niov <= 1 ? [0, size] : niov === 2 ? [0, cuts[0], size] : [0, cuts[0], cuts[1], size];
    const payload = new Uint8Array(size);
    fillPayload(payload, op.seed ^ Math.imul(++this.msgCounter, 0x85ebca6b));
    const mem = me.guest.platform.memory;
    const iovs: Array<{ gpa: number; len: number }> = [];
    let at = me.payloadArea + 3;
    for (let i = 0; i < niov; i++) {
      const piece = payload.subarray(bounds[i], bounds[i + 1]);
      mem.write(at, piece);
      iovs.push({ gpa: at, len: piece.length });
      at += piece.length + 5 + i;
    }
    const v = mem.view;
    const sa = me.sendArea;
    const srcDomid =
      op.srcMode === 'any' ? XEN_ARGO_DOMID_ANY : op.srcMode === 'self' ? from : DOMS[(op.from + 1 + (op.seed & 1)) % 4];
    v.setUint32(sa + SEND_ADDR.src + ADDR.aport, op.srcPort, true);
    v.setUint16(sa + SEND_ADDR.src + ADDR.domain_id, srcDomid, true);
    v.setUint16(sa + SEND_ADDR.src + ADDR.pad, 0, true);
    v.setUint32(sa + SEND_ADDR.dst + ADDR.aport, dst.aport, true);
    v.setUint16(sa + SEND_ADDR.dst + ADDR.domain_id, dst.domid, true);
    v.setUint16(sa + SEND_ADDR.dst + ADDR.pad, 0, true);
    iovs.forEach((iov, i) => {
      const e = sa + 64 + i * IOV.size;
      v.setUint32(e + IOV.iov_hnd, iov.gpa, true);
      v.setUint32(e + IOV.iov_hnd + 4, 0, true);
      v.setUint32(e + IOV.iov_len, iov.len, true);
      v.setUint32(e + IOV.pad, 0, true);
    });
    const rc = this.hv.argoOp(from, XEN_ARGO_OP_sendv, sa, sa + 64, niov, op.messageType);

    // The reference (§4.3 steps 7, 8, 12, 16, 18, 20).
    let expected: number;
    if (srcDomid !== XEN_ARGO_DOMID_ANY && srcDomid !== from) expected = -ERRNO.EPERM;
    else if (!(DOMS as readonly number[]).includes(dst.domid)) expected = -ERRNO.ESRCH;
    else if (!found) expected = -ERRNO.ECONNREFUSED;
    else if (found.len <= 16 + ru16(size)) expected = -ERRNO.EMSGSIZE;
    else if (ru16(size) + 16 >= Model.freeSpace(found)) {
      const q = Model.requeue(found, from, size);
      expected = q !== 0 ? q : -ERRNO.EAGAIN;
    } else {
      expected = size;
      if (found.tx + 16 + size > found.len) bump('sendv wrapped');
      found.msgs.push({ payload, source: from, srcPort: op.srcPort, messageType: op.messageType });
      found.tx = (found.tx + 16 + ru16(size)) % found.len;
      this.model.virqs.add(found.owner);
    }
    eq(rc, expected, `sendv ${size} B from ${from} to (${dst.domid}, ${dst.aport}) src ${op.srcMode}`);
    bump(`sendv ${expected >= 0 ? 'ok' : errnoKey(expected)}`);
    if (expected >= 0 && niov > 1) bump('sendv multi-iov');
    if (expected >= 0 && found!.handle.gfns.length > 1 && !found!.handle.gfns.every((g, i) => g === found!.handle.gfns[0] + i)) {
      bump('sendv to scattered pages');
    }
  }

  // --- receive -------------------------------------------------------------------------------

  private recv(op: RecvOp): void {
    const r = this.model.rings.get(op.ring % this.specs.length);
    if (!r) return;
    for (let i = 0; i < op.count; i++) {
      const got = r.handle.recv();
      const want = r.msgs.shift();
      if (!want) {
        eq(got, null, 'an empty ring yields no message');
        break;
      }
      ok(got !== null, 'a sent message is visible to the receiver');
      // §5.4 guarantees: send order, intact bytes, authentic source, type and port.
      eq(got!.source, { domid: want.source, aport: want.srcPort }, 'message source');
      eq(got!.messageType, want.messageType, 'message_type');
      eq(got!.payload.length, want.payload.length, 'payload length');
      ok(Buffer.from(got!.payload).equals(Buffer.from(want.payload)), 'payload bytes intact');
      r.rx = (r.rx + ru16(16 + want.payload.length)) % r.len;
    }
    eq(r.handle.rxPtr, r.rx, 'rx_ptr after consuming');
    eq(r.handle.corrupt, 0, 'no corrupt message headers');
    if (op.notify) {
      this.doms.get(r.owner)!.guest.notify();
      this.model.fire(r.owner);
    }
  }

  // --- notify --------------------------------------------------------------------------------

  private notify(op: NotifyOp): void {
    const caller = DOMS[op.from];
    const guest = this.doms.get(caller)!.guest;
    const resolved = op.queries.map((q) => {
      const addr = this.address(q.target);
      const ring = this.model.lookup(addr.domid, addr.aport, caller);
      const maxSize = (ring?.len ?? addr.spec?.len ?? 64) - 32;
      let spaceRequired: number;
      switch (q.mode) {
        case 0:
          spaceRequired = 0;
          break;
        case 1: // around the space available now
          spaceRequired = Math.max(0, (ring ? Model.payloadSpace(ring) : 0) - 16 + (q.x % 33));
          break;
        case 2: // around max_message_size
          spaceRequired = Math.max(0, maxSize - 16 + (q.x % 33));
          break;
        case 3:
          spaceRequired = q.x % (maxSize + 1);
          break;
        default:
          spaceRequired = q.x % 2 === 0 ? 0xffffffff : q.x;
          break;
      }
      return { addr, spaceRequired, mms: q.mms };
    });
    const infos = guest.notify(
      resolved.map((q) => ({ ring: { domid: q.addr.domid, aport: q.addr.aport }, spaceRequired: q.spaceRequired, maxMessageSize: q.mms })),
    );
    // Reference: check pending on the caller's own rings first, then each entry in order (§4.4).
    this.model.fire(caller);
    resolved.forEach((q, i) => {
      const r = this.model.lookup(q.addr.domid, q.addr.aport, caller);
      let flags = 0;
      let mms = q.mms; // Q4: echoed when there is no ring
      if (r) {
        mms = r.len - 32;
        const space = Model.payloadSpace(r);
        flags = XEN_ARGO_RING_EXISTS;
        if (r.partner === XEN_ARGO_DOMID_ANY) flags |= XEN_ARGO_RING_SHARED;
        if (q.spaceRequired > mms) flags |= XEN_ARGO_RING_EMSGSIZE;
        else if (space >= q.spaceRequired) {
          r.waiters = r.waiters.filter((w) => w.domid !== caller);
          flags |= XEN_ARGO_RING_SUFFICIENT;
        } else if (Model.requeue(r, caller, q.spaceRequired) !== 0) flags |= XEN_ARGO_RING_EBUSY;
        if (space === mms) flags |= XEN_ARGO_RING_EMPTY;
      }
      const what = `notify entry ${i} from ${caller} about (${q.addr.domid}, ${q.addr.aport}) space_required ${q.spaceRequired}`;
      eq({ flags: infos[i].flags, maxMessageSize: infos[i].maxMessageSize }, { flags, maxMessageSize: mms }, what);
      bump(`notify flags 0x${flags.toString(16)}`);
    });
  }

  // --- (un)registration ----------------------------------------------------------------------

  private unregister(specIndex: number): void {
    const r = this.model.rings.get(specIndex);
    if (!r) return;
    this.doms.get(r.owner)!.guest.unregisterRing(r.handle); // throws ArgoError on failure
    this.model.rings.delete(specIndex);
    this.model.ringCount.set(r.owner, this.model.ringCount.get(r.owner)! - 1);
    if (r.partner !== XEN_ARGO_DOMID_ANY) {
      const list = this.model.sendInfo.get(r.partner)!;
      const i = list.findIndex((s) => s.owner === r.owner && s.aport === r.aport);
      if (i >= 0) list.splice(i, 1);
    }
  }

  /** A fresh registration, a re-registration in new zeroed pages, or a resume in the same pages (§8.5). */
  private register(specIndex: number, resume: boolean): void {
    const spec = this.specs[specIndex];
    const owner = DOMS[spec.owner];
    const partner = this.partnerOf(spec);
    const guest = this.doms.get(owner)!.guest;
    const existing = this.model.rings.get(specIndex);
    const count = this.model.ringCount.get(owner)!;
    const attempt = (): number => {
      try {
        if (existing && resume) guest.reregister(existing.handle);
        else {
          const handle = guest.registerRing({ aport: spec.aport, partner, len: spec.len, scatter: spec.scatter });
          if (existing) {
            // New zeroed pages: tx_ptr 0 is valid and kept, the ring reads as empty; waiters stay (§4.1).
            existing.handle = handle;
            existing.tx = 0;
            existing.rx = 0;
            existing.msgs = [];
          } else {
            this.model.rings.set(specIndex, {
              spec: specIndex,
              owner,
              aport: spec.aport,
              partner,
              len: spec.len,
              tx: 0,
              rx: 0,
              msgs: [],
              waiters: [],
              handle,
            });
          }
        }
        return 0;
      } catch (e) {
        if (e instanceof ArgoError) return -e.errno;
        throw e;
      }
    };
    const rc = attempt();
    if (count >= RINGS_MAX) {
      expect(rc, 'Q1: ring quota exhausted').toBe(-ERRNO.ENOSPC);
      return;
    }
    expect(rc, `register (${owner}, ${spec.aport}, ${partner}) len ${spec.len}`).toBe(0);
    this.model.ringCount.set(owner, count + 1); // Q1: re-registrations count too
    if (partner !== XEN_ARGO_DOMID_ANY) this.model.sendInfo.get(partner)!.push({ owner, aport: spec.aport }); // Q2
  }

  private badRegister(op: BadRegisterOp): void {
    const specIndex = op.ring % this.specs.length;
    const spec = this.specs[specIndex];
    const owner = DOMS[spec.owner];
    const partner = this.partnerOf(spec);
    const existing = this.model.rings.get(specIndex);
    const variant = existing ? op.variant : 0; // without a ring, only the bad-gfn case must fail
    const me = this.doms.get(owner)!;
    const mem = me.guest.platform.memory;
    const len = variant === 2 ? (spec.len === 48 ? 64 : spec.len - 16) : spec.len;
    const npage = Math.ceil((len + 64) / 4096);
    const reg = me.sendArea + 1024;
    const list = me.sendArea + 2048;
    mem.view.setUint32(reg + REGISTER_RING.aport, spec.aport, true);
    mem.view.setUint16(reg + REGISTER_RING.partner_id, partner, true);
    mem.view.setUint16(reg + REGISTER_RING.pad, 0, true);
    mem.view.setUint32(reg + REGISTER_RING.len, len, true);
    const gfns = existing ? [...existing.handle.gfns] : Array.from({ length: npage }, () => 1);
    while (gfns.length < npage) gfns.push(1);
    if (variant === 0) gfns[op.which % npage] = mem.pages + op.which; // not RAM of the caller
    gfns.slice(0, npage).forEach((g, i) => {
      mem.view.setUint32(list + i * GFN.size, g, true);
      mem.view.setUint32(list + i * GFN.size + 4, 0, true);
    });
    const flags = variant === 1 ? XEN_ARGO_REGISTER_FLAG_FAIL_EXIST : 0;
    const rc = this.hv.argoOp(owner, XEN_ARGO_OP_register_ring, reg, list, npage, flags);
    const count = this.model.ringCount.get(owner)!;
    if (count >= RINGS_MAX) return eq(rc, -ERRNO.ENOSPC, 'Q1: ENOSPC precedes every other register check');
    eq(rc, variant === 0 ? -ERRNO.EINVAL : -ERRNO.EEXIST, `bad register variant ${variant} of (${owner}, ${spec.aport}, ${partner})`);
    if (variant === 0 && existing) {
      // Q3: the existing ring is deleted, waiters dropped unsignalled, ring_count and send-info untouched.
      this.model.rings.delete(specIndex);
      bump('Q3 deleted a ring');
    }
  }

  // --- soft reset (§8.3 = the three teardown steps of §8.2, then fresh state) ------------------

  private softReset(domid: number): void {
    this.hv.softResetDomain(domid);
    const m = this.model;
    for (const [i, r] of [...m.rings]) {
      if (r.owner === domid) {
        m.rings.delete(i); // step 1: own rings, waiters dropped unsignalled
      } else if (r.partner === domid) {
        m.rings.delete(i); // step 2: rings others registered with it as the single partner
        m.ringCount.set(r.owner, m.ringCount.get(r.owner)! - 1);
        bump('soft reset removed a partner ring');
      } else if (r.partner === XEN_ARGO_DOMID_ANY) {
        r.waiters = r.waiters.filter((w) => w.domid !== domid); // step 3: its wildcard waits
      }
    }
    m.ringCount.set(domid, 0);
    m.sendInfo.set(domid, []); // its send table is drained; records it left in others' tables stay (stale)
  }

  // --- invariants ----------------------------------------------------------------------------

  check(): void {
    const m = this.model;
    for (const domid of DOMS) {
      const st = this.hv.argoState(domid)!;
      const mine = [...m.rings.values()].filter((r) => r.owner === domid);
      eq(st.rings.length, mine.length, `rings of ${domid}`);
      eq(st.ringCount, m.ringCount.get(domid), `ring_count of ${domid}`);
      const key = (s: { owner: number; aport: number }) => `${s.owner}:${s.aport}`;
      eq(st.sendInfo.map(key).sort(), m.sendInfo.get(domid)!.map(key).sort(), `send-info of ${domid}`);
      for (const r of mine) {
        const hr = st.rings.find((x) => x.aport === r.aport && x.partner === r.partner);
        ok(hr !== undefined, `ring (${domid}, ${r.aport}, ${r.partner}) registered`);
        const what = `ring (${domid}, ${r.aport}, ${r.partner}) len ${r.len}`;
        eq(hr!.len, r.len, `${what}: len`);
        // (c) Xen's cached tx == header tx_ptr == reference, 16-aligned, < len; rx as the guest left it.
        eq(hr!.tx, r.tx, `${what}: cached tx`);
        eq(r.handle.txPtr, hr!.tx, `${what}: header tx_ptr`);
        ok(hr!.tx % 16 === 0 && hr!.tx < r.len, `${what}: tx ${hr!.tx} 16-aligned and < len`);
        eq(hr!.rx, r.rx, `${what}: rx`);
        // (a) never overfilled: the unconsumed messages occupy exactly tx - rx and < len.
        const used = r.msgs.reduce((s, x) => s + ru16(16 + x.payload.length), 0);
        eq(used, (r.tx - r.rx + r.len) % r.len, `${what}: occupancy`);
        ok(used < r.len, `${what}: ${used} bytes used, not < len`);
        // Waiters: at most one per domain, max of requests, at most 32.
        ok(hr!.waiters.length <= MAX_PENDING_PER_RING, `${what}: at most 32 waiters`);
        eq(new Set(hr!.waiters.map((w) => w.domid)).size, hr!.waiters.length, `${what}: one waiter entry per domain`);
        const sorted = (ws: Array<{ domid: number; length: number }>) => [...ws].sort((a, b) => a.domid - b.domid);
        eq(sorted(hr!.waiters), sorted(r.waiters), `${what}: waiters`);
      }
      // VIRQ_ARGO raised exactly on the send's destination and on the woken waiters.
      eq(this.hv.virqPending(domid, VIRQ_ARGO), m.virqs.has(domid), `VIRQ_ARGO pending on ${domid}`);
    }
  }
}

function errnoKey(rc: number): string {
  return Object.entries(ERRNO).find(([, v]) => v === -rc)?.[0] ?? String(rc);
}

function runScenario(s: { rings: RingSpec[]; ops: Op[] }): void {
  const h = new Harness(s.rings);
  try {
    for (const op of s.ops) h.run(op);
  } finally {
    h.close();
  }
}

// ---------------------------------------------------------------------------------------------

describe('Argo ring properties against a reference model (argo.md §4.3, §4.4, §5, §6)', () => {
  it('random send / receive / notify / (re)register sequences keep every ring invariant', () => {
    stats.clear();
    fc.assert(fc.property(scenarioArb, runScenario), { seed: 0x0a260001, numRuns: 120 });
    if (process.env.ARGO_PROP_STATS) console.log([...stats].sort());
    for (const what of ['sendv ok', 'sendv EAGAIN', 'sendv EMSGSIZE', 'sendv ECONNREFUSED', 'sendv EPERM', 'sendv ESRCH']) {
      expect(stats.get(what) ?? 0, `exercised: ${what}`).toBeGreaterThan(10);
    }
    for (const what of ['sendv wrapped', 'sendv multi-iov', 'sendv to scattered pages', 'waiter fired']) {
      expect(stats.get(what) ?? 0, `exercised: ${what}`).toBeGreaterThan(10);
    }
  });

  it('heavy wrap-around: one or two tiny rings, many sends and partial consumes', () => {
    const tinyRings = fc.uniqueArray(
      fc.record({
        owner: fc.nat(1),
        aport: fc.constant(1),
        partner: fc.constantFrom(-1, 2, 3),
        len: fc.constantFrom(48, 64, 80, 96, 112, 128),
        scatter: fc.boolean(),
      }),
      { minLength: 1, maxLength: 2, selector: (r) => `${r.owner}:${r.partner}` },
    );
    const ops = fc.array(
      fc.oneof(
        { weight: 6, arbitrary: sendArb.map((o) => ({ ...(o as SendOp), from: 2 + ((o as SendOp).from & 1), sizeMode: (o as SendOp).sizeMode % 2 === 0 ? 0 : 3 })) },
        { weight: 5, arbitrary: recvArb },
        { weight: 2, arbitrary: notifyArb },
      ),
      { minLength: 20, maxLength: 200, size: 'max' },
    );
    stats.clear();
    fc.assert(fc.property(fc.record({ rings: tinyRings, ops }), runScenario), { seed: 0x0a260002, numRuns: 80 });
    if (process.env.ARGO_PROP_STATS) console.log([...stats].sort());
    expect(stats.get('sendv wrapped') ?? 0).toBeGreaterThan(250);
    expect(stats.get('sendv EAGAIN') ?? 0).toBeGreaterThan(500);
    expect(stats.get('waiter fired') ?? 0).toBeGreaterThan(50);
  });

  it('waiter lists: one entry per domain holding the max request, at most 32, EBUSY beyond (§6.3)', () => {
    const reqArb = fc.record({ dom: fc.nat(35), len: fc.nat(224), viaNotify: fc.boolean() });
    fc.assert(
      fc.property(fc.array(reqArb, { minLength: 60, maxLength: 160, size: 'max' }), (reqs) => {
        const hv = createHypervisor({ argo: { enabled: true, macPermissive: true }, maxDomains: 40 });
        const OWNER = 40;
        const guests = new Map<number, ArgoGuest>();
        for (const d of [OWNER, ...Array.from({ length: 36 }, (_, i) => i + 1)]) {
          hv.createDomain({ domid: d, memoryBytes: 64 * 1024 });
          guests.set(d, new ArgoGuest(platformOf(hv, d)));
        }
        try {
          const owner = guests.get(OWNER)!;
          const ring = owner.registerRing({ aport: 5, partner: XEN_ARGO_DOMID_ANY, len: 256 });
          const dst = { domid: OWNER, aport: 5 };
          expect(guests.get(1)!.sendNow(dst, new Uint8Array(224))).toBe(224); // payload space now 0
          const model: Array<{ domid: number; length: number }> = [];
          for (const q of reqs) {
            const d = q.dom + 1;
            const g = guests.get(d)!;
            const mine = model.find((w) => w.domid === d);
            const full = !mine && model.length >= MAX_PENDING_PER_RING;
            if (q.viaNotify) {
              const info = g.query(dst, q.len);
              let flags = XEN_ARGO_RING_EXISTS | XEN_ARGO_RING_SHARED;
              if (q.len === 0) {
                flags |= XEN_ARGO_RING_SUFFICIENT; // space 0 >= 0: cancels this domain's wait
                if (mine) model.splice(model.indexOf(mine), 1);
              } else if (mine) mine.length = Math.max(mine.length, q.len);
              else if (full) flags |= XEN_ARGO_RING_EBUSY;
              else model.push({ domid: d, length: q.len });
              eq(info.flags, flags, `notify flags for ${d} wanting ${q.len}`);
            } else {
              const rc = g.sendvRaw(dst, q.len ? [{ gpa: 4096 * 4, len: q.len }] : []);
              if (mine) mine.length = Math.max(mine.length, q.len);
              else if (!full) model.push({ domid: d, length: q.len });
              eq(rc, full ? -ERRNO.EBUSY : -ERRNO.EAGAIN, `sendv ${q.len} B from ${d}`);
            }
            const waiters = hv.argoState(OWNER)!.rings[0].waiters;
            eq([...waiters].sort((x, y) => x.domid - y.domid), [...model].sort((x, y) => x.domid - y.domid), 'waiters');
            if (full) bump('waiter list full');
          }
          // The owner consumes everything and notifies: every waiter is removed and signalled.
          for (const d of guests.keys()) hv.clearVirq(d, VIRQ_ARGO);
          expect(owner.consume(ring).length).toBe(1);
          expect(hv.argoState(OWNER)!.rings[0].waiters).toEqual([]);
          const signalled = [...guests.keys()].filter((d) => hv.virqPending(d, VIRQ_ARGO)).sort((x, y) => x - y);
          expect(signalled).toEqual(model.map((w) => w.domid).sort((x, y) => x - y));
        } finally {
          for (const g of guests.values()) g.close();
        }
      }),
      { seed: 0x0a260003, numRuns: 25 },
    );
    expect(stats.get('waiter list full') ?? 0).toBeGreaterThan(20);
  });

  it('rx_ptr scribbled by the receiver is sanitised: ROUNDUP16, 0 when >= len (§5.2, §5.3)', () => {
    const rxArb = fc.oneof(
      fc.nat(5000),
      u32,
      fc.constantFrom(0xfffffff0, 0xfffffff1, 0xffffffff, 0x7fffffff, 0x80000000, 47, 48, 4031, 4032, 4047),
    );
    const stepArb = fc.oneof(
      { weight: 4, arbitrary: fc.record({ k: fc.constant('send' as const), x: fc.nat(1 << 16) }) },
      { weight: 2, arbitrary: fc.record({ k: fc.constant('rx' as const), v: rxArb }) },
      { weight: 2, arbitrary: fc.record({ k: fc.constant('query' as const), x: fc.nat(1 << 16) }) },
    );
    fc.assert(
      fc.property(fc.constantFrom(48, 64, 96, 128, 256, 1008, 4032, 4048), fc.array(stepArb, { minLength: 1, maxLength: 60, size: 'max' }), (len, steps) => {
        const hv = createHypervisor({ argo: { enabled: true }, maxDomains: 4 });
        hv.createDomain({ domid: 1, memoryBytes: 256 * 1024 });
        hv.createDomain({ domid: 2, memoryBytes: 256 * 1024 });
        const a = new ArgoGuest(platformOf(hv, 1));
        const b = new ArgoGuest(platformOf(hv, 2));
        try {
          const ring = b.registerRing({ aport: 1, partner: 1, len, scatter: len > 4032 });
          const dst = { domid: 2, aport: 1 };
          const src = a.pages.allocateBytes(8192);
          let tx = 0;
          let rxRaw = 0;
          const rx = (): number => {
            let r = rxRaw + 15 - ((rxRaw + 15) % 16);
            if (r >= 0x1_0000_0000) r -= 0x1_0000_0000; // 32-bit wrap of ROUNDUP
            return r >= len ? 0 : r;
          };
          for (const st of steps) {
            if (st.k === 'rx') {
              ring.rxPtr = st.v;
              rxRaw = st.v >>> 0;
              continue;
            }
            const r = rx();
            if (st.k === 'send') {
              const size = st.x % (len + 16);
              const rc = a.sendvRaw(dst, [{ gpa: src, len: size }]);
              const sp = r === tx ? len : (r - tx + len) % len;
              let want: number;
              if (len <= 16 + ru16(size)) want = -ERRNO.EMSGSIZE;
              else if (ru16(size) + 16 >= sp) want = -ERRNO.EAGAIN;
              else {
                want = size;
                tx = (tx + 16 + ru16(size)) % len;
              }
              eq(rc, want, `len ${len} rx_ptr ${rxRaw} (rx ${r}) tx ${tx}: send ${size}`);
              eq(hv.argoState(2)!.rings[0].tx, tx, 'cached tx');
              eq(ring.txPtr, tx, 'header tx_ptr');
            } else {
              const req = st.x % (len + 16);
              let d = r - tx;
              if (d <= 0) d += len;
              const space = Math.max(0, d - 32);
              let flags = XEN_ARGO_RING_EXISTS;
              if (req > len - 32) flags |= XEN_ARGO_RING_EMSGSIZE;
              else if (space >= req) flags |= XEN_ARGO_RING_SUFFICIENT;
              if (space === len - 32) flags |= XEN_ARGO_RING_EMPTY;
              const info = a.query(dst, req);
              eq({ flags: info.flags, mms: info.maxMessageSize }, { flags, mms: len - 32 }, `len ${len} rx_ptr ${rxRaw} tx ${tx}: query ${req}`);
            }
          }
        } finally {
          a.close();
          b.close();
        }
      }),
      { seed: 0x0a260004, numRuns: 150 },
    );
  });

  it('a ring exactly full by the one-free-slot rule takes nothing more until consumed (§5.3)', () => {
    const h = new Harness([{ owner: 0, aport: 1, partner: 1, len: 96, scatter: false }]);
    try {
      const send = (size: number, seed: number) =>
        h.run({ k: 'send', from: 1, legit: true, target: 0, sizeMode: 0, sizeX: size, niov: 1, cutA: 0, cutB: 0, messageType: 1, srcPort: 2, srcMode: 'any', seed });
      send(32, 1); // 48 bytes used, tx 48
      send(16, 2); // 32 more, tx 80: 16 bytes free, the always-free slot
      expect(h.hv.argoState(1)!.rings[0].tx).toBe(80);
      send(0, 3); // 16 + 0 >= 16 free: EAGAIN
      expect(h.hv.argoState(1)!.rings[0].waiters).toEqual([{ domid: 2, length: 0 }]);
      h.run({ k: 'recv', ring: 0, count: 1, notify: true }); // rx 48: the waiter is woken
      expect(h.hv.argoState(1)!.rings[0].waiters).toEqual([]);
      send(32, 4); // wraps: header [80,96), payload [0,32)
      h.run({ k: 'recv', ring: 0, count: 3, notify: false });
    } finally {
      h.close();
    }
  });
});
