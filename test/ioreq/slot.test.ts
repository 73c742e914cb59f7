import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  IOREQ_READ,
  IOREQ_TYPE_COPY,
  IOREQ_TYPE_PIO,
  IOREQ_WRITE,
  STATE_IOREQ_INPROCESS,
  STATE_IOREQ_NONE,
  STATE_IOREQ_READY,
  STATE_IORESP_READY,
  XEN_DMOP_IO_RANGE_PORT,
} from '../../src/ioreq/constants.js';
import { answerRequest, takeRequest } from '../../src/ioreq/emulator-slot.js';
import { IOREQ_T, readIoreq, setSlotData, setSlotState, slotState, writeIoreq } from '../../src/ioreq/ioreq-page.js';
import { GuestMemory } from '../../src/memory/guest-memory.js';
import { SHUTDOWN_crash, SHUTDOWN_poweroff, XEN_DOMINF_shutdown } from '../../src/domain/lifecycle.js';
import { bringUp, DOM0, MMIO_BASE, TARGET, world } from './harness.js';

const read4 = { type: IOREQ_TYPE_COPY, addr: MMIO_BASE, size: 4, dir: IOREQ_READ } as const;

describe('ioreq_t and the synchronous slot (virtio-ioreq-lifecycle.md §5.3–§5.4)', () => {
  it('§5.3 ioreq_t is 32 bytes at vcpu × 32, fields at Xen\'s offsets, bit-fields packed in byte 30', () => {
    const page = new GuestMemory(4096);
    writeIoreq(page, 1, { addr: 0x1122334455667788n, data: 0x99aabbccddeeff00n, count: 3, size: 4, vpEport: 9, state: 1, dataIsPtr: true, dir: 1, df: true, type: 8 });
    const raw = page.read(32, 32);
    const v = new DataView(raw.buffer);
    expect(IOREQ_T.size_bytes).toBe(32);
    expect(v.getBigUint64(0, true)).toBe(0x1122334455667788n);
    expect(v.getBigUint64(8, true)).toBe(0x99aabbccddeeff00n);
    expect([v.getUint32(16, true), v.getUint32(20, true), v.getUint32(24, true), v.getUint16(28, true)]).toEqual([3, 4, 9, 0]);
    expect(raw[30]).toBe(0b0111_0001); // state 1 | data_is_ptr 1<<4 | dir 1<<5 | df 1<<6
    expect(raw[31]).toBe(8);
    expect(page.read(0, 32).every((b) => b === 0)).toBe(true); // vCPU 0's slot untouched
    expect(readIoreq(page, 1)).toMatchObject({ state: 1, dataIsPtr: true, dir: 1, df: true, type: 8, count: 3 });
  });

  it('case 31: a synchronous MMIO read: READY + notify, the vCPU blocked until IORESP_READY + notify, then the data and NONE', () => {
    const w = world();
    const emu = bringUp(w);
    const woken: number[] = [];
    w.ioreq.onWake((_, vcpu) => woken.push(vcpu));
    expect(w.ioreq.access(TARGET, 0, read4)).toEqual({ kind: 'blocked', server: emu.id });
    expect(slotState(emu.page, 0)).toBe(STATE_IOREQ_READY);
    expect(emu.heard).toEqual([emu.ports[0]]); // Xen notified after READY
    expect(w.ioreq.vcpuBlocked(TARGET, 0)).toBe(true);
    expect(w.ioreq.resume(TARGET, 0)).toEqual({ kind: 'blocked' }); // a spurious wake: still waiting
    expect(() => w.ioreq.access(TARGET, 0, read4)).toThrow(/blocked on an ioreq/);
    const req = takeRequest(emu.page, 0)!;
    expect(req).toMatchObject({ addr: BigInt(MMIO_BASE), size: 4, dir: IOREQ_READ, type: IOREQ_TYPE_COPY, count: 1 });
    expect(w.ioreq.resume(TARGET, 0)).toEqual({ kind: 'blocked' }); // INPROCESS: still waiting
    answerRequest(emu.page, 0, 0x74726976n);
    expect(woken).toEqual([]);
    expect(w.ioreq.evtchnSend(DOM0, emu.ports[0])).toBe(0);
    expect(woken).toEqual([0]);
    expect(w.ioreq.resume(TARGET, 0)).toEqual({ kind: 'done', data: 0x74726976n });
    expect(slotState(emu.page, 0)).toBe(STATE_IOREQ_NONE);
    expect(w.ioreq.vcpuBlocked(TARGET, 0)).toBe(false);
    expect(w.hv.domctl.getVcpuInfo(TARGET, 0).deferShutdown).toBe(false);
  });

  it('§5.4: READY → IORESP_READY without INPROCESS is tolerated (the privcmd ioeventfd path)', () => {
    const w = world();
    const emu = bringUp(w);
    w.ioreq.access(TARGET, 1, { type: IOREQ_TYPE_COPY, addr: MMIO_BASE + 0x50, size: 4, dir: IOREQ_WRITE, data: 0n });
    answerRequest(emu.page, 1);
    w.ioreq.evtchnSend(DOM0, emu.ports[1]);
    expect(w.ioreq.resume(TARGET, 1)).toEqual({ kind: 'done', data: 0n });
  });

  it('case 32: the emulator writes state 7 → the target crashes; a backwards move (INPROCESS → READY) too', () => {
    const w = world();
    const emu = bringUp(w);
    w.ioreq.access(TARGET, 0, read4);
    setSlotState(emu.page, 0, 7);
    w.ioreq.evtchnSend(DOM0, emu.ports[0]);
    expect(w.ioreq.resume(TARGET, 0)).toEqual({ kind: 'crashed', state: 7, previous: STATE_IOREQ_NONE }); // Xen had seen nothing yet
    expect(w.hv.domctl.getInfo(TARGET).shutdownCode).toBe(SHUTDOWN_crash);

    const w2 = world();
    const emu2 = bringUp(w2);
    w2.ioreq.access(TARGET, 0, read4);
    takeRequest(emu2.page, 0);
    expect(w2.ioreq.resume(TARGET, 0)).toEqual({ kind: 'blocked' }); // Xen saw INPROCESS
    setSlotState(emu2.page, 0, STATE_IOREQ_READY);
    expect(w2.ioreq.resume(TARGET, 0)).toMatchObject({ kind: 'crashed', state: STATE_IOREQ_READY, previous: STATE_IOREQ_INPROCESS });
    expect(w2.hv.domctl.getInfo(TARGET).shutdownCode).toBe(SHUTDOWN_crash);
  });

  it('R3 switch (before XSA-262, 92938e5d14): state 7 is not caught; the vCPU waits forever and the target lives', () => {
    const w = world({ bugs: { ioreqStateUnchecked: true } });
    const emu = bringUp(w);
    w.ioreq.access(TARGET, 0, read4);
    setSlotState(emu.page, 0, 7);
    w.ioreq.evtchnSend(DOM0, emu.ports[0]);
    for (let i = 0; i < 3; i++) expect(w.ioreq.resume(TARGET, 0)).toEqual({ kind: 'blocked' });
    expect(w.hv.domctl.getInfo(TARGET).shutdownCode).toBe(-1);
  });

  it('case 33: a port write retires at once (no completion data) while the slot still cycles READY → … → NONE', () => {
    const w = world();
    const emu = bringUp(w, { enable: false });
    expect(w.ioreq.mapIoRange(DOM0, TARGET, emu.id, XEN_DMOP_IO_RANGE_PORT, 0x3f8, 0x3ff)).toBe(0);
    w.ioreq.setServerState(DOM0, TARGET, emu.id, true);
    expect(w.ioreq.access(TARGET, 0, { type: IOREQ_TYPE_PIO, addr: 0x3f8, size: 1, dir: IOREQ_WRITE, data: 0x41n })).toEqual({ kind: 'retired', server: emu.id });
    expect(slotState(emu.page, 0)).toBe(STATE_IOREQ_READY);
    const req = takeRequest(emu.page, 0)!;
    expect([req.type, req.data, req.dir]).toEqual([IOREQ_TYPE_PIO, 0x41n, IOREQ_WRITE]);
    answerRequest(emu.page, 0);
    w.ioreq.evtchnSend(DOM0, emu.ports[0]);
    expect(w.ioreq.resume(TARGET, 0)).toEqual({ kind: 'done' }); // no data handed to the vCPU
    expect(slotState(emu.page, 0)).toBe(STATE_IOREQ_NONE);
    // a port read still needs its data
    expect(w.ioreq.access(TARGET, 0, { type: IOREQ_TYPE_PIO, addr: 0x3f8, size: 1, dir: IOREQ_READ }).kind).toBe('blocked');
  });

  it('§5.9: a stale double completion (IORESP_READY while Xen\'s copy is NONE) makes the next send "bad IO state": ignored', () => {
    const w = world();
    const emu = bringUp(w);
    setSlotState(emu.page, 0, STATE_IORESP_READY);
    expect(w.ioreq.access(TARGET, 0, read4)).toEqual({ kind: 'ignored', data: 0xffffffffn, reason: 'bad-state' });
    expect(w.ioreq.vcpuBlocked(TARGET, 0)).toBe(false);
    expect(w.hv.domctl.getVcpuInfo(TARGET, 0).deferShutdown).toBe(false);
    const arm = world({ arch: 'arm' });
    const e2 = bringUp(arm);
    setSlotState(e2.page, 0, STATE_IORESP_READY);
    expect(arm.ioreq.access(TARGET, 0, read4)).toEqual({ kind: 'abort', reason: 'bad-state' });
  });

  it('§5.4 NONE seen while waiting (the emulator reset the slot): the read finishes with all-ones', () => {
    const w = world();
    const emu = bringUp(w);
    w.ioreq.access(TARGET, 0, read4);
    setSlotState(emu.page, 0, STATE_IOREQ_NONE);
    expect(w.ioreq.resume(TARGET, 0)).toEqual({ kind: 'done', data: 0xffffffffn });
  });

  // the emulator writes any sequence of states, Xen checks after each; a reference model of wait_for_io says what must happen
  fcTest.prop([fc.array(fc.integer({ min: 0, max: 15 }), { minLength: 1, maxLength: 8 }), fc.bigInt({ min: 0n, max: (1n << 32n) - 1n })])(
    'property: the slot crashes the target exactly on a backwards or invalid state, finishes on NONE or IORESP_READY, else waits',
    (states, value) => {
      const w = world();
      const emu = bringUp(w);
      expect(w.ioreq.access(TARGET, 0, read4).kind).toBe('blocked');
      let prev = STATE_IOREQ_NONE;
      for (const s of states) {
        setSlotData(emu.page, 0, value);
        setSlotState(emu.page, 0, s);
        const r = w.ioreq.resume(TARGET, 0);
        if (s === STATE_IOREQ_NONE) return void expect(r).toEqual({ kind: 'done', data: 0xffffffffn });
        if (s < prev || s > STATE_IORESP_READY) {
          expect(r).toEqual({ kind: 'crashed', state: s, previous: prev });
          return void expect(w.hv.domctl.getInfo(TARGET).shutdownCode).toBe(SHUTDOWN_crash);
        }
        if (s === STATE_IORESP_READY) {
          expect(r).toEqual({ kind: 'done', data: value });
          return void expect(slotState(emu.page, 0)).toBe(STATE_IOREQ_NONE);
        }
        expect(r).toEqual({ kind: 'blocked' });
        prev = s;
      }
      expect(w.ioreq.vcpuBlocked(TARGET, 0)).toBe(true);
    },
  );
});

describe('XSA-262 crash during a shutdown already in progress', () => {
  it('the crashing vCPU ends its shutdown deferral (its next hvm_do_resume would): the poweroff completes instead of hanging', () => {
    const w = world();
    const emu = bringUp(w);
    expect(w.ioreq.access(TARGET, 0, { type: IOREQ_TYPE_COPY, addr: MMIO_BASE, size: 4, dir: IOREQ_READ }).kind).toBe('blocked');
    expect(w.hv.shutdownDomain(TARGET, SHUTDOWN_poweroff)).toBe(0); // vCPU 0 holds the deferral
    expect(w.hv.domctl.getInfo(TARGET).flags & XEN_DOMINF_shutdown).toBe(0);
    expect(takeRequest(emu.page, 0)).not.toBeNull(); // INPROCESS
    expect(w.ioreq.resume(TARGET, 0)).toEqual({ kind: 'blocked' }); // Xen saw INPROCESS
    setSlotState(emu.page, 0, STATE_IOREQ_READY); // backwards
    expect(w.ioreq.resume(TARGET, 0)).toMatchObject({ kind: 'crashed' });
    const info = w.hv.domctl.getInfo(TARGET);
    expect(info.flags & XEN_DOMINF_shutdown).not.toBe(0);
    expect(info.shutdownCode).toBe(SHUTDOWN_poweroff); // the first reason stands
  });
});
