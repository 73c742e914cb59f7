/**
 * A whole virtio-blk workload through the virtqueue (virtio-ioreq-lifecycle.md §2, §3.2): thousands of
 * seeded random reads, writes and flushes over a disk image, submitted in bursts, kicked and
 * harvested at random moments; every byte read is checked against a reference image, and so is the
 * whole disk at the end.
 */
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/memory/guest-memory.js';
import { PageAllocator } from '../../src/memory/page-allocator.js';
import { VirtioBlkDriver } from '../../src/virtio/blk/blk-driver.js';
import { SECTOR_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_S_OK, VIRTIO_BLK_T_IN } from '../../src/virtio/blk/constants.js';
import { MemoryDisk } from '../../src/virtio/blk/memory-disk.js';
import { virtioBlkModel } from '../../src/virtio/blk/virtio-blk.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, bit } from '../../src/virtio/constants.js';
import { initialiseDevice } from '../../src/virtio/driver-init.js';
import { DriverQueue } from '../../src/virtio/driver-queue.js';
import { VirtioDevice } from '../../src/virtio/virtio-device.js';
import { xorshift } from './harness.js';

const DISK_SECTORS = 2048; // 1 MiB
const REQUESTS = 4000;
const SECTORS_PER_REQUEST_MAX = 16;

function runWorkload(seed: number, eventIdx: boolean, indirect: boolean): void {
  const rand = xorshift(seed);
  const pick = (n: number) => rand() % n;
  const image = new Uint8Array(DISK_SECTORS * SECTOR_SIZE);
  const reference = new Uint8Array(image.length);
  const mem = new GuestMemory(16 << 20);
  const pages = new PageAllocator(mem.pages);
  const device = new VirtioDevice(mem, virtioBlkModel({ disk: new MemoryDisk(image), queueSizeMax: 64 }));
  let wanted = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_BLK_F_FLUSH);
  if (eventIdx) wanted |= bit(VIRTIO_F_EVENT_IDX);
  if (indirect) wanted |= bit(VIRTIO_F_INDIRECT_DESC);
  const init = initialiseDevice(device, mem, pages, { wanted });
  if (!init.ok) throw new Error(`init failed at ${init.failedAt}`);
  const queue = new DriverQueue<number>(mem, init.rings[0], { eventIdx, indirect, pages, notify: () => device.notify(0) });
  const blk = new VirtioBlkDriver(mem, pages, queue, { slots: 48, slotDataBytes: SECTORS_PER_REQUEST_MAX * SECTOR_SIZE, segmentBytes: 2048 });
  const expected = new Map<number, Uint8Array | null>(); // tag → the bytes a read must return
  let submitted = 0;
  let completed = 0;
  let bytesChecked = 0;

  const harvest = () => {
    for (const done of blk.harvest()) {
      expect(done.status).toBe(VIRTIO_BLK_S_OK);
      const want = expected.get(done.tag);
      expect(want).not.toBeUndefined();
      if (done.type === VIRTIO_BLK_T_IN) {
        // Buffer.compare, not toEqual: a million bytes per run through expect's deep equality is slow.
        if (done.data === null || want == null || Buffer.compare(done.data, want) !== 0) {
          expect(done.data, `read of sector ${done.sector} (tag ${done.tag})`).toEqual(want);
        }
        bytesChecked += want?.length ?? 0;
      }
      expected.delete(done.tag);
      completed++;
    }
  };

  while (submitted < REQUESTS) {
    const sectors = 1 + pick(SECTORS_PER_REQUEST_MAX);
    const sector = pick(DISK_SECTORS - sectors + 1);
    const kind = pick(20);
    let tag: number | null;
    if (kind === 0) tag = blk.flush();
    else if (kind < 10) {
      const data = new Uint8Array(sectors * SECTOR_SIZE);
      const words = new Uint32Array(data.buffer);
      for (let i = 0; i < words.length; i++) words[i] = rand();
      tag = blk.write(sector, data);
      if (tag !== null) reference.set(data, sector * SECTOR_SIZE); // the device serves in ring order
    } else tag = blk.read(sector, sectors);
    if (tag === null) {
      blk.kick(); // ring or slots full: let the device run, then harvest
      harvest();
      continue;
    }
    expected.set(tag, kind >= 10 ? reference.slice(sector * SECTOR_SIZE, (sector + sectors) * SECTOR_SIZE) : null);
    submitted++;
    if (pick(4) === 0) blk.kick();
    if (pick(3) === 0) harvest();
  }
  blk.kick();
  harvest();
  expect({ completed, pending: expected.size, broken: queue.brokenReason, violations: device.log.total }).toEqual({
    completed: REQUESTS,
    pending: 0,
    broken: null,
    violations: 0,
  });
  expect(bytesChecked).toBeGreaterThan(REQUESTS * 1000);
  expect(Buffer.compare(image, reference)).toBe(0);
}

describe('virtio-blk workload', () => {
  it.each([
    { seed: 0x0b1c_0001, eventIdx: false, indirect: false },
    { seed: 0x0b1c_0002, eventIdx: true, indirect: true },
    { seed: 0x0b1c_0003, eventIdx: true, indirect: false },
  ])('seed $seed (EVENT_IDX $eventIdx, INDIRECT $indirect): 4000 random requests, every byte matches the reference image', ({ seed, eventIdx, indirect }) => {
    runWorkload(seed, eventIdx, indirect);
  });
});
