import { concatBytes } from './concat-bytes.js';
import { VsockCredit } from './credit.js';
import { VIRTIO_VSOCK_SHUTDOWN_RCV, VIRTIO_VSOCK_SHUTDOWN_SEND } from './constants.js';

/** Where a host connection is: established, or closed (RST either way, both sides shut down, or a transport reset). */
export type VsockConnectionState = 'connected' | 'closed';

/** What the device does for a host connection when the application acts (implemented by `VirtioVsock`). */
export interface VsockHostTransport {
  /** Data or a control packet may now go out: fill receive buffers. */
  pump(): void;
  /** The host closes: RST to the guest, the connection forgotten. */
  resetConnection(conn: VsockHostConnection): void;
  /** The host shuts down directions: SHUTDOWN with these flags. */
  shutdownConnection(conn: VsockHostConnection, flags: number): void;
}

/**
 * The host end of one vsock stream connection, as an accepted socket: `send` queues bytes the device
 * sends as RW while the guest's credit allows (§3.4), `receive` takes the guest's bytes and returns
 * credit (a CREDIT_UPDATE follows), `shutdown` and `close` end it.
 *
 * @example
 * ```ts
 * const conn = vsock.accept(1234)!;
 * conn.send(reply);
 * const bytes = conn.receive();
 * ```
 */
export class VsockHostConnection {
  state: VsockConnectionState = 'connected';
  /** SHUTDOWN flags the guest sent, or-ed (sticky, §3.4). */
  peerShutdown = 0;
  /** SHUTDOWN flags the host sent, or-ed. */
  localShutdown = 0;
  /** A CREDIT_UPDATE is owed to the guest. */
  creditUpdateDue = false;
  readonly credit: VsockCredit;
  /** Bytes the host sent that are not yet on the wire, oldest first. */
  private readonly txQueue: Uint8Array[] = [];
  private txQueuedBytes = 0;
  private readonly rxQueue: Uint8Array[] = [];

  constructor(
    readonly hostPort: number,
    readonly guestPort: number,
    bufAlloc: number,
    private readonly transport: VsockHostTransport,
  ) {
    this.credit = new VsockCredit(bufAlloc);
  }

  /** Bytes sent and not yet transmitted. */
  get pendingTxBytes(): number {
    return this.txQueuedBytes;
  }

  /** Queues `bytes` for the guest; false once closed or shut down for sending. */
  send(bytes: Uint8Array): boolean {
    if (this.state === 'closed' || (this.localShutdown & VIRTIO_VSOCK_SHUTDOWN_SEND) !== 0) return false;
    if (bytes.length === 0) return true;
    this.txQueue.push(bytes.slice());
    this.txQueuedBytes += bytes.length;
    this.transport.pump();
    return true;
  }

  /** Every byte received so far, in order; its credit goes back to the guest (CREDIT_UPDATE). */
  receive(): Uint8Array {
    const out = concatBytes(this.rxQueue.splice(0));
    if (out.length > 0) {
      this.credit.consumed(out.length);
      this.creditUpdateDue = true;
      this.transport.pump();
    }
    return out;
  }

  /** SHUTDOWN with `flags` (RCV 1, SEND 2); sticky. */
  shutdown(flags: number): void {
    if (this.state === 'closed') return;
    this.localShutdown |= flags & (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
    this.transport.shutdownConnection(this, flags);
  }

  /** Closes with RST. */
  close(): void {
    if (this.state !== 'closed') this.transport.resetConnection(this);
  }

  /** Device side: a RW payload from the guest that fit its credit. */
  deliver(payload: Uint8Array): void {
    this.credit.received(payload.length);
    this.rxQueue.push(payload);
  }

  /** Device side: up to `max` bytes to send now, taken off the queue (empty when none). */
  takeTx(max: number): Uint8Array {
    const parts: Uint8Array[] = [];
    let room = max;
    while (room > 0 && this.txQueue.length > 0) {
      const head = this.txQueue[0];
      if (head.length <= room) {
        parts.push(this.txQueue.shift() as Uint8Array);
        room -= head.length;
      } else {
        parts.push(head.subarray(0, room));
        this.txQueue[0] = head.subarray(room);
        room = 0;
      }
    }
    const out = concatBytes(parts);
    this.txQueuedBytes -= out.length;
    return out;
  }

  /** Device side: the connection is gone; unsent bytes are dropped. */
  closed(): void {
    this.state = 'closed';
    this.txQueue.length = 0;
    this.txQueuedBytes = 0;
  }
}
