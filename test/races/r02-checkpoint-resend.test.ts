import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/index.js';
import { withBugs } from '../../src/explore/bugs.js';
import { explore } from '../../src/explore/explorer.js';
import { runSchedule } from '../../src/explore/schedule.js';
import { createSystem } from '../../src/runtime/system.js';
import { sweepSeeds } from './seed-sweep.js';

// R2 (virtio-ioreq-lifecycle.md §6.7, §5.5, §7 case 35): a checkpoint (suspend, then resume) begins
// between a vCPU's ioreq send and Xen's arch code looking at what the send returned — two steps of
// the vCPU in runs (src/runtime/ioreq-vcpu.ts). Today's Xen keeps the sent request latched (the
// `suspended` flag of b7e0d89788 is set only for a refused send); with ioreqResentAfterShutdown it
// drops it, and the instruction runs again after resume: ioreq-once names the second send.

const scenario = loadScenario('scenarios/races/r02-checkpoint-resend.yaml');
const buggy = withBugs(scenario, ['ioreqResentAfterShutdown']);
const IOREQ_ONCE = /^[\d.]+ms: ioreq-once: the (write|read) of 4 bytes at 0x[0-9a-f]+ by vCPU 0 of guest \(domain 2\) went to its device model twice: the instruction ran again after a shutdown and resume although its request had been sent \(R2, fixed by Xen b7e0d89788\)$/;

function checkpoint(system: ReturnType<typeof createSystem>): string[] {
  const changes: string[] = [];
  system.lifecycle$.subscribe((e) => {
    if (e.domid === 2 && (e.change === 'shutting_down' || e.change === 'shutdown' || e.change === 'resumed')) changes.push(e.change);
  });
  return changes;
}

describe('race R2: an I/O sent, then a checkpoint (Xen b7e0d89788)', () => {
  it('switch off: the guest is suspended once its vCPU took the answer, resumed, and its disk finishes — every access sent once', () => {
    const system = createSystem(scenario);
    const changes = checkpoint(system);
    const summary = system.run();
    expect(changes).toEqual(['shutting_down', 'shutdown', 'resumed']);
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.devices?.[0]).toMatchObject({ name: 'vda', transport: 'mmio', state: 'driverOk', requestsOk: 400, errors: 0 });
  });

  it('switch on: the same schedule — the QueueNotify sent before SCHEDOP_shutdown is sent again after resume, and ioreq-once names it', () => {
    const system = createSystem(buggy);
    const changes = checkpoint(system);
    const summary = system.run();
    expect(changes).toEqual(['shutting_down', 'shutdown', 'resumed']);
    expect(summary.invariantViolations).toHaveLength(1);
    expect(summary.invariantViolations[0]).toMatch(IOREQ_ONCE);
    expect(summary.invariantViolations[0]).toContain('the write of 4 bytes at 0x2000050'); // QueueNotify (§1.8, offset 0x050)
  });

  it('seeds 1–30: the order of the instant at 3 ms decides; with the switch on several show it, with it off none', () => {
    const shown = sweepSeeds(scenario, buggy, 30);
    for (const v of shown.flat()) expect(v).toMatch(IOREQ_ONCE);
    expect(shown.length).toBeGreaterThanOrEqual(5); // 8 of 30 on 2026-11-26
  }, 60_000);

  it('argosim explore finds it from the scenario\'s own seed on, the replay reproduces it, and nothing with the switch off', () => {
    const found = explore(buggy, { strategy: 'random', budget: 200, seed: 1, swarm: false, shrinkBudget: 100 }).counterexample;
    expect(found?.violations[0]).toMatch(IOREQ_ONCE);
    const replay = runSchedule(buggy, { seed: found!.seed, faults: found!.faults, strategy: 'prefix', choices: found!.choices });
    expect(replay.violations).toEqual(found!.violations);
    expect(explore(scenario, { strategy: 'random', budget: 60, seed: 1, swarm: false }).violating).toBe(0);
  }, 60_000);

  it('argosim explore finds it from the plain virtio-transports workload (suspend faults at scheduling points), and nothing with the switch off', () => {
    const transports = loadScenario('scenarios/virtio-transports.yaml');
    const found = explore(withBugs(transports, ['ioreqResentAfterShutdown']), { strategy: 'random', budget: 100, seed: 1, faultWeights: { suspend: 1 }, shrinkBudget: 10 });
    expect(found.counterexample?.violations[0]).toMatch(/ioreq-once: the (write|read) of 4 bytes at 0x[0-9a-f]+ by vCPU 0 of mmio-guest/);
    expect(found.counterexample?.faults.some((f) => f.kind === 'suspend' && f.domain === 'mmio-guest')).toBe(true);
    expect(explore(transports, { strategy: 'random', budget: 8, seed: 1, faultWeights: { suspend: 1 } }).violating).toBe(0);
  }, 120_000);
});
