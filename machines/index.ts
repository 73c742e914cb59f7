/**
 * The actor shell's machines (ARCHITECTURE.md principle 1): pure XState v5 definitions, with their
 * effects on the hypervisor injected, and the wiring of each to the core.
 *
 * @example
 * ```ts
 * import { createActor } from 'xstate';
 * import { domainMachineFor } from './machines/index.js';
 * const domain = createActor(domainMachineFor(hv, 1), { input: { domid: 1 } }).start();
 * domain.send({ type: 'CREATE' });
 * ```
 */

// The domain lifecycle (virtio-ioreq-lifecycle.md §6.5)
export { domainMachine, SHUTDOWN_REASONS } from './domain.js';
export type { DomainContext, DomainEvent, DomainInfoRecord, DomainInput, ShutdownReason, ShutdownState } from './domain.js';
export { createDomainActor, domainMachineFor, type DomainWire } from './implementations/domain-core.js';

// Argo rings (argo.md §4.1, §4.2, §8)
export { argoRingMachine } from './argo-ring.js';
export type { ArgoRingContext, ArgoRingEvent, ArgoRingInput, RingTeardownReason } from './argo-ring.js';
export { argoRingMachineFor, createArgoRingActor, type ArgoRingWire } from './implementations/argo-ring-core.js';

// The toolstack's ao operations (virtio-ioreq-lifecycle.md §6.4)
export {
  toolstackMachine,
  TOOLSTACK_SHUTDOWN_REASONS,
  XL_DEFAULT_ON_SHUTDOWN,
  LIBXL_ACK_TIMEOUT_MS,
  LIBXL_DESTROY_TIMEOUT_MS,
  LIBXL_DEVICE_MODEL_START_TIMEOUT_MS,
  LIBXL_DOMID_REUSE_TIMEOUT_MS,
} from './toolstack.js';
export type { AoOperation, ControlRequest, LibxlResult, OnShutdownAction, OnShutdownActions, ReportedEvent, ToolstackContext, ToolstackEvent, ToolstackInput } from './toolstack.js';
export { ControlNodes, createToolstackActor, hypervisorControl, releaseDomainEvent, toolstackMachineFor, toolstackWire, xstateClock } from './implementations/toolstack-core.js';
export type { ControlWatch, DeviceModel, DeviceRemoval, DomainControl, ToolstackHost, ToolstackWire, XStateClock } from './implementations/toolstack-core.js';

// xenstored (docs/xenstore.md; virtio-ioreq-lifecycle.md §6.4)
export { xenstoreMachine } from './xenstore.js';
export type { XenstoreContext, XenstoreEvent, XenstoreReply, XenstoreRequest, XenstoreWatchEvent } from './xenstore.js';
export { createXenstoreActor, XenstoredPort, type XenstoreActor, type XenstoreWire } from './implementations/xenstore-core.js';

// The host (createHypervisor's domain table and boot options)
export { hypervisorMachine } from './hypervisor.js';
export type { HostBootOptions, HostDomain, HostDomainOptions, HostOperation, HypervisorContext, HypervisorEvent } from './hypervisor.js';
export { createHypervisorActor, hypervisorMachineFor, type HypervisorWire } from './implementations/hypervisor-core.js';

// A guest application sending over Argo (argo.md §6.3)
export { guestAppMachine, messageSize, retryRun, sendRun } from './guest-app.js';
export { wiredActors } from './implementations/wired.js';
export type { GuestAppContext, GuestAppEvent, GuestAppInput, GuestAppReport } from './guest-app.js';
export { createGuestAppActor, guestAppMachineFor, payloadFor } from './implementations/guest-app-core.js';
export type { GuestAppHooks } from './implementations/guest-app-core.js';

// VirtIO devices over VirtIO-Argo (virtio-ioreq-lifecycle.md §1, §4)
export { virtioDeviceMachine, virtioStateOf, VIRTIO_STATUS } from './virtio-device.js';
export type { VirtioDeviceContext, VirtioDeviceEvent, VirtioDeviceInput } from './virtio-device.js';
export { createVirtioArgoBackSide, createVirtioArgoDevice, createVirtioArgoFrontSide, createVirtioDeviceActor, virtioDeviceMachineFor } from './implementations/virtio-device-core.js';
export type {
  VirtioArgoBackSide,
  VirtioArgoBackSideOptions,
  VirtioArgoDevice,
  VirtioArgoDeviceFigures,
  VirtioArgoDeviceOptions,
  VirtioArgoFrontSide,
  VirtioArgoFrontSideOptions,
  VirtioDeviceWire,
} from './implementations/virtio-device-core.js';

// Xen IOREQ servers and their per-vCPU slots (virtio-ioreq-lifecycle.md §5)
export { ioreqServerMachine, ioreqServerStateOf, ioreqRangeKey } from './ioreq-server.js';
export type { IoreqServerContext, IoreqServerEvent, IoreqServerInput } from './ioreq-server.js';
export { createIoreqServerActor, ioreqServerMachineFor, type IoreqServerWire } from './implementations/ioreq-server-core.js';
export { ioreqSlotMachine, ioreqSlotStateOf, IOREQ_SLOT_STATE } from './ioreq-slot.js';
export type { IoreqSlotContext, IoreqSlotEvent, IoreqSlotInput } from './ioreq-slot.js';
export { createIoreqSlotActor, ioreqSlotMachineFor, type IoreqSlotWire } from './implementations/ioreq-slot-core.js';
export { guestReceiverMachine, takeFrom } from './guest-receiver.js';
export type { DrainResult, GuestReceiverContext, GuestReceiverEvent, GuestReceiverInput } from './guest-receiver.js';
export { createGuestReceiverActor, drainRing, type GuestReceiverWire } from './implementations/guest-receiver-core.js';
