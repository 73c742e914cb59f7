import { D } from '../domain/domain-table.js';
import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { ERRNO } from '../xen/errno.js';
import { ADDR, VIPTABLES_LIST, VIPTABLES_RULE } from './abi.js';
import { XEN_ARGO_DOMID_ANY, XEN_ARGO_PORT_ANY } from './constants.js';
import type { GuestMemory } from '../memory/guest-memory.js';
import { guestOk, memoryOf, type ArgoHost } from './host.js';
import { G, V, VIPTABLES_RULES_MAX, type ArgoTables } from './tables.js';

/**
 * OpenXT's "viptables" Argo firewall (argo.md §7.3; not upstream, enabled by `openxt.viptables`).
 * A global ordered rule list (src domid|ANY, src port|PORT_ANY, dst domid|ANY, dst port|PORT_ANY,
 * accept) checked by sendv after the XSM send check and before any ring lookup: the first matching
 * rule decides, no match accepts, a reject is EPERM. Ops 6/7/8 are for privileged domains only.
 * The op argument layouts are argosim's reading of the OpenXT patch (docs/argo-core.md).
 *
 * @example
 * ```ts
 * viptablesVerdict(tables, 1, 5, 2, 80); // true: accepted
 * ```
 */
export function viptablesVerdict(tables: ArgoTables, srcDomid: number, srcPort: number, dstDomid: number, dstPort: number): boolean {
  spinLock(tables.global, G.VIPTABLES_LOCK, 'viptables'); // add/del shift rules under it
  try {
    return firstMatchAccepts(tables, srcDomid, srcPort, dstDomid, dstPort);
  } finally {
    spinUnlock(tables.global, G.VIPTABLES_LOCK);
  }
}

function firstMatchAccepts(tables: ArgoTables, srcDomid: number, srcPort: number, dstDomid: number, dstPort: number): boolean {
  const rules = tables.viptables;
  const count = tables.global[G.VIPTABLES_COUNT];
  for (let i = 0; i < count; i++) {
    const r = i * V.STRIDE;
    if (
      matches(rules[r + V.SRC_DOMID], srcDomid, XEN_ARGO_DOMID_ANY) &&
      matches(rules[r + V.SRC_PORT] >>> 0, srcPort, XEN_ARGO_PORT_ANY) &&
      matches(rules[r + V.DST_DOMID], dstDomid, XEN_ARGO_DOMID_ANY) &&
      matches(rules[r + V.DST_PORT] >>> 0, dstPort, XEN_ARGO_PORT_ANY)
    ) {
      return rules[r + V.ACCEPT] !== 0;
    }
  }
  return true;
}

function matches(ruleValue: number, value: number, any: number): boolean {
  return ruleValue === any || ruleValue === value;
}

/** One rule as read from or written to guest memory. */
interface Rule {
  srcDomid: number;
  srcPort: number;
  dstDomid: number;
  dstPort: number;
  accept: number;
}

function readRule(view: DataView, gpa: number): Rule {
  return {
    srcPort: view.getUint32(gpa + VIPTABLES_RULE.src + ADDR.aport, true),
    srcDomid: view.getUint16(gpa + VIPTABLES_RULE.src + ADDR.domain_id, true),
    dstPort: view.getUint32(gpa + VIPTABLES_RULE.dst + ADDR.aport, true),
    dstDomid: view.getUint16(gpa + VIPTABLES_RULE.dst + ADDR.domain_id, true),
    accept: view.getUint32(gpa + VIPTABLES_RULE.accept, true) !== 0 ? 1 : 0,
  };
}

function storeRule(rules: Int32Array, i: number, rule: Rule): void {
  const r = i * V.STRIDE;
  rules[r + V.SRC_DOMID] = rule.srcDomid;
  rules[r + V.SRC_PORT] = rule.srcPort | 0;
  rules[r + V.DST_DOMID] = rule.dstDomid;
  rules[r + V.DST_PORT] = rule.dstPort | 0;
  rules[r + V.ACCEPT] = rule.accept;
}

function sameRule(a: Rule, b: Rule): boolean {
  return (
    a.srcDomid === b.srcDomid &&
    a.srcPort === b.srcPort &&
    a.dstDomid === b.dstDomid &&
    a.dstPort === b.dstPort &&
    a.accept === b.accept
  );
}

function ruleAt(rules: Int32Array, i: number): Rule {
  const r = i * V.STRIDE;
  return {
    srcDomid: rules[r + V.SRC_DOMID],
    srcPort: rules[r + V.SRC_PORT] >>> 0,
    dstDomid: rules[r + V.DST_DOMID],
    dstPort: rules[r + V.DST_PORT] >>> 0,
    accept: rules[r + V.ACCEPT],
  };
}

/** The viptables ops (6 add, 7 del, 8 list), run under the viptables lock. */
export function viptablesOp(host: ArgoHost, cs: number, cmd: number, arg1: number, position: number): number {
  if (host.domains.get(cs, D.CONTROL) === 0) return -ERRNO.EPERM;
  const { tables } = host;
  spinLock(tables.global, G.VIPTABLES_LOCK, 'viptables');
  try {
    const mem = memoryOf(host, cs);
    if (cmd === 6) return viptablesAdd(tables, mem, arg1, position);
    if (cmd === 7) return viptablesDel(tables, mem, arg1, position);
    return viptablesList(tables, mem, arg1);
  } finally {
    spinUnlock(tables.global, G.VIPTABLES_LOCK);
  }
}

/** Insert at 1-based `position` (0: append); EINVAL past the end + 1; ENOMEM when full. */
function viptablesAdd(tables: ArgoTables, mem: GuestMemory, gpa: number, position: number): number {
  if (!guestOk(mem, gpa, VIPTABLES_RULE.size)) return -ERRNO.EFAULT;
  const count = tables.global[G.VIPTABLES_COUNT];
  if (position > count + 1) return -ERRNO.EINVAL;
  if (count >= VIPTABLES_RULES_MAX) return -ERRNO.ENOMEM;
  const at = position === 0 ? count : position - 1;
  const rules = tables.viptables;
  rules.copyWithin((at + 1) * V.STRIDE, at * V.STRIDE, count * V.STRIDE);
  storeRule(rules, at, readRule(mem.view, gpa));
  Atomics.store(tables.global, G.VIPTABLES_COUNT, count + 1);
  return 0;
}

/** Delete by 1-based position, else the first rule equal to the one at arg1, else (NULL) flush all. */
function viptablesDel(tables: ArgoTables, mem: GuestMemory, gpa: number, position: number): number {
  const count = tables.global[G.VIPTABLES_COUNT];
  let at = -1;
  if (position > 0) {
    at = position - 1;
  } else if (gpa !== 0) {
    if (!guestOk(mem, gpa, VIPTABLES_RULE.size)) return -ERRNO.EFAULT;
    const want = readRule(mem.view, gpa);
    for (let i = 0; i < count && at < 0; i++) {
      if (sameRule(ruleAt(tables.viptables, i), want)) at = i;
    }
  } else {
    Atomics.store(tables.global, G.VIPTABLES_COUNT, 0);
    return 0;
  }
  if (at < 0 || at >= count) return -ERRNO.ENOENT;
  tables.viptables.copyWithin(at * V.STRIDE, (at + 1) * V.STRIDE, count * V.STRIDE);
  Atomics.store(tables.global, G.VIPTABLES_COUNT, count - 1);
  return 0;
}

/** Copies up to min(nrules, 8) rules from start_rule into the list; nrules becomes the number written. */
function viptablesList(tables: ArgoTables, mem: GuestMemory, gpa: number): number {
  if (!guestOk(mem, gpa, VIPTABLES_LIST.size)) return -ERRNO.EFAULT;
  const start = mem.view.getUint32(gpa + VIPTABLES_LIST.start_rule, true);
  const want = Math.min(mem.view.getUint32(gpa + VIPTABLES_LIST.nrules, true), 8);
  const count = tables.global[G.VIPTABLES_COUNT];
  const n = Math.max(0, Math.min(want, count - start));
  if (!guestOk(mem, gpa + VIPTABLES_LIST.rules, n * VIPTABLES_RULE.size)) return -ERRNO.EFAULT;
  for (let i = 0; i < n; i++) {
    const r = ruleAt(tables.viptables, start + i);
    const at = gpa + VIPTABLES_LIST.rules + i * VIPTABLES_RULE.size;
    mem.view.setUint32(at + VIPTABLES_RULE.src + ADDR.aport, r.srcPort, true);
    mem.view.setUint16(at + VIPTABLES_RULE.src + ADDR.domain_id, r.srcDomid, true);
    mem.view.setUint16(at + VIPTABLES_RULE.src + ADDR.pad, 0, true);
    mem.view.setUint32(at + VIPTABLES_RULE.dst + ADDR.aport, r.dstPort, true);
    mem.view.setUint16(at + VIPTABLES_RULE.dst + ADDR.domain_id, r.dstDomid, true);
    mem.view.setUint16(at + VIPTABLES_RULE.dst + ADDR.pad, 0, true);
    mem.view.setUint32(at + VIPTABLES_RULE.accept, r.accept, true);
  }
  mem.view.setUint32(gpa + VIPTABLES_LIST.nrules, n, true);
  return 0;
}
