import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/index.js';
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
