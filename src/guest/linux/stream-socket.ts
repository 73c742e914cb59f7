import { ERRNO } from '../../xen/errno.js';
import { ArgoError } from '../argo-error.js';
import type { ArgoAddr } from '../argo-guest.js';
import {
  ARGO_CONNECT_TIMEOUT_MS,
  ARGO_PROTO_STREAM,
  ARGO_PTYPE_STREAM,
  ARGO_SHF_ACK,
  ARGO_SHF_RST,
  ARGO_SHF_SYN,
  ARGO_STREAM_WRITE_LUMP,
  STREAM_HEADER,
} from './constants.js';
import type { DriverRing } from './driver-ring.js';
import { PendingRecvQueue } from './pending-recv.js';
import { ArgoSocketBase, fail } from './socket-base.js';
import { encodeStreamHeader, type StreamHeader } from './stream-header.js';

/** Options of a stream send or receive. */
export interface StreamIoOptions {
  /** O_NONBLOCK / MSG_DONTWAIT: EAGAIN instead of waiting. */
  nonblock?: boolean;
}

const RECV_BYTES_DEFAULT = 65_536;

/**
 * A socket of `/dev/argo_stream`: the driver's connection emulation over Argo datagrams
 * (argo.md §10.3). Every message carries the STREAM protocol and an 8-byte header
 * {flags, conid}. connect sends SYN and waits (5 s on the injected clock) for ACK (CONNECTED) or
 * RST (ECONNREFUSED); a listener — normally bound to a wildcard ring — queues SYNs, and accept
 * creates an ACCEPTED socket that shares the listener's ring and answers ACK; close sends RST.
 * Writes go out in 32 748-byte lumps as two iovs (header + data).
 *
 * @example
 * ```ts
 * const listener = b.openStream();
 * listener.bind({ aport: 80 }); // partner ANY: needs mac-permissive
 * listener.listen();
 * const client = a.openStream();
 * const accepting = listener.accept();
 * await client.connect({ domid: 2, aport: 80 });
 * const server = await accepting;
 * await client.send(new TextEncoder().encode('hello'));
 * await server.recv(); // 'hello'
 * client.close();      // server.recv() then answers end of stream (an empty array)
 * ```
 */
export class StreamSocket extends ArgoSocketBase {
  readonly sockType = ARGO_PTYPE_STREAM;
  /** @internal Messages the receive path took off the ring for this socket. */
  readonly pending = new PendingRecvQueue();
  private _conid = 0;

  /** @internal The connection id (`conid`). */
  get conid(): number {
    return this._conid;
  }

  /** ARGOIOCLISTEN: BOUND → LISTENING, the ring becomes a listener ring; else EINVAL. */
  listen(): void {
    this.assertOpen('ARGOIOCLISTEN');
    if (this._state !== 'BOUND' || !this._ring) fail('ARGOIOCLISTEN', 'EINVAL', `socket is ${this._state}, not BOUND`);
    this._ring.type = 'LISTENER';
    this._state = 'LISTENING';
  }

  /**
   * ARGOIOCCONNECT (blocking): binds first if IDLE (partner = the peer's domain), sends SYN with a
   * random conid and waits for the answer: ACK → CONNECTED; RST → ECONNREFUSED; nothing for 5 s
   * of the injected clock → ETIMEDOUT. On failure the socket is BOUND again.
   */
  async connect(peer: ArgoAddr): Promise<void> {
    const op = 'ARGOIOCCONNECT';
    this.assertOpen(op);
    if (this._state === 'IDLE') this.bind({ partnerId: peer.domid });
    const r = this.boundRing(op);
    const samePeer = this._peer?.domid === peer.domid && this._peer?.aport === peer.aport;
    if (this._state === 'CONNECTED' && samePeer) return;
    if (this._state === 'BOUND') this.sendSyn(r, peer);
    else if (this._state !== 'CONNECTING' || !samePeer) fail(op, 'EINVAL', `socket is ${this._state}`);
    const cancel = this.driver.clock.setTimer(ARGO_CONNECT_TIMEOUT_MS, () => this.respite());
    try {
      await this.writeq.waitUntil(() => this._state !== 'CONNECTING');
    } finally {
      cancel();
    }
    this.assertOpen(op);
    const after = this.state; // re-read: it changed while we waited
    if (after === 'CONNECTED') return;
    if (after === 'DISCONNECTED') {
      this._state = 'BOUND';
      r.type = 'DGRAM'; // as the driver leaves it
    }
    // The driver's ioctl answers ECONNREFUSED either way and leaves ETIMEDOUT in pending_error;
    // argo.md §10.3 / §14 case 47 surface the timeout as ETIMEDOUT.
    throw new ArgoError(op, this.pendingError || -ERRNO.ECONNREFUSED, `to (${peer.domid}, ${peer.aport})`);
  }

  /**
   * ARGOIOCACCEPT: waits for a queued SYN, then returns a new ACCEPTED socket sharing the
   * listener's ring (its peer is the connector) and sends ACK from the listener's port.
   */
  async accept(options: StreamIoOptions = {}): Promise<StreamSocket> {
    const op = 'ARGOIOCACCEPT';
    this.assertOpen(op);
    if (this._state !== 'LISTENING') fail(op, 'EINVAL', `socket is ${this._state}, not LISTENING`);
    for (;;) {
      if (!options.nonblock) await this.readq.waitUntil(() => this.pending.count > 0 || this._state !== 'LISTENING');
      this.assertOpen(op);
      const wasFull = this.pending.full;
      const syn = this.pending.items.shift();
      if (wasFull) this.driver.fakeIrq(); // SYNs left in the ring can come in now
      if (syn && syn.data.length === 0 && syn.header.flags & ARGO_SHF_SYN) return this.spawnAccepted(syn.from, syn.header.conid);
      if (!syn && options.nonblock) fail(op, 'EAGAIN', 'no connection waiting');
    }
  }

  /**
   * Sends `data` in 32 748-byte lumps, each one sendv of [stream header, lump], waiting while the
   * peer's ring is full. Returns the bytes sent (fewer if the connection failed part way).
   * Errors: ENOTCONN while not connected, EPIPE once the peer reset the connection, EMSGSIZE
   * when a lump + header exceeds this socket's own ring len − 16.
   */
  async send(data: Uint8Array, options: StreamIoOptions = {}): Promise<number> {
    const op = 'ARGOIOCSEND';
    this.assertOpen(op);
    this.checkSendState(op);
    let count = 0;
    while (count < data.length) {
      const lump = data.subarray(count, count + ARGO_STREAM_WRITE_LUMP);
      try {
        await this.sendLump(op, lump, options.nonblock ?? false);
      } catch (e) {
        if (count > 0) return count;
        throw e;
      }
      count += lump.length;
      if (options.nonblock) return count;
    }
    return count;
  }

  /**
   * Receives up to `maxBytes` of the stream, waiting until something is there. Returns an empty
   * array at end of stream (the peer reset the connection); data that arrived before the reset
   * is delivered first. Errors: ENOTCONN while BOUND or CONNECTING, EAGAIN with `nonblock`.
   */
  async recv(maxBytes = RECV_BYTES_DEFAULT, options: StreamIoOptions = {}): Promise<Uint8Array> {
    const op = 'ARGOIOCRECV';
    this.assertOpen(op);
    if (!Number.isInteger(maxBytes) || maxBytes < 1) fail(op, 'EINVAL', `maxBytes ${maxBytes}`);
    const s = this._state;
    if (s === 'BOUND' || s === 'CONNECTING') fail(op, 'ENOTCONN', `socket is ${s}`);
    if (s !== 'CONNECTED' && s !== 'ACCEPTED' && s !== 'DISCONNECTED') fail(op, 'EINVAL', `socket is ${s}`);
    for (;;) {
      const out = this.takePending(maxBytes);
      if (out.length > 0) return out;
      this.assertOpen(op);
      if (this._state === 'DISCONNECTED') return out; // end of stream
      if (options.nonblock) fail(op, 'EAGAIN', 'nothing to read');
      await this.readq.waitUntil(() => this.pending.count > 0 || !this.connected);
    }
  }

  /**
   * @internal `connector_state_machine`: ACK while CONNECTING connects; a second ACK breaks the
   * connection (answer: send RST); RST refuses or ends it. Returns true when an RST should be sent.
   */
  connectorStateMachine(header: StreamHeader): boolean {
    const s = this._state;
    if (header.flags & ARGO_SHF_ACK) {
      if (s === 'CONNECTING') {
        this._state = 'CONNECTED';
        this.pendingError = 0;
        this.writeq.wakeAll();
        return false;
      }
      if (s === 'CONNECTED' || s === 'DISCONNECTED') {
        this.disconnect();
        return true;
      }
    }
    if (header.flags & ARGO_SHF_RST && (s === 'CONNECTING' || s === 'CONNECTED')) {
      if (s === 'CONNECTING') this.pendingError = -ERRNO.ECONNREFUSED;
      this.disconnect();
    }
    return false;
  }

  /** @internal `acceptor_state_machine`: RST ends an accepted connection. */
  acceptorStateMachine(header: StreamHeader): void {
    if (header.flags & ARGO_SHF_RST && this._state === 'ACCEPTED') this.disconnect();
  }

  /** @internal An RST for a SYN not yet accepted takes it off the listener's queue. */
  removePendingSyn(conid: number): void {
    const items = this.pending.items;
    const at = items.findIndex((p) => p.header.flags & ARGO_SHF_SYN && p.header.conid === conid);
    if (at >= 0) items.splice(at, 1);
  }

  /** argo_release: RST every un-accepted SYN of a listener, or the peer of a connection. */
  protected override onRelease(): void {
    const r = this._ring;
    if (!r) return;
    if (this._state === 'LISTENING') {
      for (const p of this.pending.items.splice(0)) {
        if (p.header.flags & ARGO_SHF_SYN) this.driver.xmitQueueRst(r.id.aport, p.header.conid, p.from);
      }
    } else if ((this._state === 'CONNECTED' || this._state === 'CONNECTING' || this._state === 'ACCEPTED') && this._peer) {
      this.driver.xmitQueueRst(r.id.aport, this._conid, this._peer);
    }
    this.pending.clear();
  }

  protected override detachFrom(r: DriverRing): void {
    super.detachFrom(r);
    r.privates.delete(this);
  }

  private get connected(): boolean {
    return this._state === 'CONNECTED' || this._state === 'ACCEPTED';
  }

  private disconnect(): void {
    this._state = 'DISCONNECTED';
    this.readq.wakeAll();
    this.writeq.wakeAll();
  }

  /** The connect timer (`respite`). */
  private respite(): void {
    if (this._state !== 'CONNECTING') return;
    this.pendingError = -ERRNO.ETIMEDOUT;
    this._state = 'DISCONNECTED';
    this.writeq.wakeAll();
  }

  private sendSyn(r: DriverRing, peer: ArgoAddr): void {
    r.type = 'CONNECTOR';
    this._state = 'CONNECTING';
    this._conid = this.driver.random.u32() >>> 0;
    this._peer = { domid: peer.domid, aport: peer.aport >>> 0 };
    const syn = encodeStreamHeader({ flags: ARGO_SHF_SYN, conid: this._conid });
    const rc = this.driver.xmitQueueInline(r.id.aport, this._peer, syn, ARGO_PROTO_STREAM);
    if (rc < 0) {
      this._state = 'BOUND';
      r.type = 'DGRAM';
      throw new ArgoError('ARGOIOCCONNECT', rc, `SYN to (${peer.domid}, ${peer.aport})`);
    }
  }

  private spawnAccepted(from: ArgoAddr, conid: number): StreamSocket {
    const r = this.boundRing('ARGOIOCACCEPT');
    const a = new StreamSocket(this.driver);
    a._state = 'ACCEPTED';
    a._ring = r;
    a._peer = { ...from };
    a._conid = conid;
    r.refcnt++; // get_ring
    r.privates.add(a);
    const ack = encodeStreamHeader({ flags: ARGO_SHF_ACK, conid });
    this.driver.xmitQueueInline(r.id.aport, a._peer, ack, ARGO_PROTO_STREAM);
    return a;
  }

  private checkSendState(op: string): void {
    const s = this._state;
    if (s === 'DISCONNECTED') fail(op, 'EPIPE', 'connection reset by peer'); // argo.md §10.3
    if (s === 'CONNECTING' || s === 'BOUND') fail(op, 'ENOTCONN', `socket is ${s}`);
    if (!this.connected) fail(op, 'EINVAL', `socket is ${s}`);
  }

  /** `argo_stream_sendvto_from_sponsor` / `_private`: one lump, blocking while the ring is full. */
  private async sendLump(op: string, lump: Uint8Array, nonblock: boolean): Promise<void> {
    this.checkSendState(op);
    this.checkMessageSize(op, STREAM_HEADER.size + lump.length);
    const header = encodeStreamHeader({ flags: 0, conid: this._conid });
    await this.sendBlocking(op, this._peer!, [header, lump], ARGO_PROTO_STREAM, nonblock, () => this.connected);
  }

  /** Copies up to `maxBytes` from the pending list; eating a message of a full socket rescans the rings. */
  private takePending(maxBytes: number): Uint8Array {
    const out = new Uint8Array(maxBytes);
    let count = 0;
    let rescan = false;
    const items = this.pending.items;
    while (items.length > 0 && count < maxBytes) {
      const p = items[0];
      const n = Math.min(maxBytes - count, p.data.length - p.dataPtr);
      out.set(p.data.subarray(p.dataPtr, p.dataPtr + n), count);
      count += n;
      p.dataPtr += n;
      if (p.dataPtr === p.data.length) {
        items.shift();
        if (this.pending.full) rescan = true;
      }
    }
    if (rescan) this.driver.fakeIrq();
    return out.subarray(0, count);
  }
}
