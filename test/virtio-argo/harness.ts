import { connectVirtioArgo, type VirtioArgoConnectOptions, type VirtioArgoPair } from '../../src/virtio-argo/connect.js';
import { createHypervisor, type HypervisorOptions } from '../../src/xen/hypervisor.js';
import type { Hypervisor } from '../../src/xen/hypervisor.js';
import { VirtioBlkDriver } from '../../src/virtio/blk/blk-driver.js';
import { SECTOR_SIZE, VIRTIO_BLK_F_FLUSH } from '../../src/virtio/blk/constants.js';
import { MemoryDisk } from '../../src/virtio/blk/memory-disk.js';
import { virtioBlkModel } from '../../src/virtio/blk/virtio-blk.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1, bit } from '../../src/virtio/constants.js';
import { initialiseDevice, type InitialiseResult } from '../../src/virtio/driver-init.js';
import { DriverQueue } from '../../src/virtio/driver-queue.js';

export const FE = 1;
export const BE = 2;
export const DISK_SECTORS = 2048;

/** A host with a guest (domid 1, 16 MiB) and a platform domain (domid 2, 32 MiB). */
export function host(options: HypervisorOptions = {}): Hypervisor {
  const hv = createHypervisor({ argo: { enabled: true }, ...options });
  hv.createDomain({ domid: FE, memoryBytes: 16 << 20, label: 'guest_t' });
  hv.createDomain({ domid: BE, memoryBytes: 32 << 20, label: 'blkback_t' });
  return hv;
}

export const BLK_WANTED = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_BLK_F_FLUSH) | bit(VIRTIO_F_EVENT_IDX) | bit(VIRTIO_F_INDIRECT_DESC);

/** A virtio-blk device over VirtIO-Argo, with its disk image. */
export function blkPair(hv: Hypervisor, extra: Partial<VirtioArgoConnectOptions> = {}): { pair: VirtioArgoPair; image: Uint8Array } {
  const image = new Uint8Array(DISK_SECTORS * SECTOR_SIZE);
  const pair = connectVirtioArgo({ hv, frontend: { domid: FE }, backend: { domid: BE }, model: virtioBlkModel({ disk: new MemoryDisk(image), queueSizeMax: 64 }), ...extra });
  return { pair, image };
}

/** The driver side: §1.2 over the front end, then a DriverQueue and a VirtioBlkDriver in the guest's memory. */
export function blkDriver(pair: VirtioArgoPair, wanted = BLK_WANTED): { init: InitialiseResult; blk: VirtioBlkDriver | null } {
  const fe = pair.frontend;
  const mem = fe.guest.platform.memory;
  const init = initialiseDevice(fe, mem, fe.guest.pages, { wanted, queueSizes: [64] });
  if (!init.ok) return { init, blk: null };
  const has = (n: number) => (init.features & bit(n)) !== 0n;
  const queue = new DriverQueue<number>(mem, init.rings[0], { eventIdx: has(VIRTIO_F_EVENT_IDX), indirect: has(VIRTIO_F_INDIRECT_DESC), pages: fe.guest.pages, notify: () => fe.notify(0) });
  return { init, blk: new VirtioBlkDriver(mem, fe.guest.pages, queue, { slots: 48, slotDataBytes: 16 * SECTOR_SIZE, segmentBytes: 2048 }) };
}

export { xorshift } from '../virtio/harness.js';
