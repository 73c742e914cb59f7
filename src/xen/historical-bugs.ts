/**
 * Historical bugs argosim can bring back, one switch each (issue #7 item 5, issue #8 item 7): with a
 * switch on, the model behaves as Xen did before the fix, so a scenario shows the failure and a
 * monitor names it; with every switch off (the default) the model is today's Xen. Each entry cites
 * the fix and the spec section.
 *
 * @example
 * ```ts
 * createHypervisor({ argo: { enabled: true }, bugs: { sendvReturnsZeroWhenQueued: true } });
 * ```
 */
export const HISTORICAL_BUGS = {
  sendvReturnsZeroWhenQueued: {
    component: 'argo',
    summary: 'sendv returned 0 instead of -EAGAIN when the ring was full and the message was queued for notification: the sender took an unsent message for sent',
    fixedBy: 'Xen 480800c769',
    spec: 'argo.md §4.3',
    monitor: 'sendv-result: a successful sendv returns the payload length',
  },
  suspendAckLostOnTimeout: {
    component: 'libxl',
    summary: 'on the acknowledgement timeout libxl removed control/shutdown without re-reading it in a transaction: a guest acknowledgement racing the timeout was lost, the suspend (or shutdown) failed while the guest went on',
    fixedBy: 'libxl_dom_suspend.c: the transactional re-read of control/shutdown',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R14, §7 case 42',
    monitor: 'ack-honoured: an operation the guest acknowledged does not end in ERROR_TIMEDOUT',
  },
  domidReuseWithoutQuarantine: {
    component: 'libxl',
    summary: 'a destroyed domain\'s domid was handed to the next domain at once: peers, watches and backends still addressing the old domain reached the new one',
    fixedBy: 'Xen 2b02882ebb',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R15, §6.4 destroy step 3, §7 case 39',
    monitor: 'stale-domid: a message sent to a domain\'s earlier incarnation is not accepted by a later one',
  },
  pendingLengthZero: {
    component: 'argo',
    summary: 'the space-wait queued by a sendv that met a full ring recorded length 0: the next notify of the ring fired it whatever the space, waking the sender before its message could fit',
    fixedBy: 'Xen 8966a3e9ab',
    spec: 'argo.md §4.3 step 18, §6.3',
    monitor: 'space-wait-early: a space-wait is not fired while its message cannot fit',
  },
} as const satisfies Record<string, { component: string; summary: string; fixedBy: string; spec: string; monitor: string }>;

/** The name of a historical-bug switch. */
export type HistoricalBug = keyof typeof HISTORICAL_BUGS;

/** Every switch, on or off. */
export type HistoricalBugs = Readonly<Record<HistoricalBug, boolean>>;

/** Every switch off: today's Xen. */
export const NO_BUGS: HistoricalBugs = Object.freeze(
  Object.fromEntries(Object.keys(HISTORICAL_BUGS).map((name) => [name, false])) as Record<HistoricalBug, boolean>,
);

/** True when `name` is a switch. */
export function isHistoricalBug(name: string): name is HistoricalBug {
  return Object.hasOwn(HISTORICAL_BUGS, name);
}
