import type { ArgoAddr } from '../argo-guest.js';

/**
 * A message the driver must still send itself (`ARGO_PENDING_XMIT_INLINE`): a control message
 * (SYN, ACK, RST) that met a full ring. The driver keeps its own copy of the bytes.
 */
export interface PendingXmitInline {
  readonly type: 'inline';
  readonly fromAport: number;
  readonly to: ArgoAddr;
  readonly data: Uint8Array;
  readonly protocol: number;
  readonly len: number;
}

/**
 * A writer blocked on a full ring (`ARGO_PENDING_XMIT_WAITQ_MATCH_SPONSOR` / `_PRIVATES`): when
 * notify says `len` bytes fit, `wake` wakes its write queue and it retries.
 */
export interface PendingXmitWakeup {
  readonly type: 'wakeup';
  /** The blocked socket (stands for the driver's (ring id, conid) match). */
  readonly owner: object;
  readonly to: ArgoAddr;
  len: number;
  readonly wake: () => void;
}

export type PendingXmit = PendingXmitInline | PendingXmitWakeup;

/**
 * The driver's `pending_xmit_list` (argo.md §10.3): sends that got EAGAIN. On each VIRQ the
 * driver asks notify about every entry with `space_required = len`, resends or wakes the ones that
 * now fit and forgets the ones whose ring no longer exists.
 *
 * @example
 * ```ts
 * xmit.queueWakeup(socket, peer, 4096, () => socket.writeq.wakeAll());
 * const queries = xmit.entries.map((e) => ({ ring: e.to, spaceRequired: e.len }));
 * ```
 */
export class PendingXmitList {
  private list: PendingXmit[] = [];

  get entries(): readonly PendingXmit[] {
    return this.list;
  }

  get count(): number {
    return this.list.length;
  }

  /** `xmit_queue_inline` after EAGAIN: keep a copy to resend. */
  queueInline(fromAport: number, to: ArgoAddr, data: Uint8Array, protocol: number): void {
    this.list.push({ type: 'inline', fromAport, to: { ...to }, data: data.slice(), protocol, len: data.length });
  }

  /** `xmit_queue_wakeup_*(…, 0)`: one entry per (owner, destination); a second EAGAIN updates its length. */
  queueWakeup(owner: object, to: ArgoAddr, len: number, wake: () => void): void {
    const found = this.findWakeup(owner, to);
    if (found) found.len = len;
    else this.list.push({ type: 'wakeup', owner, to: { ...to }, len, wake });
  }

  /** `xmit_queue_wakeup_*(…, 1)`: the writer got through (or gave up). */
  removeWakeup(owner: object, to: ArgoAddr): void {
    const found = this.findWakeup(owner, to);
    if (found) this.remove(found);
  }

  /** Drops every wakeup entry of a socket being released. */
  removeOwner(owner: object): void {
    this.list = this.list.filter((e) => e.type !== 'wakeup' || e.owner !== owner);
  }

  remove(entry: PendingXmit): void {
    const at = this.list.indexOf(entry);
    if (at < 0) throw new Error(`pending xmit entry to (${entry.to.domid}, ${entry.to.aport}) is not queued`);
    this.list.splice(at, 1);
  }

  private findWakeup(owner: object, to: ArgoAddr): PendingXmitWakeup | undefined {
    for (const e of this.list) {
      if (e.type === 'wakeup' && e.owner === owner && e.to.domid === to.domid && e.to.aport === to.aport) return e;
    }
    return undefined;
  }
}
