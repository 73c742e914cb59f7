import type { MessageCounts } from './message-ledger.js';

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
  /** Why the run stopped: everything done (`idle`), the time limit (`until`), or the step limit. */
  end: 'idle' | 'until' | 'maxSteps';
  messages: MessageCounts;
  /** Failed sends by errno name. */
  errors: Record<string, number>;
  /** Ring registrations the hypervisor refused, by errno name. */
  refusedRings: Record<string, number>;
  domains: Array<{ name: string; domid: number; state: string; sent: number; received: number; virqs: number }>;
  invariantViolations: string[];
}
