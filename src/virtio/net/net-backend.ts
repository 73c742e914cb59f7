/**
 * The two directions between a virtio-net device and what lies behind it (a bridge, a tap): the
 * device hands transmitted frames to its `NetBackend`; the backend hands received frames to the
 * device's `NetPort`. Frames are whole Ethernet frames without FCS, copied on each hand-over.
 *
 * @example
 * ```ts
 * const backend: NetBackend = { transmit: (frame) => wire.push(frame) };
 * const net = new VirtioNet({ mac, backend });
 * net.deliver(frame); // true when it found receive buffers
 * ```
 */
export interface NetBackend {
  /** A frame the driver sent (its `virtio_net_hdr` already stripped). */
  transmit(frame: Uint8Array): void;
}

/** Where a backend delivers frames: true when the frame was accepted, false when it was dropped. */
export interface NetPort {
  deliver(frame: Uint8Array): boolean;
}
