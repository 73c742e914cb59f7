import { ARGO_MSG_HEADER_BYTES, XEN_ARGO_DOMID_ANY, XEN_ARGO_MSG_SLOT_SIZE } from '../../argo/constants.js';
import { ERRNO, type ErrnoName } from '../../xen/errno.js';
import { ArgoError } from '../argo-error.js';
import type { ArgoAddr } from '../argo-guest.js';
import type { ArgoRing } from '../argo-ring.js';
import type { ArgoDriver } from './argo-driver.js';
import { ARGO_DRIVER_DEFAULT_RING_SIZE, ARGO_DRIVER_RING_SIZE_MIN } from './constants.js';
import type { DriverRing } from './driver-ring.js';
import { UNBOUND_RING_ID, type ArgoRingId } from './ring-id.js';
import type { ArgoSocketState } from './socket-state.js';
import { WaitQueue } from './wait-queue.js';

/** Throws the ArgoError a driver call answers with `-errno`. */
export function fail(op: string, errno: ErrnoName, detail?: string): never {
  throw new ArgoError(op, -ERRNO[errno], detail);
}

/**
 * What `/dev/argo_dgram` and `/dev/argo_stream` sockets share (the driver's `struct argo_private`):
 * the state, the ring size asked for, the ring once bound, the peer, the pending error and the
 * read / write wait queues. Operations are named after the ioctls they model (argo.md §10.1) and
 * fail with `ArgoError` carrying the errno name.
 *
 * @example
 * ```ts
 * const s = driver.openDgram();
 * s.setRingSize(4032);
 * s.bind({ aport: 0, partnerId: 2 }); // { domainId: 0x7ff4, partnerId: 2, aport: 0x8…… }
 * s.close();
 * ```
 */
export abstract class ArgoSocketBase {
  /** ARGOIOCGETSOCKTYPE: `ARGO_PTYPE_DGRAM` (1) or `ARGO_PTYPE_STREAM` (2). */
  abstract readonly sockType: number;
  /** Messages thrown away because `message_type` was not this socket's protocol. */
  droppedWrongProtocol = 0;
  /** @internal Woken when something arrives for this socket. */
  readonly readq = new WaitQueue();
  /** @internal Woken when a blocked write may go through, or the state changed. */
  readonly writeq = new WaitQueue();
  protected _state: ArgoSocketState = 'IDLE';
  protected _ring: DriverRing | null = null;
  protected _peer: ArgoAddr | null = null;
  /** 0 or -errno (`pending_error`). */
  protected pendingError = 0;
  protected desiredRingSize = ARGO_DRIVER_DEFAULT_RING_SIZE;

  constructor(protected readonly driver: ArgoDriver) {}

  /** Where the socket stands; `CLOSED` once released. */
  get state(): ArgoSocketState {
    return this._state;
  }

  /** The socket's ring as the guest maps it (for inspection), once bound or accepted. */
  get ring(): ArgoRing | undefined {
    return this._ring?.ring;
  }

  /** @internal The driver ring, for the receive path. */
  get driverRing(): DriverRing | null {
    return this._ring;
  }

  /** @internal The connected / accepted peer. */
  get peer(): ArgoAddr | null {
    return this._peer;
  }

  /**
   * ARGOIOCSETRINGSIZE: the ring `len` a later bind registers. Only while IDLE; at least 48 and a
   * multiple of 16, else EINVAL (argo.md §10.1).
   */
  setRingSize(bytes: number): void {
    this.assertOpen('ARGOIOCSETRINGSIZE');
    const min = ARGO_DRIVER_RING_SIZE_MIN;
    if (!Number.isInteger(bytes) || bytes < min || bytes % XEN_ARGO_MSG_SLOT_SIZE !== 0) {
      fail('ARGOIOCSETRINGSIZE', 'EINVAL', `ring size ${bytes} must be >= ${min} and a multiple of 16`);
    }
    if (this._state !== 'IDLE') fail('ARGOIOCSETRINGSIZE', 'EINVAL', `socket is ${this._state}, not IDLE`);
    this.desiredRingSize = bytes;
  }

  /**
   * ARGOIOCBIND: registers the socket's ring (flags 0) and moves IDLE → BOUND. `domainId` must be
   * `XEN_ARGO_DOMID_ANY` (the default) else EINVAL; `aport` 0 (the default) picks a free port;
   * an (aport, partner) pair already bound in this domain is EADDRINUSE; `partnerId` defaults to
   * ANY (a wildcard ring, which Xen only allows with mac-permissive). Returns the bound name.
   */
  bind(id: Partial<ArgoRingId> = {}): ArgoRingId {
    this.assertOpen('ARGOIOCBIND');
    const want: ArgoRingId = {
      domainId: id.domainId ?? XEN_ARGO_DOMID_ANY,
      partnerId: id.partnerId ?? XEN_ARGO_DOMID_ANY,
      aport: id.aport ?? 0,
    };
    if (want.domainId !== XEN_ARGO_DOMID_ANY) {
      fail('ARGOIOCBIND', 'EINVAL', `domain_id 0x${want.domainId.toString(16)} is not XEN_ARGO_DOMID_ANY`); // argo.md §10.1
    }
    if (this._state !== 'IDLE') fail('ARGOIOCBIND', 'EINVAL', `socket is ${this._state}, not IDLE`);
    const r = this.driver.newRing(this, want, this.desiredRingSize);
    this._ring = r;
    this._state = 'BOUND';
    this.onBound(r);
    return { ...r.id };
  }

  /** ARGOIOCGETSOCKNAME: the ring id, or (ANY, ANY, 0) while unbound. */
  getSockName(): ArgoRingId {
    return this._ring ? { ...this._ring.id } : { ...UNBOUND_RING_ID };
  }

  /** ARGOIOCGETPEERNAME: the peer while CONNECTING, CONNECTED or ACCEPTED, else ENOTCONN. */
  getPeerName(): ArgoAddr {
    const s = this._state;
    if ((s !== 'CONNECTING' && s !== 'CONNECTED' && s !== 'ACCEPTED') || !this._peer) {
      fail('ARGOIOCGETPEERNAME', 'ENOTCONN', `socket is ${s}`);
    }
    return { ...this._peer };
  }

  /** ARGOIOCGETCONNECTERR: the pending error (0 or -errno), which reading clears. */
  getConnectError(): number {
    const e = this.pendingError;
    this.pendingError = 0;
    return e;
  }

  /**
   * Release (the last close of the fd): protocol goodbyes (stream RSTs), then the socket's ring
   * reference is dropped; the ring is unregistered when no socket uses it any more. Blocked calls
   * fail with EBADF. Idempotent.
   */
  close(): void {
    if (this._state === 'CLOSED') return;
    this.onRelease();
    const r = this._ring;
    if (r) {
      this.detachFrom(r);
      this.driver.putRing(r);
    }
    this.driver.xmit.removeOwner(this);
    this._ring = null;
    this._state = 'CLOSED';
    this.readq.wakeAll();
    this.writeq.wakeAll();
  }

  /** Hook: the ring was just registered. */
  protected onBound(_ring: DriverRing): void {}

  /** Hook: protocol work before the ring is let go. */
  protected onRelease(): void {}

  /** Lets go of the ring's sponsorship (accepted sockets also leave `privates`). */
  protected detachFrom(r: DriverRing): void {
    if (r.sponsor === this) r.sponsor = null;
  }

  protected assertOpen(op: string): void {
    if (this._state === 'CLOSED') fail(op, 'EBADF', 'socket is closed');
  }

  /** The bound ring, or EINVAL / EBADF. */
  protected boundRing(op: string): DriverRing {
    this.assertOpen(op);
    if (!this._ring) fail(op, 'EINVAL', `socket is ${this._state}, not bound`);
    return this._ring;
  }

  /** The driver-level size check: payload > own ring len − 16 is EMSGSIZE (argo.md §10.2). */
  protected checkMessageSize(op: string, bytes: number): void {
    const r = this.boundRing(op);
    if (bytes > r.len - ARGO_MSG_HEADER_BYTES) {
      fail(op, 'EMSGSIZE', `${bytes} bytes > own ring len ${r.len} - ${ARGO_MSG_HEADER_BYTES}`);
    }
  }

  /**
   * `argo_try_sendv_sponsor` / `_privates`: one sendv from this socket's ring port; EAGAIN queues
   * a writer wakeup on the driver's transmit list, any other answer removes it.
   */
  protected trySendv(to: ArgoAddr, parts: readonly Uint8Array[], protocol: number): number {
    const r = this.boundRing('ARGOIOCSEND');
    const rc = this.driver.sendv(r.id.aport, to, parts, protocol);
    if (rc === -ERRNO.EAGAIN) {
      const len = parts.reduce((n, p) => n + p.length, 0);
      this.driver.xmit.queueWakeup(this, to, len, () => this.writeq.wakeAll());
    } else {
      this.driver.xmit.removeWakeup(this, to);
    }
    return rc;
  }

  /**
   * A send that waits while the destination ring is full: the EAGAIN leaves a wakeup on the
   * transmit list, Xen signals VIRQ_ARGO once the receiver consumed, the VIRQ handler's notify
   * reports SUFFICIENT and wakes the write queue, and the send is tried again. It also stops
   * waiting when `stillOk()` turns false (ENOTCONN; the driver answers EPIPE, not in ERRNO).
   */
  protected async sendBlocking(
    op: string,
    to: ArgoAddr,
    parts: readonly Uint8Array[],
    protocol: number,
    nonblock: boolean,
    stillOk: () => boolean = () => true,
  ): Promise<number> {
    if (nonblock) {
      const r = this.boundRing(op);
      return this.answer(op, this.driver.sendv(r.id.aport, to, parts, protocol), to);
    }
    let rc = -ERRNO.EAGAIN;
    await this.writeq.waitUntil(
      () => this._state === 'CLOSED' || (rc = this.trySendv(to, parts, protocol)) !== -ERRNO.EAGAIN || !stillOk(),
    );
    this.assertOpen(op);
    if (rc === -ERRNO.EAGAIN) {
      this.driver.xmit.removeWakeup(this, to);
      fail(op, 'ENOTCONN', 'connection reset while the send waited (EPIPE in the driver)');
    }
    return this.answer(op, rc, to);
  }

  private answer(op: string, rc: number, to: ArgoAddr): number {
    if (rc < 0) throw new ArgoError(op, rc, `to (${to.domid}, ${to.aport})`);
    return rc;
  }
}
