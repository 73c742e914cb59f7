import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario } from '../../src/index.js';
import { readFileSync } from 'node:fs';
import { withBugs } from '../../src/explore/bugs.js';
import { explore } from '../../src/explore/explorer.js';
import { createSystem } from '../../src/runtime/system.js';

// R19 (virtio-ioreq-lifecycle.md §6.7; XSA-322, XSA-419): the driver domain owns its device model's
// status node outside its home; it reboots. Today's xenstored deletes the node with its owner (Xen
// db471408ed); with deadDomainNodesToDom0 the node survives as dom0's, outside every quota, and the
// monitor xenstore-leak names it.

const scenario = loadScenario('scenarios/races/r19-xenstore-leak.yaml');
const buggy = withBugs(scenario, ['deadDomainNodesToDom0']);
const node = '/local/domain/0/device-model/2/state';

describe('race R19: xenstore nodes a dead domain owned outside its home', () => {
  it('switch off: the node goes with domain 1; the restarted driver domain (3) creates and owns it again — no violation', () => {
    const system = createSystem(scenario);
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.domains.find((d) => d.name === 'driverdom')!.domid).toBe(3);
    expect(system.xenstore.ownerOf(node)).toBe(3);
    expect(system.xenstore.ownedBy(1)).toEqual([]);
  });

  it('switch on: the node survives its owner, given to dom0 outside any quota — xenstore-leak names it', () => {
    const system = createSystem(buggy);
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([
      `5ms: xenstore-leak: domain driverdom (1) is dead, yet 1 node it owned survives (now owned by dom0, outside any quota): ${node}`,
    ]);
    expect(system.xenstore.ownerOf(node)).toBe(0); // the new driver domain writes it, but does not own it
  });

  it('argosim explore: found with the switch on, none with it off', () => {
    expect(explore(buggy, { strategy: 'random', budget: 5, seed: 1 }).counterexample?.violations[0]).toMatch(/xenstore-leak/);
    expect(explore(scenario, { strategy: 'random', budget: 40, seed: 1 }).violating).toBe(0);
  });

  it('exploring it with the switch off (faults at scheduling points): no crash and no violation — three model bugs it found are fixed', () => {
    // schedule 87: the guest killed before its device model ran (the device model attached to a dead
    // guest, and the run crashed); schedule 143: the driver domain gone when its device model's start
    // was confirmed (create_ioreq_server -ESRCH, a crash); schedule 191: the rebooted driver domain
    // re-attached the back end of a guest its toolstack was destroying, whose backend directory then
    // outlived it (device-teardown)
    const report = explore(scenario, { strategy: 'random', budget: 300, seed: 1 });
    expect(report.schedules).toBe(300);
    expect(report.violating).toBe(0);
  }, 60_000);

  it('a guest killed before its device model runs: the device model exits (it cannot attach to a dead guest); nothing crashes', () => {
    const text = readFileSync('scenarios/races/r19-xenstore-leak.yaml', 'utf8').replace('requests: 40, rate: 1ms }', 'requests: 40, rate: 1ms, dmStart: { delay: 1ms } }') + '\nfaults:\n  - { kind: kill, domain: guest, at: 0.5ms }\n';
    const summary = createSystem(parseScenario(text, 'r19-killed-guest.yaml')).run();
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.devices?.[0].requestsOk).toBe(0);
  });
});
