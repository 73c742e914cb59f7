// Baseline worker of bench/parallel.ts: in one thread, the sender of pair `send` and the receiver of
// pair `recv`, over a raw SharedArrayBuffer ring (single producer, single consumer, length-prefixed
// messages, no hypervisor), over Argo itself without the runtime (the hypercall path alone: sendv
// into the receiver's ring, the receiver's copy-out and notify, no actors, no run log, no VIRQ
// bridge), or over a MessagePort (structured clone of each message).
import type { MessagePort } from 'node:worker_threads';
import { ArgoGuest, attachHypervisor, platformOf } from '../src/index.js';
import { setReaderSlot } from '../src/sync/brlock.js';
import { ERRNO } from '../src/xen/errno.js';
import type { SharedHypervisor } from '../src/xen/hypervisor.js';

export interface BaselineTask {
  kind: 'sab' | 'argo' | 'port';
  size: number;
  count: number;
  /** Pair sent from this thread: its ring (sab) or port (port); argo: the shared hypervisor. */
  out: SharedArrayBuffer | MessagePort | SharedHypervisor;
  /** Pair received in this thread (argo: unused, the hypervisor is `out`). */
  in: SharedArrayBuffer | MessagePort | null;
  /** argo: the sender of the pair sent from here and its receiver (`dst`), the receiver of the pair received here and its sender (`partner`), this thread's L1 reader slot. */
  domains?: { sender: number; dst: number; receiver: number; partner: number; ringLen: number; slot: number };
  /** Start barrier: [ready count]. */
  barrier: SharedArrayBuffer;
  threads: number;
}

const HEAD = 0; // bytes written (monotonic)
const TAIL = 1; // bytes read (monotonic)
const DATA_AT = 64;

export default async function baseline(task: BaselineTask): Promise<{ ms: number }> {
  const barrier = new Int32Array(task.barrier);
  const argo = task.kind === 'argo' ? argoEnds(task) : null; // its ring registered before anyone sends
  Atomics.add(barrier, 0, 1);
  for (let spins = 0; Atomics.load(barrier, 0) < task.threads; spins++) {
    if (spins > 10_000) throw new Error('baseline barrier timed out');
    Atomics.wait(barrier, 0, Atomics.load(barrier, 0), 1);
  }
  const t0 = performance.now();
  if (task.kind === 'sab') sabPair(task);
  else if (argo) argoPair(task, argo);
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

interface ArgoEnds {
  sender: ArgoGuest;
  receiver: ArgoGuest;
  ring: ReturnType<ArgoGuest['registerRing']>;
  iovs: Array<{ gpa: number; len: number }>;
  dst: { domid: number; aport: number };
  out: Uint8Array;
}

/**
 * This thread's view of the hypervisor, the sender of the pair sent from here (its payload staged
 * once in its memory) and the receiver of the pair received here, its ring registered.
 */
function argoEnds(task: BaselineTask): ArgoEnds {
  const d = task.domains!;
  setReaderSlot(d.slot);
  const hv = attachHypervisor(task.out as SharedHypervisor);
  const sender = new ArgoGuest(platformOf(hv, d.sender));
  const receiver = new ArgoGuest(platformOf(hv, d.receiver));
  const ring = receiver.registerRing({ aport: 1, partner: d.partner, len: d.ringLen });
  const gpa = sender.pages.allocateBytes(task.size);
  hv.domain(d.sender)!.memory.write(gpa, new Uint8Array(task.size).fill(7));
  const outGpa = receiver.pages.allocateBytes(task.size);
  const out = hv.domain(d.receiver)!.memory.u8.subarray(outGpa, outGpa + task.size);
  return { sender, receiver, ring, iovs: [{ gpa, len: task.size }], dst: { domid: d.dst, aport: 1 }, out };
}

/**
 * The hypercall path alone, interleaved as `sabPair` is: sendv until the ring is full (EAGAIN, a
 * space-wait queued), then copy out what arrived in this thread's ring and notify once.
 */
function argoPair(task: BaselineTask, e: ArgoEnds): void {
  let sent = 0;
  let received = 0;
  for (let idle = 0; sent < task.count || received < task.count; ) {
    let moved = false;
    for (let rc = 0; sent < task.count && (rc = e.sender.sendvRaw(e.dst, e.iovs)) !== -ERRNO.EAGAIN; ) {
      if (rc < 0) throw new Error(`argo baseline: sendv to domain ${e.dst.domid} failed with ${rc}`); // not a full ring: it would never end
      sent++;
      moved = true;
    }
    let got = 0;
    while (received < task.count && e.ring.recvInto(e.out) >= 0) {
      received++;
      got++;
    }
    if (got > 0) {
      e.receiver.notify();
      moved = true;
    }
    if (!moved && ++idle > 1e9) throw new Error('argo baseline stalled');
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
