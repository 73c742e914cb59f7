/**
 * virtio-blk constants and layouts (virtio-ioreq-lifecycle.md §3.2): the device ID, feature bits,
 * request types and status codes, the request header and the configuration space. The one place
 * their values and offsets live.
 *
 * @example
 * ```ts
 * view.setUint32(hdr + BLK_REQ_HEADER.type, VIRTIO_BLK_T_IN, true);
 * ```
 */

/** Device ID of a block device (§3). */
export const VIRTIO_ID_BLOCK = 2;

// Feature bits (bit numbers).
export const VIRTIO_BLK_F_SIZE_MAX = 1;
export const VIRTIO_BLK_F_SEG_MAX = 2;
export const VIRTIO_BLK_F_GEOMETRY = 4;
/** The device is read-only: writes fail with IOERR and write nothing. */
export const VIRTIO_BLK_F_RO = 5;
export const VIRTIO_BLK_F_BLK_SIZE = 6;
/** FLUSH requests are supported. */
export const VIRTIO_BLK_F_FLUSH = 9;
export const VIRTIO_BLK_F_TOPOLOGY = 10;
export const VIRTIO_BLK_F_CONFIG_WCE = 11;
export const VIRTIO_BLK_F_MQ = 12;

// Request types.
export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;

// Status byte values.
export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

/** Sector unit of `sector` and `capacity`: 512 bytes, whatever blk_size says. */
export const SECTOR_SIZE = 512;
/** GET_ID answers a 20-byte NUL-padded string. */
export const VIRTIO_BLK_ID_BYTES = 20;

/** The readable request header: type le32, reserved le32, sector le64 (16 bytes). */
export const BLK_REQ_HEADER = { type: 0, reserved: 4, sector: 8, size: 16 } as const;
/** The status byte at the very end of the writable part. */
export const BLK_STATUS_BYTES = 1;

/** `struct virtio_blk_config` up to num_queues (36 bytes). */
export const BLK_CONFIG = {
  capacity: 0,
  size_max: 8,
  seg_max: 12,
  geometry_cylinders: 16,
  geometry_heads: 18,
  geometry_sectors: 19,
  blk_size: 20,
  physical_block_exp: 24,
  alignment_offset: 25,
  min_io_size: 26,
  opt_io_size: 28,
  writeback: 32,
  num_queues: 34,
  size: 36,
} as const;
