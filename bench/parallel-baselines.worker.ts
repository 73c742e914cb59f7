// Baseline worker of bench/parallel.ts: in one thread, the sender of pair `send` and the receiver of
// pair `recv`, over either a raw SharedArrayBuffer ring (single producer, single consumer, length-
// prefixed messages, no hypervisor) or a MessagePort (structured clone of each message).
import type { MessagePort } from 'node:worker_threads';

export interface BaselineTask {
  kind: 'sab' | 'port';
  size: number;
  count: number;
  /** Pair sent from this thread: its ring (sab) or port (port). */
  out: SharedArrayBuffer | MessagePort;
  /** Pair received in this thread. */
  in: SharedArrayBuffer | MessagePort;
  /** Start barrier: [ready count]. */
  barrier: SharedArrayBuffer;
  threads: number;
}

const HEAD = 0; // bytes written (monotonic)
const TAIL = 1; // bytes read (monotonic)
const DATA_AT = 64;

export default async function baseline(task: BaselineTask): Promise<{ ms: number }> {
  const barrier = new Int32Array(task.barrier);
  Atomics.add(barrier, 0, 1);
  for (let spins = 0; Atomics.load(barrier, 0) < task.threads; spins++) {
    if (spins > 10_000) throw new Error('baseline barrier timed out');
    Atomics.wait(barrier, 0, Atomics.load(barrier, 0), 1);
  }
  const t0 = performance.now();
  if (task.kind === 'sab') sabPair(task);
  else await portPair(task);
  return { ms: performance.now() - t0 };
}

/** Interleaves sending into `out` and receiving from `in` until both sides are done. */
function sabPair(task: BaselineTask): void {
  const out = ringOf(task.out as SharedArrayBuffer);
  const inn = ringOf(task.in as SharedArrayBuffer);
  const payload = new Uint8Array(task.size).fill(7);
  const scratch = new Uint8Array(task.size);
  const record = 4 + ((task.size + 3) & ~3);
  let sent = 0;
  let received = 0;
  for (let idle = 0; sent < task.count || received < task.count; ) {
    let moved = false;
    while (sent < task.count) {
      const head = out.words[HEAD];
      if (head - Atomics.load(out.words, TAIL) + record > out.cap) break;
      put(out, head, payload, record);
      Atomics.store(out.words, HEAD, head + record); // publish
      sent++;
      moved = true;
    }
    for (let head = Atomics.load(inn.words, HEAD); received < task.count && inn.words[TAIL] < head; ) {
      const tail = inn.words[TAIL];
      take(inn, tail, scratch);
      Atomics.store(inn.words, TAIL, tail + record);
      received++;
      moved = true;
    }
    if (!moved && ++idle > 1e9) throw new Error('raw ring stalled');
  }
}

interface Ring {
  words: Int32Array;
  bytes: Uint8Array;
  cap: number;
}

function ringOf(sab: SharedArrayBuffer): Ring {
  return { words: new Int32Array(sab, 0, 2), bytes: new Uint8Array(sab, DATA_AT), cap: sab.byteLength - DATA_AT };
}

/** Writes a record at logical offset `at` (wrapping). */
function put(r: Ring, at: number, payload: Uint8Array, record: number): void {
  const off = at % r.cap;
  new DataView(r.bytes.buffer, r.bytes.byteOffset).setUint32(off, payload.length, true);
  copyIn(r, (off + 4) % r.cap, payload);
  void record;
}

function copyIn(r: Ring, off: number, src: Uint8Array): void {
  const first = Math.min(src.length, r.cap - off);
  r.bytes.set(src.subarray(0, first), off);
  if (first < src.length) r.bytes.set(src.subarray(first), 0);
}

function take(r: Ring, at: number, out: Uint8Array): void {
  const off = (at % r.cap + 4) % r.cap;
  const first = Math.min(out.length, r.cap - off);
  out.set(r.bytes.subarray(off, off + first));
  if (first < out.length) out.set(r.bytes.subarray(0, out.length - first), first);
}

/** Posts `count` messages on `out` (in batches, yielding) while counting those arriving on `in`. */
function portPair(task: BaselineTask): Promise<void> {
  const out = task.out as MessagePort;
  const inn = task.in as MessagePort;
  const payload = new Uint8Array(task.size).fill(7);
  let received = 0;
  let sent = 0;
  return new Promise((resolve) => {
    const check = () => {
      if (received >= task.count && sent >= task.count) {
        inn.close();
        resolve();
      }
    };
    inn.on('message', () => {
      received++;
      check();
    });
    const burst = () => {
      for (let i = 0; i < 256 && sent < task.count; i++, sent++) out.postMessage(payload);
      if (sent < task.count) setImmediate(burst);
      else check();
    };
    burst();
  });
}
