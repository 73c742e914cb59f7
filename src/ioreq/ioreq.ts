import type { GuestMemory } from '../memory/guest-memory.js';
import { ERRNO } from '../xen/errno.js';
import type { Hypervisor, LifecycleChange } from '../xen/hypervisor.js';
import type { IoreqArch } from './constants.js';
import { vcpuResume, type ResumeResult } from './completion.js';
import { createServer, destroyServer, dmOpTarget, setIrqLevel, mapRange, ownedServer, serverFrame, serverInfo, setServerState, unmapRange, type IoreqServerInfo } from './dm-op.js';
import { IoreqEventChannels } from './event-channels.js';
import { napFor } from '../sync/nap.js';
import { NO_IOREQ_BUGS, sameDomain, type IoreqBugs, type IoreqHost, type IoreqTarget } from './host.js';
import { IoreqTables, type IoreqTableBuffers } from './tables.js';
import { wakeVcpu } from './completion.js';
import { slotState } from './ioreq-page.js';
import { broadcastInvalidate, sendBuffered, vcpuAccess, vcpuSendReturned, type AccessResult, type IoreqAccess } from './send.js';
import type { DomainRef, IoreqServer } from './server.js';
import { XEN_DOMINF_running } from '../domain/lifecycle.js';
import { destroyAllServers } from './teardown.js';

/** Options of `createIoreq`. */
export interface IoreqOptions {
  /** Kconfig CONFIG_IOREQ_SERVER: false makes every IOREQ DM op -ENOSYS. Default true. */
  built?: boolean;
  /** x86 (default) or Arm: bufioreq support and what an access with no server gets (§5.2, §5.6). */
  arch?: IoreqArch;
  /** Historical bugs to bring back (§6.7 R1–R4); all off by default. */
  bugs?: Partial<IoreqBugs>;
  /** Another thread's IOREQ state (`Ioreq.share()`): this one is a view of the same tables. */
  attach?: IoreqTableBuffers;
}

/** A server as `servers()` reports it. */
export interface IoreqServerView {
  id: number;
  emulator: number;
  enabled: boolean;
  bufioreq: number;
  ranges: Array<Array<{ start: number; end: number }>>;
  /** Per vCPU: the target-side port, whether a request is pending, the slot's state nibble and the state Xen last saw while waiting. */
  vcpus: Array<{ port: number; pending: boolean; slotState: number; seen: number }>;
}

/** An emulator a server holds a reference on; `zombie` once the domain itself was reaped (R5). */
export interface EmulatorReference {
  domid: number;
  servers: number;
  zombie: boolean;
}

/**
 * Xen's IOREQ servers (virtio-ioreq-lifecycle.md §5) over a `Hypervisor`: the device-model ops,
 * the per-vCPU `ioreq_t` slots in shared pages with their state machine, buffered requests, the
 * interdomain event channels, shutdown deferral and teardown. Independent of Argo and of XState.
 *
 * A guest vCPU's trapped access is `access(target, vcpu, …)`; an emulator hears of it through
 * `onEmulatorEvent`, answers in the page it got from `acquireResource` and calls `evtchnSend`; the
 * vCPU then hears `onWake` and calls `resume`. Every result is 0 / a value or -errno, as the
 * hypercall would return it; misuse by the model's own code (a blocked vCPU executing) throws.
 *
 * @example
 * ```ts
 * const ioreq = createIoreq(hv);
 * const id = ioreq.createServer(0, 1, HVM_IOREQSRV_BUFIOREQ_OFF);       // dom0 emulates for dom1
 * ioreq.mapIoRange(0, 1, id, XEN_DMOP_IO_RANGE_MEMORY, 0x2000000, 0x20001ff);
 * ioreq.setServerState(0, 1, id, true);
 * const page = ioreq.acquireResource(0, 1, id, 1) as GuestMemory;         // the synchronous page
 * ioreq.access(1, 0, { type: IOREQ_TYPE_COPY, addr: 0x2000000, size: 4, dir: IOREQ_READ }); // { kind: 'blocked', server: 0 }
 * ```
 */
export class Ioreq {
  private readonly host: IoreqHost;
  private readonly unsubscribe: () => void;
  private readonly emulatorListeners = new Set<(domid: number, port: number) => void>();

  constructor(readonly hv: Hypervisor, options: IoreqOptions = {}) {
    const tables = new IoreqTables(options.attach);
    this.host = {
      hv,
      arch: options.arch ?? 'x86',
      built: options.built ?? true,
      bugs: Object.freeze({ ...NO_IOREQ_BUGS, ...options.bugs }),
      tables,
      channels: new IoreqEventChannels(tables, (target, vcpu) => {
        const t = tables.target(target);
        if (t) wakeVcpu(this.host, t, vcpu);
      }),
      wakeListeners: new Set(),
      irqListeners: new Set(),
    };
    this.host.channels.onNotify((domid, port) => this.hear(domid, port));
    this.unsubscribe = hv.onLifecycle((change) => this.lifecycle(change));
  }

  /** x86 or Arm. */
  get arch(): IoreqArch {
    return this.host.arch;
  }

  /**
   * The shared buffers of this IOREQ state, for `createIoreq(attachHypervisor(…), { attach })` in
   * another thread: both see the same servers, slots, pages and ports.
   */
  share(): IoreqTableBuffers {
    return this.host.tables.share();
  }

  /** Stops following the hypervisor's lifecycle (the IOREQ state stays as it is). */
  dispose(): void {
    this.unsubscribe();
  }

  /**
   * XEN_DOMCTL_set_target: `dm` becomes privileged over `target` (a device-model stub domain) — its
   * one target, as Xen's `d->target`; a guest may have several device-model domains.
   */
  setDeviceModel(target: number, dm: number): void {
    this.host.tables.setDeviceModel(target, dm);
  }

  /** XEN_DMOP_create_ioreq_server (§5.2 op 1): the new id, or -EINVAL, -ENOSPC, -EPERM, -ESRCH, -ENOSYS. */
  createServer(caller: number, target: number, handleBufioreq: number): number {
    return this.locked(() => {
      const t = dmOpTarget(this.host, caller, target);
      return typeof t === 'number' ? t : createServer(this.host, t, caller, handleBufioreq);
    });
  }

  /** XEN_DMOP_get_ioreq_server_info (§5.2 op 2). */
  getServerInfo(caller: number, target: number, id: number, flags: number): IoreqServerInfo | number {
    return this.withServer(caller, target, id, (s) => serverInfo(s, flags, this.host.arch));
  }

  /** XENMEM_acquire_resource, type ioreq_server: frame 0 the buffered page, 1 the synchronous page. */
  acquireResource(caller: number, target: number, id: number, frame: number): GuestMemory | number {
    return this.withServer(caller, target, id, (s) => serverFrame(s, frame));
  }

  /** XEN_DMOP_map_io_range_to_ioreq_server (§5.2 op 3). `end` is inclusive. */
  mapIoRange(caller: number, target: number, id: number, type: number, start: number, end: number): number {
    return this.locked(() => this.withServer(caller, target, id, (s) => mapRange(s, type, start, end)));
  }

  /** XEN_DMOP_unmap_io_range_from_ioreq_server (§5.2 op 4). */
  unmapIoRange(caller: number, target: number, id: number, type: number, start: number, end: number): number {
    return this.locked(() => this.withServer(caller, target, id, (s) => unmapRange(s, type, start, end)));
  }

  /** XEN_DMOP_set_ioreq_server_state (§5.2 op 5). */
  setServerState(caller: number, target: number, id: number, enabled: boolean): number {
    return this.locked(() => this.withServer(caller, target, id, (s) => setServerState(s, enabled)));
  }

  /** XEN_DMOP_destroy_ioreq_server (§5.2 op 6). */
  destroyServer(caller: number, target: number, id: number): number {
    return this.locked(() => this.withServer(caller, target, id, (s, t) => destroyServer(this.host, t, s)));
  }

  /** XEN_DMOP_set_irq_level (§5.2 op 19, Arm): 0 or -EINVAL, -EOPNOTSUPP (x86), -EPERM, -ESRCH, -ENOSYS. */
  setIrqLevel(caller: number, target: number, irq: number, level: number): number {
    const t = dmOpTarget(this.host, caller, target);
    return typeof t === 'number' ? t : setIrqLevel(this.host, t, irq, level);
  }

  /** The level a device model last set on a target's interrupt line (0 when never driven). */
  irqLevel(target: number, irq: number): 0 | 1 {
    return this.host.tables.target(target)?.lines.get(irq) ?? 0;
  }

  /**
   * Across threads: the word counting the SPIs injected into `target` (each rising edge a device
   * model drove), for the thread running its vCPUs to wait on (`Atomics.waitAsync`); null while
   * the target has no IOREQ state.
   */
  irqWord(target: number): { words: Int32Array; index: number } | null {
    const t = this.host.tables.target(target);
    return t ? t.irqWord() : null;
  }

  /**
   * Across threads: every IOREQ event for `domid` — a request for it as an emulator, a wake or an
   * interrupt of its vCPUs — also rings doorbell `bell` (`doorbell(bell)`'s word goes up, notified),
   * so a thread running several domains waits on one word for all of them.
   */
  ringOnEvents(domid: number, bell: number): void {
    this.host.tables.ringOnEvents(domid, bell);
  }

  /** Doorbell `bell`'s word. */
  doorbell(bell: number): { words: Int32Array; index: number } {
    return this.host.tables.doorbell(bell);
  }

  /** Listens to interrupts injected into targets (a line's rising edge); returns the unsubscribe function. */
  onIrq(listener: (target: number, irq: number) => void): () => void {
    this.host.irqListeners.add(listener);
    return () => this.host.irqListeners.delete(listener);
  }

  /** EVTCHNOP_bind_interdomain of a target's ioreq port by the emulator: its local port or -EINVAL. */
  bindInterdomain(caller: number, target: number, remotePort: number): number {
    return this.locked(() => this.host.channels.bindInterdomain(caller, target, remotePort));
  }

  /** EVTCHNOP_send by the emulator on its bound port (after IORESP_READY): 0 or -EINVAL. */
  evtchnSend(caller: number, port: number): number {
    if (this.hv.life(caller) !== 'alive') return -ERRNO.ESRCH;
    return this.host.channels.send(caller, port);
  }

  /** Listens to notifications reaching an emulator's bound ports; returns the unsubscribe function. */
  onEmulatorEvent(listener: (domid: number, port: number) => void): () => void {
    this.emulatorListeners.add(listener);
    return () => this.emulatorListeners.delete(listener);
  }

  /**
   * Across threads, the emulator's side: the events delivered to `emulator`'s IOREQ ports so far (a
   * count to wait on), a bounded wait for it to move, and the ports with an event pending (taken).
   * A device model in its own thread loops: `seen = emulatorEvents(d)`, take and serve its ports,
   * `waitEmulatorEvents(d, seen, ms)`.
   */
  emulatorEvents(emulator: number): number {
    return this.host.channels.events(emulator);
  }

  waitEmulatorEvents(emulator: number, seen: number, timeoutMs: number): 'ok' | 'not-equal' | 'timed-out' {
    return this.host.channels.waitEvents(emulator, seen, timeoutMs);
  }

  takeEmulatorEvents(emulator: number): number[] {
    return this.host.channels.takePending(emulator);
  }

  /**
   * Takes `emulator`'s pending ports and tells this thread's `onEmulatorEvent` listeners of each, as
   * if the notification had been made here: how a device model in this thread hears the requests of
   * vCPUs in other threads. Returns how many it delivered.
   */
  deliverEmulatorEvents(emulator: number): number {
    const ports = this.host.channels.takePending(emulator);
    for (const port of ports) this.hear(emulator, port);
    return ports.length;
  }

  /** A notification reaches an emulator's port: this thread's listeners hear it. */
  private hear(domid: number, port: number): void {
    if (this.hv.life(domid) !== 'alive') return; // a dying or dead emulator runs nothing (case 36)
    for (const listener of this.emulatorListeners) listener(domid, port);
  }

  /** The word `emulatorEvents` reads (`Atomics.waitAsync` on it), or null while `emulator` has no port. */
  emulatorEventWord(emulator: number): { words: Int32Array; index: number } | null {
    return this.host.channels.eventWord(emulator);
  }

  /**
   * Across threads, the vCPUs' side: the target's wake count (goes up at every wake of a blocked
   * vCPU), and a bounded wait for it to move; then `resume` says whether the vCPU runs.
   */
  vcpuWakes(target: number): number {
    return this.host.tables.target(target)?.wakes ?? 0;
  }

  waitVcpuWake(target: number, seen: number, timeoutMs: number): 'ok' | 'not-equal' | 'timed-out' {
    return this.host.tables.target(target)?.waitWake(seen, timeoutMs) ?? napFor(timeoutMs);
  }

  /** Listens to wake-ups of vCPUs blocked on an ioreq; the listener (or the scheduler) then calls `resume`. */
  onWake(listener: (target: number, vcpu: number) => void): () => void {
    this.host.wakeListeners.add(listener);
    return () => this.host.wakeListeners.delete(listener);
  }

  /** A guest access traps on `vcpu` of `target` (§5.4–§5.6). */
  access(target: number, vcpu: number, a: IoreqAccess): AccessResult {
    return vcpuAccess(this.host, target, vcpu, a);
  }

  /** Back from `ioreq_send` with a request out (§5.5): the vCPU waits for it, or (R2's bug) forgot it. */
  sendReturned(target: number, vcpu: number): 'waiting' | 'forgotten' | 'running' {
    return vcpuSendReturned(this.host, target, vcpu);
  }

  /** The blocked vCPU runs its completion (§5.4 wait_for_io, §5.5). */
  resume(target: number, vcpu: number): ResumeResult {
    return vcpuResume(this.host, target, vcpu);
  }

  /** A write sent buffered (§5.7): true when queued, false when the caller must use `access`. */
  sendBuffered(target: number, a: IoreqAccess): boolean {
    return sendBuffered(this.host, target, a);
  }

  /** INVALIDATE to every enabled server (§5.3, R4): servers that could not take it, or -1. */
  broadcastInvalidate(target: number, vcpu: number): number {
    return broadcastInvalidate(this.host, target, vcpu);
  }

  /** True while the vCPU is blocked in Xen on an ioreq. */
  vcpuBlocked(target: number, vcpu: number): boolean {
    return this.host.tables.target(target)?.io[vcpu]?.blocked ?? false;
  }

  /** The vCPU's latched `io.req.state` (NONE unless a request is in flight, or bug R1 left it READY). */
  vcpuIoState(target: number, vcpu: number): number {
    return this.host.tables.target(target)?.io[vcpu]?.state ?? 0;
  }

  /**
   * True when a vCPU of `target` waits on servers whose emulators are all gone or dying: R5 (Xen
   * ccb42e0ca6) — nothing will answer, and the vCPU stays blocked (holding its shutdown deferral)
   * until the target itself is destroyed. Today's Xen, not a bug.
   */
  waitsOnDeadEmulator(target: number): boolean {
    return this.waitsOnEmulators(target, (emulator) => !sameDomain(this.hv, emulator) || this.hv.life(emulator.domid) !== 'alive');
  }

  /**
   * True when a vCPU of `target` waits on servers whose emulators' domains are all paused (alive, not
   * running): they answer once they run. An emulator's domain may be reaped meanwhile by another
   * thread: gone counts as not paused (`waitsOnDeadEmulator` answers for it).
   */
  waitsOnPausedEmulator(target: number): boolean {
    return this.waitsOnEmulators(target, (emulator) => {
      try {
        return this.hv.life(emulator.domid) === 'alive' && (this.hv.domctl.getInfo(emulator.domid).flags & XEN_DOMINF_running) === 0;
      } catch {
        return false; // reaped between the two reads
      }
    });
  }

  /** True when a blocked vCPU of `target` waits on at least one server, and `all` holds for every such server's emulator. */
  private waitsOnEmulators(target: number, all: (emulator: DomainRef) => boolean): boolean {
    const t = this.host.tables.target(target);
    if (!t) return false;
    return t.io.some((io, v) => {
      if (!io.blocked) return false;
      const waited = t.servers.filter((s) => s?.vcpus[v]?.pending);
      return waited.length > 0 && waited.every((s) => all(s!.emulator));
    });
  }

  /** The target's servers, by id. */
  servers(target: number): IoreqServerView[] {
    const t = this.host.tables.target(target);
    return (t?.servers ?? []).flatMap((s) => (s ? [viewOf(s)] : []));
  }

  /**
   * The servers of `target` that still have vCPU `vcpu`'s request pending, each with the slot's
   * state now and the state Xen saw at its last look — what a vCPU's monitors read after every
   * access (`VcpuMonitors`), without `servers`' full views.
   */
  pendingOn(target: number, vcpu: number): PendingServer[] {
    const t = this.host.tables.target(target);
    let out: PendingServer[] | null = null;
    for (const s of t?.servers ?? []) {
      const sv = s?.vcpus[vcpu];
      if (!s || !sv?.pending) continue;
      (out ??= []).push({ id: s.id, emulator: s.emulator.domid, slotState: slotState(s.ioreqPage, vcpu), seen: sv.prevState });
    }
    return out ?? NONE_PENDING;
  }

  /** Emulators referenced by servers, zombies included (R5). */
  emulatorReferences(): EmulatorReference[] {
    return this.host.tables.emulatorRefs().map((r) => ({ domid: r.domid, servers: r.count, zombie: r.reaped }));
  }

  private withServer<T>(caller: number, target: number, id: number, op: (s: IoreqServer, t: IoreqTarget) => T | number): T | number {
    const t = dmOpTarget(this.host, caller, target);
    if (typeof t === 'number') return t;
    const s = ownedServer(this.host, t, caller, id);
    return typeof s === 'number' ? s : op(s, t);
  }

  /** Under the IOREQ lock: one step to every thread (`IoreqTables.locked`). */
  private locked<T>(op: () => T): T {
    return this.host.tables.locked(op);
  }

  private lifecycle(change: LifecycleChange): void {
    if (change.change === 'dying' || change.change === 'dead') this.locked(() => this.lifecycleNow(change));
  }

  private lifecycleNow(change: LifecycleChange): void {
    if (change.change === 'dying') destroyAllServers(this.host, change.domid); // §6.3 relinquish_resources
    if (change.change !== 'dead') return;
    this.host.tables.dropTarget(change.domid);
    this.host.tables.forgetDeviceModel(change.domid);
    this.host.channels.forgetDomain(change.domid);
    this.host.tables.reapEmulator(change.domid); // R5: the servers keep the emulator as a zombie
  }
}

/** A server with a vCPU's request pending (`Ioreq.pendingOn`). */
export interface PendingServer {
  id: number;
  /** The device model's domain. */
  emulator: number;
  /** The slot's state now. */
  slotState: number;
  /** The state Xen saw at its last look (`wait_for_io`'s previous state). */
  seen: number;
}

const NONE_PENDING: PendingServer[] = Object.freeze([]) as unknown as PendingServer[];

function viewOf(s: IoreqServer): IoreqServerView {
  return {
    id: s.id,
    emulator: s.emulator.domid,
    enabled: s.enabled,
    bufioreq: s.bufioreq,
    ranges: s.ranges.map((r) => r.list()),
    vcpus: s.vcpus.map((sv, v) => ({ port: sv.port, pending: sv.pending, slotState: slotState(s.ioreqPage, v), seen: sv.prevState })),
  };
}

/**
 * Adds Xen's IOREQ servers to a hypervisor (virtio-ioreq-lifecycle.md §5).
 *
 * @example
 * ```ts
 * const ioreq = createIoreq(hv, { arch: 'x86', bugs: { ioreqStateStuckAfterServerDestroy: true } });
 * ```
 */
export function createIoreq(hv: Hypervisor, options: IoreqOptions = {}): Ioreq {
  return new Ioreq(hv, options);
}

