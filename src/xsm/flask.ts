import { D, type DomainTable } from '../domain/domain-table.js';
import { ERRNO } from '../xen/errno.js';
import { ARGO_PERM_BIT, XEN_TYPE, type ArgoPerm, type FlaskPolicy } from './flask-policy.js';
import type { LabelRegistry } from './label-registry.js';
import type { Xsm } from './xsm.js';

/**
 * The FLASK XSM module (xen/xsm/flask/hooks.c) for class argo: an AVC check of the domains' types
 * against the policy; a denial is EACCES (argo.md §7.2). Decisions are cached per (source sid,
 * target sid) pair, as Xen's AVC caches them.
 *
 * @example
 * ```ts
 * const xsm = createFlaskXsm(domains, labels, parseFlaskPolicy(text));
 * ```
 */
export function createFlaskXsm(
  domains: DomainTable,
  labels: LabelRegistry,
  policy: FlaskPolicy,
  enforcing = true,
): Xsm {
  const avc = new Map<number, number>();
  const xenSid = labels.sidOf(XEN_TYPE);
  const bits = (ssid: number, tsid: number): number => {
    const key = ssid * 65536 + tsid;
    let b = avc.get(key);
    if (b === undefined) {
      b = policy.bits(labels.labelOf(ssid), labels.labelOf(tsid));
      avc.set(key, b);
    }
    return b;
  };
  const check = (ssid: number, tsid: number, perm: ArgoPerm): number =>
    !enforcing || (bits(ssid, tsid) & ARGO_PERM_BIT[perm]) !== 0 ? 0 : -ERRNO.EACCES;
  const sid = (slot: number) => domains.get(slot, D.SID);
  return {
    mode: 'flask',
    argoEnable: (d) => check(sid(d), xenSid, 'enable'),
    argoRegisterSingleSource: (d, t) => check(sid(d), sid(t), 'register_single_source'),
    argoRegisterAnySource: (d) => check(sid(d), xenSid, 'register_any_source'),
    argoSend: (d, t) => check(sid(d), sid(t), 'send'),
  };
}
