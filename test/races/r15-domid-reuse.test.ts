import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/index.js';
import { withBugs } from '../../src/explore/bugs.js';
import { explore } from '../../src/explore/explorer.js';
import { createSystem } from '../../src/runtime/system.js';

// R15 (virtio-ioreq-lifecycle.md §6.7, §7 case 39): a domid reused at once after a destroy. With
// libxl's 60 s quarantine the rebooted server gets a new domid and the client's sends fail visibly;
// with domidReuseWithoutQuarantine the new server takes them silently — stale-domid names it.

const scenario = loadScenario('scenarios/races/r15-domid-reuse.yaml');
const buggy = withBugs(scenario, ['domidReuseWithoutQuarantine']);

describe('race R15: a domid reused at once', () => {
  it('switch off: the rebooted server has a new domid; the client finds its old one gone (ESRCH), no violation', () => {
    const summary = createSystem(scenario).run();
    expect(summary.domains.find((d) => d.name === 'server')!.domid).toBe(3);
    expect(summary.errors.ESRCH).toBeGreaterThan(0);
    expect(summary.invariantViolations).toEqual([]);
  });

  it('switch on: the new server reuses domid 2 and accepts what was meant for the old one — stale-domid', () => {
    const summary = createSystem(buggy).run();
    expect(summary.domains.find((d) => d.name === 'server')!.domid).toBe(2);
    expect(summary.errors).toEqual({});
    expect(summary.invariantViolations.length).toBeGreaterThan(0);
    expect(summary.invariantViolations.every((v) => /stale-domid: requests sent to domid 2 meaning server's incarnation 0, and incarnation 1 accepted it/.test(v))).toBe(true);
  });

  it('argosim explore finds it at once with the switch on, and nothing with it off', () => {
    expect(explore(buggy, { strategy: 'pos', budget: 50, seed: 1 }).counterexample?.violations[0]).toMatch(/stale-domid/);
    expect(explore(scenario, { strategy: 'pos', budget: 100, seed: 1 }).violating).toBe(0);
  });
});
