import { spinLock, spinUnlock } from '../sync/spinlock.js';
import { ERRNO } from '../xen/errno.js';
import { VIRQ_DOM_EXC } from '../xen/virq.js';
import { D, DOMAIN_DYING, DOMAIN_FREE, type DomainTable } from './domain-table.js';
import type { EventChannels } from './event-channels.js';

/**
 * The hypervisor side of the VM lifecycle (virtio-ioreq-lifecycle.md §6.1–§6.3): toolstack pause
 * references, shutdown with its reason and per-vCPU deferral, resume, and what a soft reset needs.
 * Synchronous functions over the shared domain table, each under the domain's lifecycle lock;
 * they return 0 or -errno like the domctls they model. The machines of the actor shell call these.
 *
 * @example
 * ```ts
 * domainUnpause(table, slot);                           // the first unpause finishes creation
 * domainShutdown(table, events, slot, SHUTDOWN_poweroff);
 * domainInfo(table, slot).flags & XEN_DOMINF_shutdown;  // set once every vCPU has stopped
 * ```
 */

/** Shutdown reasons (public/sched.h). */
export const SHUTDOWN_poweroff = 0;
export const SHUTDOWN_reboot = 1;
export const SHUTDOWN_suspend = 2;
export const SHUTDOWN_crash = 3;
export const SHUTDOWN_watchdog = 4;
export const SHUTDOWN_soft_reset = 5;
export const SHUTDOWN_MAX = 5;
/** `SHUTDOWN_CODE_INVALID`: no shutdown reason recorded. */
export const SHUTDOWN_CODE_INVALID = -1;

/** `shutdown_state`. */
export const SHUTDOWN_NONE = 0;
export const SHUTDOWN_IN_PROGRESS = 1;
export const SHUTDOWN_COMPLETE = 2;

/** XEN_DOMINF_* flags; the shutdown reason is `(flags >> XEN_DOMINF_shutdownshift) & 255`. */
export const XEN_DOMINF_dying = 1 << 0;
export const XEN_DOMINF_shutdown = 1 << 2;
export const XEN_DOMINF_paused = 1 << 3;
export const XEN_DOMINF_running = 1 << 5;
export const XEN_DOMINF_shutdownshift = 16;

/** Toolstack pause references are capped (Xen: -EOVERFLOW beyond 255). */
export const CONTROLLER_PAUSE_MAX = 255;

/** What XEN_DOMCTL_getdomaininfo would report. */
export interface DomainInfo {
  flags: number;
  /** The first shutdown reason, or SHUTDOWN_CODE_INVALID. */
  shutdownCode: number;
  shutdownState: number;
  pauseCount: number;
  controllerPauseCount: number;
  creationFinished: boolean;
  dying: boolean;
}

function locked<T>(t: DomainTable, slot: number, fn: () => T): T {
  spinLock(t.slots, t.at(slot, D.LOCK), 'domain lifecycle lock');
  try {
    return fn();
  } finally {
    spinUnlock(t.slots, t.at(slot, D.LOCK));
  }
}

const vcpuWord = (field: number, vcpu: number) => field + (vcpu >>> 5);
const vcpuBit = (vcpu: number) => 1 << (vcpu & 31);

function vcpuFlag(t: DomainTable, slot: number, field: number, vcpu: number): boolean {
  return (t.get(slot, vcpuWord(field, vcpu)) & vcpuBit(vcpu)) !== 0;
}

function setVcpuFlag(t: DomainTable, slot: number, field: number, vcpu: number, on: boolean): void {
  const at = t.at(slot, vcpuWord(field, vcpu));
  if (on) Atomics.or(t.slots, at, vcpuBit(vcpu));
  else Atomics.and(t.slots, at, ~vcpuBit(vcpu));
}

/** A new domain exists paused: one toolstack pause reference (§6.3 create). Called on creation. */
export function domainCreatedPaused(t: DomainTable, slot: number): void {
  t.set(slot, D.CONTROLLER_PAUSE, 1);
  t.set(slot, D.PAUSE_COUNT, 1);
  t.set(slot, D.SHUTDOWN_CODE, SHUTDOWN_CODE_INVALID);
  t.set(slot, D.SHUTDOWN_STATE, SHUTDOWN_NONE);
}

/** XEN_DOMCTL_pausedomain: one more toolstack reference; -EOVERFLOW past 255, -EINVAL when dying. */
export function domainPause(t: DomainTable, slot: number): number {
  return locked(t, slot, () => {
    if (t.get(slot, D.STATE) === DOMAIN_DYING) return -ERRNO.EINVAL;
    const refs = t.get(slot, D.CONTROLLER_PAUSE);
    if (refs >= CONTROLLER_PAUSE_MAX) return -ERRNO.EOVERFLOW;
    t.set(slot, D.CONTROLLER_PAUSE, refs + 1);
    t.set(slot, D.PAUSE_COUNT, t.get(slot, D.PAUSE_COUNT) + 1);
    return 0;
  });
}

/**
 * XEN_DOMCTL_unpausedomain: drops a toolstack reference; -EINVAL when none is held. The first time the
 * count reaches 0 creation is finished and the vCPUs may run (§6.1).
 */
export function domainUnpause(t: DomainTable, slot: number): number {
  return locked(t, slot, () => {
    if (t.get(slot, D.STATE) === DOMAIN_DYING) return -ERRNO.EINVAL;
    const refs = t.get(slot, D.CONTROLLER_PAUSE);
    if (refs <= 0) return -ERRNO.EINVAL;
    t.set(slot, D.CONTROLLER_PAUSE, refs - 1);
    t.set(slot, D.PAUSE_COUNT, t.get(slot, D.PAUSE_COUNT) - 1);
    if (refs === 1) t.set(slot, D.CREATION_FINISHED, 1);
    return 0;
  });
}

/**
 * `domain_shutdown(reason)` (SCHEDOP_shutdown by the guest, or a crash): the first reason wins and a
 * second call is a no-op. Every vCPU without a deferral is paused for shutdown; a crash cancels the
 * deferrals. When every vCPU has stopped the shutdown is COMPLETE and VIRQ_DOM_EXC goes to the
 * control domain(s). -EINVAL for an unknown reason.
 */
export function domainShutdown(t: DomainTable, events: EventChannels, slot: number, reason: number): number {
  if (!Number.isInteger(reason) || reason < 0 || reason > SHUTDOWN_MAX) return -ERRNO.EINVAL;
  const completed = locked(t, slot, () => {
    if (t.get(slot, D.SHUTDOWN_STATE) !== SHUTDOWN_NONE) return false; // the first reason stands
    t.set(slot, D.SHUTDOWN_STATE, SHUTDOWN_IN_PROGRESS);
    t.set(slot, D.SHUTDOWN_CODE, reason);
    const vcpus = t.get(slot, D.VCPUS);
    for (let v = 0; v < vcpus; v++) {
      if (reason === SHUTDOWN_crash) setVcpuFlag(t, slot, D.VCPU_DEFER_SHUTDOWN, v, false);
      if (!vcpuFlag(t, slot, D.VCPU_DEFER_SHUTDOWN, v)) setVcpuFlag(t, slot, D.VCPU_PAUSED_FOR_SHUTDOWN, v, true);
    }
    return checkShutdownComplete(t, slot);
  });
  if (completed) notifyDomainException(t, events);
  return 0;
}

/**
 * `vcpu_start_shutdown_deferral`: a vCPU with a synchronous ioreq in flight holds off shutdown.
 * Returns false when the domain is already shutting down (the vCPU is paused for it instead).
 */
export function vcpuStartShutdownDeferral(t: DomainTable, events: EventChannels, slot: number, vcpu: number): boolean {
  let completed = false;
  const deferred = locked(t, slot, () => {
    if (vcpuFlag(t, slot, D.VCPU_DEFER_SHUTDOWN, vcpu)) return true; // already deferring
    if (t.get(slot, D.SHUTDOWN_STATE) !== SHUTDOWN_NONE) {
      setVcpuFlag(t, slot, D.VCPU_PAUSED_FOR_SHUTDOWN, vcpu, true);
      completed = checkShutdownComplete(t, slot);
      return false;
    }
    setVcpuFlag(t, slot, D.VCPU_DEFER_SHUTDOWN, vcpu, true);
    return true;
  });
  if (completed) notifyDomainException(t, events);
  return deferred;
}

/** `vcpu_end_shutdown_deferral`: the I/O completed; a pending shutdown may now complete. */
export function vcpuEndShutdownDeferral(t: DomainTable, events: EventChannels, slot: number, vcpu: number): void {
  const completed = locked(t, slot, () => {
    setVcpuFlag(t, slot, D.VCPU_DEFER_SHUTDOWN, vcpu, false);
    if (t.get(slot, D.SHUTDOWN_STATE) === SHUTDOWN_NONE) return false;
    setVcpuFlag(t, slot, D.VCPU_PAUSED_FOR_SHUTDOWN, vcpu, true);
    return checkShutdownComplete(t, slot);
  });
  if (completed) notifyDomainException(t, events);
}

/** IN_PROGRESS → COMPLETE once every vCPU is paused for shutdown; true when it just completed. */
function checkShutdownComplete(t: DomainTable, slot: number): boolean {
  if (t.get(slot, D.SHUTDOWN_STATE) !== SHUTDOWN_IN_PROGRESS) return false;
  const vcpus = t.get(slot, D.VCPUS);
  for (let v = 0; v < vcpus; v++) if (!vcpuFlag(t, slot, D.VCPU_PAUSED_FOR_SHUTDOWN, v)) return false;
  t.set(slot, D.SHUTDOWN_STATE, SHUTDOWN_COMPLETE);
  return true;
}

/**
 * `domain_resume` (XEN_DOMCTL_resumedomain, a cancelled suspend): shutdown state back to NONE, the
 * reason to INVALID, the vCPUs paused for shutdown run again.
 */
export function domainResume(t: DomainTable, slot: number): number {
  return locked(t, slot, () => {
    if (t.get(slot, D.STATE) === DOMAIN_DYING) return -ERRNO.EINVAL;
    resumeLocked(t, slot);
    return 0;
  });
}

function resumeLocked(t: DomainTable, slot: number): void {
  t.set(slot, D.SHUTDOWN_STATE, SHUTDOWN_NONE);
  t.set(slot, D.SHUTDOWN_CODE, SHUTDOWN_CODE_INVALID);
  for (let w = 0; w < 4; w++) t.set(slot, D.VCPU_PAUSED_FOR_SHUTDOWN + w, 0);
}

/**
 * `domain_soft_reset`: -EINVAL unless every vCPU is paused for shutdown; then `reset` (event
 * channels, Argo — the caller's business, it owns those layers) runs and the domain resumes.
 */
export function domainSoftReset(t: DomainTable, slot: number, reset: () => void): number {
  return locked(t, slot, () => {
    if (t.get(slot, D.STATE) === DOMAIN_DYING) return -ERRNO.EINVAL;
    const vcpus = t.get(slot, D.VCPUS);
    for (let v = 0; v < vcpus; v++) if (!vcpuFlag(t, slot, D.VCPU_PAUSED_FOR_SHUTDOWN, v)) return -ERRNO.EINVAL;
    reset();
    resumeLocked(t, slot);
    return 0;
  });
}

/** XEN_DOMCTL_getdomaininfo for the domain in `slot`. */
export function domainInfo(t: DomainTable, slot: number): DomainInfo {
  const dying = t.get(slot, D.STATE) === DOMAIN_DYING;
  const state = t.get(slot, D.SHUTDOWN_STATE);
  const code = t.get(slot, D.SHUTDOWN_CODE);
  const pauseCount = t.get(slot, D.PAUSE_COUNT);
  const controllerPauseCount = t.get(slot, D.CONTROLLER_PAUSE);
  let flags = 0;
  if (dying) flags |= XEN_DOMINF_dying;
  if (state === SHUTDOWN_COMPLETE) flags |= XEN_DOMINF_shutdown | ((code & 255) << XEN_DOMINF_shutdownshift);
  if (controllerPauseCount > 0) flags |= XEN_DOMINF_paused; // as getdomaininfo reports it
  if (pauseCount === 0 && !dying && state !== SHUTDOWN_COMPLETE) flags |= XEN_DOMINF_running;
  return {
    flags,
    shutdownCode: code,
    shutdownState: state,
    pauseCount,
    controllerPauseCount,
    creationFinished: t.get(slot, D.CREATION_FINISHED) !== 0,
    dying,
  };
}

/** VIRQ_DOM_EXC to the control domain(s): a domain changed state (§6.3). */
export function notifyDomainException(t: DomainTable, events: EventChannels): void {
  for (let slot = 0; slot < t.capacity; slot++) {
    if (t.get(slot, D.STATE) !== DOMAIN_FREE && t.get(slot, D.CONTROL) !== 0) events.raise(slot, VIRQ_DOM_EXC);
  }
}

/** `domain_kill` on a live domain: it is paused and marked dying (the caller runs Argo teardown). */
export function domainMarkDying(t: DomainTable, slot: number): void {
  locked(t, slot, () => {
    if (t.get(slot, D.STATE) === DOMAIN_DYING) return;
    t.set(slot, D.PAUSE_COUNT, t.get(slot, D.PAUSE_COUNT) + 1);
    t.set(slot, D.STATE, DOMAIN_DYING);
  });
}

/** A vCPU's shutdown bits: whether it holds a deferral and whether it is paused for shutdown. */
export interface VcpuShutdownInfo {
  deferShutdown: boolean;
  pausedForShutdown: boolean;
}

/** The shutdown bits of one vCPU (`v->defer_shutdown`, `v->paused_for_shutdown`). */
export function vcpuShutdownInfo(t: DomainTable, slot: number, vcpu: number): VcpuShutdownInfo {
  return {
    deferShutdown: vcpuFlag(t, slot, D.VCPU_DEFER_SHUTDOWN, vcpu),
    pausedForShutdown: vcpuFlag(t, slot, D.VCPU_PAUSED_FOR_SHUTDOWN, vcpu),
  };
}
