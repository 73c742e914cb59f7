import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/index.js';
import { withBugs } from '../../src/explore/bugs.js';
import { explore } from '../../src/explore/explorer.js';

// issue #8 item 7 for R9, R10 and R19: argosim explore finds each switch from the plain workload
// scenarios/virtio-transports.yaml (not written for any of them), its swarm faults providing the
// lifecycle events. The fault kinds are pinned here so that new kinds do not move the schedules;
// docs/exploration.md has the runs with every kind.

const plain = loadScenario('scenarios/virtio-transports.yaml');
const search = (bug: 'deadDomainNodesToDom0' | 'devicesFromFrontendPaths' | 'deadBackendWaitsForClosed', kinds: string[], budget: number, on = true) =>
  explore(on ? withBugs(plain, [bug]) : plain, { strategy: 'random', budget, seed: 1, faultWeights: Object.fromEntries(kinds.map((k) => [k, 1])), shrinkBudget: 0 });

describe('explore finds the xenstore races from a plain workload', () => {
  it('R19 deadDomainNodesToDom0: driverdom dying once is enough — xenstore-leak', () => {
    const report = search('deadDomainNodesToDom0', ['backend_death', 'reboot'], 20);
    expect(report.counterexample?.violations[0]).toMatch(/xenstore-leak: domain driverdom \(1\) is dead, yet 1 node it owned survives/);
  });

  it('R10 devicesFromFrontendPaths: the guest\'s xenstore_tamper, then its shutdown — device-teardown', () => {
    const report = search('devicesFromFrontendPaths', ['xenstore_tamper', 'shutdown'], 40);
    expect(report.counterexample?.violations[0]).toMatch(/device-teardown: the toolstack destroyed domain mmio-guest \(3\) and left 1 backend directory behind/);
  });

  it('R9 deadBackendWaitsForClosed: driverdom dies, then mmio-guest crashes (on_crash=destroy) — dead-backend-wait', () => {
    const report = search('deadBackendWaitsForClosed', ['backend_death', 'crash'], 30);
    expect(report.counterexample?.violations[0]).toMatch(/dead-backend-wait: domain mmio-guest \(3\)'s device removal waited out LIBXL_DESTROY_TIMEOUT/);
  });

  it('with the switches off, the schedules that found them show none of the three monitors', () => {
    const seen: string[] = [];
    const budgets: Array<[string[], number]> = [[['backend_death', 'reboot'], 3], [['xenstore_tamper', 'shutdown'], 20], [['backend_death', 'crash'], 10]];
    let schedules = 0;
    for (const [kinds, budget] of budgets) {
      explore(plain, { strategy: 'random', budget, seed: 1, all: true, faultWeights: Object.fromEntries(kinds.map((k) => [k, 1])), shrinkBudget: 0, onSchedule: (_i, o) => void (schedules++, seen.push(...o.violations)) });
    }
    expect(schedules).toBe(33);
    expect(seen.filter((v) => /xenstore-leak|device-teardown|dead-backend-wait/.test(v))).toEqual([]);
  });
});
