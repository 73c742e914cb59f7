import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Rangeset, type RangesetStorage } from '../../src/ioreq/rangeset.js';
import { LockTimeoutError } from '../../src/sync/errors.js';

/** A rangeset over shared memory, as an ioreq server's is (count word 0, sequence word 1). */
function sharedStorage(): RangesetStorage {
  return { counts: new Int32Array(new SharedArrayBuffer(8)), countAt: 0, seqAt: 1, pairs: new Float64Array(new SharedArrayBuffer(16 * 256)), pairsAt: 0 };
}

/**
 * A writer in another thread that began a change (the sequence word odd) and is held off the CPU
 * for `holdMs` — what a preempted device-model thread looks like on a two-core machine — then
 * finishes it: one range added, the word even again and its sleepers woken.
 */
function preemptedWriter(storage: RangesetStorage, holdMs: number): Worker {
  Atomics.store(storage.counts, storage.seqAt, 1);
  return new Worker(
    `const { workerData: { counts, pairs, holdMs } } = require('node:worker_threads');
     Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, holdMs);
     pairs[0] = 0x1000; pairs[1] = 0x1fff; counts[0] = 1;
     Atomics.store(counts, 1, 2); Atomics.notify(counts, 1);`,
    { eval: true, workerData: { counts: storage.counts, pairs: storage.pairs, holdMs } },
  );
}

describe('rangeset readers in another thread than its writer (a seqlock; Xen: a rwlock)', () => {
  it('a reader waits out a writer held off the CPU for a whole timeslice, and sees the finished change', async () => {
    const storage = sharedStorage();
    const writer = preemptedWriter(storage, 40);
    const exited = new Promise((done) => writer.once('exit', done));
    // Before, a reader gave up after 65 536 quick looks (a few ms) and called the writer stuck.
    expect(Rangeset.over(storage).contains(0x1800, 0x1803)).toBe(true);
    await exited;
  });

  it('a writer that never finishes is reported as a LockTimeoutError after the bound, not waited on for ever', () => {
    const storage = sharedStorage();
    Atomics.store(storage.counts, storage.seqAt, 1); // a change begun by a thread that died
    const set = new Rangeset(256, storage, 20);
    expect(() => set.contains(0, 0)).toThrow(LockTimeoutError);
    expect(() => set.list()).toThrow(/rangeset not acquired after 20 ms/);
  });

  it('in plain memory, reads and changes go on as before', () => {
    const set = new Rangeset();
    expect(set.add(0x1000, 0x1fff)).toBe(0);
    expect(set.contains(0x1800, 0x1803)).toBe(true);
    expect(set.remove(0x1000, 0x1fff)).toBe(0);
    expect(set.size).toBe(0);
  });
});
