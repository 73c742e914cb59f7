/**
 * Single-thread Argo throughput: sendv + consume for 64 B, 1 KiB and 64 KiB messages, with a plain
 * `Uint8Array.set` of the same bytes over the same memory footprint, in the same run, as the
 * memory-speed ceiling (issue #2 item 8).
 *
 *   npm run bench            (or: node dist/bench/argo-throughput.js [--ms 1500])
 *
 * Each message is copied twice on the Argo path — sender memory → ring (the hypervisor's sendv) and
 * ring → a buffer in the receiver's memory (the guest's consume) — so the table shows a 1× and a 2×
 * `set` ceiling, and an in-place consume (the receiver reads the payload where it lies). Every cell
 * runs in its own Node process so one cell's JIT state cannot colour another's.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { ArgoGuest, createHypervisor, platformOf, XEN_ARGO_MAX_RING_SIZE } from '../src/index.js';
import { printTable, rate, si } from './table.js';

const SIZES = [64, 1024, 65536];
const BATCH = 64;
const WARMUP_MS = 500;
const RUNS = 5;

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
const CELLS = ['argo', 'argo-in-place', 'set-1x', 'set-2x'] as const;
type Cell = (typeof CELLS)[number];

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at > 0 ? process.argv[at + 1] : fallback;
}

/** Ring length for a size: room for two batches, a power of two (minus the header) up to Xen's max. */
function ringLenFor(size: number): number {
  let bytes = 4096;
  while (bytes < 2 * BATCH * (size + 16) && bytes < XEN_ARGO_MAX_RING_SIZE) bytes *= 2;
  return Math.min(bytes, XEN_ARGO_MAX_RING_SIZE) - 64;
}

/** sendv a batch, then consume it into the receiver's own memory and notify once. */
function argoCell(size: number, inPlace: boolean, ms: number): number {
  const ringLen = ringLenFor(size);
  const hv = createHypervisor({ argo: { enabled: true } });
  hv.createDomain({ domid: 1, memoryBytes: 4 << 20 });
  hv.createDomain({ domid: 2, memoryBytes: ringLen + 64 + (4 << 20) });
  const sender = new ArgoGuest(platformOf(hv, 1));
  const receiver = new ArgoGuest(platformOf(hv, 2));
  const ring = receiver.registerRing({ aport: 1, partner: 1, len: ringLen });
  const payloadGpa = sender.pages.allocateBytes(size);
  hv.domain(1)!.memory.write(payloadGpa, new Uint8Array(size).map((_, i) => (i * 7 + 3) & 0xff));
  const outGpa = receiver.pages.allocateBytes(size);
  const out = inPlace ? new Uint8Array(0) : hv.domain(2)!.memory.u8.subarray(outGpa, outGpa + size);
  const iovs = [{ gpa: payloadGpa, len: size }];
  const dst = { domid: 2, aport: 1 };
  const step = () => {
    let sent = 0;
    while (sent < BATCH && sender.sendvRaw(dst, iovs) >= 0) sent++;
    let got = 0;
    while (ring.recvInto(out) >= 0) got++;
    if (got !== sent) throw new Error(`bench: sent ${sent} but consumed ${got}`);
    receiver.notify();
    return got;
  };
  rate(WARMUP_MS, step); // let the JIT settle before measuring
  return rate(ms, step).perSecond;
}

/** The ceiling: `copies` Uint8Array.set copies per message, cycling through a ring-sized buffer. */
function setCell(size: number, copies: 1 | 2, ms: number): number {
  const ringLen = ringLenFor(size);
  const src = new Uint8Array(new SharedArrayBuffer(size)).fill(7);
  const mid = new Uint8Array(new SharedArrayBuffer(ringLen + size));
  const out = new Uint8Array(new SharedArrayBuffer(size));
  let at = 0;
  const step = () => {
    for (let i = 0; i < BATCH; i++) {
      mid.set(src, at);
      if (copies === 2) out.set(mid.subarray(at, at + size));
      at += size + 16;
      if (at + size > ringLen) at = 0;
    }
    return BATCH;
  };
  rate(WARMUP_MS, step);
  return rate(ms, step).perSecond;
}

function runCell(cell: Cell, size: number, ms: number): number {
  if (cell === 'argo') return argoCell(size, false, ms);
  if (cell === 'argo-in-place') return argoCell(size, true, ms);
  return setCell(size, cell === 'set-1x' ? 1 : 2, ms);
}

function main(): void {
  const ms = Number(arg('--ms', '1500'));
  const cell = arg('--cell', '');
  if (cell) {
    console.log(JSON.stringify(runCell(cell as Cell, Number(arg('--size', '64')), ms)));
    return;
  }
  const self = fileURLToPath(import.meta.url);
  const once = (c: Cell, size: number) =>
    Number(execFileSync(process.execPath, [...process.execArgv, self, '--cell', c, '--size', String(size), '--ms', String(ms)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }));
  // V8's concurrent JIT sometimes settles on slower code for a whole process (seen here: 0.8 M vs
  // 1.3 M msg/s for the same cell), so each cell is the median of RUNS processes.
  const measure = (c: Cell, size: number) => median(Array.from({ length: RUNS }, () => once(c, size)));
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`argosim bench: sendv + consume, one thread — ${cpu}, ${os.cpus().length} cores, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
  console.log(`(each cell: median of ${RUNS} processes, ${ms} ms each after ${WARMUP_MS} ms of warm-up; batches of ${BATCH} sends, then consume + one notify)\n`);
  const gbps = (perSecond: number, size: number) => ((perSecond * size) / 1e9).toFixed(2);
  const rows = SIZES.map((size) => {
    const r = Object.fromEntries(CELLS.map((c) => [c, measure(c, size)])) as Record<Cell, number>;
    return [
      size >= 1024 ? `${size / 1024} KiB` : `${size} B`,
      String(ringLenFor(size)),
      si(r.argo),
      gbps(r.argo, size),
      si(r['argo-in-place']),
      gbps(r['argo-in-place'], size),
      gbps(r['set-1x'], size),
      gbps(r['set-2x'], size),
      `${((100 * r.argo) / r['set-1x']).toFixed(0)}%`,
      `${((100 * r.argo) / r['set-2x']).toFixed(0)}%`,
    ];
  });
  printTable(
    ['size', 'ring len', 'argo msg/s', 'argo GB/s', 'in-place msg/s', 'in-place GB/s', 'set 1x GB/s', 'set 2x GB/s', 'argo/1x', 'argo/2x'],
    rows,
  );
}

main();
