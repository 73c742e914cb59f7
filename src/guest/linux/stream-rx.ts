import type { ArgoAddr } from '../argo-guest.js';
import type { ArgoMessage } from '../argo-ring.js';
import type { ArgoDriver } from './argo-driver.js';
import { ARGO_PROTO_STREAM, ARGO_SHF_ACK, ARGO_SHF_RST, ARGO_SHF_SYN, STREAM_HEADER } from './constants.js';
import type { DriverRing } from './driver-ring.js';
import { decodeStreamHeader, type StreamHeader } from './stream-header.js';
import type { StreamSocket } from './stream-socket.js';

/**
 * The stream half of the VIRQ receive path (argo-linux `connector_interrupt`,
 * `listener_interrupt`, `acceptor_interrupt`; argo.md §10.3). Each call looks at the next message
 * of a ring and answers true to go on with the ring, false to leave the message where it is
 * (the socket it belongs to is full: back-pressure).
 */

const NOTHING = new Uint8Array(0);

/** A message with a stream header and the stream protocol, or null after throwing it away. */
interface StreamMessage {
  source: ArgoAddr;
  header: StreamHeader;
  /** Payload bytes after the stream header. */
  data: Uint8Array;
  /** True for a bare header (no data). */
  bare: boolean;
}

/**
 * Handles the next message on a connector's ring: a SYN or a message for another connection is
 * answered with RST (never an RST with an RST); ACK / RST drive the connect state machine; data
 * goes to the socket's pending list.
 *
 * @example
 * ```ts
 * while (r.hasData && connectorInterrupt(driver, r));
 * ```
 */
export function connectorInterrupt(driver: ArgoDriver, r: DriverRing): boolean {
  const p = r.sponsor as StreamSocket | null;
  const m = peekStream(r, p);
  if (!m) return true;
  if (!p) {
    consume(r);
    return true;
  }
  const { header, source } = m;
  if (header.flags & ARGO_SHF_SYN) {
    consume(r); // a connector does not take connections
    if (m.bare) driver.xmitQueueRst(r.id.aport, header.conid, source);
    return true;
  }
  if (header.conid !== p.conid) {
    consume(r);
    if (!(header.flags & ARGO_SHF_RST)) driver.xmitQueueRst(r.id.aport, header.conid, source);
    return true;
  }
  if (header.flags & (ARGO_SHF_ACK | ARGO_SHF_RST)) {
    consume(r);
    if (m.bare && p.connectorStateMachine(header)) driver.xmitQueueRst(r.id.aport, header.conid, source);
    return true;
  }
  return queueForReader(r, p, m);
}

/**
 * Handles the next message on a listener's ring: messages of an accepted connection (conid, peer
 * domid, peer port) go to that socket; a SYN is queued for accept; an RST removes a not yet
 * accepted SYN; anything else for an unknown connection is answered with RST.
 *
 * @example
 * ```ts
 * while (r.hasData && listenerInterrupt(driver, r));
 * ```
 */
export function listenerInterrupt(driver: ArgoDriver, r: DriverRing): boolean {
  const listener = r.sponsor as StreamSocket | null;
  const m = peekStream(r, listener);
  if (!m) return true;
  const { header, source } = m;
  for (const p of r.privates) {
    const peer = p.peer;
    if (p.conid === header.conid && peer && peer.domid === source.domid && peer.aport === source.aport) {
      return acceptorInterrupt(driver, r, p, m);
    }
  }
  if (header.flags & ARGO_SHF_RST) {
    listener?.removePendingSyn(header.conid);
    consume(r);
    return true;
  }
  if (header.flags & ARGO_SHF_SYN) {
    if (!listener || !m.bare) {
      consume(r);
      return true;
    }
    return queueForReader(r, listener, m);
  }
  consume(r);
  driver.xmitQueueRst(r.id.aport, header.conid, source); // data for an unknown connection
  return true;
}

/** An accepted socket's message: SYN / ACK are answered with RST, RST disconnects, data is queued. */
function acceptorInterrupt(driver: ArgoDriver, r: DriverRing, p: StreamSocket, m: StreamMessage): boolean {
  const { header, source } = m;
  if (header.flags & (ARGO_SHF_SYN | ARGO_SHF_ACK)) {
    consume(r);
    if (m.bare) driver.xmitQueueRst(r.id.aport, header.conid, source);
    return true;
  }
  if (header.flags & ARGO_SHF_RST) {
    consume(r);
    if (m.bare) p.acceptorStateMachine(header);
    return true;
  }
  return queueForReader(r, p, m);
}

/** `copy_into_pending_recv`: false (message left in the ring) when the socket is full. */
function queueForReader(r: DriverRing, p: StreamSocket, m: StreamMessage): boolean {
  if (!p.pending.admit()) return false;
  consume(r);
  p.pending.push({ from: m.source, header: m.header, data: m.data, dataPtr: 0 });
  p.readq.wakeAll();
  return true;
}

/**
 * Peeks the next message. A torn one makes the driver "recover" the ring (rx = tx); one that is
 * not the stream protocol or too short for a stream header is thrown away and counted.
 */
function peekStream(r: DriverRing, owner: StreamSocket | null): StreamMessage | null {
  const msg: ArgoMessage | null = r.ring.recv({ peek: true });
  if (!msg) {
    r.ring.rxPtr = r.ring.txPtr; // recover_ring
    return null;
  }
  const header = decodeStreamHeader(msg.payload);
  if (msg.messageType !== ARGO_PROTO_STREAM || !header) {
    consume(r); // argo.md §10.2: wrong protocol, bin it
    if (owner) owner.droppedWrongProtocol++;
    return null;
  }
  const data = msg.payload.subarray(STREAM_HEADER.size);
  return { source: msg.source, header, data, bare: data.length === 0 };
}

function consume(r: DriverRing): void {
  r.ring.recvInto(NOTHING);
}
