/**
 * argosim's public API: the hypercall-level contract (spec/hypercall-api.md), the Argo core's
 * building blocks, XSM, guest memory and the guest-side library.
 *
 * @example
 * ```ts
 * import { createHypervisor, ArgoGuest, platformOf } from 'argosim';
 * const hv = createHypervisor({ argo: { enabled: true } });
 * hv.createDomain({ domid: 1 });
 * ```
 */

// The hypervisor and its hypercall contract
export { attachHypervisor, createHypervisor, Hypervisor } from './xen/hypervisor.js';
export type {
  CreateDomainOptions,
  Domain,
  DomainLife,
  HypercallRecord,
  HypervisorBuffers,
  HypervisorOptions,
  LifecycleChange,
  SharedHypervisor,
} from './xen/hypervisor.js';
export { decodeArgoCall } from './argo/decode.js';
export type { DecodedArgoCall } from './argo/decode.js';
export { ERRNO, errnoName } from './xen/errno.js';
export type { ErrnoName } from './xen/errno.js';
export {
  DOMID_COW,
  DOMID_FIRST_RESERVED,
  DOMID_IDLE,
  DOMID_INVALID,
  DOMID_IO,
  DOMID_SELF,
  DOMID_XEN,
  isOrdinaryDomid,
} from './xen/domid.js';
export { NR_VIRQS, VIRQ_ARGO, VIRQ_CONSOLE, VIRQ_DEBUG, VIRQ_DOM_EXC, VIRQ_TIMER, virqType } from './xen/virq.js';
export type { VirqType } from './xen/virq.js';

// The domain lifecycle at the hypervisor level (virtio-ioreq-lifecycle.md §6)
export {
  CONTROLLER_PAUSE_MAX,
  SHUTDOWN_CODE_INVALID,
  SHUTDOWN_COMPLETE,
  SHUTDOWN_IN_PROGRESS,
  SHUTDOWN_MAX,
  SHUTDOWN_NONE,
  SHUTDOWN_crash,
  SHUTDOWN_poweroff,
  SHUTDOWN_reboot,
  SHUTDOWN_soft_reset,
  SHUTDOWN_suspend,
  SHUTDOWN_watchdog,
  XEN_DOMINF_dying,
  XEN_DOMINF_paused,
  XEN_DOMINF_running,
  XEN_DOMINF_shutdown,
  XEN_DOMINF_shutdownshift,
} from './domain/lifecycle.js';
export type { DomainInfo } from './domain/lifecycle.js';

// Argo ABI
export {
  ARGO_DEFAULT_RING_LEN,
  ARGO_HASHTABLE_SIZE,
  ARGO_MSG_HEADER_BYTES,
  ARGO_NPAGE_MAX,
  ARGO_RING_HEADER_BYTES,
  ARGO_RING_LEN_MIN,
  ARGO_RING_OVERHEAD,
  MAX_ARGO_MESSAGE_SIZE,
  MAX_NOTIFY_COUNT,
  MAX_PENDING_PER_RING,
  MAX_RINGS_PER_DOMAIN,
  XEN_ARGO_DOMID_ANY,
  XEN_ARGO_MAXIOV,
  XEN_ARGO_MAX_RING_SIZE,
  XEN_ARGO_MSG_SLOT_SIZE,
  XEN_ARGO_OP_notify,
  XEN_ARGO_OP_register_ring,
  XEN_ARGO_OP_sendv,
  XEN_ARGO_OP_unregister_ring,
  XEN_ARGO_OP_viptables_add,
  XEN_ARGO_OP_viptables_del,
  XEN_ARGO_OP_viptables_list,
  XEN_ARGO_PORT_ANY,
  XEN_ARGO_PORT_NONE,
  XEN_ARGO_REGISTER_FLAG_FAIL_EXIST,
  XEN_ARGO_RING_EBUSY,
  XEN_ARGO_RING_EMPTY,
  XEN_ARGO_RING_EMSGSIZE,
  XEN_ARGO_RING_EXISTS,
  XEN_ARGO_RING_SHARED,
  XEN_ARGO_RING_SUFFICIENT,
  __HYPERVISOR_argo_op,
  npagesRing,
  roundupMessage,
} from './argo/constants.js';
export {
  ADDR,
  COMPAT_IOV,
  GFN,
  IOV,
  MESSAGE_HEADER,
  REGISTER_RING,
  RING_DATA,
  RING_DATA_ENT,
  RING_HEADER,
  SEND_ADDR,
  UNREGISTER_RING,
  VIPTABLES_LIST,
  VIPTABLES_RULE,
} from './argo/abi.js';
export { XEN_QUIRKS } from './argo/host.js';
export type { ArgoOptions, ArgoQuirks } from './argo/host.js';
export { parseArgoBootOption } from './argo/boot-option.js';
export type { ArgoBootOption } from './argo/boot-option.js';
export type { ArgoDomainState, ArgoRingState } from './argo/introspect.js';

// XSM
export { ARGO_PERMS, DEFAULT_FLASK_POLICY, FlaskPolicy, PolicyError, XEN_TYPE, parseFlaskPolicy } from './xsm/flask-policy.js';
export type { ArgoPerm } from './xsm/flask-policy.js';
export type { Xsm, XsmConfig, XsmMode } from './xsm/xsm.js';

// Memory
export { GuestMemory } from './memory/guest-memory.js';
export { PageAllocator } from './memory/page-allocator.js';
export { FRESH_SHARED_BUFFERS, SharedBufferPool } from './memory/shared-buffers.js';
export type { SharedBufferSource } from './memory/shared-buffers.js';
export { PAGE_SHIFT, PAGE_SIZE } from './memory/constants.js';
export { LockTimeoutError } from './sync/errors.js';

// Deterministic runtime and streams
export { Scheduler } from './runtime/scheduler.js';
export type { RunEnd } from './runtime/scheduler.js';
export type { PointRequest, SchedulingKind, SchedulingPoint, StepRecord } from './runtime/scheduling-point.js';
export type { Strategy } from './runtime/strategy.js';
export { fifoStrategy } from './runtime/strategies/fifo.js';
export { randomStrategy } from './runtime/strategies/random.js';
export { ReplayDivergenceError, replayStrategy } from './runtime/strategies/replay.js';
export { SeededRandom } from './runtime/random.js';
export { VirtualClock } from './runtime/virtual-clock.js';
export type { Clock } from './runtime/virtual-clock.js';
export { ArgosimSystem, createSystem, PROGRESS_STEPS } from './runtime/system.js';
export type { RunMetrics, SystemActor, SystemOptions } from './runtime/system.js';
export type { DomainFigures, RunSummary } from './runtime/run-summary.js';
export { MessageLedger } from './runtime/message-ledger.js';
export type { MessageCounts, Receipt } from './runtime/message-ledger.js';
export { fromListener } from './streams/from-listener.js';
export { virq$ } from './streams/virq-stream.js';
export type { VirqEvent } from './streams/virq-stream.js';
export { trace$ } from './streams/trace-stream.js';
export { lifecycle$ } from './streams/lifecycle-stream.js';

// Scenarios (docs/scenarios.md)
export { loadScenario, parseScenario } from './scenario/load-scenario.js';
export type { ScenarioLoadOptions } from './scenario/load-scenario.js';
export { ScenarioError } from './scenario/scenario-error.js';
export type { ScenarioErrorPlace } from './scenario/scenario-error.js';
export { lineOf, scenarioErrorAt } from './scenario/source-lines.js';
export {
  DURATION_MS_MAX,
  DURATION_UNIT_MS,
  RATE_UNIT_MS,
  SIZE_UNIT_BYTES,
  UnitError,
  parseDuration,
  parseRate,
  parseSize,
} from './scenario/units.js';
export {
  DOMAIN_MEMORY_BYTES_DEFAULT,
  FAULT_KINDS,
  LIFECYCLE_OPS,
  MESSAGE_BYTES_DEFAULT,
  RING_LEN_DEFAULT,
  RING_LEN_MAX,
  SCENARIO_LIMITS,
  SHUTDOWN_REASONS,
  SHUTDOWN_REASON_CODE,
  VIRQ_DELAY_MS_DEFAULT,
  XSM_MODES,
  scenarioFileSchema,
} from './scenario/schema.js';
export type {
  FaultKind,
  LifecycleOp,
  Scenario,
  ScenarioBoot,
  ScenarioBuild,
  ScenarioDomain,
  ScenarioFault,
  ScenarioFile,
  ScenarioLifecycleEvent,
  ScenarioRing,
  ScenarioRingRef,
  ScenarioSource,
  ScenarioWorkload,
  ScenarioXsm,
  ShutdownReason,
} from './scenario/schema.js';

// Guest library
export { ArgoGuest } from './guest/argo-guest.js';
export type { ArgoAddr, GuestIov, RegisterRingOptions, RingInfo, RingQuery, SendOptions } from './guest/argo-guest.js';
export { ArgoRing, RING_CORRUPT } from './guest/argo-ring.js';
export type { ArgoMessage, ArgoMessageInfo } from './guest/argo-ring.js';
export { ArgoError } from './guest/argo-error.js';
export { platformOf } from './guest/platform.js';
export type { GuestPlatform } from './guest/platform.js';

// ---------------------------------------------------------------------------------------------
// Linux Argo driver model (OpenXT argo-linux socket layer, argo.md §10)
// ---------------------------------------------------------------------------------------------
export { ArgoDriver } from './guest/linux/argo-driver.js';
export type { ArgoDriverOptions } from './guest/linux/argo-driver.js';
export { ArgoSocketBase } from './guest/linux/socket-base.js';
export { DgramSocket } from './guest/linux/dgram-socket.js';
export type { DgramMessage, DgramRecvOptions, DgramSendOptions } from './guest/linux/dgram-socket.js';
export { StreamSocket } from './guest/linux/stream-socket.js';
export type { StreamIoOptions } from './guest/linux/stream-socket.js';
export { DriverRing } from './guest/linux/driver-ring.js';
export type { ArgoRingId } from './guest/linux/ring-id.js';
export type { RandomSource } from './guest/linux/random-source.js';
export type { ArgoRingType, ArgoSocketState } from './guest/linux/socket-state.js';
export { decodeStreamHeader, encodeStreamHeader } from './guest/linux/stream-header.js';
export type { StreamHeader } from './guest/linux/stream-header.js';
export { findSparePort, randomPort } from './guest/linux/port-allocator.js';
export {
  ARGOIOCACCEPT,
  ARGOIOCBIND,
  ARGOIOCCONNECT,
  ARGOIOCGETCONNECTERR,
  ARGOIOCGETPEERNAME,
  ARGOIOCGETSOCKNAME,
  ARGOIOCGETSOCKTYPE,
  ARGOIOCLISTEN,
  ARGOIOCRECV,
  ARGOIOCRECV32,
  ARGOIOCSEND,
  ARGOIOCSEND32,
  ARGOIOCSETRINGSIZE,
  ARGOIOCVIPTABLESADD,
  ARGOIOCVIPTABLESDEL,
  ARGOIOCVIPTABLESLIST,
  ARGO_AUTO_PORT_MAX,
  ARGO_AUTO_PORT_MIN,
  ARGO_CONNECT_TIMEOUT_MS,
  ARGO_DRIVER_DEFAULT_RING_SIZE,
  ARGO_DRIVER_RING_SIZE_MIN,
  ARGO_PORTS_EXHAUSTED,
  ARGO_PROTO_DGRAM,
  ARGO_PROTO_STREAM,
  ARGO_PTYPE_DGRAM,
  ARGO_PTYPE_STREAM,
  ARGO_SHF_ACK,
  ARGO_SHF_PING,
  ARGO_SHF_PONG,
  ARGO_SHF_RST,
  ARGO_SHF_SYN,
  ARGO_STREAM_WRITE_LUMP,
  ARGO_TYPE,
  MAX_PENDING_RECVS,
  STREAM_HEADER,
} from './guest/linux/constants.js';
export { runParallel, poolFor, PARALLEL_LIFECYCLE_OPS } from './parallel/parallel-system.js';
export type { ParallelOptions, ParallelRunSummary, ParallelWorkerSummary } from './parallel/parallel-system.js';
export { roundRobin } from './parallel/placement.js';
export type { Placement } from './parallel/placement.js';
export { checkRingHistory } from './parallel/linearizability.js';
export type { RingOp, LinearizabilityResult } from './parallel/linearizability.js';
export type { StuckReport } from './parallel/watchdog.js';

// ---------------------------------------------------------------------------------------------
// VirtIO core: split virtqueues, device status and features, virtio-blk (docs/virtio.md)
// ---------------------------------------------------------------------------------------------
export {
  VIRTIO_CONFIG_S_ACKNOWLEDGE,
  VIRTIO_CONFIG_S_DRIVER,
  VIRTIO_CONFIG_S_DRIVER_OK,
  VIRTIO_CONFIG_S_FAILED,
  VIRTIO_CONFIG_S_FEATURES_OK,
  VIRTIO_CONFIG_S_NEEDS_RESET,
  VIRTIO_CONFIG_S_SUSPEND,
  VIRTIO_F_EVENT_IDX,
  VIRTIO_F_INDIRECT_DESC,
  VIRTIO_F_RING_RESET,
  VIRTIO_F_VERSION_1,
  VIRTQ_AVAIL_F_NO_INTERRUPT,
  VIRTQ_DESC_F_INDIRECT,
  VIRTQ_DESC_F_NEXT,
  VIRTQ_DESC_F_WRITE,
  VIRTQ_SIZE_MAX,
  VIRTQ_USED_F_NO_NOTIFY,
  bit,
  isValidQueueSize,
} from './virtio/constants.js';
export {
  VIRTQ_ALIGN,
  VIRTQ_AVAIL,
  VIRTQ_DESC,
  VIRTQ_USED,
  VIRTQ_USED_ELEM,
  availEventOffset,
  availRingBytes,
  descTableBytes,
  usedEventOffset,
  usedRingBytes,
} from './virtio/layout.js';
export type { VringAddresses } from './virtio/layout.js';
export { ringSlot, u16, u16Distance, vringNeedEvent } from './virtio/ring-index.js';
export { directStores } from './virtio/ring-stores.js';
export type { RingStores } from './virtio/ring-stores.js';
export { STORE_BUFFER_MAX, StoreBuffer } from './virtio/store-buffer.js';
export type { PendingStore } from './virtio/store-buffer.js';
export { placeVring, vringFits } from './virtio/place-vring.js';
export { DriverQueue, NUM_ADDED_KICK } from './virtio/driver-queue.js';
export type { AddResult, DriverBuffer, DriverQueueOptions, UsedBuffer } from './virtio/driver-queue.js';
export { DeviceQueue } from './virtio/device-queue.js';
export type { DeviceQueueOptions, PopResult } from './virtio/device-queue.js';
export { INDIRECT_TABLE_MAX, walkChain } from './virtio/desc-chain.js';
export type { ChainWalk, DescChain, Segment } from './virtio/desc-chain.js';
export { gatherBytes, scatterBytes } from './virtio/segments.js';
export { VIOLATION_LOG_MAX, ViolationLog } from './virtio/violation-log.js';
export type { ProtocolViolation, ViolationKind } from './virtio/violation-log.js';
export { DeviceStatus } from './virtio/device-status.js';
export type { DeviceStatusHooks } from './virtio/device-status.js';
export { ConfigSpace } from './virtio/config-space.js';
export { VirtioDevice } from './virtio/virtio-device.js';
export type { ServeContext, ServeResult, VirtioDeviceModel, VirtioInterrupt } from './virtio/virtio-device.js';
export { CONFIG_READ_ATTEMPTS_MAX, initialiseDevice, readConfigConsistent, readFeatures } from './virtio/driver-init.js';
export type { InitialiseOptions, InitialiseResult, VirtioDriverAccess } from './virtio/driver-init.js';
export {
  BLK_CONFIG,
  BLK_REQ_HEADER,
  SECTOR_SIZE,
  VIRTIO_BLK_F_BLK_SIZE,
  VIRTIO_BLK_F_FLUSH,
  VIRTIO_BLK_F_RO,
  VIRTIO_BLK_ID_BYTES,
  VIRTIO_BLK_S_IOERR,
  VIRTIO_BLK_S_OK,
  VIRTIO_BLK_S_UNSUPP,
  VIRTIO_BLK_T_FLUSH,
  VIRTIO_BLK_T_GET_ID,
  VIRTIO_BLK_T_IN,
  VIRTIO_BLK_T_OUT,
  VIRTIO_ID_BLOCK,
} from './virtio/blk/constants.js';
export type { BlockBackend } from './virtio/blk/block-backend.js';
export { MemoryDisk } from './virtio/blk/memory-disk.js';
export { FileDisk } from './virtio/blk/file-disk.js';
export { virtioBlkModel } from './virtio/blk/virtio-blk.js';
export type { VirtioBlkOptions } from './virtio/blk/virtio-blk.js';
export { VirtioBlkDriver } from './virtio/blk/blk-driver.js';
export type { BlkCompletion, BlkDriverOptions } from './virtio/blk/blk-driver.js';

// VirtIO-Argo transports (virtio-ioreq-lifecycle.md §4; docs/virtio-argo.md) and the XSM Argo firewall (argo.md §7.4)
export { VIRTIO_ARGO_RING_LEN_DEFAULT, VirtioArgoFrontend } from './virtio-argo/frontend.js';
export type { VirtioArgoFigures, VirtioArgoFrontendOptions } from './virtio-argo/frontend.js';
export { CHAIN_BYTES_MAX_DEFAULT, VirtioArgoBackend } from './virtio-argo/backend.js';
export type { VirtioArgoBackendOptions } from './virtio-argo/backend.js';
export { OUTBOX_MESSAGES_MAX, VirtioArgoEndpoint } from './virtio-argo/endpoint.js';
export type { EndpointCounters } from './virtio-argo/endpoint.js';
export { VIRTIO_ARGO_PORT_BASE, connectVirtioArgo, sharedMappings } from './virtio-argo/connect.js';
export type { VirtioArgoConnectOptions, VirtioArgoEnd, VirtioArgoPair } from './virtio-argo/connect.js';
export { VA_AVAIL_ENTRY, VA_CONFIG_CHANGED, VA_HELLO, VA_MSG, VA_MSG_MASK, VA_OP, VA_REPLY, VA_REQUEST, VA_SYNC, VA_USED_ENTRY, vaOpOf } from './virtio-argo/protocol.js';
export { ArgoFirewall, ArgoFirewallPolicy, installArgoFirewall, parseArgoFirewall, uninstallArgoFirewall } from './xsm/argo-firewall.js';
export type { ArgoEndpointPattern, ArgoFirewallRule } from './xsm/argo-firewall.js';
export type { ArgoFirewallHook } from './xsm/xsm.js';

// Xen IOREQ servers (virtio-ioreq-lifecycle.md §5; docs/ioreq.md) and virtio-mmio over IOREQ (§1.8, §5.10)
export { createIoreq, Ioreq } from './ioreq/ioreq.js';
export type { EmulatorReference, IoreqOptions, IoreqServerView } from './ioreq/ioreq.js';
export type { IoreqBugs } from './ioreq/host.js';
export { NO_IOREQ_BUGS } from './ioreq/host.js';
export type { AccessResult, IoreqAccess } from './ioreq/send.js';
export type { ResumeResult } from './ioreq/completion.js';
export type { IoreqServerInfo } from './ioreq/dm-op.js';
export type { IoreqTableBuffers } from './ioreq/tables.js';
export { IOREQ_CHANNEL_DOMAINS_MAX, IOREQ_PORTS_MAX, IOREQ_TARGETS_MAX } from './ioreq/tables.js';
export {
  HVM_IOREQSRV_BUFIOREQ_ATOMIC,
  HVM_IOREQSRV_BUFIOREQ_LEGACY,
  HVM_IOREQSRV_BUFIOREQ_OFF,
  IOREQ_BUFFER_SLOT_NUM,
  IOREQ_READ,
  IOREQ_TYPE_COPY,
  IOREQ_TYPE_INVALIDATE,
  IOREQ_TYPE_PCI_CONFIG,
  IOREQ_TYPE_PIO,
  IOREQ_TYPE_TIMEOFFSET,
  IOREQ_WRITE,
  MAX_NR_IO_RANGES,
  MAX_NR_IOREQ_SERVERS,
  STATE_IOREQ_INPROCESS,
  STATE_IOREQ_NONE,
  STATE_IOREQ_READY,
  STATE_IORESP_READY,
  XEN_DMOP_IO_RANGE_MEMORY,
  XEN_DMOP_IO_RANGE_PCI,
  XEN_DMOP_IO_RANGE_PORT,
  XEN_DMOP_no_gfns,
  pciSbdf,
} from './ioreq/constants.js';
export type { IoreqArch } from './ioreq/constants.js';
export { IOREQ_T, readIoreq, setSlotState, slotState, writeIoreq } from './ioreq/ioreq-page.js';
export type { Ioreq as IoreqT } from './ioreq/ioreq-page.js';
export { BUFFERED_IOPAGE, drainBuffered } from './ioreq/buffered-page.js';
export type { BufIoreq } from './ioreq/buffered-page.js';
export { answerRequest, takeRequest } from './ioreq/emulator-slot.js';
export { VirtioMmioBackend } from './ioreq/virtio-mmio/mmio-backend.js';
export type { VirtioMmioBackendOptions } from './ioreq/virtio-mmio/mmio-backend.js';
export { VirtioMmioTransport } from './ioreq/virtio-mmio/mmio-transport.js';
export type { ProbeResult } from './ioreq/virtio-mmio/mmio-transport.js';
export { ForeignMappings } from './ioreq/virtio-mmio/foreign-mappings.js';
export { GUEST_VIRTIO_MMIO_BASE, VIRTIO_MMIO, VIRTIO_MMIO_DEVICE_STRIDE, VIRTIO_MMIO_MAGIC } from './ioreq/virtio-mmio/registers.js';

// virtio-net (virtio-ioreq-lifecycle.md §3.1; docs/virtio.md "virtio-net"): deferred completion, the device, its driver, a bridge
export type { HeldCompletion } from './virtio/virtio-device.js';
export {
  ETH_ALEN,
  ETH_FRAME_LEN,
  ETH_HLEN,
  NET_CONFIG,
  RX_BUFFER_BYTES_MIN,
  VIRTIO_ID_NET,
  VIRTIO_NET_F_MAC,
  VIRTIO_NET_F_MRG_RXBUF,
  VIRTIO_NET_F_MTU,
  VIRTIO_NET_F_STATUS,
  VIRTIO_NET_HDR,
  VIRTIO_NET_HDR_GSO_NONE,
  VIRTIO_NET_MTU,
  VIRTIO_NET_RXQ,
  VIRTIO_NET_S_LINK_UP,
  VIRTIO_NET_TXQ,
} from './virtio/net/constants.js';
export type { NetBackend, NetPort } from './virtio/net/net-backend.js';
export { VirtioNet } from './virtio/net/virtio-net.js';
export type { VirtioNetFigures, VirtioNetOptions } from './virtio/net/virtio-net.js';
export { VirtioNetDriver } from './virtio/net/net-driver.js';
export type { NetDriverOptions, NetRxFrame } from './virtio/net/net-driver.js';
export { FDB_ENTRIES_MAX_DEFAULT, NetBridge } from './virtio/net/bridge.js';
export type { NetBridgeFigures } from './virtio/net/bridge.js';
export { BROADCAST_MAC, ethFrame } from './virtio/net/eth-frame.js';
export { isGroupMac, macKey, parseMac } from './virtio/net/mac.js';

// virtio-vsock (virtio-ioreq-lifecycle.md §3.4; docs/virtio.md "virtio-vsock"): the device, the host's socket layer, the driver
export {
  CONTROL_QUEUE_MAX,
  VirtioVsock,
} from './virtio/vsock/virtio-vsock.js';
export type { VirtioVsockFigures, VirtioVsockOptions } from './virtio/vsock/virtio-vsock.js';
export { VsockHostConnection } from './virtio/vsock/host-connection.js';
export type { VsockConnectionState, VsockHostTransport } from './virtio/vsock/host-connection.js';
export { VsockCredit } from './virtio/vsock/credit.js';
export { decodeVsockHdr, encodeVsockHdr } from './virtio/vsock/vsock-hdr.js';
export type { VsockHdr } from './virtio/vsock/vsock-hdr.js';
export { VirtioVsockDriver } from './virtio/vsock/vsock-driver.js';
export type { VsockDriverConnection, VsockDriverOptions, VsockDriverState } from './virtio/vsock/vsock-driver.js';
export {
  VIRTIO_ID_VSOCK,
  VIRTIO_VSOCK_EVENT,
  VIRTIO_VSOCK_EVENT_TRANSPORT_RESET,
  VIRTIO_VSOCK_EVENTQ,
  VIRTIO_VSOCK_F_STREAM,
  VIRTIO_VSOCK_HDR,
  VIRTIO_VSOCK_OP_CREDIT_REQUEST,
  VIRTIO_VSOCK_OP_CREDIT_UPDATE,
  VIRTIO_VSOCK_OP_INVALID,
  VIRTIO_VSOCK_OP_REQUEST,
  VIRTIO_VSOCK_OP_RESPONSE,
  VIRTIO_VSOCK_OP_RST,
  VIRTIO_VSOCK_OP_RW,
  VIRTIO_VSOCK_OP_SHUTDOWN,
  VIRTIO_VSOCK_RXQ,
  VIRTIO_VSOCK_SHUTDOWN_RCV,
  VIRTIO_VSOCK_SHUTDOWN_SEND,
  VIRTIO_VSOCK_TXQ,
  VIRTIO_VSOCK_TYPE_SEQPACKET,
  VIRTIO_VSOCK_TYPE_STREAM,
  VMADDR_CID_HOST,
  VSOCK_CONFIG,
  VSOCK_PKT_PAYLOAD_MAX,
  isGuestCid,
} from './virtio/vsock/constants.js';

// virtio-console port 0 (virtio-ioreq-lifecycle.md §3.3; docs/virtio.md "virtio-console"): the device, emerg_wr wiring, the driver
export { VirtioConsole } from './virtio/console/virtio-console.js';
export type { VirtioConsoleFigures, VirtioConsoleOptions } from './virtio/console/virtio-console.js';
export { ConsoleDriverAccess } from './virtio/console/console-access.js';
export { VirtioConsoleDriver } from './virtio/console/console-driver.js';
export type { ConsoleDriverOptions } from './virtio/console/console-driver.js';
export {
  CONSOLE_CONFIG,
  VIRTIO_CONSOLE_F_EMERG_WRITE,
  VIRTIO_CONSOLE_F_MULTIPORT,
  VIRTIO_CONSOLE_F_SIZE,
  VIRTIO_CONSOLE_RXQ,
  VIRTIO_CONSOLE_TXQ,
  VIRTIO_ID_CONSOLE,
} from './virtio/console/constants.js';
