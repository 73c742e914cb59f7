/**
 * The kinds of driver misbehaviour a device records (virtio-ioreq-lifecycle.md §1.3 "Illegal" list,
 * §2.2–§2.6 malformed rings, §3.2 driver rules). Each kind has one answer, listed in docs/virtio.md.
 */
export type ViolationKind =
  | 'status-clears-bits'
  | 'status-skips-step'
  | 'status-after-failed'
  | 'status-while-needs-reset'
  | 'status-sets-device-bit'
  | 'suspend-not-offered'
  | 'features-before-driver'
  | 'features-after-features-ok'
  | 'features-word-invalid'
  | 'config-write-before-features-ok'
  | 'config-write-read-only'
  | 'config-access-invalid'
  | 'queue-register-while-ready'
  | 'queue-setup-invalid'
  | 'queue-reset-not-negotiated'
  | 'notify-before-driver-ok'
  | 'notify-queue-not-ready'
  | 'malformed-ring'
  | 'malformed-request'
  | 'request-rule-broken';

/** One recorded violation: its kind and the values that show it. */
export interface ProtocolViolation {
  readonly kind: ViolationKind;
  readonly detail: string;
}

/** Violations kept in full; later ones are only counted (a loud, fixed limit). */
export const VIOLATION_LOG_MAX = 256;

/**
 * A device's record of protocol violations: the first `VIOLATION_LOG_MAX` in full, and a count of all
 * (the spec's "protocol-error count"). A guest can flood it, so it never grows beyond the limit.
 *
 * @example
 * ```ts
 * log.record('notify-before-driver-ok', 'queue 0, status 3');
 * log.count('notify-before-driver-ok'); // 1
 * ```
 */
export class ViolationLog {
  readonly entries: ProtocolViolation[] = [];
  total = 0;
  private readonly byKind = new Map<ViolationKind, number>();

  record(kind: ViolationKind, detail: string): void {
    this.total++;
    this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
    if (this.entries.length < VIOLATION_LOG_MAX) this.entries.push({ kind, detail });
  }

  /** How many violations of `kind` were recorded. */
  count(kind: ViolationKind): number {
    return this.byKind.get(kind) ?? 0;
  }
}
