import { IOREQ_TYPE_COPY, IOREQ_TYPE_PCI_CONFIG, IOREQ_TYPE_PIO, XEN_DMOP_IO_RANGE_MEMORY, XEN_DMOP_IO_RANGE_PCI, XEN_DMOP_IO_RANGE_PORT } from './constants.js';
import type { Rangeset } from './rangeset.js';

/** What selection looks at in a server. */
export interface SelectableServer {
  readonly id: number;
  readonly enabled: boolean;
  readonly ranges: readonly Rangeset[];
}

/** The access being selected for (the fields of `ioreq_t` that matter). */
export interface SelectableAccess {
  type: number;
  addr: number;
  size: number;
  count: number;
  df: boolean;
}

/**
 * The first and last byte an access touches (§5.6): a rep MMIO access covers count × size bytes,
 * downward from addr when df is set; a port access covers [addr, addr + size − 1].
 */
export function accessSpan(a: SelectableAccess): { first: number; last: number } {
  if (a.type === IOREQ_TYPE_PIO) return { first: a.addr, last: a.addr + a.size - 1 };
  const bytes = a.size * Math.max(1, a.count);
  return a.df ? { first: a.addr - bytes + a.size, last: a.addr + a.size - 1 } : { first: a.addr, last: a.addr + bytes - 1 };
}

/** The SBDF of a PCI config address (addr >> 32, §5.3). */
export const pciConfigSbdf = (addr: number): number => Math.floor(addr / 2 ** 32);

/**
 * `ioreq_server_select` (§5.6): servers newest first (id 7 down to 0), disabled ones skipped; the
 * first whose rangeset of the access's type holds the **whole** access wins. A PCI config access is
 * matched by its SBDF. Returns the server, or null (no server: x86 ignores, Arm aborts).
 *
 * @example
 * ```ts
 * selectServer(servers, { type: IOREQ_TYPE_COPY, addr: 0x2000050, size: 4, count: 1, df: false });
 * ```
 */
export function selectServer<S extends SelectableServer>(servers: readonly (S | undefined)[], a: SelectableAccess): S | null {
  for (let id = servers.length - 1; id >= 0; id--) {
    const s = servers[id];
    if (!s || !s.enabled) continue;
    if (covers(s, a)) return s;
  }
  return null;
}

function covers(s: SelectableServer, a: SelectableAccess): boolean {
  if (a.type === IOREQ_TYPE_PCI_CONFIG) {
    const sbdf = pciConfigSbdf(a.addr);
    return s.ranges[XEN_DMOP_IO_RANGE_PCI].contains(sbdf, sbdf);
  }
  const kind = a.type === IOREQ_TYPE_PIO ? XEN_DMOP_IO_RANGE_PORT : a.type === IOREQ_TYPE_COPY ? XEN_DMOP_IO_RANGE_MEMORY : -1;
  if (kind < 0) return false;
  const { first, last } = accessSpan(a);
  return s.ranges[kind].contains(first, last);
}
