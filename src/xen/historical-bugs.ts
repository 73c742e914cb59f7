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
  availIdxWithoutReadBarrier: {
    component: 'linux',
    summary: 'vhost re-checked avail.idx after re-enabling notifications (vhost_enable_notify, vhost_vq_avail_empty) and cached it with no read barrier after the load: the next vhost_get_vq_desc trusted the cached index, skipped its own load and barrier, and its avail.ring load could be satisfied before the idx load — a stale head for a new index, "id N is not a head!" in the guest and a broken virtqueue',
    fixedBy: 'Linux "vhost: Add smp_rmb() in vhost_enable_notify()" and "vhost: Add smp_rmb() in vhost_vq_avail_empty()" (Gavin Shan, 2024; later folded into vhost_get_avail_idx)',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R18, §2.8 device step 2, §7 case 12',
    monitor: 'vq-head: the device takes at each avail index the head the driver made available there',
  },
  halfBuiltDomainKept: {
    component: 'libxl',
    summary: 'a create that failed after the domid was assigned (the device model did not confirm its start within LIBXL_DEVICE_MODEL_START_TIMEOUT, or died starting) reported ERROR_FAIL but left the half-built domain behind: paused, its memory held, its xenstore home in place — the "(null)" domains of failed starts',
    fixedBy: 'libxl_create.c domcreate_complete → libxl__domain_destroy of the half-built domain (domcreate_destruction_cb); no single commit identified (docs/races.md R16)',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R16, §6.4 create step 4, §7 case 39',
    monitor: 'create-failure-cleans-up: a create that ends in ERROR_FAIL leaves no domain behind, its memory freed',
  },
  deadDomainNodesToDom0: {
    component: 'xenstore',
    summary: 'the xenstore nodes a dead domain owned outside /local/domain/N were kept and given to dom0 (XSA-322\'s answer to a reused domid inheriting them) instead of deleted: dom0 has no quota, so a guest could grow xenstore without bound by dying and coming back (XSA-419)',
    fixedBy: 'Xen db471408ed (XSA-419)',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R19',
    monitor: 'xenstore-leak: no node a domain owned survives its death',
  },
  introduceNotifiesBeforeReset: {
    component: 'xenstore',
    summary: 'xenstored told a dom0less guest that xenstore was ready from introduce_domain, before XS_INTRODUCE\'s domain_conn_reset: a guest that ran in between wrote its first request into its ring, the reset wiped it, and its xenbus waited for the answer for ever ("cxenstored: wait until after reset to notify dom0less domains")',
    fixedBy: 'Xen e58bd71c09',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R11',
    monitor: 'xenstore-connect: every request a dom0less guest wrote to its xenstore ring is answered',
  },
  devicesFromFrontendPaths: {
    component: 'libxl',
    summary: 'libxl__devices_destroy enumerated a domain\'s devices from its guest-writable frontend paths (/local/domain/N/device, each one\'s backend node) instead of libxl\'s own /libxl/N/device: a guest that deleted or altered them made the destroy leave backend directories behind, or remove another device',
    fixedBy: 'XSA-175, Xen e3d851340c',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R10',
    monitor: 'device-teardown: a toolstack destroy leaves no backend directory of the domain behind',
  },
  deadBackendWaitsForClosed: {
    component: 'libxl',
    summary: 'device removal waited for be/state=Closed even when the backend (driver) domain was already gone, so every destroy of its frontends waited out LIBXL_DESTROY_TIMEOUT (10 s) before forcing the removal',
    fixedBy: 'Xen 9eaaedfcde',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R9, §6.6, §7 case 44',
    monitor: 'dead-backend-wait: device removal does not wait out a timeout for a backend domain that is gone',
  },
  ioreqStateStuckAfterServerDestroy: {
    component: 'ioreq',
    summary: 'a device model destroyed its IOREQ server while a vCPU waited on it: the completion found no server and left the vCPU\'s io.req.state READY, so every later emulation of that vCPU was UNHANDLEABLE',
    fixedBy: 'Xen f7039ee41b',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R1, §5.9',
    monitor: 'vcpu-io-state: a vCPU that runs again after an ioreq has io.req.state NONE',
  },
  ioreqStateUnchecked: {
    component: 'ioreq',
    summary: 'Xen did not insist that an ioreq slot\'s state only moves forward: a device model writing it backwards made the vCPU wait (loop) forever instead of crashing the target',
    fixedBy: 'XSA-262, Xen 92938e5d14',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R3, §5.4, §7 case 32',
    monitor: 'ioreq-state-forward: a vCPU is not left waiting on a slot whose state went backwards',
  },
  broadcastWaitsForOneServer: {
    component: 'ioreq',
    summary: 'after a broadcast ioreq (the mapcache INVALIDATE sent to every device model when a guest gives memory back) the vCPU waited for the first server that answered only: it ran on while another still held the request, and its next access to that server found the slot busy',
    fixedBy: 'Xen da20c93108',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R4, §5.3',
    monitor: 'broadcast-completes: a vCPU that runs again has no server with its request still pending',
  },
  ioreqResentAfterShutdown: {
    component: 'ioreq',
    summary: 'back from ioreq_send, the arch code (Arm try_fwd_ioserv, x86 hvmemul_do_io) reset the vCPU\'s latched request whenever the domain was shutting down — also for a request it had sent: a shutdown begun between the send and that check (a checkpoint: suspend, then resume) made the vCPU drop the answer and run the instruction again after resume, so the device model got the access twice ("xen: io: Fix race between sending an I/O and domain shutdown" added the vcpu_io `suspended` flag to tell the two RETRYs apart)',
    fixedBy: 'Xen b7e0d89788',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R2, §5.5, §7 case 35',
    monitor: 'ioreq-once: a device model gets each guest access once, however often its instruction runs',
  },
  qmpDisconnectBeforeReply: {
    component: 'libxl',
    summary: 'QEMU was started running (no -S) and libxl took xenstore\'s device-model state "running" for the confirmation of its start: it dropped its QMP connection then, with the answer to its query-status perhaps unread, which left QEMU\'s monitor wedged — the "cont" of the guest\'s unpause (libxl__dm_resume) went unanswered and the guest stayed paused',
    fixedBy: 'Xen ae29aa0f8f',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R8, §6.4 create step 4 and unpause',
    monitor: 'qmp-answers: every QMP command libxl sends is answered (no wedged monitor)',
  },
  liveUpdateDyingDomainFatal: {
    component: 'xenstore',
    summary: 'xenstored\'s live update re-connects to every domain it knew — maps its ring page, binds its event channel — and treated a failure as fatal: a domain that was dying at that moment (its memory being relinquished, its event channels closed) made the new xenstored exit, leaving the host without xenstore',
    fixedBy: 'Xen 939775cfd3',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R12',
    monitor: 'live-update-survives: xenstored comes back from a live update; a dying domain\'s connection is dropped, not fatal',
  },
  qemuExitsOnGuestPoweroff: {
    component: 'libxl',
    summary: 'QEMU ran without -no-shutdown, so it exited as soon as its guest powered off, closing its QMP socket while libxl still had the guest to tear down: libxl\'s destroy found its device model gone and logged an error ("Device Model already exited")',
    fixedBy: 'Xen 9ba80a722b',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R13, §6.4 destroy step 2',
    monitor: 'destroy-clean: the destroy of a domain that was created logs no error (its device model is there to be killed)',
  },
  emulatorSkipsRangeCheck: {
    component: 'emulator',
    summary: 'a device model took every ioreq Xen delivered for its own device without re-checking the address: a request Xen selected before the device model unmapped the range (a device being removed) arrives after the unmap, and the device acts on it — a register write, a queue notification that makes it process the virtqueue and write the guest\'s memory — for a window it no longer serves',
    fixedBy: 'xen/arch/x86/hvm/emulate.c: the rule of its comment that emulators re-check what arrives, a rule and no single commit (QEMU dispatches each ioreq through its own address space, where an unmapped window reads all-ones and drops writes)',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R6, §5.6',
    monitor: 'emulator-validates: a device model performs no request for an address its server no longer has mapped',
  },
  devdAddSharesDevice: {
    component: 'libxl',
    summary: 'xl devd\'s asynchronous add and remove of a driver domain\'s backend device worked on the device list\'s own libxl__device instead of a copy, and the removal freed it when it completed: a device removed while its add was still in flight (waiting for the backend\'s InitWait, or its hotplug script still running) had the add read freed memory at its next step',
    fixedBy: 'Xen fd519a5119',
    spec: 'virtio-ioreq-lifecycle.md §6.7 R7',
    monitor: 'devd-use-after-free: xl devd reads no libxl__device after it was freed',
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
