import type { DeviceFigures } from './devices.js';
import type { VifFigures } from './vif-devices.js';
import type { MessageCounts } from './message-ledger.js';

/** Per domain: messages and bytes sent and received, sends that waited on a full ring, VIRQ handler runs. */
export interface DomainFigures {
  sent: number;
  received: number;
  bytesSent: number;
  bytesReceived: number;
  /** Sends that met a full ring (EAGAIN), queued a space-wait and waited for notify. */
  waits: number;
  virqs: number;
}

/**
 * What `argosim run` reports (issue #3 item 5): the JSON object of `--json`, and the basis of the
 * readable summary.
 *
 * @example
 * ```ts
 * const summary: RunSummary = system.run();
 * summary.invariantViolations; // [] when every invariant held
 * ```
 */
export interface RunSummary {
  scenario: string;
  seed: number;
  runtime: 'deterministic';
  strategy: string;
  steps: number;
  virtualTimeMs: number;
  /**
   * Why the run stopped: everything done (`idle`), the time limit (`until`), the step limit, or the
   * host could not go on (`halted`: xenstored exited in a live update, R12).
   */
  end: 'idle' | 'until' | 'maxSteps' | 'halted';
  messages: MessageCounts;
  /** Failed sends by errno name. */
  errors: Record<string, number>;
  /** Ring registrations the hypervisor refused, by errno name. */
  refusedRings: Record<string, number>;
  /** Faults that hit a live domain, by kind. */
  faults?: Record<string, number>;
  /**
   * Per scenario domain (its current incarnation's domid and state; the figures over the whole run),
   * with `toolstack`: the operations its toolstack completed, in order, as `op RESULT` (libxl's
   * result, e.g. `shutdown OK`, `suspend ERROR_FAIL`).
   */
  domains: Array<{ name: string; domid: number; state: string; toolstack: string[] } & DomainFigures>;
  /** The scenario's VirtIO devices (only when it has any): state, status, requests, errors, bytes, … */
  devices?: DeviceFigures[];
  /** Memory mappings shared between a device's front end and back end: 0 for VirtIO-Argo (only with devices). */
  sharedMappings?: number;
  /** The scenario's PV vifs (only when it has any): where each one's xenbus handshake got to. */
  vifs?: VifFigures[];
  invariantViolations: string[];
}
