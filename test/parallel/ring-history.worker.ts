// A thread of the linearizability test: a sender (sendv of numbered messages, EAGAIN recorded and
// retried as the next operation) or the receiver (registers the ring, then takes messages), each
// operation stamped with the shared clock before it is invoked and after it returns.
import { parentPort, workerData } from 'node:worker_threads';
import { ArgoGuest, attachHypervisor, ERRNO, platformOf, VIRQ_ARGO, type SharedHypervisor } from '../../src/index.js';

interface Job {
  shared: SharedHypervisor;
  role: 'send' | 'recv';
  domid: number;
  ring: { domid: number; aport: number; len: number };
  ops: number;
  sizes: number[];
  /** [clock, ring registered, senders done, threads ready] */
  control: SharedArrayBuffer;
  log: SharedArrayBuffer;
}
const job = workerData.job as Job;
const control = new Int32Array(job.control);
const log = new Int32Array(job.log); // word 0: ops written; then 6 words per op
const hv = attachHypervisor(job.shared);
const guest = new ArgoGuest(platformOf(hv, job.domid));
const stamp = () => Atomics.add(control, 0, 1) + 1;
const record = (kind: number, invoke: number, ret: number, id: number, size: number, result: number) => {
  const at = 1 + log[0] * 6;
  log.set([kind, invoke, ret, id, size, result], at);
  log[0]++;
};
const waitFor = (index: number, value: number) => {
  for (let spins = 0; Atomics.load(control, index) < value; spins++) {
    if (spins > 5000) throw new Error(`timed out waiting for control word ${index} to reach ${value}`);
    Atomics.wait(control, index, Atomics.load(control, index), 1);
  }
};

if (job.role === 'recv') {
  const ring = guest.registerRing({ aport: job.ring.aport, len: job.ring.len });
  Atomics.store(control, 1, 1);
  Atomics.notify(control, 1);
  Atomics.add(control, 3, 1);
  waitFor(3, 3);
  const out = new Uint8Array(job.ring.len);
  for (let i = 0, idle = 0; i < job.ops; i++) {
    // wait (unrecorded, bounded) for tx to move, so the history is not mostly empty receives
    while (ring.isEmpty() && Atomics.load(control, 2) < 2 && idle++ < 50_000_000);
    const invoke = stamp();
    const n = ring.recvInto(out);
    const ret = stamp();
    const id = n >= 4 ? new DataView(out.buffer).getUint32(0, true) : 0;
    record(1, invoke, ret, id, Math.max(n, 0), n < 0 ? 0 : 1);
    if (n >= 0) guest.notify();
    if (Atomics.load(control, 2) === 2 && ring.isEmpty()) break;
  }
} else {
  waitFor(1, 1);
  Atomics.add(control, 3, 1);
  waitFor(3, 3); // all three threads start together
  const dst = { domid: job.ring.domid, aport: job.ring.aport };
  let seq = 0;
  for (let i = 0; i < job.ops; i++) {
    const size = job.sizes[seq % job.sizes.length];
    const payload = new Uint8Array(size);
    const id = (job.domid << 16) | seq;
    new DataView(payload.buffer).setUint32(0, id, true);
    const iov = guest.stageIov(payload);
    const invoke = stamp();
    const rc = guest.sendvRaw(dst, [iov]);
    const ret = stamp();
    if (rc !== size && rc !== -ERRNO.EAGAIN) throw new Error(`sendv ${id}: ${rc}`);
    record(0, invoke, ret, id, size, rc === size ? 1 : 0);
    if (rc === size) seq++;
    else {
      hv.waitVirqSync(job.domid, VIRQ_ARGO, 2); // the EAGAIN queued a space-wait: the receiver's notify wakes us
      hv.clearVirq(job.domid, VIRQ_ARGO);
    }
  }
  Atomics.add(control, 2, 1);
}
parentPort!.postMessage('done');
