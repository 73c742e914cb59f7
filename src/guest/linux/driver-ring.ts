import type { ArgoRing } from '../argo-ring.js';
import type { ArgoRingId } from './ring-id.js';
import type { ArgoSocketBase } from './socket-base.js';
import type { ArgoRingType } from './socket-state.js';
import type { StreamSocket } from './stream-socket.js';

/**
 * The driver's `struct ring`: one ring registered with Xen, the socket that sponsors it (the one
 * that bound it) and, for a listener, the accepted sockets sharing it. It stays registered while
 * `refcnt` > 0: the sponsor holds one reference and each accepted socket another.
 *
 * @example
 * ```ts
 * const r = driver.ringList[0];
 * r.id.aport; r.type; r.ring.isEmpty();
 * ```
 */
export class DriverRing {
  type: ArgoRingType = 'IDLE';
  sponsor: ArgoSocketBase | null;
  readonly privates = new Set<StreamSocket>();
  refcnt = 1;

  constructor(
    readonly id: Readonly<ArgoRingId>,
    readonly ring: ArgoRing,
    sponsor: ArgoSocketBase,
  ) {
    this.sponsor = sponsor;
  }

  get len(): number {
    return this.ring.len;
  }

  /** True when rx ≠ tx: the VIRQ handler has something to look at. */
  get hasData(): boolean {
    return this.ring.rxPtr !== this.ring.txPtr;
  }
}
