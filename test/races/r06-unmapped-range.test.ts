import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadScenario, parseScenario } from '../../src/index.js';
import { withBugs } from '../../src/explore/bugs.js';
import { explore } from '../../src/explore/explorer.js';
import { runSchedule } from '../../src/explore/schedule.js';
import { createSystem } from '../../src/runtime/system.js';
import { sweepSeeds } from './seed-sweep.js';

// R6 (virtio-ioreq-lifecycle.md §6.7, §5.6): a virtio-mmio disk detached while the guest kicks it.
// The device model unmaps its window, answers what is in flight, then destroys its server; a request
// Xen selected before the unmap reaches it after. Today's rule (emulate.c: emulators must re-check
// what arrives) answers it as a stray; with emulatorSkipsRangeCheck the removed device acts on it,
// and the monitor emulator-validates names it.

const FILE = 'scenarios/races/r06-unmapped-range.yaml';
/** The R6 scenario with another lifecycle: each line one `- { … }` entry. */
const withLifecycle = (...entries: string[]) =>
  parseScenario(readFileSync(FILE, 'utf8').replace(/lifecycle:\n[\s\S]*$/, `lifecycle:\n${entries.map((e) => `  - ${e}\n`).join('')}`), FILE);
const scenario = loadScenario(FILE);
const buggy = withBugs(scenario, ['emulatorSkipsRangeCheck']);
const UNSERVED = /^2(\.\d+)?ms: emulator-validates: the device model of vdb in domain driverdom performed a (write|read) of \w+ \(0x2000\w+\) for domain guest after unmapping that window from its IOREQ server \(at 2 ms\)/;
const vdbPaths = (system: ReturnType<typeof createSystem>) => system.xenstore.paths().filter((p) => p.includes('/vdb'));

describe('race R6: a range unmapped between Xen\'s selection and the delivery', () => {
  it('switch off: the device model drains the kick as a stray, destroys its server and answers Closed; libxl removes the device', () => {
    const system = createSystem(scenario);
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.end).toBe('idle');
    expect(summary.devices![0]).toMatchObject({ name: 'vdb', state: 'detached' });
    expect(summary.devices![0].requestsOk).toBeGreaterThan(0);
    expect(vdbPaths(system)).toEqual([]); // frontend, backend and libxl's record: gone
    const labels = system.scheduler.trace.map((t) => t.label);
    expect(labels).toContain('vdb: be/state=Closing');
    expect(labels).toContain('vdb: be/state Closed');
    expect(labels.indexOf('vdb: be/state Closed')).toBeGreaterThan(labels.indexOf('vdb: be/state=Closing'));
  });

  it('switch on: the removed device performs the kick — emulator-validates', () => {
    const summary = createSystem(buggy).run();
    expect(summary.invariantViolations).toHaveLength(1);
    expect(summary.invariantViolations[0]).toMatch(UNSERVED);
    expect(summary.devices![0]).toMatchObject({ state: 'detached' });
  });

  it('seeds 1–8: the guest\'s vCPU always has a request in flight at 2 ms, so every seed shows it with the switch on; none with it off', () => {
    const shown = sweepSeeds(scenario, buggy, 8);
    expect(shown).toHaveLength(8);
    for (const v of shown.flat()) expect(v).toMatch(/emulator-validates: the device model of vdb/);
  });

  it('a backend domain that does not run: the safe remove gives up after LIBXL_DESTROY_TIMEOUT and leaves the device', () => {
    const paused = withLifecycle('{ at: 1ms, op: pause, domain: driverdom }', '{ at: 2ms, op: detach, domain: guest, device: vdb }');
    const system = createSystem(paused);
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.virtualTimeMs).toBeGreaterThanOrEqual(10_002);
    expect(vdbPaths(system).length).toBeGreaterThan(0); // frontend, backend and libxl's record kept
    expect(system.xenstore.read(0, '/local/domain/1/backend/virtio/2/vdb/state')).toBe('5'); // Closing, unanswered
    expect(summary.devices![0].state).not.toBe('detached');
  });

  it('a detach and a destroy of the same guest at once: each removal hears the backend\'s Closed (no 10 s wait)', () => {
    const both = withLifecycle('{ at: 2ms, op: detach, domain: guest, device: vdb }', '{ at: 2ms, op: destroy, domain: guest }');
    const system = createSystem(both);
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.domains.find((d) => d.name === 'guest')!.toolstack).toEqual(['create OK', 'destroy OK']);
    const steps = system.actors().find((a) => a.id === 'toolstack:guest')!.actor.getSnapshot().context.steps as string[];
    expect(steps).toContain('devices: be/state=Closed');
    expect(steps).not.toContain('devices: timed out, forced');
    expect(vdbPaths(system)).toEqual([]);
  });

  it('a backend domain already gone: libxl does not wait for it (Xen 9eaaedfcde), the device is removed at once', () => {
    const gone = withLifecycle('{ at: 1ms, op: destroy, domain: driverdom }', '{ at: 2ms, op: detach, domain: guest, device: vdb }');
    const system = createSystem(gone);
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([]);
    const noWait = system.scheduler.trace.find((t) => t.label === 'vdb: no backend to wait for');
    expect(noWait?.atMs).toBeLessThan(3);
    expect(vdbPaths(system)).toEqual([]);
  });

  it('with deadBackendWaitsForClosed a detach waits for the gone backend too, and dead-backend-wait names it', () => {
    const gone = withBugs(withLifecycle('{ at: 1ms, op: destroy, domain: driverdom }', '{ at: 2ms, op: detach, domain: guest, device: vdb }'), ['deadBackendWaitsForClosed']);
    const summary = createSystem(gone).run();
    expect(summary.invariantViolations).toEqual([
      "10002ms: dead-backend-wait: the detach of domain guest (2)'s device vdb waited out LIBXL_DESTROY_TIMEOUT for be/state=Closed from backend domain driverdom (1), already gone when the removal started",
    ]);
  });

  it('argosim explore finds it from the plain disk-detach workload, the replay reproduces it; nothing with the switch off', () => {
    const plain = loadScenario('scenarios/disk-detach.yaml');
    const withBug = withBugs(plain, ['emulatorSkipsRangeCheck']);
    const found = explore(withBug, { strategy: 'random', budget: 20, seed: 1 }).counterexample;
    expect(found?.violations.some((v) => /emulator-validates: the device model of xvdb/.test(v))).toBe(true);
    const replay = runSchedule(withBug, { seed: found!.seed, faults: found!.faults, strategy: 'prefix', choices: found!.choices });
    expect(replay.violations).toEqual(found!.violations);
    expect(explore(plain, { strategy: 'random', budget: 20, seed: 1 }).violating).toBe(0);
  }, 60_000);
});
