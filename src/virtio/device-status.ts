import {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_CONFIG_S_SUSPEND,
  VIRTIO_F_VERSION_1,
  bit,
} from './constants.js';
import type { ViolationKind, ViolationLog } from './violation-log.js';

/** What the status state machine asks of the device around it. */
export interface DeviceStatusHooks {
  /** The device-specific check of an accepted feature set at FEATURES_OK (dependencies, …). */
  acceptFeatures(accepted: bigint): boolean;
  /** Status 0 was written: stop every queue and forget negotiated state (§1.4). */
  reset(): void;
  /** Send a configuration-change notification (§1.7). */
  configNotify(): void;
}

/** The initialisation steps in their normative order (§1.2). */
const STEPS = [VIRTIO_CONFIG_S_ACKNOWLEDGE, VIRTIO_CONFIG_S_DRIVER, VIRTIO_CONFIG_S_FEATURES_OK, VIRTIO_CONFIG_S_DRIVER_OK] as const;
const WORD = 0xffff_ffffn;

/**
 * The device status state machine of virtio-ioreq-lifecycle.md §1.3, with feature negotiation
 * (§1.5): a pure, synchronous core that a device actor can wrap. States are the status values
 * 0 → 1 → 3 → 11 → 15, with FAILED (128) latched and DEVICE_NEEDS_RESET (64) set by the device.
 * Every illegal write is recorded in `log` and answered as docs/virtio.md lists (the SIM CHOICES):
 * a write that clears bits, one after FAILED or during NEEDS_RESET, and features written outside
 * step 4 are ignored; a write that skips a step (case 16) raises DEVICE_NEEDS_RESET.
 *
 * The device is non-transitional (**SIM CHOICE**): it offers VERSION_1 and refuses FEATURES_OK unless
 * the driver accepts it, so the legacy path (no FEATURES_OK) is not modelled; nor is SUSPEND (1.4).
 *
 * @example
 * ```ts
 * const s = new DeviceStatus(bit(VIRTIO_F_VERSION_1), log, hooks);
 * s.write(1); s.write(3);
 * s.writeDriverFeatures(1, 1);  // VERSION_1 is bit 32: word 1, bit 0
 * s.write(11); s.read();        // 11: accepted
 * s.write(15);                  // LIVE
 * ```
 */
export class DeviceStatus {
  private status = 0;
  private driverFeatures = 0n;
  /** FEATURES_OK writes the device refused. */
  featuresRefused = 0;

  constructor(
    readonly deviceFeatures: bigint,
    private readonly log: ViolationLog,
    private readonly hooks: DeviceStatusHooks,
  ) {
    if ((deviceFeatures & bit(VIRTIO_F_VERSION_1)) === 0n) throw new RangeError('a device MUST offer VIRTIO_F_VERSION_1 (§1.5)');
  }

  /** The status byte as the driver reads it. */
  read(): number {
    return this.status;
  }

  /** True once DRIVER_OK is set, with neither FAILED nor DEVICE_NEEDS_RESET: the device may use its queues (§1.1). */
  get live(): boolean {
    return (this.status & (VIRTIO_CONFIG_S_DRIVER_OK | VIRTIO_CONFIG_S_FAILED | VIRTIO_CONFIG_S_NEEDS_RESET)) === VIRTIO_CONFIG_S_DRIVER_OK;
  }

  /** The negotiated features: the driver's accepted set once FEATURES_OK holds, else none. */
  get negotiated(): bigint {
    return (this.status & VIRTIO_CONFIG_S_FEATURES_OK) !== 0 ? this.driverFeatures : 0n;
  }

  /** True when feature bit `n` was negotiated. */
  has(n: number): boolean {
    return (this.negotiated & bit(n)) !== 0n;
  }

  /** True when status bit(s) `mask` are all set. */
  is(mask: number): boolean {
    return (this.status & mask) === mask;
  }

  /** 32-bit word `sel` of the offered features (sel 0: bits 0–31, 1: bits 32–63, …; §1.5). */
  readDeviceFeatures(sel: number): number {
    if (!Number.isInteger(sel) || sel < 0 || sel > 3) return 0;
    return Number((this.deviceFeatures >> BigInt(32 * sel)) & WORD);
  }

  /**
   * Word `sel` of the features the driver accepts: only in step 4 of §1.2, i.e. with DRIVER set and
   * before FEATURES_OK. After FEATURES_OK the write is ignored and logged (case 15).
   */
  writeDriverFeatures(sel: number, word: number): void {
    if (this.is(VIRTIO_CONFIG_S_FEATURES_OK)) return this.violate('features-after-features-ok', `word ${sel} = 0x${word.toString(16)} with status ${this.status}`);
    if (!this.is(VIRTIO_CONFIG_S_DRIVER) || !this.settable()) return this.violate('features-before-driver', `word ${sel} with status ${this.status}`);
    if (!Number.isInteger(sel) || sel < 0 || sel > 3) return this.violate('features-word-invalid', `feature word ${sel} does not exist`);
    const shift = BigInt(32 * sel);
    this.driverFeatures = (this.driverFeatures & ~(WORD << shift)) | ((BigInt(word >>> 0) & WORD) << shift);
  }

  /** A driver write of the status register (§1.3 table; 0 resets). */
  write(value: number): void {
    const v = value & 0xff;
    if (v === 0) return this.reset();
    if (this.is(VIRTIO_CONFIG_S_FAILED)) return this.violate('status-after-failed', `wrote ${v} while FAILED (case 20)`);
    if ((v & VIRTIO_CONFIG_S_FAILED) !== 0) {
      this.status |= VIRTIO_CONFIG_S_FAILED; // latched until reset (§1.3)
      return;
    }
    if (this.is(VIRTIO_CONFIG_S_NEEDS_RESET)) return this.violate('status-while-needs-reset', `wrote ${v}; only a reset helps`);
    if ((v & VIRTIO_CONFIG_S_SUSPEND) !== 0) return this.violate('suspend-not-offered', `wrote ${v}: SUSPEND is 1.4 and not offered`);
    if ((v & VIRTIO_CONFIG_S_NEEDS_RESET) !== 0) return this.violate('status-sets-device-bit', `wrote ${v}: DEVICE_NEEDS_RESET is the device's`);
    const cleared = this.status & ~v;
    if (cleared !== 0) return this.violate('status-clears-bits', `wrote ${v} over ${this.status} (case 17)`);
    const added = v & ~this.status;
    if (added === 0) return;
    const next = STEPS.find((s) => (this.status & s) === 0);
    if (added !== next) {
      this.violate('status-skips-step', `wrote ${v} over ${this.status}: the next step is ${next ?? 'none'} (case 16)`);
      return this.needsReset();
    }
    if (added === VIRTIO_CONFIG_S_FEATURES_OK && !this.featuresAcceptable()) {
      this.featuresRefused++; // §1.3: the bit reads back clear, status stays 3
      return;
    }
    this.status |= added;
  }

  /**
   * The device has entered an error state (§1.1): DEVICE_NEEDS_RESET, and a configuration-change
   * notification when DRIVER_OK is set.
   */
  needsReset(): void {
    if (this.is(VIRTIO_CONFIG_S_NEEDS_RESET)) return;
    this.status |= VIRTIO_CONFIG_S_NEEDS_RESET;
    if (this.is(VIRTIO_CONFIG_S_DRIVER_OK)) this.hooks.configNotify();
  }

  private reset(): void {
    this.status = 0;
    this.driverFeatures = 0n;
    this.hooks.reset();
  }

  /** §1.5 device rules: a subset of what was offered, VERSION_1 included, and the device's own check. */
  private featuresAcceptable(): boolean {
    const f = this.driverFeatures;
    return (f & ~this.deviceFeatures) === 0n && (f & bit(VIRTIO_F_VERSION_1)) !== 0n && this.hooks.acceptFeatures(f);
  }

  private settable(): boolean {
    return (this.status & (VIRTIO_CONFIG_S_FAILED | VIRTIO_CONFIG_S_NEEDS_RESET)) === 0;
  }

  private violate(kind: ViolationKind, detail: string): void {
    this.log.record(kind, detail);
  }
}
