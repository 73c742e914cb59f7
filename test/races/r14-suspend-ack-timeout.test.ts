import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadScenario, parseScenario } from '../../src/index.js';
import { withBugs } from '../../src/explore/bugs.js';
import { explore } from '../../src/explore/explorer.js';
import { createSystem } from '../../src/runtime/system.js';

// R14 (virtio-ioreq-lifecycle.md §6.7, §7 case 42): the guest's acknowledgement of xl suspend races
// libxl's 60 s timeout. Today's libxl re-reads control/shutdown in a transaction and counts a late
// acknowledgement; with suspendAckLostOnTimeout it does not, and the monitor ack-honoured fires.

const scenario = loadScenario('scenarios/races/r14-suspend-ack-timeout.yaml');
const buggy = withBugs(scenario, ['suspendAckLostOnTimeout']);

describe('race R14: suspend acknowledged as the timeout fires', () => {
  it('switch off: the late acknowledgement counts — suspend OK, the guest suspended, no violation', () => {
    const summary = createSystem(scenario).run();
    expect(summary.invariantViolations).toEqual([]);
    const guest = summary.domains.find((d) => d.name === 'guest')!;
    expect(guest.toolstack).toEqual(['create OK', 'suspend OK']);
    expect(guest.state).toBe('shutdown');
  });

  it('switch on: the suspend fails though the guest acknowledged and suspends — ack-honoured names it', () => {
    const summary = createSystem(buggy).run();
    expect(summary.domains.find((d) => d.name === 'guest')!.toolstack).toEqual(['create OK', 'suspend ERROR_TIMEDOUT']);
    expect(summary.invariantViolations).toEqual([
      "60011ms: ack-honoured: domain guest (1) acknowledged suspend, yet the toolstack's suspend ended in ERROR_TIMEDOUT",
    ]);
  });

  it('whatever the order, the faithful toolstack is consistent: a timeout only when the guest had not acknowledged', () => {
    const results = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      const summary = createSystem(scenario, { seed }).run();
      expect(summary.invariantViolations, `seed ${seed}`).toEqual([]);
      results.add(summary.domains.find((d) => d.name === 'guest')!.toolstack[1]);
    }
    expect(results).toEqual(new Set(['suspend OK', 'suspend ERROR_TIMEDOUT'])); // both orders happen
  });

  it('argosim explore finds it with the switch on, shrunk to one deviation from the earliest-first order', () => {
    const report = explore(buggy, { strategy: 'random', budget: 400, seed: 1 });
    expect(report.counterexample?.violations[0]).toMatch(/ack-honoured/);
    expect(report.counterexample!.deviations).toBe(1);
    expect(explore(scenario, { strategy: 'random', budget: 150, seed: 1 }).violating).toBe(0);
  });
});

describe('R14 from a plain workload: the stall fault (docs/exploration.md)', () => {
  const tiny = loadScenario('scenarios/tiny.yaml');

  it('a stalled guest gets the CPU back exactly when its toolstack\'s acknowledgement timeout falls due', () => {
    const text = readFileSync('scenarios/tiny.yaml', 'utf8') + '\nfaults:\n  - { kind: stall, domain: a, at: 1ms, delay: 50ms }\n  - { kind: suspend, domain: a, at: 2ms, delay: 100s }\n';
    const system = createSystem(parseScenario(text, 'stall.yaml'));
    const unpaused: number[] = [];
    system.lifecycle$.subscribe((c) => {
      if (c.domid === 1 && c.change === 'unpaused') unpaused.push(c.atMs);
    });
    const summary = system.run();
    expect(unpaused.at(-1)).toBe(60_002); // the suspend's LIBXL_ACK_TIMEOUT, not the stall's own 50 ms
    expect(summary.invariantViolations).toEqual([]);
  });

  it('argosim explore finds the lost acknowledgement from tiny.yaml with stall and suspend faults, and nothing with the switch off', () => {
    const weights = { stall: 1, suspend: 1 };
    const found = explore(withBugs(tiny, ['suspendAckLostOnTimeout']), { strategy: 'random', budget: 700, seed: 1, faultWeights: weights, shrinkBudget: 50 });
    expect(found.counterexample?.violations[0]).toMatch(/ack-honoured: domain a \(1\) acknowledged suspend/);
    expect(explore(tiny, { strategy: 'random', budget: 700, seed: 1, faultWeights: weights }).violating).toBe(0);
  }, 60_000);
});
