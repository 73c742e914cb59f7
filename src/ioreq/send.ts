import {
  HVM_IOREQSRV_BUFIOREQ_ATOMIC,
  IOREQ_READ,
  IOREQ_TYPE_INVALIDATE,
  IOREQ_TYPE_PIO,
  IOREQ_WRITE,
  STATE_IOREQ_NONE,
  STATE_IOREQ_READY,
} from './constants.js';
import { bufferable, bufferedSend } from './buffered-page.js';
import { targetOf, type IoreqHost, type IoreqTarget } from './host.js';
import { readIoreq, slotState, writeIoreq } from './ioreq-page.js';
import { selectServer } from './select-server.js';
import { SHUTDOWN_NONE } from '../domain/lifecycle.js';
import type { IoreqServer } from './server.js';

/**
 * One guest access that traps to Xen (virtio-ioreq-lifecycle.md §5.3): its type (IOREQ_TYPE_PIO,
 * COPY for MMIO, PCI_CONFIG), address, bytes per access, direction and, for a write, the value.
 *
 * @example
 * ```ts
 * const read: IoreqAccess = { type: IOREQ_TYPE_COPY, addr: 0x2000000, size: 4, dir: IOREQ_READ };
 * ```
 */
export interface IoreqAccess {
  type: number;
  addr: number;
  size: 1 | 2 | 4 | 8;
  dir: number;
  /** The value written (ignored for a read). */
  data?: bigint;
  /** Repetitions (rep prefix); default 1. */
  count?: number;
  /** Direction flag of a rep access (always false on Arm). */
  df?: boolean;
  /** `data` is a guest address of the data (rep string I/O). */
  dataIsPtr?: boolean;
}

/**
 * What became of an access when the vCPU trapped (§5.4–§5.6):
 * - `blocked`: sent to `server`; the vCPU waits in Xen until the emulator answers;
 * - `retired`: sent, no completion data needed (a port write): the instruction retired, but the vCPU
 *   still waits for the slot before it runs again (§5.4, case 33);
 * - `ignored`: x86 with no server, or a server whose slot was in a bad state: a read gets all-ones;
 * - `abort`: the same on Arm: the guest takes a data abort;
 * - `retry`: the domain is shutting down; nothing was sent and the instruction re-runs after resume (§5.5);
 * - `unhandleable`: historical bug R1 (the vCPU's latched state stuck at READY);
 * - `not-running`: the vCPU cannot execute (paused, paused for shutdown, dying).
 *
 * @example
 * ```ts
 * const r = ioreq.access(1, 0, read);
 * if (r.kind === 'blocked') { … wait for onWake, then ioreq.resume(1, 0) … }
 * ```
 */
export type AccessResult =
  | { kind: 'blocked'; server: number }
  | { kind: 'retired'; server: number }
  | { kind: 'ignored'; data: bigint; reason: 'no-server' | 'bad-state' }
  | { kind: 'abort'; reason: 'no-server' | 'bad-state' }
  | { kind: 'retry' }
  | { kind: 'unhandleable' }
  | { kind: 'not-running'; why: string };

/** All-ones of `size` bytes: what an ignored read returns (emulate.c null handler, §5.6). */
export const allOnes = (size: number): bigint => (1n << BigInt(8 * size)) - 1n;

/**
 * Why the vCPU cannot execute now, or null when it can. A vCPU paused for shutdown counts only with
 * `forShutdown`: one that trapped into Xen before the shutdown paused it still reaches the send,
 * where the refused deferral answers RETRY (§5.5) — the window of case 35.
 */
export function notRunning(host: IoreqHost, target: number, vcpu: number, forShutdown = false): string | null {
  if (host.hv.life(target) !== 'alive') return 'the domain is dying';
  if (host.hv.domctl.getInfo(target).pauseCount > 0) return 'the domain is paused';
  if (forShutdown && host.hv.domctl.getVcpuInfo(target, vcpu).pausedForShutdown) return 'the vCPU is paused for shutdown';
  return null;
}

/** The vCPU traps on `a`: selection (§5.6), shutdown deferral (§5.5), then `ioreq_send` (§5.4). */
export function vcpuAccess(host: IoreqHost, target: number, vcpu: number, a: IoreqAccess): AccessResult {
  const t = targetOf(host, target);
  if (t === null) {
    // every IOREQ target record is taken (SIM CHOICE, docs/ioreq.md): this domain has no server
    return host.hv.domain(target) && notRunning(host, target, vcpu) === null ? unhandled(host, a, 'no-server') : { kind: 'not-running', why: 'no such domain' };
  }
  const io = t.io[vcpu];
  if (io === undefined) throw new RangeError(`domain ${target} has no vCPU ${vcpu}`);
  if (io.blocked) throw new Error(`vCPU ${vcpu} of domain ${target} is blocked on an ioreq and executes nothing`);
  const why = notRunning(host, target, vcpu);
  if (why !== null) return { kind: 'not-running', why };
  if (io.state !== STATE_IOREQ_NONE) return { kind: 'unhandleable' }; // only with bug R1 (f7039ee41b)
  const s = selectServer(t.servers, { type: a.type, addr: a.addr, size: a.size, count: a.count ?? 1, df: a.df ?? false });
  if (s === null) return unhandled(host, a, 'no-server');
  if (!host.hv.domctl.startShutdownDeferral(target, vcpu)) {
    io.suspended = true; // §5.5, b7e0d89788: RETRY before the send, never after it
    return { kind: 'retry' };
  }
  io.suspended = false;
  if (!sendSync(host, t, s, vcpu, a)) {
    host.hv.domctl.endShutdownDeferral(target, vcpu); // SIM CHOICE: the refused send holds no deferral
    return unhandled(host, a, 'bad-state');
  }
  return io.needsCompletion ? { kind: 'blocked', server: s.id } : { kind: 'retired', server: s.id };
}

/**
 * What the arch code does with a sent request once `ioreq_send` has returned (§5.5; Arm
 * `try_fwd_ioserv`, x86 `hvmemul_do_io`): `ioreq_send` answers RETRY for a request it sent (the vCPU
 * is to wait) as for one the shutdown deferral refused. Today's Xen tells them apart by `suspended`,
 * set only on the refusal (b7e0d89788), so a sent request stays latched and the vCPU waits for it:
 * `waiting`. Before the fix the test was "is the domain shutting down": a shutdown begun between the
 * send and this check dropped the latched request (`forgotten`, switch `ioreqResentAfterShutdown`,
 * R2) — the emulator still has it, the vCPU waits for that answer in the completion path, discards
 * it, and runs the instruction again after resume. `running` when the vCPU has no request out.
 *
 * @example
 * ```ts
 * if (ioreq.access(1, 0, write).kind === 'blocked') ioreq.sendReturned(1, 0); // 'waiting'
 * ```
 */
export function vcpuSendReturned(host: IoreqHost, target: number, vcpu: number): 'waiting' | 'forgotten' | 'running' {
  const t = targetOf(host, target);
  const io = t?.io[vcpu];
  if (!io?.blocked || io.state !== STATE_IOREQ_READY) return 'running';
  const drop = host.bugs.ioreqResentAfterShutdown ? host.hv.domctl.getInfo(target).shutdownState !== SHUTDOWN_NONE : io.suspended;
  if (!drop) return 'waiting';
  io.state = STATE_IOREQ_NONE; // vio->req.state = STATE_IOREQ_NONE: the request is forgotten
  io.needsCompletion = false; // ioreq_needs_completion() of a NONE request
  io.reexecute = true; // IO_RETRY: the PC is not advanced
  return 'forgotten';
}

function unhandled(host: IoreqHost, a: IoreqAccess, reason: 'no-server' | 'bad-state'): AccessResult {
  if (host.arch === 'arm') return { kind: 'abort', reason }; // §5.6 try_fwd_ioserv → data abort
  return { kind: 'ignored', data: a.dir === IOREQ_READ ? allOnes(a.size) : 0n, reason };
}

/** `ioreq_needs_completion` (§5.4) for a request just latched READY. */
export const needsCompletion = (a: IoreqAccess): boolean => !(a.dataIsPtr ?? false) && !(a.type === IOREQ_TYPE_PIO && a.dir === IOREQ_WRITE);

/**
 * `ioreq_send` (§5.4): the slot must be NONE and carry this vCPU's port ("device model set bad IO
 * state/event channel" otherwise: false). Copies the request in, READY last, latches it in the vCPU,
 * marks the server pending and notifies the emulator.
 */
export function sendSync(host: IoreqHost, t: IoreqTarget, s: IoreqServer, vcpu: number, a: IoreqAccess): boolean {
  const sv = s.vcpus[vcpu];
  if (slotState(s.ioreqPage, vcpu) !== STATE_IOREQ_NONE || readIoreq(s.ioreqPage, vcpu).vpEport !== sv.port) return false;
  const data = a.dir === IOREQ_WRITE ? BigInt.asUintN(8 * a.size, a.data ?? 0n) : 0n;
  writeIoreq(s.ioreqPage, vcpu, {
    addr: BigInt(a.addr),
    data,
    count: a.count ?? 1,
    size: a.size,
    vpEport: sv.port,
    state: STATE_IOREQ_READY,
    dataIsPtr: a.dataIsPtr ?? false,
    dir: a.dir,
    df: host.arch === 'arm' ? false : (a.df ?? false),
    type: a.type,
  });
  const io = t.io[vcpu];
  io.state = STATE_IOREQ_READY;
  io.dir = a.dir;
  io.size = a.size;
  io.needsCompletion = needsCompletion(a);
  io.data = 0n;
  io.reexecute = false;
  io.blocked = true;
  sv.pending = true;
  sv.prevState = STATE_IOREQ_NONE;
  host.channels.notifyRemote(t.domid, sv.port);
  return true;
}

/**
 * `ioreq_send_buffered` (§5.7, x86): true when the write went on the buffered page of the server that
 * covers it; false (the caller falls back to the synchronous path) with no buffered page, an
 * address over 20 bits, a data pointer, count ≠ 1, or a full queue. No vCPU blocks.
 */
export function sendBuffered(host: IoreqHost, target: number, a: IoreqAccess): boolean {
  const t = targetOf(host, target);
  if (t === null || a.dir !== IOREQ_WRITE) return false;
  const s = selectServer(t.servers, { type: a.type, addr: a.addr, size: a.size, count: a.count ?? 1, df: a.df ?? false });
  if (s === null || s.bufPage === null) return false;
  if (!bufferable(a.addr, a.count ?? 1, a.dataIsPtr ?? false, a.size)) return false;
  const sent = bufferedSend(s.bufPage, { type: a.type, dir: a.dir, size: a.size, addr: a.addr, data: a.data ?? 0n }, s.bufioreq === HVM_IOREQSRV_BUFIOREQ_ATOMIC);
  if (sent) host.channels.notifyRemote(target, s.bufPort);
  return sent;
}

/**
 * `ioreq_broadcast` of an INVALIDATE (mapcache flush, §5.3) from `vcpu`: sent to every enabled
 * server; the number of servers that could not take it. The vCPU then waits for every server it
 * reached (da20c93108). Returns -1 when the vCPU cannot run or shutdown refused the deferral.
 */
export function broadcastInvalidate(host: IoreqHost, target: number, vcpu: number): number {
  const t = targetOf(host, target);
  if (t === null || notRunning(host, target, vcpu) !== null || t.io[vcpu].blocked) return -1;
  if (!host.hv.domctl.startShutdownDeferral(target, vcpu)) return -1;
  let failed = 0;
  let sent = 0;
  for (const s of t.servers) {
    if (!s?.enabled) continue;
    if (sendSync(host, t, s, vcpu, { type: IOREQ_TYPE_INVALIDATE, addr: 0, size: 1, dir: IOREQ_WRITE, data: 0n })) sent++;
    else failed++; // a44734df6c: only a server that could have handled it counts
  }
  if (sent === 0) host.hv.domctl.endShutdownDeferral(target, vcpu);
  return failed;
}
