/**
 * The IOREQ state is shared memory (src/ioreq/tables.ts): a guest's vCPU sends from one thread and
 * its device model answers from another, against the same servers, slots and ports — as in Xen, where
 * ioreq_send runs on the guest's vCPU and QEMU on dom0's. Every wait is bounded.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { createHypervisor } from '../../src/xen/hypervisor.js';
import { createIoreq, type Ioreq } from '../../src/ioreq/ioreq.js';
import { IOREQ_READ, IOREQ_TYPE_COPY, IOREQ_WRITE } from '../../src/ioreq/constants.js';
import type { AccessResult } from '../../src/ioreq/send.js';

const BASE = 0x2000000;
const TARGET = 1;

function host(vcpus: number) {
  const hv = createHypervisor({ maxDomains: 8, gfnArenaPages: 64 });
  hv.createDomain({ domid: 0, memoryBytes: 1 << 16 });
  hv.createDomain({ domid: TARGET, vcpus, memoryBytes: 1 << 20 });
  hv.createDomain({ domid: 2, memoryBytes: 1 << 16 });
  for (const d of [0, TARGET, 2]) hv.domctl.unpause(d);
  return { hv, ioreq: createIoreq(hv) };
}

/**
 * The device model's worker: `ready` (its server id and ports), then `done` (what it served). A
 * worker that fails or exits early rejects both at once; `stop` ends it whatever happened — its exit
 * then rejects nothing, and a `done` no test awaited is never an unhandled rejection (a stop that
 * came before the worker's last message once failed a CI run with "device model worker exited (1)").
 */
function emulator(hv: ReturnType<typeof host>['hv'], ioreq: Ioreq, data: Record<string, unknown>) {
  const worker = new Worker(new URL('../fixtures/ts-worker.mjs', import.meta.url), {
    workerData: { entry: new URL('../fixtures/ioreq-emulator.worker.ts', import.meta.url).href, shared: hv.share(), ioreqBuffers: ioreq.share(), base: BASE, ...data },
  });
  const messages: Array<Promise<Record<string, unknown>>> = [];
  const settle: Array<{ resolve(m: Record<string, unknown>): void; reject(e: unknown): void }> = [];
  for (let i = 0; i < 2; i++) messages.push(new Promise((resolve, reject) => settle.push({ resolve, reject })));
  for (const m of messages) m.catch(() => {}); // awaited, they still reject
  let heard = 0;
  let stopping = false;
  worker.on('message', (m) => settle[heard++]?.resolve(m));
  worker.on('error', (e) => settle.forEach((p) => p.reject(e)));
  worker.on('exit', (code) => {
    if (!stopping) settle.forEach((p) => p.reject(new Error(`device model worker exited (${code}) after ${heard} message(s)`)));
  });
  const stop = () => {
    stopping = true;
    return worker.terminate();
  };
  return { ready: messages[0], done: () => messages[1], stop };
}

/** The vCPU's trapped access, then (blocked) bounded waits for its wake until `resume` lets it run: the read's value. */
function emulate(ioreq: Ioreq, vcpu: number, dir: number, data?: bigint): bigint | undefined {
  const seen = ioreq.vcpuWakes(TARGET);
  const r: AccessResult = ioreq.access(TARGET, vcpu, { type: IOREQ_TYPE_COPY, addr: BASE + 8 * vcpu, size: 8, dir, data });
  expect(r.kind).toBe('blocked');
  expect(ioreq.sendReturned(TARGET, vcpu)).toBe('waiting');
  return complete(ioreq, vcpu, seen);
}

function complete(ioreq: Ioreq, vcpu: number, seen: number): bigint | undefined {
  for (let idle = 0; idle < 100; ) {
    const r = ioreq.resume(TARGET, vcpu);
    if (r.kind === 'done') return r.data;
    expect(r.kind).toBe('blocked');
    if (ioreq.waitVcpuWake(TARGET, seen, 50) === 'timed-out') idle++;
    seen = ioreq.vcpuWakes(TARGET);
  }
  throw new Error(`vCPU ${vcpu}: no answer in 5 s`);
}

describe('IOREQ across threads', () => {
  it('a vCPU here, its device model in a worker: 500 writes and reads of a register, every answer right', async () => {
    const { hv, ioreq } = host(1);
    const rounds = 500;
    const dm = emulator(hv, ioreq, { rounds: 2 * rounds });
    try {
    await dm.ready;
    for (let i = 0; i < rounds; i++) {
      // an MMIO write needs completion too (§5.4): the vCPU waits for it; the slot still holds what it wrote
      expect(emulate(ioreq, 0, IOREQ_WRITE, BigInt(i) * 0x100000001n)).toBe(BigInt(i) * 0x100000001n);
      expect(emulate(ioreq, 0, IOREQ_READ)).toBe(BigInt(i) * 0x100000001n + 1n);
    }
    expect((await dm.done()).served).toBe(2 * rounds);
    expect(ioreq.vcpuIoState(TARGET, 0)).toBe(0);
    } finally {
      await dm.stop();
    }
  });

  it('two vCPUs with requests out at once: each answered on its own port, with its own register', async () => {
    const { hv, ioreq } = host(2);
    const rounds = 200;
    const dm = emulator(hv, ioreq, { rounds: 2 * 2 * rounds });
    try {
    await dm.ready;
    for (let i = 0; i < rounds; i++) {
      for (const dir of [IOREQ_WRITE, IOREQ_READ]) {
        const seen = ioreq.vcpuWakes(TARGET);
        for (const vcpu of [0, 1]) {
          const r = ioreq.access(TARGET, vcpu, { type: IOREQ_TYPE_COPY, addr: BASE + 8 * vcpu, size: 8, dir, data: BigInt(1000 * vcpu + i) });
          expect(r.kind).toBe('blocked');
        }
        const answers = [complete(ioreq, 0, seen), complete(ioreq, 1, seen)];
        expect(answers).toEqual(dir === IOREQ_READ ? [BigInt(i) + 1n, BigInt(1000 + i) + 1n] : [BigInt(i), BigInt(1000 + i)]);
      }
    }
    expect((await dm.done()).served).toBe(4 * rounds);
    } finally {
      await dm.stop();
    }
  });

  it('two device models in two threads bring up servers for one guest at once: distinct ids, ports and references', async () => {
    const { hv, ioreq } = host(2);
    ioreq.setDeviceModel(TARGET, 2); // XEN_DOMCTL_set_target: dom2 is the guest's device model, dom0 is privileged anyway
    const dms = [emulator(hv, ioreq, { rounds: 0, dm: 0 }), emulator(hv, ioreq, { rounds: 0, dm: 2 })];
    try {
      const up = await Promise.all(dms.map((d) => d.ready));
      expect(up.map((u) => u.ready).sort()).toEqual([0, 1]);
      const servers = ioreq.servers(TARGET);
      expect(servers.map((s) => s.emulator).sort()).toEqual([0, 2]);
      const ports = servers.flatMap((s) => s.vcpus.map((v) => v.port));
      expect(new Set(ports).size).toBe(4); // no port handed out twice
      expect(ioreq.emulatorReferences().map((r) => r.domid).sort()).toEqual([0, 2]);
    } finally {
      await Promise.all(dms.map((d) => d.stop()));
    }
  });

  it('§5.9: the device model destroys its server while the vCPU waits: the vCPU wakes, its read gets all-ones', async () => {
    const { hv, ioreq } = host(1);
    const dm = emulator(hv, ioreq, { rounds: 100, destroyAfter: 10 });
    try {
    await dm.ready;
    for (let i = 0; i < 5; i++) {
      emulate(ioreq, 0, IOREQ_WRITE, 7n);
      expect(emulate(ioreq, 0, IOREQ_READ)).toBe(8n);
    }
    expect(emulate(ioreq, 0, IOREQ_READ)).toBe(0xffffffffffffffffn); // its server went away unanswered
    expect(await dm.done()).toEqual({ served: 10, destroyed: true });
    expect(ioreq.servers(TARGET)).toEqual([]); // gone in this thread's view too
    expect(ioreq.emulatorReferences()).toEqual([]);
    expect(ioreq.takeEmulatorEvents(0)).toEqual([]); // the closed port's pending flag went with it
    } finally {
      await dm.stop();
    }
  });
});
