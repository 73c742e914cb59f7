import { describe, expect, it } from 'vitest';
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

  it('rejects a seed that is not an integer', () => {
    expect(() => new SeededRandom(1.5)).toThrow(/integer/);
  });
});
