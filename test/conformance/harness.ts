/**
 * Conformance harness for argo.md §14: drives the RAW hypercall `hv.argoOp` with structures laid out
 * byte by byte in guest memory at explicit gpas (offsets from src/argo/abi.ts, little-endian).
 * It deliberately does not use the guest library (src/guest): this suite checks the ABI.
 *
 * Guest memory layout used by every helper (per domain; gpa 0 / page 0 is never used: it is NULL):
 *
 *   0x01000  ARG        register / unregister struct (arg1)
 *   0x01100  SEND_ADDR  xen_argo_send_addr_t
 *   0x01200  IOVS       iov array (up to 16 entries)
 *   0x02000  RING_DATA  xen_argo_ring_data_t (8 + 20·nent; 257 entries fit below 0x4000)
 *   0x04000  GFNS       gfn array (up to 4096 u64 = 32 KiB, ends at 0x0C000)
 *   0x10000  DATA       iov payload bytes (192 KiB, up to 0x40000)
 *   0x40000+            ring pages, handed out by `Host.pages` (page 0x40 upwards)
 */
import type { HistoricalBugs } from '../../src/xen/historical-bugs.js';
import {
  ADDR,
  createHypervisor,
  GFN,
  IOV,
  MESSAGE_HEADER,
  REGISTER_RING,
  RING_DATA,
  RING_DATA_ENT,
  RING_HEADER,
  SEND_ADDR,
  UNREGISTER_RING,
  VIRQ_ARGO,
  XEN_ARGO_OP_notify,
  XEN_ARGO_OP_register_ring,
  XEN_ARGO_OP_sendv,
  XEN_ARGO_OP_unregister_ring,
  npagesRing,
  type ArgoQuirks,
  type ArgoRingState,
  type Domain,
  type GuestMemory,
  type Hypervisor,
  type XsmConfig,
} from '../../src/index.js';

export const GPA = {
  ARG: 0x1000,
  SEND_ADDR: 0x1100,
  IOVS: 0x1200,
  RING_DATA: 0x2000,
  GFNS: 0x4000,
  DATA: 0x10000,
  DATA_END: 0x40000,
  FIRST_RING_PAGE: 0x40,
} as const;

/** A gpa outside every domain's RAM (default 4 MiB): Xen's copies from it fail (EFAULT). */
export const BAD_GPA = 0x7fff_f000;

export const A = 1;
export const B = 2;
export const C = 3;

export interface HostOptions {
  /** argo= boot option; default `{ enabled: true, macPermissive: false }`. */
  argo?: { enabled?: boolean; macPermissive?: boolean } | string;
  xsm?: XsmConfig;
  quirks?: Partial<ArgoQuirks>;
  /** Historical bugs switched back on (src/xen/historical-bugs.ts). */
  bugs?: Partial<HistoricalBugs>;
  viptables?: boolean;
  /** Domains to create; default [0, 1, 2, 3]. */
  domains?: number[];
  /** XSM label per domid (default: dom0_t for 0, domU_t otherwise). */
  labels?: Record<number, string>;
  /** vCPUs per domid (default 1). */
  vcpus?: Record<number, number>;
  /** Bind VIRQ_ARGO on vCPU 0 in these domains; default: all created domains. */
  bindVirq?: number[];
}

/** One host per test: the hypervisor plus a ring-page allocator per domain. */
export class Host {
  readonly hv: Hypervisor;
  private readonly nextPage = new Map<number, number>();

  constructor(opts: HostOptions = {}) {
    this.hv = createHypervisor({
      argo: opts.argo ?? { enabled: true, macPermissive: false },
      xsm: opts.xsm ?? { mode: 'dummy' },
      quirks: opts.quirks,
      bugs: opts.bugs,
      openxt: { viptables: opts.viptables ?? false },
      maxDomains: 64,
      gfnArenaPages: 1 << 16,
    });
    const domains = opts.domains ?? [0, A, B, C];
    for (const domid of domains) this.addDomain(domid, opts.labels?.[domid], opts.vcpus?.[domid]);
    for (const domid of opts.bindVirq ?? domains) {
      const rc = this.hv.bindVirq(domid, VIRQ_ARGO, 0);
      if (rc !== 0) throw new Error(`bindVirq(${domid}) = ${rc}`);
    }
  }

  addDomain(domid: number, label?: string, vcpus?: number): Domain {
    const d = this.hv.createDomain({ domid, ...(label ? { label } : {}), ...(vcpus ? { vcpus } : {}) });
    this.nextPage.set(domid, GPA.FIRST_RING_PAGE);
    return d;
  }

  mem(domid: number): GuestMemory {
    const d = this.hv.domain(domid);
    if (!d) throw new Error(`no domain ${domid}`);
    return d.memory;
  }

  /** `n` fresh, zeroed pages of the domain (gfns), consecutive. */
  pages(domid: number, n: number): number[] {
    const first = this.nextPage.get(domid)!;
    this.nextPage.set(domid, first + n);
    const out = Array.from({ length: n }, (_, i) => first + i);
    for (const g of out) this.mem(domid).zero(g * 4096, 4096);
    return out;
  }

  // ---------------------------------------------------------------- register / unregister

  /**
   * Lays out `xen_argo_register_ring_t` at GPA.ARG and the gfn array at GPA.GFNS, then calls
   * register_ring(arg1 = ARG, arg2 = GFNS, arg3 = npage, arg4 = flags). By default allocates
   * npagesRing(len) fresh pages (headers therefore zeroed).
   */
  register(domid: number, r: RegisterArgs): RegisterResult {
    const mem = this.mem(domid);
    const gfns = r.gfns ?? this.pages(domid, npagesRing(r.len));
    const npage = r.npage ?? gfns.length;
    writeRegisterStruct(mem, GPA.ARG, r);
    writeGfns(mem, GPA.GFNS, gfns);
    const rc = this.hv.argoOp(
      domid,
      XEN_ARGO_OP_register_ring,
      r.arg1 ?? GPA.ARG,
      r.arg2 ?? GPA.GFNS,
      npage,
      r.flags ?? 0,
    );
    return { rc, ring: new RingView(mem, gfns, r.len) };
  }

  /** Registers and expects 0; returns the ring view. */
  ring(domid: number, aport: number, partner: number, len: number): RingView {
    const { rc, ring } = this.register(domid, { aport, partner, len });
    if (rc !== 0) throw new Error(`register(${domid}, ${aport}, ${partner}, ${len}) = ${rc}`);
    return ring;
  }

  /** Lays out `xen_argo_unregister_ring_t` at GPA.ARG and calls unregister_ring. */
  unregister(domid: number, u: { aport: number; partner: number; pad?: number }, arg2 = 0, arg3 = 0, arg4 = 0): number {
    const mem = this.mem(domid);
    const v = mem.view;
    v.setUint32(GPA.ARG + UNREGISTER_RING.aport, u.aport, true);
    v.setUint16(GPA.ARG + UNREGISTER_RING.partner_id, u.partner, true);
    v.setUint16(GPA.ARG + UNREGISTER_RING.pad, u.pad ?? 0, true);
    return this.hv.argoOp(domid, XEN_ARGO_OP_unregister_ring, GPA.ARG, arg2, arg3, arg4);
  }

  // ---------------------------------------------------------------- sendv

  /**
   * Lays out `xen_argo_send_addr_t` at GPA.SEND_ADDR, each iov's payload in the DATA area and the
   * iov array at GPA.IOVS, then calls sendv(arg1, arg2, arg3 = niov, arg4 = message_type).
   * An iov given as bytes gets its payload copied; `{ hnd, len, pad }` is written verbatim.
   */
  sendv(domid: number, s: SendArgs): number {
    const mem = this.mem(domid);
    const v = mem.view;
    writeAddr(v, GPA.SEND_ADDR + SEND_ADDR.src, s.src);
    writeAddr(v, GPA.SEND_ADDR + SEND_ADDR.dst, s.dst);
    let data = GPA.DATA;
    const iovs = s.iovs ?? [];
    iovs.forEach((iov, i) => {
      const at = GPA.IOVS + i * IOV.size;
      if (iov instanceof Uint8Array) {
        if (data + iov.length > GPA.DATA_END) throw new Error('harness DATA area overflow');
        mem.write(data, iov);
        v.setBigUint64(at + IOV.iov_hnd, BigInt(data), true);
        v.setUint32(at + IOV.iov_len, iov.length, true);
        v.setUint32(at + IOV.pad, 0, true);
        data += (iov.length + 15) & ~15;
      } else {
        v.setBigUint64(at + IOV.iov_hnd, BigInt(iov.hnd), true);
        v.setUint32(at + IOV.iov_len, iov.len, true);
        v.setUint32(at + IOV.pad, iov.pad ?? 0, true);
      }
    });
    return this.hv.argoOp(
      domid,
      XEN_ARGO_OP_sendv,
      s.arg1 ?? GPA.SEND_ADDR,
      s.arg2 ?? GPA.IOVS,
      s.niov ?? iovs.length,
      s.type ?? 0,
    );
  }

  /** Convenience: send `payload` (one iov) from (domid, srcPort) to (dst, dstPort). */
  send(domid: number, dst: number, dstPort: number, payload: Uint8Array | number, type = 0, srcPort = 0): number {
    const bytes = typeof payload === 'number' ? pattern(payload) : payload;
    return this.sendv(domid, {
      src: { domid, aport: srcPort },
      dst: { domid: dst, aport: dstPort },
      iovs: [bytes],
      type,
    });
  }

  // ---------------------------------------------------------------- notify

  /**
   * notify(NULL) when `entries` is null; otherwise lays out `xen_argo_ring_data_t` at
   * GPA.RING_DATA with the given entries (flags / max_message_size pre-filled with the given
   * values, default 0) and returns what Xen wrote back for each entry.
   */
  notify(domid: number, entries: NotifyEntry[] | null, o: { nent?: number; pad?: number } = {}): NotifyResult {
    const mem = this.mem(domid);
    if (entries === null) {
      return { rc: this.hv.argoOp(domid, XEN_ARGO_OP_notify, 0, 0, 0, 0), out: [] };
    }
    const v = mem.view;
    v.setUint32(GPA.RING_DATA + RING_DATA.nent, o.nent ?? entries.length, true);
    v.setUint32(GPA.RING_DATA + RING_DATA.pad, o.pad ?? 0, true);
    entries.forEach((e, i) => writeEntry(v, entryGpa(i), e));
    const rc = this.hv.argoOp(domid, XEN_ARGO_OP_notify, GPA.RING_DATA, 0, 0, 0);
    return { rc, out: entries.map((_, i) => readEntry(v, entryGpa(i))) };
  }

  // ---------------------------------------------------------------- state

  /** The hypervisor's view of ring (owner, aport, partner), or undefined. */
  ringState(owner: number, aport: number, partner: number): ArgoRingState | undefined {
    return this.hv.argoState(owner)?.rings.find((r) => r.aport === aport && r.partner === partner);
  }

  waiters(owner: number, aport: number, partner: number): Array<{ domid: number; length: number }> {
    const r = this.ringState(owner, aport, partner);
    if (!r) throw new Error(`no ring (${owner}, ${aport}, ${partner})`);
    return r.waiters;
  }

  virq(domid: number): boolean {
    return this.hv.virqPending(domid, VIRQ_ARGO);
  }

  /** Domains whose VIRQ_ARGO is pending, among the given ones. */
  virqs(domids: number[] = [0, A, B, C]): number[] {
    return domids.filter((d) => this.hv.domain(d) !== undefined && this.virq(d));
  }

  clearVirqs(domids: number[] = [0, A, B, C]): void {
    for (const d of domids) if (this.hv.domain(d)) this.hv.clearVirq(d, VIRQ_ARGO);
  }
}

export interface RegisterArgs {
  aport: number;
  partner: number;
  len: number;
  pad?: number;
  flags?: number;
  /** Pages to use (default: fresh ones). */
  gfns?: number[];
  /** arg3 (default gfns.length). */
  npage?: number;
  /** Override arg1 / arg2 (default GPA.ARG / GPA.GFNS). */
  arg1?: number;
  arg2?: number;
}

export interface RegisterResult {
  rc: number;
  ring: RingView;
}

export interface Addr {
  domid: number;
  aport: number;
  pad?: number;
}

export type Iov = Uint8Array | { hnd: number; len: number; pad?: number };

export interface SendArgs {
  src: Addr;
  dst: Addr;
  iovs?: Iov[];
  /** arg3 (default iovs.length). */
  niov?: number;
  /** arg4: message_type (default 0). */
  type?: number;
  arg1?: number;
  arg2?: number;
}

export interface NotifyEntry {
  domid: number;
  aport: number;
  spaceRequired?: number;
  /** Input value of the output fields (to observe what is or is not written back). */
  flags?: number;
  maxMessageSize?: number;
  pad?: number;
  ringPad?: number;
}

export interface NotifyOut {
  flags: number;
  maxMessageSize: number;
  spaceRequired: number;
  domid: number;
  aport: number;
  pad: number;
  ringPad: number;
}

export interface NotifyResult {
  rc: number;
  out: NotifyOut[];
}

export function entryGpa(i: number): number {
  return GPA.RING_DATA + RING_DATA.data + i * RING_DATA_ENT.size;
}

export function writeEntry(v: DataView, at: number, e: NotifyEntry): void {
  v.setUint32(at + RING_DATA_ENT.ring_aport, e.aport, true);
  v.setUint16(at + RING_DATA_ENT.ring_domain_id, e.domid, true);
  v.setUint16(at + RING_DATA_ENT.ring_pad, e.ringPad ?? 0, true);
  v.setUint16(at + RING_DATA_ENT.flags, e.flags ?? 0, true);
  v.setUint16(at + RING_DATA_ENT.pad, e.pad ?? 0, true);
  v.setUint32(at + RING_DATA_ENT.space_required, e.spaceRequired ?? 0, true);
  v.setUint32(at + RING_DATA_ENT.max_message_size, e.maxMessageSize ?? 0, true);
}

export function readEntry(v: DataView, at: number): NotifyOut {
  return {
    aport: v.getUint32(at + RING_DATA_ENT.ring_aport, true),
    domid: v.getUint16(at + RING_DATA_ENT.ring_domain_id, true),
    ringPad: v.getUint16(at + RING_DATA_ENT.ring_pad, true),
    flags: v.getUint16(at + RING_DATA_ENT.flags, true),
    pad: v.getUint16(at + RING_DATA_ENT.pad, true),
    spaceRequired: v.getUint32(at + RING_DATA_ENT.space_required, true),
    maxMessageSize: v.getUint32(at + RING_DATA_ENT.max_message_size, true),
  };
}

export function writeRegisterStruct(mem: GuestMemory, gpa: number, r: { aport: number; partner: number; len: number; pad?: number }): void {
  const v = mem.view;
  v.setUint32(gpa + REGISTER_RING.aport, r.aport, true);
  v.setUint16(gpa + REGISTER_RING.partner_id, r.partner, true);
  v.setUint16(gpa + REGISTER_RING.pad, r.pad ?? 0, true);
  v.setUint32(gpa + REGISTER_RING.len, r.len, true);
}

export function writeGfns(mem: GuestMemory, gpa: number, gfns: number[]): void {
  gfns.forEach((g, i) => mem.view.setBigUint64(gpa + i * GFN.size, BigInt(g), true));
}

function writeAddr(v: DataView, at: number, a: Addr): void {
  v.setUint32(at + ADDR.aport, a.aport, true);
  v.setUint16(at + ADDR.domain_id, a.domid, true);
  v.setUint16(at + ADDR.pad, a.pad ?? 0, true);
}

/** A deterministic payload of `n` bytes (byte i = (i·7 + 3) mod 251 + 1; never 0). */
export function pattern(n: number, seed = 3): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = ((i * 7 + seed) % 251) + 1;
  return out;
}

export interface MessageHeader {
  len: number;
  sourceAport: number;
  sourceDomid: number;
  sourcePad: number;
  type: number;
}

/**
 * The guest's view of a registered ring: logical byte b of the 64 + len byte ring lives in page
 * gfns[b >> 12] at offset b & 4095 (argo.md §5.1).
 */
export class RingView {
  constructor(
    readonly mem: GuestMemory,
    readonly gfns: number[],
    readonly len: number,
  ) {}

  /** gpa of logical ring byte `b` (header at 0, data offset o at 64 + o). */
  gpa(b: number): number {
    return this.gfns[b >>> 12] * 4096 + (b & 4095);
  }

  get headerGpa(): number {
    return this.gpa(0);
  }

  get rx(): number {
    return this.mem.view.getUint32(this.gpa(RING_HEADER.rx_ptr), true);
  }

  set rx(value: number) {
    this.mem.view.setUint32(this.gpa(RING_HEADER.rx_ptr), value, true);
  }

  get tx(): number {
    return this.mem.view.getUint32(this.gpa(RING_HEADER.tx_ptr), true);
  }

  set tx(value: number) {
    this.mem.view.setUint32(this.gpa(RING_HEADER.tx_ptr), value, true);
  }

  /** `n` data bytes from data offset `off`, wrapping at len. */
  data(off: number, n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.mem.u8[this.gpa(RING_HEADER.ring + ((off + i) % this.len))];
    return out;
  }

  /** Writes data bytes at data offset `off` (no wrap). */
  fill(off: number, n: number, byte: number): void {
    for (let i = 0; i < n; i++) this.mem.u8[this.gpa(RING_HEADER.ring + off + i)] = byte;
  }

  /** The message header at data offset `off`. */
  header(off: number): MessageHeader {
    const v = this.mem.view;
    const at = (f: number) => this.gpa(RING_HEADER.ring + off + f);
    return {
      len: v.getUint32(at(MESSAGE_HEADER.len), true),
      sourceAport: v.getUint32(at(MESSAGE_HEADER.source_aport), true),
      sourceDomid: v.getUint16(at(MESSAGE_HEADER.source_domain_id), true),
      sourcePad: v.getUint16(at(MESSAGE_HEADER.source_pad), true),
      type: v.getUint32(at(MESSAGE_HEADER.message_type), true),
    };
  }

  /** Guest-side consume of everything: rx := tx. */
  consumeAll(): void {
    this.rx = this.tx;
  }
}
