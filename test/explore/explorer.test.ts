import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { guestAppMachine } from '../../machines/index.js';
import { loadScenario, parseScenario } from '../../src/index.js';
import { Coverage } from '../../src/explore/coverage.js';
import { counterexampleText } from '../../src/explore/counterexample-scenario.js';
import { explore } from '../../src/explore/explorer.js';
import { counterexampleTrace, formatExplore, withBugs } from '../../src/explore/explore-command.js';
import { exploreParallel } from '../../src/explore/explore-parallel.js';
import { loadScenarioForTrace } from '../../src/inspector/trace-file.js';
import { checkReplay } from '../../src/inspector/replay-check.js';
import { cannotHit, swarmFaults, withFaults } from '../../src/explore/fault-plan.js';
import { runSchedule, scheduleSeed } from '../../src/explore/schedule.js';
import { SharedBufferPool } from '../../src/memory/shared-buffers.js';
import { shrink } from '../../src/explore/shrink.js';
import { replayStrategy } from '../../src/runtime/strategies/replay.js';
import { createSystem } from '../../src/runtime/system.js';
import { HISTORICAL_BUGS } from '../../src/xen/historical-bugs.js';
import { FAULT_KINDS } from '../../src/scenario/schema.js';

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
    const { counterexample: cx } = explore(buggy, { strategy: 'pos', budget: 5, seed: 11, shrinkBudget: 0 });
    const again = createSystem(withFaults(buggy, cx!.faults), { seed: cx!.seed, strategy: replayStrategy(cx!.choices) }).run();
    expect(again.invariantViolations).toEqual(cx!.violations);
    expect(again.steps).toBe(cx!.steps);
  });

  it('a schedule run on pooled buffers (as the explorer runs them) is the one run on fresh buffers, schedule after schedule', () => {
    const scenario = withBugs(loadScenario('scenarios/stress-small.yaml'), ['sendvReturnsZeroWhenQueued']);
    const buffers = new SharedBufferPool();
    for (const seed of [5, 6, 7]) {
      const spec = { seed, faults: scenario.faults, strategy: 'random' as const };
      expect(runSchedule(scenario, spec, { buffers })).toEqual(runSchedule(scenario, spec));
    }
  });

  it('shrinking keeps a violation and removes every deviation and fault it does not need', () => {
    const scenario = withBugs(loadScenario('scenarios/stress-small.yaml'), ['sendvReturnsZeroWhenQueued']);
    const failing = runSchedule(scenario, { seed: 5, faults: scenario.faults, strategy: 'random' });
    expect(failing.violations.length).toBeGreaterThan(0);
    expect(failing.choices.some((c) => c !== 0)).toBe(true);
    const { outcome, runs } = shrink(scenario, failing, { budget: 200 });
    expect(outcome.violations.length).toBeGreaterThan(0);
    expect(outcome.faults).toEqual([]); // the bug needs no fault
    expect(outcome.choices.filter((c) => c !== 0).length).toBe(0); // nor any reordering
    expect(runs).toBeLessThanOrEqual(200);
  });

  it('schedules: seeds derive from the exploration seed; swarm picks a different mix of faults per seed, added ones on guests', () => {
    expect(scheduleSeed(1, 0)).toBe(scheduleSeed(1, 0));
    expect(scheduleSeed(1, 0)).not.toBe(scheduleSeed(1, 1));
    const stress = loadScenario('scenarios/stress-small.yaml');
    const mixes = Array.from({ length: 40 }, (_, i) => swarmFaults(stress, scheduleSeed(7, i), { kill: 1, unregister: 2, virq_delay: 1 }, 50));
    expect(new Set(mixes.map((m) => JSON.stringify(m))).size).toBeGreaterThan(10);
    const added = mixes.flat().filter((f) => f.line === 0);
    expect(new Set(added.map((f) => f.kind))).toEqual(new Set(['kill', 'unregister', 'virq_delay']));
    for (const f of added) {
      expect(f.atMs).toBeGreaterThanOrEqual(0);
      expect(f.atMs).toBeLessThan(50);
      if (f.kind !== 'unregister') expect(f.domain).not.toBe('dom0');
      if (f.kind === 'unregister') expect(stress.rings.some((r) => r.owner === f.ring!.owner && r.port === f.ring!.port)).toBe(true);
    }
    expect(mixes.flat().filter((f) => f.line > 0).every((f) => stress.faults.includes(f))).toBe(true);
    expect(swarmFaults(stress, 1, {}, 50).every((f) => f.line > 0)).toBe(true); // no kinds: only the scenario's
  });

  it('with added faults of every kind, the faithful model violates nothing', () => {
    for (const file of ['default', 'lifecycle', 'stress-small']) {
      const report = explore(loadScenario(`scenarios/${file}.yaml`), { strategy: 'random', budget: 15, seed: 2 });
      expect(report.counterexample?.violations ?? [], file).toEqual([]);
      // sometimes-assertions: every kind is listed, with the schedules in which it hit a live domain —
      // or, when nothing in the scenario can take it (a device model's faults, without one), apart
      expect([...report.sometimes, ...report.notApplicable].map((s) => s.fault).sort()).toEqual([...FAULT_KINDS].sort());
      expect(report.notApplicable, file).toEqual(['balloon', 'dm_death', 'dm_misbehave', 'dm_start_fail', 'xenstore_tamper'].map((fault) => ({ fault, why: 'no virtio-mmio device' })));
      expect(report.sometimes.filter((s) => s.schedules > 0).length, file).toBeGreaterThanOrEqual(3);
    }
  });

  it('the sometimes-assertions leave out the kinds nothing in the scenario can take, and say why', () => {
    const bare = parseScenario('name: bare\nseed: 1\ndomains:\n  - { name: a, memory: 64KiB }\n  - { name: b, memory: 64KiB }\n', 'bare.yaml');
    expect(cannotHit(bare, 'unregister')).toBe('no ring in the scenario');
    expect(cannotHit(bare, 'dm_death')).toBe('no virtio-mmio device');
    expect(cannotHit(bare, 'kill')).toBeNull();
    expect(cannotHit(bare, 'xenstored_live_update')).toBeNull(); // a (domid 0) is the control domain
    const alone = parseScenario('name: alone\nseed: 1\ndomains:\n  - { name: dom0 }\n', 'alone.yaml');
    expect(cannotHit(alone, 'kill')).toBe('no guest domain');
    const transports = loadScenario('scenarios/virtio-transports.yaml');
    expect(FAULT_KINDS.filter((k) => cannotHit(transports, k) !== null)).toEqual([]);
    const report = explore(bare, { strategy: 'random', budget: 3, seed: 1 });
    expect(report.sometimes.map((s) => s.fault)).not.toContain('unregister');
    expect(formatExplore(report, { bugs: [] }, undefined)).toMatch(
      /\nfaults with nothing to land on here: balloon, dm_death, dm_misbehave, dm_start_fail, xenstore_tamper \(no virtio-mmio device\); unregister \(no ring in the scenario\)\n/,
    );
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
    expect(run.coverage.machines.map((m) => m.machine).sort()).toEqual(['argoRing', 'domain', 'guestApp', 'guestReceiver', 'hypervisor', 'toolstack', 'xenstore']);
    expect(run.coverage.fraction).toBeGreaterThan(0.05);
  });

  it('a counterexample scenario: its bugs written under bugs:, only its faults kept, the rest of the text as it was', () => {
    const text = 'name: x # the name\ndomains: [{ name: a }, { name: b }]\nrings: [{ owner: b, port: 7, partner: a }]\nfaults:\n  - { kind: virq_drop, domain: a }   # one\n  - { kind: crash, domain: a, at: 1ms }\n';
    const scenario = parseScenario(text);
    const ring = { owner: 'b', ownerDomid: 1, port: 7, partner: 'a', partnerDomid: 0 as const };
    const extra = [{ kind: 'unregister' as const, atMs: 2.5, domain: 'b', domid: 1, ring, weight: 1, delayMs: null, line: 0 }];
    const out = counterexampleText(text, scenario.source.lines, { faults: [scenario.faults[1], ...extra], bugs: ['sendvReturnsZeroWhenQueued'] });
    expect(out).toContain('name: x # the name');
    const parsed = parseScenario(out);
    expect(parsed.faults.map((f) => [f.kind, f.atMs])).toEqual([['crash', 1], ['unregister', 2.5]]);
    expect(parsed.faults[1].ring).toMatchObject({ owner: 'b', port: 7, partner: 'a' });
    expect(parsed.bugs.sendvReturnsZeroWhenQueued).toBe(true);
    expect(parseScenario(counterexampleText(text, scenario.source.lines, { faults: [], bugs: [] })).faults).toEqual([]);
  });

  it('a counterexample with added faults is a trace that the inspector replay reproduces state for state', () => {
    const loaded = loadScenarioForTrace('scenarios/stress-small.yaml');
    const scenario = withBugs(loaded.scenario, ['sendvReturnsZeroWhenQueued']);
    let report;
    for (let seed = 1; seed < 30; seed++) {
      report = explore(scenario, { strategy: 'random', budget: 1, seed, shrinkBudget: 0, faultWeights: { unregister: 1, virq_delay: 1 } });
      if (report.counterexample!.faults.some((f) => f.line === 0)) break;
    }
    const cx = report!.counterexample!;
    expect(cx.faults.some((f) => f.line === 0)).toBe(true);
    const text = counterexampleText(loaded.source.text, loaded.scenario.source.lines, { faults: cx.faults, bugs: ['sendvReturnsZeroWhenQueued'] });
    const trace = counterexampleTrace({ ...loaded.source, text }, cx, undefined);
    expect(trace.summary!.invariantViolations).toEqual(cx.violations);
    const check = checkReplay(JSON.parse(JSON.stringify(trace)));
    expect(check.divergence).toBeNull();
    expect(check.steps).toBe(cx.steps);
  });

  it("a scenario's explore.faults picks and weighs the kinds added (unlisted ones off); --faults overrides it", () => {
    const text = readFileSync('scenarios/default.yaml', 'utf8') + '\nexplore:\n  faults: { kill: 2, virq_drop: 1 }\n';
    const scenario = parseScenario(text, 'default-explore.yaml');
    expect(scenario.explore.faultWeights).toEqual({ kill: 2, virq_drop: 1 });
    const report = explore(scenario, { strategy: 'random', budget: 20, seed: 5 });
    expect(report.sometimes.map((s) => s.fault)).toEqual(['kill', 'virq_drop']);
    const overridden = explore(scenario, { strategy: 'random', budget: 5, seed: 5, faultWeights: { crash: 1 } });
    expect(overridden.sometimes.map((s) => s.fault)).toEqual(['crash']);
    expect(() => parseScenario(readFileSync('scenarios/default.yaml', 'utf8') + '\nexplore:\n  faults: { kil: 1 }\n', 'x.yaml')).toThrow(/did you mean "kill"/);
  });

  it('every historical bug names its fix, its spec section and its monitor', () => {
    for (const bug of Object.values(HISTORICAL_BUGS)) {
      // a Xen commit (with its XSA), a libxl or Xen source file and what in it, or a Linux commit by title
      expect(bug.fixedBy).toMatch(/^((XSA-\d+, )?Xen [0-9a-f]{10}( \(XSA-\d+\))?|libxl_[a-z_]+\.c[: ].+|xen\/[a-z0-9/_]+\.c: .+|Linux ".+)$/);
      expect(bug.spec).toMatch(/§/);
      expect(bug.monitor.length).toBeGreaterThan(10);
    }
  });
});

// worker threads on a loaded two-core CI machine: a test here takes up to ~10 s, so 60 s each, not the default 20
describe('argosim explore on worker threads', { timeout: 60_000 }, () => {
  it('finds the same first violation as one thread, and with nothing to find runs every schedule with the same coverage', async () => {
    const loaded = loadScenarioForTrace('scenarios/default.yaml');
    const options = { strategy: 'random' as const, budget: 150, seed: 4 };
    const one = explore(withBugs(loaded.scenario, ['sendvReturnsZeroWhenQueued']), { ...options, shrinkBudget: 0 });
    const two = await exploreParallel(loaded.source, loaded.scenario, ['sendvReturnsZeroWhenQueued'], { ...options, shrinkBudget: 0 }, 2);
    expect(two.counterexample!.index).toBe(one.counterexample!.index);
    expect(two.counterexample!.violations).toEqual(one.counterexample!.violations);
    const clean = await exploreParallel(loaded.source, loaded.scenario, [], options, 2);
    expect(clean.schedules).toBe(150);
    expect(clean.violating).toBe(0);
    expect(clean.coverage).toEqual(explore(loaded.scenario, options).coverage);
  });
});
