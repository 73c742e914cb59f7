import { describe, expect, it } from 'vitest';
import {
  HVM_IOREQSRV_BUFIOREQ_ATOMIC,
  HVM_IOREQSRV_BUFIOREQ_LEGACY,
  HVM_IOREQSRV_BUFIOREQ_OFF,
  IOREQ_READ,
  IOREQ_TYPE_COPY,
  MAX_NR_IO_RANGES,
  XEN_DMOP_IO_RANGE_MEMORY,
  XEN_DMOP_IO_RANGE_PCI,
  XEN_DMOP_IO_RANGE_PORT,
  XEN_DMOP_no_gfns,
} from '../../src/ioreq/constants.js';
import { readIoreq } from '../../src/ioreq/ioreq-page.js';
import type { GuestMemory } from '../../src/memory/guest-memory.js';
import { ERRNO } from '../../src/xen/errno.js';
import { createHypervisor } from '../../src/xen/hypervisor.js';
import { createIoreq } from '../../src/ioreq/ioreq.js';
import { DOM0, DRIVER, TARGET, world } from './harness.js';

const MEM = XEN_DMOP_IO_RANGE_MEMORY;

describe('IOREQ device-model ops (virtio-ioreq-lifecycle.md §5.1–§5.2)', () => {
  it('case 26: create_ioreq_server ×9 on one target: ids 0–7, the 9th is -ENOSPC; a freed id is handed out again', () => {
    const { ioreq } = world();
    const ids = Array.from({ length: 9 }, () => ioreq.createServer(DOM0, TARGET, HVM_IOREQSRV_BUFIOREQ_OFF));
    expect(ids).toEqual([0, 1, 2, 3, 4, 5, 6, 7, -ERRNO.ENOSPC]);
    expect(ioreq.destroyServer(DOM0, TARGET, 3)).toBe(0);
    expect(ioreq.createServer(DOM0, TARGET, 0)).toBe(3); // the lowest free id
  });

  it('33rd target: -ENOSPC (SIM: 32 domains hold IOREQ state at once); a dead target\'s record is free again', () => {
    const hv = createHypervisor({ maxDomains: 40, gfnArenaPages: 64 });
    for (let d = 0; d <= 33; d++) hv.createDomain({ domid: d, memoryBytes: 1 << 16 });
    const ioreq = createIoreq(hv);
    for (let d = 1; d <= 32; d++) expect(ioreq.createServer(DOM0, d, HVM_IOREQSRV_BUFIOREQ_OFF)).toBe(0);
    expect(ioreq.createServer(DOM0, 33, HVM_IOREQSRV_BUFIOREQ_OFF)).toBe(-ERRNO.ENOSPC);
    hv.killDomain(1); // relinquish_resources: its servers go
    hv.reapDomain(1); // dead: its record is free
    expect(ioreq.createServer(DOM0, 33, HVM_IOREQSRV_BUFIOREQ_OFF)).toBe(0);
    expect(ioreq.emulatorReferences()).toEqual([{ domid: DOM0, servers: 32, zombie: false }]);
  });

  it('SIM: a new server in a freed slot gets the other pair of pages: the old server\'s page, still mapped, reaches nothing of it', () => {
    const w = world();
    const first = w.ioreq.createServer(DOM0, TARGET, HVM_IOREQSRV_BUFIOREQ_OFF);
    const stale = w.ioreq.acquireResource(DOM0, TARGET, first, 1) as GuestMemory;
    expect(w.ioreq.destroyServer(DOM0, TARGET, first)).toBe(0);
    const second = w.ioreq.createServer(DOM0, TARGET, HVM_IOREQSRV_BUFIOREQ_OFF);
    expect(second).toBe(first); // the same slot, id 0
    const page = w.ioreq.acquireResource(DOM0, TARGET, second, 1) as GuestMemory;
    expect(page.u8.byteOffset).not.toBe(stale.u8.byteOffset);
    stale.u8.fill(0xff); // the old emulator scribbles on what it still maps
    expect(page.u8.every((b) => b === 0)).toBe(true);
  });

  it('case 27: handle_bufioreq 1 on Arm is -EINVAL; 3 on x86 is -EINVAL; 0–2 on x86 are accepted', () => {
    const arm = world({ arch: 'arm' }).ioreq;
    expect(arm.createServer(DOM0, TARGET, HVM_IOREQSRV_BUFIOREQ_LEGACY)).toBe(-ERRNO.EINVAL);
    expect(arm.createServer(DOM0, TARGET, HVM_IOREQSRV_BUFIOREQ_ATOMIC)).toBe(-ERRNO.EINVAL);
    expect(arm.createServer(DOM0, TARGET, HVM_IOREQSRV_BUFIOREQ_OFF)).toBe(0);
    const x86 = world().ioreq;
    expect(x86.createServer(DOM0, TARGET, 3)).toBe(-ERRNO.EINVAL);
    expect([0, 1, 2].map((b) => x86.createServer(DOM0, TARGET, b))).toEqual([0, 1, 2]);
  });

  it('case 30: a domain other than the emulator gets -EPERM on map/set_state/destroy/get_info; an unknown id -ENOENT', () => {
    const { ioreq } = world();
    ioreq.setDeviceModel(TARGET, DRIVER); // the driver domain may run DM ops on the target…
    const id = ioreq.createServer(DOM0, TARGET, 0);
    // …but the server is dom0's
    expect(ioreq.mapIoRange(DRIVER, TARGET, id, MEM, 0x1000, 0x1fff)).toBe(-ERRNO.EPERM);
    expect(ioreq.setServerState(DRIVER, TARGET, id, true)).toBe(-ERRNO.EPERM);
    expect(ioreq.destroyServer(DRIVER, TARGET, id)).toBe(-ERRNO.EPERM);
    expect(ioreq.getServerInfo(DRIVER, TARGET, id, XEN_DMOP_no_gfns)).toBe(-ERRNO.EPERM);
    expect(ioreq.acquireResource(DRIVER, TARGET, id, 1)).toBe(-ERRNO.EPERM);
    for (const unknown of [5, 8, -1]) {
      expect(ioreq.mapIoRange(DOM0, TARGET, unknown, MEM, 0x1000, 0x1fff)).toBe(-ERRNO.ENOENT);
      expect(ioreq.setServerState(DOM0, TARGET, unknown, true)).toBe(-ERRNO.ENOENT);
      expect(ioreq.destroyServer(DOM0, TARGET, unknown)).toBe(-ERRNO.ENOENT);
    }
    expect(ioreq.servers(TARGET)).toHaveLength(1);
  });

  it('§5.2 privilege: an unprivileged domain gets -EPERM; a DM op on oneself -EPERM; an absent target -ESRCH', () => {
    const { ioreq } = world();
    expect(ioreq.createServer(DRIVER, TARGET, 0)).toBe(-ERRNO.EPERM); // not dom0, not the target's DM
    expect(ioreq.createServer(TARGET, TARGET, 0)).toBe(-ERRNO.EPERM);
    expect(ioreq.createServer(DOM0, 7, 0)).toBe(-ERRNO.ESRCH);
    ioreq.setDeviceModel(TARGET, DRIVER);
    expect(ioreq.createServer(DRIVER, TARGET, 0)).toBe(0);
  });

  it('XEN_DOMCTL_set_target: a device-model domain has one target (d->target); a guest may have two device-model domains', () => {
    const hv = createHypervisor({ maxDomains: 8, gfnArenaPages: 64 });
    for (const d of [0, 1, 2, 3, 4]) hv.createDomain({ domid: d, memoryBytes: 1 << 16 });
    const ioreq = createIoreq(hv);
    ioreq.setDeviceModel(1, 3);
    ioreq.setDeviceModel(1, 4); // a second device-model domain of guest 1
    expect(ioreq.createServer(3, 1, 0)).toBe(0);
    expect(ioreq.createServer(4, 1, 0)).toBe(1);
    ioreq.setDeviceModel(2, 3); // domain 3's target is now guest 2…
    expect(ioreq.createServer(3, 2, 0)).toBe(0);
    expect(ioreq.setServerState(3, 1, 0, true)).toBe(-ERRNO.EPERM); // …and no longer guest 1
    expect(ioreq.setServerState(4, 1, 1, true)).toBe(0);
  });

  it('build option: without CONFIG_IOREQ_SERVER every IOREQ DM op is -ENOSYS', () => {
    const { ioreq } = world({ built: false });
    expect(ioreq.createServer(DOM0, TARGET, 0)).toBe(-ERRNO.ENOSYS);
    expect(ioreq.mapIoRange(DOM0, TARGET, 0, MEM, 0, 1)).toBe(-ERRNO.ENOSYS);
    expect(ioreq.setServerState(DOM0, TARGET, 0, true)).toBe(-ERRNO.ENOSYS);
    expect(ioreq.destroyServer(DOM0, TARGET, 0)).toBe(-ERRNO.ENOSYS);
    expect(ioreq.getServerInfo(DOM0, TARGET, 0, XEN_DMOP_no_gfns)).toBe(-ERRNO.ENOSYS);
  });

  it('§5.2 op 3: start > end or a bad type is -EINVAL; an overlap in this server -EEXIST; another server may overlap', () => {
    const { ioreq } = world();
    const a = ioreq.createServer(DOM0, TARGET, 0);
    const b = ioreq.createServer(DOM0, TARGET, 0);
    expect(ioreq.mapIoRange(DOM0, TARGET, a, MEM, 0x2000, 0x1fff)).toBe(-ERRNO.EINVAL);
    expect(ioreq.mapIoRange(DOM0, TARGET, a, 3, 0x1000, 0x1fff)).toBe(-ERRNO.EINVAL);
    expect(ioreq.mapIoRange(DOM0, TARGET, a, MEM, 0x1000, 0x1fff)).toBe(0);
    expect(ioreq.mapIoRange(DOM0, TARGET, a, MEM, 0x1fff, 0x2fff)).toBe(-ERRNO.EEXIST);
    expect(ioreq.mapIoRange(DOM0, TARGET, a, XEN_DMOP_IO_RANGE_PORT, 0x1000, 0x1fff)).toBe(0); // another rangeset
    expect(ioreq.mapIoRange(DOM0, TARGET, b, MEM, 0x1800, 0x27ff)).toBe(0);
  });

  it('§5.1 limit: 256 ranges per type, the 257th -ENOMEM; adjacent ranges merge and count once', () => {
    const { ioreq } = world();
    const id = ioreq.createServer(DOM0, TARGET, 0);
    for (let i = 0; i < MAX_NR_IO_RANGES; i++) expect(ioreq.mapIoRange(DOM0, TARGET, id, MEM, i * 0x1000, i * 0x1000 + 0xff)).toBe(0);
    expect(ioreq.mapIoRange(DOM0, TARGET, id, MEM, 0x200000, 0x2000ff)).toBe(-ERRNO.ENOMEM);
    expect(ioreq.mapIoRange(DOM0, TARGET, id, MEM, 0x100, 0x1ff)).toBe(0); // adjacent to [0, 0xff]: merged
    expect(ioreq.mapIoRange(DOM0, TARGET, id, XEN_DMOP_IO_RANGE_PCI, 0x18, 0x18)).toBe(0); // each type has its own 256
    expect(ioreq.servers(TARGET)[0].ranges[MEM]).toHaveLength(MAX_NR_IO_RANGES);
    expect(ioreq.servers(TARGET)[0].ranges[MEM][0]).toEqual({ start: 0, end: 0x1ff });
  });

  it('§5.2 op 4: unmap needs the range wholly contained (-ENOENT); a split at the limit is -ENOMEM', () => {
    const { ioreq } = world();
    const id = ioreq.createServer(DOM0, TARGET, 0);
    expect(ioreq.mapIoRange(DOM0, TARGET, id, MEM, 0x1000, 0x1fff)).toBe(0);
    expect(ioreq.unmapIoRange(DOM0, TARGET, id, MEM, 0x1800, 0x27ff)).toBe(-ERRNO.ENOENT);
    expect(ioreq.unmapIoRange(DOM0, TARGET, id, MEM, 0x1400, 0x17ff)).toBe(0); // splits into two
    expect(ioreq.servers(TARGET)[0].ranges[MEM]).toEqual([{ start: 0x1000, end: 0x13ff }, { start: 0x1800, end: 0x1fff }]);
    for (let i = 2; i < MAX_NR_IO_RANGES; i++) ioreq.mapIoRange(DOM0, TARGET, id, MEM, i * 0x10000, i * 0x10000 + 0xff);
    expect(ioreq.unmapIoRange(DOM0, TARGET, id, MEM, 0x1900, 0x19ff)).toBe(-ERRNO.ENOMEM);
    expect(ioreq.unmapIoRange(DOM0, TARGET, id, MEM, 0x1800, 0x1fff)).toBe(0); // a whole range needs no entry
  });

  it('§5.2 op 2: get_info with no_gfns gives the bufioreq port; without it x86 -ENOMEM, Arm -EOPNOTSUPP (SIM)', () => {
    const { ioreq } = world();
    const id = ioreq.createServer(DOM0, TARGET, HVM_IOREQSRV_BUFIOREQ_ATOMIC);
    const info = ioreq.getServerInfo(DOM0, TARGET, id, XEN_DMOP_no_gfns);
    expect(info).toMatchObject({ ioreqGfn: 0, bufioreqGfn: 0 });
    expect(typeof info === 'object' && info.bufioreqPort > 0).toBe(true);
    expect(ioreq.getServerInfo(DOM0, TARGET, id, 0)).toBe(-ERRNO.ENOMEM);
    const arm = world({ arch: 'arm' }).ioreq;
    expect(arm.getServerInfo(DOM0, TARGET, arm.createServer(DOM0, TARGET, 0), 0)).toBe(-ERRNO.EOPNOTSUPP);
  });

  it('acquire_resource: frame 1 is the synchronous page, frame 0 the buffered page (-EINVAL without one)', () => {
    const { ioreq } = world();
    const off = ioreq.createServer(DOM0, TARGET, HVM_IOREQSRV_BUFIOREQ_OFF);
    expect(ioreq.acquireResource(DOM0, TARGET, off, 0)).toBe(-ERRNO.EINVAL);
    expect(ioreq.acquireResource(DOM0, TARGET, off, 2)).toBe(-ERRNO.EINVAL);
    expect((ioreq.acquireResource(DOM0, TARGET, off, 1) as GuestMemory).bytes).toBe(4096);
  });

  it('§5.8: enabling writes each vCPU\'s vp_eport into its slot; the ports are distinct and bindable once', () => {
    const { ioreq } = world();
    const id = ioreq.createServer(DOM0, TARGET, 0);
    const page = ioreq.acquireResource(DOM0, TARGET, id, 1) as GuestMemory;
    expect([readIoreq(page, 0).vpEport, readIoreq(page, 1).vpEport]).toEqual([0, 0]); // meaningless until enabled
    ioreq.setServerState(DOM0, TARGET, id, true);
    const ports = ioreq.servers(TARGET)[0].vcpus.map((v) => v.port);
    expect([readIoreq(page, 0).vpEport, readIoreq(page, 1).vpEport]).toEqual(ports);
    expect(new Set(ports).size).toBe(2);
    expect(ioreq.bindInterdomain(DRIVER, TARGET, ports[0])).toBe(-ERRNO.EINVAL); // not the remote domain
    expect(ioreq.bindInterdomain(DOM0, TARGET, ports[0])).toBeGreaterThan(0);
    expect(ioreq.bindInterdomain(DOM0, TARGET, ports[0])).toBe(-ERRNO.EINVAL); // already bound
  });

  it('a request sent to an enabled server before its emulator bound the port is heard at the bind (evtchn_bind_interdomain sets the new port pending)', () => {
    const { ioreq } = world();
    const id = ioreq.createServer(DOM0, TARGET, HVM_IOREQSRV_BUFIOREQ_OFF);
    ioreq.mapIoRange(DOM0, TARGET, id, MEM, 0x2000000, 0x20001ff);
    ioreq.setServerState(DOM0, TARGET, id, true);
    // QEMU's order: enable, then bind each vCPU's port — a vCPU that traps in between notifies nobody
    expect(ioreq.access(TARGET, 0, { type: IOREQ_TYPE_COPY, addr: 0x2000000, size: 4, dir: IOREQ_READ }).kind).toBe('blocked');
    expect(ioreq.takeEmulatorEvents(DOM0)).toEqual([]);
    const heard: number[] = [];
    ioreq.onEmulatorEvent((domid, port) => domid === DOM0 && heard.push(port));
    const before = ioreq.emulatorEvents(DOM0);
    const local = ioreq.bindInterdomain(DOM0, TARGET, ioreq.servers(TARGET)[0].vcpus[0].port);
    expect(heard).toEqual([local]);
    expect(ioreq.emulatorEvents(DOM0)).toBe(before + 1); // a thread waiting on the count wakes
    expect(ioreq.takeEmulatorEvents(DOM0)).toEqual([local]);
  });
});

describe('XEN_DMOP_set_irq_level (§5.2 op 19, §5.10 step 5): how a virtio-mmio back end raises its SPI', () => {
  it('Arm: SPIs only (32 ≤ irq < 32 + nr_spis), level 0 or 1; a rising edge is injected once, a line held high is not injected again', () => {
    const { ioreq } = world({ arch: 'arm' });
    const heard: Array<[number, number]> = [];
    ioreq.onIrq((target, irq) => heard.push([target, irq]));
    expect(ioreq.setIrqLevel(DOM0, TARGET, 31, 1)).toBe(-ERRNO.EINVAL); // a PPI
    expect(ioreq.setIrqLevel(DOM0, TARGET, 64, 1)).toBe(-ERRNO.EINVAL); // past the vGIC's SPIs
    expect(ioreq.setIrqLevel(DOM0, TARGET, 33, 2)).toBe(-ERRNO.EINVAL);
    expect(heard).toEqual([]);
    expect(ioreq.setIrqLevel(DOM0, TARGET, 33, 1)).toBe(0);
    expect(ioreq.setIrqLevel(DOM0, TARGET, 33, 1)).toBe(0); // still high: no new edge
    expect(heard).toEqual([[TARGET, 33]]);
    expect(ioreq.irqLevel(TARGET, 33)).toBe(1);
    expect(ioreq.setIrqLevel(DOM0, TARGET, 33, 0)).toBe(0);
    expect(ioreq.irqLevel(TARGET, 33)).toBe(0);
    expect(ioreq.setIrqLevel(DOM0, TARGET, 33, 1)).toBe(0);
    expect(heard).toEqual([[TARGET, 33], [TARGET, 33]]);
  });

  it('the prologue comes first: an unprivileged caller -EPERM, a missing target -ESRCH; x86 has no such op: -EOPNOTSUPP', () => {
    const arm = world({ arch: 'arm' }).ioreq;
    expect(arm.setIrqLevel(DRIVER, TARGET, 33, 1)).toBe(-ERRNO.EPERM); // not the target's device model
    arm.setDeviceModel(TARGET, DRIVER);
    expect(arm.setIrqLevel(DRIVER, TARGET, 33, 1)).toBe(0);
    expect(arm.setIrqLevel(DOM0, 77, 33, 1)).toBe(-ERRNO.ESRCH);
    expect(arm.setIrqLevel(DOM0, TARGET, 31, 1)).toBe(-ERRNO.EINVAL);
    const x86 = world().ioreq;
    expect(x86.setIrqLevel(DOM0, TARGET, 33, 1)).toBe(-ERRNO.EOPNOTSUPP);
    expect(x86.setIrqLevel(DRIVER, TARGET, 33, 1)).toBe(-ERRNO.EPERM);
  });
});
