import { MAX_NOTIFY_COUNT, XEN_ARGO_DOMID_ANY, XEN_ARGO_MAX_RING_SIZE, XEN_ARGO_MSG_SLOT_SIZE, roundupMessage } from '../../argo/constants.js';
import { PAGE_SIZE } from '../../memory/constants.js';
import type { Clock } from '../../runtime/virtual-clock.js';
import { ERRNO } from '../../xen/errno.js';
import { VIRQ_ARGO } from '../../xen/virq.js';
import { ArgoError } from '../argo-error.js';
import { ArgoGuest, type ArgoAddr, type GuestIov } from '../argo-guest.js';
import type { ArgoRing } from '../argo-ring.js';
import type { GuestPlatform } from '../platform.js';
import { ARGO_PORTS_EXHAUSTED, ARGO_PROTO_STREAM, ARGO_SHF_RST } from './constants.js';
import { DgramSocket } from './dgram-socket.js';
import { DriverRing } from './driver-ring.js';
import { PendingXmitList } from './pending-xmit.js';
import { findSparePort } from './port-allocator.js';
import type { RandomSource } from './random-source.js';
import type { ArgoRingId } from './ring-id.js';
import type { ArgoSocketBase } from './socket-base.js';
import { encodeStreamHeader } from './stream-header.js';
import { connectorInterrupt, listenerInterrupt } from './stream-rx.js';
import { StreamSocket } from './stream-socket.js';

/** What the driver is given: time, randomness and (optionally) the guest library and deferral. */
export interface ArgoDriverOptions {
  /** Time for connect timeouts; tests pass a `VirtualClock`. */
  clock: Clock;
  /** Auto ports and connection ids. */
  random: RandomSource;
  /** The domain's guest library; default a new `ArgoGuest` on the platform. */
  guest?: ArgoGuest;
  /** Runs the VIRQ work the interrupt handler defers (the driver's bottom half); default `queueMicrotask`. */
  defer?: (work: () => void) => void;
}

const UNREGISTER_FAILED = 'unregister_ring failed';

/**
 * The OpenXT Linux Argo driver (argo-linux) of one domain, as guest software over `ArgoGuest`
 * (argo.md §10): it opens dgram and stream sockets, keeps the domain's ring list (ports,
 * EADDRINUSE, auto ports), sends with the message_type protocol numbers and runs the VIRQ_ARGO
 * receive path: scan every ring with rx ≠ tx (dgram: wake the reader; stream: demultiplex into
 * the sockets), then one notify carrying an entry per queued transmit (`space_required` = its
 * length) — or notify(NULL) when none is queued — and resend or wake those now SUFFICIENT.
 *
 * @example
 * ```ts
 * const clock = new VirtualClock();
 * const a = new ArgoDriver(platformOf(hv, 1), { clock, random: new SeededRandom(1) });
 * const b = new ArgoDriver(platformOf(hv, 2), { clock, random: new SeededRandom(2) });
 * const rx = b.openDgram();
 * rx.bind({ aport: 7, partnerId: 1 });
 * const tx = a.openDgram();
 * tx.bind({ partnerId: 2 });
 * await tx.send(new TextEncoder().encode('hi'), { to: { domid: 2, aport: 7 } });
 * (await rx.recv()).payload; // 'hi'
 * ```
 */
export class ArgoDriver {
  readonly guest: ArgoGuest;
  readonly clock: Clock;
  readonly random: RandomSource;
  /** @internal The `pending_xmit_list`. */
  readonly xmit = new PendingXmitList();
  /** VIRQ work passes run (deferred interrupts plus the "fake" ones a reader triggers). */
  interruptPasses = 0;
  /** Hypercall failures the driver logs and carries on from (notify, unregister). */
  readonly logged: string[] = [];
  private readonly rings: DriverRing[] = [];
  private readonly defer: (work: () => void) => void;
  private irqQueued = false;
  private bounce = { gpa: 0, bytes: 0 };
  private readonly unsubscribe: () => void;

  constructor(platform: GuestPlatform, options: ArgoDriverOptions) {
    this.guest = options.guest ?? new ArgoGuest(platform);
    if (this.guest.platform !== platform) throw new Error('ArgoDriver: options.guest runs on another platform');
    this.clock = options.clock;
    this.random = options.random;
    this.defer = options.defer ?? queueMicrotask;
    this.unsubscribe = platform.onVirq((virq) => {
      if (virq === VIRQ_ARGO) this.raiseIrq();
    });
  }

  get domid(): number {
    return this.guest.domid;
  }

  /** The driver's `ring_list`, newest first. */
  get ringList(): readonly DriverRing[] {
    return this.rings;
  }

  /** open("/dev/argo_dgram"). */
  openDgram(): DgramSocket {
    return new DgramSocket(this);
  }

  /** open("/dev/argo_stream"). */
  openStream(): StreamSocket {
    return new StreamSocket(this);
  }

  /** Module unload: stops taking VIRQs (sockets are not released). */
  close(): void {
    this.unsubscribe();
  }

  /**
   * @internal `new_ring`: picks the port, checks (aport, partner) is free locally, registers the
   * ring with flags 0 and adds it to the ring list.
   */
  newRing(sponsor: ArgoSocketBase, id: ArgoRingId, len: number): DriverRing {
    const op = 'ARGOIOCBIND';
    if (id.domainId !== XEN_ARGO_DOMID_ANY) throw new ArgoError(op, -ERRNO.EINVAL, 'domain_id is not XEN_ARGO_DOMID_ANY');
    if (len > XEN_ARGO_MAX_RING_SIZE || len % XEN_ARGO_MSG_SLOT_SIZE !== 0) {
      throw new ArgoError(op, -ERRNO.EINVAL, `ring size ${len}`); // allocate_ring
    }
    if (!isU32(id.aport) || !isU16(id.partnerId)) {
      throw new ArgoError(op, -ERRNO.EINVAL, `aport ${id.aport} / partner ${id.partnerId} out of range`);
    }
    let aport = id.aport;
    if (aport === 0) {
      aport = findSparePort(this.rings.map((r) => r.id.aport), this.random);
      if (aport === ARGO_PORTS_EXHAUSTED) throw new ArgoError(op, -ERRNO.ENOSPC, 'no spare port');
    } else if (this.rings.some((r) => r.id.aport === aport && r.id.partnerId === id.partnerId)) {
      throw new ArgoError(op, -ERRNO.EADDRINUSE, `(aport ${aport}, partner ${id.partnerId}) is bound already`);
    }
    let ring: ArgoRing;
    try {
      ring = this.guest.registerRing({ aport, partner: id.partnerId, len });
    } catch (e) {
      if (e instanceof RangeError) throw new ArgoError(op, -ERRNO.ENOMEM, e.message); // vmalloc failed
      throw e;
    }
    const r = new DriverRing(Object.freeze({ domainId: XEN_ARGO_DOMID_ANY, partnerId: id.partnerId, aport }), ring, sponsor);
    this.rings.unshift(r); // list_add
    return r;
  }

  /** @internal `put_ring`: drops a reference; the last one unregisters the ring. */
  putRing(r: DriverRing): void {
    if (r.refcnt <= 0) throw new Error(`put_ring of ring (aport ${r.id.aport}) with refcnt ${r.refcnt}`);
    if (--r.refcnt > 0) return;
    const at = this.rings.indexOf(r);
    if (at < 0) throw new Error(`put_ring: ring (aport ${r.id.aport}) is not in the ring list`);
    this.rings.splice(at, 1);
    try {
      this.guest.unregisterRing(r.ring);
    } catch (e) {
      if (!(e instanceof ArgoError)) throw e;
      this.logged.push(`${UNREGISTER_FAILED}: ${e.message}`); // the driver printks and carries on
    }
  }

  /**
   * @internal One sendv from (this domain, `fromAport`) of `parts` as consecutive iovs, staged in
   * the driver's bounce pages; the byte count or -errno.
   */
  sendv(fromAport: number, to: ArgoAddr, parts: readonly Uint8Array[], protocol: number): number {
    let bytes = 0;
    const offsets = parts.map((p) => {
      const at = bytes;
      bytes += roundupMessage(Math.max(p.length, 1));
      return at;
    });
    if (!this.ensureBounce(bytes)) return -ERRNO.ENOMEM;
    const u8 = this.guest.platform.memory.u8;
    const iovs: GuestIov[] = parts.map((p, i) => {
      const gpa = this.bounce.gpa + offsets[i];
      u8.set(p, gpa);
      return { gpa, len: p.length };
    });
    return this.guest.sendvRaw(to, iovs, { messageType: protocol, srcPort: fromAport });
  }

  /** @internal `xmit_queue_inline`: send now, or on EAGAIN keep a copy to resend (counts as sent). */
  xmitQueueInline(fromAport: number, to: ArgoAddr, data: Uint8Array, protocol: number): number {
    const rc = this.sendv(fromAport, to, [data], protocol);
    if (rc !== -ERRNO.EAGAIN) return rc;
    this.xmit.queueInline(fromAport, to, data, protocol);
    return data.length;
  }

  /** @internal `xmit_queue_rst_to`. */
  xmitQueueRst(fromAport: number, conid: number, to: ArgoAddr): void {
    this.xmitQueueInline(fromAport, to, encodeStreamHeader({ flags: ARGO_SHF_RST, conid }), ARGO_PROTO_STREAM);
  }

  /** @internal `argo_null_notify`: lets Xen wake senders waiting for space on our rings (argo.md §5.5). */
  nullNotify(): void {
    try {
      this.guest.notify();
    } catch (e) {
      if (!(e instanceof ArgoError)) throw e;
      this.logged.push(`notify(NULL) failed: ${e.message}`);
    }
  }

  /** @internal `argo_fake_irq`: a reader freed space in a full socket; rescan and notify(NULL). */
  fakeIrq(): void {
    this.interruptPasses++;
    this.interruptRx();
    this.nullNotify();
  }

  private raiseIrq(): void {
    if (this.irqQueued) return;
    this.irqQueued = true;
    this.defer(() => {
      this.irqQueued = false;
      this.guest.platform.clearVirq(VIRQ_ARGO); // before the scan: a VIRQ raised during it queues another pass
      this.interruptPasses++;
      this.interruptRx();
      this.argoNotify();
    });
  }

  /** `argo_interrupt_rx`: every ring with rx ≠ tx, by ring type. */
  private interruptRx(): void {
    for (const r of [...this.rings]) {
      if (!r.hasData) continue;
      switch (r.type) {
        case 'IDLE':
          r.ring.drain(); // nobody reads a bound-only stream ring: throw it away
          break;
        case 'DGRAM':
          r.sponsor?.readq.wakeAll(); // the reader copies out itself
          break;
        case 'CONNECTOR':
          while (r.hasData && connectorInterrupt(this, r));
          break;
        case 'LISTENER':
          while (r.hasData && listenerInterrupt(this, r));
          break;
      }
    }
  }

  /**
   * `argo_notify`: one notify with an entry per queued transmit; inline ones reported SUFFICIENT
   * are resent, blocked writers woken; entries whose ring no longer exists are dropped (their
   * writer is woken too, so it sees the sendv error instead of sleeping for ever as in the driver).
   */
  private argoNotify(): void {
    const entries = this.xmit.entries.slice(0, MAX_NOTIFY_COUNT);
    if (entries.length === 0) {
      this.nullNotify();
      return;
    }
    let infos;
    try {
      infos = this.guest.notify(entries.map((e) => ({ ring: e.to, spaceRequired: e.len })));
    } catch (e) {
      if (!(e instanceof ArgoError)) throw e;
      this.logged.push(`notify of ${entries.length} entries failed: ${e.message}`);
      return;
    }
    entries.forEach((e, i) => {
      const info = infos[i];
      if (info.exists && !info.sufficient) return;
      if (info.exists && e.type === 'inline' && this.sendv(e.fromAport, e.to, [e.data], e.protocol) === -ERRNO.EAGAIN) return;
      this.xmit.remove(e);
      if (e.type === 'wakeup') e.wake();
    });
  }

  /** Makes the bounce buffer at least `bytes` long; false when guest memory is exhausted. */
  private ensureBounce(bytes: number): boolean {
    if (bytes <= this.bounce.bytes) return true;
    const pages = this.guest.pages;
    if (this.bounce.bytes > 0) {
      const first = this.bounce.gpa / PAGE_SIZE;
      pages.free(Array.from({ length: this.bounce.bytes / PAGE_SIZE }, (_, i) => first + i));
      this.bounce = { gpa: 0, bytes: 0 };
    }
    const want = Math.ceil(bytes / PAGE_SIZE) * PAGE_SIZE;
    try {
      this.bounce = { gpa: pages.allocateBytes(want), bytes: want };
      return true;
    } catch (e) {
      if (e instanceof RangeError) return false;
      throw e;
    }
  }
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function isU16(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffff;
}
