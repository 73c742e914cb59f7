import { describe, expect, it } from 'vitest';
import { Slab } from '../../src/runtime/slab.js';
import { SeededRandom } from '../../src/runtime/random.js';
import { VirtualClock } from '../../src/runtime/virtual-clock.js';

describe('VirtualClock', () => {
  it('fires timers in due order as time is advanced, never on its own', () => {
    const clock = new VirtualClock(100);
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push(`b@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`a@${clock.now()}`));
    const cancel = clock.setTimer(20, () => fired.push('cancelled'));
    cancel();
    expect(clock.pendingTimers).toBe(2);
    clock.advance(15);
    expect(fired).toEqual(['a@110']);
    clock.advance(100);
    expect(fired).toEqual(['a@110', 'b@130']);
    expect(clock.now()).toBe(215);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('SeededRandom', () => {
  it('repeats its sequence for a seed and stays in range', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const xs = Array.from({ length: 100 }, () => a.int(-3, 3));
    expect(Array.from({ length: 100 }, () => b.int(-3, 3))).toEqual(xs);
    expect(xs.every((x) => x >= -3 && x <= 3)).toBe(true);
    expect(new Set(xs).size).toBe(7);
    expect(new SeededRandom(43).bytes(16)).not.toEqual(new SeededRandom(42).bytes(16));
  });

  it('bytes: any length, fixed by the seed, every byte value about equally often, and a new stream per call', () => {
    for (let n = 0; n <= 9; n++) expect(new SeededRandom(5).bytes(n)).toHaveLength(n);
    expect(new SeededRandom(5).bytes(1000)).toEqual(new SeededRandom(5).bytes(1000));
    const rng = new SeededRandom(5);
    const first = rng.bytes(64);
    expect(rng.bytes(64)).not.toEqual(first);
    const big = new SeededRandom(9).bytes(256 * 64);
    const counts = new Array<number>(256).fill(0);
    for (const b of big) counts[b]++;
    expect(Math.min(...counts)).toBeGreaterThan(20); // 64 expected per value
    expect(Math.max(...counts)).toBeLessThan(120);
  });

  it('rejects a seed that is not an integer', () => {
    expect(() => new SeededRandom(1.5)).toThrow(/integer/);
  });
});

describe('Slab', () => {
  it('hands out zeroed, 8-byte-aligned views that never overlap, across chunks, and big ones on their own', () => {
    const slab = new Slab(1024);
    const views = [100, 3, 250, 8, 200, 255, 255].map((n) => slab.take(n)); // one 1024-byte chunk, then another
    views.forEach((v, i) => {
      expect(v.byteOffset % 8).toBe(0);
      expect(v.every((b) => b === 0)).toBe(true);
      v.fill(i + 1);
    });
    views.forEach((v, i) => expect(v.every((b) => b === i + 1)).toBe(true)); // nothing was overwritten
    expect(new Set(views.map((v) => v.buffer)).size).toBe(2); // the 1024-byte chunk ran out once
    const big = slab.take(257);
    expect(big.byteOffset).toBe(0);
    expect(big.buffer.byteLength).toBe(257);
  });

  it('starts small and doubles its chunks up to the largest, so a short run allocates little', () => {
    const slab = new Slab();
    expect(slab.take(10).buffer.byteLength).toBe(16 * 1024);
    const sizes = new Set<number>();
    for (let i = 0; i < 200; i++) sizes.add(slab.take(4000).buffer.byteLength);
    expect([...sizes]).toEqual([16 * 1024, 32 * 1024, 64 * 1024, 128 * 1024, 256 * 1024]);
  });
});
