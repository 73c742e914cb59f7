import { ERRNO } from './errno.js';
import type { Hypervisor } from './hypervisor.js';

/**
 * Pages `domain_relinquish_resources` frees between two preemption checks (SIM CHOICE: Xen checks
 * `hypercall_preempt_check()` as it walks the page lists and returns -ERESTART when it is time to
 * yield; the model yields every 256 pages, 1 MiB).
 */
export const RELINQUISH_PAGES_PER_CALL = 256;

/**
 * XEN_DOMCTL_destroydomain and the `domain_kill` it runs (virtio-ioreq-lifecycle.md §6.3 domain_kill;
 * §6.7 R17), restartable as Xen's is:
 *
 * * the caller's own domain → -EINVAL; a domid that no longer resolves → -ESRCH;
 * * alive → paused, marked dying, Argo torn down (`hv.killDomain`), then the first part of
 *   relinquish_resources;
 * * dying → relinquish_resources goes on from where the last call stopped, whoever makes this call:
 *   `RELINQUISH_PAGES_PER_CALL` pages, -ERESTART while pages are left (the caller makes the hypercall
 *   again: a continuation);
 * * the last pages freed → dead: the domain is reaped (`hv.reapDomain`: VIRQ_DOM_EXC, `dead`), 0.
 *
 * So destroying a dying domain is idempotent — two destroyers share one teardown, which happens
 * once — and a domain already dead is gone (-ESRCH, nothing done). In the model the dead domain's
 * struct is freed at once (no zombie references), so Xen's "dead → 0" shows as -ESRCH.
 *
 * @example
 * ```ts
 * const kill = new DomainKill(hv);
 * let rc;
 * do rc = kill.destroydomain(0, 3); while (rc === -ERRNO.ERESTART);   // libxc's loop, or a continuation
 * hv.life(3); // 'gone'
 * ```
 */
export class DomainKill {
  /** Pages each dying domain still has to relinquish, by domid. */
  private readonly left = new Map<number, number>();

  constructor(private readonly hv: Hypervisor) {}

  /** XEN_DOMCTL_destroydomain by `caller` on `domid`: 0, -ERESTART (call again), -ESRCH or -EINVAL. */
  destroydomain(caller: number, domid: number): number {
    if (caller === domid) return -ERRNO.EINVAL; // domain_kill: d == current->domain
    const life = this.hv.life(domid);
    if (life === 'gone') return -ERRNO.ESRCH;
    if (life === 'alive') {
      this.hv.killDomain(domid); // DOMDYING_alive → DOMDYING_dying
      this.left.set(domid, this.hv.domain(domid)?.memory.pages ?? 0);
    }
    const left = this.left.get(domid) ?? 0; // a domain made dying by another path: nothing counted to free
    if (left > RELINQUISH_PAGES_PER_CALL) {
      this.left.set(domid, left - RELINQUISH_PAGES_PER_CALL);
      return -ERRNO.ERESTART;
    }
    this.left.delete(domid);
    this.hv.reapDomain(domid); // DOMDYING_dead: VIRQ_DOM_EXC
    return 0;
  }

  /** Pages `domid` still has to relinquish (0 when it is not dying). */
  pagesLeft(domid: number): number {
    return this.left.get(domid) ?? 0;
  }
}
