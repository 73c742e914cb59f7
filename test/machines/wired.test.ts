import { describe, expect, it } from 'vitest';
import { assign, setup, type AnyActorRef } from 'xstate';
import { wiredActors } from '../../machines/index.js';

// wiredActors: one provided machine, each actor with its own wire, found through `self` — also by
// the initial state's entry actions, which run while the actor is being made.
const counter = setup({
  types: { context: {} as { seen: string[] }, events: {} as { type: 'TICK' } },
  actions: { note: assign(() => ({})) },
}).createMachine({
  context: { seen: [] },
  entry: 'note',
  on: { TICK: { actions: 'note' } },
});

const createCounter = wiredActors('createCounter', (wireOf: (self: AnyActorRef) => { name: string }) =>
  counter.provide({ actions: { note: assign(({ context, self }) => ({ seen: [...context.seen, wireOf(self).name] })) } }),
);

describe('wiredActors', () => {
  it('gives each actor its own wire, from its first entry action on, and one machine to all', () => {
    const a = createCounter({ name: 'a' }, {}).start();
    const b = createCounter({ name: 'b' }, {}).start();
    a.send({ type: 'TICK' });
    b.send({ type: 'TICK' });
    expect(a.getSnapshot().context.seen).toEqual(['a', 'a']);
    expect(b.getSnapshot().context.seen).toEqual(['b', 'b']);
    expect(a.logic).toBe(b.logic);
  });
});
