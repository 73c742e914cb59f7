import type { AnyActorRef } from 'xstate';
import { XEN_ARGO_DOMID_ANY } from '../argo/constants.js';
import type { ArgosimSystem, SystemActor } from '../runtime/system.js';
import type { ActorView } from './protocol.js';

/**
 * How the inspector sees one actor of a system: its state as a dotted path, and what the
 * topology draws beside it (a ring's fill from the hypervisor, an app's destination).
 *
 * @example
 * ```ts
 * const names = domainNames(system);
 * system.actors().map((a) => describeActor(system, a, names));
 * ```
 */
export function describeActor(system: ArgosimSystem, a: SystemActor, names: ReadonlyMap<number, string>): ActorView {
  const snapshot = a.actor.getSnapshot() as { value: unknown; status: string; context: Record<string, unknown> };
  const view: ActorView = { id: a.id, kind: a.kind, domain: a.domain, machine: a.machine, state: stateText(snapshot.value), status: snapshot.status };
  const c = snapshot.context;
  if (a.kind === 'domain') {
    const spec = system.scenario.domains.find((d) => d.name === a.domain);
    view.domid = Number(c.domid);
    view.label = spec?.label;
  } else if (a.kind === 'ring') {
    const owner = Number(c.owner);
    const partner = Number(c.partner);
    const live = system.hv.argoRingOccupancy(owner, Number(c.aport), partner);
    view.ring = {
      owner: a.domain,
      aport: Number(c.aport),
      partner: partner === XEN_ARGO_DOMID_ANY ? 'any' : (names.get(partner) ?? String(partner)),
      len: Number(c.len),
      pendingBytes: live?.pendingBytes ?? Number(c.pendingBytes ?? 0),
      waiters: live?.waiters ?? Number(c.waiters ?? 0),
    };
  } else if (a.kind === 'app' && c.dst) {
    // a sending application (a receiving one, `guestReceiver`, has no destination)
    const dst = c.dst as { domid: number; aport: number };
    view.app = { to: `${dst.domid}:${dst.aport}`, toDomain: names.get(dst.domid), sent: Number(c.sent ?? 0), count: Number(c.count ?? 0) };
  }
  return view;
}

/** domid → scenario domain name. */
export function domainNames(system: ArgosimSystem): Map<number, string> {
  return new Map(system.scenario.domains.map((d) => [d.domid, d.name]));
}

/**
 * A state value as one line: `'running'`, `{ registered: 'empty' }` → `registered.empty`, parallel
 * regions joined with `, `.
 *
 * @example
 * ```ts
 * stateText({ registered: 'holdingData' }); // 'registered.holdingData'
 * ```
 */
export function stateText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === null || typeof value !== 'object') return String(value);
  return Object.entries(value as Record<string, unknown>)
    .map(([key, sub]) => {
      const inner = stateText(sub);
      return inner.includes(', ') ? `${key}.(${inner})` : `${key}.${inner}`;
    })
    .join(', ');
}

/** The state text of an actor ref now. */
export function stateOf(actor: AnyActorRef): string {
  return stateText((actor.getSnapshot() as { value: unknown }).value);
}

const ARRAY_ITEMS_SHOWN = 16;
const STRING_CHARS_SHOWN = 200;
const DEPTH_MAX = 5;

/**
 * A value made safe to send as JSON: long arrays and typed arrays cut (with their length noted),
 * functions and actor refs named, cycles and depth bounded.
 *
 * @example
 * ```ts
 * jsonSafe({ sizes: new Array(1000).fill(64) }); // { sizes: [64, …16 items, '… 984 more'] }
 * ```
 */
export function jsonSafe(value: unknown, depth = 0): unknown {
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'string') return value.length > STRING_CHARS_SHOWN ? `${value.slice(0, STRING_CHARS_SHOWN)}…` : value;
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'undefined') return null;
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value !== 'object') return String(value);
  if (ArrayBuffer.isView(value)) return `[${value.constructor.name} ${value.byteLength} bytes]`;
  if (depth >= DEPTH_MAX) return '[…]';
  if ('sessionId' in value && 'send' in value) return `[actor ${(value as AnyActorRef).id}]`;
  if (Array.isArray(value)) {
    const shown = value.slice(0, ARRAY_ITEMS_SHOWN).map((v) => jsonSafe(v, depth + 1));
    if (value.length > ARRAY_ITEMS_SHOWN) shown.push(`… ${value.length - ARRAY_ITEMS_SHOWN} more`);
    return shown;
  }
  if (value instanceof Map) return jsonSafe(Object.fromEntries(value), depth);
  if (value instanceof Set) return jsonSafe([...value], depth);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v, depth + 1);
  return out;
}
