/**
 * virtio-console constants (virtio-ioreq-lifecycle.md §3.3): the device ID, port 0's queues, feature
 * bits and the configuration-space layout. The VirtIO spec's own names.
 *
 * @example
 * ```ts
 * device.readConfig(CONSOLE_CONFIG.cols, 2); // 80
 * ```
 */

/** Device ID of a console (§3). */
export const VIRTIO_ID_CONSOLE = 3;

/** receiveq and transmitq of port 0 — the only queues without MULTIPORT (§3.3). */
export const VIRTIO_CONSOLE_RXQ = 0;
export const VIRTIO_CONSOLE_TXQ = 1;

// Feature bits (§3.3): bit numbers, not masks.
/** cols and rows in config are valid. */
export const VIRTIO_CONSOLE_F_SIZE = 0;
/** Several ports and the control queues (not modelled). */
export const VIRTIO_CONSOLE_F_MULTIPORT = 1;
/** emerg_wr is supported. */
export const VIRTIO_CONSOLE_F_EMERG_WRITE = 2;

/** Configuration space: cols le16, rows le16, max_nr_ports le32, emerg_wr le32. */
export const CONSOLE_CONFIG = { cols: 0, rows: 2, max_nr_ports: 4, emerg_wr: 8, size: 12 } as const;
