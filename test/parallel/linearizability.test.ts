import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createHypervisor } from '../../src/index.js';
import { checkRingHistory, type RingOp } from '../../src/parallel/linearizability.js';
import { SeededRandom } from '../../src/runtime/random.js';

const send = (invoke: number, ret: number, id: number, size: number, result: 'ok' | 'EAGAIN'): RingOp => ({ kind: 'send', invoke, ret, id, size, result });
const recv = (invoke: number, ret: number, result: { id: number; size: number } | 'empty'): RingOp => ({ kind: 'recv', invoke, ret, result });

describe('the ring linearizability checker (issue #5 item 5)', () => {
  it('accepts a history whose overlapping operations can be ordered to match the sequential ring', () => {
    // two sends overlap; the receiver, overlapping both, sees the second one first: B linearized before A
    const result = checkRingHistory(256, [[send(1, 6, 1, 10, 'ok')], [send(2, 5, 2, 10, 'ok')], [recv(3, 7, { id: 2, size: 10 }), recv(8, 9, { id: 1, size: 10 })]]);
    expect(result).toEqual({ ok: true, order: [[1, 0], [0, 0], [2, 0], [2, 1]] });
  });

  it('rejects a receive of a message sent only after the receive returned', () => {
    const result = checkRingHistory(256, [[send(3, 4, 1, 10, 'ok')], [recv(1, 2, { id: 1, size: 10 })]]);
    expect(result.ok).toBe(false);
  });

  it('rejects reordering of one sender\'s messages and an EAGAIN on a ring with room', () => {
    expect(checkRingHistory(256, [[send(1, 2, 1, 8, 'ok'), send(3, 4, 2, 8, 'ok')], [recv(5, 6, { id: 2, size: 8 })]]).ok).toBe(false);
    expect(checkRingHistory(256, [[send(1, 2, 1, 8, 'EAGAIN')]]).ok).toBe(false);
    // 256-byte ring: three 64-byte messages take 240 bytes; a fourth never fits without a receive
    const full = [send(1, 2, 1, 64, 'ok'), send(3, 4, 2, 64, 'ok'), send(5, 6, 3, 64, 'ok'), send(7, 8, 4, 64, 'EAGAIN')];
    expect(checkRingHistory(256, [full]).ok).toBe(true);
    expect(checkRingHistory(256, [[...full.slice(0, 3), send(7, 8, 4, 64, 'ok')]]).ok).toBe(false);
  });

  it('histories of two senders and a receiver in three worker threads on one small ring are linearizable', async () => {
    const seed = 20261126;
    console.log(`linearizability seed ${seed}`);
    const rng = new SeededRandom(seed);
    const len = 256;
    const hv = createHypervisor({ argo: { enabled: true, macPermissive: true } });
    for (const domid of [1, 2, 3]) hv.createDomain({ domid, memoryBytes: 1 << 20 });
    const control = new SharedArrayBuffer(16);
    const shared = hv.share();
    const opsPerSender = 300;
    const jobs = [
      { role: 'recv', domid: 3, ops: 4000, sizes: [] },
      { role: 'send', domid: 1, ops: opsPerSender, sizes: Array.from({ length: 64 }, () => rng.int(4, 100)) },
      { role: 'send', domid: 2, ops: opsPerSender, sizes: Array.from({ length: 64 }, () => rng.int(4, 100)) },
    ].map((j) => ({ ...j, shared, control, ring: { domid: 3, aport: 9, len }, log: new SharedArrayBuffer(4 * (1 + 6 * 4000)) }));
    await Promise.all(
      jobs.map(
        (job) =>
          new Promise<void>((resolve, reject) => {
            const w = new Worker(new URL('../fixtures/ts-worker.mjs', import.meta.url), { workerData: { entry: new URL('./ring-history.worker.ts', import.meta.url).href, job } });
            w.once('message', () => resolve());
            w.once('error', reject);
          }),
      ),
    );
    const histories = jobs.map((job) => {
      const log = new Int32Array(job.log);
      return Array.from({ length: log[0] }, (_, i): RingOp => {
        const [kind, invoke, ret, id, size, result] = log.subarray(1 + i * 6, 7 + i * 6);
        if (kind === 0) return send(invoke, ret, id, size, result === 1 ? 'ok' : 'EAGAIN');
        return recv(invoke, ret, result === 1 ? { id, size } : 'empty');
      });
    });
    const sent = histories.slice(1).flat().filter((o) => o.kind === 'send' && o.result === 'ok').length;
    const eagain = histories.slice(1).flat().filter((o) => o.kind === 'send' && o.result === 'EAGAIN').length;
    expect(sent).toBeGreaterThan(50);
    expect(eagain).toBeGreaterThan(0); // the ring was full at times: the interesting interleavings happened
    const result = checkRingHistory(len, histories);
    expect(result.ok ? 'linearizable' : result.reason).toBe('linearizable');
  });
});
