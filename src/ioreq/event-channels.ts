import { ERRNO } from '../xen/errno.js';
import { napFor } from '../sync/nap.js';
import { C, IOREQ_PORTS_MAX, KIND_BOUND, KIND_FREE, KIND_XEN, type IoreqTables } from './tables.js';

/**
 * The interdomain event channels an ioreq server uses (virtio-ioreq-lifecycle.md §5.8): Xen
 * allocates an unbound port in the target with the emulator as remote (`alloc_unbound_xen_event_channel`),
 * the emulator binds it (EVTCHNOP_bind_interdomain), and both directions use the pair: Xen notifies
 * the emulator after setting READY; the emulator's EVTCHNOP_send runs Xen's consumer (the vCPU wakes).
 * SIM CHOICE (docs/ioreq.md): ports live in this table, per domain, lowest free first from 1 (port 0
 * is reserved as in Xen); the hypervisor's VIRQ bits are a separate space. The table is shared
 * memory (`ioreq/tables.ts`): a port allocated or bound in one thread is the same port in every other.
 *
 * @example
 * ```ts
 * const channels = new IoreqEventChannels(new IoreqTables(), (target, vcpu) => wake(target, vcpu));
 * const port = channels.allocUnbound(1, 0, 0);          // target 1, emulator 0, consumed by vCPU 0's wake
 * const local = channels.bindInterdomain(0, 1, port);   // the emulator's port
 * channels.send(0, local);                               // wake(1, 0) runs
 * ```
 */
export class IoreqEventChannels {
  private readonly listeners = new Set<(domid: number, port: number) => void>();

  /** Over `tables`' port tables; `wake(target, vcpu)` is Xen's consumer of a vCPU's ioreq port. */
  constructor(
    private readonly tables: IoreqTables,
    private readonly wake: (target: number, vcpu: number) => void,
  ) {}

  /**
   * Unbound target port with `remoteDomid` allowed to bind; what arrives on it wakes `vcpu` of the
   * target (-1: nothing). -ENOSPC when the domain has no port free (get_free_port).
   */
  allocUnbound(target: number, remoteDomid: number, vcpu: number): number {
    const ports = this.tables.ports(target, true);
    const port = ports === null ? -1 : lowestFree(ports);
    if (port < 0) return -ERRNO.ENOSPC;
    set(ports!, port, KIND_XEN, remoteDomid, 0, vcpu);
    return port;
  }

  /**
   * EVTCHNOP_bind_interdomain by `caller` of `target`'s `remotePort`: the caller's new local port,
   * or -EINVAL when the port is not unbound-for-caller.
   */
  bindInterdomain(caller: number, target: number, remotePort: number): number {
    const theirs = this.tables.ports(target, false);
    if (theirs === null || !valid(remotePort)) return -ERRNO.EINVAL;
    const e = remotePort * C.PORT_STRIDE;
    if (theirs[e + C.KIND] !== KIND_XEN || theirs[e + C.PEER_PORT] !== 0 || theirs[e + C.PEER] !== caller) return -ERRNO.EINVAL;
    const mine = this.tables.ports(caller, true);
    const port = mine === null ? -1 : lowestFree(mine);
    if (port < 0) return -ERRNO.ENOSPC; // get_free_port
    set(mine!, port, KIND_BOUND, target, remotePort, -1);
    theirs[e + C.PEER_PORT] = port;
    // event_channel.c evtchn_bind_interdomain: "We may have lost notifications on the remote unbound
    // port. Fix that up here by conservatively always setting a notification on the local port." —
    // a vCPU's request sent to an enabled server before its emulator bound the port is heard
    this.setPending(caller, port);
    return port;
  }

  /** Frees a target-side port (server teardown): the emulator's bound end goes with it. */
  free(target: number, port: number): void {
    const ports = this.tables.ports(target, false);
    const e = port * C.PORT_STRIDE;
    if (ports === null || !valid(port) || ports[e + C.KIND] !== KIND_XEN) throw new Error(`ioreq evtchn: target ${target} has no port ${port} to free`);
    const bound = ports[e + C.PEER_PORT];
    if (bound !== 0) {
      const peer = this.tables.ports(ports[e + C.PEER], false);
      if (peer !== null) clear(peer, bound); // its pending flag goes with it, as free_evtchn's does
    }
    clear(ports, port);
  }

  /** Xen notifies the emulator bound to `target`'s `port`; false when nobody is bound. */
  notifyRemote(target: number, port: number): boolean {
    const ports = this.tables.ports(target, false);
    if (ports === null || !valid(port)) return false;
    const e = port * C.PORT_STRIDE;
    const bound = ports[e + C.PEER_PORT];
    if (ports[e + C.KIND] !== KIND_XEN || bound === 0) return false;
    this.setPending(ports[e + C.PEER], bound);
    return true;
  }

  /** evtchn_set_pending on `emulator`'s `port`: its pending flag, the table's event count for a thread waiting on it, this thread's listeners. */
  private setPending(emulator: number, port: number): void {
    const theirs = this.tables.ports(emulator, false);
    if (theirs !== null) {
      Atomics.store(theirs, port * C.PORT_STRIDE + C.PENDING, 1);
      Atomics.add(theirs, C.EVENTS, 1);
      Atomics.notify(theirs, C.EVENTS);
      this.tables.ring(emulator);
    }
    for (const listener of this.listeners) listener(emulator, port);
  }

  /**
   * The events delivered to `domid`'s ports so far (a count that only goes up), to wait on with
   * `waitEvents`; 0 while it has no port.
   */
  events(domid: number): number {
    const mine = this.tables.ports(domid, false);
    return mine === null ? 0 : Atomics.load(mine, C.EVENTS);
  }

  /**
   * Waits (this thread blocks, at most `timeoutMs`) until `domid`'s event count is no longer
   * `seen`: 'ok', 'not-equal' (it had already moved) or 'timed-out'.
   */
  waitEvents(domid: number, seen: number, timeoutMs: number): 'ok' | 'not-equal' | 'timed-out' {
    const mine = this.tables.ports(domid, false);
    if (mine === null) return napFor(timeoutMs); // no port yet: nothing can come sooner
    return Atomics.wait(mine, C.EVENTS, seen, timeoutMs);
  }

  /** The word `events` reads, or null while `domid` has no port table. */
  eventWord(domid: number): { words: Int32Array; index: number } | null {
    const mine = this.tables.ports(domid, false);
    return mine === null ? null : { words: mine, index: C.EVENTS };
  }

  /** `domid`'s bound ports with an event pending, lowest first, their pending flags cleared. */
  takePending(domid: number): number[] {
    const mine = this.tables.ports(domid, false);
    const out: number[] = [];
    if (mine === null) return out;
    const last = Atomics.load(mine, C.HIGHEST); // no port above it was ever allocated in this table
    for (let port = 1; port <= last; port++) if (mine[port * C.PORT_STRIDE + C.PENDING] !== 0 && Atomics.exchange(mine, port * C.PORT_STRIDE + C.PENDING, 0) !== 0) out.push(port);
    return out;
  }

  /** EVTCHNOP_send by `caller` on its local `port`: runs Xen's consumer; 0 or -EINVAL. */
  send(caller: number, port: number): number {
    const mine = this.tables.ports(caller, false);
    if (mine === null || !valid(port)) return -ERRNO.EINVAL;
    const e = port * C.PORT_STRIDE;
    if (mine[e + C.KIND] !== KIND_BOUND) return -ERRNO.EINVAL;
    const target = mine[e + C.PEER];
    const theirs = this.tables.ports(target, false);
    const te = mine[e + C.PEER_PORT] * C.PORT_STRIDE;
    if (theirs === null || theirs[te + C.KIND] !== KIND_XEN) return -ERRNO.EINVAL; // the target's end went with its domain
    const vcpu = theirs[te + C.VCPU];
    if (vcpu >= 0) this.wake(target, vcpu);
    return 0;
  }

  /** The emulator's port bound to `target`'s `port`, or null. */
  boundPortOf(target: number, port: number): number | null {
    const ports = this.tables.ports(target, false);
    if (ports === null || !valid(port)) return null;
    const e = port * C.PORT_STRIDE;
    return ports[e + C.KIND] === KIND_XEN && ports[e + C.PEER_PORT] !== 0 ? ports[e + C.PEER_PORT] : null;
  }

  /** Listens to notifications reaching emulators' bound ports (in this thread); returns the unsubscribe function. */
  onNotify(listener: (domid: number, port: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A dead domain's ports go: its bound ends are unbound from their targets, its own ports freed. */
  forgetDomain(domid: number): void {
    const mine = this.tables.ports(domid, false);
    if (mine === null) return;
    for (let port = 1; port < IOREQ_PORTS_MAX; port++) {
      const e = port * C.PORT_STRIDE;
      if (mine[e + C.KIND] !== KIND_BOUND) continue;
      const theirs = this.tables.ports(mine[e + C.PEER], false);
      if (theirs !== null) theirs[mine[e + C.PEER_PORT] * C.PORT_STRIDE + C.PEER_PORT] = 0;
    }
    this.tables.dropPorts(domid);
  }
}

const valid = (port: number): boolean => Number.isInteger(port) && port > 0 && port < IOREQ_PORTS_MAX;

function set(ports: Int32Array, port: number, kind: number, peer: number, peerPort: number, vcpu: number): void {
  const e = port * C.PORT_STRIDE;
  ports[e + C.PEER] = peer;
  ports[e + C.PEER_PORT] = peerPort;
  ports[e + C.VCPU] = vcpu;
  ports[e + C.PENDING] = 0;
  Atomics.store(ports, e + C.KIND, kind);
  if (port > Atomics.load(ports, C.HIGHEST)) Atomics.store(ports, C.HIGHEST, port); // under the IOREQ lock
}

function clear(ports: Int32Array, port: number): void {
  const e = port * C.PORT_STRIDE;
  Atomics.store(ports, e + C.KIND, KIND_FREE);
  Atomics.store(ports, e + C.PENDING, 0);
}

/** The lowest free port, or -1 when every one is in use. */
function lowestFree(ports: Int32Array): number {
  for (let port = 1; port < IOREQ_PORTS_MAX; port++) if (ports[port * C.PORT_STRIDE + C.KIND] === KIND_FREE) return port;
  return -1;
}
