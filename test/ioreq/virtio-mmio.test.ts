import { describe, expect, it } from 'vitest';
import { IOREQ_READ, IOREQ_TYPE_COPY } from '../../src/ioreq/constants.js';
import { VirtioMmioBackend } from '../../src/ioreq/virtio-mmio/mmio-backend.js';
import { sentAndReturned, VirtioMmioTransport } from '../../src/ioreq/virtio-mmio/mmio-transport.js';
import { VcpuMonitors } from '../../src/ioreq/vcpu-monitors.js';
import { SHUTDOWN_suspend } from '../../src/domain/lifecycle.js';
import type { IoreqAccess } from '../../src/ioreq/send.js';
import { GUEST_VIRTIO_MMIO_BASE, VIRTIO_MMIO, VIRTIO_MMIO_DEVICE_STRIDE, VIRTIO_MMIO_MAGIC } from '../../src/ioreq/virtio-mmio/registers.js';
import { PageAllocator } from '../../src/memory/page-allocator.js';
import { bit, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1 } from '../../src/virtio/constants.js';
import { initialiseDevice, readFeatures } from '../../src/virtio/driver-init.js';
import { DriverQueue } from '../../src/virtio/driver-queue.js';
import { VirtioBlkDriver } from '../../src/virtio/blk/blk-driver.js';
import { MemoryDisk } from '../../src/virtio/blk/memory-disk.js';
import { virtioBlkModel } from '../../src/virtio/blk/virtio-blk.js';
import { SECTOR_SIZE, VIRTIO_BLK_S_OK, VIRTIO_BLK_T_IN } from '../../src/virtio/blk/constants.js';
import type { VirtioDeviceModel } from '../../src/virtio/virtio-device.js';
import { xorshift } from '../virtio/harness.js';
import { DOM0, TARGET, world } from './harness.js';

const DISK_SECTORS = 256;
const blk = (image = new Uint8Array(DISK_SECTORS * SECTOR_SIZE)) => virtioBlkModel({ disk: new MemoryDisk(image), queueSizeMax: 64 });

function setUp(options: { model?: VirtioDeviceModel; identity?: { magic?: number; version?: number } } = {}) {
  const w = world();
  const levels: number[] = [];
  const backend = new VirtioMmioBackend({ ioreq: w.ioreq, emulator: DOM0, target: TARGET, model: options.model ?? blk(), identity: options.identity, setIrqLevel: (l) => levels.push(l) });
  const mmio = new VirtioMmioTransport(w.ioreq, TARGET, 0, GUEST_VIRTIO_MMIO_BASE);
  return { ...w, backend, mmio, levels };
}

describe('virtio-mmio over IOREQ (virtio-ioreq-lifecycle.md §1.8, §5.10)', () => {
  it('case 21: probe: Magic ≠ 0x74726976 → ignored; Version 3 → ignored; DeviceID 0 → stops silently; else the device', () => {
    expect(setUp({ identity: { magic: 0x12345678 } }).mmio.probe()).toEqual({ kind: 'ignored', why: 'wrong magic value 0x12345678' });
    expect(setUp({ identity: { version: 3 } }).mmio.probe()).toEqual({ kind: 'ignored', why: 'version 3 not supported' });
    expect(setUp({ model: { ...blk(), deviceId: 0 } }).mmio.probe()).toEqual({ kind: 'absent' });
    const ok = setUp();
    expect(ok.mmio.probe()).toEqual({ kind: 'device', deviceId: 2, version: 2 });
    expect(ok.mmio.exits).toBe(3); // three register reads, three ioreq round trips
    expect(ok.backend.requests).toBe(3);
  });

  it('a device model abandoned with its domain\'s kernel (R5) hears nothing more and makes no DM op: its server stays, an access to it is not answered', () => {
    const { ioreq, backend, mmio } = setUp();
    expect(mmio.probe().kind).toBe('device');
    const answered = backend.requests;
    backend.abandon();
    expect(backend.running).toBe(false);
    expect(ioreq.servers(TARGET).map((s) => s.id)).toEqual([backend.id]); // no destroy_ioreq_server
    expect(mmio.read32(VIRTIO_MMIO.MagicValue)).toBe(0xffffffff); // sent to its server, nothing answers in time
    expect(backend.requests).toBe(answered);
    expect(ioreq.vcpuBlocked(TARGET, 0)).toBe(true); // the vCPU waits on it in Xen
  });

  it('program order: behind an access cut short unexecuted (its vCPU could not run it), a later one is not executed either but cut short after it — no access overtakes one that has not run', () => {
    // the parallel runtime's guest: a pause cut the reset's Status write short; the vCPU runs again
    // before the driver's next access. Executing that read while the write waits to be replayed
    // would let the replayed reset undo whatever came after it
    const w = world();
    const backend = new VirtioMmioBackend({ ioreq: w.ioreq, emulator: DOM0, target: TARGET, model: blk(), setIrqLevel: () => {} });
    const replays: Array<{ addr: number; dir: number }> = [];
    const mmio = new VirtioMmioTransport(w.ioreq, TARGET, 0, GUEST_VIRTIO_MMIO_BASE, { cutShort: (access, executed) => void (executed ? undefined : replays.push(access)), behind: () => replays.length > 0 });
    replays.push({ addr: GUEST_VIRTIO_MMIO_BASE + VIRTIO_MMIO.Status, dir: 1 }); // the write cut short while paused
    const before = backend.requests;
    expect(mmio.read32(VIRTIO_MMIO.MagicValue)).toBe(0xffffffff); // not executed: queued behind the write
    expect(backend.requests).toBe(before);
    expect(replays.map((r) => r.addr - GUEST_VIRTIO_MMIO_BASE)).toEqual([VIRTIO_MMIO.Status, VIRTIO_MMIO.MagicValue]);
    replays.length = 0; // caught up (the caller replays them in order)
    expect(mmio.read32(VIRTIO_MMIO.MagicValue)).toBe(VIRTIO_MMIO_MAGIC);
    expect(backend.requests).toBe(before + 1);
  });

  for (const bug of [false, true]) {
    it(`R2 in a thread of its own (the parallel runtime's guest), switch ${bug ? 'on' : 'off'}: a checkpoint begun between the send and Xen's check of it — ${bug ? 'Xen forgets the sent request: the access is handed back to run again, and its second send is what monitor ioreq-once reports' : 'the vCPU waits and takes the answer: one send'}`, () => {
      const w = world({ bugs: { ioreqResentAfterShutdown: bug } });
      const backend = new VirtioMmioBackend({ ioreq: w.ioreq, emulator: DOM0, target: TARGET, model: blk(), setIrqLevel: () => {} });
      const monitors = new VcpuMonitors(w.ioreq, 'guest', 0);
      const findings: string[] = [];
      const replays: IoreqAccess[] = [];
      let checkpoints = 0;
      const side = {
        cutShort: (access: IoreqAccess, executed: boolean) => void (executed ? undefined : replays.push(access)),
        behind: () => replays.length > 0,
        sent: (access: IoreqAccess) => {
          const finding = monitors.sent(access, TARGET);
          if (finding !== null) findings.push(finding);
          // another CPU begins xl save -c's suspend right after the first send
          if (checkpoints++ === 0) expect(w.hv.shutdownDomain(TARGET, SHUTDOWN_suspend)).toBe(0);
        },
      };
      const mmio = new VirtioMmioTransport(w.ioreq, TARGET, 0, GUEST_VIRTIO_MMIO_BASE, side);
      const before = backend.requests;
      mmio.write32(VIRTIO_MMIO.QueueSel, 0);
      expect(w.hv.domctl.resume(TARGET)).toBe(0); // the checkpoint is taken: the guest goes on
      if (!bug) {
        expect(replays).toEqual([]);
        expect(backend.requests - before).toBe(1);
        expect(findings).toEqual([]);
        return;
      }
      expect(replays.map((a) => a.addr - GUEST_VIRTIO_MMIO_BASE)).toEqual([VIRTIO_MMIO.QueueSel]); // its PC was not advanced
      // the runtime catches up (DeviceHost.settle): the instruction runs again
      const again = replays.shift()!;
      expect(w.ioreq.access(TARGET, 0, again).kind).toBe('blocked');
      sentAndReturned(w.ioreq, TARGET, 0, again, side);
      expect(w.ioreq.resume(TARGET, 0).kind).toBe('done');
      expect(backend.requests - before).toBe(2);
      expect(findings).toEqual([`ioreq-once: the write of 4 bytes at 0x${(GUEST_VIRTIO_MMIO_BASE + VIRTIO_MMIO.QueueSel).toString(16)} by vCPU 0 of guest (domain ${TARGET}) went to its device model twice: the instruction ran again after a shutdown and resume although its request had been sent (R2, fixed by Xen b7e0d89788)`]);
    });
  }

  it('§1.8 nothing answers outside the window: a probe of the next device slot reads all-ones (x86, no server)', () => {
    const { ioreq } = setUp();
    expect(new VirtioMmioTransport(ioreq, TARGET, 0, GUEST_VIRTIO_MMIO_BASE + VIRTIO_MMIO_DEVICE_STRIDE).probe()).toEqual({ kind: 'ignored', why: 'wrong magic value 0xffffffff' });
  });

  it('§1.8 control registers take only aligned 32-bit accesses; a byte read of Magic is logged and reads all-ones', () => {
    const { mmio, backend } = setUp();
    expect(mmio.read32(VIRTIO_MMIO.MagicValue, 1)).toBe(0xff);
    expect(backend.device.log.count('config-access-invalid')).toBe(1);
    expect(mmio.read32(VIRTIO_MMIO.MagicValue)).toBe(VIRTIO_MMIO_MAGIC);
  });

  it('§1.2 over the registers: initialisation reaches DRIVER_OK; the vring is foreign-mapped when the queue goes live', () => {
    const { mmio, backend, hv } = setUp();
    const mem = hv.domain(TARGET)!.memory;
    const offered = readFeatures(mmio);
    expect(offered & bit(VIRTIO_F_VERSION_1)).not.toBe(0n);
    const init = initialiseDevice(mmio, mem, new PageAllocator(mem.pages), { wanted: bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_EVENT_IDX) });
    expect(init.ok).toBe(true);
    expect(mmio.readStatus()).toBe(15);
    expect(backend.mappings.count).toBeGreaterThanOrEqual(3); // desc, avail and used
    mmio.writeStatus(0); // reset clears the transport's registers too
    expect(mmio.readStatus()).toBe(0);
    expect(mmio.queueReady(0)).toBe(false);
  });

  it('a range unmapped after selection (R6): the backend re-checks the address and answers without effect', () => {
    const { ioreq, backend } = setUp();
    // a read delivered for an address the backend does not own (forged into the server's range by remapping)
    ioreq.unmapIoRange(DOM0, TARGET, backend.id, 1, GUEST_VIRTIO_MMIO_BASE, GUEST_VIRTIO_MMIO_BASE + 0x1ff);
    ioreq.mapIoRange(DOM0, TARGET, backend.id, 1, 0x3000000, 0x30000ff);
    expect(ioreq.access(TARGET, 1, { type: IOREQ_TYPE_COPY, addr: 0x3000000, size: 4, dir: IOREQ_READ }).kind).toBe('blocked');
    expect(ioreq.resume(TARGET, 1)).toEqual({ kind: 'done', data: 0xffffffffn });
    expect(backend.strays).toBe(1);
  });

  it('R6 removal: the device model unmaps its window, answers the request selected before the unmap as a stray, then destroys its server', () => {
    for (const skipsRangeCheck of [false, true]) {
      const w = world();
      const unserved: Array<{ offset: number; write: boolean }> = [];
      const backend = new VirtioMmioBackend({ ioreq: w.ioreq, emulator: DOM0, target: TARGET, model: blk(), serveOnNotify: false, skipsRangeCheck, onUnservedRequest: (r) => unserved.push(r) });
      // the guest reads MagicValue: Xen selects the server (its range is mapped) and the vCPU waits
      expect(w.ioreq.access(TARGET, 0, { type: IOREQ_TYPE_COPY, addr: GUEST_VIRTIO_MMIO_BASE, size: 4, dir: IOREQ_READ }).kind).toBe('blocked');
      let removed = false;
      backend.remove(() => (removed = true));
      // the window is unmapped at once; the server stays until what is in flight is answered
      expect(w.ioreq.servers(TARGET)[0].ranges[1]).toEqual([]);
      expect(removed).toBe(false);
      backend.servePending();
      expect(removed).toBe(true);
      expect(w.ioreq.servers(TARGET)).toEqual([]);
      // the vCPU's completion runs after the server is gone: it ends the access with nothing to read
      // (f7039ee41b), so even the removed device's answer does not reach it — but it does not hang
      expect(w.ioreq.resume(TARGET, 0)).toEqual({ kind: 'done', data: 0xffffffffn });
      if (!skipsRangeCheck) expect([backend.strays, backend.requests, unserved]).toEqual([1, 1, []]); // re-checked: a stray
      else expect([backend.strays, backend.requests, unserved]).toEqual([0, 1, [{ addr: GUEST_VIRTIO_MMIO_BASE, offset: 0, write: false, unmappedAtMs: null }]]);
      // and the next access finds no server: x86 reads all-ones without an exit to any emulator
      expect(w.ioreq.access(TARGET, 0, { type: IOREQ_TYPE_COPY, addr: GUEST_VIRTIO_MMIO_BASE, size: 4, dir: IOREQ_READ })).toEqual({ kind: 'ignored', reason: 'no-server', data: 0xffffffffn });
    }
  });

  it('R6 removal with nothing in flight destroys the server at once', () => {
    const w = world();
    const backend = new VirtioMmioBackend({ ioreq: w.ioreq, emulator: DOM0, target: TARGET, model: blk(), serveOnNotify: false });
    let removed = 0;
    backend.remove(() => removed++);
    expect([removed, backend.running, w.ioreq.servers(TARGET)]).toEqual([1, false, []]);
    backend.remove(() => removed++); // a second removal finds it gone and says so
    expect(removed).toBe(2);
  });

  it('R6 removal: a second removal waits for the same end; a device model that exits mid-drain ends both', () => {
    const w = world();
    const backend = new VirtioMmioBackend({ ioreq: w.ioreq, emulator: DOM0, target: TARGET, model: blk(), serveOnNotify: false });
    expect(w.ioreq.access(TARGET, 0, { type: IOREQ_TYPE_COPY, addr: GUEST_VIRTIO_MMIO_BASE, size: 4, dir: IOREQ_READ }).kind).toBe('blocked');
    const ended: string[] = [];
    backend.remove(() => ended.push('first'));
    backend.remove(() => ended.push('second'));
    expect(ended).toEqual([]); // a request in flight: both wait
    backend.stop(); // the device model exits (dm_death): its server goes, and the removals with it
    expect(ended).toEqual(['first', 'second']);
    expect(w.ioreq.servers(TARGET)).toEqual([]);
    backend.servePending(); // its queued notification finds nobody
    expect(ended).toHaveLength(2);
  });

  it('workload: 1500 virtio-blk requests over the register path, checked byte for byte against a reference image', () => {
    const image = new Uint8Array(DISK_SECTORS * SECTOR_SIZE);
    const { mmio, backend, hv, levels } = setUp({ model: blk(image) });
    const mem = hv.domain(TARGET)!.memory;
    const pages = new PageAllocator(mem.pages);
    const wanted = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_EVENT_IDX) | bit(VIRTIO_F_INDIRECT_DESC);
    const init = initialiseDevice(mmio, mem, pages, { wanted, queueSizes: [64] });
    if (!init.ok) throw new Error(`initialisation failed at ${init.failedAt}`);
    const queue = new DriverQueue<number>(mem, init.rings[0], {
      eventIdx: (init.features & bit(VIRTIO_F_EVENT_IDX)) !== 0n,
      indirect: (init.features & bit(VIRTIO_F_INDIRECT_DESC)) !== 0n,
      pages,
      notify: () => mmio.notify(0),
    });
    const driver = new VirtioBlkDriver(mem, pages, queue, { slots: 16, slotDataBytes: 8 * SECTOR_SIZE, segmentBytes: 1024 });
    const reference = new Uint8Array(image.length);
    const next = xorshift(21);
    let done = 0;
    let exitsBefore = mmio.exits;
    for (let i = 0; i < 1500; i++) {
      const sectors = 1 + (next() % 8);
      const sector = next() % (DISK_SECTORS - sectors);
      if (next() % 2 === 0) {
        const data = new Uint8Array(sectors * SECTOR_SIZE);
        for (let b = 0; b < data.length; b += 4) data[b] = next() & 0xff;
        reference.set(data, sector * SECTOR_SIZE);
        expect(driver.write(sector, data)).not.toBeNull();
      } else {
        expect(driver.read(sector, sectors)).not.toBeNull();
      }
      driver.kick();
      if (mmio.acknowledgeInterrupt() !== 0 || i % 7 === 0) {
        for (const c of driver.harvest()) {
          expect(c.status).toBe(VIRTIO_BLK_S_OK);
          if (c.type === VIRTIO_BLK_T_IN) expect(sameBytes(c.data!, reference.subarray(c.sector * SECTOR_SIZE))).toBe(true);
          done++;
        }
      }
    }
    for (const c of driver.harvest()) expect(c.status).toBe(VIRTIO_BLK_S_OK), done++;
    expect(done).toBe(1500);
    expect(sameBytes(image, reference)).toBe(true);
    expect(backend.device.served).toBe(1500);
    expect(backend.mappings.count).toBeGreaterThan(1500); // every request's pages were mapped
    expect(levels).toContain(1);
    expect(levels.at(-1)).toBe(0); // acknowledged
    expect(mmio.exits - exitsBefore).toBeGreaterThanOrEqual(1500); // at least one QueueNotify exit each (EVENT_IDX may suppress some)
    exitsBefore = mmio.exits;
    expect(backend.stop()).toBe(0);
    expect(mmio.probe().kind).toBe('ignored'); // the server is gone: the window reads all-ones
  });
});

/** True when `a` equals the first a.length bytes of `b` (vitest's deep equality is slow on big arrays). */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, a.length)) === 0;
}
