import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { guestAppMachine } from '../../machines/index.js';
import { loadScenario, parseScenario } from '../../src/index.js';
import { Coverage } from '../../src/explore/coverage.js';
import { counterexampleText } from '../../src/explore/counterexample-scenario.js';
import { explore } from '../../src/explore/explorer.js';
import { withBugs } from '../../src/explore/explore-command.js';
import { runSchedule, scheduleSeed, swarmFaults } from '../../src/explore/schedule.js';
import { shrink } from '../../src/explore/shrink.js';
import { replayStrategy } from '../../src/runtime/strategies/replay.js';
import { createSystem } from '../../src/runtime/system.js';
import { HISTORICAL_BUGS } from '../../src/xen/historical-bugs.js';

const defaultScenario = loadScenario('scenarios/default.yaml');
const buggy = withBugs(defaultScenario, ['sendvReturnsZeroWhenQueued']);

describe('argosim explore (issue #8)', () => {
  it.each(['random', 'pct', 'pos', 'dfs'] as const)('%s finds the historical sendv bug in the plain default workload, and nothing with it off', (strategy) => {
    const on = explore(buggy, { strategy, budget: 20, seed: 3, depth: 4 });
    expect(on.counterexample).not.toBeNull();
    expect(on.counterexample!.violations[0]).toMatch(/sendv-result: domain 1's sendv of 64 bytes to \(0, 9100\) returned 0/);
    const off = explore(defaultScenario, { strategy, budget: 20, seed: 3, depth: 4 });
    expect(off.counterexample).toBeNull();
    expect(off.violating).toBe(0);
    expect(off.schedules).toBeGreaterThan(1);
  });

  it('a counterexample replays exactly: the same seed, faults and choices give the same violations', () => {
    const { counterexample: cx } = explore(buggy, { strategy: 'pos', budget: 5, seed: 11 });
    const again = createSystem(buggy, { seed: cx!.seed, strategy: replayStrategy(cx!.choices) }).run();
    expect(again.invariantViolations).toEqual(cx!.violations);
    expect(again.steps).toBe(cx!.steps);
  });

  it('shrinking keeps a violation and removes every deviation and fault it does not need', () => {
    const scenario = withBugs(loadScenario('scenarios/stress-small.yaml'), ['sendvReturnsZeroWhenQueued']);
    const failing = runSchedule(scenario, { seed: 5, faults: [0, 1, 2, 3], strategy: 'random' });
    expect(failing.violations.length).toBeGreaterThan(0);
    expect(failing.choices.some((c) => c !== 0)).toBe(true);
    const { outcome, runs } = shrink(scenario, failing, { budget: 200 });
    expect(outcome.violations.length).toBeGreaterThan(0);
    expect(outcome.faults).toEqual([]); // the bug needs no fault
    expect(outcome.choices.filter((c) => c !== 0).length).toBe(0); // nor any reordering
    expect(runs).toBeLessThanOrEqual(200);
  });

  it('schedules: seeds derive from the exploration seed; swarm picks a different mix of faults per seed', () => {
    expect(scheduleSeed(1, 0)).toBe(scheduleSeed(1, 0));
    expect(scheduleSeed(1, 0)).not.toBe(scheduleSeed(1, 1));
    const stress = loadScenario('scenarios/stress-small.yaml');
    const mixes = new Set(Array.from({ length: 20 }, (_, i) => swarmFaults(stress, scheduleSeed(7, i)).join()));
    expect(mixes.size).toBeGreaterThan(4);
    for (const mix of mixes) for (const f of mix.split(',').filter(Boolean)) expect(Number(f)).toBeLessThan(stress.faults.length);
  });

  it('coverage: the transitions taken of those declared, per machine, mergeable', () => {
    const a = new Coverage();
    const app = createActor(guestAppMachine, { input: { dst: { domid: 2, aport: 1 }, count: 2, sizes: [8] }, inspect: a.observer }).start();
    a.declare([guestAppMachine]);
    app.send({ type: 'START' });
    const report = a.report();
    const machine = report.machines.find((m) => m.machine === 'guestApp')!;
    expect(machine.unreached).toContain('guestApp.blocked VIRQ');
    expect(machine.unreached).not.toContain('guestApp.idle START');
    expect(machine.reached).toBe(machine.total - machine.unreached.length);
    const b = new Coverage();
    b.merge(a.toJSON());
    expect(b.report()).toEqual(report);
    const run = explore(defaultScenario, { strategy: 'random', budget: 3, seed: 1 });
    expect(run.coverage.machines.map((m) => m.machine).sort()).toEqual(['argoRing', 'domain', 'guestApp', 'hypervisor', 'toolstack']);
    expect(run.coverage.fraction).toBeGreaterThan(0.05);
  });

  it('a counterexample scenario: its bugs written under bugs:, only its faults kept, the rest of the text as it was', () => {
    const text = 'name: x # the name\ndomains: [{ name: a }]\nfaults:\n  - { kind: virq_drop, domain: a }   # one\n  - { kind: crash, domain: a, at: 1ms }\n';
    const out = counterexampleText(text, { faults: [1], bugs: ['sendvReturnsZeroWhenQueued'] });
    expect(out).toContain('name: x # the name');
    const parsed = parseScenario(out);
    expect(parsed.faults.map((f) => f.kind)).toEqual(['crash']);
    expect(parsed.bugs.sendvReturnsZeroWhenQueued).toBe(true);
    expect(parseScenario(counterexampleText(text, { faults: [], bugs: [] })).faults).toEqual([]);
  });

  it('every historical bug names its fix, its spec section and its monitor', () => {
    for (const bug of Object.values(HISTORICAL_BUGS)) {
      expect(bug.fixedBy).toMatch(/^Xen [0-9a-f]{10}$/);
      expect(bug.spec).toMatch(/§/);
      expect(bug.monitor.length).toBeGreaterThan(10);
    }
  });
});
