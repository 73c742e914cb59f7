/**
 * Driver/device agreement (virtio-ioreq-lifecycle.md §2.2–§2.8): any interleaving of adds, pops,
 * completions in any order and harvests, on small rings whose indices start just before the 16-bit
 * wrap, with and without EVENT_IDX and INDIRECT_DESC. Every buffer reaches the device exactly as
 * added and comes back to the driver exactly once with the length the device wrote.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import type { DescChain, DriverBuffer } from '../../src/index.js';
import { queuePair } from './harness.js';

const buffer = fc.record({ gpa: fc.integer({ min: 0x1000, max: 0x3f_f000 }), len: fc.integer({ min: 0, max: 4096 }) });
const op = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), out: fc.array(buffer, { maxLength: 3 }), in: fc.array(buffer, { maxLength: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('pop' as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('complete' as const), pick: fc.nat(), fraction: fc.double({ min: 0, max: 1, noNaN: true }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('harvest' as const) }) },
);
const scenario = fc.record({
  qsz: fc.constantFrom(1, 2, 4, 8, 16),
  eventIdx: fc.boolean(),
  indirect: fc.boolean(),
  initialIndex: fc.oneof(fc.integer({ min: 0xffe0, max: 0xffff }), fc.constant(0), fc.integer({ min: 0, max: 0xffff })),
  ops: fc.array(op, { minLength: 1, maxLength: 300 }),
});

interface Sent {
  out: DriverBuffer[];
  in: DriverBuffer[];
  writable: number;
  written: number | null;
  returned: boolean;
}

function segmentsOf(chain: DescChain): { out: DriverBuffer[]; in: DriverBuffer[] } {
  return { out: chain.readable.map((s) => ({ gpa: s.gpa, len: s.len })), in: chain.writable.map((s) => ({ gpa: s.gpa, len: s.len })) };
}

describe('driver/device agreement over a split ring', () => {
  test.prop([scenario], { seed: 0x7612_00a1, numRuns: 250 })(
    'every buffer reaches the device as added and returns exactly once with its length, across the 16-bit wrap',
    ({ qsz, eventIdx, indirect, initialIndex, ops }) => {
      const { driver, device } = queuePair<number>(qsz, { eventIdx, indirect, initialIndex });
      const sent: Sent[] = [];
      const headToken = new Map<number, number>();
      const inDevice: { head: number; token: number }[] = [];
      const pop = () => {
        const r = device.pop();
        if (r.kind === 'malformed') throw new Error(r.reason);
        if (r.kind === 'empty') return false;
        const token = headToken.get(r.chain.head);
        if (token === undefined) throw new Error(`device popped head ${r.chain.head}, which the driver never exposed`);
        expect(segmentsOf(r.chain)).toEqual({ out: sent[token].out, in: sent[token].in });
        headToken.delete(r.chain.head);
        inDevice.push({ head: r.chain.head, token });
        return true;
      };
      const complete = (pick: number, fraction: number) => {
        const [{ head, token }] = inDevice.splice(pick % inDevice.length, 1);
        const written = Math.floor(sent[token].writable * fraction);
        sent[token].written = written;
        device.push(head, written);
      };
      const harvest = () => {
        for (let u = driver.getBuf(); u !== null; u = driver.getBuf()) {
          const s = sent[u.token];
          expect(s.returned).toBe(false);
          expect(u.len).toBe(s.written);
          s.returned = true;
        }
        expect(driver.brokenReason).toBeNull();
      };
      for (const o of ops) {
        if (o.kind === 'add') {
          if (o.out.length + o.in.length === 0) continue;
          const token = sent.length;
          const added = driver.add(o.out, o.in, token);
          if (!added.ok) {
            expect(added.reason).toBe('ENOSPC');
            continue;
          }
          sent.push({ out: o.out, in: o.in, writable: o.in.reduce((n, b) => n + b.len, 0), written: null, returned: false });
          headToken.set(added.head, token);
        } else if (o.kind === 'pop') pop();
        else if (o.kind === 'complete' && inDevice.length > 0) complete(o.pick, o.fraction);
        else if (o.kind === 'harvest') harvest();
      }
      while (pop());
      while (inDevice.length > 0) complete(0, 1);
      harvest();
      expect(sent.filter((s) => !s.returned)).toEqual([]);
      expect(driver.freeDescriptors).toBe(qsz);
      expect(device.inFlight).toBe(0);
      expect(driver.lastUsed).toBe((initialIndex + sent.length) & 0xffff);
    },
  );
});
