/**
 * The device's read barrier (virtio-ioreq-lifecycle.md §2.8 device step 2; §6.7 R18; the device-side
 * half of §7 case 12): vhost's re-check after re-enabling notifications caches avail.idx, and the
 * next pop reads avail.ring without loading the index again. Without a read barrier after that
 * re-check's idx load, the ring load may have been satisfied before it — a stale head.
 */
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/memory/guest-memory.js';
import { PageAllocator } from '../../src/memory/page-allocator.js';
import { VirtioBlkDriver } from '../../src/virtio/blk/blk-driver.js';
import { MemoryDisk } from '../../src/virtio/blk/memory-disk.js';
import { virtioBlkModel } from '../../src/virtio/blk/virtio-blk.js';
import { bit, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1 } from '../../src/virtio/constants.js';
import type { AvailTake, DeviceWorker } from '../../src/virtio/device-worker.js';
import { initialiseDevice } from '../../src/virtio/driver-init.js';
import { DriverQueue } from '../../src/virtio/driver-queue.js';
import { VirtioDevice } from '../../src/virtio/virtio-device.js';
import { vqHeadViolation } from '../../src/virtio/vq-head-monitor.js';
import { queuePair } from './harness.js';

const BUF = 0x200000;

/** qsz 4, lapped once: B, C, D used and harvested, A (head 0) still in flight; avail.ring[0] holds 0. */
function lapped(recheckReadBarrier: boolean) {
  const takes: AvailTake[] = [];
  const pair = queuePair<string>(4, {}, {}, { recheckReadBarrier, onTake: (availIdx, head) => takes.push({ memory: pair.mem, queue: 0, ring: pair.ring, availIdx, head }) });
  const { driver, device } = pair;
  for (const t of ['A', 'B', 'C', 'D']) driver.add([{ gpa: BUF, len: 8 }], [], t);
  for (let k = 0; k < 4; k++) {
    const r = device.pop();
    if (r.kind !== 'chain') throw new Error(r.kind);
    if (r.chain.head !== 0) device.push(r.chain.head, 0);
  }
  while (driver.getBuf() !== null);
  takes.length = 0;
  return { ...pair, takes };
}

type Event = 'speculate' | 'add' | 'recheck';

/** The worker's end of a pass (notifications on, full barrier), then the three events in `order`, then a pop. */
function interleave(order: readonly Event[], recheckReadBarrier: boolean) {
  const { driver, device, takes } = lapped(recheckReadBarrier);
  let added = -1;
  device.enableNotificationsPrepare();
  for (const e of order) {
    if (e === 'speculate') device.speculateAvailEntry();
    else if (e === 'recheck') device.recheckAvail();
    else {
      const r = driver.add([{ gpa: BUF, len: 8 }], [], 'E'); // avail index 4: slot 0 again
      if (!r.ok) throw new Error(r.reason);
      added = r.head;
    }
  }
  const r = device.pop();
  return { added, took: r.kind === 'chain' ? r.chain.head : -1, violations: takes.map((t) => vqHeadViolation(t)).filter((v) => v !== null), driver, device };
}

const ORDERS: Event[][] = [
  ['speculate', 'add', 'recheck'],
  ['speculate', 'recheck', 'add'],
  ['add', 'speculate', 'recheck'],
  ['add', 'recheck', 'speculate'],
  ['recheck', 'speculate', 'add'],
  ['recheck', 'add', 'speculate'],
];

describe('R18 at the queue: the re-check without a read barrier (§2.8 device step 2)', () => {
  it('the early load, then the driver\'s entry and idx, then the re-check: without the barrier the device takes the stale head 0', () => {
    const { added, took, violations, driver, device } = interleave(['speculate', 'add', 'recheck'], false);
    expect(added).not.toBe(0);
    expect(took).toBe(0); // A's head, still in flight: the entry of a lap ago
    expect(violations).toEqual([expect.stringMatching(new RegExp(`^vq-head: queue 0: the device took head 0 at avail index 4 \\(avail.ring\\[0\\]\\), where the driver made head ${added} available`))]);
    device.push(0, 0); // the real A …
    device.push(0, 0); // … and the stale one
    expect(driver.getBuf()?.token).toBe('A');
    expect(driver.getBuf()).toBeNull();
    expect(driver.brokenReason).toBe('id 0 is not a head!'); // Linux: "id N is not a head!" (§2.5)
  });

  it('with the barrier the same order takes the driver\'s head: the barrier discards the early load', () => {
    const { added, took, violations } = interleave(['speculate', 'add', 'recheck'], true);
    expect(took).toBe(added);
    expect(violations).toEqual([]);
  });

  it('of the six orders of the three events, exactly the early load before the entry before the re-check breaks, and only without the barrier', () => {
    const broken = (barrier: boolean) => ORDERS.filter((o) => interleave(o, barrier).violations.length > 0).map((o) => o.join(' < '));
    expect(broken(false)).toEqual(['speculate < add < recheck']);
    expect(broken(true)).toEqual([]);
    for (const order of ORDERS) {
      for (const barrier of [false, true]) {
        const r = interleave(order, barrier);
        if (r.violations.length === 0) expect(r.took).toBe(r.added); // every other order: the driver's head
      }
    }
  });

  it('pop\'s own avail.idx load keeps its read barrier (vhost_get_vq_desc had it): an early load before it is done again', () => {
    const { driver, device, takes } = lapped(false);
    device.speculateAvailEntry(); // the stale 0 …
    const e = driver.add([{ gpa: BUF, len: 8 }], [], 'E');
    if (!e.ok) throw new Error(e.reason);
    const r = device.pop(); // … but the cached index is used up: idx load, read barrier, fresh entry
    expect(r.kind === 'chain' && r.chain.head).toBe(e.head);
    expect(takes.map((t) => vqHeadViolation(t))).toEqual([null]);
  });
});

describe('the device core\'s worker (DeviceWorker)', () => {
  /** A virtio-blk device with a worker whose steps wait in `steps` until the test runs them. */
  function deferredDevice(recheckReadBarrier: boolean) {
    const mem = new GuestMemory(1 << 22);
    const pages = new PageAllocator(mem.pages);
    const device = new VirtioDevice(mem, virtioBlkModel({ disk: new MemoryDisk(new Uint8Array(64 * 512)), queueSizeMax: 4 }));
    const steps: Array<{ label: string; step: () => void }> = [];
    const violations: string[] = [];
    const worker: DeviceWorker = {
      defer: (label, step) => steps.push({ label, step }),
      recheckReadBarrier,
      took: (t) => {
        const v = vqHeadViolation(t);
        if (v !== null) violations.push(v);
      },
    };
    device.worker = worker;
    const init = initialiseDevice(device, mem, pages, { wanted: bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_INDIRECT_DESC), queueSizes: [4] });
    if (!init.ok) throw new Error(`initialisation failed at ${init.failedAt}`);
    const queue = new DriverQueue<number>(mem, init.rings[0], { indirect: true, pages, notify: () => device.notify(0) });
    const blk = new VirtioBlkDriver(mem, pages, queue, { slots: 4, slotDataBytes: 512, segmentBytes: 512 });
    const run = (label: RegExp) => {
      const at = steps.findIndex((s) => label.test(s.label));
      if (at < 0) throw new Error(`no step ${label}`);
      steps.splice(at, 1)[0].step();
    };
    return { device, queue, blk, steps, violations, run };
  }

  it('a pass ends with two steps deferred; a kick while they wait wakes nobody, and the re-check takes the new chains', () => {
    const { device, blk, steps, run, violations } = deferredDevice(true);
    blk.read(0, 1);
    blk.kick();
    expect(device.served).toBe(1);
    expect(steps.map((s) => s.label)).toEqual(['queue 0: the worker\'s CPU loads avail.ring early', 'queue 0: the worker re-checks avail.idx']);
    blk.read(1, 1);
    blk.kick(); // the worker is still running: nothing served now
    expect(device.served).toBe(1);
    run(/early/);
    run(/re-checks/); // finds the second request: another pass
    expect(device.served).toBe(2);
    expect(steps).toHaveLength(2);
    expect(violations).toEqual([]);
  });

  it('R18 through the worker: over a lapped ring, the early load before the driver\'s add and the re-check after it serve a stale head — only without the barrier', () => {
    for (const barrier of [false, true]) {
      const { blk, queue, steps, run, violations } = deferredDevice(barrier);
      for (let k = 0; k < 4; k++) {
        blk.read(k, 1); // heads 0, 1, 2, 3 at slots 0–3 (one indirect descriptor each)
        blk.kick();
        run(/early/);
        run(/re-checks/);
      }
      expect(blk.harvest()).toHaveLength(4); // the free list is now 3, 2, 1, 0
      blk.read(4, 1); // lap two: head 3 at slot 0
      blk.kick(); // its pass ends with both steps pending
      run(/early/); // avail.ring[1] loaded now: head 1, of lap one
      blk.read(5, 1); // the driver writes head 2 to ring[1], then avail.idx …
      run(/re-checks/); // … and the worker's re-check sees it
      expect(steps).toHaveLength(2);
      if (barrier) {
        expect(violations).toEqual([]);
        expect(queue.brokenReason).toBeNull();
      } else {
        expect(violations.length).toBeGreaterThan(0);
        expect(violations).toEqual([expect.stringMatching(/^vq-head: queue 0: the device took head 1 at avail index 5 \(avail.ring\[1\]\), where the driver made head 2 available/)]);
        expect(blk.harvest().length).toBeLessThan(2); // request 5 is never served; the used id 1 is not a head
        expect(queue.brokenReason).toBe('id 1 is not a head!');
      }
    }
  });
});
