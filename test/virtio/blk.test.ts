/**
 * virtio-blk (virtio-ioreq-lifecycle.md §3.2; §7 case 23): requests built by the driver helper and
 * served by the device model through the virtqueue device side.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/memory/guest-memory.js';
import { PageAllocator } from '../../src/memory/page-allocator.js';
import { VirtioBlkDriver } from '../../src/virtio/blk/blk-driver.js';
import { type BlockBackend } from '../../src/virtio/blk/block-backend.js';
import { BLK_CONFIG, SECTOR_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO, VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK, VIRTIO_BLK_S_UNSUPP, VIRTIO_BLK_T_IN } from '../../src/virtio/blk/constants.js';
import { FileDisk } from '../../src/virtio/blk/file-disk.js';
import { MemoryDisk } from '../../src/virtio/blk/memory-disk.js';
import { type VirtioBlkOptions, virtioBlkModel } from '../../src/virtio/blk/virtio-blk.js';
import { VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, bit } from '../../src/virtio/constants.js';
import { initialiseDevice, readFeatures } from '../../src/virtio/driver-init.js';
import { DriverQueue } from '../../src/virtio/driver-queue.js';
import { VirtioDevice } from '../../src/virtio/virtio-device.js';

const V1 = bit(VIRTIO_F_VERSION_1);

/** A live virtio-blk device over `disk` and a driver on its queue. */
function blkPair(disk: BlockBackend, options: Partial<VirtioBlkOptions> = {}, wanted = V1 | bit(VIRTIO_BLK_F_FLUSH) | bit(VIRTIO_BLK_F_RO)) {
  const mem = new GuestMemory(1 << 22);
  const pages = new PageAllocator(mem.pages);
  const device = new VirtioDevice(mem, virtioBlkModel({ disk, ...options }));
  const init = initialiseDevice(device, mem, pages, { wanted });
  if (!init.ok) throw new Error(`init failed at ${init.failedAt}`);
  const queue = new DriverQueue<number>(mem, init.rings[0], { notify: () => device.notify(0) });
  const blk = new VirtioBlkDriver(mem, pages, queue, { slots: 16, slotDataBytes: 16 * 1024, segmentBytes: 1024 });
  return { mem, device, blk, features: init.features };
}

function pattern(bytes: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: bytes }, (_, i) => (i * 31 + seed) & 0xff);
}

describe('virtio-blk requests (§3.2)', () => {
  it('OUT then IN round-trip the data through multi-descriptor chains; used.len covers data and status', () => {
    const image = new Uint8Array(64 * SECTOR_SIZE);
    const { blk } = blkPair(new MemoryDisk(image));
    const data = pattern(3 * SECTOR_SIZE, 7);
    const w = blk.write(5, data);
    blk.kick();
    expect(blk.harvest()).toMatchObject([{ tag: w, status: VIRTIO_BLK_S_OK, usedLen: 1 }]);
    expect(image.subarray(5 * 512, 8 * 512)).toEqual(data);
    const r = blk.read(5, 3);
    blk.kick();
    const [done] = blk.harvest();
    expect(done).toMatchObject({ tag: r, type: VIRTIO_BLK_T_IN, status: VIRTIO_BLK_S_OK, usedLen: 3 * 512 + 1 });
    expect(done.data).toEqual(data);
  });

  it('offers VERSION_1, INDIRECT_DESC and FLUSH, and reports capacity and blk_size in config', () => {
    const { device } = blkPair(new MemoryDisk(new Uint8Array(100 * SECTOR_SIZE)));
    const offered = readFeatures(device);
    for (const f of [VIRTIO_F_VERSION_1, VIRTIO_F_INDIRECT_DESC, VIRTIO_BLK_F_FLUSH]) expect(offered & bit(f)).toBe(bit(f));
    expect(offered & bit(VIRTIO_BLK_F_RO)).toBe(0n);
    expect(device.readConfig(BLK_CONFIG.capacity, 4)).toBe(100);
    expect(device.readConfig(BLK_CONFIG.blk_size, 4)).toBe(512);
  });

  it('case 23: OUT on an RO device → IOERR and nothing written', () => {
    const image = pattern(16 * SECTOR_SIZE, 1);
    const before = image.slice();
    const { blk, features } = blkPair(new MemoryDisk(image), { readOnly: true });
    expect(features & bit(VIRTIO_BLK_F_RO)).toBe(bit(VIRTIO_BLK_F_RO));
    blk.write(0, new Uint8Array(2 * SECTOR_SIZE));
    blk.kick();
    expect(blk.harvest()).toMatchObject([{ status: VIRTIO_BLK_S_IOERR }]);
    expect(image).toEqual(before);
    blk.read(0, 1); // reads still work
    blk.kick();
    expect(blk.harvest()[0].data).toEqual(before.subarray(0, 512));
  });

  it('case 23: an unknown type → UNSUPP', () => {
    const { blk, device } = blkPair(new MemoryDisk(new Uint8Array(8 * SECTOR_SIZE)));
    for (const type of [2, 3, 11, 0xffff_ffff]) blk.request(type, 0, {});
    blk.kick();
    expect(blk.harvest().map((c) => c.status)).toEqual([2, 2, 2, 2].map(() => VIRTIO_BLK_S_UNSUPP));
    expect(device.status.live).toBe(true);
  });

  it('case 23: FLUSH with sector ≠ 0 → a driver violation, logged and refused with IOERR; FLUSH with sector 0 → OK', () => {
    const disk = new MemoryDisk(new Uint8Array(8 * SECTOR_SIZE));
    const { blk, device } = blkPair(disk);
    blk.request(4, 3, {});
    blk.flush();
    blk.kick();
    expect(blk.harvest().map((c) => c.status)).toEqual([VIRTIO_BLK_S_IOERR, VIRTIO_BLK_S_OK]);
    expect(device.log.entries).toMatchObject([{ kind: 'request-rule-broken', detail: expect.stringMatching(/FLUSH with sector 3/) }]);
    expect(disk.flushes).toBe(1);
  });

  it('FLUSH without VIRTIO_BLK_F_FLUSH negotiated → UNSUPP', () => {
    const { blk } = blkPair(new MemoryDisk(new Uint8Array(8 * SECTOR_SIZE)), {}, V1);
    blk.flush();
    blk.kick();
    expect(blk.harvest()).toMatchObject([{ status: VIRTIO_BLK_S_UNSUPP }]);
  });

  it('case 23: sectors beyond capacity, or not whole sectors → IOERR, and the device stays live', () => {
    const image = new Uint8Array(8 * SECTOR_SIZE);
    const { blk, device } = blkPair(new MemoryDisk(image));
    blk.read(7, 2); // one sector past the end
    blk.write(8, new Uint8Array(512)); // starts at capacity
    blk.request(VIRTIO_BLK_T_IN, 0, { inBytes: 100 }); // not whole sectors
    blk.request(VIRTIO_BLK_T_IN, 2 ** 40, { inBytes: 512 }); // a 64-bit sector far away
    blk.read(7, 1); // the last sector: fine
    blk.kick();
    expect(blk.harvest().map((c) => c.status)).toEqual([1, 1, 1, 1, 0]);
    expect(image.every((b) => b === 0)).toBe(true);
    expect(device.status.live).toBe(true);
  });

  it('GET_ID answers the 20-byte NUL-padded ID', () => {
    const { blk } = blkPair(new MemoryDisk(new Uint8Array(8 * SECTOR_SIZE)), { id: 'disk-7' });
    blk.getId();
    blk.kick();
    const [done] = blk.harvest();
    expect(done.status).toBe(VIRTIO_BLK_S_OK);
    expect(done.data).toEqual(Uint8Array.from([...'disk-7'].map((c) => c.charCodeAt(0)).concat(Array(14).fill(0))));
  });

  it('a chain too short for the header or without a status byte → malformed: DEVICE_NEEDS_RESET', () => {
    for (const [out, inBufs] of [
      [[{ gpa: 0x3000, len: 8 }], [{ gpa: 0x4000, len: 1 }]],
      [[{ gpa: 0x3000, len: 16 }], []],
    ] as const) {
      const mem = new GuestMemory(1 << 22);
      const pages = new PageAllocator(mem.pages);
      const device = new VirtioDevice(mem, virtioBlkModel({ disk: new MemoryDisk(new Uint8Array(512)) }));
      const init = initialiseDevice(device, mem, pages, { wanted: V1 });
      if (!init.ok) throw new Error('init');
      const q = new DriverQueue<number>(mem, init.rings[0], { notify: () => device.notify(0) });
      q.add(out, inBufs, 1);
      q.kick();
      expect(device.status.is(VIRTIO_CONFIG_S_NEEDS_RESET)).toBe(true);
      expect(device.log.count('malformed-request')).toBe(1);
    }
  });

  it('a header split across descriptors is read whole (no framing assumed, §2.2)', () => {
    const image = pattern(8 * SECTOR_SIZE, 3);
    const mem = new GuestMemory(1 << 22);
    const pages = new PageAllocator(mem.pages);
    const device = new VirtioDevice(mem, virtioBlkModel({ disk: new MemoryDisk(image) }));
    const init = initialiseDevice(device, mem, pages, { wanted: V1 });
    if (!init.ok) throw new Error('init');
    mem.view.setUint32(0x3000, VIRTIO_BLK_T_IN, true);
    mem.view.setUint32(0x3008, 2, true); // sector 2
    const q = new DriverQueue<number>(mem, init.rings[0], { notify: () => device.notify(0) });
    q.add([{ gpa: 0x3000, len: 5 }, { gpa: 0x3005, len: 11 }], [{ gpa: 0x5000, len: 300 }, { gpa: 0x6000, len: 213 }], 1);
    q.kick();
    expect(q.getBuf()).toMatchObject({ token: 1, len: 513 });
    expect(mem.u8[0x6000 + 212]).toBe(VIRTIO_BLK_S_OK);
    expect(new Uint8Array([...mem.read(0x5000, 300), ...mem.read(0x6000, 212)])).toEqual(image.subarray(1024, 1536));
  });
});

describe('FileDisk', () => {
  let dir = '';
  afterEach(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    dir = '';
  });

  it('serves reads and writes from a disk image file, and FLUSH fsyncs', () => {
    dir = mkdtempSync(join(tmpdir(), 'argosim-blk-'));
    const path = join(dir, 'disk.img');
    writeFileSync(path, pattern(16 * SECTOR_SIZE, 9));
    const disk = new FileDisk(path);
    try {
      const { blk } = blkPair(disk);
      blk.write(2, new Uint8Array(512).fill(0x5a));
      blk.flush();
      blk.read(3, 1);
      blk.kick();
      const done = blk.harvest();
      expect(done.map((c) => c.status)).toEqual([0, 0, 0]);
      expect(done[2].data).toEqual(pattern(16 * SECTOR_SIZE, 9).subarray(1536, 2048));
    } finally {
      disk.close();
    }
    expect(readFileSync(path).subarray(1024, 1536).every((b) => b === 0x5a)).toBe(true);
  });

  it('refuses an image that is not whole sectors, naming the file', () => {
    dir = mkdtempSync(join(tmpdir(), 'argosim-blk-'));
    const path = join(dir, 'odd.img');
    writeFileSync(path, new Uint8Array(700));
    expect(() => new FileDisk(path)).toThrow(/odd\.img: a disk image must be a whole number of 512-byte sectors, got 700/);
  });
});
