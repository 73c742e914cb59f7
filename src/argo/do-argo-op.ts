import { ERRNO } from '../xen/errno.js';
import {
  XEN_ARGO_OP_notify,
  XEN_ARGO_OP_register_ring,
  XEN_ARGO_OP_sendv,
  XEN_ARGO_OP_unregister_ring,
  XEN_ARGO_OP_viptables_add,
  XEN_ARGO_OP_viptables_del,
  XEN_ARGO_OP_viptables_list,
} from './constants.js';
import type { ArgoHost } from './host.js';
import { notify } from './notify.js';
import { registerRing } from './register-ring.js';
import { sendv } from './sendv.js';
import { unregisterRing } from './unregister-ring.js';
import { viptablesOp } from './viptables.js';

/** A hypercall integer argument that fits Xen's 32-bit use of an unsigned long. */
function isU32(x: number): boolean {
  return (x >>> 0) === x;
}

/**
 * `do_argo_op` (argo.md §3): the global checks in Xen's order, then dispatch. `cs` is the caller's
 * domain-table slot. Never throws for anything a guest can pass; returns 0, a byte count or -errno.
 *
 * @example
 * ```ts
 * doArgoOp(host, slot, domid, XEN_ARGO_OP_notify, 0, 0, 0, 0); // 0
 * ```
 */
export function doArgoOp(
  host: ArgoHost,
  cs: number,
  cd: number,
  cmd: number,
  arg1: number,
  arg2: number,
  arg3: number,
  arg4: number,
): number {
  if (!host.options.built) return -ERRNO.ENOSYS; // no CONFIG_ARGO: the hypercall does not exist
  if (!isU32(arg3) || !isU32(arg4)) return -ERRNO.EINVAL; // §3 step 1, before the enable checks
  if (!host.options.enabled) return -ERRNO.EOPNOTSUPP; // step 2
  const rc = host.xsm.argoEnable(cs); // step 3
  if (rc !== 0) return rc;
  const a1 = handle(arg1);
  const a2 = handle(arg2);
  switch (cmd) {
    case XEN_ARGO_OP_register_ring:
      return registerRing(host, cs, cd, a1, a2, arg3, arg4);
    case XEN_ARGO_OP_unregister_ring:
      if (a2 !== 0 || arg3 !== 0 || arg4 !== 0) return -ERRNO.EINVAL; // §4.2 step 2
      return unregisterRing(host, cs, cd, a1);
    case XEN_ARGO_OP_sendv:
      return sendv(host, cs, cd, a1, a2, arg3, arg4);
    case XEN_ARGO_OP_notify:
      if (a2 !== 0 || arg3 !== 0 || arg4 !== 0) return -ERRNO.EINVAL; // §4.4 step 2
      return notify(host, cs, cd, a1);
    case XEN_ARGO_OP_viptables_add:
    case XEN_ARGO_OP_viptables_del:
    case XEN_ARGO_OP_viptables_list:
      if (!host.options.viptables) return -ERRNO.EOPNOTSUPP;
      return viptablesOp(host, cs, cmd, a1, arg3);
    default:
      return -ERRNO.EOPNOTSUPP; // step 4
  }
}

/**
 * A guest handle as a gpa: 0 is NULL; anything that is not a non-negative integer can never be
 * accessible, so it maps to -1 (non-NULL, and outside every guest's RAM).
 */
function handle(arg: number): number {
  return Number.isSafeInteger(arg) && arg >= 0 ? arg : -1;
}
