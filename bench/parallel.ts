// npm run bench:parallel — total messages/s of the parallel runtime for 1, 2, 4 and 8 workers at 64 B
// and 4 KiB, with three baselines run between the same threads (one piscina pool per worker count) and
// with the same placement: a raw SharedArrayBuffer ring (no hypervisor), the Argo core alone (the
// hypercall path with no runtime around it: what a faithful sendv and copy-out cost between these
// threads) and MessagePort postMessage.
// Pair i: a sender domain on worker i, its receiver on worker (i + 1) mod N (the same thread when
// N = 1). Each of the four (argosim and the three baselines) runs once as a warm-up on those
// threads, then is timed. A second table: block requests/s of virtio-blk disks over VirtIO-Argo and over virtio-mmio (IOREQ), guest i on
// worker i and its driver domain on worker i + 1. Results go to docs/performance.md; this is never a test.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { MessageChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { poolFor, runParallel } from '../src/parallel/parallel-system.js';
import { createHypervisor } from '../src/xen/hypervisor.js';
import type { Placement } from '../src/parallel/placement.js';
import { parseScenario } from '../src/scenario/load-scenario.js';
import type { BaselineTask } from './parallel-baselines.worker.js';
import { positiveFlag, printTable, si } from './table.js';

// npm run bench:parallel -- [--workers 1,2] [--messages 200000] [--messages-4k 40000]: the worker
// counts, and the messages per pair at 64 B and at 4 KiB (defaults 20 000 and 4 000: at those counts
// much of a worker's time is still JIT warm-up; larger counts measure the steady state)
const { values: args } = parseArgs({ options: { workers: { type: 'string' }, messages: { type: 'string' }, 'messages-4k': { type: 'string' }, requests: { type: 'string' } } });
const positive = (flag: string, text: string | undefined, fallback: number) => positiveFlag('bench:parallel', flag, text, fallback);
const WORKER_COUNTS = (args.workers ?? '1,2,4,8').split(',').map((w) => positive('workers', w, 1));
const SIZES = [64, 4096];
const RING_LEN = 65536 - 64;
const MESSAGES_64 = positive('messages', args.messages, 20_000);
const MESSAGES_4K = positive('messages-4k', args['messages-4k'], 4_000);
const countFor = (size: number) => (size <= 64 ? MESSAGES_64 : MESSAGES_4K);
// --requests: block requests per guest in the VirtIO-Argo table (default 4 000)
const REQUESTS = positive('requests', args.requests, 4_000);

/** N sender → receiver pairs, unpaced, one ring each. */
function pairsScenario(pairs: number, size: number, count: number): string {
  const domains = Array.from({ length: pairs }, (_, i) => `  - { name: s${i}, memory: 4MiB }\n  - { name: r${i}, memory: 4MiB }`).join('\n');
  const rings = Array.from({ length: pairs }, (_, i) => `  - { owner: r${i}, port: 1, partner: s${i}, len: ${RING_LEN} }`).join('\n');
  const workloads = Array.from({ length: pairs }, (_, i) => `  - { from: s${i}, to: { domain: r${i}, port: 1 }, count: ${count}, size: ${size} }`).join('\n');
  return `name: bench-pairs\nseed: 1\nboot: { argo: true }\nxsm: { mode: dummy }\ndomains:\n${domains}\nrings:\n${rings}\nworkloads:\n${workloads}\n`;
}

/**
 * N guests, each with a virtio-blk disk over VirtIO-Argo or virtio-mmio served by a driver domain of
 * its own (the device model, an IOREQ server of the guest, for virtio-mmio; dom0, last, is the
 * control domain libxl needs for it), the workload unpaced (seeded reads, writes and flushes of 1–16
 * sectors, every byte read checked).
 */
function disksScenario(pairs: number, requests: number, transport: 'argo' | 'mmio'): string {
  const domains = Array.from({ length: pairs }, (_, i) => `  - { name: g${i}, memory: 8MiB }\n  - { name: d${i}, memory: 16MiB }`).join('\n');
  const devices = Array.from({ length: pairs }, (_, i) => `  - { name: vd${i}, type: virtio-blk, transport: ${transport}, frontend: g${i}, backend: d${i}, disk: 4MiB, queueSize: 64, requests: ${requests} }`).join('\n');
  const dom0 = transport === 'mmio' ? '\n  - { name: dom0, domid: 0, memory: 1MiB }' : '';
  return `name: bench-disks\nseed: 1\nboot: { argo: true }\nxsm: { mode: dummy }\ndomains:\n${domains}${dom0}\ndevices:\n${devices}\n`;
}

/** Domains in scenario order s0 r0 s1 r1 …: sender i on worker i, receiver i on worker i + 1. */
const pairPlacement: Placement = (domids, workers) => domids.map((_, k) => (Math.floor(k / 2) + (k % 2)) % workers);

async function argosim(pool: Piscina, workers: number, size: number): Promise<number> {
  const count = countFor(size);
  const scenario = parseScenario(pairsScenario(workers, size, count), 'bench-pairs.yaml');
  const s = await runParallel(scenario, { workers, placement: pairPlacement, idleMs: 500, pool });
  if (s.invariantViolations.length > 0 || s.messages.delivered !== workers * count) throw new Error(`bench run went wrong: ${JSON.stringify(s.messages)} ${s.invariantViolations[0] ?? ''}`);
  return s.messages.delivered / (s.wallMs / 1000);
}

/** Block requests completed per second, front ends on worker i and their back ends on worker i + 1. */
async function disks(pool: Piscina, workers: number, transport: 'argo' | 'mmio'): Promise<{ rate: number; bytes: number; ioreqs: number }> {
  const scenario = parseScenario(disksScenario(workers, REQUESTS, transport), 'bench-disks.yaml');
  const s = await runParallel(scenario, { workers, placement: pairPlacement, idleMs: 500, pool });
  const ok = (s.devices ?? []).reduce((n, d) => n + d.requestsOk, 0);
  if (s.invariantViolations.length > 0 || ok !== workers * REQUESTS) throw new Error(`bench run went wrong: ${ok} requests ok ${s.invariantViolations[0] ?? ''}`);
  const bytes = (s.devices ?? []).reduce((n, d) => n + d.bytes, 0);
  const ioreqs = transport === 'mmio' ? (s.devices ?? []).reduce((n, d) => n + d.requests, 0) : 0;
  return { rate: ok / (s.wallMs / 1000), bytes: bytes / (s.wallMs / 1000), ioreqs: ioreqs / (s.wallMs / 1000) };
}

const BASELINE_WORKER = new URL('./parallel-baselines.worker.js', import.meta.url).href;

/** Pair i of the Argo-core baseline: sender domain 2i + 1, receiver 2i + 2 (domain 0 is not needed). */
const argoSender = (pair: number) => 2 * pair + 1;

/** A hypervisor with every pair's two domains, shared with the workers (their rings registered there). */
function pairsHypervisor(workers: number) {
  const hv = createHypervisor({ argo: { enabled: true }, maxDomains: Math.max(8, 2 * workers + 1) });
  for (let i = 0; i < workers; i++) {
    hv.createDomain({ domid: argoSender(i), memoryBytes: 1 << 20 });
    hv.createDomain({ domid: argoSender(i) + 1, memoryBytes: 2 << 20 }); // room for its 64 KiB ring
  }
  return hv.share();
}

async function baseline(pool: Piscina, kind: 'sab' | 'argo' | 'port', workers: number, size: number): Promise<number> {
  const count = countFor(size);
  const barrier = new SharedArrayBuffer(4);
  const shared = kind === 'argo' ? pairsHypervisor(workers) : null;
  const links = shared ? [] : Array.from({ length: workers }, () => (kind === 'sab' ? { sab: new SharedArrayBuffer(64 + RING_LEN) } : { channel: new MessageChannel() }));
  const times = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const theirPair = (w - 1 + workers) % workers; // pair w-1's receiver lives here
      const domains = { sender: argoSender(w), dst: argoSender(w) + 1, receiver: argoSender(theirPair) + 1, partner: argoSender(theirPair), ringLen: RING_LEN, slot: w + 1 };
      const [mine, theirs] = [links[w], links[theirPair]];
      const task: BaselineTask = shared
        ? { kind, size, count, out: shared, in: null, domains, barrier, threads: workers }
        : { kind, size, count, out: 'sab' in mine ? mine.sab! : mine.channel!.port1, in: 'sab' in theirs ? theirs.sab! : theirs.channel!.port2, barrier, threads: workers };
      const transferList = kind === 'port' ? ([task.out, task.in].filter((p, i, all) => all.indexOf(p) === i) as never[]) : [];
      return pool.run(task, { transferList, filename: BASELINE_WORKER }) as Promise<{ ms: number }>;
    }),
  );
  // timed inside the workers from a common start barrier, as argosim's wall time starts once all are ready
  return (workers * count) / (Math.max(...times.map((t) => t.ms)) / 1000);
}

/** Scaling efficiency against one worker's rate (— when --workers left 1 out). */
const efficiency = (rate: number, workers: number, base: number) => (base > 0 ? `${Math.round((100 * rate) / (workers * base))}%` : '—');

const rows: string[][] = [];
for (const size of SIZES) {
  let one = 0;
  for (const workers of WORKER_COUNTS) {
    const pool = poolFor(workers);
    // each measured run follows a warm-up on the same threads: code compiled, threads started
    const timed = async (run: () => Promise<number>) => (await run(), await run());
    const a = await timed(() => argosim(pool, workers, size));
    const sab = await timed(() => baseline(pool, 'sab', workers, size));
    const core = await timed(() => baseline(pool, 'argo', workers, size));
    const port = await timed(() => baseline(pool, 'port', workers, size));
    await pool.destroy();
    if (workers === 1) one = a;
    rows.push([
      size === 64 ? '64 B' : '4 KiB',
      String(workers),
      si(a),
      si(core),
      si(sab),
      si(port),
      `${Math.round((100 * a) / sab)}%`,
      `${Math.round((100 * core) / sab)}%`,
      efficiency(a, workers, one),
    ]);
  }
}
console.log(`machine: ${cpus()[0]?.model ?? '?'} × ${cpus().length} cores; Node ${process.version}; ${new Date().toISOString().slice(0, 10)}; ${MESSAGES_64} messages per pair at 64 B, ${MESSAGES_4K} at 4 KiB`);
printTable(['size', 'workers', 'argosim msg/s', 'Argo core msg/s', 'raw SAB ring msg/s', 'MessagePort msg/s', 'argosim/raw', 'core/raw', 'scaling eff.'], rows);

// virtio-blk across threads, over VirtIO-Argo and over virtio-mmio: guest i's disk served by driver
// domain i on the next worker (the same thread with one worker); each run once as a warm-up on the
// same threads, then timed
const deviceRows: string[][] = [];
const one = { argo: 0, mmio: 0 };
for (const workers of WORKER_COUNTS) {
  const pool = poolFor(workers);
  const timed = async (transport: 'argo' | 'mmio') => (await disks(pool, workers, transport), disks(pool, workers, transport));
  const a = await timed('argo');
  const m = await timed('mmio');
  await pool.destroy();
  if (workers === 1) Object.assign(one, { argo: a.rate, mmio: m.rate });
  deviceRows.push([String(workers), si(a.rate), `${si(a.bytes)}B`, efficiency(a.rate, workers, one.argo), si(m.rate), si(m.ioreqs), efficiency(m.rate, workers, one.mmio)]);
}
console.log(`\nvirtio-blk across threads: ${REQUESTS} requests per guest, one guest and one driver domain per worker`);
printTable(['workers', 'Argo blk req/s', 'Argo payload/s', 'scaling', 'mmio blk req/s', 'ioreqs/s', 'scaling'], deviceRows);
