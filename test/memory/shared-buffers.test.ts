import { describe, expect, it } from 'vitest';
import { FRESH_SHARED_BUFFERS, SharedBufferPool } from '../../src/memory/shared-buffers.js';
import { GuestMemory } from '../../src/memory/guest-memory.js';
import { createHypervisor } from '../../src/xen/hypervisor.js';

describe('SharedBufferPool', () => {
  it('hands a recycled buffer of the same size back, zeroed', () => {
    const pool = new SharedBufferPool();
    const first = pool.take(8192);
    new Uint8Array(first).fill(0xa5);
    pool.recycle();
    const again = pool.take(8192);
    expect(again).toBe(first);
    expect(new Uint8Array(again).every((b) => b === 0)).toBe(true);
  });

  it('never hands out a buffer twice before it is recycled, nor one of another size', () => {
    const pool = new SharedBufferPool();
    const a = pool.take(4096);
    const b = pool.take(4096);
    expect(b).not.toBe(a);
    pool.recycle();
    const c = pool.take(8192);
    expect(c.byteLength).toBe(8192);
    expect([a, b]).not.toContain(c);
    expect([a, b]).toContain(pool.take(4096));
  });

  it('gives a guest memory its buffer, checked as a fresh one is', () => {
    const pool = new SharedBufferPool();
    expect(new GuestMemory(4096, pool).buffer.byteLength).toBe(4096);
    expect(() => new GuestMemory(4097, pool)).toThrow(/multiple of 4096/);
    expect(FRESH_SHARED_BUFFERS.take(16).byteLength).toBe(16);
  });

  it('a host built on recycled buffers starts as empty as a fresh one: the same domids, rings and send-info pool', () => {
    const pool = new SharedBufferPool();
    const options = { argo: { enabled: true }, maxDomains: 4, gfnArenaPages: 64 };
    const used = createHypervisor(options, pool);
    used.createDomain({ domid: 1, memoryBytes: 65536 });
    used.createDomain({ domid: 2, memoryBytes: 65536 });
    new Uint8Array(used.domain(1)!.memory.buffer).fill(7);
    pool.recycle();
    const reused = createHypervisor(options, pool);
    const fresh = createHypervisor(options);
    for (const hv of [reused, fresh]) hv.createDomain({ domid: 3, memoryBytes: 65536 });
    expect(reused.domainTable.slotOf(1)).toBe(-1);
    expect(reused.domainList().map((d) => d.domid)).toEqual([3]);
    expect([...reused.argoTables.sendInfo]).toEqual([...fresh.argoTables.sendInfo]);
    expect([...reused.argoTables.rings]).toEqual([...fresh.argoTables.rings]);
    expect(new Uint8Array(reused.domain(3)!.memory.buffer).every((b) => b === 0)).toBe(true);
  });
});
