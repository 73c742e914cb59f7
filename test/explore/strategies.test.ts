import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/index.js';
import { Scheduler } from '../../src/runtime/scheduler.js';
import { DfsSearch } from '../../src/runtime/strategies/dfs.js';
import { pctStrategy } from '../../src/runtime/strategies/pct.js';
import { posStrategy } from '../../src/runtime/strategies/pos.js';
import { prefixStrategy } from '../../src/runtime/strategies/prefix.js';
import type { Strategy } from '../../src/runtime/strategy.js';
import { createSystem } from '../../src/runtime/system.js';

/** Three actors each with `n` points due at 0: the order a strategy runs them in. */
function orderOf(strategy: Strategy, n = 3): string[] {
  const scheduler = new Scheduler({ strategy });
  const ran: string[] = [];
  for (const actor of ['a', 'b', 'c']) {
    for (let i = 0; i < n; i++) scheduler.schedule({ kind: 'message', actor, label: `${actor}${i}`, run: () => ran.push(`${actor}${i}`) });
  }
  scheduler.run();
  return ran;
}

describe('exploration strategies (issue #8 item 2)', () => {
  it('pct: the same seed gives the same order; an actor runs until a change point lowers it', () => {
    expect(orderOf(pctStrategy(4, { depth: 1, steps: 9 }))).toEqual(orderOf(pctStrategy(4, { depth: 1, steps: 9 })));
    // depth 1: no change point, so actors run whole, in priority order
    const runs = orderOf(pctStrategy(4, { depth: 1, steps: 9 })).map((l) => l[0]);
    expect(runs.join('')).toMatch(/^(a{3}|b{3}|c{3}){3}$/);
    // with change points some seed interleaves the actors
    const seeds = Array.from({ length: 20 }, (_, s) => orderOf(pctStrategy(s, { depth: 3, steps: 9 })).map((l) => l[0]).join(''));
    expect(seeds.some((o) => !/^(a{3}|b{3}|c{3}){3}$/.test(o))).toBe(true);
  });

  it('pos: the same seed gives the same order, every point runs once, and different seeds give different orders', () => {
    const order = orderOf(posStrategy(8));
    expect(orderOf(posStrategy(8))).toEqual(order);
    expect([...order].sort()).toEqual(['a0', 'a1', 'a2', 'b0', 'b1', 'b2', 'c0', 'c1', 'c2']);
    expect(new Set(Array.from({ length: 10 }, (_, s) => orderOf(posStrategy(s)).join())).size).toBeGreaterThan(3);
  });

  it('prefix: the recorded choices, then the earliest point; a choice the run cannot make is the earliest', () => {
    expect(orderOf(prefixStrategy([2, 0, 5]))).toEqual(['a2', 'a0', 'c1', 'a1', 'b0', 'b1', 'b2', 'c0', 'c2']);
    // 8 of 9 enabled at first; after that 8 is past the end every time: the earliest point
    expect(orderOf(prefixStrategy([8, 8, 8, 8, 8, 8, 8, 8, 8]))).toEqual(['c2', 'a0', 'a1', 'a2', 'b0', 'b1', 'b2', 'c0', 'c1']);
  });

  it('dfs: every order of the first steps, each once; 3 actors with one point each have 3! orders', () => {
    const search = new DfsSearch(5);
    const orders: string[] = [];
    for (let s = search.next(); s; s = search.next()) orders.push(orderOf(s, 1).map((l) => l[0]).join(''));
    expect(search.done).toBe(true);
    expect(orders.sort()).toEqual(['abc', 'acb', 'bac', 'bca', 'cab', 'cba']);
    expect(() => new DfsSearch(0)).toThrow(/depth/);
  });

  it('dfs with depth 1 over a scenario: as many runs as points enabled at the first step', () => {
    const scenario = parseScenario(`
name: tiny
domains: [{ name: a }, { name: b }]
rings: [{ owner: b, port: 1, partner: a, len: 4032 }]
workloads: [{ from: a, to: { domain: b, port: 1 }, count: 2, size: 64 }]
`);
    const search = new DfsSearch(1);
    const firsts: string[] = [];
    for (let s = search.next(); s; s = search.next()) {
      const system = createSystem(scenario, { seed: 1, strategy: s });
      system.run();
      firsts.push(system.scheduler.trace[0].label);
      expect(system.finish().invariantViolations).toEqual([]);
    }
    expect(firsts.length).toBe(new Set(firsts).size);
    expect(firsts.length).toBeGreaterThan(1);
  });
});
