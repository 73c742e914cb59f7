import type { GuestMemory } from '../memory/guest-memory.js';
import type { VringAddresses } from './layout.js';

/** One avail entry a device queue took, as the `vq-head` monitor sees it. */
export interface AvailTake {
  /** The memory the device read: the driver's guest memory. */
  readonly memory: GuestMemory;
  readonly queue: number;
  readonly ring: VringAddresses;
  /** The free-running avail index the entry was taken at (the device's last_avail_idx). */
  readonly availIdx: number;
  /** The head the device read there. */
  readonly head: number;
}

/**
 * How a device core's queue worker runs (vhost's worker thread; virtio-ioreq-lifecycle.md §2.8):
 * after each pass over a queue it turns notifications back on behind a full barrier, then — as a
 * later step of its own — re-checks avail.idx and goes on if chains arrived meanwhile. A kick that
 * comes while that re-check is pending wakes nobody: the worker is still running and will see the
 * chains (vhost queues the work once). In a run the steps are scheduling points of the back end's
 * domain, so the driver can add buffers between the barrier and the re-check, and between them the
 * device's CPU may satisfy its next avail.ring load early (`DeviceQueue.speculateAvailEntry`).
 *
 * @example
 * ```ts
 * device.worker = { defer: (label, step) => scheduler.schedule({ kind: 'guest', actor: 'driverdom', label, run: step }), recheckReadBarrier: true };
 * ```
 */
export interface DeviceWorker {
  /** Runs `step` as the worker's next step: at once (`INLINE_WORKER`), or later (a scheduling point). */
  defer(label: string, step: () => void): void;
  /** False: no read barrier after the re-check's avail.idx load (switch `availIdxWithoutReadBarrier`, R18). */
  readonly recheckReadBarrier: boolean;
  /** An observer of every avail entry taken (monitor `vq-head`): it must not act. */
  readonly took?: (take: AvailTake) => void;
}

/**
 * Every step at once, in program order, with the read barrier: the device core as it was before
 * workers — what tests, the IOREQ harness and every caller without a scheduler get.
 *
 * @example
 * ```ts
 * new VirtioDevice(mem, model).worker === INLINE_WORKER; // true
 * ```
 */
export const INLINE_WORKER: DeviceWorker = Object.freeze({
  defer: (_label: string, step: () => void) => step(),
  recheckReadBarrier: true,
});
