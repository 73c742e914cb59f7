import type { GuestMemory } from '../memory/guest-memory.js';
import { ERRNO } from '../xen/errno.js';
import {
  HVM_IOREQSRV_BUFIOREQ_ATOMIC,
  HVM_IOREQSRV_BUFIOREQ_OFF,
  MAX_NR_IOREQ_SERVERS,
  NR_IO_RANGE_TYPES,
  GUEST_NR_SPIS,
  NR_LOCAL_IRQS,
  XEN_DMOP_no_gfns,
  XENMEM_resource_ioreq_server_frame_bufioreq,
} from './constants.js';
import { domainRef, sameDomain, targetOf, type IoreqHost, type IoreqTarget } from './host.js';
import { setSlotEport } from './ioreq-page.js';
import type { IoreqServer } from './server.js';
import { releaseServer } from './teardown.js';
import { wakeVcpu } from './completion.js';

/**
 * XEN_DMOP_set_irq_level (§5.2 op 19; xen/arch/arm/dm.c), after the prologue: Arm only (x86 has no
 * such op: -EOPNOTSUPP); the IRQ must be an SPI of the target's vGIC (NR_LOCAL_IRQS ≤ irq <
 * vgic_num_irqs, else -EINVAL) and the level 0 or 1 (-EINVAL). The line takes the level; a rising
 * edge is injected (`irqListeners`). A guest's handler that finds the line still high when it ends
 * takes it again (level-triggered: `irqLevel`).
 */
export function setIrqLevel(host: IoreqHost, t: IoreqTarget, irq: number, level: number): number {
  if (host.arch !== 'arm') return -ERRNO.EOPNOTSUPP; // x86 dm.c: the op is not handled
  if (!Number.isInteger(irq) || irq < NR_LOCAL_IRQS || irq >= NR_LOCAL_IRQS + GUEST_NR_SPIS) return -ERRNO.EINVAL; // only SPIs
  if (level !== 0 && level !== 1) return -ERRNO.EINVAL;
  const before = t.lines.get(irq) ?? 0;
  t.lines.set(irq, level);
  if (level === 1 && before === 0) {
    t.injectIrq(); // vgic_inject_irq: the guest's thread hears it, wherever the device model runs
    for (const listener of host.irqListeners) listener(t.domid, irq);
  }
  return 0;
}

/** get_ioreq_server_info's answer (§5.2 op 2). */
export interface IoreqServerInfo {
  bufioreqPort: number;
  ioreqGfn: number;
  bufioreqGfn: number;
}

/**
 * The common prologue of every XEN_DMOP_* (dm.c `dm_op`, §5.2): the target must resolve (-ESRCH) and
 * not be the caller; the caller must be privileged over it — the control domain or its device model
 * (XEN_DOMCTL_set_target) — else -EPERM; then an op of a Xen built without CONFIG_IOREQ_SERVER is
 * -ENOSYS. Returns the target's state or -errno.
 */
export function dmOpTarget(host: IoreqHost, caller: number, target: number): IoreqTarget | number {
  const callerDom = host.hv.domain(caller);
  if (!callerDom || host.hv.life(caller) !== 'alive') return -ERRNO.ESRCH;
  if (caller === target) return -ERRNO.EPERM; // rcu_lock_remote_domain_by_id
  if (host.hv.life(target) !== 'alive') return -ERRNO.ESRCH; // SIM CHOICE: a dying target takes no new servers
  if (!callerDom.control && !host.tables.isDeviceModel(caller, target)) return -ERRNO.EPERM; // xsm_dm_op (XSM_DM_PRIV)
  if (!host.built) return -ERRNO.ENOSYS; // the op is not compiled in
  return targetOf(host, target) ?? -ERRNO.ENOSPC; // SIM CHOICE: every IOREQ target record is taken (IOREQ_TARGETS_MAX)
}

/** `get_ioreq_server`: -ENOENT for an unknown id, -EPERM unless the caller is its emulator (§5.1). */
export function ownedServer(host: IoreqHost, t: IoreqTarget, caller: number, id: number): IoreqServer | number {
  const s = Number.isInteger(id) && id >= 0 && id < MAX_NR_IOREQ_SERVERS ? t.servers[id] : undefined;
  if (!s) return -ERRNO.ENOENT;
  if (s.emulator.domid !== caller || !sameDomain(host.hv, s.emulator)) return -ERRNO.EPERM;
  return s;
}

/**
 * create_ioreq_server (§5.2 op 1): the lowest free id (-ENOSPC when all 8 are used); -EINVAL for
 * handle_bufioreq > 2, or ≠ 0 on Arm. The server starts disabled with a port per vCPU (§5.8).
 */
export function createServer(host: IoreqHost, t: IoreqTarget, caller: number, handleBufioreq: number): number {
  if (!Number.isInteger(handleBufioreq) || handleBufioreq < HVM_IOREQSRV_BUFIOREQ_OFF || handleBufioreq > HVM_IOREQSRV_BUFIOREQ_ATOMIC) return -ERRNO.EINVAL;
  if (host.arch === 'arm' && handleBufioreq !== HVM_IOREQSRV_BUFIOREQ_OFF) return -ERRNO.EINVAL; // §5.7: buffered is x86 only
  let id = 0;
  while (id < MAX_NR_IOREQ_SERVERS && t.slot(id).used) id++;
  if (id === MAX_NR_IOREQ_SERVERS) return -ERRNO.ENOSPC;
  const emulator = domainRef(host.hv, caller)!;
  // the vCPUs' ports (each wakes its vCPU), then the buffered one (Xen polls nothing there: -1),
  // before the server is seen
  const consumers = Array.from({ length: t.nvcpus }, (_, v) => v);
  if (handleBufioreq !== HVM_IOREQSRV_BUFIOREQ_OFF) consumers.push(-1);
  const ports: number[] = [];
  for (const vcpu of consumers) {
    const port = host.channels.allocUnbound(t.domid, caller, vcpu);
    if (port < 0) {
      for (const p of ports) host.channels.free(t.domid, p); // get_free_port failed: nothing is kept
      return port;
    }
    ports.push(port);
  }
  t.slot(id).create(emulator, handleBufioreq, ports.slice(0, t.nvcpus), ports[t.nvcpus] ?? 0);
  host.tables.holdEmulator(emulator.domid, emulator.generation);
  return id;
}

/**
 * get_ioreq_server_info (§5.2 op 2). With XEN_DMOP_no_gfns only the bufioreq port is reported.
 * Without it Xen maps the pages at guest gfns: SIM CHOICE (docs/ioreq.md): the model's toolstack
 * reserves no legacy ioreq gfns, so x86 answers -ENOMEM as Xen does when none is free, and Arm
 * -EOPNOTSUPP (it has no legacy path).
 */
export function serverInfo(s: IoreqServer, flags: number, arch: 'x86' | 'arm'): IoreqServerInfo | number {
  if ((flags & XEN_DMOP_no_gfns) === 0) return arch === 'arm' ? -ERRNO.EOPNOTSUPP : -ERRNO.ENOMEM;
  return { bufioreqPort: s.bufPort, ioreqGfn: 0, bufioreqGfn: 0 };
}

/**
 * XENMEM_acquire_resource of an ioreq server: frame 0 the buffered page (-EINVAL when there is
 * none), frame 1 the synchronous page; any other frame -EINVAL.
 */
export function serverFrame(s: IoreqServer, frame: number): GuestMemory | number {
  if (frame === XENMEM_resource_ioreq_server_frame_bufioreq) return s.bufPage ?? -ERRNO.EINVAL;
  return frame === 1 ? s.ioreqPage : -ERRNO.EINVAL;
}

/** map_io_range (§5.2 op 3): -EINVAL (bad type, start > end), -EEXIST (overlaps this server), -ENOMEM (256 used). */
export function mapRange(s: IoreqServer, type: number, start: number, end: number): number {
  if (!Number.isInteger(type) || type < 0 || type >= NR_IO_RANGE_TYPES) return -ERRNO.EINVAL;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end) return -ERRNO.EINVAL;
  const set = s.ranges[type];
  if (set.overlaps(start, end)) return -ERRNO.EEXIST;
  return set.add(start, end);
}

/** unmap_io_range (§5.2 op 4): -ENOENT unless wholly contained; -ENOMEM when a split needs an entry. */
export function unmapRange(s: IoreqServer, type: number, start: number, end: number): number {
  if (!Number.isInteger(type) || type < 0 || type >= NR_IO_RANGE_TYPES) return -ERRNO.EINVAL;
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start > end) return -ERRNO.EINVAL;
  const set = s.ranges[type];
  if (!set.contains(start, end)) return -ERRNO.ENOENT;
  return set.remove(start, end);
}

/**
 * set_ioreq_server_state (§5.2 op 5). Enabling writes each vCPU's `vp_eport` into its slot (§5.8):
 * the page means something from now on. The target is paused across the change in Xen; here the
 * op is one synchronous step, so no vCPU runs during it.
 */
export function setServerState(s: IoreqServer, enabled: boolean): number {
  if (enabled === s.enabled) return 0;
  if (enabled) s.vcpus.forEach((sv, v) => setSlotEport(s.ioreqPage, v, sv.port));
  s.enabled = enabled;
  return 0;
}

/**
 * destroy_ioreq_server (§5.2 op 6, §5.9 row 1): disable, free the ports and pages, drop the ranges.
 * A vCPU waiting on the server is woken; its completion finds no pending server (f7039ee41b).
 */
export function destroyServer(host: IoreqHost, t: IoreqTarget, s: IoreqServer): number {
  const waiting = s.vcpus.flatMap((sv, v) => (sv.pending ? [v] : []));
  releaseServer(host, t, s);
  for (const v of waiting) wakeVcpu(host, t, v);
  return 0;
}
