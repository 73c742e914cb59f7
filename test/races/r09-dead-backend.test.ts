import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/index.js';
import { withBugs } from '../../src/explore/bugs.js';
import { explore } from '../../src/explore/explorer.js';
import { createSystem } from '../../src/runtime/system.js';

// R9 (virtio-ioreq-lifecycle.md §6.7, §6.6, §7 case 44): the driver domain is destroyed under a
// connected virtio-mmio disk, then the guest. Today's libxl does not wait for a backend whose domain
// is gone (Xen 9eaaedfcde); with deadBackendWaitsForClosed it waits out LIBXL_DESTROY_TIMEOUT, and the
// monitor dead-backend-wait names it.

const scenario = loadScenario('scenarios/races/r09-dead-backend.yaml');
const buggy = withBugs(scenario, ['deadBackendWaitsForClosed']);
const guestSteps = (system: ReturnType<typeof createSystem>) => system.actors().find((a) => a.id === 'toolstack:guest')!.actor.getSnapshot().context.steps as string[];

describe('race R9: the backend domain destroyed while its frontend is connected (case 44)', () => {
  it('switch off: device removal skips the wait for the dead backend, the destroy completes at once, no violation', () => {
    const system = createSystem(scenario);
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.domains.find((d) => d.name === 'guest')!.toolstack).toEqual(['create OK', 'destroy OK']);
    const steps = guestSteps(system);
    expect(steps.slice(steps.indexOf('devices: remove (be/state=Closing)'))).toEqual([
      'devices: remove (be/state=Closing)',
      'devices: backend gone, no wait',
      'xenstore: remove /vm, /local/domain/N, /libxl/N',
      'xc_domain_destroy',
    ]);
    expect(system.xenstore.paths().filter((p) => p.includes('/backend/') || p.startsWith('/libxl/2'))).toEqual([]);
  });

  it('switch on: removal waits 10 s for a Closed nobody can write — dead-backend-wait names it', () => {
    const system = createSystem(buggy);
    const summary = system.run();
    expect(guestSteps(system)).toContain('devices: timed out, forced');
    expect(summary.invariantViolations).toEqual([
      "10010ms: dead-backend-wait: domain guest (2)'s device removal waited out LIBXL_DESTROY_TIMEOUT for be/state=Closed from backend domain driverdom (1), already gone when the removal started",
    ]);
  });

  it('a live backend is waited for, and answers Closed from its own xenbus watch: no timeout, either way', () => {
    const alive = { ...scenario, lifecycle: scenario.lifecycle.filter((e) => e.domain === 'guest') };
    for (const s of [alive, withBugs(alive, ['deadBackendWaitsForClosed'])]) {
      const system = createSystem(s);
      expect(system.run().invariantViolations).toEqual([]);
      expect(guestSteps(system)).toContain('devices: be/state=Closed');
      // the backend's and libxl's watches on be/state are xenstored's: its watch events carried them
      expect(system.xenstored.getSnapshot().context.watchEvents).toBeGreaterThanOrEqual(4);
    }
  });

  it('argosim explore: with the switch on every schedule shows it; off, none does', () => {
    expect(explore(buggy, { strategy: 'random', budget: 5, seed: 1 }).counterexample?.violations[0]).toMatch(/dead-backend-wait/);
    expect(explore(scenario, { strategy: 'random', budget: 40, seed: 1 }).violating).toBe(0);
  });
});
