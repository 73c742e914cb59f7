import { ERRNO } from '../xen/errno.js';

/** The Xen-side consumer of a port: what runs when the emulator sends on it (a vCPU wake). */
export type XenConsumer = () => void;

interface Channel {
  /** The remote domain allowed to bind (the emulator). */
  remoteDomid: number;
  /** The emulator's port once it bound; null while unbound. */
  boundPort: number | null;
  consumer: XenConsumer;
}

/** Ports a domain may hold in this table (Xen's 2-level ABI allows 4096 per 64-bit guest). */
export const IOREQ_PORTS_MAX = 4096;

/**
 * The interdomain event channels an ioreq server uses (virtio-ioreq-lifecycle.md §5.8): Xen
 * allocates an unbound port in the target with the emulator as remote (`alloc_unbound_xen_event_channel`),
 * the emulator binds it (EVTCHNOP_bind_interdomain), and both directions use the pair: Xen notifies
 * the emulator after setting READY; the emulator's EVTCHNOP_send runs Xen's consumer (the vCPU wakes).
 * SIM CHOICE (docs/ioreq.md): ports live in this table, per domain, lowest free first from 1 (port 0
 * is reserved as in Xen); the hypervisor's VIRQ bits are a separate space.
 *
 * @example
 * ```ts
 * const port = channels.allocUnbound(1, 0, () => wake(1, 0)); // target 1, emulator 0
 * const local = channels.bindInterdomain(0, 1, port);          // the emulator's port
 * channels.send(0, local);                                      // wake(1, 0) runs
 * ```
 */
export class IoreqEventChannels {
  /** domid → port → channel, for target-side ports Xen consumes. */
  private readonly xenPorts = new Map<number, Map<number, Channel>>();
  /** domid → local port → the target-side end it is bound to. */
  private readonly bound = new Map<number, Map<number, { target: number; port: number }>>();
  private readonly listeners = new Set<(domid: number, port: number) => void>();

  /** Unbound target port with `remoteDomid` allowed to bind; Xen consumes what arrives on it. */
  allocUnbound(target: number, remoteDomid: number, consumer: XenConsumer): number {
    const ports = mapOf(this.xenPorts, target);
    const port = lowestFree(ports, this.bound.get(target));
    ports.set(port, { remoteDomid, boundPort: null, consumer });
    return port;
  }

  /** EVTCHNOP_bind_interdomain by `caller`: its new port, -EINVAL (no such port, bound, or not for the caller). */
  bindInterdomain(caller: number, target: number, remotePort: number): number {
    const channel = this.xenPorts.get(target)?.get(remotePort);
    if (!channel || channel.boundPort !== null || channel.remoteDomid !== caller) return -ERRNO.EINVAL;
    const mine = mapOf(this.bound, caller);
    const port = lowestFree(this.xenPorts.get(caller), mine);
    mine.set(port, { target, port: remotePort });
    channel.boundPort = port;
    return port;
  }

  /** Frees a target-side port and the emulator's binding to it (server destroy, §5.9). */
  free(target: number, port: number): void {
    const channel = this.xenPorts.get(target)?.get(port);
    if (!channel) throw new Error(`ioreq evtchn: target ${target} has no port ${port} to free`);
    if (channel.boundPort !== null) this.bound.get(channel.remoteDomid)?.delete(channel.boundPort);
    this.xenPorts.get(target)!.delete(port);
  }

  /** `notify_via_xen_event_channel`: the emulator hears on its bound port; an unbound port drops it. */
  notifyRemote(target: number, port: number): boolean {
    const channel = this.xenPorts.get(target)?.get(port);
    if (!channel || channel.boundPort === null) return false;
    for (const listener of this.listeners) listener(channel.remoteDomid, channel.boundPort);
    return true;
  }

  /** EVTCHNOP_send by `caller` on its port: 0 (Xen's consumer runs) or -EINVAL (no such port). */
  send(caller: number, port: number): number {
    const end = this.bound.get(caller)?.get(port);
    if (!end) return -ERRNO.EINVAL;
    this.xenPorts.get(end.target)!.get(end.port)!.consumer();
    return 0;
  }

  /** The emulator's port bound to (target, port), or null. */
  boundPortOf(target: number, port: number): number | null {
    return this.xenPorts.get(target)?.get(port)?.boundPort ?? null;
  }

  /** Listens to notifications reaching an emulator's port; returns the unsubscribe function. */
  onNotify(listener: (domid: number, port: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A domain is gone: its ports and bindings go (evtchn_destroy). */
  forgetDomain(domid: number): void {
    for (const [, end] of this.bound.get(domid) ?? []) {
      const channel = this.xenPorts.get(end.target)?.get(end.port);
      if (channel) channel.boundPort = null;
    }
    this.bound.delete(domid);
    this.xenPorts.delete(domid);
  }
}

function mapOf<V>(maps: Map<number, Map<number, V>>, domid: number): Map<number, V> {
  let m = maps.get(domid);
  if (!m) maps.set(domid, (m = new Map()));
  return m;
}

function lowestFree(a: ReadonlyMap<number, unknown> | undefined, b: ReadonlyMap<number, unknown> | undefined): number {
  for (let port = 1; port < IOREQ_PORTS_MAX; port++) if (!a?.has(port) && !b?.has(port)) return port;
  throw new RangeError(`ioreq evtchn: all ${IOREQ_PORTS_MAX - 1} ports of a domain are in use`);
}
