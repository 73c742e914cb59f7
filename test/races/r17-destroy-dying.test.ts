import { describe, expect, it } from 'vitest';
import { loadScenario } from '../../src/index.js';
import { explore } from '../../src/explore/explorer.js';
import { createSystem } from '../../src/runtime/system.js';

// R17 (virtio-ioreq-lifecycle.md §6.7, §6.3 domain_kill): destroys of a domain that is already dying.
// No switch (docs/races.md R17); in runs, whatever the order of a crash (on_crash=destroy), xl destroy
// and a kill at the same moment, the domain dies once and no monitor fires. The restartable domctl
// is the conformance case test/conformance/r17-destroy-dying.test.ts.

const scenario = loadScenario('scenarios/races/r17-destroy-dying.yaml');

describe('race R17: a destroy of a dying domain', () => {
  it('every order of crash, xl destroy and kill: the server dies once, DOMAIN_DEATH reported once, no violation', () => {
    const orders = new Set<string>();
    for (let seed = 1; seed <= 30; seed++) {
      const system = createSystem(scenario, { seed });
      const summary = system.run();
      expect(summary.invariantViolations, `seed ${seed}`).toEqual([]);
      const server = summary.domains.find((d) => d.name === 'server')!;
      expect(server.state, `seed ${seed}`).toBe('dead');
      expect(system.hv.life(2)).toBe('gone');
      const reported = system.actors().find((a) => a.id === 'toolstack:server')!.actor.getSnapshot().context.reported;
      expect(reported.filter((r: { type: string }) => r.type === 'DOMAIN_DEATH'), `seed ${seed}`).toHaveLength(1);
      expect(summary.errors.ESRCH ?? 0, `seed ${seed}`).toBeGreaterThan(0);
      orders.add(system.scheduler.trace.filter((t) => t.atMs === 10 && ['crash', 'destroy', 'kill'].includes(t.label)).map((t) => t.label).join(','));
      expect(server.toolstack.every((r) => r.endsWith('OK')), `seed ${seed}`).toBe(true);
    }
    expect(orders.size).toBeGreaterThan(2); // the scheduler did order them differently
  });

  it('argosim explore finds nothing to report', () => {
    expect(explore(scenario, { strategy: 'pos', budget: 60, seed: 1 }).violating).toBe(0);
  });
});
