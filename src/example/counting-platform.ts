import {
  XEN_ARGO_OP_notify,
  XEN_ARGO_OP_register_ring,
  XEN_ARGO_OP_sendv,
  XEN_ARGO_OP_unregister_ring,
} from '../argo/constants.js';
import type { GuestPlatform } from '../guest/platform.js';
import { errnoName } from '../xen/errno.js';

const OP_NAMES: Record<number, string> = {
  [XEN_ARGO_OP_register_ring]: 'register_ring',
  [XEN_ARGO_OP_unregister_ring]: 'unregister_ring',
  [XEN_ARGO_OP_sendv]: 'sendv',
  [XEN_ARGO_OP_notify]: 'notify',
};

/** Per-domain hypercall and VIRQ counts. */
export interface HypercallTally {
  /** op name → calls. */
  calls: Record<string, number>;
  /** errno name → failures. */
  errors: Record<string, number>;
  /** sendv payload bytes that went through. */
  bytesSent: number;
  messagesSent: number;
  /** VIRQ upcalls received. */
  virqs: number;
}

/**
 * Wraps a guest platform so every hypercall and VIRQ upcall is counted: the example's summary is
 * read off these counts, not off the guests' own bookkeeping.
 *
 * @example
 * ```ts
 * const { platform, tally } = countingPlatform(platformOf(hv, 1));
 * ```
 */
export function countingPlatform(inner: GuestPlatform): { platform: GuestPlatform; tally: HypercallTally } {
  const tally: HypercallTally = { calls: {}, errors: {}, bytesSent: 0, messagesSent: 0, virqs: 0 };
  const bump = (map: Record<string, number>, key: string) => (map[key] = (map[key] ?? 0) + 1);
  inner.onVirq(() => tally.virqs++);
  const platform: GuestPlatform = {
    ...inner,
    argoOp(cmd, a1, a2, a3, a4) {
      const rc = inner.argoOp(cmd, a1, a2, a3, a4);
      bump(tally.calls, OP_NAMES[cmd] ?? `op${cmd}`);
      if (rc < 0) bump(tally.errors, errnoName(rc) ?? `E${-rc}`);
      else if (cmd === XEN_ARGO_OP_sendv) {
        tally.bytesSent += rc;
        tally.messagesSent++;
      }
      return rc;
    },
  };
  return { platform, tally };
}
