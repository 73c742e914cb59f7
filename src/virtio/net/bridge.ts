import { ETH_ALEN, ETH_HLEN } from './constants.js';
import { isGroupMac, macKey } from './mac.js';
import type { NetBackend, NetPort } from './net-backend.js';

/** What a bridge counted, per frame transmitted into it. */
export interface NetBridgeFigures {
  /** Frames sent to the one port their destination was learnt on. */
  forwarded: number;
  /** Frames sent to every other port: broadcast, multicast or an unknown destination. */
  flooded: number;
  /** Frames dropped: runts (< 14 bytes), or a destination learnt on the sending port. */
  dropped: number;
  /** Copies a port accepted / refused (a port refuses when it has no receive buffer). */
  delivered: number;
  refused: number;
}

/** Learnt addresses at most by default (a limit on everything: a guest can send from any source MAC). */
export const FDB_ENTRIES_MAX_DEFAULT = 1024;

/**
 * A learning L2 bridge in the backend domain between several virtio-net devices (or any `NetPort`):
 * each frame's source MAC is learnt on the port it came from; a unicast destination learnt on another
 * port goes there only; broadcast, multicast and unknown destinations flood to every other port.
 * Synchronous: `transmit` delivers before it returns. **SIM CHOICE**: no ageing (there is no clock in
 * a frame's path), a full table stops learning (the frames flood), and a move to another port is learnt
 * at once.
 *
 * @example
 * ```ts
 * const bridge = new NetBridge();
 * const a = new VirtioNet({ mac: macA }); a.backend = bridge.attach(a);
 * const b = new VirtioNet({ mac: macB }); b.backend = bridge.attach(b);
 * ```
 */
export class NetBridge {
  readonly figures: NetBridgeFigures = { forwarded: 0, flooded: 0, dropped: 0, delivered: 0, refused: 0 };
  private readonly ports: NetPort[] = [];
  private readonly fdb = new Map<string, number>();
  /** Addresses of the bridge host's own ports (`attach` with a MAC): permanent, never relearnt. */
  private readonly local = new Set<string>();

  constructor(private readonly fdbEntriesMax = FDB_ENTRIES_MAX_DEFAULT) {}

  /**
   * Adds a port; the answer is that port's backend (what its device transmits into). `localMac`: the
   * port is the bridge host's own interface (Linux's br0 in the driver domain), whose address is a
   * permanent entry from the start (`bridge fdb … local permanent`): frames to it are never flooded.
   */
  attach(port: NetPort, localMac?: Uint8Array): NetBackend {
    const index = this.ports.length;
    this.ports.push(port);
    if (localMac !== undefined) {
      const key = macKey(localMac, 0);
      this.fdb.set(key, index);
      this.local.add(key);
    }
    return { transmit: (frame) => this.forward(index, frame) };
  }

  /** The port a MAC was learnt on, or undefined. */
  portOf(mac: Uint8Array): number | undefined {
    if (mac.length !== ETH_ALEN) throw new RangeError(`NetBridge.portOf: ${mac.length} bytes is not a MAC`);
    return this.fdb.get(macKey(mac));
  }

  /** Learnt addresses. */
  get fdbSize(): number {
    return this.fdb.size;
  }

  /** A frame from port `from`: learn its source, then forward, flood or drop it. */
  forward(from: number, frame: Uint8Array): void {
    if (from < 0 || from >= this.ports.length) throw new RangeError(`NetBridge: port ${from} of ${this.ports.length}`);
    if (frame.length < ETH_HLEN) {
      this.figures.dropped++;
      return;
    }
    this.learn(from, frame);
    const to = isGroupMac(frame, 0) ? undefined : this.fdb.get(macKey(frame, 0));
    if (to === from) {
      this.figures.dropped++; // the destination is on the sender's own segment
      return;
    }
    if (to !== undefined) {
      this.figures.forwarded++;
      this.send(to, frame);
      return;
    }
    this.figures.flooded++;
    for (let p = 0; p < this.ports.length; p++) if (p !== from) this.send(p, frame);
  }

  private learn(from: number, frame: Uint8Array): void {
    if (isGroupMac(frame, ETH_ALEN)) return; // a group address is never a source
    const key = macKey(frame, ETH_ALEN);
    if (this.local.has(key)) return; // a permanent entry: a guest spoofing it does not move it
    if (this.fdb.has(key) || this.fdb.size < this.fdbEntriesMax) this.fdb.set(key, from);
  }

  private send(to: number, frame: Uint8Array): void {
    if (this.ports[to].deliver(frame.slice())) this.figures.delivered++;
    else this.figures.refused++;
  }
}
