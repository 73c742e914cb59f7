/**
 * Device status, features, reset and configuration (virtio-ioreq-lifecycle.md §1; §7 cases 6 at the
 * device, 14–20 and 22) on the device core with a virtio-blk model.
 */
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/memory/guest-memory.js';
import { PageAllocator } from '../../src/memory/page-allocator.js';
import { VirtioBlkDriver } from '../../src/virtio/blk/blk-driver.js';
import { BLK_CONFIG, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_S_OK } from '../../src/virtio/blk/constants.js';
import { MemoryDisk } from '../../src/virtio/blk/memory-disk.js';
import { virtioBlkModel } from '../../src/virtio/blk/virtio-blk.js';
import { VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_FAILED, VIRTIO_CONFIG_S_FEATURES_OK, VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_RESET, VIRTIO_F_VERSION_1, bit } from '../../src/virtio/constants.js';
import { initialiseDevice, readConfigConsistent, readFeatures } from '../../src/virtio/driver-init.js';
import { DriverQueue } from '../../src/virtio/driver-queue.js';
import { placeVring } from '../../src/virtio/place-vring.js';
import { VirtioDevice, type VirtioInterrupt } from '../../src/virtio/virtio-device.js';

const ACK = VIRTIO_CONFIG_S_ACKNOWLEDGE;
const DRV = ACK | VIRTIO_CONFIG_S_DRIVER;
const FEAT = DRV | VIRTIO_CONFIG_S_FEATURES_OK;
const LIVE = FEAT | VIRTIO_CONFIG_S_DRIVER_OK;
const V1 = bit(VIRTIO_F_VERSION_1);

function setup() {
  const mem = new GuestMemory(1 << 22);
  const pages = new PageAllocator(mem.pages);
  const disk = new MemoryDisk(new Uint8Array(64 * 512));
  const interrupts: VirtioInterrupt[] = [];
  const device = new VirtioDevice(mem, virtioBlkModel({ disk }), { onInterrupt: (n) => interrupts.push(n) });
  return { mem, pages, disk, device, interrupts };
}

/** Steps 1–4 of §1.2 by hand: reset, ACK, DRIVER, accept `features`. */
function upToFeatures(device: VirtioDevice, features: bigint): void {
  device.writeStatus(0);
  device.writeStatus(ACK);
  device.writeStatus(DRV);
  device.writeDriverFeatures(0, Number(features & 0xffff_ffffn));
  device.writeDriverFeatures(1, Number(features >> 32n));
}

/** Queue 0 set up by hand (§1.8 typical set-up); returns a driver-side queue and a blk driver on it. */
function queueByHand(mem: GuestMemory, pages: PageAllocator, device: VirtioDevice) {
  const ring = placeVring(mem, pages, 16);
  device.setQueueSize(0, 16);
  device.setQueueAddresses(0, ring.desc, ring.avail, ring.used);
  device.setQueueReady(0, true);
  const queue = new DriverQueue<number>(mem, ring, { notify: () => device.notify(0) });
  return { ring, queue, blk: new VirtioBlkDriver(mem, pages, queue, { slots: 8, slotDataBytes: 4096 }) };
}

describe('§7 device status and features', () => {
  it('case 14: 0 → 1 → 3 → features → 11 → read → 15 goes LIVE; the device consumes only after 15', () => {
    const { mem, pages, device } = setup();
    const seen: number[] = [];
    device.writeStatus(0);
    seen.push(device.readStatus());
    device.writeStatus(ACK);
    seen.push(device.readStatus());
    device.writeStatus(DRV);
    seen.push(device.readStatus());
    const offered = readFeatures(device);
    expect(offered & V1).toBe(V1);
    device.writeDriverFeatures(0, Number(offered & 0xffff_ffffn));
    device.writeDriverFeatures(1, 1); // VERSION_1
    device.writeStatus(FEAT);
    seen.push(device.readStatus());
    const { blk } = queueByHand(mem, pages, device);
    const tag = blk.read(0, 1);
    blk.kick(); // case 18 too: the kick before DRIVER_OK is not processed
    expect(device.served).toBe(0);
    expect(blk.harvest()).toEqual([]);
    device.writeStatus(LIVE);
    seen.push(device.readStatus());
    expect(seen).toEqual([0, 1, 3, 11, 15]);
    blk.kick();
    expect(blk.harvest()).toMatchObject([{ tag, status: VIRTIO_BLK_S_OK }]);
  });

  it('case 14 (refusal): a subset without VERSION_1, or with a bit not offered → FEATURES_OK reads back clear; the driver sets FAILED', () => {
    const { mem, pages, device } = setup();
    for (const features of [0n, V1 | bit(50)]) {
      upToFeatures(device, features);
      device.writeStatus(FEAT);
      expect(device.readStatus()).toBe(DRV);
    }
    expect(device.status.featuresRefused).toBe(2);
    const init = initialiseDevice(device, mem, pages, { wanted: 0n });
    expect(init).toEqual({ ok: false, failedAt: 'features', status: DRV | VIRTIO_CONFIG_S_FAILED });
    // The same accepted set is accepted again after each reset (§1.5 "SHOULD NOT refuse the same set").
    for (let round = 0; round < 3; round++) {
      const ok = initialiseDevice(device, mem, pages, { wanted: V1 | bit(VIRTIO_F_EVENT_IDX) });
      expect(ok.ok && ok.features).toBe(V1 | bit(VIRTIO_F_EVENT_IDX));
    }
  });

  it('case 15: DriverFeatures written after FEATURES_OK → ignored and logged', () => {
    const { device } = setup();
    upToFeatures(device, V1);
    device.writeStatus(FEAT);
    device.writeDriverFeatures(0, Number(bit(VIRTIO_F_INDIRECT_DESC)));
    expect(device.status.negotiated).toBe(V1);
    expect(device.log.count('features-after-features-ok')).toBe(1);
  });

  it('case 16: status 15 written while status = 3 → violation, DEVICE_NEEDS_RESET, no buffer consumed', () => {
    const { mem, pages, device, interrupts } = setup();
    upToFeatures(device, V1);
    device.writeStatus(LIVE);
    expect(device.readStatus()).toBe(DRV | VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(device.log.count('status-skips-step')).toBe(1);
    expect(interrupts).toEqual([]); // DRIVER_OK never got set: no config notification
    device.setQueueSize(0, 16);
    const ring = placeVring(mem, pages, 16);
    device.setQueueAddresses(0, ring.desc, ring.avail, ring.used);
    device.setQueueReady(0, true);
    expect(device.queueReady(0)).toBe(false); // before FEATURES_OK: refused
    device.notify(0);
    expect(device.served).toBe(0);
  });

  it('case 17: a status write that clears ACKNOWLEDGE (not 0) → violation, ignored', () => {
    const { device } = setup();
    upToFeatures(device, V1);
    device.writeStatus(VIRTIO_CONFIG_S_DRIVER);
    expect(device.readStatus()).toBe(DRV);
    expect(device.log.count('status-clears-bits')).toBe(1);
  });

  it('case 18: a kick (QueueNotify) before DRIVER_OK → the device does not process it', () => {
    const { mem, pages, device } = setup();
    upToFeatures(device, V1);
    device.writeStatus(FEAT);
    const { blk } = queueByHand(mem, pages, device);
    blk.read(0, 1);
    device.notify(0);
    expect(device.served).toBe(0);
    expect(device.log.count('notify-before-driver-ok')).toBe(1);
    device.writeStatus(LIVE);
    device.notify(0);
    expect(device.served).toBe(1);
  });

  it('case 19: an internal error while LIVE → DEVICE_NEEDS_RESET and a config interrupt; the driver resets and starts again', () => {
    const { mem, pages, device, interrupts } = setup();
    const init = initialiseDevice(device, mem, pages, { wanted: V1 });
    if (!init.ok) throw new Error('init');
    device.fail('backend gone');
    expect(device.readStatus()).toBe(LIVE | VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(interrupts).toEqual([{ kind: 'config' }]);
    const queue = new DriverQueue<number>(mem, init.rings[0], { notify: () => device.notify(0) });
    queue.add([{ gpa: 0x1000, len: 16 }], [{ gpa: 0x2000, len: 1 }], 1);
    queue.kick();
    expect(device.served).toBe(0); // a device needing reset consumes nothing
    device.writeStatus(0); // the driver resets before it reclaims exposed buffers (§1.4)
    expect(queue.detachUnused()).toEqual([1]);
    const again = initialiseDevice(device, mem, pages, { wanted: V1 });
    expect(again.ok).toBe(true);
    expect(device.readStatus()).toBe(LIVE);
    expect(device.lastError).toBeNull();
  });

  it('case 20: FAILED set → further set-up ignored until a reset; afterwards initialisation succeeds', () => {
    const { mem, pages, device } = setup();
    device.writeStatus(0);
    device.writeStatus(ACK);
    device.writeStatus(ACK | VIRTIO_CONFIG_S_FAILED);
    device.writeStatus(ACK | VIRTIO_CONFIG_S_FAILED | VIRTIO_CONFIG_S_DRIVER);
    device.writeStatus(DRV);
    expect(device.readStatus()).toBe(ACK | VIRTIO_CONFIG_S_FAILED);
    expect(device.log.count('status-after-failed')).toBe(2);
    expect(initialiseDevice(device, mem, pages, { wanted: V1 }).ok).toBe(true);
  });

  it('case 22: the config generation moves between two reads → the driver retries and reads a consistent capacity', () => {
    const { device } = setup();
    let reads = 0;
    const { value, attempts } = readConfigConsistent(device, (a) => {
      const low = a.readConfig(BLK_CONFIG.capacity, 4);
      if (reads++ === 0) device.updateConfig((v) => v.setUint32(BLK_CONFIG.capacity, 128, true)); // a resize mid-read
      return low + a.readConfig(BLK_CONFIG.capacity + 4, 4) * 2 ** 32;
    });
    expect({ value, attempts }).toEqual({ value: 128, attempts: 2 });
    expect(device.configGeneration).toBe(1);
    expect(() => readConfigConsistent(device, () => device.updateConfig(() => {}))).toThrow(/generation moved/);
  });
});

describe('malformed rings at the device (§2.6 SIM CHOICE, case 6)', () => {
  it('avail.idx too far ahead → DEVICE_NEEDS_RESET, a config notification and a protocol-error count; later kicks are ignored', () => {
    const { mem, pages, device, interrupts } = setup();
    const init = initialiseDevice(device, mem, pages, { wanted: V1 });
    if (!init.ok) throw new Error('init');
    mem.view.setUint16(init.rings[0].avail + 2, 1000, true);
    device.notify(0);
    expect(device.readStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(interrupts).toEqual([{ kind: 'config' }]);
    expect(device.log.count('malformed-ring')).toBe(1);
    device.notify(0);
    expect(device.log.total).toBe(1);
  });

  it('a buffer outside RAM → the same answer, never a RangeError', () => {
    const { mem, pages, device } = setup();
    const init = initialiseDevice(device, mem, pages, { wanted: V1 });
    if (!init.ok) throw new Error('init');
    const q = new DriverQueue<number>(mem, init.rings[0], { notify: () => device.notify(0) });
    q.add([{ gpa: mem.bytes - 8, len: 16 }], [{ gpa: 0x2000, len: 1 }], 1);
    expect(() => q.kick()).not.toThrow();
    expect(device.log.entries[0]).toMatchObject({ kind: 'malformed-ring', detail: expect.stringMatching(/not in RAM/) });
    expect(device.status.is(VIRTIO_CONFIG_S_NEEDS_RESET)).toBe(true);
  });
});

describe('reset, queues and configuration writes (§1.3, §1.4, §1.6)', () => {
  it('reset stops every queue, clears the features and lets the driver reclaim what was exposed', () => {
    const { mem, pages, device } = setup();
    const init = initialiseDevice(device, mem, pages, { wanted: V1 });
    if (!init.ok) throw new Error('init');
    const q = new DriverQueue<number>(mem, init.rings[0]);
    q.add([{ gpa: 0x1000, len: 16 }], [{ gpa: 0x2000, len: 1 }], 7);
    device.writeStatus(0);
    expect(device.readStatus()).toBe(0);
    expect(device.queueReady(0)).toBe(false);
    expect(device.status.negotiated).toBe(0n);
    device.notify(0);
    expect(device.served).toBe(0);
    expect(q.detachUnused()).toEqual([7]);
    expect(q.freeDescriptors).toBe(init.rings[0].qsz);
  });

  it('queue registers are refused while QueueReady = 1, for a size not allowed, and for areas outside RAM', () => {
    const { mem, pages, device } = setup();
    upToFeatures(device, V1);
    device.writeStatus(FEAT);
    const ring = placeVring(mem, pages, 16);
    for (const size of [0, 3, 1000, 65536, 512]) {
      device.setQueueSize(0, size);
      device.setQueueAddresses(0, ring.desc, ring.avail, ring.used);
      device.setQueueReady(0, true);
      expect(device.queueReady(0)).toBe(false);
    }
    device.setQueueSize(0, 16);
    device.setQueueAddresses(0, mem.bytes - 64, ring.avail, ring.used);
    device.setQueueReady(0, true);
    expect(device.queueReady(0)).toBe(false);
    device.setQueueAddresses(0, ring.desc, ring.avail, ring.used);
    device.setQueueReady(0, true);
    expect(device.queueReady(0)).toBe(true);
    device.setQueueSize(0, 8);
    expect(device.log.count('queue-register-while-ready')).toBe(1);
    expect(device.deviceQueue(0)?.qsz).toBe(16);
    expect(device.queueSizeMax(1)).toBe(0);
  });

  it('per-queue reset needs RING_RESET; with it the queue stops and can be set up again with another size', () => {
    const { mem, pages, device } = setup();
    initialiseDevice(device, mem, pages, { wanted: V1 });
    device.resetQueue(0);
    expect(device.queueReady(0)).toBe(true);
    expect(device.log.count('queue-reset-not-negotiated')).toBe(1);
    const init = initialiseDevice(device, mem, pages, { wanted: V1 | bit(VIRTIO_F_RING_RESET) });
    if (!init.ok) throw new Error('init');
    device.resetQueue(0);
    expect(device.queueReady(0)).toBe(false);
    const { blk } = queueByHand(mem, pages, device);
    expect(device.deviceQueue(0)?.qsz).toBe(16);
    blk.read(0, 1);
    blk.kick();
    expect(blk.harvest()).toMatchObject([{ status: VIRTIO_BLK_S_OK }]);
  });

  it('config writes: before FEATURES_OK, or to a read-only field, are ignored and logged; invalid reads answer 0', () => {
    const { device } = setup();
    device.writeConfig(BLK_CONFIG.capacity, 4, 1);
    upToFeatures(device, V1 | bit(VIRTIO_BLK_F_FLUSH));
    device.writeStatus(FEAT);
    device.writeConfig(BLK_CONFIG.capacity, 4, 1);
    expect(device.readConfig(BLK_CONFIG.capacity, 4)).toBe(64);
    expect(device.log.count('config-write-before-features-ok')).toBe(1);
    expect(device.log.count('config-write-read-only')).toBe(1);
    expect(device.readConfig(1, 4)).toBe(0);
    expect(device.readConfig(BLK_CONFIG.size, 1)).toBe(0);
    expect(device.log.count('config-access-invalid')).toBe(2);
  });

  it('a device change of config after DRIVER_OK sends a config notification; SUSPEND and DEVICE_NEEDS_RESET writes are refused', () => {
    const { mem, pages, device, interrupts } = setup();
    device.updateConfig(() => {});
    expect(interrupts).toEqual([]);
    initialiseDevice(device, mem, pages, { wanted: V1 });
    device.updateConfig(() => {});
    expect(interrupts).toEqual([{ kind: 'config' }]);
    device.writeStatus(LIVE | 16);
    device.writeStatus(LIVE | VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(device.readStatus()).toBe(LIVE);
    expect(device.log.count('suspend-not-offered') + device.log.count('status-sets-device-bit')).toBe(2);
  });
});
