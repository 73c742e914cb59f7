import { describe, expect, it } from 'vitest';
import { argoRingMachine } from '../../machines/argo-ring.js';
import { domainMachine } from '../../machines/domain.js';
import { machineChart } from '../../src/inspector/machine-chart.js';
import { stateText, jsonSafe } from '../../src/inspector/actor-view.js';

describe('statecharts and states as the inspector shows them', () => {
  it('the ring machine chart has its states, nesting, initial state and transitions with targets', () => {
    const chart = machineChart(argoRingMachine);
    expect(chart.children.map((c) => c.key)).toEqual(['unregistered', 'registered', 'tornDown']);
    expect(chart.initial).toBe('unregistered');
    const registered = chart.children.find((c) => c.key === 'registered')!;
    expect(registered.children.map((c) => c.path)).toEqual(['registered.empty', 'registered.holdingData', 'registered.fullWithWaiters']);
    expect(registered.initial).toBe('registered.empty');
  });

  it('eventless transitions are listed as `always`, and a domain can be destroyed from running', () => {
    const running = machineChart(domainMachine).children.find((c) => c.key === 'running')!;
    expect(running.transitions).toContainEqual({ event: 'DESTROY', targets: ['destroying'] });
    expect(running.transitions).toContainEqual({ event: 'always', targets: ['paused'] });
  });

  it('state values become dotted paths; parallel regions are joined', () => {
    expect(stateText('running')).toBe('running');
    expect(stateText({ registered: 'holdingData' })).toBe('registered.holdingData');
    expect(stateText({ active: { ao: 'idle', watch: 'alive' } })).toBe('active.(ao.idle, watch.alive)');
  });

  it('contexts are cut to what a page can show', () => {
    const safe = jsonSafe({ sizes: new Array(100).fill(1), bytes: new Uint8Array(8), f: () => 1, deep: { a: { b: { c: { d: { e: 1 } } } } } }) as Record<string, unknown>;
    expect(safe.sizes).toHaveLength(17);
    expect(safe.bytes).toBe('[Uint8Array 8 bytes]');
    expect(safe.f).toBe('[function f]');
    expect(JSON.stringify(safe.deep)).toContain('[…]');
  });
});
