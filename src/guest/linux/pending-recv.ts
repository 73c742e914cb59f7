import type { ArgoAddr } from '../argo-guest.js';
import { MAX_PENDING_RECVS } from './constants.js';
import type { StreamHeader } from './stream-header.js';

/** One stream message taken off a ring and waiting for its socket's reader (`struct pending_recv`). */
export interface PendingRecv {
  from: ArgoAddr;
  header: StreamHeader;
  data: Uint8Array;
  /** Bytes of `data` already read. */
  dataPtr: number;
}

/**
 * A stream socket's `pending_recv_list`: messages the VIRQ handler moved off the ring. Once more
 * than `MAX_PENDING_RECVS` wait, the socket is "full" and further messages stay in the ring as
 * back-pressure until the reader drains the list (argo.md §10.3).
 *
 * @example
 * ```ts
 * if (!queue.admit()) return STOP; // full: leave the message in the ring
 * queue.push({ from, header, data, dataPtr: 0 });
 * ```
 */
export class PendingRecvQueue {
  readonly items: PendingRecv[] = [];
  /** Set when a message was left in the ring because the list was too long. */
  full = false;

  get count(): number {
    return this.items.length;
  }

  /** `copy_into_pending_recv`'s check: false (and full) when too much is queued already. */
  admit(): boolean {
    if (this.items.length > MAX_PENDING_RECVS) {
      this.full = true;
      return false;
    }
    return true;
  }

  push(item: PendingRecv): void {
    this.items.push(item);
    this.full = false;
  }

  /** Drops everything (release). */
  clear(): void {
    this.items.length = 0;
  }
}
