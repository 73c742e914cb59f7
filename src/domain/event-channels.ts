import { ERRNO } from '../xen/errno.js';
import { NR_VIRQS, virqType } from '../xen/virq.js';
import { DOMID_FIRST_RESERVED } from '../xen/domid.js';
import { D, DOMAIN_ALIVE, DOMAIN_FREE, type DomainTable } from './domain-table.js';

/** Interdomain ports a domain has in this model (port 0 reserved, as in Xen); SIM CHOICE, docs/parallel.md. */
export const EVTCHN_PORTS = 32;
/** `ECS_UNBOUND` / `ECS_INTERDOMAIN` as the port word's top bits (0: `ECS_FREE`). */
const ECS_UNBOUND = 1;
const ECS_INTERDOMAIN = 2;
/** A port being bound: taken, not yet usable, and not bindable. */
const ECS_RESERVED = 3;
const portWord = (state: number, remoteDomid: number, remotePort: number) => (state << 28) | (remotePort << 16) | remoteDomid;
const validPort = (port: number) => Number.isInteger(port) && port > 0 && port < EVTCHN_PORTS;

/** Called on the raising thread when a VIRQ's pending bit goes from clear to set (the upcall). */
export type VirqListener = (domid: number, virq: number) => void;

/**
 * The field of a domain slot that holds `virq`'s pending bit (`D.VIRQ_PENDING_GLOBAL` for a global
 * VIRQ, else `D.VIRQ_PENDING`): the word a raise notifies and a wait for that VIRQ waits on.
 */
export function virqPendingField(virq: number): number {
  return PENDING_FIELD[virq] ?? D.VIRQ_PENDING;
}

/** `virqPendingField` of every VIRQ number, looked up once: a raise is on the path of every sendv. */
const PENDING_FIELD: readonly number[] = Array.from({ length: NR_VIRQS }, (_, virq) => (virqType(virq) === 'global' ? D.VIRQ_PENDING_GLOBAL : D.VIRQ_PENDING));

/**
 * A bit of each VIRQ pending word (above the VIRQ numbers) that says a thread waits on the word: a
 * raise calls `Atomics.notify` only when it is set — a notify takes a lock that every thread of the
 * process shares (V8's futex emulation), paid otherwise at every clear-to-set raise. A waiter sets it
 * (`announceVirqWaiter`) before each wait; a raise that finds it clears it and wakes every waiter.
 */
export const VIRQ_WAITER = 1 << 30;

/**
 * Announces a waiter on a VIRQ pending word: the value to wait on (`Atomics.wait` / `waitAsync`),
 * which holds every bit pending now — check yours in it first.
 */
export function announceVirqWaiter(slots: Int32Array, word: number): number {
  return Atomics.or(slots, word, VIRQ_WAITER) | VIRQ_WAITER;
}

function pendingWord(domains: DomainTable, slot: number, virq: number): number {
  return domains.at(slot, virqPendingField(virq));
}

/**
 * VIRQ bindings, interdomain event channels and their pending bits, kept in the shared domain table
 * (xen/common/event_channel.c). VIRQ bits and interdomain ports are two spaces here: a VIRQ's bit is
 * its number; an interdomain port is 1–31 with its own pending word, so a thread can wait on one
 * without waking on the other. A signal to an unbound VIRQ is dropped; signals coalesce in the
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
    const word = pendingWord(domains, slot, virq);
    // An event channel makes an upcall only when its pending bit goes from clear to set; a signal
    // to an already-pending VIRQ coalesces into it (argo.md §6.2).
    const was = Atomics.or(domains.slots, word, bit);
    if (was & bit) return;
    if (was & VIRQ_WAITER) {
      Atomics.and(domains.slots, word, ~VIRQ_WAITER);
      Atomics.notify(domains.slots, word);
    }
    if (this.listeners.size === 0) return;
    const domid = domains.get(slot, D.DOMID);
    for (const listener of this.listeners) listener(domid, virq);
  }

  pending(slot: number, virq: number): boolean {
    return (Atomics.load(this.domains.slots, pendingWord(this.domains, slot, virq)) & (1 << virq)) !== 0;
  }

  /**
   * Blocks this thread until the VIRQ is pending or `timeoutMs` passes (a worker's idle vCPU;
   * bounded, as every shared-memory wait is). True when pending.
   */
  waitPendingSync(slot: number, virq: number, timeoutMs: number): boolean {
    const word = pendingWord(this.domains, slot, virq);
    const bit = 1 << virq;
    if (Atomics.load(this.domains.slots, word) & bit) return true;
    const seen = announceVirqWaiter(this.domains.slots, word);
    if (seen & bit) return true;
    Atomics.wait(this.domains.slots, word, seen, timeoutMs);
    return (Atomics.load(this.domains.slots, word) & bit) !== 0;
  }

  clear(slot: number, virq: number): void {
    Atomics.and(this.domains.slots, pendingWord(this.domains, slot, virq), ~(1 << virq));
  }

  // ——— interdomain channels (xen/common/event_channel.c: alloc_unbound, bind_interdomain, send, close) ———

  /**
   * EVTCHNOP_alloc_unbound in the domain of `slot`: the lowest free port from 1, which `remoteDomid`
   * may bind; -ENOSPC when every port of the table is in use, -EINVAL for a dying domain or a domid
   * out of range.
   */
  allocUnbound(slot: number, remoteDomid: number): number {
    if (!(Number.isInteger(remoteDomid) && remoteDomid >= 0 && remoteDomid < DOMID_FIRST_RESERVED)) return -ERRNO.EINVAL;
    return this.claimPort(slot, portWord(ECS_UNBOUND, remoteDomid, 0));
  }

  /** The lowest free port from 1, now in `state`; -EINVAL for a dying domain (get_free_port), -ENOSPC when none is free. */
  private claimPort(slot: number, state: number): number {
    if (this.domains.get(slot, D.STATE) !== DOMAIN_ALIVE) return -ERRNO.EINVAL;
    for (let port = 1; port < EVTCHN_PORTS; port++) {
      if (Atomics.compareExchange(this.domains.slots, this.portWord(slot, port), 0, state) === 0) return port;
    }
    return -ERRNO.ENOSPC;
  }

  /**
   * EVTCHNOP_bind_interdomain by the domain of `slot`: binds a new local port to `remotePort` of the
   * domain of `remoteSlot`, which must be unbound for this domain; the local port, -EINVAL (no such
   * port, bound already, or for another domain) or -ENOSPC.
   */
  bindInterdomain(slot: number, remoteSlot: number, remotePort: number): number {
    if (!validPort(remotePort) || this.domains.get(remoteSlot, D.STATE) !== DOMAIN_ALIVE) return -ERRNO.EINVAL;
    const domid = this.domains.get(slot, D.DOMID);
    const remoteDomid = this.domains.get(remoteSlot, D.DOMID);
    const remoteWord = this.portWord(remoteSlot, remotePort);
    const unbound = portWord(ECS_UNBOUND, domid, 0);
    if (Atomics.load(this.domains.slots, remoteWord) !== unbound) return -ERRNO.EINVAL;
    // the local port is reserved (no bind takes it) until both ends are set
    const local = this.claimPort(slot, ECS_RESERVED << 28);
    if (local < 0) return local;
    // the remote end is taken with one compare-and-swap: of two binds of one port, one wins
    if (Atomics.compareExchange(this.domains.slots, remoteWord, unbound, portWord(ECS_INTERDOMAIN, domid, local)) !== unbound) {
      Atomics.store(this.domains.slots, this.portWord(slot, local), 0);
      return -ERRNO.EINVAL;
    }
    Atomics.store(this.domains.slots, this.portWord(slot, local), portWord(ECS_INTERDOMAIN, remoteDomid, remotePort));
    return local;
  }

  /**
   * EVTCHNOP_send on `port` of the domain of `slot`: sets the remote port's pending bit (an upcall
   * only when it goes from clear to set) and wakes a thread waiting on the remote's word. 0 — also for
   * an unbound port, where Xen drops the event — or -EINVAL (no such port, or the remote is gone).
   */
  sendPort(slot: number, port: number): number {
    if (!validPort(port)) return -ERRNO.EINVAL;
    const word = Atomics.load(this.domains.slots, this.portWord(slot, port));
    const state = word >>> 28;
    if (state === ECS_UNBOUND) return 0;
    if (state !== ECS_INTERDOMAIN) return -ERRNO.EINVAL;
    const remoteSlot = this.domains.slotOf(word & 0xffff);
    const remotePort = (word >>> 16) & 0xff;
    // the remote end must still be this channel's other end (its domid not reused by another domain).
    // A close, or a reaped slot claimed again, between this check and the bit's setting can leave a
    // spurious pending bit there: harmless, as a spurious event is to any event-channel handler
    if (remoteSlot < 0 || Atomics.load(this.domains.slots, this.portWord(remoteSlot, remotePort)) !== portWord(ECS_INTERDOMAIN, this.domains.get(slot, D.DOMID), port)) return -ERRNO.EINVAL;
    const pending = this.domains.at(remoteSlot, D.EVTCHN_PENDING);
    if ((Atomics.or(this.domains.slots, pending, 1 << remotePort) & (1 << remotePort)) === 0) Atomics.notify(this.domains.slots, pending);
    return 0;
  }

  /** EVTCHNOP_close: the port is free; an interdomain channel's other end goes back to unbound, for this domain. 0 or -EINVAL. */
  closePort(slot: number, port: number): number {
    if (!validPort(port)) return -ERRNO.EINVAL;
    const at = this.portWord(slot, port);
    const word = Atomics.exchange(this.domains.slots, at, 0);
    Atomics.and(this.domains.slots, this.domains.at(slot, D.EVTCHN_PENDING), ~(1 << port));
    if (word >>> 28 === ECS_INTERDOMAIN) {
      const remoteSlot = this.domains.slotOf(word & 0xffff);
      const domid = this.domains.get(slot, D.DOMID);
      if (remoteSlot >= 0) Atomics.compareExchange(this.domains.slots, this.portWord(remoteSlot, (word >>> 16) & 0xff), portWord(ECS_INTERDOMAIN, domid, port), portWord(ECS_UNBOUND, domid, 0));
    }
    return word === 0 ? -ERRNO.EINVAL : 0;
  }

  /** `evtchn_destroy` (domain_kill) and `evtchn_reset` (soft reset): every port of the domain closed. */
  closeAllPorts(slot: number): void {
    for (let port = 1; port < EVTCHN_PORTS; port++) if (Atomics.load(this.domains.slots, this.portWord(slot, port)) !== 0) this.closePort(slot, port);
  }

  /** The pending bit of an interdomain port. */
  portPending(slot: number, port: number): boolean {
    return (this.domains.get(slot, D.EVTCHN_PENDING) & (1 << port)) !== 0;
  }

  /** Clears a port's pending bit; returns the bits that were pending (the handler's acknowledgement of all of them when `port` is -1). */
  clearPorts(slot: number, port = -1): number {
    return Atomics.and(this.domains.slots, this.domains.at(slot, D.EVTCHN_PENDING), port < 0 ? 0 : ~(1 << port));
  }

  private portWord(slot: number, port: number): number {
    return this.domains.at(slot, D.EVTCHN_PORT + port);
  }

  /** Subscribes to raised VIRQs on this thread; returns the unsubscribe function. */
  onRaise(listener: VirqListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
