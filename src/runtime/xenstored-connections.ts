/**
 * How long a xenstored live update takes from writing its state to the new xenstored's re-connection
 * (fault `xenstored_live_update`, its `delay` by default; SIM CHOICE: the spec gives none, and an
 * exec plus a restore of a small store take about a millisecond). Both runtimes.
 */
export const LIVE_UPDATE_MS = 1;

/** Monitor live-update-survives (both runtimes): xenstored exited in its live update over a domain that died during it. */
export function liveUpdateExited(name: string, domid: number): string {
  return `live-update-survives: xenstored exited in its live update: domain ${name} (${domid}) died during it and its ring page could not be mapped; the host has no xenstore`;
}

/**
 * The domains xenstored is connected to — introduced when created, released when dead — and its live
 * update over them (virtio-ioreq-lifecycle.md §6.7 R12; docs/races.md). `xenstore-control live-update`
 * makes xenstored write its state (these connections) and re-execute; the new xenstored reads it and
 * connects again to each domain: maps its ring page, binds its event channel. A domain that died in
 * between (its memory relinquished, its event channels closed by domain_kill), or whose domid now
 * names another domain, cannot be re-connected.
 *
 * @example
 * ```ts
 * const xs = new XenstoredConnections();
 * xs.introduced(3);
 * const saved = xs.save();
 * xs.released(3);                                  // domain 3 died during the update
 * xs.restore(saved, () => true, (domid) => (console.log(`domain ${domid}: cannot map its page`), true));
 * ```
 */
export class XenstoredConnections {
  /** Domid → which introduction (a counter): a domid can be taken again by another domain. */
  private readonly connections = new Map<number, number>();
  private introductions = 0;

  introduced(domid: number): void {
    this.connections.set(domid, ++this.introductions);
  }

  released(domid: number): void {
    this.connections.delete(domid);
  }

  /** The state a live update writes: every connection, by domid. */
  save(): ReadonlyArray<{ domid: number; introduction: number }> {
    return [...this.connections].sort((a, b) => a[0] - b[0]).map(([domid, introduction]) => ({ domid, introduction }));
  }

  /**
   * The new xenstored's re-connection of each saved domain, in domid order: a domain still alive,
   * under the same introduction, is re-connected; for each other one `failed` is told whether its
   * connection is still the saved one (dying, not yet released) and answers whether xenstored goes
   * on (today's drops the connection) or not (the old one exited: the rest are not tried).
   */
  restore(saved: ReadonlyArray<{ domid: number; introduction: number }>, alive: (domid: number) => boolean, failed: (domid: number, current: boolean) => boolean): void {
    for (const c of saved) {
      const current = this.connections.get(c.domid) === c.introduction;
      if (current && alive(c.domid)) continue; // ring re-mapped, event channel re-bound
      if (!failed(c.domid, current)) return;
    }
  }
}
