import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/index.js';
import { withBugs } from '../../src/explore/bugs.js';
import { explore } from '../../src/explore/explorer.js';
import { runSchedule } from '../../src/explore/schedule.js';
import { createSystem } from '../../src/runtime/system.js';
import { sweepSeeds } from './seed-sweep.js';

// R8 and R13 (virtio-ioreq-lifecycle.md §6.7): the device model's QMP monitor, libxl's second
// channel to it beside xenstore. R8 (Xen ae29aa0f8f): libxl took xenstore's "running" for the start's
// confirmation and dropped QMP with an answer unread, wedging QEMU's monitor — the unpause's "cont"
// was never answered. R13 (Xen 9ba80a722b): QEMU without -no-shutdown exited with its guest, and
// libxl's destroy found it gone.

const WEDGED = /^10000(\.\d+)?ms: qmp-answers: QMP "cont" got no answer within 10 s \(QEMU's monitor wedged: libxl disconnected with the answer to "query-status" unread, when xenstore said "running"\)$/;
const GONE = /^20(\.\d+)?ms: destroy-clean: libxl's destroy of guest \(domain 2\) logged an error: its device model had already exited$/;

const stepsOf = (system: ReturnType<typeof createSystem>) => system.actors().find((a) => a.id === 'toolstack:guest')!.actor.getSnapshot().context.steps as string[];

describe('race R8: a device model confirmed through xenstore while its QMP answer is unread', () => {
  const scenario = loadScenario('scenarios/races/r08-qmp-wedged.yaml');
  const buggy = withBugs(scenario, ['qmpDisconnectBeforeReply']);

  it('switch off: QEMU -S answers query-status (the confirmation), then cont; the guest runs and uses its disk', () => {
    const system = createSystem(scenario);
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([]);
    expect(stepsOf(system)).toEqual(['domain_make', 'device model: spawn', 'device model: started', 'devices: attach', 'device model: cont', 'unpause']);
    expect(system.scheduler.trace.map((t) => t.label)).not.toContain('device-model state: running');
    expect(summary.devices![0]).toMatchObject({ requestsOk: 50 });
    expect(summary.messages.delivered).toBe(5);
  });

  it('switch on: the xswait confirms first, libxl disconnects, the cont times out at 10 s; the guest never runs — qmp-answers', () => {
    const system = createSystem(buggy);
    const summary = system.run();
    expect(summary.invariantViolations).toHaveLength(1);
    expect(summary.invariantViolations[0]).toMatch(WEDGED);
    expect(stepsOf(system).at(-1)).toBe('unpause: the device model did not resume');
    expect(summary.domains.find((d) => d.name === 'guest')!.state).toBe('createdPaused');
    expect(summary.devices![0]).toMatchObject({ requestsOk: 0 });
    expect(summary.messages.delivered).toBe(0);
  });

  it('seeds 1–12: with the switch on most show it (libxl reads the answer first in the rest), with it off none', () => {
    const shown = sweepSeeds(scenario, buggy, 12);
    for (const v of shown.flat()) expect(v).toMatch(WEDGED);
    expect(shown.length).toBe(10);
  });

  it('argosim explore finds it from the plain virtio-transports workload, the replay reproduces it', () => {
    const plain = withBugs(loadScenario('scenarios/virtio-transports.yaml'), ['qmpDisconnectBeforeReply']);
    const found = explore(plain, { strategy: 'random', budget: 20, seed: 1 }).counterexample;
    expect(found?.violations.some((v) => /qmp-answers: QMP "cont" got no answer/.test(v))).toBe(true);
    const replay = runSchedule(plain, { seed: found!.seed, faults: found!.faults, strategy: 'prefix', choices: found!.choices });
    expect(replay.violations).toEqual(found!.violations);
  }, 60_000);
});

describe('race R13: QEMU exits with its guest before libxl destroys it', () => {
  const scenario = loadScenario('scenarios/races/r13-qemu-exits-on-poweroff.yaml');
  const buggy = withBugs(scenario, ['qemuExitsOnGuestPoweroff']);

  it('switch off: QEMU (-no-shutdown) stays after the power-off; the destroy kills it, no error', () => {
    const system = createSystem(scenario);
    const summary = system.run();
    expect(summary.invariantViolations).toEqual([]);
    expect(summary.domains.find((d) => d.name === 'guest')!.toolstack).toEqual(['create OK', 'destroy OK']);
    expect(stepsOf(system)).toContain('device model: kill');
    expect(stepsOf(system)).not.toContain('device model: already exited');
  });

  it('switch on: QEMU hears of the power-off first and exits; the kill finds it gone — destroy-clean', () => {
    const system = createSystem(buggy);
    const summary = system.run();
    expect(summary.invariantViolations).toHaveLength(1);
    expect(summary.invariantViolations[0]).toMatch(GONE);
    expect(system.scheduler.trace.map((t) => t.label)).toContain('device model: guest powered off');
    expect(stepsOf(system)).toContain('device model: already exited');
    // the destroy goes on: the domain is gone, its domid quarantined
    expect(summary.domains.find((d) => d.name === 'guest')!.toolstack).toEqual(['create OK', 'destroy OK']);
    expect(system.hv.life(2)).toBe('gone');
  });

  it('seeds 1–12: the order decides; with the switch on about half show it, with it off none', () => {
    const shown = sweepSeeds(scenario, buggy, 12);
    for (const v of shown.flat()) expect(v).toMatch(GONE);
    expect(shown.length).toBe(6);
  });
});
