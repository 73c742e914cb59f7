import type { GuestMemory } from '../memory/guest-memory.js';
import { IOREQ_READ, STATE_IOREQ_INPROCESS, STATE_IOREQ_READY, STATE_IORESP_READY } from './constants.js';
import { readIoreq, setSlotData, setSlotState, slotState, type Ioreq } from './ioreq-page.js';

/**
 * The emulator's side of a synchronous slot (virtio-ioreq-lifecycle.md §5.4, as QEMU's
 * `cpu_get_ioreq_from_shared_memory` does it): a READY slot is taken (read, then INPROCESS), and
 * answered (data for a read, then IORESP_READY); the emulator then sends on its event channel.
 *
 * @example
 * ```ts
 * const req = takeRequest(page, 0);
 * if (req) answerRequest(page, 0, req.dir === IOREQ_READ ? 0x74726976n : undefined);
 * ioreq.evtchnSend(0, ports[0]);
 * ```
 */
export function takeRequest(page: GuestMemory, vcpu: number): Ioreq | null {
  if (slotState(page, vcpu) !== STATE_IOREQ_READY) return null;
  const req = readIoreq(page, vcpu); // after the state: the read barrier of §5.4
  setSlotState(page, vcpu, STATE_IOREQ_INPROCESS);
  return req;
}

/** Writes a read's value (when given) before IORESP_READY: the write barrier of §5.4. */
export function answerRequest(page: GuestMemory, vcpu: number, data?: bigint): void {
  const state = slotState(page, vcpu);
  if (state !== STATE_IOREQ_INPROCESS && state !== STATE_IOREQ_READY) {
    throw new Error(`emulator: answering vCPU ${vcpu}'s slot in state ${state}; take a READY request first`);
  }
  if (data !== undefined) setSlotData(page, vcpu, data);
  setSlotState(page, vcpu, STATE_IORESP_READY);
}

/** True when the taken request is a read (the emulator must supply data). */
export const isRead = (req: Ioreq): boolean => req.dir === IOREQ_READ;
