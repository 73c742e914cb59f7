import { VIRQ_ARGO, VIRQ_CONSOLE, VIRQ_DEBUG, VIRQ_DOM_EXC, VIRQ_TIMER } from '../xen/virq.js';
import type { HypercallRecord } from '../xen/hypervisor.js';
import type { LogEntry } from './protocol.js';

const VIRQ_NAMES: Record<number, string> = {
  [VIRQ_TIMER]: 'VIRQ_TIMER',
  [VIRQ_DEBUG]: 'VIRQ_DEBUG',
  [VIRQ_CONSOLE]: 'VIRQ_CONSOLE',
  [VIRQ_DOM_EXC]: 'VIRQ_DOM_EXC',
  [VIRQ_ARGO]: 'VIRQ_ARGO',
};

/**
 * A hypercall as one line of the event log: the caller and op by Xen's names, a sendv's
 * destination ring and size.
 *
 * @example
 * ```ts
 * hypercallEntry(record, 12, 0.25, names); // { type: 'hypercall', op: 'sendv', domain: 'web', to: 'db:5432', bytes: 120, … }
 * ```
 */
export function hypercallEntry(call: HypercallRecord, step: number, atMs: number, names: ReadonlyMap<number, string>): LogEntry {
  const entry: LogEntry = { step, atMs, type: 'hypercall', op: call.args.op, domain: names.get(call.caller) ?? `dom${call.caller}`, result: call.result };
  if (call.errno) entry.errno = call.errno;
  const args = call.args;
  if (args.op === 'sendv' && args.dst) {
    const toDomain = names.get(args.dst.domid) ?? `dom${args.dst.domid}`;
    entry.to = `${toDomain}:${args.dst.aport}`;
    entry.toDomain = toDomain;
    if (call.result >= 0) entry.bytes = call.result;
  } else if ((args.op === 'register_ring' || args.op === 'unregister_ring') && args.ring) {
    entry.to = `${entry.domain}:${args.ring.aport}`;
  } else if (args.op === 'unknown') {
    entry.op = `op ${args.cmd}`;
  }
  return entry;
}

/**
 * A VIRQ upcall as one line of the event log.
 *
 * @example
 * ```ts
 * virqEntry({ domid: 0, virq: VIRQ_ARGO }, 12, 0.25, names); // { type: 'virq', op: 'VIRQ_ARGO', domain: 'dom0', … }
 * ```
 */
export function virqEntry(e: { domid: number; virq: number }, step: number, atMs: number, names: ReadonlyMap<number, string>): LogEntry {
  return { step, atMs, type: 'virq', op: VIRQ_NAMES[e.virq] ?? `VIRQ ${e.virq}`, domain: names.get(e.domid) ?? `dom${e.domid}` };
}
