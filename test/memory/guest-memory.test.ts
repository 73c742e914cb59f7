import { describe, expect, it } from 'vitest';
import { GuestMemory, PageAllocator } from '../../src/index.js';

describe('GuestMemory', () => {
  it('round-trips bytes and hands out copies', () => {
    const mem = new GuestMemory(8192);
    mem.write(4094, new Uint8Array([1, 2, 3, 4]));
    const got = mem.read(4094, 4);
    expect([...got]).toEqual([1, 2, 3, 4]);
    got[0] = 9;
    expect(mem.read(4094, 1)[0]).toBe(1);
  });

  it('lives on a SharedArrayBuffer another view can see', () => {
    const mem = new GuestMemory(4096);
    const again = new GuestMemory(mem.buffer);
    mem.write(100, new Uint8Array([42]));
    expect(again.read(100, 1)[0]).toBe(42);
  });

  it('throws a RangeError naming the gpa for an access outside RAM', () => {
    const mem = new GuestMemory(4096);
    expect(() => mem.read(4095, 2)).toThrow(/gpa 0xfff is outside RAM/);
    expect(() => mem.write(-1, new Uint8Array(1))).toThrow(RangeError);
    expect(() => mem.read(1.5, 1)).toThrow(RangeError);
  });

  it('rejects sizes that are not whole pages', () => {
    expect(() => new GuestMemory(4097)).toThrow(/multiple of 4096/);
    expect(() => new GuestMemory(0)).toThrow(RangeError);
  });

  it('contains() is the hypervisor-side bounds check', () => {
    const mem = new GuestMemory(4096);
    expect(mem.contains(0, 4096)).toBe(true);
    expect(mem.contains(4096, 0)).toBe(true);
    expect(mem.contains(4095, 2)).toBe(false);
    expect(mem.contains(2 ** 60, 1)).toBe(false);
  });
});

describe('PageAllocator', () => {
  it('never hands out frame 0, so gpa 0 stays NULL', () => {
    const pages = new PageAllocator(4);
    expect(pages.allocate(3).sort()).toEqual([1, 2, 3]);
    expect(() => pages.allocate(1)).toThrow(/out of guest memory/);
  });

  it('prefers a contiguous run and can scatter on request', () => {
    const pages = new PageAllocator(32);
    const run = pages.allocate(4);
    expect(run).toEqual([1, 2, 3, 4]);
    const scattered = pages.allocate(3, { scatter: true });
    expect(scattered.every((g, i) => i === 0 || Math.abs(g - scattered[i - 1]) > 1)).toBe(true);
  });

  it('reuses freed frames and refuses double frees', () => {
    const pages = new PageAllocator(8);
    const a = pages.allocate(2);
    pages.free(a);
    expect(pages.free_pages).toBe(7);
    expect(() => pages.free(a)).toThrow(/not allocated/);
  });
});
