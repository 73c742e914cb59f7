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
    `${'domain'.padEnd(14)} ${'state'.padEnd(10)} ${'sent'.padStart(6)} ${'bytes'.padStart(9)} ${'received'.padStart(9)} ${'bytes'.padStart(9)} ${'waits'.padStart(6)} ${'VIRQs'.padStart(6)}`,
    ...s.domains.map(
      (d) =>
        `${`${d.name} (${d.domid})`.padEnd(14)} ${d.state.padEnd(10)} ${String(d.sent).padStart(6)} ${String(d.bytesSent).padStart(9)} ${String(d.received).padStart(9)} ${String(d.bytesReceived).padStart(9)} ${String(d.waits).padStart(6)} ${String(d.virqs).padStart(6)}`,
    ),
    '(waits: sends that met a full ring, queued a space-wait with EAGAIN and were woken by the receiver\'s notify)',
    '',
    `messages: ${m.sent} sent, ${m.delivered} delivered, ${m.refused} refused, ${m.lost} lost to teardown, ${m.duplicated} duplicated, ${m.corrupted} corrupted, ${m.reordered} reordered`,
    `failed sends: ${counts(s.errors)}; refused ring registrations: ${counts(s.refusedRings)}`,
    ...deviceLines(s),
    ...vifLines(s),
    s.invariantViolations.length === 0
      ? 'invariants: all held (exactly once, intact, in order per sender and ring; nothing after teardown; nothing across a denied edge)'
      : `invariant violations (${s.invariantViolations.length}):\n${s.invariantViolations.map((v) => `  - ${v}`).join('\n')}`,
  ];
  return lines.join('\n');
}

/** The vifs table (scenarios with `vifs`): where each PV vif's xenbus handshake got to. */
function vifLines(s: RunSummary): string[] {
  if (!s.vifs || s.vifs.length === 0) return [];
  return [
    '',
    `${'vif'.padEnd(16)} ${'backend'.padEnd(12)} ${'state'.padEnd(12)} ${'frontend'.padEnd(12)} hotplug`,
    ...s.vifs.map((v) => `${`${v.frontend}/${v.devid}`.padEnd(16)} ${v.backend.padEnd(12)} ${v.state.padEnd(12)} ${v.frontendState.padEnd(12)} ${v.hotplugStatus}`),
    '(a vif is its control plane: netback, netfront and xl devd over xenstore; state: the backend\'s XenbusState, "removed" once its directory is gone)',
  ];
}

/** The devices table (scenarios with `devices`): state, what the workload got right, what was shared. */
function deviceLines(s: RunSummary): string[] {
  if (!s.devices || s.devices.length === 0) return [];
  return [
    '',
    `${'device'.padEnd(10)} ${'transport'.padEnd(9)} ${'state'.padEnd(12)} ${'ok'.padStart(6)} ${'verified'.padStart(10)} ${'errors'.padStart(6)} ${'shared'.padStart(7)} ${'xenstore'.padStart(8)}`,
    ...s.devices.map(
      (d) =>
        `${d.name.padEnd(10)} ${d.transport.padEnd(9)} ${d.state.padEnd(12)} ${String(d.requestsOk).padStart(6)} ${String(d.bytesVerified).padStart(10)} ${String(d.errors).padStart(6)} ${String(d.sharedMappings).padStart(7)} ${String(d.xenstoreOps).padStart(8)}`,
    ),
    `(ok: requests or frames completed and checked; verified: bytes read back or echoed and found intact; shared: memory mappings between front and back end; sharedMappings in all: ${s.sharedMappings ?? 0})`,
    ...s.devices.filter((d) => d.state !== 'driverOk' && d.reason).map((d) => `${d.name}: ${d.state} — ${d.reason}`),
  ];
}
