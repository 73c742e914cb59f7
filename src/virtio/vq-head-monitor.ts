import type { AvailTake } from './device-worker.js';
import { VIRTQ_AVAIL } from './layout.js';
import { ringSlot, u16Distance } from './ring-index.js';

/**
 * Monitor `vq-head` (virtio-ioreq-lifecycle.md §2.4, §2.8, §6.7 R18): the head a device takes at
 * avail index i is the one the driver made available at i. It reads guest memory as it is — the
 * monitor sees every store that reached memory, while the device's own loads may lag — so a device
 * that read a stale avail.ring entry is named at the take, before the driver's "id N is not a head!"
 * breaks the queue or a request is served twice. Returns the violation, or null.
 *
 * @example
 * ```ts
 * device.worker = { ...worker, took: (t) => { const v = vqHeadViolation(t); if (v) violations.push(v); } };
 * ```
 */
export function vqHeadViolation(take: AvailTake, device?: string): string | null {
  const { view } = take.memory;
  const { ring, availIdx, head } = take;
  const where = `${device === undefined ? '' : `device ${device}, `}queue ${take.queue}`;
  const driverIdx = view.getUint16(ring.avail + VIRTQ_AVAIL.idx, true);
  const exposed = u16Distance(driverIdx, availIdx);
  if (exposed === 0 || exposed > ring.qsz) {
    return `vq-head: ${where}: the device took avail index ${availIdx}, which the driver has not made available (avail.idx ${driverIdx})`;
  }
  const slot = ringSlot(availIdx, ring.qsz);
  const made = view.getUint16(ring.avail + VIRTQ_AVAIL.ring + VIRTQ_AVAIL.entry * slot, true);
  if (made === head) return null;
  return `vq-head: ${where}: the device took head ${head} at avail index ${availIdx} (avail.ring[${slot}]), where the driver made head ${made} available — a stale entry: "id ${head} is not a head!" or a request served twice follows`;
}
