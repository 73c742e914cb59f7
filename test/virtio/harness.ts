/**
 * Shared set-up for the VirtIO tests: a guest memory, its page allocator, a split ring placed in it,
 * and both sides of one queue over that ring.
 */
import { GuestMemory } from '../../src/memory/guest-memory.js';
import { PageAllocator } from '../../src/memory/page-allocator.js';
import { DeviceQueue, type DeviceQueueOptions } from '../../src/virtio/device-queue.js';
import { DriverQueue, type DriverQueueOptions } from '../../src/virtio/driver-queue.js';
import { VIRTQ_AVAIL, VIRTQ_DESC, VIRTQ_USED, type VringAddresses } from '../../src/virtio/layout.js';
import { placeVring } from '../../src/virtio/place-vring.js';

export interface QueuePair<T> {
  mem: GuestMemory;
  pages: PageAllocator;
  ring: VringAddresses;
  driver: DriverQueue<T>;
  device: DeviceQueue;
}

/** A guest of `bytes` RAM with one ring of `qsz` and both sides on it; `features` apply to both. */
export function queuePair<T = string>(
  qsz: number,
  features: { eventIdx?: boolean; indirect?: boolean; initialIndex?: number } = {},
  driverExtra: Partial<DriverQueueOptions> = {},
  deviceExtra: Partial<DeviceQueueOptions> = {},
  bytes = 1 << 22,
): QueuePair<T> {
  const mem = new GuestMemory(bytes);
  const pages = new PageAllocator(mem.pages);
  const ring = placeVring(mem, pages, qsz);
  const driver = new DriverQueue<T>(mem, ring, { ...features, pages, ...driverExtra });
  const device = new DeviceQueue(mem, ring, { ...features, ...deviceExtra });
  return { mem, pages, ring, driver, device };
}

/** gpa of descriptor `i` of the ring's table. */
export const descGpa = (ring: VringAddresses, i: number): number => ring.desc + VIRTQ_DESC.size * i;

/** Writes descriptor `i` by hand, as a misbehaving guest would. */
export function writeDesc(mem: GuestMemory, table: number, i: number, d: { addr: number; len: number; flags: number; next?: number }): void {
  const at = table + VIRTQ_DESC.size * i;
  mem.view.setUint32(at + VIRTQ_DESC.addr, d.addr >>> 0, true);
  mem.view.setUint32(at + VIRTQ_DESC.addr + 4, Math.floor(d.addr / 2 ** 32), true);
  mem.view.setUint32(at + VIRTQ_DESC.len, d.len, true);
  mem.view.setUint16(at + VIRTQ_DESC.flags, d.flags, true);
  mem.view.setUint16(at + VIRTQ_DESC.next, d.next ?? 0, true);
}

/** Makes chain `head` available at avail index `idx` by hand (entry, then idx + 1). */
export function exposeByHand(mem: GuestMemory, ring: VringAddresses, idx: number, head: number): void {
  mem.view.setUint16(ring.avail + VIRTQ_AVAIL.ring + 2 * (idx & (ring.qsz - 1)), head, true);
  mem.view.setUint16(ring.avail + VIRTQ_AVAIL.idx, (idx + 1) & 0xffff, true);
}

export const availIdxGpa = (ring: VringAddresses): number => ring.avail + VIRTQ_AVAIL.idx;
export const usedIdxGpa = (ring: VringAddresses): number => ring.used + VIRTQ_USED.idx;
export const usedFlagsGpa = (ring: VringAddresses): number => ring.used + VIRTQ_USED.flags;

/** A deterministic xorshift32 generator for workloads (seeded; never Math.random). */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}
