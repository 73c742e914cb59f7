import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runParallel } from '../../src/parallel/parallel-system.js';
import { createSystem } from '../../src/runtime/system.js';
import { loadScenario, parseScenario } from '../../src/scenario/load-scenario.js';
import type { RunSummary } from '../../src/runtime/run-summary.js';

// PV vifs in the parallel runtime (issue #5, virtio-ioreq-lifecycle.md §6.4's PV backend handshake,
// §6.7 R7): libxl's add in the main thread (the control domain's user space, where xenstored runs),
// netback and xl devd as steps of the driver domain, netfront as steps of the guest — each run once
// its domain runs — and libxl's removal at a destroy waiting for devd to remove the backend path.
// Compared with the deterministic runtime: where each vif's handshake got to, the domains' domids and
// states, the messages.

const domains = (s: Pick<RunSummary, 'domains'>) => s.domains.map((d) => ({ name: d.name, domid: d.domid, state: d.state }));

/** network-driver-domain.yaml with its lifecycle replaced by `lifecycle` (and `faults`). */
const variant = (name: string, lines: string[]) =>
  parseScenario(readFileSync('scenarios/network-driver-domain.yaml', 'utf8').replace(/lifecycle:\n[\s\S]*$/, lines.join('\n') + '\n'), name);

// worker threads on a loaded two-core CI machine: a test here takes up to ~10 s, so 60 s each, not the default 20
describe('PV vifs in the parallel runtime', { timeout: 60_000 }, () => {
  it('network-driver-domain on 1, 2 and 3 workers: both vifs Connected (web\'s again after its reboot), as deterministic', async () => {
    const scenario = loadScenario('scenarios/network-driver-domain.yaml');
    const det = createSystem(scenario).run();
    expect(det.vifs!.map((v) => v.state)).toEqual(['Connected', 'Connected']);
    for (const workers of [1, 2, 3]) {
      const s = await runParallel(scenario, { workers });
      expect(s.invariantViolations).toEqual([]);
      expect(s.vifs).toEqual(det.vifs);
      expect(domains(s)).toEqual(domains(det));
      // which sends web's reboot refuses is timing: every one is sent or refused, none lost
      expect(s.messages.sent + s.messages.refused).toBe(det.messages.sent + det.messages.refused);
      expect(s.messages.lost + s.messages.duplicated + s.messages.corrupted + s.messages.reordered).toBe(0);
    }
  });

  it('the driver domain rebooted, soft-reset, paused and stalled around the handshakes: each vif ends as in the deterministic runtime', async () => {
    const cases = [
      // netdom's reboot leaves web's vif without a backend (libxl adds vifs as it creates their frontend); db's reboot after it gets a new one from the new devd
      variant('nd-reboot.yaml', ['lifecycle:', '  - { at: 30ms, op: reboot, domain: netdom }', '  - { at: 60ms, op: reboot, domain: db }', 'faults:', '  - { kind: soft_reset, at: 45ms, domain: web }']),
      // netdom stalled through the first handshakes, soft-reset (devd starts again with its new kernel), paused, and web rebooted meanwhile
      variant('nd-stall.yaml', ['lifecycle:', '  - { at: 30ms, op: pause, domain: netdom }', '  - { at: 40ms, op: unpause, domain: netdom }', '  - { at: 60ms, op: reboot, domain: web }', 'faults:', '  - { kind: soft_reset, at: 5ms, domain: netdom }', '  - { kind: stall, at: 0ms, domain: netdom, delay: 20ms }']),
    ];
    for (const scenario of cases) {
      const det = createSystem(scenario).run();
      const s = await runParallel(scenario, { workers: 2, timeScale: 2 });
      expect(s.invariantViolations, scenario.source.file).toEqual([]);
      expect(s.vifs, scenario.source.file).toEqual(det.vifs);
      expect(domains(s), scenario.source.file).toEqual(domains(det));
    }
  });

  it('r07: the guest destroyed while devd still adds its vif — with devdAddSharesDevice the add reads the record the removal freed; today nothing', async () => {
    const scenario = loadScenario('scenarios/races/r07-devd-remove-during-add.yaml');
    const buggy = parseScenario(`${readFileSync('scenarios/races/r07-devd-remove-during-add.yaml', 'utf8')}bugs: { devdAddSharesDevice: true }\n`, 'r07-bug.yaml');
    expect(createSystem(buggy).run().invariantViolations).toEqual([expect.stringMatching(/devd-use-after-free/)]);
    // the hotplug scripts' 2–20 ms stretched tenfold: the race is the scripts', not the threads' start-up
    const bug = await runParallel(buggy, { workers: 2, timeScale: 10 });
    expect(bug.invariantViolations).toEqual([
      expect.stringMatching(/^devd-use-after-free: xl devd in domain netdom read the libxl__device of vif 0 of domain guest in device_hotplug_done of its add, after the removal's completion \(device_complete\) freed it/),
    ]);
    const today = await runParallel(scenario, { workers: 2, timeScale: 10 });
    expect(today.invariantViolations).toEqual([]);
    for (const s of [bug, today]) {
      expect(s.vifs).toEqual([{ frontend: 'guest', backend: 'netdom', devid: 0, state: 'removed', frontendState: 'removed', hotplugStatus: 'none' }]);
      expect(domains(s).map((d) => d.state)).toEqual(['running', 'running', 'dead']);
    }
  });
});
