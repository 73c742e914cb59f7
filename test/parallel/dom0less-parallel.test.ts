import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runParallel } from '../../src/parallel/parallel-system.js';
import { formatParallelRun } from '../../src/parallel/run-command.js';
import { XenbusClient } from '../../src/xenstore/xenbus-client.js';
import { ParallelXenstored } from '../../src/parallel/xenstored-host.js';
import { XenstoredRing } from '../../src/xenstore/xenstored-ring.js';
import { createSystem } from '../../src/runtime/system.js';
import { loadScenario, parseScenario } from '../../src/scenario/load-scenario.js';
import { XENSTORE_ERROR_RINGIDX, XS_IFACE } from '../../src/xenstore/xs-wire.js';
import { HVM_PARAM_STORE_PFN, createHypervisor } from '../../src/xen/hypervisor.js';

// Dom0less guests in the parallel runtime (issue #5, virtio-ioreq-lifecycle.md §6.7 R11): Xen builds
// them at boot with an unbound xenstore port; the main thread's init-dom0less gives each its xenstore
// page and XS_INTRODUCE; the guest's xenbus, in its worker thread, waits for XENSTORE_CONNECTED, writes
// its first request into the page and xenstored answers — real bytes over shared memory, woken by
// event channels across threads.

const CONNECT = /^xenstore-connect: dom0less domain edge wrote 1 request\(s\) to its xenstore ring and got 0 answer\(s\); its xenbus waits for ever: 1 wiped by domain_conn_reset/;

/** The main thread's xenstored and one guest's xenbus, in this thread: each step run by hand. */
function oneThread(notifyBeforeReset: boolean) {
  const hv = createHypervisor({ argo: { enabled: true } });
  hv.createDomain({ domid: 0 });
  hv.createDomain({ domid: 1 });
  const xenstored = new ParallelXenstored(hv, 0, { notifyBeforeReset });
  xenstored.domainCreated(0);
  xenstored.domainCreated(1);
  expect(XenstoredRing.bootDom0less(hv, 1, 0)).toBe(1);
  return { hv, xenstored, xenbus: new XenbusClient(hv, 1, 'edge') };
}

// worker threads on a loaded two-core CI machine: a test here takes up to ~10 s, so 60 s each, not the default 20
describe('dom0less guests in the parallel runtime', { timeout: 60_000 }, () => {
  it('dom0less.yaml on 1 and 2 workers: every message delivered, each guest introduced, its first request answered (ENOENT: no devices), nothing violated', async () => {
    const scenario = loadScenario('scenarios/dom0less.yaml');
    const det = createSystem(scenario).run();
    for (const workers of [1, 2]) {
      const s = await runParallel(scenario, { workers });
      expect(s.messages).toEqual(det.messages);
      expect(s.invariantViolations).toEqual([]);
      const xenbus = s.workers.flatMap((w) => w.xenbus ?? []);
      expect(xenbus.map((x) => x.name).sort()).toEqual(['controller', 'sensor']);
      for (const x of xenbus) expect(x).toMatchObject({ written: 1, answered: 1, firstReply: 'ENOENT', error: 0 });
      expect(formatParallelRun(s)).toContain('sensor (1): 1 request(s) written, 1 answered (ENOENT)');
    }
  });

  it('stress-dom0less-parallel.yaml on 2 workers: nothing lost but to teardown, no violation; every guest no fault touched read its answer', async () => {
    const s = await runParallel(loadScenario('scenarios/stress-dom0less-parallel.yaml'), { workers: 2 });
    expect(s.messages).toMatchObject({ duplicated: 0, corrupted: 0, reordered: 0 });
    expect(s.invariantViolations).toEqual([]);
    expect(s.faults).toMatchObject({ xenstored_live_update: 2, kill: 2, reboot: 1, soft_reset: 1 });
    const xenbus = s.workers.flatMap((w) => w.xenbus ?? []);
    expect(xenbus).toHaveLength(12);
    // a4, b5 killed, b3 soft-reset, b4 rebooted: their first kernels may go before reading their answer
    for (const x of xenbus.filter((x) => !['a4', 'b3', 'b4', 'b5'].includes(x.name))) expect(x).toMatchObject({ written: 1, answered: 1, firstReply: 'ENOENT' });
  }, 60_000);

  it("r11 runs with the historical bug on: every message delivered, and any violation is R11's", async () => {
    const text = readFileSync('scenarios/races/r11-dom0less-introduce.yaml', 'utf8');
    const buggy = parseScenario(text.replace('seed: 9', 'seed: 9\nbugs: { introduceNotifiesBeforeReset: true }'), 'r11-bug.yaml');
    const s = await runParallel(buggy, { workers: 2 });
    expect(s.messages).toMatchObject({ sent: 4, delivered: 4, lost: 0 });
    // the window is the microseconds between introduce_domain and domain_conn_reset in xenstored's
    // thread: a guest on another thread rarely lands in it — the deterministic explorer finds it
    for (const v of s.invariantViolations) expect(v).toMatch(CONNECT);
  });

  it('today\'s xenstored: a guest that looks early sees XENSTORE_RECONNECT and writes nothing; once told, it writes and is answered', () => {
    const { hv, xenstored, xenbus } = oneThread(false);
    xenstored.start();
    expect(xenstored.introduceDomain(1, 'edge')).toBe(true);
    xenbus.event(); // the guest runs between the two steps
    expect(xenbus.figures().written).toBe(0); // RECONNECT still: nothing but `connection` means anything
    xenstored.resetConnection(1);
    xenbus.event(); // the event sent after the reset
    expect(xenbus.figures().written).toBe(1);
    xenstored.serve();
    xenbus.event();
    expect(xenbus.figures()).toMatchObject({ written: 1, answered: 1, firstReply: 'ENOENT' });
    expect(xenstored.violations(() => 1, true)).toEqual([]);
    expect(hv.hvmGetParam(1, HVM_PARAM_STORE_PFN)).toBe(hv.domain(1)!.memory.pages - 1);
    xenstored.stop();
  });

  it('with introduceNotifiesBeforeReset, a guest that runs between the steps writes into a ring the reset wipes: xenstore-connect names it', () => {
    const { xenstored, xenbus } = oneThread(true);
    xenstored.introduceDomain(1, 'edge');
    xenbus.event(); // the guest runs between the two steps
    xenstored.resetConnection(1);
    expect(xenbus.figures().written).toBe(1);
    xenstored.serve(); // nothing to read: the request is gone
    xenbus.event();
    expect(xenbus.figures().answered).toBe(0);
    expect(xenstored.connectionOf(1)).toMatchObject({ answered: 0, wiped: 1 });
    expect(xenstored.violations(() => xenbus.figures().written, false)).toEqual([]); // judged at an idle end only
    const [v] = xenstored.violations(() => xenbus.figures().written, true);
    expect(v).toMatch(CONNECT);
    // the guest destroyed: its connection is over, nothing to report
    xenstored.domainDead(1);
    expect(xenstored.violations(() => 1, true)).toEqual([]);
  });

  it('a live update: a request written while xenstored is down waits in the ring and is answered once the new xenstored has read its state', () => {
    const { xenstored, xenbus } = oneThread(false);
    xenstored.start();
    xenstored.initDom0less(1, 'edge');
    xenstored.liveUpdate();
    xenbus.event(); // connected: the guest writes its first request and sends
    xenstored.serve(); // the old xenstored is gone: nothing served
    xenbus.event();
    expect(xenbus.figures()).toMatchObject({ written: 1, answered: 0 });
    xenstored.liveUpdateRestore(String);
    xenbus.event();
    expect(xenbus.figures()).toMatchObject({ written: 1, answered: 1, firstReply: 'ENOENT' });
    expect(xenstored.exited).toBeUndefined();
    xenstored.stop();
  });

  it('a guest that breaks its ring indexes is ignored by xenstored (XENSTORE_ERROR_RINGIDX in the page), not served, and nothing crashes', () => {
    const { hv, xenstored, xenbus } = oneThread(false);
    xenstored.initDom0less(1, 'edge');
    xenbus.event();
    const memory = hv.domain(1)!.memory;
    const page = (memory.pages - 1) * 4096;
    memory.view.setUint32(page + XS_IFACE.req_prod, 99_999, true);
    xenstored.serve();
    expect(xenstored.connectionOf(1)).toMatchObject({ answered: 0, error: XENSTORE_ERROR_RINGIDX });
    expect(memory.view.getUint32(page + XS_IFACE.error, true)).toBe(XENSTORE_ERROR_RINGIDX);
    xenbus.event();
    expect(xenbus.figures().error).toBe(XENSTORE_ERROR_RINGIDX);
    expect(xenstored.settled(() => true)).toBe(true);
    // the rsp indexes broken instead: the same
    const other = oneThread(false);
    other.xenstored.initDom0less(1, 'edge');
    other.xenbus.event();
    const mem = other.hv.domain(1)!.memory;
    mem.view.setUint32(page + XS_IFACE.rsp_prod, 77_777, true);
    other.xenstored.serve();
    expect(other.xenstored.connectionOf(1)).toMatchObject({ answered: 1, error: XENSTORE_ERROR_RINGIDX });
    expect(other.xenstored.settled(() => true)).toBe(true);
  });

  it('a dom0less guest too small for its xenstore page is refused at its line; a worker that dies booting fails the run at once, saying why', async () => {
    const text = readFileSync('scenarios/races/r11-dom0less-introduce.yaml', 'utf8');
    expect(() => parseScenario(text.replace('{ name: edge, memory: 1MiB, dom0less: true }', '{ name: edge, memory: 12KiB, dom0less: true }'), 'small.yaml')).toThrow(
      /small\.yaml:\d+:\d+: domains\[1\]\.memory: edge has 3 pages; a dom0less guest needs 4 \(frame 0, two scratch pages, its xenstore page\): give it at least 16KiB/,
    );
    // past the loader (an embedding program's own scenario object): the worker cannot boot the guest
    const scenario = parseScenario(text, 'r11.yaml');
    const tooSmall = { ...scenario, rings: [], workloads: [], domains: scenario.domains.map((d) => (d.name === 'edge' ? { ...d, memoryBytes: 8192 } : d)) };
    await expect(runParallel(tooSmall, { workers: 1 })).rejects.toThrow(/parallel runtime: worker 0 died booting its guests \(dom0, edge\): RangeError: PageAllocator needs at least 2 pages/);
  });
});
