import type { ArgoAddr, ArgoGuest } from '../guest/argo-guest.js';
import type { ArgoRing } from '../guest/argo-ring.js';
import { ArgoError } from '../guest/argo-error.js';
import { ERRNO } from '../xen/errno.js';
import { VIRQ_ARGO } from '../xen/virq.js';
import { vaOpOf, maxPayloadFor } from './protocol.js';

/** Messages an endpoint holds back while the peer's ring is full (a loud limit, never silent growth). */
export const OUTBOX_MESSAGES_MAX = 4096;

/** Hypercalls and bytes one endpoint made and moved. */
export interface EndpointCounters {
  sendv: number;
  notify: number;
  registerRing: number;
  /** sendv answered EAGAIN (argo.md §4.3 step 18): the message waited for VIRQ_ARGO. */
  eagain: number;
  bytesSent: number;
  bytesReceived: number;
  /** Messages from another domain or of another protocol, dropped. */
  dropped: number;
}

/**
 * One side of a VirtIO-Argo device on Argo: its receive ring (partner = the peer only), an ordered
 * outbox towards the peer's ring, and the VIRQ_ARGO upcall that drains the ring and retries the
 * outbox. Every byte leaves through `sendv`; a full peer ring (EAGAIN) holds the message — and every
 * later one, so nothing is reordered (case 48) — until Xen's space notification (argo.md §6.3).
 *
 * @example
 * ```ts
 * const ep = new VirtioArgoEndpoint(guest, 0x10000, { domid: 2, aport: 0x10000 }, 65472, (op, payload) => handle(op, payload));
 * ep.register();            // 0, or -errno (ESRCH, EACCES from the firewall, ...)
 * ep.send(VA_MSG | VA_OP.HELLO, request);
 * ```
 */
export class VirtioArgoEndpoint {
  readonly counters: EndpointCounters = { sendv: 0, notify: 0, registerRing: 0, eagain: 0, bytesSent: 0, bytesReceived: 0, dropped: 0 };
  ring: ArgoRing | null = null;
  /** When false the upcall does nothing: whoever runs the domain calls `pump` (a paused backend, a scheduler). */
  autoPump = true;
  private readonly outbox: Array<{ type: number; bytes: Uint8Array }> = [];
  private pumping = false;
  private again = false;
  private readonly unsubscribe: () => void;

  constructor(
    readonly guest: ArgoGuest,
    readonly port: number,
    public peer: ArgoAddr,
    readonly ringLen: number,
    private readonly onMessage: (op: number, payload: Uint8Array) => void,
  ) {
    this.unsubscribe = guest.platform.onVirq((virq) => {
      if (virq === VIRQ_ARGO && this.autoPump) this.pump();
    });
  }

  /** The largest message the peer's ring (of the same length) takes. */
  get maxPayload(): number {
    return maxPayloadFor(this.ringLen);
  }

  /** Messages waiting for space in the peer's ring. */
  get backlog(): number {
    return this.outbox.length;
  }

  /** Registers the receive ring with the peer as its only sender; 0 or -errno. */
  register(): number {
    this.counters.registerRing++;
    try {
      this.ring = this.guest.registerRing({ aport: this.port, partner: this.peer.domid, len: this.ringLen });
      return 0;
    } catch (e) {
      if (e instanceof ArgoError) return -e.errno;
      throw e;
    }
  }

  /** Unregisters the ring if Xen still has it (a dead partner's teardown removed it already, argo.md §8.2 step 2). */
  unregister(): void {
    const ring = this.ring;
    this.ring = null;
    this.outbox.length = 0;
    if (ring === null) return;
    try {
      this.guest.unregisterRing(ring);
    } catch (e) {
      if (!(e instanceof ArgoError)) throw e;
      this.guest.pages.free(ring.gfns); // ENOENT: Xen dropped it; the pages are ours again
      this.guest.rings.delete(`${ring.aport}:${ring.partner}`);
    }
  }

  /**
   * Sends one message, in order after any held back: the byte count, 0 when held back for space, or
   * -errno (ECONNREFUSED, ESRCH, EACCES, EPERM, EMSGSIZE: the caller decides what the device does).
   */
  send(type: number, bytes: Uint8Array): number {
    if (this.outbox.length > 0) return this.hold(type, bytes);
    const rc = this.sendv(type, bytes);
    return rc === -ERRNO.EAGAIN ? this.hold(type, bytes) : rc;
  }

  /** Retries held messages in order; 0 when all left or one still waits, else the first hard error. */
  flush(): number {
    while (this.outbox.length > 0) {
      const { type, bytes } = this.outbox[0];
      const rc = this.sendv(type, bytes);
      if (rc === -ERRNO.EAGAIN) return 0;
      if (rc < 0) {
        this.outbox.length = 0;
        return rc;
      }
      this.outbox.shift();
    }
    return 0;
  }

  /**
   * The VIRQ_ARGO upcall: clear the pending bit, retry the outbox, drain the ring (notify once after
   * consuming, argo.md §5.5), dispatch each message; again while a nested upcall came meanwhile.
   * Returns the first hard send error of the retries (0 when none).
   */
  pump(): number {
    return this.upcall(true);
  }

  /**
   * `pump` for a handler that acknowledged VIRQ_ARGO itself, once for every ring of its domain: the
   * pending bit is left alone — cleared here, it would swallow a message that reached another ring
   * of the domain after that ring was drained (a lost wake-up).
   */
  serve(): number {
    return this.upcall(false);
  }

  private upcall(acknowledge: boolean): number {
    if (this.pumping) {
      this.again = true;
      return 0;
    }
    this.pumping = true;
    let rc = 0;
    try {
      do {
        this.again = false;
        if (acknowledge) this.guest.platform.clearVirq(VIRQ_ARGO);
        const flushed = this.flush();
        if (rc === 0) rc = flushed;
        this.drain();
      } while (this.again);
    } finally {
      this.pumping = false;
    }
    return rc;
  }

  /** Stops listening for upcalls. */
  close(): void {
    this.unsubscribe();
  }

  private drain(): void {
    const ring = this.ring;
    if (ring === null) return;
    const messages = ring.drain();
    if (messages.length === 0) return;
    this.counters.notify++;
    this.guest.notify(); // wakes the peer if it waits for space in this ring (argo.md §6.3 "fire")
    for (const m of messages) {
      const op = vaOpOf(m.messageType);
      if (m.source.domid !== this.peer.domid || op < 0) {
        this.counters.dropped++;
        continue;
      }
      this.counters.bytesReceived += m.payload.length;
      this.onMessage(op, m.payload);
    }
  }

  private sendv(type: number, bytes: Uint8Array): number {
    this.counters.sendv++;
    const rc = this.guest.sendvRaw(this.peer, [this.guest.stageIov(bytes)], { messageType: type, srcPort: this.port });
    if (rc >= 0) this.counters.bytesSent += rc;
    else if (rc === -ERRNO.EAGAIN) this.counters.eagain++;
    return rc;
  }

  private hold(type: number, bytes: Uint8Array): number {
    if (this.outbox.length >= OUTBOX_MESSAGES_MAX) throw new Error(`VirtioArgoEndpoint: ${OUTBOX_MESSAGES_MAX} messages held for (${this.peer.domid}, ${this.peer.aport}); the peer never drains`);
    this.outbox.push({ type, bytes: bytes.slice() });
    return 0;
  }
}
