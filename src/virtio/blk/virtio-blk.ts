import { VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_RESET, VIRTIO_F_VERSION_1, bit, isValidQueueSize } from '../constants.js';
import type { VirtioDeviceModel } from '../virtio-device.js';
import type { BlockBackend } from './block-backend.js';
import {
  BLK_CONFIG,
  SECTOR_SIZE,
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_ID_BYTES,
  VIRTIO_ID_BLOCK,
} from './constants.js';
import { serveBlkRequest } from './serve-blk-request.js';

/** How to build a virtio-blk device. */
export interface VirtioBlkOptions {
  disk: BlockBackend;
  /** Offer VIRTIO_BLK_F_RO: every OUT fails with IOERR. Default false. */
  readOnly?: boolean;
  /** GET_ID answer, at most 20 ASCII bytes (NUL-padded). Default "argosim-blk". */
  id?: string;
  /** QueueSizeMax (default 256). */
  queueSizeMax?: number;
  /** Offer VIRTIO_BLK_F_FLUSH (default true). */
  flush?: boolean;
}

/**
 * A virtio-blk device model (virtio-ioreq-lifecycle.md §3.2) for `VirtioDevice`: one request queue
 * over a `BlockBackend`; offers VERSION_1, INDIRECT_DESC, EVENT_IDX, RING_RESET, BLK_SIZE (512), FLUSH
 * and, when read-only, RO. Config: capacity in sectors, blk_size, num_queues = 1.
 *
 * @example
 * ```ts
 * const device = new VirtioDevice(mem, virtioBlkModel({ disk: new MemoryDisk(new Uint8Array(1 << 20)) }));
 * ```
 */
export function virtioBlkModel(options: VirtioBlkOptions): VirtioDeviceModel {
  const readOnly = options.readOnly ?? false;
  const queueSizeMax = options.queueSizeMax ?? 256;
  if (!isValidQueueSize(queueSizeMax)) throw new RangeError(`virtio-blk: queueSizeMax ${queueSizeMax} is not a power of 2 in [1, 32768]`);
  const id = encodeId(options.id ?? 'argosim-blk');
  let features = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_INDIRECT_DESC) | bit(VIRTIO_F_EVENT_IDX) | bit(VIRTIO_F_RING_RESET) | bit(VIRTIO_BLK_F_BLK_SIZE);
  if (options.flush ?? true) features |= bit(VIRTIO_BLK_F_FLUSH);
  if (readOnly) features |= bit(VIRTIO_BLK_F_RO);
  const state = { disk: options.disk, readOnly, id };
  return {
    deviceId: VIRTIO_ID_BLOCK,
    features,
    queueCount: 1,
    queueSizeMax,
    config: blkConfig(options.disk.sectors),
    serve: (ctx, chain) => serveBlkRequest(ctx, state, chain),
  };
}

/** The config space bytes of §3.2 for a disk of `sectors` sectors. */
function blkConfig(sectors: number): Uint8Array {
  const bytes = new Uint8Array(BLK_CONFIG.size);
  const view = new DataView(bytes.buffer);
  view.setUint32(BLK_CONFIG.capacity, sectors >>> 0, true);
  view.setUint32(BLK_CONFIG.capacity + 4, Math.floor(sectors / 0x1_0000_0000), true);
  view.setUint32(BLK_CONFIG.blk_size, SECTOR_SIZE, true);
  view.setUint16(BLK_CONFIG.num_queues, 1, true);
  return bytes;
}

function encodeId(text: string): Uint8Array {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > VIRTIO_BLK_ID_BYTES) throw new RangeError(`virtio-blk: id "${text}" is longer than ${VIRTIO_BLK_ID_BYTES} bytes`);
  const id = new Uint8Array(VIRTIO_BLK_ID_BYTES);
  id.set(bytes);
  return id;
}
