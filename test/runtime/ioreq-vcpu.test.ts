import { describe, expect, it } from 'vitest';
import { IOREQ_READ, IOREQ_TYPE_COPY, IOREQ_WRITE, STATE_IOREQ_READY } from '../../src/ioreq/constants.js';
import { answerRequest, takeRequest } from '../../src/ioreq/emulator-slot.js';
import { setSlotState } from '../../src/ioreq/ioreq-page.js';
import { SHUTDOWN_COMPLETE, SHUTDOWN_crash, SHUTDOWN_suspend } from '../../src/domain/lifecycle.js';
import { IoreqVcpu } from '../../src/runtime/ioreq-vcpu.js';
import { bringUp, MMIO_BASE, TARGET, world, type Emulator, type World } from '../ioreq/harness.js';

// The runtime's vCPU over the IOREQ core (src/runtime/ioreq-vcpu.ts): a trapped access blocks it
// until Xen wakes it and its completion runs, each a scheduling point; work for a blocked vCPU waits.

const read4 = { type: IOREQ_TYPE_COPY, addr: MMIO_BASE, size: 4 as const, dir: IOREQ_READ };

function rig(options = {}) {
  const w: World = world(options);
  const emu: Emulator = bringUp(w);
  const points: Array<() => void> = [];
  const deferred: Array<() => void> = [];
  const violations: string[] = [];
  const cpu = new IoreqVcpu(w.ioreq, 'guest', () => TARGET, 0, {
    point: (_actor, _label, _delay, run) => points.push(run),
    defer: (work) => deferred.push(work),
    violate: (what) => violations.push(what),
  });
  w.ioreq.onWake((d, v) => d === TARGET && v === 0 && cpu.woken());
  const answer = (data?: bigint) => {
    answerRequest(emu.page, 0, data);
    w.ioreq.evtchnSend(emu.domid, emu.ports[0]);
  };
  const runPoints = () => {
    while (points.length > 0) points.shift()!();
  };
  return { w, emu, cpu, points, deferred, violations, answer, runPoints };
}

describe('IoreqVcpu', () => {
  it('an access blocks the vCPU; the emulator\'s answer wakes it as a scheduling point, whose completion hands the guest the data', () => {
    const { emu, cpu, points, answer, runPoints, violations } = rig();
    const got: bigint[] = [];
    cpu.run(() => cpu.access(read4, (data) => got.push(data)));
    expect(cpu.blocked).toBe(true);
    const later: string[] = [];
    cpu.run(() => later.push('ran')); // the vCPU executes nothing while it waits
    expect(later).toEqual([]);
    expect(takeRequest(emu.page, 0)).not.toBeNull();
    answer(0x74726976n);
    expect(points).toHaveLength(1); // the wake is a point; nothing ran yet
    expect(got).toEqual([]);
    runPoints();
    expect(got).toEqual([0x74726976n]);
    expect(later).toEqual(['ran']);
    expect(cpu.blocked).toBe(false);
    expect(violations).toEqual([]);
  });

  it('a paused guest runs its completion once unpaused (deferred), not before', () => {
    const { w, emu, cpu, deferred, answer, runPoints } = rig();
    const got: bigint[] = [];
    cpu.run(() => cpu.access(read4, (data) => got.push(data)));
    takeRequest(emu.page, 0);
    w.hv.domctl.pause(TARGET);
    answer(7n);
    runPoints();
    expect(got).toEqual([]);
    expect(deferred).toHaveLength(1);
    w.hv.domctl.unpause(TARGET);
    deferred.shift()!();
    expect(got).toEqual([7n]);
  });

  it('the server destroyed while it waits: the vCPU runs on with all-ones; with R1\'s switch vcpu-io-state reports the state left READY', () => {
    for (const bug of [false, true]) {
      const { w, emu, cpu, runPoints, violations } = rig({ bugs: { ioreqStateStuckAfterServerDestroy: bug } });
      const got: bigint[] = [];
      cpu.run(() => cpu.access(read4, (data) => got.push(data)));
      expect(w.ioreq.destroyServer(emu.domid, TARGET, emu.id)).toBe(0);
      runPoints();
      expect(got).toEqual([0xffffffffn]);
      expect(violations.length > 0).toBe(bug);
      if (bug) expect(violations[0]).toMatch(/^vcpu-io-state: vCPU 0 of guest \(domain 1\) runs again with io\.req\.state 1/);
    }
  });

  it('a slot moved backwards: Xen crashes the target; with R3\'s switch the vCPU keeps waiting and ioreq-state-forward reports it once', () => {
    for (const bug of [false, true]) {
      const { w, emu, cpu, runPoints, violations } = rig({ bugs: { ioreqStateUnchecked: bug } });
      cpu.run(() => cpu.access(read4, () => {}));
      takeRequest(emu.page, 0); // INPROCESS, and Xen looks
      w.ioreq.evtchnSend(emu.domid, emu.ports[0]);
      runPoints();
      setSlotState(emu.page, 0, STATE_IOREQ_READY); // backwards
      w.ioreq.evtchnSend(emu.domid, emu.ports[0]);
      runPoints();
      w.ioreq.evtchnSend(emu.domid, emu.ports[0]);
      runPoints();
      expect(w.hv.domctl.getInfo(TARGET).shutdownCode === SHUTDOWN_crash).toBe(!bug); // "Weird HVM ioreq state transition"
      expect(violations).toHaveLength(bug ? 1 : 0);
      expect(cpu.blocked).toBe(bug);
    }
  });

  it('R2: a checkpoint between the send and the vCPU\'s return from it — sent once today; with the switch the instruction runs again after resume and ioreq-once reports the second send', () => {
    for (const bug of [false, true]) {
      const { w, emu, cpu, points, deferred, violations, answer } = rig({ bugs: { ioreqResentAfterShutdown: bug } });
      const kick = { ...read4, dir: IOREQ_WRITE, data: 1n };
      const retired: bigint[] = [];
      const after: string[] = [];
      cpu.run(() => cpu.access(kick, (data) => retired.push(data)));
      expect(points).toHaveLength(1); // the return from ioreq_send: a step of its own
      expect(w.hv.shutdownDomain(TARGET, SHUTDOWN_suspend)).toBe(0); // the checkpoint begins in between
      takeRequest(emu.page, 0);
      answer(0n); // the device model answers before the vCPU is back: the wake waits for the return
      expect(points).toHaveLength(1);
      points.shift()!(); // back from the send
      cpu.run(() => after.push('next instruction'));
      points.shift()!(); // the completion
      expect(points).toHaveLength(0);
      expect(w.hv.domctl.getInfo(TARGET).shutdownState).toBe(SHUTDOWN_COMPLETE);
      expect(after).toEqual(bug ? [] : ['next instruction']); // the dropped request's instruction comes first
      expect(w.hv.domctl.resume(TARGET)).toBe(0);
      while (deferred.length > 0) deferred.shift()!();
      if (bug) {
        expect(takeRequest(emu.page, 0)).not.toBeNull(); // the same kick, again
        answer(0n);
        while (points.length > 0) points.shift()!();
        expect(after).toEqual(['next instruction']);
        expect(violations).toHaveLength(1);
        expect(violations[0]).toMatch(/^ioreq-once: the write of 4 bytes at 0x[0-9a-f]+ by vCPU 0 of guest \(domain 1\) went to its device model twice: .* \(R2, fixed by Xen b7e0d89788\)$/);
      } else expect(violations).toEqual([]);
      expect(retired).toHaveLength(1);
      expect(cpu.blocked).toBe(false);
    }
  });
});
