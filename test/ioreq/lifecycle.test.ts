import { describe, expect, it } from 'vitest';
import { IOREQ_READ, IOREQ_TYPE_COPY, IOREQ_WRITE, STATE_IOREQ_NONE, STATE_IOREQ_READY } from '../../src/ioreq/constants.js';
import { answerRequest, takeRequest } from '../../src/ioreq/emulator-slot.js';
import { slotState } from '../../src/ioreq/ioreq-page.js';
import { SHUTDOWN_COMPLETE, SHUTDOWN_IN_PROGRESS, SHUTDOWN_crash, SHUTDOWN_poweroff, SHUTDOWN_suspend } from '../../src/domain/lifecycle.js';
import { VIRQ_DOM_EXC } from '../../src/xen/virq.js';
import { bringUp, DOM0, DRIVER, MMIO_BASE, TARGET, world, type Emulator, type World } from './harness.js';

const read4 = { type: IOREQ_TYPE_COPY, addr: MMIO_BASE, size: 4, dir: IOREQ_READ } as const;

function complete(w: World, emu: Emulator, vcpu: number, data?: bigint): void {
  expect(takeRequest(emu.page, vcpu)).not.toBeNull();
  answerRequest(emu.page, vcpu, data);
  expect(w.ioreq.evtchnSend(emu.domid, emu.ports[vcpu])).toBe(0);
}

describe('IOREQ and the domain lifecycle (virtio-ioreq-lifecycle.md §5.5, §5.9, §6.3)', () => {
  it('case 34: poweroff while a vCPU waits on an ioreq stays IN_PROGRESS until the emulator answers, then COMPLETE + VIRQ_DOM_EXC', () => {
    const w = world();
    const emu = bringUp(w);
    w.hv.bindVirq(DOM0, VIRQ_DOM_EXC, 0);
    expect(w.ioreq.access(TARGET, 0, read4).kind).toBe('blocked');
    expect(w.hv.shutdownDomain(TARGET, SHUTDOWN_poweroff)).toBe(0);
    expect(w.hv.domctl.getInfo(TARGET).shutdownState).toBe(SHUTDOWN_IN_PROGRESS);
    expect(w.hv.virqPending(DOM0, VIRQ_DOM_EXC)).toBe(false);
    complete(w, emu, 0, 1n);
    expect(w.ioreq.resume(TARGET, 0)).toEqual({ kind: 'done', data: 1n });
    expect(w.hv.domctl.getInfo(TARGET).shutdownState).toBe(SHUTDOWN_COMPLETE);
    expect(w.hv.virqPending(DOM0, VIRQ_DOM_EXC)).toBe(true);
  });

  it('case 34 with crash: the shutdown completes at once; the waiting vCPU never runs its completion', () => {
    const w = world();
    bringUp(w);
    w.ioreq.access(TARGET, 0, read4);
    w.hv.crashDomain(TARGET);
    expect(w.hv.domctl.getInfo(TARGET)).toMatchObject({ shutdownState: SHUTDOWN_COMPLETE, shutdownCode: SHUTDOWN_crash });
    expect(w.ioreq.resume(TARGET, 0)).toEqual({ kind: 'not-running', why: 'the vCPU is paused for shutdown' });
  });

  it('case 35: suspend/resume right after the trap but before the send: nothing is sent (RETRY); after resume it is sent exactly once', () => {
    const w = world();
    const emu = bringUp(w);
    expect(w.hv.shutdownDomain(TARGET, SHUTDOWN_suspend)).toBe(0);
    // vCPU 0 had trapped into Xen before the shutdown paused it: it reaches the send and asks for a deferral
    expect(w.ioreq.access(TARGET, 0, { ...read4, dir: IOREQ_WRITE, data: 1n })).toEqual({ kind: 'retry' });
    expect(emu.heard).toEqual([]);
    expect(w.hv.domctl.getInfo(TARGET).shutdownState).toBe(SHUTDOWN_COMPLETE); // the refused deferral paused vCPU 0
    expect(w.hv.domctl.resume(TARGET)).toBe(0);
    expect(w.ioreq.access(TARGET, 0, { ...read4, dir: IOREQ_WRITE, data: 1n }).kind).toBe('blocked'); // the instruction re-runs
    complete(w, emu, 0);
    expect(w.ioreq.resume(TARGET, 0).kind).toBe('done');
    expect(emu.heard).toEqual([emu.ports[0]]); // one send in all
  });

  it('case 35 after the send (R2): a suspend between ioreq_send and the check of its answer — the vCPU waits and takes the answer; sent once', () => {
    const w = world();
    const emu = bringUp(w);
    const kick = { ...read4, dir: IOREQ_WRITE, data: 1n };
    expect(w.ioreq.access(TARGET, 0, kick).kind).toBe('blocked'); // sent: the emulator has it
    expect(w.hv.shutdownDomain(TARGET, SHUTDOWN_suspend)).toBe(0); // another CPU begins the checkpoint
    expect(w.ioreq.sendReturned(TARGET, 0)).toBe('waiting'); // `suspended` is false: the request stays latched
    expect(w.hv.domctl.getInfo(TARGET).shutdownState).toBe(SHUTDOWN_IN_PROGRESS); // the vCPU defers it
    complete(w, emu, 0);
    expect(w.ioreq.resume(TARGET, 0).kind).toBe('done');
    expect(w.hv.domctl.getInfo(TARGET).shutdownState).toBe(SHUTDOWN_COMPLETE);
    expect(w.hv.domctl.resume(TARGET)).toBe(0);
    expect(emu.heard).toEqual([emu.ports[0]]); // the guest goes on past the instruction: one send in all
    expect(w.ioreq.sendReturned(TARGET, 0)).toBe('running'); // nothing out any more
  });

  it('R2 switch (before b7e0d89788): the same suspend makes the vCPU drop the sent request; the answer is discarded and the instruction re-sent after resume', () => {
    const w = world({ bugs: { ioreqResentAfterShutdown: true } });
    const emu = bringUp(w);
    const kick = { ...read4, dir: IOREQ_WRITE, data: 1n };
    expect(w.ioreq.access(TARGET, 0, kick).kind).toBe('blocked');
    expect(w.ioreq.sendReturned(TARGET, 0)).toBe('waiting'); // not shutting down: no difference
    complete(w, emu, 0);
    expect(w.ioreq.resume(TARGET, 0).kind).toBe('done');
    expect(w.ioreq.access(TARGET, 0, kick).kind).toBe('blocked');
    expect(w.hv.shutdownDomain(TARGET, SHUTDOWN_suspend)).toBe(0);
    expect(w.ioreq.sendReturned(TARGET, 0)).toBe('forgotten'); // is_shutting_down: req.state = NONE
    expect(w.ioreq.vcpuIoState(TARGET, 0)).toBe(STATE_IOREQ_NONE);
    expect(w.ioreq.vcpuBlocked(TARGET, 0)).toBe(true); // the server still has it pending: the vCPU waits for it
    complete(w, emu, 0, 9n);
    expect(w.ioreq.resume(TARGET, 0)).toEqual({ kind: 'retry' }); // the answer goes nowhere; the PC was not advanced
    expect(w.hv.domctl.getInfo(TARGET).shutdownState).toBe(SHUTDOWN_COMPLETE);
    expect(w.hv.domctl.resume(TARGET)).toBe(0);
    expect(w.ioreq.access(TARGET, 0, kick).kind).toBe('blocked'); // the instruction runs again
    expect(emu.heard).toEqual([emu.ports[0], emu.ports[0], emu.ports[0]]); // the kick went out twice
  });

  it('case 36: the target destroyed with enabled servers and a pending I/O: every server freed, the reference dropped, no event after', () => {
    const w = world();
    const a = bringUp(w);
    w.ioreq.setDeviceModel(TARGET, DRIVER);
    const c = bringUp(w, { domid: DRIVER, first: MMIO_BASE + 0x1000, last: MMIO_BASE + 0x1fff });
    expect(w.ioreq.access(TARGET, 0, read4).kind).toBe('blocked');
    expect(w.ioreq.emulatorReferences().map((r) => r.domid).sort()).toEqual([DOM0, DRIVER]);
    w.hv.killDomain(TARGET);
    expect(w.ioreq.servers(TARGET)).toEqual([]);
    expect(w.ioreq.emulatorReferences()).toEqual([]);
    answerRequest(a.page, 0, 5n);
    expect(w.ioreq.evtchnSend(DOM0, a.ports[0])).not.toBe(0); // the port is gone
    w.hv.reapDomain(TARGET);
    expect([a.heard.length, c.heard.length]).toEqual([1, 0]); // only the send before the kill
  });

  it('case 37 (R5): the emulator dies without destroying its server: target vCPUs touching its ranges block; destroying the target frees both', () => {
    const w = world();
    w.ioreq.setDeviceModel(TARGET, DRIVER);
    const emu = bringUp(w, { domid: DRIVER });
    w.hv.destroyDomain(DRIVER);
    expect(w.ioreq.emulatorReferences()).toEqual([{ domid: DRIVER, servers: 1, zombie: true }]);
    expect(w.ioreq.access(TARGET, 0, read4).kind).toBe('blocked');
    expect(emu.heard).toEqual([]); // nobody hears
    expect(w.ioreq.resume(TARGET, 0)).toEqual({ kind: 'blocked' });
    expect(w.ioreq.access(TARGET, 1, read4).kind).toBe('blocked'); // every vCPU that touches it
    w.hv.destroyDomain(TARGET);
    expect(w.ioreq.emulatorReferences()).toEqual([]);
  });

  it('§5.9 destroy while a vCPU waits (f7039ee41b): the vCPU is woken, finishes with all-ones and NONE, and later I/O works', () => {
    const w = world();
    const emu = bringUp(w);
    const woken: number[] = [];
    w.ioreq.onWake((_, v) => woken.push(v));
    w.ioreq.access(TARGET, 0, read4);
    expect(w.ioreq.destroyServer(DOM0, TARGET, emu.id)).toBe(0);
    expect(woken).toEqual([0]);
    expect(w.ioreq.resume(TARGET, 0)).toEqual({ kind: 'done', data: 0xffffffffn });
    expect(w.ioreq.vcpuIoState(TARGET, 0)).toBe(STATE_IOREQ_NONE);
    expect(w.hv.domctl.getVcpuInfo(TARGET, 0).deferShutdown).toBe(false);
    expect(w.ioreq.access(TARGET, 0, read4).kind).toBe('ignored'); // no server now: x86 ignores it
    const again = bringUp(w);
    expect(w.ioreq.access(TARGET, 0, read4)).toEqual({ kind: 'blocked', server: again.id });
  });

  it('R1 switch (before f7039ee41b): after the destroy the latched state stays READY and every later emulation is UNHANDLEABLE', () => {
    const w = world({ bugs: { ioreqStateStuckAfterServerDestroy: true } });
    const emu = bringUp(w);
    w.ioreq.access(TARGET, 0, read4);
    w.ioreq.destroyServer(DOM0, TARGET, emu.id);
    expect(w.ioreq.resume(TARGET, 0).kind).toBe('done');
    expect(w.ioreq.vcpuIoState(TARGET, 0)).toBe(STATE_IOREQ_READY);
    bringUp(w);
    for (let i = 0; i < 3; i++) expect(w.ioreq.access(TARGET, 0, read4)).toEqual({ kind: 'unhandleable' });
    expect(w.ioreq.access(TARGET, 1, read4).kind).toBe('blocked'); // only the vCPU that waited is stuck
  });

  it('R4 (da20c93108): a broadcast INVALIDATE waits for every server; with the switch the vCPU runs on after the first', () => {
    for (const bug of [false, true]) {
      const w = world({ bugs: { broadcastWaitsForOneServer: bug } });
      const low = bringUp(w);
      const high = bringUp(w, { first: MMIO_BASE + 0x1000, last: MMIO_BASE + 0x1fff });
      expect(w.ioreq.broadcastInvalidate(TARGET, 0)).toBe(0);
      complete(w, high, 0);
      const r = w.ioreq.resume(TARGET, 0);
      if (!bug) {
        expect(r).toEqual({ kind: 'blocked' }); // the lower server has not answered
        complete(w, low, 0);
        expect(w.ioreq.resume(TARGET, 0).kind).toBe('done');
        expect(w.ioreq.access(TARGET, 0, read4).kind).toBe('blocked');
      } else {
        expect(r.kind).toBe('done');
        expect(slotState(low.page, 0)).toBe(STATE_IOREQ_READY); // still outstanding
        expect(w.ioreq.access(TARGET, 0, read4)).toEqual({ kind: 'ignored', data: 0xffffffffn, reason: 'bad-state' });
      }
    }
  });

  it('a vCPU of a paused domain executes nothing: the access is refused as not running', () => {
    const w = world();
    bringUp(w);
    w.hv.domctl.pause(TARGET);
    expect(w.ioreq.access(TARGET, 0, read4)).toEqual({ kind: 'not-running', why: 'the domain is paused' });
  });
});
