import { XEN_ARGO_DOMID_ANY } from '../../argo/constants.js';
import type { ArgoAddr } from '../argo-guest.js';
import { ARGO_PROTO_DGRAM, ARGO_PTYPE_DGRAM } from './constants.js';
import type { DriverRing } from './driver-ring.js';
import { ArgoSocketBase, fail } from './socket-base.js';

/** A datagram as `recv` returns it. */
export interface DgramMessage {
  /** Sender (domain authenticated by Xen, port as the sender wrote it). */
  from: ArgoAddr;
  payload: Uint8Array;
}

/** Options of a datagram send. */
export interface DgramSendOptions {
  /** Destination (sendto); required while BOUND, refused while CONNECTED. */
  to?: ArgoAddr;
  /** O_NONBLOCK / MSG_DONTWAIT: EAGAIN instead of waiting for space. */
  nonblock?: boolean;
}

/** Options of a datagram receive. */
export interface DgramRecvOptions {
  /** EAGAIN instead of waiting when the ring is empty. */
  nonblock?: boolean;
  /** MSG_PEEK: leave the message in the ring. */
  peek?: boolean;
}

const NOTHING = new Uint8Array(0);

/**
 * A socket of `/dev/argo_dgram` (argo.md §10): one ring per bound socket; sends carry
 * message_type `ARGO_PROTO_DGRAM` (0x6447724D) from the socket's port; the reader copies messages
 * straight out of the ring, calls notify(NULL) after each one so Xen wakes blocked senders, and
 * throws away messages of another protocol (`droppedWrongProtocol`) and, once connected, messages
 * from other peers (`droppedWrongPeer`).
 *
 * @example
 * ```ts
 * const s = driver.openDgram();
 * s.bind({ aport: 5000, partnerId: 1 });
 * const { from, payload } = await s.recv();
 * await s.send(payload, { to: from }); // echo
 * ```
 */
export class DgramSocket extends ArgoSocketBase {
  readonly sockType = ARGO_PTYPE_DGRAM;
  /** Messages thrown away while connected because they came from someone else. */
  droppedWrongPeer = 0;

  /**
   * ARGOIOCCONNECT: sets (or with null clears) the default peer; binds first if IDLE, with the
   * peer's domain as partner (ANY for null). EINVAL in other states.
   */
  connect(peer: ArgoAddr | null): void {
    this.assertOpen('ARGOIOCCONNECT');
    if (this._state === 'IDLE') this.bind({ partnerId: peer ? peer.domid : XEN_ARGO_DOMID_ANY });
    if (this._state !== 'BOUND' && this._state !== 'CONNECTED') fail('ARGOIOCCONNECT', 'EINVAL', `socket is ${this._state}`);
    this._peer = peer ? { domid: peer.domid, aport: peer.aport >>> 0 } : null;
    this._state = peer ? 'CONNECTED' : 'BOUND';
  }

  /**
   * Sends one datagram, waiting while the destination ring is full (EAGAIN → VIRQ → notify →
   * retry, argo.md §6.3). Returns the payload bytes. Errors: ENOTCONN (BOUND, no `to`), EINVAL
   * (unbound), EISCONN (`to` while CONNECTED), EMSGSIZE (payload >
   * own ring len − 16), and what Xen answers (ECONNREFUSED, EMSGSIZE, EAGAIN with `nonblock`...).
   */
  async send(payload: Uint8Array, options: DgramSendOptions = {}): Promise<number> {
    const op = 'ARGOIOCSEND';
    this.assertOpen(op);
    let to: ArgoAddr;
    if (this._state === 'BOUND') {
      if (!options.to) fail(op, 'ENOTCONN', 'no destination and not connected');
      to = options.to;
    } else if (this._state === 'CONNECTED') {
      if (options.to) fail(op, 'EISCONN', 'connected socket given a destination');
      to = this._peer!;
    } else {
      fail(op, 'EINVAL', `socket is ${this._state}`);
    }
    this.checkMessageSize(op, payload.length);
    return this.sendBlocking(op, to, [payload], ARGO_PROTO_DGRAM, options.nonblock ?? false);
  }

  /**
   * Receives the next datagram of the DGRAM protocol (from the peer, once connected), waiting for
   * the VIRQ handler to report data. EAGAIN with `nonblock` and nothing to read.
   */
  async recv(options: DgramRecvOptions = {}): Promise<DgramMessage> {
    const op = 'ARGOIOCRECV';
    const peek = options.peek ?? false;
    for (;;) {
      const r = this.boundRing(op);
      if (!options.nonblock) await this.readq.waitUntil(() => this._state === 'CLOSED' || r.hasData);
      this.assertOpen(op);
      if (!r.hasData) fail(op, 'EAGAIN', 'nothing to read');
      const msg = r.ring.recv({ peek });
      if (!msg) {
        r.ring.rxPtr = r.ring.txPtr; // recover_ring
        continue;
      }
      if (!peek) this.driver.nullNotify(); // argo.md §5.5 step 5
      if (msg.messageType !== ARGO_PROTO_DGRAM) {
        this.droppedWrongProtocol++; // argo.md §10.2
        if (peek) r.ring.recvInto(NOTHING);
        continue;
      }
      const peer = this._peer;
      if (this._state === 'CONNECTED' && peer && (peer.domid !== msg.source.domid || peer.aport !== msg.source.aport)) {
        this.droppedWrongPeer++;
        if (peek) r.ring.recvInto(NOTHING);
        continue;
      }
      return { from: msg.source, payload: msg.payload };
    }
  }

  protected override onBound(r: DriverRing): void {
    r.type = 'DGRAM';
  }
}
