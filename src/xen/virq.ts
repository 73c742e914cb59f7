/**
 * Virtual IRQ numbers and binding types (xen/include/public/xen.h, xen/common/event_channel.c).
 * A "global" or "domain" VIRQ may only be bound on vCPU 0; a "vcpu" VIRQ on any vCPU.
 *
 * @example
 * ```ts
 * hv.bindVirq(1, VIRQ_ARGO, 0); // 0
 * ```
 */
export const VIRQ_TIMER = 0;
/** `VIRQ_DEBUG` (per vCPU). */
export const VIRQ_DEBUG = 1;
/** `VIRQ_CONSOLE` (global). */
export const VIRQ_CONSOLE = 2;
/** `VIRQ_DOM_EXC` (global): a domain has died or changed state. */
export const VIRQ_DOM_EXC = 3;
/** `VIRQ_ARGO` (per domain): Argo rings have data or space (argo.md §6.2). */
export const VIRQ_ARGO = 11;
/** `NR_VIRQS`. */
export const NR_VIRQS = 24;

/** How a VIRQ is bound. */
export type VirqType = 'vcpu' | 'global' | 'domain';

const VCPU_VIRQS = new Set([0, 1, 7, 13]); // TIMER, DEBUG, XENOPROF, XENPMU
const DOMAIN_VIRQS = new Set([VIRQ_ARGO]);

/** The binding type of a VIRQ number (event_channel.c `get_virq_type`). */
export function virqType(virq: number): VirqType {
  if (VCPU_VIRQS.has(virq)) return 'vcpu';
  if (DOMAIN_VIRQS.has(virq)) return 'domain';
  return 'global';
}
