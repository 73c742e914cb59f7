import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario } from '../../src/index.js';
import { withBugs } from '../../src/explore/bugs.js';
import { explore } from '../../src/explore/explorer.js';
import { swarmFaults, DEFAULT_FAULT_WEIGHTS } from '../../src/explore/fault-plan.js';
import { runSchedule } from '../../src/explore/schedule.js';
import { createSystem } from '../../src/runtime/system.js';
import { runParallel } from '../../src/parallel/parallel-system.js';

// R12 (virtio-ioreq-lifecycle.md §6.7, Xen 939775cfd3): xenstored's live update re-connects to every
// domain of its saved state; a domain that died during the update cannot be mapped. Today's
// xenstored drops that connection; with liveUpdateDyingDomainFatal it exits, and the host has no
// xenstore: live-update-survives names it, and the run ends there.

const scenario = loadScenario('scenarios/races/r12-live-update-dying.yaml');
const buggy = withBugs(scenario, ['liveUpdateDyingDomainFatal']);
const EXITED = /^6ms: live-update-survives: xenstored exited in its live update: domain driverdom \(1\) died during it and its ring page could not be mapped; the host has no xenstore$/;

describe('race R12: a xenstored live update while a domain dies', () => {
  it('switch off: the dying driver domain\'s connection is dropped; xenstored serves on, the run goes to its end', () => {
    const system = createSystem(scenario);
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([]);
    expect(system.scheduler.trace.filter((t) => t.actor === 'xenstored').map((t) => `${t.atMs} ${t.label}`)).toEqual(['6 live update: restore connections']);
    expect(summary.faults).toEqual({ xenstored_live_update: 1, backend_death: 1 });
    expect(summary.messages.delivered).toBe(10);
    expect(system.xenstore.read(0, '/local/domain/2')).toBe(''); // the guest's home stays (a missing node reads as -ENOENT)
    expect(system.xenstore.read(0, '/local/domain/1')).toBeLessThan(0); // the dead driver domain's went with it
  });

  it('switch on: the new xenstored exits at the restore; the run stops there — live-update-survives', () => {
    const system = createSystem(buggy);
    const summary = system.run();
    expect(summary.invariantViolations).toHaveLength(1);
    expect(summary.invariantViolations[0]).toMatch(EXITED);
    expect(summary.virtualTimeMs).toBe(6);
    expect(summary.end).toBe('halted');
    expect(system.scheduler.trace.at(-1)!.label).toBe('live update: restore connections');
    expect(summary.messages.delivered).toBeLessThan(10);
  });

  it('a live update with every domain alive throughout re-connects them all: nothing to drop, no violation either way', () => {
    const quiet = { ...scenario, faults: scenario.faults.filter((f) => f.kind === 'xenstored_live_update') };
    for (const s of [quiet, withBugs(quiet, ['liveUpdateDyingDomainFatal'])]) {
      const summary = createSystem(s).run();
      expect(summary.invariantViolations).toEqual([]);
      expect(summary.messages.delivered).toBe(10);
    }
  });

  it('the swarm adds at most one live update, on the control domain, in about half the schedules; the other kinds draw as before', () => {
    const plain = loadScenario('scenarios/virtio-transports.yaml');
    let with1 = 0;
    for (let seed = 1; seed <= 200; seed++) {
      const faults = swarmFaults(plain, seed, DEFAULT_FAULT_WEIGHTS, 10);
      const updates = faults.filter((f) => f.kind === 'xenstored_live_update');
      expect(updates.length).toBeLessThanOrEqual(1);
      for (const u of updates) expect(u.domain).toBe('dom0');
      with1 += updates.length;
      const without = swarmFaults(plain, seed, { ...DEFAULT_FAULT_WEIGHTS, xenstored_live_update: 0 }, 10);
      expect(faults.filter((f) => f.kind !== 'xenstored_live_update')).toEqual(without);
    }
    expect(with1).toBeGreaterThan(70);
    expect(with1).toBeLessThan(130);
  });

  it('argosim explore finds it from the plain virtio-transports workload; the replay reproduces it', () => {
    const plain = withBugs(loadScenario('scenarios/virtio-transports.yaml'), ['liveUpdateDyingDomainFatal']);
    const found = explore(plain, { strategy: 'random', budget: 300, seed: 1 }).counterexample;
    expect(found?.violations.some((v) => /live-update-survives: xenstored exited in its live update/.test(v))).toBe(true);
    expect(found!.faults.map((f) => f.kind)).toContain('xenstored_live_update');
    const replay = runSchedule(plain, { seed: found!.seed, faults: found!.faults, strategy: 'prefix', choices: found!.choices });
    expect(replay.violations).toEqual(found!.violations);
  }, 120_000);

  it('the parallel runtime runs it too: today a domain dying during the update is dropped and the run goes on; with the bug xenstored exits and the run ends there', async () => {
    // the update lasts 100 ms of wall time: the kill at 6 ms (its worker quiesced first, a round trip
    // across threads) is over well before the new xenstored looks, however loaded the machine
    const text = `name: lu
seed: 3
boot: { argo: true, macPermissive: true }
domains:
  - { name: dom0, domid: 0 }
  - { name: driverdom, memory: 4MiB }
  - { name: edge, memory: 1MiB, dom0less: true }
rings:
  - { owner: dom0, port: 514, partner: any, len: 4KiB }
workloads:
  - { name: log, from: edge, to: { domain: dom0, port: 514 }, count: 20, size: 64, rate: 1ms }
faults:
  - { kind: xenstored_live_update, domain: dom0, at: 5ms, delay: 100ms }
  - { kind: kill, domain: driverdom, at: 6ms }
`;
    const today = await runParallel(parseScenario(text, 'lu.yaml'), { workers: 2 });
    expect(today).toMatchObject({ end: 'idle', faults: { xenstored_live_update: 1, kill: 1 }, invariantViolations: [] });
    expect(today.messages).toMatchObject({ sent: 20, delivered: 20 });
    const buggy = await runParallel(parseScenario(text.replace('seed: 3', 'seed: 3\nbugs: { liveUpdateDyingDomainFatal: true }'), 'lu-bug.yaml'), { workers: 2 });
    expect(buggy.end).toBe('halted');
    expect(buggy.invariantViolations).toEqual(['live-update-survives: xenstored exited in its live update: domain driverdom (1) died during it and its ring page could not be mapped; the host has no xenstore']);
  });
});

describe('the xenstored_live_update fault in a scenario', () => {
  it('names the control domain: a guest is refused at its line, naming dom0', () => {
    const text = readFileSync('scenarios/races/r12-live-update-dying.yaml', 'utf8').replace('{ kind: xenstored_live_update, domain: dom0, at: 5ms }', '{ kind: xenstored_live_update, domain: guest, at: 5ms }');
    expect(() => parseScenario(text, 'r12.yaml')).toThrow(/^r12\.yaml:37:\d+: faults\[0\]\.domain: a xenstored_live_update fault names the control domain, where xenstored runs \(dom0\); guest is a guest/);
  });
});
