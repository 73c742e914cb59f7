import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createActor, type AnyStateNode, type AnyTransitionDefinition, type SnapshotFrom } from 'xstate';
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths, getStateNodes, serializeSnapshot, type StatePath } from 'xstate/graph';
import { argoRingMachine, argoRingMachineFor, type ArgoRingEvent, type ArgoRingInput } from '../../machines/index.js';
import { ArgoError, ArgoGuest, createHypervisor, ERRNO, platformOf, type ArgoRing, type Hypervisor, type HypervisorOptions } from '../../src/index.js';

// argo.md §4.1–§4.2 (register, unregister), §8.2–§8.5 (teardown, soft reset, re-registration) against
// the hypervisor core. The graph walk runs the machine's own abstract model; every path is replayed on
// a real hypervisor through argoRingMachineFor, checking the core agrees after every event.

type Event = ArgoRingEvent;
type Snapshot = SnapshotFrom<typeof argoRingMachine>;

const OWNER = 2;
const PARTNER = 1;
const INPUT: ArgoRingInput = { owner: OWNER, aport: 80, partner: PARTNER, len: 4032 };
const MESSAGE_BYTES = 1000;

/** One summary per occupancy: what the runtime would report after a batch. */
const RING_STATES = [
  { type: 'RING_STATE', pendingBytes: 0, waiters: 0 },
  { type: 'RING_STATE', pendingBytes: 1024, waiters: 0 },
  { type: 'RING_STATE', pendingBytes: 3072, waiters: 1 },
] as const satisfies readonly ArgoRingEvent[];

const EVENTS: readonly ArgoRingEvent[] = [
  { type: 'REGISTER' },
  { type: 'REREGISTER' },
  { type: 'UNREGISTER' },
  ...RING_STATES,
  { type: 'OWNER_DIED' },
  { type: 'PARTNER_DIED' },
  { type: 'SOFT_RESET' },
];

const traversal = {
  input: INPUT,
  serializeState: (snapshot: Snapshot) => serializeSnapshot(snapshot),
  events: (snapshot: Snapshot) => EVENTS.filter((event) => snapshot.can(event)),
  // a domain dies once, and a dead one is not soft-reset
  filterEvents: (snapshot: Snapshot, event: ArgoRingEvent) =>
    !((event.type === 'OWNER_DIED' || event.type === 'SOFT_RESET') && !snapshot.context.ownerAlive) &&
    !(event.type === 'PARTNER_DIED' && !snapshot.context.partnerAlive),
};

interface EdgePath {
  events: ArgoRingEvent[];
  expected: Snapshot[];
  edges: string[];
}

const edgeKey = (from: Snapshot, event: ArgoRingEvent) => `${serializeSnapshot(from)} ${JSON.stringify(event)}`;

/** One path per edge of the adjacency map: the shortest path to its source state, then the edge. */
function edgeTour(): { paths: EdgePath[]; edges: Set<string> } {
  const adjacency = getAdjacencyMap(argoRingMachine, traversal);
  const heads = new Map<string, StatePath<Snapshot, Event>>(getShortestPaths(argoRingMachine, traversal).map((p) => [serializeSnapshot(p.state), p]));
  const paths: EdgePath[] = [];
  const edges = new Set<string>();
  for (const { state: from, event, nextState } of adjacencyMapToArray(adjacency)) {
    const head = heads.get(serializeSnapshot(from));
    if (!head) throw new Error(`no shortest path to ${serializeSnapshot(from)}`);
    const steps = head.steps.slice(1); // steps[0] is xstate.init
    const before = [head.steps[0].state, ...steps.map((s) => s.state)];
    const events = [...steps.map((s) => s.event), event];
    edges.add(edgeKey(from, event));
    paths.push({ events, expected: [...steps.map((s) => s.state), nextState], edges: events.map((e, i) => edgeKey(before[i], e)) });
  }
  return { paths, edges };
}

function transitionKey(t: AnyTransitionDefinition): string {
  const list: readonly AnyTransitionDefinition[] = t.eventType === '' ? (t.source.always ?? []) : (t.source.transitions.get(t.eventType) ?? []);
  return `${t.source.id} ${t.eventType || 'always'} #${list.indexOf(t)}`;
}

function declaredTransitions(root: AnyStateNode): string[] {
  return [root, ...getStateNodes(root)].flatMap((node) => [...[...node.transitions.values()].flat(), ...(node.always ?? [])].map(transitionKey));
}

/** A host with a control domain, the ring's owner and its partner, each with its guest library. */
function world(options: HypervisorOptions = {}) {
  const hv = createHypervisor({ argo: { enabled: true }, maxDomains: 8, gfnArenaPages: 4096, ...options });
  for (const domid of [0, PARTNER, OWNER]) hv.createDomain({ domid });
  return { hv, owner: new ArgoGuest(platformOf(hv, OWNER)), partner: new ArgoGuest(platformOf(hv, PARTNER)) };
}
type World = ReturnType<typeof world>;

/** The ring as the core has it. */
const coreRing = (hv: Hypervisor) => hv.argoState(OWNER)?.rings.find((r) => r.aport === INPUT.aport && r.partner === PARTNER);

function guestRing(w: World): ArgoRing {
  const ring = [...w.owner.rings.values()].find((r) => r.aport === INPUT.aport && r.partner === PARTNER);
  if (!ring) throw new Error('the owner holds no such ring');
  return ring;
}

/** Sends until the ring is full: the last sendv's EAGAIN leaves the partner waiting (argo.md §6.3). */
function fill(w: World): void {
  for (let i = 0; i < 8; i++) {
    try {
      w.partner.sendNow({ domid: OWNER, aport: INPUT.aport }, new Uint8Array(MESSAGE_BYTES));
    } catch (e) {
      if (e instanceof ArgoError && e.errno === ERRNO.EAGAIN) return;
      throw e;
    }
  }
  throw new Error('the ring never filled');
}

/**
 * Makes the core hold what the event reports, and returns the event with what the core then holds:
 * the owner consumes everything and notifies (waiters fire, argo.md §5.5), then the partner sends one
 * message or fills the ring.
 */
function drive(w: World, event: ArgoRingEvent): ArgoRingEvent {
  switch (event.type) {
    case 'RING_STATE': {
      w.owner.consume(guestRing(w));
      w.owner.notify();
      if (event.waiters > 0) fill(w);
      else if (event.pendingBytes > 0) w.partner.sendNow({ domid: OWNER, aport: INPUT.aport }, new Uint8Array(64));
      const ring = coreRing(w.hv)!;
      return { type: 'RING_STATE', pendingBytes: (ring.tx - ring.rx + ring.len) % ring.len, waiters: ring.waiters.length };
    }
    case 'OWNER_DIED':
      w.hv.killDomain(OWNER);
      return event;
    case 'PARTNER_DIED':
      w.hv.killDomain(PARTNER);
      return event;
    case 'SOFT_RESET':
      w.hv.softResetDomain(OWNER);
      return event;
    default:
      return event; // the machine makes the call itself
  }
}

/** The machine's state is what the core has (argo.md §4.1, §4.2, §6.3). */
function expectCoreAgrees(hv: Hypervisor, snapshot: Snapshot): void {
  const ring = coreRing(hv);
  expect(snapshot.matches('registered')).toBe(ring !== undefined);
  if (!ring) return;
  const pendingBytes = (ring.tx - ring.rx + ring.len) % ring.len;
  expect(snapshot.context).toMatchObject({ exists: true, pendingBytes, waiters: ring.waiters.length });
  const occupancy = ring.waiters.length > 0 ? 'fullWithWaiters' : pendingBytes > 0 ? 'holdingData' : 'empty';
  expect(snapshot.value).toEqual({ registered: occupancy });
}

const reported = ({ context: c }: Snapshot) => ({ exists: c.exists, reason: c.reason, ownerAlive: c.ownerAlive, partnerAlive: c.partnerAlive });

function replayOnCore(path: EdgePath, taken: Set<string>): void {
  const w = world();
  const actor = createActor(argoRingMachineFor(w.hv, w.owner), {
    input: INPUT,
    inspect: (e) => {
      if (e.type === '@xstate.microstep') for (const t of e._transitions) taken.add(transitionKey(t));
    },
  }).start();
  path.events.forEach((event, i) => {
    actor.send(drive(w, event));
    const snapshot = actor.getSnapshot();
    const where = `after ${path.events.slice(0, i + 1).map((e) => JSON.stringify(e)).join(' → ')}`;
    expect(snapshot.value, where).toEqual(path.expected[i].value);
    expect(reported(snapshot), where).toEqual(reported(path.expected[i])); // the model and the core agree
    expectCoreAgrees(w.hv, snapshot);
  });
  actor.stop();
}

describe('argoRingMachine (argo.md §4.1–§4.2, §8)', () => {
  it('the machine definitions import xstate only: no core, runtime or RxJS', () => {
    const source = readFileSync(new URL('../../machines/argo-ring.ts', import.meta.url), 'utf8');
    expect([...source.matchAll(/from '([^']+)'/g)].map((m) => m[1])).toEqual(['xstate']);
  });

  it('model-based: every edge of the graph, replayed on the hypervisor core, agrees at every step', () => {
    const { paths, edges } = edgeTour();
    const taken = new Set<string>();
    const takenTransitions = new Set<string>();
    for (const path of paths) {
      replayOnCore(path, takenTransitions);
      for (const edge of path.edges) taken.add(edge);
    }
    // every (state, event) edge of the adjacency map was taken by some path…
    expect([...edges].filter((e) => !taken.has(e))).toEqual([]);
    expect(edges.size).toBe(54);
    // …and so was every transition the machine declares, eventless ones included
    const declared = declaredTransitions(argoRingMachine.root);
    expect(declared.filter((t) => !takenTransitions.has(t))).toEqual([]);
    expect(declared.length).toBe(19);
  });

  it('the walk reaches tornDown for each reason: unregister, owner death, partner death, soft reset', () => {
    const { paths } = edgeTour();
    const reasons = new Set(paths.flatMap((p) => p.expected.filter((s) => s.matches('tornDown')).map((s) => s.context.reason)));
    expect([...reasons].sort()).toEqual(['ownerDeath', 'partnerDeath', 'softReset', 'unregister']);
  });

  it('§4.1 a registration the core refuses (no such partner: ESRCH) leaves the ring unregistered', () => {
    const w = world();
    const actor = createActor(argoRingMachineFor(w.hv, w.owner), { input: { ...INPUT, partner: 7 } }).start();
    actor.send({ type: 'REGISTER' });
    expect(actor.getSnapshot().value).toBe('unregistered');
    expect(w.hv.argoState(OWNER)!.rings).toEqual([]);
  });

  it('§8.5 re-registration keeps the pending messages and the waiters', () => {
    const w = world();
    const actor = createActor(argoRingMachineFor(w.hv, w.owner), { input: INPUT }).start();
    actor.send({ type: 'REGISTER' });
    actor.send(drive(w, RING_STATES[2]));
    expect(actor.getSnapshot().value).toEqual({ registered: 'fullWithWaiters' });
    actor.send({ type: 'REREGISTER' });
    expect(actor.getSnapshot().value).toEqual({ registered: 'fullWithWaiters' });
    expect(coreRing(w.hv)!.waiters).toEqual([{ domid: PARTNER, length: MESSAGE_BYTES }]);
  });

  it('§4.1 step 14 (Q3): a re-registration that fails deletes the ring: tornDown, reason reregisterFailed', () => {
    const w = world();
    const actor = createActor(argoRingMachineFor(w.hv, w.owner), { input: INPUT }).start();
    actor.send({ type: 'REGISTER' });
    w.hv.setLogDirty(OWNER, true); // registration answers EAGAIN
    actor.send({ type: 'REREGISTER' });
    expect(actor.getSnapshot().value).toBe('tornDown');
    expect(actor.getSnapshot().context.reason).toBe('reregisterFailed');
    expect(coreRing(w.hv)).toBeUndefined();
  });

  it('§4.1 step 14 without quirk Q3: the failed re-registration keeps the ring, and so does the machine', () => {
    const w = world({ quirks: { failedReregisterDeletes: false } });
    const actor = createActor(argoRingMachineFor(w.hv, w.owner), { input: INPUT }).start();
    actor.send({ type: 'REGISTER' });
    w.hv.setLogDirty(OWNER, true);
    actor.send({ type: 'REREGISTER' });
    expect(actor.getSnapshot().value).toEqual({ registered: 'empty' });
    expect(coreRing(w.hv)).toBeDefined();
  });

  it('§8.3 after a soft reset the owner registers the ring again at once', () => {
    const w = world();
    const actor = createActor(argoRingMachineFor(w.hv, w.owner), { input: INPUT }).start();
    actor.send({ type: 'REGISTER' });
    w.hv.softResetDomain(OWNER);
    actor.send({ type: 'SOFT_RESET' });
    expect(actor.getSnapshot().context.reason).toBe('softReset');
    actor.send({ type: 'REGISTER' });
    expect(actor.getSnapshot().value).toEqual({ registered: 'empty' });
    expect(actor.getSnapshot().context.reason).toBeNull();
  });

  it('a teardown report the core does not bear out changes nothing', () => {
    const w = world();
    const actor = createActor(argoRingMachineFor(w.hv, w.owner), { input: INPUT }).start();
    actor.send({ type: 'REGISTER' });
    actor.send({ type: 'SOFT_RESET' }); // no soft reset happened
    expect(actor.getSnapshot().value).toEqual({ registered: 'empty' });
    expect(coreRing(w.hv)).toBeDefined();
  });

  it('a machine wired to one domain\'s guest library but started for another owner fails loudly', () => {
    const w = world();
    const actor = createActor(argoRingMachineFor(w.hv, w.owner), { input: { ...INPUT, owner: PARTNER } });
    const errors: unknown[] = [];
    actor.subscribe({ error: (e) => errors.push(e) });
    actor.start();
    actor.send({ type: 'REGISTER' });
    expect(actor.getSnapshot().status).toBe('error');
    expect(String(errors[0])).toMatch(/ring owner 1, but the guest library is domain 2's/);
  });
});
