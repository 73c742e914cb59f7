import { ADDR, COMPAT_IOV, GFN, IOV, REGISTER_RING, RING_DATA, RING_DATA_ENT, SEND_ADDR, UNREGISTER_RING } from '../argo/abi.js';
import {
  ARGO_DEFAULT_RING_LEN,
  MAX_NOTIFY_COUNT,
  MAX_PENDING_PER_RING,
  XEN_ARGO_DOMID_ANY,
  XEN_ARGO_MAXIOV,
  XEN_ARGO_OP_notify,
  XEN_ARGO_OP_register_ring,
  XEN_ARGO_OP_sendv,
  XEN_ARGO_OP_unregister_ring,
  XEN_ARGO_RING_EBUSY,
  XEN_ARGO_RING_EMSGSIZE,
  XEN_ARGO_RING_EXISTS,
  XEN_ARGO_RING_SUFFICIENT,
  npagesRing,
} from '../argo/constants.js';
import { PAGE_SIZE } from '../memory/constants.js';
import { PageAllocator } from '../memory/page-allocator.js';
import { ERRNO } from '../xen/errno.js';
import { VIRQ_ARGO } from '../xen/virq.js';
import { ArgoError, check } from './argo-error.js';
import { ArgoRing, type ArgoMessage } from './argo-ring.js';
import type { GuestPlatform } from './platform.js';

/** An Argo address: (domain, port). */
export interface ArgoAddr {
  domid: number;
  aport: number;
}

/** One iov: `len` bytes at guest-physical `gpa`. */
export interface GuestIov {
  gpa: number;
  len: number;
}

/** Options of a send. */
export interface SendOptions {
  /** message_type (u32), default 0. */
  messageType?: number;
  /** Source port written in the header (not validated by Xen), default 0. */
  srcPort?: number;
}

/** One ring queried with notify. */
export interface RingQuery {
  ring: ArgoAddr;
  spaceRequired?: number;
  /** Echoed back unchanged when the ring does not exist (Q4). */
  maxMessageSize?: number;
}

/** What notify said about a ring. */
export interface RingInfo {
  flags: number;
  maxMessageSize: number;
  exists: boolean;
  sufficient: boolean;
}

/** Options of `registerRing`. */
export interface RegisterRingOptions {
  aport: number;
  /** Partner domid; default `XEN_ARGO_DOMID_ANY` (wildcard, needs mac-permissive). */
  partner?: number;
  /** Ring data bytes; default the Linux driver's 130 992. */
  len?: number;
  flags?: number;
  /** Take deliberately scattered pages (exercises the page-by-page paths). */
  scatter?: boolean;
}

const SCRATCH_BYTES = 2 * PAGE_SIZE; // send_addr + 8 iovs + a ring_data of up to 256 entries fits 2 pages
const SEND_ADDR_AT = 0;
const IOVS_AT = 64;
const STRUCT_AT = 256;
const RING_DATA_AT = 512;

/**
 * A libargo-like guest library for one domain (argo.md §5.5, §6.3; in the spirit of OpenXT's
 * libargo and the Linux driver): register rings in pages it allocates, send with the EAGAIN →
 * wait for VIRQ → notify → retry protocol, receive and consume with the notify after consuming,
 * query rings with notify. Failures throw `ArgoError` carrying the errno name.
 *
 * @example
 * ```ts
 * const a = new ArgoGuest(platformOf(hv, 1));
 * const b = new ArgoGuest(platformOf(hv, 2));
 * const ring = b.registerRing({ aport: 80, partner: 1, len: 4032 });
 * await a.send({ domid: 2, aport: 80 }, new TextEncoder().encode('hello'));
 * ring.recv()?.payload; // 'hello'
 * b.notify();
 * ```
 */
export class ArgoGuest {
  readonly pages: PageAllocator;
  readonly rings = new Map<string, ArgoRing>();
  /** VIRQ_ARGO deliveries seen; a waiter compares epochs, so no wakeup is ever lost. */
  private virqEpoch = 0;
  private readonly virqWaiters: Array<() => void> = [];
  private readonly scratch: number;
  private bounce = { gpa: 0, bytes: 0 };
  private readonly unsubscribe: () => void;

  constructor(
    readonly platform: GuestPlatform,
    options: { pages?: PageAllocator; bindVirq?: boolean } = {},
  ) {
    this.pages = options.pages ?? new PageAllocator(platform.memory.pages);
    this.scratch = this.pages.allocateBytes(SCRATCH_BYTES);
    if (options.bindVirq ?? true) {
      const rc = platform.bindVirq(VIRQ_ARGO, 0);
      if (rc !== 0 && rc !== -ERRNO.EEXIST) check('bind VIRQ_ARGO', rc);
    }
    this.unsubscribe = platform.onVirq((virq) => {
      if (virq !== VIRQ_ARGO) return;
      this.virqEpoch++;
      for (const wake of this.virqWaiters.splice(0)) wake();
    });
  }

  get domid(): number {
    return this.platform.domid;
  }

  /** Registers a ring in freshly allocated, zeroed pages; throws ArgoError (pages freed) on failure — ENOMEM when the guest has no pages for it. */
  registerRing(options: RegisterRingOptions): ArgoRing {
    const len = options.len ?? ARGO_DEFAULT_RING_LEN;
    const partner = options.partner ?? XEN_ARGO_DOMID_ANY;
    let gfns: number[];
    try {
      gfns = this.pages.allocate(npagesRing(len), { scatter: options.scatter });
    } catch (e) {
      // the guest has no pages for the ring: its driver fails the registration with -ENOMEM, as
      // Linux's does when the ring's allocation fails — no hypercall is made
      if (!(e instanceof RangeError)) throw e;
      throw new ArgoError('register_ring', -ERRNO.ENOMEM, `ring (${this.domid}, ${options.aport}, ${partner}) len ${len}: ${e.message}`);
    }
    const mem = this.platform.memory;
    for (const gfn of gfns) mem.zero(gfn * PAGE_SIZE, PAGE_SIZE); // the header must be zeroed (§4.1)
    let rc: number;
    try {
      rc = this.register(options.aport, partner, len, gfns, options.flags ?? 0);
    } catch (e) {
      this.pages.free(gfns); // no room for the gfn list
      throw e;
    }
    if (rc < 0) {
      this.pages.free(gfns);
      throw new ArgoError('register_ring', rc, `ring (${this.domid}, ${options.aport}, ${partner}) len ${len}`);
    }
    const ring = new ArgoRing(mem, options.aport >>> 0, partner, len, gfns);
    const old = this.rings.get(ringKey(ring.aport, partner));
    if (old) this.pages.free(old.gfns);
    this.rings.set(ringKey(ring.aport, partner), ring);
    return ring;
  }

  /** Re-registers a ring in its own pages (resume after suspend, argo.md §8.5). */
  reregister(ring: ArgoRing): void {
    check('register_ring', this.register(ring.aport, ring.partner, ring.len, ring.gfns, 0));
  }

  /** Unregisters a ring and frees its pages. */
  unregisterRing(ring: ArgoRing): void {
    const mem = this.platform.memory;
    const at = this.scratch + STRUCT_AT;
    mem.view.setUint32(at + UNREGISTER_RING.aport, ring.aport, true);
    mem.view.setUint16(at + UNREGISTER_RING.partner_id, ring.partner, true);
    mem.view.setUint16(at + UNREGISTER_RING.pad, 0, true);
    check('unregister_ring', this.platform.argoOp(XEN_ARGO_OP_unregister_ring, at, 0, 0, 0));
    this.rings.delete(ringKey(ring.aport, ring.partner));
    this.pages.free(ring.gfns);
  }

  /** One sendv of iovs already in guest memory: the byte count, or -errno (no throw: the hot path). */
  sendvRaw(dst: ArgoAddr, iovs: readonly GuestIov[], options: SendOptions = {}): number {
    if (iovs.length > XEN_ARGO_MAXIOV) return -ERRNO.EINVAL;
    const v = this.platform.memory.view;
    const sa = this.scratch + SEND_ADDR_AT;
    v.setUint32(sa + SEND_ADDR.src + ADDR.aport, options.srcPort ?? 0, true);
    v.setUint16(sa + SEND_ADDR.src + ADDR.domain_id, XEN_ARGO_DOMID_ANY, true);
    v.setUint16(sa + SEND_ADDR.src + ADDR.pad, 0, true);
    v.setUint32(sa + SEND_ADDR.dst + ADDR.aport, dst.aport, true);
    v.setUint16(sa + SEND_ADDR.dst + ADDR.domain_id, dst.domid, true);
    v.setUint16(sa + SEND_ADDR.dst + ADDR.pad, 0, true);
    const layout = this.platform.compat ? COMPAT_IOV : IOV; // a 32-bit guest's handles are 4 bytes
    for (let i = 0; i < iovs.length; i++) {
      const at = this.scratch + IOVS_AT + i * layout.size;
      v.setUint32(at + layout.iov_hnd, iovs[i].gpa, true);
      if (layout === IOV) v.setUint32(at + IOV.iov_hnd + 4, 0, true);
      v.setUint32(at + layout.iov_len, iovs[i].len, true);
      v.setUint32(at + layout.pad, 0, true);
    }
    return this.platform.argoOp(XEN_ARGO_OP_sendv, sa, this.scratch + IOVS_AT, iovs.length, options.messageType ?? 0);
  }

  /** Sends `payload` once (copied through a bounce buffer); throws ArgoError, EAGAIN included. */
  sendNow(dst: ArgoAddr, payload: Uint8Array, options: SendOptions = {}): number {
    return check('sendv', this.sendvRaw(dst, [this.stage(payload)], options), `to (${dst.domid}, ${dst.aport})`);
  }

  /**
   * Sends `payload`, waiting while the ring is full: on EAGAIN, wait for VIRQ_ARGO, ask notify
   * whether `payload.length` bytes fit (queueing a space-wait if not), retry when SUFFICIENT
   * (argo.md §6.3 sender-side protocol). Rejects with ArgoError on any other sendv failure; with
   * ECONNREFUSED if a re-check finds the ring gone, EMSGSIZE if it can never fit, and EBUSY if the
   * ring already has 32 waiters (no space notification could be queued, so none would ever come).
   *
   * Xen signals nobody when a ring is unregistered or its owner dies (argo.md §6.2), so a sender
   * waiting on such a ring is only woken by some other VIRQ: pass `signal` to give up (it rejects
   * with the signal's reason).
   */
  async send(dst: ArgoAddr, payload: Uint8Array, options: SendOptions & { signal?: AbortSignal } = {}): Promise<number> {
    for (;;) {
      options.signal?.throwIfAborted();
      const epoch = this.virqEpoch;
      const rc = this.sendvRaw(dst, [this.stage(payload)], options);
      if (rc >= 0) return rc;
      if (rc !== -ERRNO.EAGAIN) throw new ArgoError('sendv', rc, `to (${dst.domid}, ${dst.aport})`);
      await this.waitForSpace(dst, payload.length, epoch, options.signal);
    }
  }

  /** Waits until notify reports `bytes` fit in dst's ring (a VIRQ between checks). */
  private async waitForSpace(dst: ArgoAddr, bytes: number, epoch: number, signal: AbortSignal | undefined): Promise<void> {
    for (;;) {
      await this.waitVirq(epoch, signal);
      epoch = this.virqEpoch;
      const [info] = this.notify([{ ring: dst, spaceRequired: bytes }]);
      if (!info.exists) throw new ArgoError('sendv', -ERRNO.ECONNREFUSED, `ring (${dst.domid}, ${dst.aport}) went away`);
      if (info.flags & XEN_ARGO_RING_EMSGSIZE) throw new ArgoError('sendv', -ERRNO.EMSGSIZE, `${bytes} bytes never fit`);
      if (info.sufficient) return;
      if (info.flags & XEN_ARGO_RING_EBUSY) {
        throw new ArgoError('sendv', -ERRNO.EBUSY, `ring (${dst.domid}, ${dst.aport}) has ${MAX_PENDING_PER_RING} waiters already`);
      }
    }
  }

  /** VIRQ_ARGO upcalls seen so far. Read it before checking rings, then `waitVirq(count)`: no wake-up is lost. */
  get virqCount(): number {
    return this.virqEpoch;
  }

  /**
   * Resolves on the first VIRQ_ARGO after `sinceCount` (at once if one came since, or one is
   * pending), clearing the pending bit. Rejects if `signal` aborts.
   */
  waitVirq(sinceCount = this.virqEpoch, signal?: AbortSignal): Promise<void> {
    if (this.virqEpoch !== sinceCount || this.platform.virqPending(VIRQ_ARGO)) {
      this.platform.clearVirq(VIRQ_ARGO);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const wake = () => {
        signal?.removeEventListener('abort', abort);
        this.platform.clearVirq(VIRQ_ARGO);
        resolve();
      };
      const abort = () => {
        const at = this.virqWaiters.indexOf(wake);
        if (at >= 0) this.virqWaiters.splice(at, 1);
        reject(signal!.reason);
      };
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', abort, { once: true });
      this.virqWaiters.push(wake);
    });
  }

  /**
   * Waits until `ring` holds at least one whole message, then consumes them all and notifies
   * (argo.md §5.5): the receive loop of a guest, safe against lost wake-ups when several loops of
   * one guest share its VIRQ.
   */
  async receive(ring: ArgoRing, signal?: AbortSignal): Promise<ArgoMessage[]> {
    for (;;) {
      const count = this.virqEpoch;
      const messages = this.consume(ring);
      if (messages.length > 0) return messages;
      await this.waitVirq(count, signal);
    }
  }

  /**
   * XEN_ARGO_OP_notify: with no queries, the "I consumed" call that wakes senders waiting on my
   * rings; with queries, what each ring can take (and a space-wait queued where it cannot).
   */
  notify(queries: readonly RingQuery[] = []): RingInfo[] {
    if (queries.length === 0) {
      check('notify', this.platform.argoOp(XEN_ARGO_OP_notify, 0, 0, 0, 0));
      return [];
    }
    if (queries.length > MAX_NOTIFY_COUNT) throw new ArgoError('notify', -ERRNO.EACCES, `${queries.length} > ${MAX_NOTIFY_COUNT} entries`);
    const v = this.platform.memory.view;
    const rd = this.scratch + RING_DATA_AT;
    v.setUint32(rd + RING_DATA.nent, queries.length, true);
    v.setUint32(rd + RING_DATA.pad, 0, true);
    queries.forEach((q, i) => {
      const e = rd + RING_DATA.data + i * RING_DATA_ENT.size;
      v.setUint32(e + RING_DATA_ENT.ring_aport, q.ring.aport, true);
      v.setUint16(e + RING_DATA_ENT.ring_domain_id, q.ring.domid, true);
      v.setUint16(e + RING_DATA_ENT.ring_pad, 0, true);
      v.setUint16(e + RING_DATA_ENT.flags, 0, true);
      v.setUint16(e + RING_DATA_ENT.pad, 0, true);
      v.setUint32(e + RING_DATA_ENT.space_required, q.spaceRequired ?? 0, true);
      v.setUint32(e + RING_DATA_ENT.max_message_size, q.maxMessageSize ?? 0, true);
    });
    check('notify', this.platform.argoOp(XEN_ARGO_OP_notify, rd, 0, 0, 0));
    return queries.map((_, i) => {
      const e = rd + RING_DATA.data + i * RING_DATA_ENT.size;
      const flags = v.getUint16(e + RING_DATA_ENT.flags, true);
      return {
        flags,
        maxMessageSize: v.getUint32(e + RING_DATA_ENT.max_message_size, true),
        exists: (flags & XEN_ARGO_RING_EXISTS) !== 0,
        sufficient: (flags & XEN_ARGO_RING_SUFFICIENT) !== 0,
      };
    });
  }

  /** What one ring can take now (notify with one entry). */
  query(ring: ArgoAddr, spaceRequired = 0): RingInfo {
    return this.notify([{ ring, spaceRequired }])[0];
  }

  /** Drains every whole message from a ring, then notifies once so Xen re-checks waiters (§5.5). */
  consume(ring: ArgoRing): ArgoMessage[] {
    const messages = ring.drain();
    if (messages.length > 0) this.notify();
    return messages;
  }

  /** Stops listening for VIRQs (the guest is shutting down). */
  close(): void {
    this.unsubscribe();
  }

  private register(aport: number, partner: number, len: number, gfns: readonly number[], flags: number): number {
    const mem = this.platform.memory;
    const reg = this.scratch + STRUCT_AT;
    mem.view.setUint32(reg + REGISTER_RING.aport, aport, true);
    mem.view.setUint16(reg + REGISTER_RING.partner_id, partner, true);
    mem.view.setUint16(reg + REGISTER_RING.pad, 0, true);
    mem.view.setUint32(reg + REGISTER_RING.len, len, true);
    const list = this.pages.allocateBytes(gfns.length * GFN.size);
    try {
      gfns.forEach((gfn, i) => {
        mem.view.setUint32(list + i * GFN.size, gfn, true);
        mem.view.setUint32(list + i * GFN.size + 4, 0, true);
      });
      return this.platform.argoOp(XEN_ARGO_OP_register_ring, reg, list, gfns.length, flags);
    } finally {
      this.freeRun(list, gfns.length * GFN.size);
    }
  }

  /**
   * Copies a payload into the guest's bounce buffer (grown as needed) and returns its iov, for a
   * following `sendvRaw`. The buffer is reused by the next call.
   */
  stageIov(payload: Uint8Array): GuestIov {
    return this.stage(payload);
  }

  /** Copies a payload into the bounce buffer (grown as needed) and returns its iov. */
  private stage(payload: Uint8Array): GuestIov {
    if (payload.length > this.bounce.bytes) {
      const bytes = Math.ceil(payload.length / PAGE_SIZE) * PAGE_SIZE;
      const gpa = this.pages.allocateBytes(bytes); // may throw: the old buffer stays valid
      if (this.bounce.bytes > 0) this.freeRun(this.bounce.gpa, this.bounce.bytes);
      this.bounce = { gpa, bytes };
    }
    this.platform.memory.u8.set(payload, this.bounce.gpa);
    return { gpa: this.bounce.gpa, len: payload.length };
  }

  private freeRun(gpa: number, bytes: number): void {
    const first = gpa / PAGE_SIZE;
    this.pages.free(Array.from({ length: Math.max(1, Math.ceil(bytes / PAGE_SIZE)) }, (_, i) => first + i));
  }
}

function ringKey(aport: number, partner: number): string {
  return `${aport >>> 0}:${partner}`;
}
