import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { loadScenario, parseScenario } from '../../src/index.js';
import { withBugs } from '../../src/explore/bugs.js';
import { explore } from '../../src/explore/explorer.js';
import { runSchedule } from '../../src/explore/schedule.js';
import { createSystem } from '../../src/runtime/system.js';
import { sweepSeeds } from './seed-sweep.js';

// R7 (virtio-ioreq-lifecycle.md §6.7): a guest destroyed while xl devd in its network driver domain
// still adds its vif. Today every devd operation has its own copy of the libxl__device (Xen
// fd519a5119); with devdAddSharesDevice the add and the removal share the list's record, which the
// removal frees as it completes, and an add still in flight reads it: devd-use-after-free.

const scenario = loadScenario('scenarios/races/r07-devd-remove-during-add.yaml');
const buggy = withBugs(scenario, ['devdAddSharesDevice']);
const UAF = /^\d+(\.\d+)?ms: devd-use-after-free: xl devd in domain netdom read the libxl__device of vif 0 of domain guest in \w+ of its add, after the removal's completion \(device_complete\) freed it/;

describe('race R7: a device removed while xl devd still adds it', () => {
  it('switch off: devd removes the vif (vif-bridge offline, then its backend path); the add, on its own copy, ends without harm', () => {
    const system = createSystem(scenario);
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.domains.find((d) => d.name === 'guest')!.toolstack).toEqual(['create OK', 'destroy OK']);
    expect(summary.vifs).toEqual([{ frontend: 'guest', backend: 'netdom', devid: 0, state: 'removed', frontendState: 'removed', hotplugStatus: 'none' }]);
    const labels = system.scheduler.trace.map((t) => t.label);
    expect(labels.some((l) => l.startsWith('xl devd: vif-bridge offline'))).toBe(true);
    // dom0's libxl left the driver domain's backend path to devd, which removed it
    expect(system.xenstore.paths().filter((p) => p.includes('/backend/') || p.includes('/device/vif'))).toEqual([]);
  });

  it('switch on: the removal ends first and frees the shared record; the add\'s next step reads it — devd-use-after-free', () => {
    const summary = createSystem(buggy).run();
    expect(summary.invariantViolations).toHaveLength(1);
    expect(summary.invariantViolations[0]).toMatch(UAF);
  });

  it('seeds 1–12: the hotplug scripts\' durations decide which operation ends first; with the switch on most seeds show it, with it off none', () => {
    const shown = sweepSeeds(scenario, buggy, 12);
    expect(shown.length).toBe(8);
    for (const v of shown.flat()) expect(v).toMatch(UAF);
  });

  it('argosim explore finds it from the plain network-driver-domain workload, the replay reproduces it; nothing with the switch off', () => {
    const plain = loadScenario('scenarios/network-driver-domain.yaml');
    const withBug = withBugs(plain, ['devdAddSharesDevice']);
    const found = explore(withBug, { strategy: 'random', budget: 40, seed: 1 }).counterexample;
    expect(found?.violations.some((v) => /devd-use-after-free: xl devd in domain netdom/.test(v))).toBe(true);
    const replay = runSchedule(withBug, { seed: found!.seed, faults: found!.faults, strategy: 'prefix', choices: found!.choices });
    expect(replay.violations).toEqual(found!.violations);
    expect(explore(plain, { strategy: 'random', budget: 40, seed: 1 }).violating).toBe(0);
  }, 60_000);
});

describe('PV vifs of a network driver domain (network-driver-domain.yaml)', () => {
  it('both vifs connect (InitWait, hotplug-status=connected, netfront Connected); web\'s reboot removes its old vif and libxl adds one for the new domain', () => {
    const system = createSystem(loadScenario('scenarios/network-driver-domain.yaml'));
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.vifs!.map((v) => [v.frontend, v.state, v.frontendState, v.hotplugStatus])).toEqual([
      ['web', 'Connected', 'Connected', 'connected'],
      ['db', 'Connected', 'Connected', 'connected'],
    ]);
    const web = summary.domains.find((d) => d.name === 'web')!;
    expect(web.domid).not.toBe(2); // a new domain since the reboot
    // only the live domains' vif backends are left
    expect(system.xenstore.paths().filter((p) => /^\/local\/domain\/1\/backend\/vif\/\d+$/.test(p))).toEqual([`/local/domain/1/backend/vif/3`, `/local/domain/1/backend/vif/${web.domid}`].sort());
  });
});

describe('libxl waits for devd to remove a driver domain\'s vif backend path', () => {
  const text = (lifecycle: string[]) =>
    readFileSync('scenarios/network-driver-domain.yaml', 'utf8').replace(/lifecycle:\n[\s\S]*$/, `lifecycle:\n${lifecycle.map((e) => `  - ${e}\n`).join('')}`);
  const guestSteps = (system: ReturnType<typeof createSystem>, name: string) => system.actors().find((a) => a.id === `toolstack:${name}`)!.actor.getSnapshot().context.steps as string[];

  it('web destroyed: libxl goes on once devd removed the path (after its offline script), not at Closed', () => {
    const system = createSystem(parseScenario(text(['{ at: 14ms, op: destroy, domain: web }']), 'x.yaml'));
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([]);
    const steps = guestSteps(system, 'web');
    expect(steps).toContain('devices: be/state=Closed');
    expect(steps).not.toContain('devices: timed out, forced');
    const removed = system.scheduler.trace.find((t) => t.label === '0: be/state removed')!;
    const offline = system.scheduler.trace.find((t) => t.label.startsWith('xl devd: vif-bridge offline'))!;
    expect(removed.atMs).toBeGreaterThanOrEqual(offline.atMs);
  });

  it('a devd started again after the vif connected does not know it: the destroy waits out LIBXL_DESTROY_TIMEOUT (libxl\'s devd scans for InitWait only)', () => {
    const system = createSystem(parseScenario(text(['{ at: 14ms, op: guest_shutdown, domain: netdom, reason: soft_reset }', '{ at: 20ms, op: destroy, domain: web }']), 'x.yaml'));
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([]);
    expect(guestSteps(system, 'web')).toContain('devices: timed out, forced');
  });
});
