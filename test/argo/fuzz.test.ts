/**
 * Bad-input fuzz of the Argo hypercall (hypercall-api.md "The hypercall", argo.md §3–§4, §8):
 * thousands of seeded random argument tuples and guest-memory contents, with ring headers corrupted
 * by their guests between calls and the occasional soft reset or domain death. argoOp must never
 * throw and must only ever answer 0, a byte count or -errno; structural invariants must hold after
 * every call; and afterwards the hypervisor must still work and tear down cleanly.
 * Where the spec pins an answer down whatever the memory held, it is checked exactly: EINVAL for
 * arg3/arg4 beyond 32 bits, EOPNOTSUPP for unknown commands, sendv's byte count, the landing ring
 * (§6.1) and authentic message header (§5.4), tx_ptr initialisation (§4.1), VIRQs only on success
 * (§6.2), nothing published by a failed send, a waiter queued on EAGAIN (§6.3).
 * Set ARGO_FUZZ_STATS=1 to print the outcome counts.
 */
import { describe, expect, it } from 'vitest';
import {
  ADDR,
  ArgoGuest,
  ERRNO,
  GFN,
  IOV,
  MAX_ARGO_MESSAGE_SIZE,
  MAX_PENDING_PER_RING,
  MAX_RINGS_PER_DOMAIN,
  REGISTER_RING,
  RING_DATA,
  RING_DATA_ENT,
  RING_HEADER,
  SEND_ADDR,
  UNREGISTER_RING,
  VIRQ_ARGO,
  XEN_ARGO_DOMID_ANY,
  XEN_ARGO_OP_notify,
  XEN_ARGO_OP_register_ring,
  XEN_ARGO_OP_sendv,
  XEN_ARGO_OP_unregister_ring,
  XEN_ARGO_RING_EXISTS,
  XEN_ARGO_RING_SUFFICIENT,
  createHypervisor,
  npagesRing,
  platformOf,
  type ArgoRingState,
  type Hypervisor,
} from '../../src/index.js';
import { A, G, R } from '../../src/argo/tables.js';
import { brlockHolders } from '../../src/sync/brlock.js';

// ---------------------------------------------------------------------------------------------
// Seeded PRNG (xorshift128)
// ---------------------------------------------------------------------------------------------

class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = seed | 0 || 1;
    this.b = 0x6c078965;
    this.c = 0x9e3779b9;
    this.d = 0x85ebca6b;
    for (let i = 0; i < 16; i++) this.u32();
  }

  u32(): number {
    let t = this.d;
    const s = this.a;
    this.d = this.c;
    this.c = this.b;
    this.b = s;
    t ^= t << 11;
    t ^= t >>> 8;
    this.a = (t ^ s ^ (s >>> 19)) | 0;
    return this.a >>> 0;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  /** Calls one of the weighted alternatives. */
  weighted<T>(alternatives: ReadonlyArray<readonly [number, () => T]>): T {
    const total = alternatives.reduce((s, [w]) => s + w, 0);
    let x = this.int(total);
    for (const [w, f] of alternatives) {
      if (x < w) return f();
      x -= w;
    }
    return alternatives[alternatives.length - 1][1]();
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// Setup and helpers
// ---------------------------------------------------------------------------------------------

const FUZZ_DOMS = [0, 1, 2, 3] as const;
const MEM_PAGES = 64;
const MEM = MEM_PAGES * 4096;
const SCRATCH_PAGES = 8; // gfn 1..7: where most argument structures are put
const ERRNO_VALUES = new Set<number>(Object.values(ERRNO));
const KNOWN_CMDS = new Set([XEN_ARGO_OP_register_ring, XEN_ARGO_OP_unregister_ring, XEN_ARGO_OP_sendv, XEN_ARGO_OP_notify]);

const isU32 = (x: number): boolean => Number.isInteger(x) && x >= 0 && x <= 0xffffffff;

/** The hypercall contract: 0, a byte count no larger than a message can be, or -errno. */
function validResult(rc: unknown): boolean {
  if (typeof rc !== 'number' || !Number.isInteger(rc)) return false;
  return rc >= 0 ? rc <= MAX_ARGO_MESSAGE_SIZE : ERRNO_VALUES.has(-rc);
}

/** Writes `bytes` at `gpa`, clipped to guest RAM (guest-side writes near the end of memory). */
function put(hv: Hypervisor, domid: number, gpa: number, bytes: Uint8Array): void {
  const mem = hv.domain(domid)!.memory;
  if (!Number.isSafeInteger(gpa) || gpa <= 0 || gpa >= mem.bytes) return;
  mem.write(gpa, bytes.subarray(0, Math.min(bytes.length, mem.bytes - gpa)));
}

/** A little-endian struct builder. */
function struct(size: number, fill: (v: DataView) => void): Uint8Array {
  const out = new Uint8Array(size);
  fill(new DataView(out.buffer));
  return out;
}

function setU64(v: DataView, at: number, x: number): void {
  v.setUint32(at, x >>> 0, true);
  v.setUint32(at + 4, Math.floor(x / 0x1_0000_0000) >>> 0, true);
}

type Snapshot =
  | { kind: 'none' }
  | { kind: 'register'; aport: number; partner: number; len: number; hdrRx: number; hdrTx: number }
  | { kind: 'unregister'; aport: number; partner: number }
  | { kind: 'sendv'; srcPort: number; dstDomid: number; dstPort: number; total?: number; tx: Map<string, number> };

interface Outcome {
  calls: number;
  byCmd: Map<string, number>;
}

class Fuzzer {
  readonly hv: Hypervisor;
  readonly rng: Rng;
  readonly failures: string[] = [];
  readonly outcome: Outcome = { calls: 0, byCmd: new Map() };
  /** domid → step at which it is reaped (and re-created). */
  private readonly dying = new Map<number, number>();
  private step = 0;

  constructor(readonly seed: number) {
    this.rng = new Rng(seed);
    this.hv = createHypervisor({ argo: { enabled: true, macPermissive: true }, maxDomains: 16 });
    for (const d of FUZZ_DOMS) this.create(d);
  }

  private create(domid: number): void {
    this.hv.createDomain({ domid, memoryBytes: MEM });
    this.hv.bindVirq(domid, VIRQ_ARGO, 0);
  }

  private note(what: string): void {
    this.outcome.byCmd.set(what, (this.outcome.byCmd.get(what) ?? 0) + 1);
  }

  private fail(what: string): void {
    if (this.failures.length < 20) this.failures.push(`seed ${this.seed} step ${this.step}: ${what}`);
  }

  // --- argument generators -------------------------------------------------------------------

  /** A guest handle: NULL, inside RAM (mostly the scratch pages), near the end, beyond, or nonsense. */
  gpa(): number {
    const r = this.rng;
    return r.weighted<number>([
      [1, () => 0],
      [6, () => 4096 + r.int((SCRATCH_PAGES - 1) * 4096)],
      [4, () => 4096 * (1 + r.int(SCRATCH_PAGES - 1)) + 16 * r.int(64)],
      [2, () => r.int(MEM)],
      [2, () => MEM - 1 - r.int(64)],
      [1, () => r.pick([MEM, MEM + r.int(3 * 4096), 2 ** 32, 2 ** 32 + 4096 + r.int(MEM), 2 ** 31])],
      [1, () => r.pick([-1, -4096, -1 - r.int(1 << 20), -(2 ** 40)])],
      [1, () => r.pick([2 ** 40, 2 ** 53, 2 ** 53 + 2, Number.MAX_SAFE_INTEGER, 2 ** 64])],
      [1, () => r.pick([4096.5, 0.001, 8192.25, NaN, Infinity, -Infinity, -0.5])],
    ]);
  }

  /** A handle for a plausible call: mostly a good scratch address, else anything `gpa` gives. */
  goodGpa(): number {
    return this.rng.chance(0.8) ? 4096 * (1 + this.rng.int(SCRATCH_PAGES - 1)) + 8 * this.rng.int(256) : this.gpa();
  }

  /** An integer argument (arg3/arg4). */
  num(): number {
    const r = this.rng;
    return r.weighted<number>([
      [4, () => 0],
      [4, () => 1 + r.int(10)],
      [1, () => 0xffffffff],
      [1, () => 2 ** 32],
      [1, () => 2 ** 53],
      [1, () => -1],
      [1, () => NaN],
      [1, () => r.u32()],
      [1, () => r.pick([1.5, 2 ** 31, 4096, 4097, 257, 256, Infinity])],
    ]);
  }

  cmd(): number {
    const r = this.rng;
    return r.weighted<number>([
      [6, () => XEN_ARGO_OP_register_ring],
      [3, () => XEN_ARGO_OP_unregister_ring],
      [14, () => XEN_ARGO_OP_sendv],
      [7, () => XEN_ARGO_OP_notify],
      [4, () => r.int(11)],
      [1, () => r.pick([-1, -3, 2 ** 31, 2 ** 32 + 3, 0xffffffff, NaN, 3.5, Infinity, 1e9])],
    ]);
  }

  private resolvable(): number[] {
    return FUZZ_DOMS.filter((d) => this.hv.domain(d) !== undefined);
  }

  /** Every registered ring, read once per step (argument generation does not change the registry). */
  private ringsNow: Array<ArgoRingState & { owner: number }> | undefined;

  private allRings(): Array<ArgoRingState & { owner: number }> {
    this.ringsNow ??= this.resolvable().flatMap((d) => (this.hv.argoState(d)?.rings ?? []).map((x) => ({ ...x, owner: d })));
    return this.ringsNow;
  }

  /** A registered ring anywhere; with `sender`, preferably one that sender may send to. */
  private anyRing(sender?: number): (ArgoRingState & { owner: number }) | undefined {
    const all = this.allRings();
    const usable = sender === undefined ? [] : all.filter((x) => x.wildcard || x.partner === sender);
    if (usable.length && this.rng.chance(0.7)) return this.rng.pick(usable);
    return all.length ? this.rng.pick(all) : undefined;
  }

  private domidArg(caller: number): number {
    return this.rng.weighted<number>([
      [6, () => this.rng.pick(FUZZ_DOMS)],
      [2, () => XEN_ARGO_DOMID_ANY],
      [1, () => caller],
      [1, () => this.rng.pick([9, 0x7ff0, 0x7ff5, 0xffff, this.rng.int(0x10000)])],
    ]);
  }

  private aportArg(): number {
    return this.rng.weighted<number>([
      [6, () => 1 + this.rng.int(3)],
      [1, () => this.rng.u32()],
      [1, () => this.rng.pick([0, 0xffffffff])],
    ]);
  }

  // --- per-command argument tuples with plausible memory contents ----------------------------

  private registerArgs(caller: number): number[] {
    const r = this.rng;
    const len = r.weighted<number>([
      [6, () => r.pick([48, 64, 96, 128, 256, 1008, 4032])],
      [3, () => 16 * (3 + r.int(3 * 256))],
      [1, () => r.pick([4048, 8128, 0x1000000, 0xffffc0, 100, 32, 0, 47, 49])],
      [1, () => r.u32()],
    ]);
    const a1 = this.goodGpa();
    put(this.hv, caller, a1, struct(REGISTER_RING.size, (v) => {
      v.setUint32(REGISTER_RING.aport, this.aportArg(), true);
      v.setUint16(REGISTER_RING.partner_id, this.domidArg(caller), true);
      v.setUint16(REGISTER_RING.pad, r.chance(0.9) ? 0 : 1 + r.int(0xffff), true);
      v.setUint32(REGISTER_RING.len, len, true);
    }));
    const correct = npagesRing(len);
    const npage = r.chance(0.7) ? correct : this.num();
    const a2 = this.goodGpa();
    if (isU32(npage) && npage > 0 && npage <= 4096) {
      const base = SCRATCH_PAGES + r.int(Math.max(1, MEM_PAGES - SCRATCH_PAGES - npage));
      put(this.hv, caller, a2, struct(npage * GFN.size, (v) => {
        for (let i = 0; i < npage; i++) {
          const gfn = r.weighted<number>([
            [12, () => (r.chance(0.8) ? base + i : r.int(MEM_PAGES))],
            [1, () => MEM_PAGES + r.int(16)],
            [1, () => r.pick([2 ** 32, 2 ** 32 + 3, 2 ** 40, 0xffffffff])],
          ]);
          setU64(v, i * GFN.size, gfn);
        }
      }));
    }
    const flags = r.weighted<number>([
      [6, () => 0],
      [2, () => 1],
      [1, () => r.pick([2, 3, 0x80000000])],
      [1, () => this.num()],
    ]);
    return [a1, a2, npage, flags];
  }

  private unregisterArgs(caller: number): number[] {
    const r = this.rng;
    const own = this.hv.argoState(caller)?.rings ?? [];
    const ring = own.length && r.chance(0.6) ? r.pick(own) : undefined;
    const a1 = this.goodGpa();
    put(this.hv, caller, a1, struct(UNREGISTER_RING.size, (v) => {
      v.setUint32(UNREGISTER_RING.aport, ring?.aport ?? this.aportArg(), true);
      v.setUint16(UNREGISTER_RING.partner_id, ring?.partner ?? this.domidArg(caller), true);
      v.setUint16(UNREGISTER_RING.pad, r.chance(0.9) ? 0 : 1 + r.int(0xffff), true);
    }));
    return [a1, r.chance(0.85) ? 0 : this.gpa(), r.chance(0.85) ? 0 : this.num(), r.chance(0.85) ? 0 : this.num()];
  }

  private sendvArgs(caller: number): number[] {
    const r = this.rng;
    const target = r.chance(0.8) ? this.anyRing(caller) : undefined;
    const a1 = this.goodGpa();
    put(this.hv, caller, a1, struct(SEND_ADDR.size, (v) => {
      v.setUint32(SEND_ADDR.src + ADDR.aport, r.u32(), true);
      v.setUint16(
        SEND_ADDR.src + ADDR.domain_id,
        r.weighted<number>([
          [6, () => XEN_ARGO_DOMID_ANY],
          [2, () => caller],
          [1, () => this.domidArg(caller)],
        ]),
        true,
      );
      v.setUint16(SEND_ADDR.src + ADDR.pad, r.chance(0.95) ? 0 : 1 + r.int(0xffff), true);
      v.setUint32(SEND_ADDR.dst + ADDR.aport, target?.aport ?? this.aportArg(), true);
      v.setUint16(SEND_ADDR.dst + ADDR.domain_id, target?.owner ?? this.domidArg(caller), true);
      v.setUint16(SEND_ADDR.dst + ADDR.pad, r.chance(0.95) ? 0 : 1 + r.int(0xffff), true);
    }));
    const niov = r.chance(0.85) ? r.int(4) : r.pick([8, 9, 16, 0xffffffff, 2 ** 32, -1, 1.5]);
    const a2 = this.goodGpa();
    if (isU32(niov) && niov <= 16) {
      put(this.hv, caller, a2, struct(niov * IOV.size, (v) => {
        for (let i = 0; i < niov; i++) {
          const len = r.weighted<number>([
            [8, () => r.int(65)],
            [3, () => r.int(4097)],
            [1, () => r.pick([0, MAX_ARGO_MESSAGE_SIZE, MAX_ARGO_MESSAGE_SIZE + 1, 0xffffffff, r.u32(), 8 * 4096])],
          ]);
          const hnd = r.weighted<number>([
            [8, () => 4096 + r.int(Math.max(1, MEM - 4096 - len))],
            [1, () => MEM - r.int(64)],
            [1, () => r.pick([0, MEM, MEM + 4096, 2 ** 32, 2 ** 32 + 4096, 2 ** 40, 2 ** 53])],
          ]);
          setU64(v, i * IOV.size + IOV.iov_hnd, hnd);
          v.setUint32(i * IOV.size + IOV.iov_len, len, true);
          v.setUint32(i * IOV.size + IOV.pad, r.chance(0.95) ? 0 : r.u32(), true);
        }
      }));
    }
    return [a1, a2, niov, r.chance(0.85) ? r.u32() : this.num()];
  }

  private notifyArgs(caller: number): number[] {
    const r = this.rng;
    const a1 = r.chance(0.15) ? 0 : this.goodGpa();
    const nent = r.weighted<number>([
      [6, () => r.int(5)],
      [1, () => r.pick([256, 257, 255, 0xffffffff, 0x80000000])],
      [1, () => r.int(300)],
    ]);
    const written = Math.min(nent, 40);
    put(this.hv, caller, a1, struct(RING_DATA.size + written * RING_DATA_ENT.size, (v) => {
      v.setUint32(RING_DATA.nent, nent, true);
      v.setUint32(RING_DATA.pad, r.chance(0.8) ? 0 : r.u32(), true);
      for (let i = 0; i < written; i++) {
        const e = RING_DATA.data + i * RING_DATA_ENT.size;
        const target = r.chance(0.6) ? this.anyRing(caller) : undefined;
        v.setUint32(e + RING_DATA_ENT.ring_aport, target?.aport ?? this.aportArg(), true);
        v.setUint16(e + RING_DATA_ENT.ring_domain_id, target?.owner ?? this.domidArg(caller), true);
        v.setUint16(e + RING_DATA_ENT.ring_pad, r.chance(0.9) ? 0 : r.u32() & 0xffff, true);
        v.setUint16(e + RING_DATA_ENT.flags, r.u32() & 0xffff, true);
        v.setUint16(e + RING_DATA_ENT.pad, r.u32() & 0xffff, true);
        v.setUint32(
          e + RING_DATA_ENT.space_required,
          r.weighted<number>([
            [3, () => 0],
            [4, () => r.int(256)],
            [2, () => r.int(5000)],
            [1, () => r.pick([0xffffffff, r.u32()])],
          ]),
          true,
        );
        v.setUint32(e + RING_DATA_ENT.max_message_size, r.u32(), true);
      }
    }));
    return [a1, r.chance(0.85) ? 0 : this.gpa(), r.chance(0.85) ? 0 : this.num(), r.chance(0.85) ? 0 : this.num()];
  }

  private randomArgs(caller: number): number[] {
    const a1 = this.gpa();
    const a2 = this.gpa();
    if (this.rng.chance(0.5)) put(this.hv, caller, a1, this.rng.bytes(1 + this.rng.int(256)));
    if (this.rng.chance(0.5)) put(this.hv, caller, a2, this.rng.bytes(1 + this.rng.int(256)));
    return [a1, a2, this.num(), this.num()];
  }

  /** sum of iov_len as the caller's memory holds it now, when it can be read (sendv's success value). */
  private iovTotal(caller: number, a2: number, niov: number): number | undefined {
    if (!isU32(niov) || niov > 8) return undefined;
    if (niov === 0) return 0;
    const mem = this.hv.domain(caller)!.memory;
    if (!mem.contains(a2, niov * IOV.size) || a2 === 0) return undefined;
    let total = 0;
    for (let i = 0; i < niov; i++) total += mem.view.getUint32(a2 + i * IOV.size + IOV.iov_len, true);
    return total;
  }

  // --- the guest scribbling on its ring headers ----------------------------------------------

  private corruptHeaders(): void {
    const r = this.rng;
    const ring = this.anyRing();
    if (!ring || ring.gfns.length === 0) return;
    const mem = this.hv.domain(ring.owner)!.memory;
    const header = ring.gfns[0] * 4096;
    const value = (): number =>
      r.pick([
        r.u32(),
        r.int(ring.len),
        16 * r.int(ring.len / 16),
        ring.len,
        ring.len - 16,
        ring.len - 1,
        0xfffffff0,
        0x7fffffff,
        0x80000000,
        0,
      ]);
    if (r.chance(0.7)) mem.view.setUint32(header + RING_HEADER.rx_ptr, value(), true);
    if (r.chance(0.5)) mem.view.setUint32(header + RING_HEADER.tx_ptr, value(), true);
    if (r.chance(0.3)) {
      // garbage over some ring data (message headers included)
      const logical = RING_HEADER.ring + r.int(ring.len);
      const page = ring.gfns[logical >>> 12];
      const at = page * 4096 + (logical & 4095);
      put(this.hv, ring.owner, at, r.bytes(1 + r.int(Math.min(64, 4096 - (logical & 4095)))));
    }
  }

  // --- lifecycle ------------------------------------------------------------------------------

  private lifecycle(): void {
    const r = this.rng;
    for (const [domid, at] of [...this.dying]) {
      if (this.step >= at) {
        this.hv.reapDomain(domid);
        this.dying.delete(domid);
        this.create(domid);
        this.note('lifecycle re-create');
      }
    }
    if (!r.chance(0.004)) return;
    const alive = FUZZ_DOMS.filter((d) => this.hv.life(d) === 'alive');
    const victim = r.pick(alive);
    if (r.chance(0.6)) {
      this.hv.softResetDomain(victim);
      this.note('lifecycle soft reset');
    } else if (victim !== 0) {
      this.hv.killDomain(victim);
      this.dying.set(victim, this.step + 50 + r.int(300));
      this.note('lifecycle kill');
    }
  }

  // --- one call -------------------------------------------------------------------------------

  run(steps: number): void {
    for (this.step = 0; this.step < steps; this.step++) {
      this.ringsNow = undefined;
      try {
        this.lifecycle();
        this.ringsNow = undefined;
        if (this.rng.chance(0.05)) this.corruptHeaders();
      } catch (e) {
        this.fail(`guest-side / lifecycle action threw ${String(e)}`);
      }
      const started = performance.now();
      this.call();
      const took = performance.now() - started;
      // A leaked lock would make a later call wait LOCK_WAIT_TOTAL_MS and throw LockTimeoutError:
      // catch it at the call that leaked, and stop rather than wait out every later timeout.
      const held = locksHeld(this.hv);
      if (held.length || took > 1000) {
        this.fail(`lock words held after the call: ${held.join(', ')}; the call took ${Math.round(took)} ms`);
        break;
      }
      this.checkInvariants();
    }
  }

  private call(): void {
    const r = this.rng;
    const callers = this.resolvable();
    const caller = r.pick(callers);
    const cmd = this.cmd();
    const plausible = r.chance(0.85);
    const shape = plausible && KNOWN_CMDS.has(cmd) ? cmd : r.chance(0.5) ? 1 + r.int(4) : 0;
    let args: number[];
    switch (shape) {
      case XEN_ARGO_OP_register_ring:
        args = this.registerArgs(caller);
        break;
      case XEN_ARGO_OP_unregister_ring:
        args = this.unregisterArgs(caller);
        break;
      case XEN_ARGO_OP_sendv:
        args = this.sendvArgs(caller);
        break;
      case XEN_ARGO_OP_notify:
        args = this.notifyArgs(caller);
        break;
      default:
        args = this.randomArgs(caller);
    }
    const [a1, a2, a3, a4] = args;
    const total = cmd === XEN_ARGO_OP_sendv ? this.iovTotal(caller, a2, a3) : undefined;
    const dying = this.hv.life(caller) === 'dying';
    const snap = this.snapshot(caller, cmd, a1, a2, a3);
    if (snap.kind === 'sendv') snap.total = total;
    for (const d of this.resolvable()) this.hv.clearVirq(d, VIRQ_ARGO);
    const what = `argoOp(${caller}, ${cmd}, ${a1}, ${a2}, ${a3}, ${a4})`;
    let rc: number;
    try {
      rc = this.hv.argoOp(caller, cmd, a1, a2, a3, a4);
    } catch (e) {
      this.fail(`${what} threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
      return;
    }
    this.outcome.calls++;
    if (!validResult(rc)) return this.fail(`${what} returned ${rc}`);
    // Precise expectations wherever the spec pins the answer down regardless of memory contents.
    if (!isU32(a3) || !isU32(a4)) {
      if (rc !== -ERRNO.EINVAL) this.fail(`${what}: arg3/arg4 not 32-bit must be EINVAL (§3 step 1), got ${rc}`);
      return this.note('EINVAL (arg3/arg4)');
    }
    if (!KNOWN_CMDS.has(cmd)) {
      if (rc !== -ERRNO.EOPNOTSUPP) this.fail(`${what}: unknown cmd must be EOPNOTSUPP (§3 step 4), got ${rc}`);
      return this.note('EOPNOTSUPP (cmd)');
    }
    if (rc >= 0 && dying) this.fail(`${what}: a dying caller has no Argo state yet succeeded (${rc})`);
    if (rc >= 0 && cmd !== XEN_ARGO_OP_sendv && rc !== 0) this.fail(`${what}: cmd ${cmd} success must be 0, got ${rc}`);
    if (rc >= 0 && cmd === XEN_ARGO_OP_sendv && total !== undefined && rc !== total) {
      this.fail(`${what}: sendv returned ${rc}, the iovs hold ${total} bytes`);
    }
    this.checkEffects(what, caller, cmd, rc, a4, snap);
    this.note(`cmd ${cmd} ${rc >= 0 ? 'ok' : Object.entries(ERRNO).find(([, v]) => v === -rc)![0]}`);
  }

  // --- what a successful call must have done -------------------------------------------------

  /** A readable view of [gpa, gpa + size) in the caller's RAM, or undefined. */
  private peek(domid: number, gpa: number, size: number): DataView | undefined {
    const mem = this.hv.domain(domid)!.memory;
    if (!Number.isSafeInteger(gpa) || gpa <= 0 || !mem.contains(gpa, size)) return undefined;
    return new DataView(mem.buffer, gpa, size);
  }

  /** What the caller's memory says before the call, for the post-call checks. */
  private snapshot(caller: number, cmd: number, a1: number, a2: number, a3: number): Snapshot {
    const mem = this.hv.domain(caller)!.memory;
    if (cmd === XEN_ARGO_OP_register_ring) {
      const reg = this.peek(caller, a1, REGISTER_RING.size);
      const gfns = isU32(a3) && a3 >= 1 ? this.peek(caller, a2, GFN.size) : undefined;
      if (!reg) return { kind: 'none' };
      const first = gfns && gfns.getUint32(4, true) === 0 ? gfns.getUint32(0, true) : -1;
      const header = first >= 0 && first < mem.pages ? first * 4096 : -1;
      return {
        kind: 'register',
        aport: reg.getUint32(REGISTER_RING.aport, true),
        partner: reg.getUint16(REGISTER_RING.partner_id, true),
        len: reg.getUint32(REGISTER_RING.len, true),
        hdrRx: header >= 0 ? mem.view.getUint32(header + RING_HEADER.rx_ptr, true) : -1,
        hdrTx: header >= 0 ? mem.view.getUint32(header + RING_HEADER.tx_ptr, true) : -1,
      };
    }
    if (cmd === XEN_ARGO_OP_unregister_ring) {
      const u = this.peek(caller, a1, UNREGISTER_RING.size);
      if (!u) return { kind: 'none' };
      return { kind: 'unregister', aport: u.getUint32(UNREGISTER_RING.aport, true), partner: u.getUint16(UNREGISTER_RING.partner_id, true) };
    }
    if (cmd === XEN_ARGO_OP_sendv) {
      const sa = this.peek(caller, a1, SEND_ADDR.size);
      if (!sa) return { kind: 'none' };
      return {
        kind: 'sendv',
        srcPort: sa.getUint32(SEND_ADDR.src + ADDR.aport, true),
        dstDomid: sa.getUint16(SEND_ADDR.dst + ADDR.domain_id, true),
        dstPort: sa.getUint32(SEND_ADDR.dst + ADDR.aport, true),
        tx: new Map(this.allRings().map((x) => [`${x.owner}:${x.aport}:${x.partner}`, x.tx])),
      };
    }
    return { kind: 'none' };
  }

  /** Effects pinned down by the spec whatever the memory held: §4.1 tx init, §4.2, §4.3 / §5.4, §6.2. */
  private checkEffects(what: string, caller: number, cmd: number, rc: number, a4: number, snap: Snapshot): void {
    const hv = this.hv;
    const pending = this.resolvable().filter((d) => hv.virqPending(d, VIRQ_ARGO));
    if (cmd === XEN_ARGO_OP_register_ring || cmd === XEN_ARGO_OP_unregister_ring || (cmd === XEN_ARGO_OP_sendv && rc < 0)) {
      if (pending.length) this.fail(`${what} -> ${rc}: VIRQ_ARGO raised on ${pending} (§6.2: only successful sends and fired waiters signal)`);
    }
    if (rc < 0 && snap.kind === 'sendv') {
      // A failed send publishes nothing (§4.3 step 19: tx_ptr is not advanced) ...
      const dst = hv.domain(snap.dstDomid) ? snap.dstDomid : -1; // only a ring of the destination could move
      const rings = dst < 0 ? [] : hv.argoState(dst)!.rings.map((x) => ({ ...x, owner: dst }));
      const moved = rings.filter((x) => {
        const before = snap.tx.get(`${x.owner}:${x.aport}:${x.partner}`);
        return before !== undefined && before !== x.tx;
      });
      if (moved.length) this.fail(`${what} -> ${rc}: tx moved on ${JSON.stringify(moved.map((x) => [x.owner, x.aport, x.partner]))}`);
      // ... and EAGAIN leaves the caller waiting on the ring §6.1 picks, for at least its payload (§6.3).
      if (rc === -ERRNO.EAGAIN) {
        const at = rings.filter((x) => x.owner === snap.dstDomid && x.aport === snap.dstPort);
        const ring = at.find((x) => x.partner === caller) ?? at.find((x) => x.wildcard);
        const w = ring?.waiters.find((x) => x.domid === caller);
        if (!w || (snap.total !== undefined && w.length < snap.total)) {
          this.fail(`${what} -> EAGAIN: caller not waiting for ${snap.total} bytes on ${JSON.stringify(ring && [ring.aport, ring.partner, ring.waiters])}`);
        }
      }
    }
    if (rc < 0) return;
    if (snap.kind === 'register') {
      const ring = hv.argoState(caller)!.rings.find((x) => x.aport === snap.aport && x.partner === snap.partner);
      if (!ring || ring.len !== snap.len) return this.fail(`${what}: registered ring (${snap.aport}, ${snap.partner}) len ${snap.len} not found`);
      if (snap.hdrTx >= 0) {
        // §4.1: keep an in-range aligned tx_ptr, else ROUNDUP16(rx_ptr) (0 when >= len), written back.
        let want = snap.hdrTx;
        if (!(want < snap.len && want % 16 === 0)) {
          want = (snap.hdrRx + 15 - ((snap.hdrRx + 15) % 16)) % 0x1_0000_0000;
          if (want >= snap.len) want = 0;
        }
        const header = hv.domain(caller)!.memory.view.getUint32(ring.gfns[0] * 4096 + RING_HEADER.tx_ptr, true);
        if (ring.tx !== want || header !== want) {
          this.fail(`${what}: header rx ${snap.hdrRx} tx ${snap.hdrTx} len ${snap.len}: tx must be ${want}, cached ${ring.tx}, header ${header}`);
        }
      }
    } else if (snap.kind === 'unregister') {
      if (hv.argoState(caller)!.rings.some((x) => x.aport === snap.aport && x.partner === snap.partner)) {
        this.fail(`${what}: ring (${snap.aport}, ${snap.partner}) still registered after a successful unregister`);
      }
    } else if (snap.kind === 'sendv') {
      if (pending.length !== 1 || pending[0] !== snap.dstDomid) {
        this.fail(`${what}: a successful send must signal exactly the destination ${snap.dstDomid}, pending on ${pending}`);
      }
      // Exactly one ring moved its tx: the one §6.1 picks; the header there is authentic (§5.4).
      const rings = hv.argoState(snap.dstDomid)!.rings;
      const moved = rings.filter((x) => snap.tx.get(`${snap.dstDomid}:${x.aport}:${x.partner}`) !== x.tx);
      const exact = rings.find((x) => x.aport === snap.dstPort && x.partner === caller);
      const want = exact ?? rings.find((x) => x.aport === snap.dstPort && x.wildcard);
      if (moved.length !== 1 || moved[0] !== want) {
        return this.fail(`${what}: the send landed in ${JSON.stringify(moved.map((x) => [x.aport, x.partner]))}, §6.1 picks ${want?.partner}`);
      }
      const ring = want;
      const oldTx = snap.tx.get(`${snap.dstDomid}:${ring.aport}:${ring.partner}`)!;
      if (ring.tx !== (oldTx + 16 + Math.ceil(rc / 16) * 16) % ring.len) this.fail(`${what}: tx ${oldTx} -> ${ring.tx} for ${rc} bytes`);
      if (new Set(ring.gfns).size === ring.gfns.length) {
        const mem = hv.domain(snap.dstDomid)!.memory;
        const logical = RING_HEADER.ring + oldTx;
        const at = ring.gfns[logical >>> 12] * 4096 + (logical & 4095);
        const v = mem.view;
        const got = {
          len: v.getUint32(at + 0, true),
          aport: v.getUint32(at + 4, true),
          domid: v.getUint16(at + 8, true),
          pad: v.getUint16(at + 10, true),
          type: v.getUint32(at + 12, true),
          txPtr: v.getUint32(ring.gfns[0] * 4096 + RING_HEADER.tx_ptr, true),
        };
        const exp = { len: rc + 16, aport: snap.srcPort, domid: caller, pad: 0, type: a4, txPtr: ring.tx };
        if (JSON.stringify(got) !== JSON.stringify(exp)) this.fail(`${what}: message header ${JSON.stringify(got)}, expected ${JSON.stringify(exp)}`);
      }
    }
  }

  // --- invariants after every call ------------------------------------------------------------

  private checkInvariants(): void {
    const hv = this.hv;
    const withArgo = new Set<number>(FUZZ_DOMS.filter((d) => hv.hasArgo(d)));
    for (const d of this.resolvable()) {
      const st = hv.argoState(d)!;
      const where = `domain ${d}`;
      if (!st.hasArgo && st.rings.length > 0) this.fail(`${where}: rings without Argo state`);
      if (st.rings.length > MAX_RINGS_PER_DOMAIN) this.fail(`${where}: ${st.rings.length} rings`);
      // Q1/Q3 only ever inflate ring_count; the ENOSPC check keeps it at or below 128.
      if (st.hasArgo && (st.ringCount < st.rings.length || st.ringCount > MAX_RINGS_PER_DOMAIN)) {
        this.fail(`${where}: ring_count ${st.ringCount} with ${st.rings.length} rings`);
      }
      for (const ring of st.rings) {
        const id = `ring (${d}, ${ring.aport}, ${ring.partner}) len ${ring.len}`;
        if (ring.len < 48 || ring.len % 16 !== 0 || ring.npage !== npagesRing(ring.len)) this.fail(`${id}: bad len/npage ${ring.npage}`);
        if (ring.gfns.some((g) => g < 0 || g >= MEM_PAGES)) this.fail(`${id}: gfn outside the owner's RAM: ${ring.gfns}`);
        if (ring.tx % 16 !== 0 || ring.tx < 0 || ring.tx >= ring.len) this.fail(`${id}: cached tx ${ring.tx}`);
        if (ring.waiters.length > MAX_PENDING_PER_RING) this.fail(`${id}: ${ring.waiters.length} waiters`);
        if (new Set(ring.waiters.map((w) => w.domid)).size !== ring.waiters.length) this.fail(`${id}: duplicate waiters`);
        for (const w of ring.waiters) {
          if (w.length > ring.len - 32) this.fail(`${id}: waiter ${w.domid} wants ${w.length} > max message size`);
          // §8.2 step 3 / §8.3: a dead or reset domain's waits are withdrawn.
          if (!withArgo.has(w.domid)) this.fail(`${id}: waiter ${w.domid} has no Argo state`);
        }
        // §8.2 step 2: a unicast ring goes when its partner dies.
        if (!ring.wildcard && !withArgo.has(ring.partner)) this.fail(`${id}: partner ${ring.partner} has no Argo state`);
      }
    }
  }

  /** Brings every dying domain to its end (reap and re-create) so the host is all alive. */
  settle(): void {
    for (const domid of [...this.dying.keys()]) {
      this.hv.reapDomain(domid);
      this.dying.delete(domid);
      this.create(domid);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// After the fuzz: the host still works and tears down cleanly
// ---------------------------------------------------------------------------------------------

/** Lock words that are not free: L1, the arena lock, each domain's L2s and every ring's L3. */
function locksHeld(hv: Hypervisor): string[] {
  const t = hv.argoTables;
  const held: string[] = [];
  const l1 = brlockHolders(t.global, G.L1);
  if (l1 !== null) held.push(`L1: ${l1}`);
  if (t.global[G.ARENA_LOCK] !== 0) held.push('gfn arena lock');
  for (let slot = 0; slot < t.maxDomains; slot++) {
    const base = t.domainBase(slot);
    for (const [name, word] of [
      ['rings_L2', A.RINGS_L2],
      ['send_L2', A.SEND_L2],
      ['wildcard_L2', A.WILDCARD_L2],
    ] as const) {
      if (t.domains[base + word] !== 0) held.push(`slot ${slot} ${name} = ${t.domains[base + word]}`);
    }
    for (let i = 0; i < MAX_RINGS_PER_DOMAIN; i++) {
      const rb = t.ringBase(slot, i);
      if (t.rings[rb + R.L3] !== 0) held.push(`slot ${slot} ring ${i} L3`);
    }
  }
  return held;
}

function assertLocksFree(hv: Hypervisor): void {
  expect(locksHeld(hv), 'lock words still held').toEqual([]);
}

/** sendv by `caller` (raw op, src ANY) with the payload staged in the caller's scratch page. */
function rawSend(hv: Hypervisor, caller: number, dst: { domid: number; aport: number }, payload: Uint8Array): number {
  const mem = hv.domain(caller)!.memory;
  const sa = 4096;
  const iov = sa + 64;
  const data = sa + 256;
  mem.write(data, payload);
  const v = mem.view;
  v.setUint32(sa + SEND_ADDR.src + ADDR.aport, 0, true);
  v.setUint16(sa + SEND_ADDR.src + ADDR.domain_id, XEN_ARGO_DOMID_ANY, true);
  v.setUint16(sa + SEND_ADDR.src + ADDR.pad, 0, true);
  v.setUint32(sa + SEND_ADDR.dst + ADDR.aport, dst.aport, true);
  v.setUint16(sa + SEND_ADDR.dst + ADDR.domain_id, dst.domid, true);
  v.setUint16(sa + SEND_ADDR.dst + ADDR.pad, 0, true);
  setU64(v, iov + IOV.iov_hnd, data);
  v.setUint32(iov + IOV.iov_len, payload.length, true);
  v.setUint32(iov + IOV.pad, 0, true);
  return hv.argoOp(caller, XEN_ARGO_OP_sendv, sa, iov, 1, 0x51);
}

/** Unregisters every ring of `domid` with the raw op; each must answer 0. */
function unregisterAll(hv: Hypervisor, domid: number): void {
  const mem = hv.domain(domid)!.memory;
  for (const ring of hv.argoState(domid)!.rings) {
    const at = 4096;
    mem.view.setUint32(at + UNREGISTER_RING.aport, ring.aport, true);
    mem.view.setUint16(at + UNREGISTER_RING.partner_id, ring.partner, true);
    mem.view.setUint16(at + UNREGISTER_RING.pad, 0, true);
    expect(hv.argoOp(domid, XEN_ARGO_OP_unregister_ring, at, 0, 0, 0), `unregister (${domid}, ${ring.aport}, ${ring.partner})`).toBe(0);
  }
  expect(hv.argoState(domid)!.rings).toEqual([]);
}

/** A known message end to end, then a full ring: EAGAIN, consume, notify, wake-up, resend (§5, §6.3). */
function assertWorks(hv: Hypervisor, sender: number, receiver: number, aport: number): void {
  const a = new ArgoGuest(platformOf(hv, sender));
  const b = receiver === sender ? a : new ArgoGuest(platformOf(hv, receiver)); // one allocator per domain
  try {
    const started = performance.now();
    const ring = b.registerRing({ aport, partner: sender, len: 48 });
    const known = new TextEncoder().encode('argo fuzz ok 16B'); // exactly 16 bytes: fills a len-48 ring
    expect(known.length).toBe(16);
    hv.clearVirq(receiver, VIRQ_ARGO);
    expect(a.sendNow({ domid: receiver, aport }, known, { messageType: 0xabcd, srcPort: 77 })).toBe(16);
    expect(hv.virqPending(receiver, VIRQ_ARGO)).toBe(true);
    // The ring is now full by the one-free-slot rule: the next send is EAGAIN and queues a waiter.
    hv.clearVirq(sender, VIRQ_ARGO);
    expect(a.sendvRaw({ domid: receiver, aport }, [{ gpa: 4096 * 3, len: 1 }])).toBe(-ERRNO.EAGAIN);
    expect(hv.argoState(receiver)!.rings.find((x) => x.aport === aport)!.waiters).toEqual([{ domid: sender, length: 1 }]);
    expect(hv.virqPending(sender, VIRQ_ARGO)).toBe(false);
    const msg = ring.recv()!;
    expect(msg.source).toEqual({ domid: sender, aport: 77 });
    expect(msg.messageType).toBe(0xabcd);
    expect(new TextDecoder().decode(msg.payload)).toBe('argo fuzz ok 16B');
    expect(hv.virqPending(sender, VIRQ_ARGO)).toBe(false); // consuming alone signals nobody (§5.5)
    b.notify();
    expect(hv.virqPending(sender, VIRQ_ARGO)).toBe(true);
    expect(hv.argoState(receiver)!.rings.find((x) => x.aport === aport)!.waiters).toEqual([]);
    const info = a.query({ domid: receiver, aport }, 16);
    expect(info.flags & (XEN_ARGO_RING_EXISTS | XEN_ARGO_RING_SUFFICIENT)).toBe(XEN_ARGO_RING_EXISTS | XEN_ARGO_RING_SUFFICIENT);
    expect(a.sendNow({ domid: receiver, aport }, known)).toBe(16);
    expect(ring.recv()!.payload).toEqual(known);
    b.unregisterRing(ring);
    // Locks are all free: a full register/unregister cycle runs at once (a stuck lock would wait 5 s).
    expect(performance.now() - started).toBeLessThan(1000);
  } finally {
    a.close();
    b.close();
  }
}

/**
 * Gives the survivors something to lose: fresh domains 10 and 11 hold rings partnered with fuzz
 * domains and wait on each other's and the fuzz domains' rings.
 */
function buildCrossDomainState(hv: Hypervisor): void {
  for (const d of [10, 11]) {
    hv.createDomain({ domid: d, memoryBytes: MEM });
  }
  const g10 = new ArgoGuest(platformOf(hv, 10));
  const g11 = new ArgoGuest(platformOf(hv, 11));
  try {
    for (const p of FUZZ_DOMS) {
      g10.registerRing({ aport: 500 + p, partner: p, len: 48 });
      expect(rawSend(hv, p, { domid: 10, aport: 500 + p }, new Uint8Array(16).fill(p))).toBe(16);
      expect(rawSend(hv, p, { domid: 10, aport: 500 + p }, new Uint8Array(8))).toBe(-ERRNO.EAGAIN); // p waits on 10
    }
    g11.registerRing({ aport: 600, partner: XEN_ARGO_DOMID_ANY, len: 48 });
    expect(rawSend(hv, 10, { domid: 11, aport: 600 }, new Uint8Array(16))).toBe(16);
    for (const p of [...FUZZ_DOMS, 10]) {
      expect(rawSend(hv, p, { domid: 11, aport: 600 }, new Uint8Array(4))).toBe(-ERRNO.EAGAIN); // waits on a wildcard ring
    }
    expect(hv.argoState(11)!.rings[0].waiters.map((w) => w.domid).sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 10]);
  } finally {
    g10.close();
    g11.close();
  }
}

/** Destroys every domain one by one; after each, no survivor keeps a ring or a waiter that involves it. */
function destroyAllAndCheck(hv: Hypervisor): void {
  const order = hv.domainList().map((d) => d.domid);
  const gone: number[] = [];
  for (const victim of order) {
    hv.destroyDomain(victim);
    gone.push(victim);
    expect(hv.argoState(victim)).toBeUndefined();
    for (const s of hv.domainList().map((d) => d.domid)) {
      const st = hv.argoState(s)!;
      for (const ring of st.rings) {
        const id = `survivor ${s} ring (${ring.aport}, ${ring.partner}) after destroying ${gone}`;
        expect(gone.includes(ring.partner), `${id}: partnered with a destroyed domain`).toBe(false);
        expect(ring.waiters.filter((w) => gone.includes(w.domid)), `${id}: waiters from destroyed domains`).toEqual([]);
      }
    }
  }
  expect(hv.domainList()).toEqual([]);
  // Nothing is left in any slot: no ring in use anywhere, every lock free.
  const t = hv.argoTables;
  let inUse = 0;
  for (let slot = 0; slot < t.maxDomains; slot++) {
    for (let i = 0; i < MAX_RINGS_PER_DOMAIN; i++) if (t.rings[t.ringBase(slot, i) + R.IN_USE] !== 0) inUse++;
  }
  expect(inUse, 'rings still in use after every domain was destroyed').toBe(0);
  assertLocksFree(hv);
  // Domains re-created with the old ids start from nothing.
  for (const d of order) {
    hv.createDomain({ domid: d, memoryBytes: MEM });
    const st = hv.argoState(d)!;
    expect({ rings: st.rings, ringCount: st.ringCount, sendInfo: st.sendInfo, hasArgo: st.hasArgo }).toEqual({
      rings: [],
      ringCount: 0,
      sendInfo: [],
      hasArgo: true,
    });
  }
}

// ---------------------------------------------------------------------------------------------

const STEPS = 4000;

describe('argoOp bad-input fuzz (hypercall-api.md, argo.md §3–§4, §8)', () => {
  it.each([
    { seed: 0x0a26f001, cleanup: true },
    { seed: 0x0a26f002, cleanup: false },
  ])('seed $seed: never throws, answers only 0 / byte counts / -errno, keeps invariants; then still works', ({ seed, cleanup }) => {
    const f = new Fuzzer(seed);
    f.run(STEPS);
    f.settle();
    expect(f.failures).toEqual([]);
    expect(f.outcome.calls).toBe(STEPS);
    const by = f.outcome.byCmd;
    if (process.env.ARGO_FUZZ_STATS) console.log(seed, [...by].sort());
    // The fuzz reached deep into every op, not only its argument checks.
    expect(by.get('cmd 1 ok') ?? 0, 'successful registrations').toBeGreaterThan(30);
    expect(by.get('cmd 2 ok') ?? 0, 'successful unregistrations').toBeGreaterThan(10);
    expect(by.get('cmd 3 ok') ?? 0, 'successful sends').toBeGreaterThan(30);
    expect(by.get('cmd 3 EAGAIN') ?? 0, 'sends on full rings').toBeGreaterThan(5);
    expect(by.get('cmd 4 ok') ?? 0, 'successful notifies').toBeGreaterThan(30);

    const hv = f.hv;
    assertLocksFree(hv);
    if (cleanup) {
      // The same domains, once their rings are unregistered and quotas reset, work as new.
      for (const d of FUZZ_DOMS) unregisterAll(hv, d);
      for (const d of FUZZ_DOMS) hv.softResetDomain(d);
      assertWorks(hv, 1, 2, 900);
      assertWorks(hv, 3, 3, 901); // self ring
    }
    // A fresh pair works on the host the fuzz went over.
    hv.createDomain({ domid: 20, memoryBytes: MEM });
    hv.createDomain({ domid: 21, memoryBytes: MEM });
    assertWorks(hv, 20, 21, 7);
    assertLocksFree(hv);
    buildCrossDomainState(hv);
    destroyAllAndCheck(hv);
  });
});
