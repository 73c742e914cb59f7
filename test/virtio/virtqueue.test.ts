/**
 * Split-virtqueue conformance (virtio-ioreq-lifecycle.md §7 cases 1–13): the driver and device sides
 * of src/virtio over one ring in guest memory, plus the byte layout of §2.1–§2.5.
 */
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/memory/guest-memory.js';
import { PageAllocator } from '../../src/memory/page-allocator.js';
import { VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_USED_F_NO_NOTIFY, isValidQueueSize } from '../../src/virtio/constants.js';
import { DeviceQueue } from '../../src/virtio/device-queue.js';
import { DriverQueue, NUM_ADDED_KICK } from '../../src/virtio/driver-queue.js';
import { VIRTQ_AVAIL, VIRTQ_DESC, VIRTQ_USED, VIRTQ_USED_ELEM, availEventOffset, usedEventOffset } from '../../src/virtio/layout.js';
import { placeVring } from '../../src/virtio/place-vring.js';
import { type RingStores } from '../../src/virtio/ring-stores.js';
import { StoreBuffer } from '../../src/virtio/store-buffer.js';
import { availIdxGpa, descGpa, exposeByHand, queuePair, usedFlagsGpa, writeDesc } from './harness.js';

const BUF = 0x200000; // data buffers live from 2 MiB up in the harness's 4 MiB guest

describe('split ring layout (§2.1–§2.5)', () => {
  it('places the three parts at their alignments with used_event and avail_event after the rings', () => {
    const mem = new GuestMemory(1 << 20);
    const ring = placeVring(mem, new PageAllocator(mem.pages), 8);
    expect(ring.desc % 16).toBe(0);
    expect(ring.avail - ring.desc).toBe(16 * 8);
    expect(ring.used % 4).toBe(0);
    expect(ring.used).toBeGreaterThanOrEqual(ring.avail + 6 + 2 * 8);
    expect(usedEventOffset(8)).toBe(4 + 2 * 8);
    expect(availEventOffset(8)).toBe(4 + 8 * 8);
    expect(VIRTQ_DESC).toEqual({ addr: 0, len: 8, flags: 12, next: 14, size: 16 });
    expect(VIRTQ_USED_ELEM.size).toBe(8);
  });

  it('writes a chain byte-exact: le64 addr, le32 len, le16 flags and next, then the avail entry and idx', () => {
    const { mem, ring, driver } = queuePair(8);
    driver.add([{ gpa: 0x1_2345_6000 % mem.bytes, len: 16 }], [{ gpa: BUF, len: 512 }], 'a');
    const d0 = descGpa(ring, 0);
    expect(mem.view.getUint32(d0 + 8, true)).toBe(16);
    expect(mem.view.getUint16(d0 + 12, true)).toBe(VIRTQ_DESC_F_NEXT);
    expect(mem.view.getUint16(d0 + 14, true)).toBe(1);
    const d1 = descGpa(ring, 1);
    expect(mem.view.getUint32(d1, true)).toBe(BUF);
    expect(mem.view.getUint32(d1 + 4, true)).toBe(0);
    expect(mem.view.getUint16(d1 + 12, true)).toBe(VIRTQ_DESC_F_WRITE);
    expect(mem.view.getUint16(ring.avail + VIRTQ_AVAIL.ring, true)).toBe(0);
    expect(mem.view.getUint16(ring.avail + VIRTQ_AVAIL.idx, true)).toBe(1);
  });
});

describe('device-side queue construction', () => {
  it('a DeviceQueue over areas outside RAM is a bug in the caller: a RangeError naming the addresses', () => {
    const mem = new GuestMemory(1 << 20);
    expect(() => new DeviceQueue(mem, { qsz: 8, desc: mem.bytes - 64, avail: 0x1000, used: 0x2000 })).toThrow(/outside RAM or misaligned/);
  });
});

describe('§7 virtqueue cases', () => {
  it('case 1: queue sizes 0, 3, 1000 and 65536 are refused; 1, 2, 256 and 32768 accepted', () => {
    for (const bad of [0, 3, 1000, 65536]) {
      expect(isValidQueueSize(bad)).toBe(false);
      const mem = new GuestMemory(1 << 21);
      expect(() => placeVring(mem, new PageAllocator(mem.pages), bad)).toThrow(RangeError);
      expect(() => new DriverQueue(mem, { qsz: bad, desc: 4096, avail: 8192, used: 12288 })).toThrow(/power of 2/);
      expect(() => new DeviceQueue(mem, { qsz: bad, desc: 4096, avail: 8192, used: 12288 })).toThrow(/power of 2/);
    }
    for (const good of [1, 2, 256, 32768]) {
      expect(isValidQueueSize(good)).toBe(true);
      const { driver, device } = queuePair(good, {}, {}, {}, 1 << 21);
      expect(driver.add([{ gpa: 0x1000, len: 4 }], [], 'x')).toEqual({ ok: true, head: 0 });
      expect(device.pop().kind).toBe('chain');
    }
  });

  it('case 2: one 3-descriptor readable+writable chain, EVENT_IDX off, used.flags = 0 → exactly one kick', () => {
    let notified = 0;
    const { driver, device } = queuePair(16, {}, { notify: () => notified++ });
    driver.add([{ gpa: BUF, len: 16 }], [{ gpa: BUF + 512, len: 512 }, { gpa: BUF + 1024, len: 1 }], 'req');
    expect(notified).toBe(0); // adding never notifies by itself
    expect(driver.kick()).toBe(true);
    expect(notified).toBe(1);
    const r = device.pop();
    expect(r.kind === 'chain' && r.chain.readable.length === 1 && r.chain.writable.length === 2).toBe(true);
  });

  it('case 3: used.flags = NO_NOTIFY → no kick needed; a spurious kick is still harmless', () => {
    const { mem, ring, driver, device } = queuePair(16);
    mem.view.setUint16(usedFlagsGpa(ring), VIRTQ_USED_F_NO_NOTIFY, true);
    driver.add([{ gpa: BUF, len: 16 }], [{ gpa: BUF + 512, len: 1 }], 'req');
    expect(driver.kickPrepare()).toBe(false);
    // A spurious notification: the device just finds the chain, or nothing.
    const first = device.pop();
    expect(first.kind).toBe('chain');
    expect(device.pop().kind).toBe('empty');
    expect(device.pop().kind).toBe('empty');
  });

  it('case 4: EVENT_IDX with used_event = 0, device completes buffers 1..3 → exactly one interrupt, for the first', () => {
    const { mem, ring, driver, device } = queuePair(16, { eventIdx: true });
    for (const t of ['a', 'b', 'c']) driver.add([], [{ gpa: BUF, len: 64 }], t);
    expect(mem.view.getUint16(ring.avail + usedEventOffset(16), true)).toBe(0);
    const interrupts: boolean[] = [];
    for (let k = 0; k < 3; k++) {
      const r = device.pop();
      if (r.kind !== 'chain') throw new Error(r.kind);
      device.push(r.chain.head, 0);
      interrupts.push(device.needInterrupt());
    }
    expect(interrupts).toEqual([true, false, false]);
  });

  it('case 5: 65535 adds without a kick force one at num_added = 65535', () => {
    let notified = 0;
    const { driver, device } = queuePair<number>(4, {}, { notify: () => notified++ });
    for (let n = 1; n <= NUM_ADDED_KICK; n++) {
      const added = driver.add([{ gpa: BUF, len: 8 }], [], n);
      if (!added.ok) throw new Error(`add ${n}: ${added.reason}`);
      if (n === NUM_ADDED_KICK - 1) expect(notified).toBe(0);
      const r = device.pop(); // the device polls: the driver never kicks by itself
      if (r.kind !== 'chain') throw new Error(r.kind);
      device.push(r.chain.head, 0);
      expect(driver.getBuf()?.token).toBe(n);
    }
    expect(notified).toBe(1);
    expect(driver.kicks).toBe(1);
  });

  it('case 6: avail.idx more than qsz past last_avail_idx, or a head ≥ qsz → malformed, never an exception', () => {
    const { mem, ring, device } = queuePair(8);
    mem.view.setUint16(availIdxGpa(ring), 9, true);
    const r = device.pop();
    expect(r.kind).toBe('malformed');
    expect(r.kind === 'malformed' && r.reason).toMatch(/more than qsz 8/);
    const other = queuePair(8);
    exposeByHand(other.mem, other.ring, 0, 8);
    expect(other.device.pop()).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/head 8/) });
    // (The device core's answer — DEVICE_NEEDS_RESET and a config notification — is in device-status.test.ts.)
  });

  it('case 7: the driver only builds readable-then-writable chains; the device refuses a writable before a readable', () => {
    const { mem, ring, driver } = queuePair(8);
    driver.add([{ gpa: BUF, len: 16 }, { gpa: BUF + 16, len: 16 }], [{ gpa: BUF + 32, len: 8 }, { gpa: BUF + 40, len: 1 }], 'x');
    const flags = [0, 1, 2, 3].map((i) => mem.view.getUint16(descGpa(ring, i) + VIRTQ_DESC.flags, true) & VIRTQ_DESC_F_WRITE);
    expect(flags).toEqual([0, 0, VIRTQ_DESC_F_WRITE, VIRTQ_DESC_F_WRITE]);
    const bad = queuePair(8);
    writeDesc(bad.mem, bad.ring.desc, 0, { addr: BUF, len: 8, flags: VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, next: 1 });
    writeDesc(bad.mem, bad.ring.desc, 1, { addr: BUF + 8, len: 8, flags: 0 });
    exposeByHand(bad.mem, bad.ring, 0, 0);
    expect(bad.device.pop()).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/readable element after a device-writable/) });
  });

  it('case 8: INDIRECT without INDIRECT_DESC negotiated → the driver never uses it; the device refuses it', () => {
    const { mem, ring, driver } = queuePair(8);
    driver.add([{ gpa: BUF, len: 16 }], [{ gpa: BUF + 16, len: 1 }], 'x');
    expect(mem.view.getUint16(descGpa(ring, 0) + VIRTQ_DESC.flags, true) & VIRTQ_DESC_F_INDIRECT).toBe(0);
    const bad = queuePair(8, { indirect: false });
    writeDesc(bad.mem, BUF, 0, { addr: BUF + 4096, len: 8, flags: 0 });
    writeDesc(bad.mem, bad.ring.desc, 0, { addr: BUF, len: 16, flags: VIRTQ_DESC_F_INDIRECT });
    exposeByHand(bad.mem, bad.ring, 0, 0);
    expect(bad.device.pop()).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/INDIRECT without VIRTIO_F_INDIRECT_DESC/) });
  });

  it('case 9: INDIRECT with NEXT, or INDIRECT inside an indirect table → refused; a legal indirect chain is walked', () => {
    const withNext = queuePair(8, { indirect: true });
    writeDesc(withNext.mem, BUF, 0, { addr: BUF + 4096, len: 8, flags: 0 });
    writeDesc(withNext.mem, withNext.ring.desc, 0, { addr: BUF, len: 16, flags: VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, next: 1 });
    exposeByHand(withNext.mem, withNext.ring, 0, 0);
    expect(withNext.device.pop()).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/INDIRECT and NEXT/) });

    const nested = queuePair(8, { indirect: true });
    writeDesc(nested.mem, BUF, 0, { addr: BUF + 4096, len: 16, flags: VIRTQ_DESC_F_INDIRECT });
    writeDesc(nested.mem, nested.ring.desc, 0, { addr: BUF, len: 16, flags: VIRTQ_DESC_F_INDIRECT });
    exposeByHand(nested.mem, nested.ring, 0, 0);
    expect(nested.device.pop()).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(/inside an indirect table/) });

    const legal = queuePair<string>(8, { indirect: true });
    legal.driver.add([{ gpa: BUF, len: 16 }], [{ gpa: BUF + 16, len: 100 }, { gpa: BUF + 200, len: 1 }], 'ind');
    expect(legal.mem.view.getUint16(descGpa(legal.ring, 0) + VIRTQ_DESC.flags, true)).toBe(VIRTQ_DESC_F_INDIRECT);
    expect(legal.driver.freeDescriptors).toBe(7);
    const r = legal.device.pop();
    expect(r.kind === 'chain' && [r.chain.readableBytes, r.chain.writableBytes]).toEqual([16, 101]);
  });

  it('case 10: a 4096-byte IN buffer with 512 bytes written → used.len = 512, stored before used.idx; the driver sees 512', () => {
    const order: string[] = [];
    const { mem, ring, driver, device } = queuePair<string>(8);
    const recording: RingStores = {
      store16: (gpa, v) => (order.push(gpa === ring.used + VIRTQ_USED.idx ? 'used.idx' : `16@${gpa}`), mem.view.setUint16(gpa, v, true)),
      store32: (gpa, v) => (order.push((gpa - ring.used - VIRTQ_USED.ring) % 8 === 4 ? 'len' : 'id'), mem.view.setUint32(gpa, v, true)),
      store64: () => {
        throw new Error('the device never stores 64 bits');
      },
      wmb: () => order.push('wmb'),
      mb: () => order.push('mb'),
    };
    const dev = new DeviceQueue(mem, ring, { stores: recording });
    void device;
    driver.add([], [{ gpa: BUF, len: 4096 }], 'in');
    const r = dev.pop();
    if (r.kind !== 'chain') throw new Error(r.kind);
    mem.u8.fill(0xab, BUF, BUF + 512);
    dev.push(r.chain.head, 512);
    expect(order).toEqual(['id', 'len', 'wmb', 'used.idx']);
    const got = driver.getBuf();
    expect(got).toEqual({ token: 'in', head: 0, len: 512 });
    const seen = mem.read(BUF, got?.len ?? 0);
    expect(seen.every((b) => b === 0xab)).toBe(true);
  });

  it('case 10 (guard): a used.len larger than the writable bytes, an id out of range, or a non-head break the driver queue', () => {
    for (const [id, len, why] of [
      [0, 4097, /greater than/],
      [8, 1, /out of range/],
      [3, 1, /is not a head/],
    ] as const) {
      const { mem, ring, driver } = queuePair<string>(8);
      driver.add([], [{ gpa: BUF, len: 4096 }], 'in');
      mem.view.setUint32(ring.used + VIRTQ_USED.ring + VIRTQ_USED_ELEM.id, id, true);
      mem.view.setUint32(ring.used + VIRTQ_USED.ring + VIRTQ_USED_ELEM.len, len, true);
      mem.view.setUint16(ring.used + VIRTQ_USED.idx, 1, true);
      expect(driver.getBuf()).toBeNull();
      expect(driver.brokenReason).toMatch(why);
      expect(driver.add([{ gpa: BUF, len: 1 }], [], 'later')).toEqual({ ok: false, reason: 'BROKEN' });
    }
  });

  it('case 11: completions out of order (B before A) without IN_ORDER → the driver matches them by id', () => {
    const { driver, device } = queuePair<string>(8);
    driver.add([], [{ gpa: BUF, len: 100 }], 'A');
    driver.add([], [{ gpa: BUF + 4096, len: 200 }, { gpa: BUF + 8192, len: 1 }], 'B');
    const a = device.pop();
    const b = device.pop();
    if (a.kind !== 'chain' || b.kind !== 'chain') throw new Error('expected two chains');
    device.push(b.chain.head, 201);
    device.push(a.chain.head, 100);
    expect(driver.getBuf()).toMatchObject({ token: 'B', len: 201 });
    expect(driver.getBuf()).toMatchObject({ token: 'A', len: 100 });
    expect(driver.freeDescriptors).toBe(8);
  });
});

/** A ring where chain A (head 0) stays in flight and slot 0 of avail.ring still holds A's head. */
function staleSlotSetup(barriers: boolean) {
  const pair = queuePair<string>(4);
  const sb = new StoreBuffer(pair.mem);
  const driver = new DriverQueue<string>(pair.mem, pair.ring, { stores: sb, barriers });
  sb.commitAll();
  driver.add([{ gpa: BUF, len: 8 }], [], 'A'); // head 0 at avail slot 0
  for (const t of ['B', 'C', 'D']) driver.add([{ gpa: BUF, len: 8 }], [], t);
  sb.commitAll();
  for (let k = 0; k < 4; k++) {
    const r = pair.device.pop();
    if (r.kind !== 'chain') throw new Error(r.kind);
    if (r.chain.head !== 0) pair.device.push(r.chain.head, 0); // B, C, D done; A stays in flight
  }
  sb.commitAll();
  while (driver.getBuf() !== null);
  return { ...pair, sb, driver };
}

describe('§7 case 12: reordered avail publish (§2.8 driver step 4)', () => {
  it('without the write barrier, avail.idx visible before the ring entry → the device reads a stale head', () => {
    const { ring, sb, driver, device } = staleSlotSetup(false);
    const e = driver.add([{ gpa: BUF, len: 8 }], [], 'E'); // avail idx 4 → slot 0 again
    if (!e.ok) throw new Error(e.reason);
    expect(e.head).not.toBe(0);
    expect(sb.commitWhere((s) => s.gpa === availIdxGpa(ring))).toBe(true); // the idx store overtakes the entry
    const r = device.pop();
    expect(r.kind === 'chain' && r.chain.head).toBe(0); // A's head, which is still in flight: the bug
    sb.commitAll();
    device.push(0, 0);
    device.push(0, 0); // the device completes "A" twice (the real A, then the stale one)…
    expect(driver.getBuf()?.token).toBe('A');
    expect(driver.getBuf()).toBeNull(); // …and the driver: "id 0 is not a head!"
    expect(driver.brokenReason).toMatch(/id 0 is not a head!/);
  });

  it('with the write barrier, the device sees the right head or nothing', () => {
    {
      const { sb, driver, device } = staleSlotSetup(true);
      const e = driver.add([{ gpa: BUF, len: 8 }], [], 'E');
      if (!e.ok) throw new Error(e.reason);
      expect(sb.pending.length).toBe(1); // only avail.idx is left: the barrier published the rest
      expect(device.pop().kind).toBe('empty'); // before it is visible: nothing
      sb.commitAll();
      const r = device.pop();
      expect(r.kind === 'chain' && r.chain.head).toBe(e.head);
    }
  });

  it('without the barrier there is at least one commit order that breaks, and each order is replayable', () => {
    const heads: number[] = [];
    for (let first = 0; first < 6; first++) {
      const { sb, driver, device } = staleSlotSetup(false);
      driver.add([{ gpa: BUF, len: 8 }], [], 'E');
      const target = sb.pending[first % sb.pending.length];
      sb.commitWhere((s) => s.seq === target.seq);
      const r = device.pop();
      heads.push(r.kind === 'chain' ? r.chain.head : -1);
    }
    expect(heads).toContain(0); // stale
    expect(heads).toContain(-1); // the idx not yet visible: nothing (correct)
  });
});

describe('§7 case 13: lost wakeup on re-enabling callbacks', () => {
  for (const eventIdx of [false, true]) {
    const mode = eventIdx ? 'EVENT_IDX' : 'flags';
    /** A completes with an interrupt; the handler drains it; B completes while callbacks are off. */
    function handlerRace(recheck: boolean): { harvested: string[]; interruptsForB: number; waiting: number } {
      const { driver, device } = queuePair<string>(8, { eventIdx });
      driver.add([], [{ gpa: BUF, len: 8 }], 'A');
      driver.add([], [{ gpa: BUF, len: 8 }], 'B');
      const a = device.pop();
      const b = device.pop();
      if (a.kind !== 'chain' || b.kind !== 'chain') throw new Error('two chains');
      device.push(a.chain.head, 8);
      expect(device.needInterrupt()).toBe(true);
      const harvested: string[] = [];
      const drain = () => {
        for (let u = driver.getBuf(); u !== null; u = driver.getBuf()) harvested.push(u.token);
      };
      driver.disableCallbacks(); // the interrupt handler: disable, drain …
      drain();
      device.push(b.chain.head, 8); // … B completes now …
      const interruptsForB = device.needInterrupt() ? 1 : 0;
      if (recheck) {
        while (!driver.enableCallbacks()) drain(); // … re-enable and re-check after a barrier
      } else {
        driver.enableCallbacksPrepare(); // … re-enable and sleep
      }
      return { harvested, interruptsForB, waiting: driver.usedPending() };
    }

    it(`${mode}: without the re-check the driver sleeps with B used and no interrupt coming; with it B is harvested`, () => {
      expect(handlerRace(false)).toEqual({ harvested: ['A'], interruptsForB: 0, waiting: 1 }); // the lost wakeup
      expect(handlerRace(true)).toEqual({ harvested: ['A', 'B'], interruptsForB: 0, waiting: 0 });
    });

    it(`${mode}: the re-check without a full barrier lets the enable store lag the used.idx load → lost; with it → found or interrupted`, () => {
      for (const barriers of [false, true]) {
        const pair = queuePair<string>(8, { eventIdx });
        const sb = new StoreBuffer(pair.mem);
        const driver = new DriverQueue<string>(pair.mem, pair.ring, { eventIdx, stores: sb, barriers });
        sb.commitAll();
        driver.add([], [{ gpa: BUF, len: 8 }], 'A');
        driver.add([], [{ gpa: BUF, len: 8 }], 'B');
        sb.commitAll();
        const device = pair.device;
        const a = device.pop();
        const b = device.pop();
        if (a.kind !== 'chain' || b.kind !== 'chain') throw new Error('two chains');
        device.push(a.chain.head, 8);
        device.needInterrupt();
        driver.disableCallbacks();
        sb.commitAll();
        while (driver.getBuf() !== null);
        sb.commitAll();
        const idle = driver.enableCallbacks(); // the enable store may still sit in the buffer
        device.push(b.chain.head, 8); // the device completes B right after the driver's check
        const interrupted = device.needInterrupt();
        sb.commitAll();
        const lost = idle && !interrupted;
        expect(lost).toBe(!barriers);
      }
    });
  }
});

describe('notification suppression by the device (§2.7)', () => {
  it('disableNotifications sets used.flags = NO_NOTIFY; enableNotifications clears it and re-checks avail', () => {
    const { mem, ring, driver, device } = queuePair<string>(8);
    device.disableNotifications();
    expect(mem.view.getUint16(usedFlagsGpa(ring), true)).toBe(VIRTQ_USED_F_NO_NOTIFY);
    driver.add([{ gpa: BUF, len: 1 }], [], 'x');
    expect(driver.kickPrepare()).toBe(false);
    expect(device.enableNotifications()).toBe(true);
    expect(mem.view.getUint16(usedFlagsGpa(ring), true)).toBe(0);
  });

  it('with EVENT_IDX the device publishes avail_event = last_avail_idx as it pops, and the driver kicks only past it', () => {
    const { mem, ring, driver, device } = queuePair<string>(8, { eventIdx: true });
    driver.add([{ gpa: BUF, len: 1 }], [], 'a');
    expect(driver.kickPrepare()).toBe(true); // avail_event 0 passed by 0 → 1
    device.pop();
    expect(mem.view.getUint16(ring.used + availEventOffset(8), true)).toBe(1);
    driver.add([{ gpa: BUF, len: 1 }], [], 'b');
    driver.add([{ gpa: BUF, len: 1 }], [], 'c');
    expect(driver.kickPrepare()).toBe(true); // 1 ∈ [1, 3)
    driver.add([{ gpa: BUF, len: 1 }], [], 'd');
    expect(driver.kickPrepare()).toBe(false); // 1 ∉ [3, 4)
  });

  it('without EVENT_IDX avail.flags = NO_INTERRUPT silences the device; re-enabling restores it', () => {
    const { mem, ring, driver, device } = queuePair<string>(8);
    driver.disableCallbacks();
    expect(mem.view.getUint16(ring.avail + VIRTQ_AVAIL.flags, true)).toBe(VIRTQ_AVAIL_F_NO_INTERRUPT);
    driver.add([], [{ gpa: BUF, len: 1 }], 'x');
    const r = device.pop();
    if (r.kind !== 'chain') throw new Error(r.kind);
    device.push(r.chain.head, 1);
    expect(device.needInterrupt()).toBe(false);
    expect(driver.enableCallbacks()).toBe(false);
    expect(device.needInterrupt()).toBe(true);
  });
});

describe('malformed chains from a guest get an answer, never an exception (§2.2, §2.6)', () => {
  it('a descriptor loop, a next out of range, a buffer outside RAM and a 2^32-byte chain are each refused', () => {
    const cases: [string, (p: ReturnType<typeof queuePair>) => void, RegExp][] = [
      ['loop', (p) => {
        writeDesc(p.mem, p.ring.desc, 0, { addr: BUF, len: 8, flags: VIRTQ_DESC_F_NEXT, next: 1 });
        writeDesc(p.mem, p.ring.desc, 1, { addr: BUF, len: 8, flags: VIRTQ_DESC_F_NEXT, next: 0 });
      }, /longer than its table/],
      ['next', (p) => writeDesc(p.mem, p.ring.desc, 0, { addr: BUF, len: 8, flags: VIRTQ_DESC_F_NEXT, next: 9 }), /next 9 is outside/],
      ['ram', (p) => writeDesc(p.mem, p.ring.desc, 0, { addr: p.mem.bytes - 4, len: 8, flags: 0 }), /not in RAM/],
      ['huge addr', (p) => writeDesc(p.mem, p.ring.desc, 0, { addr: 2 ** 63, len: 8, flags: 0 }), /not in RAM/],
      ['indirect ram', (p) => writeDesc(p.mem, p.ring.desc, 0, { addr: p.mem.bytes, len: 16, flags: VIRTQ_DESC_F_INDIRECT }), /not in RAM/],
      ['indirect len', (p) => writeDesc(p.mem, p.ring.desc, 0, { addr: BUF, len: 24, flags: VIRTQ_DESC_F_INDIRECT }), /whole number/],
      ['4 GiB', (p) => {
        // 1024 indirect entries, each the whole 4 MiB of RAM: 2^32 bytes in all.
        for (let i = 0; i < 1024; i++) writeDesc(p.mem, BUF, i, { addr: 0, len: p.mem.bytes, flags: i < 1023 ? VIRTQ_DESC_F_NEXT : 0, next: i + 1 });
        writeDesc(p.mem, p.ring.desc, 0, { addr: BUF, len: 1024 * 16, flags: VIRTQ_DESC_F_INDIRECT });
      }, /2\^32 bytes/],
    ];
    for (const [, build, why] of cases) {
      const p = queuePair(8, { indirect: true });
      build(p);
      exposeByHand(p.mem, p.ring, 0, 0);
      const r = p.device.pop();
      expect(r).toMatchObject({ kind: 'malformed', reason: expect.stringMatching(why) });
    }
  });
});
