import type { GuestMemory } from '../memory/guest-memory.js';
import type { PageAllocator } from '../memory/page-allocator.js';
import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
} from './constants.js';
import type { VringAddresses } from './layout.js';
import { placeVring } from './place-vring.js';

/**
 * The driver's view of a device, whatever the transport: status, feature words, configuration space
 * and queue registers. `VirtioDevice` implements it directly; an MMIO or VirtIO-Argo transport
 * implements it over its registers or messages.
 *
 * @example
 * ```ts
 * const access: VirtioDriverAccess = device;
 * access.writeStatus(0);
 * ```
 */
export interface VirtioDriverAccess {
  readStatus(): number;
  writeStatus(value: number): void;
  readDeviceFeatures(sel: number): number;
  writeDriverFeatures(sel: number, word: number): void;
  queueSizeMax(q: number): number;
  setQueueSize(q: number, size: number): void;
  setQueueAddresses(q: number, desc: number, avail: number, used: number): void;
  setQueueReady(q: number, ready: boolean): void;
  queueReady(q: number): boolean;
  readConfig(offset: number, width: number): number;
  readonly configGeneration: number;
}

/** What the driver wants from initialisation: the features it understands and its queues' sizes. */
export interface InitialiseOptions {
  /** Feature bits the driver understands; the negotiated set is these ∩ offered. */
  wanted: bigint;
  /** Size of each queue to set up (capped at QueueSizeMax); default: one queue of QueueSizeMax. */
  queueSizes?: readonly number[];
}

/** The outcome of §1.2: the negotiated features and the rings, or where initialisation stopped. */
export type InitialiseResult =
  | { ok: true; features: bigint; rings: VringAddresses[] }
  | { ok: false; failedAt: 'reset' | 'features' | 'queue'; status: number };

/**
 * Reads the 64 offered feature bits, word by word (§1.5 transport encoding).
 *
 * @example
 * ```ts
 * const offered = readFeatures(device);
 * (offered & bit(VIRTIO_F_VERSION_1)) !== 0n; // true for every device
 * ```
 */
export function readFeatures(access: VirtioDriverAccess): bigint {
  return BigInt(access.readDeviceFeatures(0) >>> 0) | (BigInt(access.readDeviceFeatures(1) >>> 0) << 32n);
}

/**
 * The driver initialisation sequence of virtio-ioreq-lifecycle.md §1.2, step by step: reset and read
 * back 0, ACKNOWLEDGE, DRIVER, accept the wanted subset of the offered features, FEATURES_OK, read it
 * back (refused → FAILED), set up each queue in guest memory (§1.8 typical queue set-up), DRIVER_OK.
 * Any step that fails sets FAILED and stops, as step 8 says.
 *
 * @example
 * ```ts
 * const init = initialiseDevice(device, mem, pages, { wanted: bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_EVENT_IDX) });
 * if (init.ok) new DriverQueue(mem, init.rings[0], { eventIdx: (init.features & bit(VIRTIO_F_EVENT_IDX)) !== 0n });
 * ```
 */
export function initialiseDevice(access: VirtioDriverAccess, memory: GuestMemory, pages: PageAllocator, options: InitialiseOptions): InitialiseResult {
  access.writeStatus(0); // step 1
  if (access.readStatus() !== 0) return { ok: false, failedAt: 'reset', status: access.readStatus() };
  addStatus(access, VIRTIO_CONFIG_S_ACKNOWLEDGE); // step 2
  addStatus(access, VIRTIO_CONFIG_S_DRIVER); // step 3
  const features = readFeatures(access) & options.wanted; // step 4
  access.writeDriverFeatures(0, Number(features & 0xffff_ffffn));
  access.writeDriverFeatures(1, Number(features >> 32n));
  addStatus(access, VIRTIO_CONFIG_S_FEATURES_OK); // step 5
  if ((access.readStatus() & VIRTIO_CONFIG_S_FEATURES_OK) === 0) return failed(access, 'features'); // step 6
  const rings: VringAddresses[] = [];
  const sizes = options.queueSizes ?? [access.queueSizeMax(0)];
  for (let q = 0; q < sizes.length; q++) {
    const ring = setupQueue(access, memory, pages, q, sizes[q]); // step 7
    if (ring === null) return failed(access, 'queue');
    rings.push(ring);
  }
  addStatus(access, VIRTIO_CONFIG_S_DRIVER_OK); // step 8
  return { ok: true, features, rings };
}

/** §1.8 typical queue set-up: not ready yet, size ≤ QueueSizeMax, zeroed areas, addresses, ready. */
function setupQueue(access: VirtioDriverAccess, memory: GuestMemory, pages: PageAllocator, q: number, size: number): VringAddresses | null {
  const max = access.queueSizeMax(q);
  if (max === 0 || access.queueReady(q)) return null;
  const ring = placeVring(memory, pages, Math.min(size, max));
  access.setQueueSize(q, ring.qsz);
  access.setQueueAddresses(q, ring.desc, ring.avail, ring.used);
  access.setQueueReady(q, true);
  return access.queueReady(q) ? ring : null;
}

function addStatus(access: VirtioDriverAccess, bitValue: number): void {
  access.writeStatus(access.readStatus() | bitValue);
}

function failed(access: VirtioDriverAccess, failedAt: 'features' | 'queue'): InitialiseResult {
  addStatus(access, VIRTIO_CONFIG_S_FAILED);
  return { ok: false, failedAt, status: access.readStatus() };
}

/** Attempts `readConfigConsistent` makes before it gives up (a loud limit). */
export const CONFIG_READ_ATTEMPTS_MAX = 64;

/**
 * Reads configuration fields consistently (§1.6, case 22): generation, the fields, generation again;
 * retried while the generation moved. Returns the value and how many attempts it took. Throws when
 * the device changes its config on every attempt (a device that never settles is a bug to report).
 *
 * @example
 * ```ts
 * const { value: capacity } = readConfigConsistent(device, (a) => a.readConfig(0, 4) + a.readConfig(4, 4) * 2 ** 32);
 * ```
 */
export function readConfigConsistent<T>(access: VirtioDriverAccess, read: (access: VirtioDriverAccess) => T): { value: T; attempts: number } {
  for (let attempts = 1; attempts <= CONFIG_READ_ATTEMPTS_MAX; attempts++) {
    const before = access.configGeneration;
    const value = read(access);
    if (access.configGeneration === before) return { value, attempts };
  }
  throw new Error(`readConfigConsistent: the config generation moved on each of ${CONFIG_READ_ATTEMPTS_MAX} attempts`);
}
