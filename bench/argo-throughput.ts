/**
 * Single-thread Argo throughput: sendv + consume for 64 B, 1 KiB and 64 KiB messages, with a plain
 * `Uint8Array.set` of the same bytes in the same run as the memory-speed ceiling (issue #2 item 8).
 *
 *   npm run bench            (or: node dist/bench/argo-throughput.js [--ms 1000])
 *
 * Each message is copied twice on the Argo path — sender memory → ring (by the hypervisor's sendv)
 * and ring → the receiver's buffer (by the guest's consume) — so the table shows both a 1× and a
 * 2× `set` ceiling, and an in-place consume (the receiver reads the payload where it lies).
 */
import os from 'node:os';
import { ArgoGuest, createHypervisor, platformOf, XEN_ARGO_MAX_RING_SIZE } from '../src/index.js';
import { printTable, rate, si } from './table.js';

const SIZES = [64, 1024, 65536];
const BATCH = 64;
const msArg = process.argv.indexOf('--ms');
const RUN_MS = msArg > 0 ? Number(process.argv[msArg + 1]) : 1000;

interface Result {
  size: number;
  argoCopy: number;
  argoInPlace: number;
  set1: number;
  set2: number;
}

function setup(size: number) {
  const ringLen = size >= 4096 ? XEN_ARGO_MAX_RING_SIZE - 64 : 1 << 20;
  const hv = createHypervisor({ argo: { enabled: true } });
  hv.createDomain({ domid: 1, memoryBytes: 8 << 20 });
  hv.createDomain({ domid: 2, memoryBytes: 32 << 20 });
  const sender = new ArgoGuest(platformOf(hv, 1));
  const receiver = new ArgoGuest(platformOf(hv, 2));
  const ring = receiver.registerRing({ aport: 1, partner: 1, len: ringLen });
  const payloadGpa = sender.pages.allocateBytes(size);
  const payload = new Uint8Array(size).map((_, i) => (i * 7 + 3) & 0xff);
  hv.domain(1)!.memory.write(payloadGpa, payload);
  return { sender, receiver, ring, iovs: [{ gpa: payloadGpa, len: size }], dst: { domid: 2, aport: 1 } };
}

/** sendv a batch, then consume the batch and notify once, as a Linux receiver does. */
function argoBench(size: number, inPlace: boolean): number {
  const { sender, receiver, ring, iovs, dst } = setup(size);
  const out = new Uint8Array(inPlace ? 0 : size);
  const step = () => {
    let sent = 0;
    for (; sent < BATCH; sent++) {
      const rc = sender.sendvRaw(dst, iovs);
      if (rc < 0) break;
    }
    let got = 0;
    while (ring.recvInto(out) >= 0) got++;
    if (got !== sent) throw new Error(`bench: sent ${sent} but consumed ${got}`);
    receiver.notify();
    return got;
  };
  for (let i = 0; i < 200; i++) step(); // warm-up
  return rate(RUN_MS, step).perSecond;
}

/** The ceiling: `copies` Uint8Array.set copies of each message between SAB-backed buffers. */
function setBench(size: number, copies: 1 | 2): number {
  const src = new Uint8Array(new SharedArrayBuffer(size)).fill(7);
  const mid = new Uint8Array(new SharedArrayBuffer(size * BATCH));
  const dst = new Uint8Array(new SharedArrayBuffer(size));
  const step = () => {
    for (let i = 0; i < BATCH; i++) {
      mid.set(src, i * size);
      if (copies === 2) dst.set(mid.subarray(i * size, (i + 1) * size));
    }
    return BATCH;
  };
  for (let i = 0; i < 200; i++) step();
  return rate(RUN_MS, step).perSecond;
}

function main(): void {
  const results: Result[] = SIZES.map((size) => ({
    size,
    argoCopy: argoBench(size, false),
    argoInPlace: argoBench(size, true),
    set1: setBench(size, 1),
    set2: setBench(size, 2),
  }));
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`argosim bench: sendv + consume, one thread — ${cpu}, ${os.cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  console.log(`(${RUN_MS} ms per cell, batches of ${BATCH} sends then consume + one notify)\n`);
  const gbps = (perSecond: number, size: number) => `${((perSecond * size) / 1e9).toFixed(2)}`;
  printTable(
    ['size', 'argo msg/s', 'argo GB/s', 'in-place msg/s', 'in-place GB/s', 'set 1x GB/s', 'set 2x GB/s', 'argo / 1x', 'argo / 2x'],
    results.map((r) => [
      r.size >= 1024 ? `${r.size / 1024} KiB` : `${r.size} B`,
      si(r.argoCopy),
      gbps(r.argoCopy, r.size),
      si(r.argoInPlace),
      gbps(r.argoInPlace, r.size),
      gbps(r.set1, r.size),
      gbps(r.set2, r.size),
      `${((100 * r.argoCopy) / r.set1).toFixed(0)}%`,
      `${((100 * r.argoCopy) / r.set2).toFixed(0)}%`,
    ]),
  );
}

main();
