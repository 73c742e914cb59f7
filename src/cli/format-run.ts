import type { RunSummary } from '../runtime/run-summary.js';

/**
 * The readable summary of `argosim run`.
 *
 * @example
 * ```ts
 * console.log(formatRunSummary(system.run()));
 * ```
 */
export function formatRunSummary(s: RunSummary): string {
  const m = s.messages;
  const counts = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k}×${v}`).join(' ') || 'none';
  const lines = [
    `argosim run: ${s.scenario} (seed ${s.seed}, ${s.runtime} runtime, ${s.strategy} strategy)`,
    `${s.steps} steps, ${s.virtualTimeMs} ms of virtual time, ended: ${s.end}`,
    '',
    `${'domain'.padEnd(14)} ${'state'.padEnd(14)} ${'sent'.padStart(7)} ${'received'.padStart(9)} ${'VIRQs'.padStart(7)}`,
    ...s.domains.map(
      (d) =>
        `${`${d.name} (${d.domid})`.padEnd(14)} ${d.state.padEnd(14)} ${String(d.sent).padStart(7)} ${String(d.received).padStart(9)} ${String(d.virqs).padStart(7)}`,
    ),
    '',
    `messages: ${m.sent} sent, ${m.delivered} delivered, ${m.refused} refused, ${m.lost} lost to teardown, ${m.duplicated} duplicated, ${m.corrupted} corrupted, ${m.reordered} reordered`,
    `failed sends: ${counts(s.errors)}; refused ring registrations: ${counts(s.refusedRings)}`,
    s.invariantViolations.length === 0
      ? 'invariants: all held (exactly once, intact, in order per sender and ring; nothing after teardown; nothing across a denied edge)'
      : `invariant violations (${s.invariantViolations.length}):\n${s.invariantViolations.map((v) => `  - ${v}`).join('\n')}`,
  ];
  return lines.join('\n');
}
