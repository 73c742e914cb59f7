import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runParallel } from '../../src/parallel/parallel-system.js';
import { createSystem } from '../../src/runtime/system.js';
import { loadScenario, parseScenario } from '../../src/scenario/load-scenario.js';

// Scenario features the parallel runtime runs as the deterministic runtime does: a polling receiver
// (`consume: one`) and the hypervisor's historical bugs (`bugs:`), in every worker thread.

const pendingLength = readFileSync('scenarios/races/argo-pending-length.yaml', 'utf8');
const withBug = (bug: string) => parseScenario(pendingLength.replace('boot: { argo: true }', `boot: { argo: true }\nbugs: { ${bug}: true }`), `${bug}.yaml`);

// worker threads on a loaded two-core CI machine: a test here takes up to ~10 s, so 60 s each, not the default 20
describe('scenario features in the parallel runtime', { timeout: 60_000 }, () => {
  it('consume: one — the receiver takes one message per poll and polls again while whole messages remain; every message delivered', async () => {
    const scenario = loadScenario('scenarios/races/argo-pending-length.yaml');
    for (const workers of [1, 2]) {
      const s = await runParallel(scenario, { workers });
      expect(s.messages).toMatchObject({ sent: 60, delivered: 60, refused: 0, lost: 0, duplicated: 0, corrupted: 0, reordered: 0 });
      expect(s.invariantViolations).toEqual([]);
      // one handler run per message at least: a poll takes one
      expect(s.domains.find((d) => d.name === 'receiver')!.virqs).toBeGreaterThanOrEqual(60);
    }
  });

  it("the hypervisor's bugs run in every thread: sendvReturnsZeroWhenQueued makes a queued send look delivered, and the flow check sees the losses", async () => {
    const scenario = withBug('sendvReturnsZeroWhenQueued');
    const det = createSystem(scenario).run();
    const par = await runParallel(scenario, { workers: 2 });
    for (const s of [det, par]) {
      expect(s.messages.sent).toBe(60);
      expect(s.messages.lost).toBeGreaterThan(0);
      expect(s.invariantViolations.length).toBeGreaterThan(0);
    }
    // off, the same scenario loses nothing (the test above)
  });

  it("libxl's domid reuse without quarantine (R15): the rebooted server takes domid 2 again and what the client meant for the old one — stale-domid; with the quarantine it is domid 3 and the client's sends fail (ESRCH)", async () => {
    const scenario = loadScenario('scenarios/races/r15-domid-reuse.yaml');
    const buggy = parseScenario(readFileSync('scenarios/races/r15-domid-reuse.yaml', 'utf8').replace('boot: { argo: true }', 'boot: { argo: true }\nbugs: { domidReuseWithoutQuarantine: true }'), 'r15-bug.yaml');
    const server = (s: { domains: Array<{ name: string; domid: number }> }) => s.domains.find((d) => d.name === 'server')!.domid;
    const off = await runParallel(scenario, { workers: 2 });
    expect(server(off)).toBe(3);
    expect(off.errors.ESRCH).toBeGreaterThan(0);
    expect(off.invariantViolations).toEqual([]);
    const on = await runParallel(buggy, { workers: 2 });
    expect(server(on)).toBe(server(createSystem(buggy).run()));
    expect(server(on)).toBe(2);
    expect(on.invariantViolations.length).toBeGreaterThan(0);
    expect(on.invariantViolations.every((v) => /stale-domid: domain 1 sent to domid 2 meaning the domain that had it when its application started, and a later domain with that domid accepted it/.test(v))).toBe(true);
    expect(on.messages).toMatchObject({ duplicated: 0, corrupted: 0, reordered: 0 }); // nothing else is wrong: the new server's ring takes them whole
  });
  it("QEMU's exit on its guest's power-off (R13): with the switch on, the device model's thread hearing of it races libxl's destroy — when it wins, the destroy logs that the device model had already exited (destroy-clean); with it off, never", async () => {
    const text = readFileSync('scenarios/races/r13-qemu-exits-on-poweroff.yaml', 'utf8');
    const scenario = parseScenario(text, 'r13.yaml');
    const buggy = parseScenario(text.replace('boot: { argo: true, macPermissive: true }', 'boot: { argo: true, macPermissive: true }\nbugs: { qemuExitsOnGuestPoweroff: true }'), 'r13-bug.yaml');
    const guest = (s: { domains: Array<{ name: string; state: string; toolstack: string[] }> }) => s.domains.find((d) => d.name === 'guest')!;
    const off = await runParallel(scenario, { workers: 2 });
    expect(guest(off).state).toBe('dead');
    expect(guest(off).toolstack).toEqual(['guest_shutdown']);
    expect(off.invariantViolations).toEqual([]);
    // on: either order is a run of the race, each judged as it went, until one shows the bug (the
    // device model's thread heard it first in 2 of 5 runs of `argosim run … --runtime parallel` here)
    let shown = 0;
    for (let run = 0; run < 20 && shown === 0; run++) {
      const on = await runParallel(buggy, { workers: 2 });
      expect(guest(on).state).toBe('dead');
      const exited = guest(on).toolstack.includes('device model: already exited');
      expect(on.invariantViolations).toEqual(exited ? ["destroy-clean: libxl's destroy of guest (domain 2) logged an error: its device model had already exited"] : []);
      if (exited) shown++;
    }
    expect(shown).toBe(1);
  });
});
