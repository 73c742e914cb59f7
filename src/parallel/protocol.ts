import type { XenbusFigures } from '../xenstore/xenbus-client.js';
import type { DeviceFigures } from '../runtime/devices.js';
import type { DeviceModelFault, MmioBackFigures } from './device-host.js';

/**
 * The messages between the parallel runtime's main thread and its domain-host workers, over one
 * MessagePort per worker. Commands that the main thread must see done before it goes on (a domain
 * quiesced before its teardown) carry an `id` the worker acknowledges.
 */

/** Main thread → worker. */
export type HostCommand =
  | { type: 'start'; timeScale: number }
  | { type: 'quiesce'; domid: number; id: number }
  | { type: 'reboot'; domid: number; id: number }
  /** A domain created since the run began: its guest memory, attached to this thread's hypervisor view. */
  | { type: 'attach'; domid: number; memory: SharedArrayBuffer; id: number }
  /**
   * on_*=restart: domain `from` is gone and its configuration runs again as `domid` (attached
   * already), here; `domids` maps each scenario domid to the domid its domain has now. Its apps go
   * on where the old kernel stopped; the others are reported final at once.
   */
  | { type: 'restart'; from: number; domid: number; domids: Array<[number, number]>; id: number }
  | { type: 'unregister'; domid: number; port: number; partner: number; id: number }
  | { type: 'kick'; domid: number }
  /** A new back end of VirtIO-Argo device `device` listens in domain `domid` (a restart, a soft reset): its front end re-initialises. */
  | { type: 'backend-up'; device: string; domid: number }
  | { type: 'virq_delay'; domid: number; delayMs: number }
  /** Fault `balloon`: the guest gives memory back, and Xen has every device model drop its mapcache (§5.3 INVALIDATE). */
  | { type: 'balloon'; domid: number; id: number }
  /**
   * A device-model fault on virtio-mmio device `device`, whose device model runs in this thread
   * (docs/races.md R1, R3): it dies, is started again, or misbehaves. The ack's `ok` says whether
   * there was a device model to act on (`DeviceHost.deviceModelFault`).
   */
  | { type: 'device-model'; device: string; fault: DeviceModelFault; id: number }
  /**
   * libxl's removal of virtio-mmio device `device` reached its device model here (be/state=Closing):
   * it unmaps its window, answers what is in flight and destroys its server, then answers
   * `device-closed` (libxl's own timeout bounds the wait: no ack the run would wait for).
   */
  | { type: 'device-model-close'; device: string }
  /** libxl removed virtio-mmio device `device`: the guest's workload on it is over (what it had in flight abandoned). */
  | { type: 'device-removed'; device: string }
  | { type: 'crash' }
  /** Stop every app (no more sends) before the final drain, so no send lands after a receiver's last consume. */
  | { type: 'halt'; id: number }
  | { type: 'finish' };

/** Worker → main thread. */
export type HostReply = { type: 'ready' } | { type: 'ack'; id: number; ok?: boolean } | { type: 'device-closed'; device: string } | { type: 'app-final'; name: string } | { type: 'device-final'; name: string };

/**
 * What a worker reports when it finishes: its thread and, per hosted domain, VIRQ handler runs and
 * sends that waited on a full ring; the figures of the devices whose front ends it ran, of the
 * virtio-mmio device models it ran, and what their workloads found wrong.
 *
 * @example
 * ```ts
 * const figures: WorkerFigures = { worker: 0, threadId: 1, domains: [{ domid: 1, name: 'g1', virqs: 3, waits: 0 }], devices: [], mmioBackends: [], xenbus: [], violations: [] };
 * ```
 */
export interface WorkerFigures {
  worker: number;
  threadId: number;
  domains: Array<{ domid: number; name: string; virqs: number; waits: number }>;
  devices: DeviceFigures[];
  /** The virtio-mmio device models that ran in its domains. */
  mmioBackends: MmioBackFigures[];
  /** Its dom0less guests' xenbus connections. */
  xenbus: XenbusFigures[];
  violations: string[];
}
