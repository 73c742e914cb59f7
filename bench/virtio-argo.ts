/**
 * virtio-blk over VirtIO-Argo against the same device model called directly in one thread (issue #6):
 * 4 KiB random-read IOPS and 64 KiB sequential-read MB/s at a queue depth, and the hypercalls each
 * request costs over Argo (sendv and notify, both ends). Same driver, same DriverQueue, same
 * `virtioBlkModel` on a `MemoryDisk`; only the transport differs.
 *
 *   npm run bench:virtio
 */
import os from 'node:os';
import { ArgoGuest } from '../src/guest/argo-guest.js';
import { platformOf } from '../src/guest/platform.js';
import { GuestMemory } from '../src/memory/guest-memory.js';
import { PageAllocator } from '../src/memory/page-allocator.js';
import { VirtioBlkDriver } from '../src/virtio/blk/blk-driver.js';
import { SECTOR_SIZE, VIRTIO_BLK_S_OK } from '../src/virtio/blk/constants.js';
import { MemoryDisk } from '../src/virtio/blk/memory-disk.js';
import { virtioBlkModel } from '../src/virtio/blk/virtio-blk.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, bit } from '../src/virtio/constants.js';
import { initialiseDevice, type VirtioDriverAccess } from '../src/virtio/driver-init.js';
import { DriverQueue } from '../src/virtio/driver-queue.js';
import { VirtioDevice } from '../src/virtio/virtio-device.js';
import { connectVirtioArgo, type VirtioArgoPair } from '../src/virtio-argo/connect.js';
import { createHypervisor } from '../src/xen/hypervisor.js';
import { printTable, rate, si } from './table.js';

const DISK_BYTES = 32 << 20;
const QUEUE_DEPTH = 32;
const MEASURE_MS = 2000;
const WANTED = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_EVENT_IDX) | bit(VIRTIO_F_INDIRECT_DESC);

interface Rig {
  blk: VirtioBlkDriver;
  pair: VirtioArgoPair | null;
}

function driverOn(access: VirtioDriverAccess, memory: GuestMemory, pages: PageAllocator, notify: () => void): VirtioBlkDriver {
  const init = initialiseDevice(access, memory, pages, { wanted: WANTED, queueSizes: [64] });
  if (!init.ok) throw new Error(`initialisation failed at ${init.failedAt}`);
  const queue = new DriverQueue<number>(memory, init.rings[0], { eventIdx: true, indirect: true, pages, notify });
  return new VirtioBlkDriver(memory, pages, queue, { slots: QUEUE_DEPTH, slotDataBytes: 64 * 1024, segmentBytes: 4096 });
}

function direct(): Rig {
  const memory = new GuestMemory(32 << 20);
  const pages = new PageAllocator(memory.pages);
  const device = new VirtioDevice(memory, virtioBlkModel({ disk: new MemoryDisk(new Uint8Array(DISK_BYTES)), queueSizeMax: 64 }));
  return { blk: driverOn(device, memory, pages, () => device.notify(0)), pair: null };
}

function overArgo(): Rig {
  const hv = createHypervisor({ argo: { enabled: true } });
  hv.createDomain({ domid: 1, memoryBytes: 32 << 20 });
  hv.createDomain({ domid: 2, memoryBytes: 32 << 20 });
  const pair = connectVirtioArgo({ hv, frontend: { domid: 1, guest: new ArgoGuest(platformOf(hv, 1)) }, backend: { domid: 2 }, model: virtioBlkModel({ disk: new MemoryDisk(new Uint8Array(DISK_BYTES)), queueSizeMax: 64 }) });
  const fe = pair.frontend;
  return { blk: driverOn(fe, fe.guest.platform.memory, fe.guest.pages, () => fe.notify(0)), pair };
}

/** Fills the queue with reads of `sectors`, kicks once, harvests; returns the completions. */
function burst(rig: Rig, sectors: number, nextSector: () => number): number {
  for (let i = 0; i < QUEUE_DEPTH; i++) if (rig.blk.read(nextSector(), sectors) === null) break;
  rig.blk.kick();
  const done = rig.blk.harvest();
  for (const d of done) if (d.status !== VIRTIO_BLK_S_OK) throw new Error(`read failed: status ${d.status}`);
  return done.length;
}

function hypercalls(pair: VirtioArgoPair | null): number {
  if (pair === null) return 0;
  const f = pair.frontend.endpoint.counters;
  const b = pair.backend.endpoint.counters;
  return f.sendv + f.notify + b.sendv + b.notify;
}

function measure(make: () => Rig, sectors: number, random: boolean): { perSecond: number; hypercallsPerRequest: number } {
  const rig = make();
  const total = DISK_BYTES / SECTOR_SIZE;
  let x = 0x2545f491;
  let seq = 0;
  const next = random
    ? () => {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        return ((x >>> 0) % (total / sectors)) * sectors;
      }
    : () => (seq = (seq + sectors) % total);
  rate(300, () => burst(rig, sectors, next)); // warm-up
  const before = hypercalls(rig.pair);
  const r = rate(MEASURE_MS, () => burst(rig, sectors, next));
  return { perSecond: r.perSecond, hypercallsPerRequest: (hypercalls(rig.pair) - before) / r.items };
}

const rows: string[][] = [];
for (const [name, sectors, random] of [['4 KiB random read', 8, true], ['64 KiB sequential read', 128, false]] as const) {
  const d = measure(direct, sectors, random);
  const a = measure(overArgo, sectors, random);
  const unit = sectors * SECTOR_SIZE;
  const fmt = (perSecond: number) => (random ? `${si(perSecond)} IOPS` : `${((perSecond * unit) / 1e6).toFixed(0)} MB/s`);
  rows.push([name, fmt(d.perSecond), fmt(a.perSecond), `${((a.perSecond / d.perSecond) * 100).toFixed(0)}%`, a.hypercallsPerRequest.toFixed(3)]);
}
console.log(`virtio-blk, queue depth ${QUEUE_DEPTH}, ${MEASURE_MS / 1000} s per cell — ${os.cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`);
printTable(['workload', 'direct (one thread)', 'VirtIO-Argo', 'argo/direct', 'hypercalls/request'], rows);
