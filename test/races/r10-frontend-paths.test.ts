import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/index.js';
import { withBugs } from '../../src/explore/bugs.js';
import { explore } from '../../src/explore/explorer.js';
import { createSystem } from '../../src/runtime/system.js';

// R10 (virtio-ioreq-lifecycle.md §6.7; XSA-175): a guest deletes its frontend device directory, then
// is destroyed. Today's libxl enumerates the devices from /libxl/<domid>/device (Xen e3d851340c) and
// removes them all; with devicesFromFrontendPaths it trusts the guest's paths, finds nothing, and
// leaves the backend's directory behind — the monitor device-teardown names it.

const scenario = loadScenario('scenarios/races/r10-frontend-paths.yaml');
const buggy = withBugs(scenario, ['devicesFromFrontendPaths']);

describe('race R10: a guest tampers with its frontend xenstore paths', () => {
  it('switch off: libxl removes the device from its own record — no backend directory is left, no violation', () => {
    const system = createSystem(scenario);
    const summary = system.run();
    expect(summary.faults).toEqual({ xenstore_tamper: 1 });
    expect(summary.invariantViolations).toEqual([]);
    expect(system.xenstore.paths().filter((p) => p.includes('/backend/virtio') || p.startsWith('/libxl/2'))).toEqual([]);
  });

  it('switch on: libxl finds no device in the guest-writable paths and leaves the backend directory — device-teardown', () => {
    const system = createSystem(buggy);
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([
      '10ms: device-teardown: the toolstack destroyed domain guest (2) and left 1 backend directory behind: /local/domain/1/backend/virtio/2/vdb',
    ]);
    expect(system.xenstore.read(0, '/local/domain/1/backend/virtio/2/vdb/state')).toBe('4'); // still Connected, for nobody
  });

  it('without the tampering the old enumeration finds the device too: the switch alone breaks nothing', () => {
    const honest = { ...buggy, faults: [] };
    expect(createSystem(honest).run().invariantViolations).toEqual([]);
  });

  it('argosim explore: found with the switch on, none with it off', () => {
    expect(explore(buggy, { strategy: 'pos', budget: 20, seed: 1, swarm: false }).counterexample?.violations[0]).toMatch(/device-teardown/);
    expect(explore(scenario, { strategy: 'pos', budget: 40, seed: 1 }).violating).toBe(0);
  });
});
