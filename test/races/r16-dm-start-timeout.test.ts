import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/index.js';
import { withBugs } from '../../src/explore/bugs.js';
import { explore } from '../../src/explore/explorer.js';
import { createSystem } from '../../src/runtime/system.js';

// R16 (virtio-ioreq-lifecycle.md §6.7, §6.4 create step 4, §7 case 39): a create that fails after
// the domid was assigned — here the guest's device model takes 70 s, beyond libxl's 60 s
// LIBXL_DEVICE_MODEL_START_TIMEOUT. Today's libxl destroys the half-built domain and the create ends
// in ERROR_FAIL; with halfBuiltDomainKept it ends in ERROR_FAIL and leaves the domain behind —
// create-failure-cleans-up names it.

const scenario = loadScenario('scenarios/races/r16-dm-start-timeout.yaml');
const buggy = withBugs(scenario, ['halfBuiltDomainKept']);

function runOf(s: typeof scenario) {
  const system = createSystem(s);
  const summary = system.run();
  const toolstack = system.actors().find((a) => a.id === 'toolstack:guest')!.actor.getSnapshot();
  return { system, summary, toolstack, guest: summary.domains.find((d) => d.name === 'guest')! };
}

describe('race R16: the device model does not start within 60 s', () => {
  it('switch off: at 60 s libxl destroys the half-built domain (DM killed, memory freed, domid quarantined), ERROR_FAIL, no violation', () => {
    const { system, summary, toolstack, guest } = runOf(scenario);
    expect(summary.invariantViolations).toEqual([]);
    expect(guest.toolstack).toEqual(['create ERROR_FAIL']);
    expect(guest.state).toBe('dead');
    expect(system.hv.life(2)).toBe('gone');
    expect(toolstack.context.quarantined).toEqual([2]);
    expect(toolstack.context.steps).toEqual([
      'domain_make',
      'device model: spawn',
      'device model: start timed out',
      'pci: remove',
      'pause',
      'device model: kill',
      'devices: none attached',
      'xenstore: remove /vm, /local/domain/N, /libxl/N',
      'xc_domain_destroy',
    ]);
    // the timeout fired at 60 s: the create's end is a step at 60000 ms
    expect(system.scheduler.trace.some((t) => t.atMs === 60_000)).toBe(true);
    // nothing of the guest is left in xenstore, and the device model's late confirmation at 70 s went nowhere
    expect(system.xenstore.paths().filter((p) => p.startsWith('/local/domain/2') || p.includes('device-model/2'))).toEqual([]);
    expect(summary.devices![0]).toMatchObject({ name: 'vda', requestsOk: 0 });
    expect(summary.domains.find((d) => d.name === 'driverdom')!.sent).toBe(5); // the rest of the host runs on
  });

  it('switch on: ERROR_FAIL with the half-built domain left paused, its memory held — create-failure-cleans-up', () => {
    const { system, summary, toolstack, guest } = runOf(buggy);
    expect(guest.toolstack).toEqual(['create ERROR_FAIL']);
    expect(guest.state).toBe('createdPaused');
    expect(system.hv.life(2)).toBe('alive');
    expect(toolstack.context.quarantined).toEqual([]);
    expect(summary.invariantViolations).toEqual([
      "60000ms: create-failure-cleans-up: domain guest's create ended in ERROR_FAIL, yet its half-built domain 2 is still there (createdPaused, 4096 KiB of memory held)",
    ]);
  });

  it('whatever the order of the points, the faithful toolstack never leaves a domain behind', () => {
    for (let seed = 1; seed <= 10; seed++) expect(createSystem(scenario, { seed }).run().invariantViolations, `seed ${seed}`).toEqual([]);
  });

  it('argosim explore finds it with the switch on, and nothing with it off', () => {
    expect(explore(buggy, { strategy: 'random', budget: 20, seed: 1 }).counterexample?.violations[0]).toMatch(/create-failure-cleans-up/);
    expect(explore(scenario, { strategy: 'random', budget: 30, seed: 1 }).violating).toBe(0);
  });
});
