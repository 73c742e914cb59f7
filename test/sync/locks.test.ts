import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { bumpUnderLock } from '../fixtures/spin-peer.worker.js';
import { readLock, readUnlock, writeLock, writeUnlock } from '../../src/sync/rwlock.js';
import { spinLock, spinUnlock } from '../../src/sync/spinlock.js';
import { BRLOCK_WORDS, brlockHolders, brReadLock, brReadUnlock, brWriteLock, brWriteUnlock, setReaderSlot } from '../../src/sync/brlock.js';
import { GO, LOCK, PAIR } from '../fixtures/brlock-peer.worker.js';
import { LockTimeoutError } from '../../src/index.js';

const word = () => new Int32Array(new SharedArrayBuffer(4));

describe('rwlock', () => {
  it('admits many readers and no writer while they hold it', () => {
    const w = word();
    readLock(w, 0, 'L1');
    readLock(w, 0, 'L1');
    expect(() => writeLock(w, 0, 'L1', 3)).toThrow(LockTimeoutError);
    readUnlock(w, 0);
    readUnlock(w, 0);
    writeLock(w, 0, 'L1');
    expect(() => readLock(w, 0, 'L1', 3)).toThrow(LockTimeoutError);
    writeUnlock(w, 0);
    expect(w[0]).toBe(0);
  });

  it('a wait on a dead holder ends in a LockTimeoutError naming the lock', () => {
    const w = word();
    writeLock(w, 0, 'rings_L2');
    try {
      writeLock(w, 0, 'rings_L2 of domain 3', 2);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LockTimeoutError);
      expect((e as LockTimeoutError).lockName).toBe('rings_L2 of domain 3');
    }
  });

  it('asserts on releasing a lock that is not held', () => {
    const w = word();
    expect(() => readUnlock(w, 0)).toThrow(/not read-held/);
    expect(() => writeUnlock(w, 0)).toThrow(/not write-held/);
    expect(w[0]).toBe(0);
  });
});

describe('spinlock', () => {
  it('excludes a second holder and is free after release', () => {
    const w = word();
    spinLock(w, 0, 'L3');
    expect(() => spinLock(w, 0, 'L3', 2)).toThrow(LockTimeoutError);
    spinUnlock(w, 0); // the failed waiter marked it contended: release still frees it
    expect(w[0]).toBe(0);
    spinLock(w, 0, 'L3');
    spinUnlock(w, 0);
    expect(() => spinUnlock(w, 0)).toThrow(/not held/);
  });
});

describe('spinlock across threads', () => {
  it('two threads bumping a counter under it 20 000 times each lose no update (its spin, then sleep, paths)', async () => {
    const words = new Int32Array(new SharedArrayBuffer(16));
    const rounds = 20_000;
    const worker = new Worker(new URL('../fixtures/ts-worker.mjs', import.meta.url), {
      workerData: { entry: new URL('../fixtures/spin-peer.worker.ts', import.meta.url).href, words, rounds },
    });
    const said = (what: string) => new Promise<void>((resolve, reject) => {
      worker.on('message', (m) => m === what && resolve());
      worker.once('error', reject);
    });
    await said('ready');
    const done = said('done');
    Atomics.store(words, 2, 1);
    Atomics.notify(words, 2);
    bumpUnderLock(words, rounds); // this thread, at the same time
    await done;
    await worker.terminate();
    expect(words[1]).toBe(2 * rounds);
    expect(words[0]).toBe(0); // free
  });
});

describe('rwlock writer preference', () => {
  it('a waiting writer holds back new readers, and withdraws when it gives up', () => {
    const w = word();
    readLock(w, 0, 'L1');
    expect(() => writeLock(w, 0, 'L1', 2)).toThrow(LockTimeoutError);
    // the writer withdrew its claim: readers go on
    readLock(w, 0, 'L1');
    readUnlock(w, 0);
    // a writer still waiting (its bit set by hand here, as another thread would) blocks new readers
    Atomics.or(w, 0, 1 << 28);
    expect(() => readLock(w, 0, 'L1', 2)).toThrow(LockTimeoutError);
    Atomics.and(w, 0, ~(1 << 28));
    readUnlock(w, 0);
    expect(w[0] & ((1 << 28) - 1)).toBe(0);
  });
});

describe('big-reader lock (L1)', () => {
  const lock = () => new Int32Array(new SharedArrayBuffer(BRLOCK_WORDS * 4));

  it('admits many read holds and no writer while they last; excludes readers while a writer holds it; free after', () => {
    const w = lock();
    brReadLock(w, 0, 'L1');
    brReadLock(w, 0, 'L1'); // this thread twice: its slot counts 2
    expect(brlockHolders(w, 0)).toBe('2 reader(s) in slot 0');
    expect(() => brWriteLock(w, 0, 'L1', 3)).toThrow(LockTimeoutError);
    expect(brlockHolders(w, 0)).toBe('2 reader(s) in slot 0'); // the writer that gave up left nothing set
    brReadUnlock(w, 0);
    brReadUnlock(w, 0);
    brWriteLock(w, 0, 'L1');
    expect(brlockHolders(w, 0)).toBe('writer');
    expect(() => brReadLock(w, 0, 'L1', 3)).toThrow(/lock L1 not acquired after 3 ms/);
    brWriteUnlock(w, 0);
    expect(brlockHolders(w, 0)).toBeNull();
  });

  it('each thread counts itself in its own slot (its own cache line); threads past the slots share one, still counted', () => {
    const w = lock();
    try {
      setReaderSlot(5);
      brReadLock(w, 0, 'L1');
      setReaderSlot(5 + 32); // the same slot as 5
      brReadLock(w, 0, 'L1');
      expect(brlockHolders(w, 0)).toBe('2 reader(s) in slot 5');
      expect(w[16 * 6]).toBe(2); // slot 5's word: a line (16 words) after the writer's, and 5 more
      brReadUnlock(w, 0);
      brReadUnlock(w, 0);
    } finally {
      setReaderSlot(0);
    }
    expect(brlockHolders(w, 0)).toBeNull();
  });

  it('asserts on releasing a hold that is not there', () => {
    const w = lock();
    expect(() => brReadUnlock(w, 0)).toThrow(/not read-held by this thread \(slot 0\)/);
    expect(() => brWriteUnlock(w, 0)).toThrow(/not write-held/);
    expect(brlockHolders(w, 0)).toBeNull();
  });

  it('three reader threads and a writer thread: no reader sees the pair torn, and the writer gets in 2 000 times among them', async () => {
    const words = new Int32Array(new SharedArrayBuffer((PAIR + 2) * 4));
    const rounds = { reader: 20_000, writer: 2_000 };
    const start = (slot: number, role: 'reader' | 'writer') => {
      const worker = new Worker(new URL('../fixtures/ts-worker.mjs', import.meta.url), {
        workerData: { entry: new URL('../fixtures/brlock-peer.worker.ts', import.meta.url).href, words, rounds: rounds[role], slot, role },
      });
      const ready = new Promise<void>((resolve, reject) => {
        worker.once('message', () => resolve());
        worker.once('error', reject);
      });
      const result = ready.then(() => new Promise<{ torn: number }>((resolve) => worker.once('message', resolve)));
      return { worker, ready, result };
    };
    const peers = [start(1, 'reader'), start(2, 'reader'), start(3, 'reader'), start(4, 'writer')];
    await Promise.all(peers.map((p) => p.ready));
    Atomics.store(words, GO, 1);
    Atomics.notify(words, GO);
    const results = await Promise.all(peers.map((p) => p.result));
    await Promise.all(peers.map((p) => p.worker.terminate()));
    expect(results.map((r) => r.torn)).toEqual([0, 0, 0, 0]);
    expect([words[PAIR], words[PAIR + 1]]).toEqual([rounds.writer, rounds.writer]);
    expect(brlockHolders(words, LOCK)).toBeNull();
  });
});
