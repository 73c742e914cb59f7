import type { ExampleSummary } from './builtin-example.js';

const pad = (s: string | number, n: number) => String(s).padStart(n);

/**
 * The built-in example's summary as readable text.
 *
 * @example
 * ```ts
 * console.log(formatSummary(await runBuiltinExample(1)));
 * ```
 */
export function formatSummary(s: ExampleSummary): string {
  const lines: string[] = [];
  lines.push(`argosim built-in example (seed ${s.seed})`);
  lines.push('Xen: argo=1,mac-permissive=1, XSM FLASK; dom0 + web, db, sandbox');
  lines.push('');
  lines.push(`${'domain'.padEnd(12)} ${'label'.padEnd(10)} rings  sent  bytes sent  recv  bytes recv  VIRQs  errors`);
  for (const d of s.domains) {
    const errors = Object.entries(d.errors).map(([k, v]) => `${k}×${v}`).join(' ') || '-';
    lines.push(
      `${`${d.name} (${d.domid})`.padEnd(12)} ${d.label.padEnd(10)} ${pad(d.rings, 5)} ${pad(d.messagesSent, 5)} ${pad(d.bytesSent, 11)} ${pad(d.messagesReceived, 5)} ${pad(d.bytesReceived, 11)} ${pad(d.virqs, 6)}  ${errors}`,
    );
  }
  const total = s.domains.reduce((n, d) => n + d.messagesReceived, 0);
  const calls: Record<string, number> = {};
  for (const d of s.domains) for (const [op, n] of Object.entries(d.hypercalls)) calls[op] = (calls[op] ?? 0) + n;
  lines.push('');
  lines.push(`hypercalls: ${Object.entries(calls).map(([op, n]) => `${op} ${n}`).join(', ')}`);
  lines.push(`messages: ${total} received, ${s.intact} intact and in order, ${s.corrupt} corrupt`);
  lines.push(`denied by FLASK: sandbox → db sendv ${s.denied.sends}× EACCES, register_ring for db ${s.denied.registers}× EACCES`);
  lines.push(
    `backpressure: web → dom0:9100 held back ${s.backpressure.eagain}× (EAGAIN, space-wait queued), woken by dom0's notify ${s.backpressure.wokenByNotify}×`,
  );
  lines.push(
    `end: ${s.finalState.rings} rings registered, ${s.finalState.waiters} waiters queued; after destroy ${s.finalState.domainsAfterDestroy} domains remain`,
  );
  return lines.join('\n');
}
