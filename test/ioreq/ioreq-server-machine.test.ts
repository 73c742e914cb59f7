import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createActor, type SnapshotFrom } from 'xstate';
import { ioreqRangeKey, ioreqServerMachine, type IoreqServerEvent, type IoreqServerInput } from '../../machines/ioreq-server.js';
import { createIoreqServerActor } from '../../machines/implementations/ioreq-server-core.js';
import { IOREQ_READ, IOREQ_TYPE_COPY, XEN_DMOP_IO_RANGE_MEMORY } from '../../src/ioreq/constants.js';
import { answerRequest, takeRequest } from '../../src/ioreq/emulator-slot.js';
import type { GuestMemory } from '../../src/memory/guest-memory.js';
import { declaredTransitions, edgeTour, transitionKey, type EdgePath } from './graph-tour.js';
import { DRIVER, MMIO_BASE, MMIO_LAST, TARGET, world, type World } from './harness.js';

// §5.1–§5.2 (DM ops), §5.8a (bring-up), §5.9 (teardown) against the IOREQ core: the graph walk runs the
// machine's abstract model; every path is replayed on a real core through createIoreqServerActor.

type Snapshot = SnapshotFrom<typeof ioreqServerMachine>;
const INPUT: IoreqServerInput = { target: TARGET, emulator: DRIVER, handleBufioreq: 0 };
const MEM = XEN_DMOP_IO_RANGE_MEMORY;
const A = { rangeType: MEM, start: MMIO_BASE, end: MMIO_LAST };
const B = { rangeType: MEM, start: 0x3000000, end: 0x30000ff };
const EVENTS: readonly IoreqServerEvent[] = [
  { type: 'CREATE' },
  { type: 'MAP_RANGE', ...A },
  { type: 'MAP_RANGE', ...B },
  { type: 'UNMAP_RANGE', ...A },
  { type: 'ENABLE' },
  { type: 'DISABLE' },
  { type: 'DESTROY' },
  { type: 'REQUESTS', pending: 0 },
  { type: 'REQUESTS', pending: 1 },
  { type: 'TARGET_DIED' },
  { type: 'EMULATOR_DIED' },
];
const KEY_A = ioreqRangeKey(A.rangeType, A.start, A.end);

const traversal = {
  input: INPUT,
  events: (snapshot: Snapshot) => (snapshot.status === 'done' ? [] : EVENTS.filter((event) => snapshot.can(event))),
  // the runtime reports only what it can make happen: a request needs range A (the vCPU's address) or is
  // already pending, an answer needs a live emulator; each domain dies once
  filterEvents: (snapshot: Snapshot, event: IoreqServerEvent) => {
    const c = snapshot.context;
    if (event.type === 'REQUESTS' && event.pending === 1) return c.mapped.includes(KEY_A) || c.pending === 1;
    if (event.type === 'REQUESTS' && event.pending === 0) return c.emulatorAlive || c.pending === 0;
    if (event.type === 'EMULATOR_DIED') return c.emulatorAlive;
    return true;
  },
};

/** Makes the core hold what a runtime event reports (the machine makes the DM-op calls itself). */
function drive(w: World, event: IoreqServerEvent): void {
  const server = w.ioreq.servers(TARGET)[0];
  if (event.type === 'REQUESTS' && event.pending === 1 && !w.ioreq.vcpuBlocked(TARGET, 0)) {
    w.ioreq.access(TARGET, 0, { type: IOREQ_TYPE_COPY, addr: MMIO_BASE, size: 4, dir: IOREQ_READ });
  }
  if (event.type === 'REQUESTS' && event.pending === 0 && server?.vcpus[0].pending) {
    const page = w.ioreq.acquireResource(DRIVER, TARGET, server.id, 1) as GuestMemory;
    takeRequest(page, 0);
    answerRequest(page, 0, 1n);
    w.ioreq.evtchnSend(DRIVER, w.ioreq.bindInterdomain(DRIVER, TARGET, server.vcpus[0].port));
    w.ioreq.resume(TARGET, 0);
  }
  if (event.type === 'TARGET_DIED') w.hv.killDomain(TARGET);
  if (event.type === 'EMULATOR_DIED') w.hv.killDomain(DRIVER);
}

const recorded = ({ context: c }: Snapshot) => ({ exists: c.exists, enabled: c.enabled, pending: c.pending, mapped: c.mapped, errno: c.errno, gone: c.gone, emulatorAlive: c.emulatorAlive });

function replayOnCore(path: EdgePath<Snapshot, IoreqServerEvent>, taken: Set<string>): void {
  const w = world();
  w.ioreq.setDeviceModel(TARGET, DRIVER);
  const actor = createIoreqServerActor({ ioreq: w.ioreq }, { input: INPUT, inspect: (e) => void (e.type === '@xstate.microstep' && e._transitions.forEach((t) => taken.add(transitionKey(t)))) }).start();
  path.events.forEach((event, i) => {
    drive(w, event);
    actor.send(event);
    const where = `after ${path.events.slice(0, i + 1).map((e) => JSON.stringify(e)).join(' → ')}`;
    expect(actor.getSnapshot().value, where).toEqual(path.expected[i].value);
    expect(recorded(actor.getSnapshot()), where).toEqual(recorded(path.expected[i]));
  });
  actor.stop();
}

describe('ioreqServerMachine (virtio-ioreq-lifecycle.md §5.1–§5.2, §5.8a, §5.9)', () => {
  it('the machine definition imports xstate only', () => {
    const source = readFileSync(new URL('../../machines/ioreq-server.ts', import.meta.url), 'utf8');
    expect([...source.matchAll(/from '([^']+)'/g)].map((m) => m[1])).toEqual(['xstate']);
  });

  it('model-based: every edge of the graph, replayed on the IOREQ core, agrees at every step; every declared transition is taken', () => {
    const { paths, edges } = edgeTour(ioreqServerMachine, traversal);
    const taken = new Set<string>();
    const takenEdges = new Set<string>();
    for (const path of paths) {
      replayOnCore(path, taken);
      for (const e of path.edges) takenEdges.add(e);
    }
    expect([...edges].filter((e) => !takenEdges.has(e))).toEqual([]);
    expect(edges.size).toBeGreaterThan(100);
    const declared = declaredTransitions(ioreqServerMachine.root);
    expect(declared.filter((t) => !taken.has(t))).toEqual([]);
    expect(declared.length).toBe(21); // 4 eventless follows, 2 root events, CREATE, 4 in disabled, 5 each in enabled and serving
  });

  it('the walk reaches destroyed both ways (DESTROY, the target\'s death) and a zombie\'s server (R5)', () => {
    const { paths } = edgeTour(ioreqServerMachine, traversal);
    const ends = paths.map((p) => p.expected.at(-1)!).filter((s) => s.matches('destroyed'));
    expect(ends.some((s) => s.context.emulatorAlive)).toBe(true);
    expect(paths.some((p) => p.expected.some((s) => s.matches('serving') && !s.context.emulatorAlive))).toBe(true);
  });

  it('a refused op records its errno and leaves the state: map of the same range twice is -EEXIST', () => {
    const s = createActor(ioreqServerMachine, { input: INPUT }).start();
    s.send({ type: 'CREATE' });
    s.send({ type: 'MAP_RANGE', ...A });
    s.send({ type: 'MAP_RANGE', ...A });
    expect(s.getSnapshot().value).toBe('disabled');
    expect(s.getSnapshot().context.errno).toBe(-17);
  });
});
