/**
 * Shared set-up for the IOREQ tests: a host with a control domain (the emulator, dom0), a target
 * HVM guest (dom1, unpaused, two vCPUs) and optionally a driver domain (dom2); and an emulator
 * brought up as §5.8a says, which records every notification it hears.
 */
import { createHypervisor, type Hypervisor } from '../../src/xen/hypervisor.js';
import type { GuestMemory } from '../../src/memory/guest-memory.js';
import { createIoreq, type Ioreq, type IoreqOptions } from '../../src/ioreq/ioreq.js';
import { HVM_IOREQSRV_BUFIOREQ_OFF, XEN_DMOP_IO_RANGE_MEMORY, XEN_DMOP_no_gfns } from '../../src/ioreq/constants.js';

export const DOM0 = 0;
export const TARGET = 1;
export const DRIVER = 2;
export const MMIO_BASE = 0x2000000;
export const MMIO_LAST = MMIO_BASE + 0x1ff;

export interface World {
  hv: Hypervisor;
  ioreq: Ioreq;
}

export function world(options: IoreqOptions = {}, vcpus = 2): World {
  const hv = createHypervisor({ maxDomains: 8, gfnArenaPages: 64 });
  hv.createDomain({ domid: DOM0, memoryBytes: 1 << 16 });
  hv.createDomain({ domid: TARGET, vcpus, memoryBytes: 1 << 22 });
  hv.createDomain({ domid: DRIVER, memoryBytes: 1 << 16 });
  for (const d of [DOM0, TARGET, DRIVER]) hv.domctl.unpause(d);
  return { hv, ioreq: createIoreq(hv, options) };
}

/** An emulator after §5.8a: its server id, its mapped pages, its bound ports and what it heard. */
export interface Emulator {
  domid: number;
  id: number;
  page: GuestMemory;
  bufPage: GuestMemory | null;
  /** The emulator's local port of each vCPU. */
  ports: number[];
  bufPort: number;
  heard: number[];
}

/** §5.8a steps 1–6 for `domid` over `target`, mapping [first, last] as MEMORY. */
export function bringUp(w: World, opts: { domid?: number; bufioreq?: number; first?: number; last?: number; enable?: boolean } = {}): Emulator {
  const domid = opts.domid ?? DOM0;
  const id = w.ioreq.createServer(domid, TARGET, opts.bufioreq ?? HVM_IOREQSRV_BUFIOREQ_OFF);
  if (id < 0) throw new Error(`create_ioreq_server: ${id}`);
  const page = w.ioreq.acquireResource(domid, TARGET, id, 1) as GuestMemory;
  const bufPage = opts.bufioreq ? (w.ioreq.acquireResource(domid, TARGET, id, 0) as GuestMemory) : null;
  const info = w.ioreq.getServerInfo(domid, TARGET, id, XEN_DMOP_no_gfns);
  if (typeof info === 'number') throw new Error(`get_info: ${info}`);
  expectZero(w.ioreq.mapIoRange(domid, TARGET, id, XEN_DMOP_IO_RANGE_MEMORY, opts.first ?? MMIO_BASE, opts.last ?? MMIO_LAST));
  if (opts.enable ?? true) expectZero(w.ioreq.setServerState(domid, TARGET, id, true));
  const view = w.ioreq.servers(TARGET).find((s) => s.id === id)!;
  const ports = view.vcpus.map((v) => w.ioreq.bindInterdomain(domid, TARGET, v.port));
  const bufPort = info.bufioreqPort ? w.ioreq.bindInterdomain(domid, TARGET, info.bufioreqPort) : 0;
  const e: Emulator = { domid, id, page, bufPage, ports, bufPort, heard: [] };
  w.ioreq.onEmulatorEvent((d, port) => {
    if (d === domid) e.heard.push(port);
  });
  return e;
}

function expectZero(rc: number): void {
  if (rc !== 0) throw new Error(`dm op failed: ${rc}`);
}
