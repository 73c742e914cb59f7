import { describe, expect, it } from 'vitest';
import { runParallel, type ParallelRunSummary } from '../../src/parallel/parallel-system.js';
import { createSystem } from '../../src/runtime/system.js';
import { loadScenario, parseScenario } from '../../src/scenario/load-scenario.js';

// VirtIO-Argo devices in the parallel runtime: each device's back end (transport, device model,
// actor) runs in the thread of its back-end domain, its front end (transport, actor, the guest's
// driver and workload) in the thread of its front-end domain; every byte crosses as Argo sendv over
// the shared rings. The guest checks every block read against its reference image and every echo
// against the frame it sent, as in the deterministic runtime.

const driverDomain = `name: backend-reboot
seed: 5
boot: { argo: true, macPermissive: true }
xsm: { mode: dummy }
domains:
  - { name: dom0, domid: 0, control: true, memory: 1MiB }
  - { name: blkback, memory: 8MiB }
  - { name: guest, memory: 4MiB }
devices:
  - { name: vda, type: virtio-blk, frontend: guest, backend: blkback, disk: 1MiB, queueSize: 64, requests: 600, rate: 1ms }
  - { name: vif, type: virtio-net, frontend: guest, backend: blkback, port: 0x56410002, bridge: br0, queueSize: 64, requests: 300, rate: 1ms }
`;

type Device = NonNullable<ParallelRunSummary['devices']>[number];
const byName = (s: { devices?: Device[] }) => Object.fromEntries((s.devices ?? []).map((d) => [d.name, d]));
/** blkback (scenario index 1) on worker 1, the other domains on worker 0. */
const backendApart = (domids: readonly number[]) => domids.map((_, i) => (i === 1 ? 1 : 0));

// worker threads on a loaded two-core CI machine: a test here takes up to ~10 s, so 60 s each, not the default 20
describe('VirtIO-Argo devices in the parallel runtime', { timeout: 60_000 }, () => {
  it('virtio-argo.yaml: the disk and the NIC do all their work across threads, the firewall denies vdb in every thread — as in the deterministic runtime', async () => {
    const scenario = loadScenario('scenarios/virtio-argo.yaml');
    const det = byName(createSystem(scenario).run());
    for (const workers of [1, 2]) {
      const s = await runParallel(scenario, { workers });
      expect(s.invariantViolations).toEqual([]);
      expect(s.messages).toMatchObject({ sent: 40, delivered: 40, lost: 0, duplicated: 0, corrupted: 0, reordered: 0 });
      const par = byName(s);
      expect(Object.keys(par)).toEqual(['vda', 'vdb', 'vif']);
      for (const name of ['vda', 'vif']) {
        expect(par[name]).toMatchObject({ transport: 'argo', state: 'driverOk', errors: 0, sharedMappings: 0, xenstoreOps: 0, abandoned: 0 });
        expect(par[name].requestsOk).toBe(det[name].requestsOk); // 2000 blocks, 1000 echoes
        expect(par[name].bytesVerified).toBeGreaterThan(0);
      }
      // the Argo firewall has no rule for guest2's disk: its ring registration is refused (EACCES)
      expect(par.vdb).toMatchObject({ state: det.vdb.state, requests: 0, requestsOk: 0, errors: 1, reason: 'register_ring: EACCES' });
      expect(det.vdb.reason).toBe('register_ring: EACCES');
      expect(s.sharedMappings).toBe(0);
    }
  });

  it('the back end rebooted mid-run: a new back end in the new domain, the front end recovers across threads, nothing read back wrong', async () => {
    const scenario = parseScenario(`${driverDomain}lifecycle:\n  - { at: 80ms, op: reboot, domain: blkback }\n`, 'backend-reboot.yaml');
    for (const placement of [undefined, backendApart]) {
      const s = await runParallel(scenario, { workers: 2, placement });
      expect(s.invariantViolations).toEqual([]);
      expect(s.domains.map((d) => [d.name, d.domid, d.state])).toEqual([['dom0', 0, 'running'], ['blkback', 3, 'running'], ['guest', 2, 'running']]);
      const { vda, vif } = byName(s);
      for (const [d, requests] of [[vda, 600], [vif, 300]] as const) {
        expect(d.state).toBe('driverOk');
        // every request completed and checked, or abandoned in the reset (no retry: the guest's choice)
        expect(d.requestsOk + d.abandoned).toBe(requests);
      }
      expect(vda.recoveries + vif.recoveries).toBeGreaterThanOrEqual(1);
    }
  });

  it("the back end's worker thread dies: its domain crashes, the front end's work stops there and the run ends", async () => {
    const s = await runParallel(parseScenario(driverDomain, 'driver-domain.yaml'), { workers: 2, placement: backendApart, workerCrash: { worker: 1, atMs: 60 } });
    expect(s.workers.map((w) => w.crashed)).toEqual([false, true]);
    expect(s.domains.find((d) => d.name === 'blkback')!.state).toBe('dead');
    expect(s.invariantViolations).toEqual([]);
    const requests = { vda: 600, vif: 300 } as Record<string, number>;
    for (const d of s.devices!) {
      expect(d.requestsOk).toBeLessThan(requests[d.name]);
      // a front end learns of its back end's death only from a send (argo.md §8.2: the owner of a
      // ring whose partner died is not signalled): one that kicked since sees ESRCH and waits for a
      // new back end; one whose queue was full waits for completions that never come
      if (d.state === 'needsReset') expect(d.errors).toBe(1);
      else expect(d).toMatchObject({ state: 'driverOk', errors: 0 });
    }
  });

  it("the front end's worker thread dies: its devices are listed as lost (nothing known of them), the back end's thread goes on", async () => {
    const s = await runParallel(parseScenario(driverDomain, 'driver-domain.yaml'), { workers: 2, placement: backendApart, workerCrash: { worker: 0, atMs: 60 } });
    expect(s.workers.map((w) => w.crashed)).toEqual([true, false]);
    expect(s.domains.map((d) => [d.name, d.state])).toEqual([['dom0', 'dead'], ['blkback', 'running'], ['guest', 'dead']]);
    expect(s.devices!.map((d) => [d.name, d.state, d.requestsOk])).toEqual([['vda', 'lost', 0], ['vif', 'lost', 0]]);
    expect(s.invariantViolations).toEqual([]);
  });

  it("the front end's domain destroyed mid-run: its devices' workloads end with it, and so does the run", async () => {
    const scenario = parseScenario(`${driverDomain}lifecycle:\n  - { at: 60ms, op: destroy, domain: guest }\n`, 'frontend-destroy.yaml');
    const s = await runParallel(scenario, { workers: 2 });
    expect(s.end).toBe('idle');
    expect(s.domains.find((d) => d.name === 'guest')!.state).toBe('dead');
    expect(s.invariantViolations).toEqual([]);
    const { vda } = byName(s);
    expect(vda.requestsOk).toBeLessThan(600);
  });

  it("the front end's domain paused while its devices initialise, or its VIRQs held back: the devices wait, then do all their work", async () => {
    const pauses = [0, 5, 10, 15, 20, 25, 30, 35].map((ms, i) => `  - { at: ${ms}ms, op: ${i % 2 === 0 ? 'pause' : 'unpause'}, domain: guest }`).join('\n');
    const paused = parseScenario(`${driverDomain}lifecycle:\n${pauses}\n`, 'paused-init.yaml');
    const held = parseScenario(`${driverDomain}faults:\n  - { at: 0ms, kind: virq_delay, domain: guest, delay: 700ms }\n`, 'held-virq.yaml');
    for (const scenario of [paused, held]) {
      const s = await runParallel(scenario, { workers: 2, placement: backendApart });
      expect(s.invariantViolations).toEqual([]);
      const { vda, vif } = byName(s);
      // a pause that cut an initialisation short made it start over once the guest ran (docs/parallel.md)
      for (const [d, requests] of [[vda, 600], [vif, 300]] as const) {
        expect(d).toMatchObject({ state: 'driverOk', requestsOk: requests, abandoned: 0 });
        if (d.errors > 0) expect(d.recoveries).toBeGreaterThanOrEqual(1); // each start-over a BACKEND_UP
      }
    }
  });

  it("a device's rate paces its batches: completions coming back do not bring the next batch forward", async () => {
    // 100 requests, at most 8 a batch: at least 13 batches, 10 ms apart
    const paced = parseScenario(driverDomain.replace(/devices:[\s\S]*$/, 'devices:\n  - { name: vda, type: virtio-blk, frontend: guest, backend: blkback, disk: 1MiB, queueSize: 64, requests: 100, rate: 10ms }\n'), 'paced.yaml');
    const s = await runParallel(paced, { workers: 2, placement: backendApart });
    expect(byName(s).vda.requestsOk).toBe(100);
    expect(s.wallMs).toBeGreaterThanOrEqual(12 * 10);
  });

  it.each([11, 12])('stress-virtio-parallel.yaml on 2 workers, seed %i: eight devices of four guests under a back-end reboot, a guest killed and one soft-reset — nothing lost, nothing read back wrong', async (seed) => {
    const s = await runParallel(loadScenario('scenarios/stress-virtio-parallel.yaml'), { workers: 2, seed });
    expect(s.workers.filter((w) => w.crashed)).toEqual([]);
    expect(s.watchdog).toEqual([]);
    expect(s.invariantViolations).toEqual([]);
    expect(s.messages).toMatchObject({ lost: 0, duplicated: 0, corrupted: 0, reordered: 0 });
    expect(s.domains.map((d) => [d.name, d.state])).toEqual([['dom0', 'running'], ['blkback', 'running'], ['netback', 'running'], ['g1', 'running'], ['g2', 'running'], ['g3', 'running'], ['g4', 'dead']]);
    const d = byName(s);
    // the guests that live through the run finish every request: the disks across the back end's
    // reboot (what was in flight then abandoned and counted), the NICs with every echo checked
    for (const [name, requests] of [['vda1', 1500], ['vda2', 800]] as const) {
      expect(d[name].requestsOk + d[name].abandoned).toBe(requests);
      expect(d[name]).toMatchObject({ state: 'driverOk', recoveries: 1 });
    }
    for (const [name, requests] of [['eth1', 1000], ['eth2', 600]] as const) expect(d[name]).toMatchObject({ state: 'driverOk', requestsOk: requests, abandoned: 0, errors: 0 });
    // g3 (soft-reset) and g4 (killed) stopped where they were
    for (const [name, requests] of [['vda3', 1500], ['vda4', 800], ['eth3', 1000], ['eth4', 600]] as const) expect(d[name].requestsOk).toBeLessThan(requests);
    expect(s.sharedMappings).toBe(0);
  });

  it('a run without devices reports none, as the deterministic runtime does', async () => {
    const s = await runParallel(loadScenario('scenarios/tiny.yaml'), { workers: 2 });
    expect(s).not.toHaveProperty('devices');
    expect(s).not.toHaveProperty('sharedMappings');
  });
});
