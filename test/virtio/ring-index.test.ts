/**
 * Property tests of the 16-bit index arithmetic of split virtqueues (virtio-ioreq-lifecycle.md §2.6,
 * §2.7) across the wrap at 65536, checked against brute-force definitions.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { ringSlot, u16, u16Distance, vringNeedEvent } from '../../src/virtio/ring-index.js';

const idx = fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xff00, max: 0xffff }), fc.integer({ min: 0, max: 0xff }));

describe('vring index arithmetic (§2.6, §2.7)', () => {
  test.prop([idx, fc.integer({ min: 0, max: 0xffff })], { seed: 0x7612_0001, numRuns: 2000 })(
    'the distance between free-running indices survives the wrap: (old + n) − old = n',
    (old, n) => {
      expect(u16Distance(u16(old + n), old)).toBe(n);
    },
  );

  test.prop([idx, fc.constantFrom(1, 2, 4, 256, 32768)], { seed: 0x7612_0002, numRuns: 1000 })(
    'the slot of an index is idx mod qsz, continuous across the wrap',
    (i, qsz) => {
      expect(ringSlot(i, qsz)).toBe(i % qsz);
      expect(ringSlot(u16(i + 1), qsz)).toBe((ringSlot(i, qsz) + 1) % qsz); // 65536 is a multiple of qsz
    },
  );

  test.prop([idx, idx, fc.integer({ min: 0, max: 600 })], { seed: 0x7612_0003, numRuns: 3000 })(
    'vring_need_event(event, new, old) is true exactly when event ∈ [old, new) modulo 2^16',
    (event, old, n) => {
      const newIdx = u16(old + n);
      let passed = false;
      for (let k = 0; k < n; k++) if (u16(old + k) === event) passed = true;
      expect(vringNeedEvent(event, newIdx, old)).toBe(passed);
    },
  );

  test.prop([idx], { seed: 0x7612_0004, numRuns: 500 })(
    'the worked example of §2.7: event fires for the first buffer past it, then not for the next 65535',
    (event) => {
      expect(vringNeedEvent(event, u16(event + 1), event)).toBe(true);
      expect(vringNeedEvent(event, u16(event + 2), u16(event + 1))).toBe(false);
      expect(vringNeedEvent(event, u16(event + 65535), u16(event + 1))).toBe(false);
    },
  );
});
