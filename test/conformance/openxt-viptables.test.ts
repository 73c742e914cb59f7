/**
 * argo.md §7.3 OpenXT "viptables" (not upstream; createHypervisor({ openxt: { viptables: true } })):
 * conformance case 14.44, plus rule order and the position of the check in sendv.
 * Rule layout VIPTABLES_RULE: src addr @0, dst addr @8, accept u32 @16. Ops: 6 add (arg1 = rule,
 * arg3 = 1-based position or 0 to append), 7 del (arg3 = position, or arg1 = rule, or neither =
 * flush), 8 list (arg1 = VIPTABLES_LIST).
 */
import { describe, expect, it } from 'vitest';
import {
  ADDR,
  ERRNO,
  VIPTABLES_LIST,
  VIPTABLES_RULE,
  XEN_ARGO_DOMID_ANY,
  XEN_ARGO_OP_viptables_add,
  XEN_ARGO_OP_viptables_del,
  XEN_ARGO_OP_viptables_list,
  XEN_ARGO_PORT_ANY,
  XEN_ARGO_RING_EXISTS,
} from '../../src/index.js';
import { A, B, C, GPA, Host } from './harness.js';

const RULE_GPA = GPA.ARG;
const LIST_GPA = GPA.RING_DATA;
const ANYD = XEN_ARGO_DOMID_ANY;
const ANYP = XEN_ARGO_PORT_ANY;

interface Rule {
  src: [number, number]; // [domid, port]
  dst: [number, number];
  accept: boolean;
}

function writeRule(h: Host, domid: number, gpa: number, r: Rule): void {
  const v = h.mem(domid).view;
  v.setUint32(gpa + VIPTABLES_RULE.src + ADDR.aport, r.src[1], true);
  v.setUint16(gpa + VIPTABLES_RULE.src + ADDR.domain_id, r.src[0], true);
  v.setUint16(gpa + VIPTABLES_RULE.src + ADDR.pad, 0, true);
  v.setUint32(gpa + VIPTABLES_RULE.dst + ADDR.aport, r.dst[1], true);
  v.setUint16(gpa + VIPTABLES_RULE.dst + ADDR.domain_id, r.dst[0], true);
  v.setUint16(gpa + VIPTABLES_RULE.dst + ADDR.pad, 0, true);
  v.setUint32(gpa + VIPTABLES_RULE.accept, r.accept ? 1 : 0, true);
}

function add(h: Host, caller: number, r: Rule, position = 0): number {
  writeRule(h, caller, RULE_GPA, r);
  return h.hv.argoOp(caller, XEN_ARGO_OP_viptables_add, RULE_GPA, 0, position, 0);
}

function delAt(h: Host, caller: number, position: number): number {
  return h.hv.argoOp(caller, XEN_ARGO_OP_viptables_del, 0, 0, position, 0);
}

function delRule(h: Host, caller: number, r: Rule): number {
  writeRule(h, caller, RULE_GPA, r);
  return h.hv.argoOp(caller, XEN_ARGO_OP_viptables_del, RULE_GPA, 0, 0, 0);
}

function flush(h: Host, caller: number): number {
  return h.hv.argoOp(caller, XEN_ARGO_OP_viptables_del, 0, 0, 0, 0);
}

function list(h: Host, caller: number, start = 0, capacity = 8): { rc: number; rules: Rule[] } {
  const v = h.mem(caller).view;
  v.setUint32(LIST_GPA + VIPTABLES_LIST.start_rule, start, true);
  v.setUint32(LIST_GPA + VIPTABLES_LIST.nrules, capacity, true);
  const rc = h.hv.argoOp(caller, XEN_ARGO_OP_viptables_list, LIST_GPA, 0, 0, 0);
  const n = v.getUint32(LIST_GPA + VIPTABLES_LIST.nrules, true);
  const rules = Array.from({ length: rc === 0 ? n : 0 }, (_, i): Rule => {
    const at = LIST_GPA + VIPTABLES_LIST.rules + i * VIPTABLES_RULE.size;
    return {
      src: [v.getUint16(at + VIPTABLES_RULE.src + ADDR.domain_id, true), v.getUint32(at + VIPTABLES_RULE.src + ADDR.aport, true)],
      dst: [v.getUint16(at + VIPTABLES_RULE.dst + ADDR.domain_id, true), v.getUint32(at + VIPTABLES_RULE.dst + ADDR.aport, true)],
      accept: v.getUint32(at + VIPTABLES_RULE.accept, true) !== 0,
    };
  });
  return { rc, rules };
}

const REJECT_A_TO_B: Rule = { src: [A, ANYP], dst: [B, ANYP], accept: false };

describe('§7.3 OpenXT viptables', () => {
  it('14.44 REJECT A:* → B:* then A sendv to B → -EPERM; no rules → accept; viptables op from a non-privileged domain → -EPERM', () => {
    const h = new Host({ viptables: true });
    const ring = h.ring(B, 1, A, 256);
    // no rules: accepted
    expect(h.send(A, B, 1, 8)).toBe(8);
    expect(ring.tx).toBe(32);
    h.clearVirqs();

    expect(add(h, 0, REJECT_A_TO_B)).toBe(0);
    expect(h.send(A, B, 1, 8)).toBe(-ERRNO.EPERM);
    expect(h.send(A, B, 1, 8, 0, 1234)).toBe(-ERRNO.EPERM); // any source port
    expect(ring.tx).toBe(32);
    expect(h.waiters(B, 1, A)).toEqual([]);
    expect(h.virqs()).toEqual([]);
    // other pairs are unaffected
    h.ring(B, 2, C, 256);
    expect(h.send(C, B, 2, 8)).toBe(8);
    h.ring(A, 1, B, 256);
    expect(h.send(B, A, 1, 8)).toBe(8);

    // non-privileged domains may not touch the rules
    expect(add(h, A, { src: [ANYD, ANYP], dst: [ANYD, ANYP], accept: true }, 1)).toBe(-ERRNO.EPERM);
    expect(delAt(h, A, 1)).toBe(-ERRNO.EPERM);
    expect(flush(h, B)).toBe(-ERRNO.EPERM);
    expect(list(h, C).rc).toBe(-ERRNO.EPERM);
    expect(list(h, 0).rules).toEqual([REJECT_A_TO_B]);
    expect(h.send(A, B, 1, 8)).toBe(-ERRNO.EPERM);

    // flush: no rules → accept again
    expect(flush(h, 0)).toBe(0);
    expect(list(h, 0).rules).toEqual([]);
    expect(h.send(A, B, 1, 8)).toBe(8);
    expect(ring.tx).toBe(64);
  });

  it('14.44-extra the first matching rule decides; port-specific rules; insert at a 1-based position', () => {
    const h = new Host({ viptables: true });
    const r1 = h.ring(B, 1, A, 256);
    const r2 = h.ring(B, 2, A, 256);
    expect(add(h, 0, REJECT_A_TO_B)).toBe(0);
    // insert an ACCEPT for (A:* → B:2) before it
    const acceptPort2: Rule = { src: [A, ANYP], dst: [B, 2], accept: true };
    expect(add(h, 0, acceptPort2, 1)).toBe(0);
    expect(list(h, 0).rules).toEqual([acceptPort2, REJECT_A_TO_B]);
    expect(h.send(A, B, 1, 8)).toBe(-ERRNO.EPERM);
    expect(h.send(A, B, 2, 8)).toBe(8);
    // a source-port-specific reject, appended: never reached for port 2 (first match wins)
    const rejectSrc7: Rule = { src: [A, 7], dst: [ANYD, ANYP], accept: false };
    expect(add(h, 0, rejectSrc7)).toBe(0);
    expect(h.send(A, B, 2, 8, 0, 7)).toBe(8);
    // moved to the front it is reached
    expect(delRule(h, 0, rejectSrc7)).toBe(0);
    expect(add(h, 0, rejectSrc7, 1)).toBe(0);
    expect(list(h, 0).rules).toEqual([rejectSrc7, acceptPort2, REJECT_A_TO_B]);
    expect(h.send(A, B, 2, 8, 0, 7)).toBe(-ERRNO.EPERM);
    expect(h.send(A, B, 2, 8, 0, 8)).toBe(8);
    // delete by position
    expect(delAt(h, 0, 3)).toBe(0);
    expect(list(h, 0).rules).toEqual([rejectSrc7, acceptPort2]);
    expect(h.send(A, B, 1, 8)).toBe(8);
    expect(r1.tx).toBe(32);
    expect(r2.tx).toBe(96);
    // positions past the end
    expect(add(h, 0, REJECT_A_TO_B, 4)).toBe(-ERRNO.EINVAL);
    expect(delAt(h, 0, 3)).toBe(-ERRNO.ENOENT);
    expect(delRule(h, 0, REJECT_A_TO_B)).toBe(-ERRNO.ENOENT);
  });

  it('14.44-extra the rule check comes after the destination lookup and XSM send check, before any ring lookup', () => {
    const h = new Host({ viptables: true });
    expect(add(h, 0, { src: [ANYD, ANYP], dst: [ANYD, ANYP], accept: false })).toBe(0);
    // argument / identity errors come first
    expect(h.sendv(A, { src: { domid: A, aport: 1, pad: 1 }, dst: { domid: B, aport: 1 }, iovs: [] })).toBe(-ERRNO.EINVAL);
    expect(h.send(A, 0x1234, 1, 8)).toBe(-ERRNO.ESRCH);
    // no ring at the port: the reject still wins over ECONNREFUSED
    expect(h.send(A, B, 99, 8)).toBe(-ERRNO.EPERM);
    // destination without Argo state: reject wins over ECONNREFUSED (step 11)
    h.hv.killDomain(C);
    expect(h.send(A, C, 1, 8)).toBe(-ERRNO.EPERM);
    // notify is not filtered by viptables
    h.ring(B, 1, A, 256);
    const r = h.notify(A, [{ domid: B, aport: 1 }]);
    expect(r.rc).toBe(0);
    expect(r.out[0].flags & XEN_ARGO_RING_EXISTS).toBe(XEN_ARGO_RING_EXISTS);
    expect(flush(h, 0)).toBe(0);
    expect(h.send(A, B, 1, 8)).toBe(8);
    expect(h.send(A, B, 99, 8)).toBe(-ERRNO.ECONNREFUSED);
  });
});
