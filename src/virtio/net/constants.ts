/**
 * virtio-net constants (virtio-ioreq-lifecycle.md §3.1): the device ID, queue indices, feature bits,
 * the `virtio_net_hdr` and configuration-space layouts, and the Ethernet sizes the receive-buffer
 * rule is made of. The VirtIO spec's own names.
 *
 * @example
 * ```ts
 * view.setUint16(VIRTIO_NET_HDR.num_buffers, 1, true);
 * const mergeable = (features & bit(VIRTIO_NET_F_MRG_RXBUF)) !== 0n;
 * ```
 */

/** Device ID of a network card (§3). */
export const VIRTIO_ID_NET = 1;

/** receiveq1 and transmitq1 (§3.1; N = 1 without MQ). */
export const VIRTIO_NET_RXQ = 0;
export const VIRTIO_NET_TXQ = 1;

// Feature bits (§3.1): bit numbers, not masks.
/** The device reports its maximum MTU in config. */
export const VIRTIO_NET_F_MTU = 3;
/** The device has a MAC address in config. */
export const VIRTIO_NET_F_MAC = 5;
/** The driver can merge receive buffers: a frame may span several, `num_buffers` counts them. */
export const VIRTIO_NET_F_MRG_RXBUF = 15;
/** config.status is valid. */
export const VIRTIO_NET_F_STATUS = 16;

/** config.status bit: the link is up. */
export const VIRTIO_NET_S_LINK_UP = 1;

/** `virtio_net_hdr` with VERSION_1 (num_buffers always present): 12 bytes, little-endian. */
export const VIRTIO_NET_HDR = { flags: 0, gso_type: 1, hdr_len: 2, gso_size: 4, csum_start: 6, csum_offset: 8, num_buffers: 10, size: 12 } as const;

/** gso_type NONE: no segmentation offload (the only one this model offers). */
export const VIRTIO_NET_HDR_GSO_NONE = 0;

/** Configuration space: mac[6], status le16, max_virtqueue_pairs le16, mtu le16. */
export const NET_CONFIG = { mac: 0, status: 6, max_virtqueue_pairs: 8, mtu: 10, size: 12 } as const;

/** A MAC address's bytes. */
export const ETH_ALEN = 6;
/** Destination, source and EtherType: the shortest frame the bridge can forward. */
export const ETH_HLEN = 14;
/** The largest frame without GSO: 14-byte header + 1500-byte payload (no FCS on virtio-net). */
export const ETH_FRAME_LEN = 1514;
/** The MTU reported in config. */
export const VIRTIO_NET_MTU = 1500;

/** §3.1: without MRG_RXBUF each receive buffer holds header + a whole frame: 12 + 1514 = 1526 bytes. */
export const RX_BUFFER_BYTES_MIN = VIRTIO_NET_HDR.size + ETH_FRAME_LEN;
