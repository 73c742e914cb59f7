import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load-scenario.js';
import { runParallel } from '../../src/parallel/parallel-system.js';
import { createSystem } from '../../src/runtime/system.js';

// The same lifecycle operations in both runtimes end the same way: xl shutdown is acknowledged and
// followed by on_poweroff (destroy), a guest kexec by on_soft_reset; a restart (a new domain) is
// refused by the parallel runtime with the line that would cause it.

const lifecycle = readFileSync('scenarios/lifecycle.yaml', 'utf8');

describe('lifecycle in the parallel runtime', () => {
  it('lifecycle.yaml without its reboot: the domains end in the same states in both runtimes, no violation', async () => {
    const scenario = parseScenario(lifecycle.replace(/^.*op: reboot.*$/m, ''), 'lifecycle-no-reboot.yaml');
    const det = createSystem(scenario).run();
    const par = await runParallel(scenario, { workers: 2 });
    const states = (s: { domains: Array<{ name: string; state: string }> }) => s.domains.map((d) => [d.name, d.state]);
    expect(states(par)).toEqual(states(det));
    expect(states(par)).toContainEqual(['server', 'dead']); // xl shutdown, then on_poweroff=destroy
    expect(par.invariantViolations).toEqual([]);
    expect(par.messages.duplicated + par.messages.corrupted + par.messages.reordered).toBe(0);
  });

  it('an operation that would restart a domain is refused before the run, naming its line', async () => {
    const scenario = parseScenario(lifecycle.replace(/op: reboot, domain: server/, 'op: guest_shutdown, domain: server, reason: reboot'), 'x.yaml');
    await expect(runParallel(scenario, { workers: 2 })).rejects.toThrow(/x\.yaml:\d+: this guest_shutdown leads to the domain's on_\* action restart/);
  });
});
