import type { GuestMemory } from '../memory/guest-memory.js';
import type { Hypervisor } from '../xen/hypervisor.js';

/**
 * What software inside a domain can reach: its own memory, the Argo hypercall, and its event
 * channels. The guest library is written against this, so the same guest code runs against a
 * hypervisor in this thread or (later) one reached from a worker thread.
 *
 * @example
 * ```ts
 * const platform = platformOf(hv, 1);
 * platform.argoOp(XEN_ARGO_OP_notify, 0, 0, 0, 0);
 * ```
 */
export interface GuestPlatform {
  readonly domid: number;
  readonly memory: GuestMemory;
  /** A 32-bit guest: its iovs carry 4-byte handles. */
  readonly compat?: boolean;
  argoOp(cmd: number, arg1: number, arg2: number, arg3: number, arg4: number): number;
  bindVirq(virq: number, vcpu: number): number;
  virqPending(virq: number): boolean;
  clearVirq(virq: number): void;
  /** Called on each VIRQ raised for this domain; returns the unsubscribe function. */
  onVirq(listener: (virq: number) => void): () => void;
}

/** The platform of domain `domid` on a hypervisor in this thread. */
export function platformOf(hv: Hypervisor, domid: number): GuestPlatform {
  const dom = hv.domain(domid);
  if (!dom) throw new RangeError(`no domain ${domid}`);
  return {
    domid,
    memory: dom.memory,
    compat: dom.compat,
    argoOp: (cmd, a1, a2, a3, a4) => hv.argoOp(domid, cmd, a1, a2, a3, a4),
    bindVirq: (virq, vcpu) => hv.bindVirq(domid, virq, vcpu),
    virqPending: (virq) => hv.virqPending(domid, virq),
    clearVirq: (virq) => hv.clearVirq(domid, virq),
    onVirq: (listener) =>
      hv.onVirq((target, virq) => {
        if (target === domid) listener(virq);
      }),
  };
}
