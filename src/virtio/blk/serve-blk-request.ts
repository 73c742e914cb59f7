import type { DescChain } from '../desc-chain.js';
import { gatherBytes, scatterBytes } from '../segments.js';
import type { ServeContext, ServeResult } from '../virtio-device.js';
import { bit } from '../constants.js';
import type { BlockBackend } from './block-backend.js';
import {
  BLK_REQ_HEADER,
  BLK_STATUS_BYTES,
  SECTOR_SIZE,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_ID_BYTES,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
} from './constants.js';

/** A block device's own state: its backend, whether it offers RO, and its GET_ID answer. */
export interface BlkState {
  readonly disk: BlockBackend;
  readonly readOnly: boolean;
  /** 20 bytes, NUL-padded. */
  readonly id: Uint8Array;
}

/** Bytes moved between guest memory and the disk per step: no request needs one big buffer. */
const TRANSFER_CHUNK_BYTES = 64 * 1024;

interface Request {
  readonly type: number;
  readonly sector: number;
  readonly chain: DescChain;
  /** Data bytes: readable after the header (OUT) or writable before the status byte (IN, GET_ID). */
  readonly outBytes: number;
  readonly inBytes: number;
}

/**
 * Serves one virtio-blk request (virtio-ioreq-lifecycle.md §3.2): the readable header {type, reserved,
 * sector}, data, and the status byte at the end of the writable part, with no framing assumed (§2.2).
 * A chain too short for a header or a status byte is malformed (the core answers DEVICE_NEEDS_RESET,
 * as QEMU does). Every other fault is the request's status: IOERR for a write to an RO device (no
 * data written), a length that is not whole sectors, or sectors beyond capacity (case 23); UNSUPP
 * for an unknown type, or FLUSH without VIRTIO_BLK_F_FLUSH. used.len is the whole writable part: the
 * status byte sits at its end (**SIM CHOICE**, QEMU's).
 *
 * @example
 * ```ts
 * const answer = serveBlkRequest(ctx, { disk, readOnly: false, id }, chain); // { written: 513 }
 * ```
 */
export function serveBlkRequest(ctx: ServeContext, blk: BlkState, chain: DescChain): ServeResult {
  if (chain.readableBytes < BLK_REQ_HEADER.size) return { malformed: `request header is ${chain.readableBytes} bytes, not ${BLK_REQ_HEADER.size}` };
  if (chain.writableBytes < BLK_STATUS_BYTES) return { malformed: 'request has no writable status byte' };
  const header = new Uint8Array(BLK_REQ_HEADER.size);
  gatherBytes(ctx.memory, chain.readable, 0, header);
  const view = new DataView(header.buffer);
  const sector = view.getUint32(BLK_REQ_HEADER.sector, true) + view.getUint32(BLK_REQ_HEADER.sector + 4, true) * 0x1_0000_0000;
  const request: Request = {
    type: view.getUint32(BLK_REQ_HEADER.type, true),
    sector,
    chain,
    outBytes: chain.readableBytes - BLK_REQ_HEADER.size,
    inBytes: chain.writableBytes - BLK_STATUS_BYTES,
  };
  const status = statusOf(ctx, blk, request);
  scatterBytes(ctx.memory, chain.writable, request.inBytes, Uint8Array.of(status));
  return { written: chain.writableBytes };
}

function statusOf(ctx: ServeContext, blk: BlkState, r: Request): number {
  try {
    switch (r.type) {
      case VIRTIO_BLK_T_IN:
        return transfer(ctx, blk, r, r.inBytes, 'in');
      case VIRTIO_BLK_T_OUT:
        if (blk.readOnly) return VIRTIO_BLK_S_IOERR; // §3.2: no data written
        return transfer(ctx, blk, r, r.outBytes, 'out');
      case VIRTIO_BLK_T_FLUSH:
        return flush(ctx, blk, r);
      case VIRTIO_BLK_T_GET_ID:
        return getId(ctx, blk, r);
      default:
        return VIRTIO_BLK_S_UNSUPP; // §3.2: "a request unsupported by device"
    }
  } catch (e) {
    // The backend failed (a file error): the request's answer, not the device's end (QEMU werror=report).
    ctx.log.record('request-rule-broken', `backend error on type ${r.type} at sector ${r.sector}: ${(e as Error).message}`);
    return VIRTIO_BLK_S_IOERR;
  }
}

/** IN / OUT: whole sectors within capacity, moved chunk by chunk. */
function transfer(ctx: ServeContext, blk: BlkState, r: Request, bytes: number, direction: 'in' | 'out'): number {
  const sectors = bytes / SECTOR_SIZE;
  if (!Number.isInteger(sectors) || r.sector + sectors > blk.disk.sectors) {
    ctx.log.record('request-rule-broken', `${direction} of ${bytes} bytes at sector ${r.sector}: not whole sectors within ${blk.disk.sectors} (§3.2)`);
    return VIRTIO_BLK_S_IOERR;
  }
  const chunk = new Uint8Array(Math.min(bytes, TRANSFER_CHUNK_BYTES));
  for (let done = 0; done < bytes; done += chunk.length) {
    const piece = chunk.subarray(0, Math.min(chunk.length, bytes - done));
    const sector = r.sector + done / SECTOR_SIZE;
    if (direction === 'in') {
      blk.disk.read(sector, piece);
      scatterBytes(ctx.memory, r.chain.writable, done, piece);
    } else {
      gatherBytes(ctx.memory, r.chain.readable, BLK_REQ_HEADER.size + done, piece);
      blk.disk.write(sector, piece);
    }
  }
  return VIRTIO_BLK_S_OK;
}

/** FLUSH: needs VIRTIO_BLK_F_FLUSH; sector ≠ 0 breaks the driver rule (case 23) and is refused (**SIM CHOICE**). */
function flush(ctx: ServeContext, blk: BlkState, r: Request): number {
  if ((ctx.features & bit(VIRTIO_BLK_F_FLUSH)) === 0n) return VIRTIO_BLK_S_UNSUPP;
  if (r.sector !== 0) {
    ctx.log.record('request-rule-broken', `FLUSH with sector ${r.sector}; it must be 0 (§3.2)`);
    return VIRTIO_BLK_S_IOERR;
  }
  blk.disk.flush();
  return VIRTIO_BLK_S_OK;
}

/** GET_ID: the 20-byte ID, cut to the data space when the driver gave other than 20 bytes (logged; QEMU's answer). */
function getId(ctx: ServeContext, blk: BlkState, r: Request): number {
  if (r.inBytes !== VIRTIO_BLK_ID_BYTES) ctx.log.record('request-rule-broken', `GET_ID with ${r.inBytes} data bytes; it must be ${VIRTIO_BLK_ID_BYTES} (§3.2)`);
  scatterBytes(ctx.memory, r.chain.writable, 0, blk.id.subarray(0, Math.min(VIRTIO_BLK_ID_BYTES, r.inBytes)));
  return VIRTIO_BLK_S_OK;
}
