import { ERRNO } from '../xen/errno.js';
import { NR_VIRQS, virqType } from '../xen/virq.js';
import { D, DOMAIN_FREE, type DomainTable } from './domain-table.js';

/** Called on the raising thread when a VIRQ's pending bit goes from clear to set (the upcall). */
export type VirqListener = (domid: number, virq: number) => void;

/**
 * VIRQ bindings and event-channel pending bits, kept in the shared domain table
 * (xen/common/event_channel.c). A signal to an unbound VIRQ is dropped; signals coalesce in the
 * pending bit (argo.md §6.2). A raise that sets the bit also wakes any thread waiting on the word
 * (Atomics.notify) and calls local listeners, so a single-threaded model and a worker-thread model see the same signal.
 *
 * @example
 * ```ts
 * events.bindVirq(slot, VIRQ_ARGO, 0); // 0
 * events.raise(slot, VIRQ_ARGO);
 * events.pending(slot, VIRQ_ARGO);     // true
 * ```
 */
export class EventChannels {
  private readonly listeners = new Set<VirqListener>();

  constructor(private readonly domains: DomainTable) {}

  /** EVTCHNOP_bind_virq: 0, -EINVAL (bad virq, or a non-vcpu VIRQ on vCPU ≠ 0), -ENOENT (no such vCPU), -EEXIST. */
  bindVirq(slot: number, virq: number, vcpu: number): number {
    if (!Number.isInteger(virq) || virq < 0 || virq >= NR_VIRQS) return -ERRNO.EINVAL;
    if (!Number.isInteger(vcpu) || vcpu < 0) return -ERRNO.ENOENT;
    if (virqType(virq) !== 'vcpu' && vcpu !== 0) return -ERRNO.EINVAL;
    if (vcpu >= this.domains.get(slot, D.VCPUS)) return -ERRNO.ENOENT;
    const bit = 1 << virq;
    const was = Atomics.or(this.domains.slots, this.domains.at(slot, D.VIRQ_BOUND), bit);
    return was & bit ? -ERRNO.EEXIST : 0;
  }

  /** Closes the VIRQ's binding (EVTCHNOP_close); its pending bit is cleared. */
  unbindVirq(slot: number, virq: number): void {
    Atomics.and(this.domains.slots, this.domains.at(slot, D.VIRQ_BOUND), ~(1 << virq));
    this.clear(slot, virq);
  }

  /**
   * send_guest_domain_virq: sets the pending bit if bound, else drops the signal. With `generation`,
   * a slot that has since been given to another domain is not signalled.
   */
  raise(slot: number, virq: number, generation = -1): void {
    const domains = this.domains;
    if (domains.get(slot, D.STATE) === DOMAIN_FREE) return;
    if (generation >= 0 && domains.get(slot, D.GENERATION) !== generation) return;
    const bit = 1 << virq;
    if ((domains.get(slot, D.VIRQ_BOUND) & bit) === 0) return;
    const word = domains.at(slot, D.VIRQ_PENDING);
    // An event channel makes an upcall only when its pending bit goes from clear to set; a signal
    // to an already-pending VIRQ coalesces into it (argo.md §6.2).
    if (Atomics.or(domains.slots, word, bit) & bit) return;
    Atomics.notify(domains.slots, word);
    if (this.listeners.size === 0) return;
    const domid = domains.get(slot, D.DOMID);
    for (const listener of this.listeners) listener(domid, virq);
  }

  pending(slot: number, virq: number): boolean {
    return (this.domains.get(slot, D.VIRQ_PENDING) & (1 << virq)) !== 0;
  }

  /**
   * Blocks this thread until the VIRQ is pending or `timeoutMs` passes (a worker's idle vCPU;
   * bounded, as every shared-memory wait is). True when pending.
   */
  waitPendingSync(slot: number, virq: number, timeoutMs: number): boolean {
    const word = this.domains.at(slot, D.VIRQ_PENDING);
    const bit = 1 << virq;
    const seen = Atomics.load(this.domains.slots, word);
    if (seen & bit) return true;
    Atomics.wait(this.domains.slots, word, seen, timeoutMs);
    return (Atomics.load(this.domains.slots, word) & bit) !== 0;
  }

  clear(slot: number, virq: number): void {
    Atomics.and(this.domains.slots, this.domains.at(slot, D.VIRQ_PENDING), ~(1 << virq));
  }

  /** Subscribes to raised VIRQs on this thread; returns the unsubscribe function. */
  onRaise(listener: VirqListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
