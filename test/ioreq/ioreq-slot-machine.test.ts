import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createActor, type SnapshotFrom } from 'xstate';
import { ioreqSlotMachine, type IoreqSlotEvent, type IoreqSlotInput } from '../../machines/ioreq-slot.js';
import { createIoreqSlotActor } from '../../machines/implementations/ioreq-slot-core.js';
import { declaredTransitions, edgeTour, transitionKey, type EdgePath } from './graph-tour.js';
import { bringUp, DOM0, MMIO_BASE, TARGET, world } from './harness.js';

// §5.4 the slot state machine, §5.9 teardown: the graph walk runs the machine's abstract model; each
// path is replayed on the IOREQ core through createIoreqSlotActor, checking the core agrees at every step.

type Snapshot = SnapshotFrom<typeof ioreqSlotMachine>;
const INPUT: IoreqSlotInput = { target: TARGET, vcpu: 0, server: 0, addr: MMIO_BASE };
const EVENTS: readonly IoreqSlotEvent[] = [
  { type: 'SEND' },
  { type: 'TAKE' },
  { type: 'RESPOND' },
  { type: 'WAKE' },
  ...[0, 1, 2, 3, 7].map((state) => ({ type: 'CORRUPT' as const, state })),
  { type: 'SERVER_GONE' },
];
const traversal = {
  input: INPUT,
  events: (snapshot: Snapshot) => (snapshot.status === 'done' ? [] : EVENTS.filter((event) => snapshot.can(event))),
};

const recorded = ({ context: c }: Snapshot) => ({ slotState: c.slotState, vcpuBlocked: c.vcpuBlocked, seen: c.seen, crashed: c.crashed, serverGone: c.serverGone });

function replayOnCore(path: EdgePath<Snapshot, IoreqSlotEvent>, taken: Set<string>): void {
  const w = world();
  const emu = bringUp(w);
  const actor = createIoreqSlotActor(
    { ioreq: w.ioreq, emulator: DOM0, page: emu.page, port: emu.ports[0], answer: 0x74726976n },
    { input: INPUT, inspect: (e) => void (e.type === '@xstate.microstep' && e._transitions.forEach((t) => taken.add(transitionKey(t)))) },
  ).start();
  path.events.forEach((event, i) => {
    if (event.type === 'SERVER_GONE' && !actor.getSnapshot().context.serverGone) w.ioreq.destroyServer(DOM0, TARGET, emu.id);
    actor.send(event);
    const where = `after ${path.events.slice(0, i + 1).map((e) => JSON.stringify(e)).join(' → ')}`;
    expect(actor.getSnapshot().value, where).toEqual(path.expected[i].value);
    expect(recorded(actor.getSnapshot()), where).toEqual(recorded(path.expected[i]));
  });
  actor.stop();
}

describe('ioreqSlotMachine (virtio-ioreq-lifecycle.md §5.4, §5.9)', () => {
  it('the machine definition imports xstate only', () => {
    const source = readFileSync(new URL('../../machines/ioreq-slot.ts', import.meta.url), 'utf8');
    expect([...source.matchAll(/from '([^']+)'/g)].map((m) => m[1])).toEqual(['xstate']);
  });

  it('model-based: every edge of the graph, replayed on the IOREQ core, agrees at every step; every declared transition is taken', () => {
    const { paths, edges } = edgeTour(ioreqSlotMachine, traversal);
    const taken = new Set<string>();
    const takenEdges = new Set<string>();
    for (const path of paths) {
      replayOnCore(path, taken);
      for (const e of path.edges) takenEdges.add(e);
    }
    expect([...edges].filter((e) => !takenEdges.has(e))).toEqual([]);
    expect(edges.size).toBeGreaterThan(100);
    const declared = declaredTransitions(ioreqSlotMachine.root);
    expect(declared.filter((t) => !taken.has(t))).toEqual([]);
    expect(declared.length).toBe(14); // 7 eventless follows, 3 root events, SEND, TAKE and RESPOND ×2
  });

  it('the walk reaches every state: a completed read, a crash on state 7 and on a backwards move, a destroyed server', () => {
    const { paths } = edgeTour(ioreqSlotMachine, traversal);
    const reached = new Set(paths.flatMap((p) => p.expected.map((s) => String(s.value))));
    expect([...reached].sort()).toEqual(['crashed', 'gone', 'inProcess', 'invalid', 'none', 'ready', 'respReady']);
  });

  it('case 31 through the actor: the vCPU is blocked from SEND until WAKE after RESPOND', () => {
    const s = createActor(ioreqSlotMachine, { input: INPUT }).start();
    s.send({ type: 'SEND' });
    expect(s.getSnapshot().context.vcpuBlocked).toBe(true);
    s.send({ type: 'TAKE' });
    s.send({ type: 'WAKE' });
    expect(s.getSnapshot().matches('inProcess')).toBe(true);
    s.send({ type: 'RESPOND' });
    s.send({ type: 'WAKE' });
    expect(s.getSnapshot().value).toBe('none');
    expect(s.getSnapshot().context.vcpuBlocked).toBe(false);
  });
});
