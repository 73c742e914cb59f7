import type { VirtioDriverAccess } from '../driver-init.js';
import type { VirtioDevice } from '../virtio-device.js';
import { CONSOLE_CONFIG } from './constants.js';
import type { VirtioConsole } from './virtio-console.js';

/**
 * The driver's view of a virtio-console device with emerg_wr wired (§3.3): a write of emerg_wr goes
 * to `VirtioConsole.emergencyWrite` at any time, even before FEATURES_OK — which the device core's
 * `writeConfig` refuses for every field — and is not stored (the field has no value to read back).
 * Every other access goes to the device unchanged.
 *
 * @example
 * ```ts
 * const access = new ConsoleDriverAccess(device, console);
 * access.writeConfig(CONSOLE_CONFIG.emerg_wr, 4, 0x21); // '!' is output, even before initialisation
 * ```
 */
export class ConsoleDriverAccess implements VirtioDriverAccess {
  constructor(
    readonly device: VirtioDevice,
    readonly console: VirtioConsole,
  ) {}

  writeConfig(offset: number, width: number, value: number): void {
    if (offset === CONSOLE_CONFIG.emerg_wr && width === 4) {
      this.console.emergencyWrite(value);
      return;
    }
    this.device.writeConfig(offset, width, value);
  }

  readStatus(): number {
    return this.device.readStatus();
  }
  writeStatus(value: number): void {
    this.device.writeStatus(value);
  }
  readDeviceFeatures(sel: number): number {
    return this.device.readDeviceFeatures(sel);
  }
  writeDriverFeatures(sel: number, word: number): void {
    this.device.writeDriverFeatures(sel, word);
  }
  queueSizeMax(q: number): number {
    return this.device.queueSizeMax(q);
  }
  setQueueSize(q: number, size: number): void {
    this.device.setQueueSize(q, size);
  }
  setQueueAddresses(q: number, desc: number, avail: number, used: number): void {
    this.device.setQueueAddresses(q, desc, avail, used);
  }
  setQueueReady(q: number, ready: boolean): void {
    this.device.setQueueReady(q, ready);
  }
  queueReady(q: number): boolean {
    return this.device.queueReady(q);
  }
  readConfig(offset: number, width: number): number {
    return this.device.readConfig(offset, width);
  }
  get configGeneration(): number {
    return this.device.configGeneration;
  }
}
