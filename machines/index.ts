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
export { domainMachineFor } from './implementations/domain-core.js';

// Argo rings (argo.md §4.1, §4.2, §8)
export { argoRingMachine } from './argo-ring.js';
export type { ArgoRingContext, ArgoRingEvent, ArgoRingInput, RingTeardownReason } from './argo-ring.js';
export { argoRingMachineFor } from './implementations/argo-ring-core.js';
