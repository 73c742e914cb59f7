import { MAX_NR_IOREQ_SERVERS, STATE_IOREQ_INPROCESS, STATE_IOREQ_NONE, STATE_IOREQ_READY, STATE_IORESP_READY } from './constants.js';
import { targetOf, type IoreqHost, type IoreqTarget } from './host.js';
import { readIoreq, setSlotState, slotState } from './ioreq-page.js';
import { allOnes, notRunning } from './send.js';
import type { IoreqServer } from './server.js';

/**
 * What the vCPU found when it woke (§5.4, §5.5):
 * - `done`: every server it waited on answered; `data` is a read's value (all-ones when the server
 *   went away, §5.9 SIM), absent when no completion data was needed;
 * - `blocked`: some server has not answered yet; the vCPU keeps waiting;
 * - `crashed`: the emulator moved the slot backwards or wrote an invalid state: the target crashed (XSA-262);
 * - `running`: the vCPU was not waiting;
 * - `not-running`: it waits, but cannot run now (paused, paused for shutdown, dying);
 * - `retry`: the request had been dropped after its send (R2's bug, `vcpuSendReturned`): the answer
 *   is discarded and the instruction runs again once the vCPU runs.
 *
 * @example
 * ```ts
 * const r = ioreq.resume(1, 0);
 * if (r.kind === 'done') registers[rd] = r.data;
 * ```
 */
export type ResumeResult =
  | { kind: 'done'; data?: bigint }
  | { kind: 'blocked' }
  | { kind: 'crashed'; state: number; previous: number }
  | { kind: 'running' }
  | { kind: 'not-running'; why: string }
  | { kind: 'retry' };

/**
 * The emulator's EVTCHNOP_send reached Xen's consumer: a vCPU waiting on it is woken — the target's
 * wake count goes up (a thread running its vCPUs waits on it, `Ioreq.waitVcpuWake`) and this
 * thread's listeners run.
 */
export function wakeVcpu(host: IoreqHost, t: IoreqTarget, vcpu: number): void {
  if (!t.io[vcpu]?.blocked) return;
  t.wake();
  for (const listener of host.wakeListeners) listener(t.domid, vcpu);
}

type Wait = { kind: 'answered'; data: bigint } | { kind: 'waiting' } | { kind: 'crash'; state: number; previous: number };

/**
 * `wait_for_io` as hardened by XSA-262 (92938e5d14, §5.4): the state is read once per check and must
 * only move forward. NONE while waiting (the emulator went away) finishes with all-ones; READY and
 * INPROCESS keep waiting; IORESP_READY hands over `data` and sets NONE; a backwards move or a value
 * above 3 crashes the target (unless bug `ioreqStateUnchecked`: the vCPU then waits forever).
 */
function waitForIo(host: IoreqHost, s: IoreqServer, vcpu: number): Wait {
  const sv = s.vcpus[vcpu];
  const state = slotState(s.ioreqPage, vcpu);
  if (state === STATE_IOREQ_NONE) {
    sv.pending = false;
    sv.prevState = STATE_IOREQ_NONE;
    return { kind: 'answered', data: ~0n };
  }
  const previous = sv.prevState;
  const invalid = state < previous || state > STATE_IORESP_READY;
  if (invalid) return host.bugs.ioreqStateUnchecked ? { kind: 'waiting' } : (sv.pending = false, { kind: 'crash', state, previous });
  sv.prevState = state;
  if (state === STATE_IOREQ_READY || state === STATE_IOREQ_INPROCESS) return { kind: 'waiting' };
  const data = readIoreq(s.ioreqPage, vcpu).data;
  setSlotState(s.ioreqPage, vcpu, STATE_IOREQ_NONE); // only Xen moves IORESP_READY → NONE
  sv.pending = false;
  sv.prevState = STATE_IOREQ_NONE;
  return { kind: 'answered', data };
}

/**
 * `vcpu_ioreq_handle_completion` (§5.5): the woken vCPU waits for **every** server with a request
 * pending for it (da20c93108; only the first with bug `broadcastWaitsForOneServer`), then takes the
 * data, ends its shutdown deferral and runs on. With no pending server left (it was destroyed) it
 * finishes without new data (f7039ee41b) — or, with bug `ioreqStateStuckAfterServerDestroy`, keeps
 * its latched state READY.
 */
export function vcpuResume(host: IoreqHost, target: number, vcpu: number): ResumeResult {
  const t = targetOf(host, target);
  if (t === null) return { kind: 'not-running', why: 'no such domain' };
  const io = t.io[vcpu];
  if (io === undefined) throw new RangeError(`domain ${target} has no vCPU ${vcpu}`);
  if (!io.blocked) return { kind: 'running' };
  const why = notRunning(host, target, vcpu, true);
  if (why !== null) return { kind: 'not-running', why };
  let data = allOnes(8); // §5.9 SIM: a read whose server went away gets all-ones
  let found = false;
  for (let id = MAX_NR_IOREQ_SERVERS - 1; id >= 0; id--) {
    const s = t.servers[id];
    if (!s?.vcpus[vcpu]?.pending) continue;
    const w = waitForIo(host, s, vcpu);
    if (w.kind === 'waiting') return { kind: 'blocked' };
    if (w.kind === 'crash') return crash(host, t, vcpu, w);
    data = w.data;
    found = true;
    if (host.bugs.broadcastWaitsForOneServer) break;
  }
  return finish(host, t, vcpu, data, found);
}

function crash(host: IoreqHost, t: IoreqTarget, vcpu: number, w: { state: number; previous: number }): ResumeResult {
  t.io[vcpu].blocked = false;
  t.io[vcpu].state = STATE_IOREQ_NONE;
  host.hv.crashDomain(t.domid); // "Weird HVM ioreq state transition"
  // wait_for_io bailed with the server no longer pending, so the vCPU's next hvm_do_resume finds
  // nothing to wait for and ends its shutdown deferral: done here, since the vCPU runs nothing more.
  // It matters when a shutdown was already in progress — domain_shutdown keeps the first reason and
  // returns, so the crash cancels no deferral then (SIM CHOICE, docs/ioreq.md)
  host.hv.domctl.endShutdownDeferral(t.domid, vcpu);
  return { kind: 'crashed', state: w.state, previous: w.previous };
}

function finish(host: IoreqHost, t: IoreqTarget, vcpu: number, data: bigint, found: boolean): ResumeResult {
  const io = t.io[vcpu];
  io.blocked = false;
  const stuck = !found && host.bugs.ioreqStateStuckAfterServerDestroy;
  io.state = stuck ? STATE_IOREQ_READY : STATE_IOREQ_NONE; // the completion handler consumed IORESP_READY
  host.hv.domctl.endShutdownDeferral(t.domid, vcpu);
  if (io.reexecute) {
    io.reexecute = false;
    return { kind: 'retry' };
  }
  if (!io.needsCompletion) return { kind: 'done' };
  return { kind: 'done', data: BigInt.asUintN(8 * io.size, data) };
}
