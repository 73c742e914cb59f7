import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { assign, createActor, setup, type AnyStateNode, type AnyTransitionDefinition, type SnapshotFrom } from 'xstate';
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths, getStateNodes, serializeSnapshot, type StatePath } from 'xstate/graph';
import { createGuestAppActor, guestAppMachine, guestAppMachineFor, messageSize, payloadFor, type GuestAppInput } from '../../machines/index.js';
import { ArgoGuest, createHypervisor, ERRNO, platformOf, VIRQ_ARGO, XEN_ARGO_DOMID_ANY, type ArgoRing, type Hypervisor } from '../../src/index.js';

// argo.md §6.3 (the sender protocol) against the hypervisor core. The application's own default
// implementation is an ideal destination, so the graph here is walked over a model of the whole
// world: the app, the destination ring (messages held, registered or not) and its receiver. The
// world's events are the app's (START, VIRQ, STOP) and the receiver's (DRAIN: consume + notify;
// UNREGISTER). Every edge is replayed on a real hypervisor with guestAppMachineFor and two ArgoGuests,
// checking the app's state and counters against the world model and the rings against the core.

const SENDER = 1;
const RECEIVER = 2;
const APORT = 80;
const RING_LEN = 4032;
const DST = { domid: RECEIVER, aport: APORT };
/** Messages 2, 5 and 8 (5000 bytes) never fit a 4032-byte ring: sendv refuses it with EMSGSIZE. */
const INPUT: GuestAppInput = { dst: DST, count: 10, sizes: [1000, 1000, 5000] };
/** 1000-byte messages a 4032-byte ring holds: 3 slots of 1024 bytes (argo.md §5.2). */
const CAPACITY = 3;

type AppPhase = 'idle' | 'blocked' | 'done' | 'stopped';

interface World {
  app: AppPhase;
  seq: number;
  sent: number;
  refused: Record<string, number>;
  blockedCount: number;
  /** Messages in the destination ring. */
  held: number;
  exists: boolean;
  /** Seqs sent, in order. */
  sentSeqs: number[];
}

type WorldEvent = { type: 'START' } | { type: 'VIRQ' } | { type: 'STOP' } | { type: 'DRAIN' } | { type: 'UNREGISTER' };
const APP_EVENTS = new Set(['START', 'VIRQ', 'STOP']);

const count = (refused: Record<string, number>, errno: string) => ({ ...refused, [errno]: (refused[errno] ?? 0) + 1 });

/** The §6.3 sender from message `seq` on: sendv until the ring is full (EAGAIN) or every message is dealt with. */
function send(w: World): World {
  let { seq, sent, refused, blockedCount, held, sentSeqs } = w;
  while (seq < INPUT.count) {
    const size = messageSize(INPUT, seq);
    if (!w.exists) refused = count(refused, 'ECONNREFUSED');
    else if (size > RING_LEN) refused = count(refused, 'EMSGSIZE');
    else if (held < CAPACITY) {
      held++;
      sent++;
      sentSeqs = [...sentSeqs, seq];
    } else {
      return { ...w, app: 'blocked', seq, sent, refused, blockedCount: blockedCount + 1, held, sentSeqs };
    }
    seq++;
  }
  return { ...w, app: 'done', seq, sent, refused, blockedCount, held, sentSeqs };
}

/** VIRQ while blocked: notify says the ring is gone (ECONNREFUSED, next message), has room, or has not. */
function virq(w: World): World {
  if (!w.exists) return send({ ...w, seq: w.seq + 1, refused: count(w.refused, 'ECONNREFUSED') });
  return w.held < CAPACITY ? send(w) : w;
}

const worldMachine = setup({
  types: { context: {} as World, events: {} as WorldEvent },
  guards: {
    holding: ({ context }) => context.exists && context.held > 0,
    exists: ({ context }) => context.exists,
  },
}).createMachine({
  id: 'world',
  context: { app: 'idle', seq: 0, sent: 0, refused: {}, blockedCount: 0, held: 0, exists: true, sentSeqs: [] },
  initial: 'running',
  states: {
    running: {
      always: [
        { target: 'finished', guard: ({ context }) => context.app === 'done' || context.app === 'stopped' },
      ],
      on: {
        START: { guard: ({ context }) => context.app === 'idle', actions: assign(({ context }) => send(context)) },
        VIRQ: { guard: ({ context }) => context.app === 'blocked', actions: assign(({ context }) => virq(context)) },
        STOP: { actions: assign({ app: 'stopped' as const }) },
        DRAIN: { guard: 'holding', actions: assign({ held: 0 }) },
        UNREGISTER: { guard: 'exists', actions: assign({ exists: false, held: 0 }) },
      },
    },
    finished: { type: 'final' },
  },
});

type WorldSnapshot = SnapshotFrom<typeof worldMachine>;

const WORLD_EVENTS: readonly WorldEvent[] = [{ type: 'START' }, { type: 'VIRQ' }, { type: 'STOP' }, { type: 'DRAIN' }, { type: 'UNREGISTER' }];

const traversal = {
  serializeState: (snapshot: WorldSnapshot) => serializeSnapshot(snapshot),
  events: (snapshot: WorldSnapshot) => WORLD_EVENTS.filter((event) => snapshot.can(event)),
};

interface EdgePath {
  events: WorldEvent[];
  expected: WorldSnapshot[];
  edges: string[];
}

const edgeKey = (from: WorldSnapshot, event: WorldEvent) => `${serializeSnapshot(from)} ${JSON.stringify(event)}`;

function edgeTour(): { paths: EdgePath[]; edges: Set<string> } {
  const adjacency = getAdjacencyMap(worldMachine, traversal);
  const heads = new Map<string, StatePath<WorldSnapshot, WorldEvent>>(getShortestPaths(worldMachine, traversal).map((p) => [serializeSnapshot(p.state), p]));
  const paths: EdgePath[] = [];
  const edges = new Set<string>();
  for (const { state: from, event, nextState } of adjacencyMapToArray(adjacency)) {
    const head = heads.get(serializeSnapshot(from));
    if (!head) throw new Error(`no shortest path to ${serializeSnapshot(from)}`);
    const steps = head.steps.slice(1);
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

function world() {
  const hv = createHypervisor({ argo: { enabled: true }, maxDomains: 8, gfnArenaPages: 1024 });
  hv.createDomain({ domid: 0 });
  hv.createDomain({ domid: SENDER });
  hv.createDomain({ domid: RECEIVER });
  const sender = new ArgoGuest(platformOf(hv, SENDER));
  const receiver = new ArgoGuest(platformOf(hv, RECEIVER));
  const ring = receiver.registerRing({ aport: APORT, partner: SENDER, len: RING_LEN });
  return { hv, sender, receiver, ring };
}

const waitersOf = (hv: Hypervisor) => hv.argoState(RECEIVER)!.rings.find((r) => r.aport === APORT)?.waiters;

function replayOnCore(path: EdgePath, taken: Set<string>): void {
  const { hv, sender, receiver, ring } = world();
  const app = createActor(guestAppMachineFor(sender), {
    input: INPUT,
    inspect: (e) => {
      if (e.type === '@xstate.microstep') for (const t of e._transitions) taken.add(transitionKey(t));
    },
  }).start();
  const received: number[][] = [];
  let registered: ArgoRing | null = ring;
  path.events.forEach((event, i) => {
    const where = `after ${path.events.slice(0, i + 1).map((e) => e.type).join(' → ')}`;
    if (APP_EVENTS.has(event.type)) app.send(event as { type: 'START' | 'VIRQ' | 'STOP' });
    else if (event.type === 'DRAIN') received.push(...receiver.consume(registered!).map((m) => [...m.payload]));
    else {
      receiver.unregisterRing(registered!);
      registered = null;
    }
    const w = path.expected[i].context;
    const snapshot = app.getSnapshot();
    expect(snapshot.value, where).toBe(w.app);
    expect({ seq: snapshot.context.seq, sent: snapshot.context.sent, refused: snapshot.context.refused, blockedCount: snapshot.context.blockedCount }, where).toEqual({
      seq: w.seq,
      sent: w.sent,
      refused: w.refused,
      blockedCount: w.blockedCount,
    });
    // the messages in the destination ring, and those the receiver took, are the ones the app sent
    expect(registered?.pendingMessages() ?? 0, where).toBe(w.held);
    expect(received, where).toEqual(w.sentSeqs.slice(0, received.length).map((seq) => [...payloadFor(seq, messageSize(INPUT, seq))]));
    if (w.exists) expect(received.length + w.held, where).toBe(snapshot.context.sent);
    if (w.app === 'blocked' && w.exists) {
      if (w.held === CAPACITY) {
        // argo.md §6.3: EAGAIN (or a notify that found no room) left a space-wait queued
        expect(waitersOf(hv), where).toEqual([{ domid: SENDER, length: messageSize(INPUT, w.seq) }]);
      } else {
        // the receiver's notify after consuming woke the waiter: VIRQ_ARGO is pending for the sender
        expect(waitersOf(hv), where).toEqual([]);
        expect(hv.virqPending(SENDER, VIRQ_ARGO), where).toBe(true);
      }
    }
    if (event.type === 'VIRQ') expect(hv.virqPending(SENDER, VIRQ_ARGO), where).toBe(false); // acknowledged
    if (w.app === 'done') {
      expect(snapshot.status).toBe('done');
      expect(w.sent + Object.values(w.refused).reduce((a, b) => a + b, 0)).toBe(INPUT.count);
    }
  });
  app.stop();
}

/**
 * A paced app on the core: it sends one message per SEND, waits in `ready` between them, and STOP
 * there ends it; the messages in the ring are exactly those it sent.
 */
function replayPaced(taken: Set<string>): void {
  for (const stopEarly of [false, true]) {
    const { sender, ring } = world();
    const app = createActor(guestAppMachineFor(sender), {
      input: { dst: DST, count: 2, sizes: [100], paced: true },
      inspect: (e) => {
        if (e.type === '@xstate.microstep') for (const t of e._transitions) taken.add(transitionKey(t));
      },
    }).start();
    app.send({ type: 'START' });
    expect(app.getSnapshot().value).toBe('ready');
    expect(ring.pendingMessages()).toBe(0);
    app.send({ type: 'SEND' });
    expect(app.getSnapshot().value).toBe('ready');
    expect(ring.pendingMessages()).toBe(1);
    if (stopEarly) {
      app.send({ type: 'STOP' });
      expect(app.getSnapshot().value).toBe('stopped');
    } else {
      app.send({ type: 'SEND' });
      expect(app.getSnapshot().value).toBe('done');
      expect(ring.pendingMessages()).toBe(2);
    }
    app.stop();
  }
  // a paced app that fills the ring waits in `blocked`, and after the VIRQ retries the same message
  // and goes back to waiting for its slot
  const { receiver, sender, ring } = world();
  const app = createActor(guestAppMachineFor(sender), {
    input: { dst: DST, count: CAPACITY + 2, sizes: [1000], paced: true },
    inspect: (e) => {
      if (e.type === '@xstate.microstep') for (const t of e._transitions) taken.add(transitionKey(t));
    },
  }).start();
  app.send({ type: 'START' });
  for (let i = 0; i < CAPACITY; i++) app.send({ type: 'SEND' });
  expect(app.getSnapshot().value).toBe('ready');
  app.send({ type: 'SEND' });
  expect(app.getSnapshot().value).toBe('blocked');
  expect(app.getSnapshot().context).toMatchObject({ seq: CAPACITY, sent: CAPACITY, blockedCount: 1 });
  expect(receiver.consume(ring)).toHaveLength(CAPACITY);
  app.send({ type: 'VIRQ' });
  expect(app.getSnapshot().value).toBe('ready');
  expect(app.getSnapshot().context).toMatchObject({ seq: CAPACITY + 1, sent: CAPACITY + 1 });
  app.send({ type: 'SEND' });
  expect(app.getSnapshot().value).toBe('done');
  expect(ring.pendingMessages()).toBe(2);
}

/**
 * argo.md §4.4 step 14 / §6.3: a blocked sender whose space-wait was fired, and which finds on its
 * re-check that the ring is full again and already has 32 waiters, can queue no wait — notify flags
 * EBUSY, and the app counts the message refused with EBUSY rather than wait for a VIRQ that would
 * never come.
 */
function replayEbusyQuery(taken: Set<string>): void {
  const others = Array.from({ length: 33 }, (_, i) => 10 + i);
  const hv = createHypervisor({ argo: { enabled: true, macPermissive: true }, maxDomains: 64, gfnArenaPages: 1024 });
  for (const domid of [0, SENDER, RECEIVER, ...others]) hv.createDomain({ domid });
  const receiver = new ArgoGuest(platformOf(hv, RECEIVER));
  const ring = receiver.registerRing({ aport: APORT, partner: XEN_ARGO_DOMID_ANY, len: RING_LEN });
  const app = createActor(guestAppMachineFor(new ArgoGuest(platformOf(hv, SENDER))), {
    input: { dst: DST, count: CAPACITY + 1, sizes: [1000] },
    inspect: (e) => {
      if (e.type === '@xstate.microstep') for (const t of e._transitions) taken.add(transitionKey(t));
    },
  }).start();
  app.send({ type: 'START' });
  expect(app.getSnapshot().value).toBe('blocked');
  receiver.consume(ring); // the app's wait fires: VIRQ_ARGO pending for it
  expect(hv.virqPending(SENDER, VIRQ_ARGO)).toBe(true);
  const filler = new ArgoGuest(platformOf(hv, others[0]));
  for (let i = 0; i < CAPACITY; i++) expect(filler.sendvRaw(DST, [filler.stageIov(new Uint8Array(1000))])).toBe(1000);
  for (const domid of others.slice(1)) {
    const g = new ArgoGuest(platformOf(hv, domid));
    expect(g.sendvRaw(DST, [g.stageIov(new Uint8Array(1000))])).toBe(domid < 10 + 33 ? -ERRNO.EAGAIN : -ERRNO.EBUSY);
  }
  expect(waitersOf(hv)).toHaveLength(32);
  app.send({ type: 'VIRQ' });
  expect(app.getSnapshot().value).toBe('done');
  expect(app.getSnapshot().context).toMatchObject({ seq: CAPACITY + 1, sent: CAPACITY, refused: { EBUSY: 1 } });
  app.stop();
}

describe('guestAppMachine (argo.md §6.3 sender)', () => {
  it('the machine definition imports xstate only', () => {
    const source = readFileSync(new URL('../../machines/guest-app.ts', import.meta.url), 'utf8');
    expect([...source.matchAll(/from '([^']+)'/g)].map((m) => m[1])).toEqual(['xstate']);
  });

  it('the world model’s ring sizes are the core’s: 3 messages of 1000 bytes fit, a 5000-byte one is EMSGSIZE', () => {
    const { sender } = world();
    const rcs = [1000, 1000, 1000, 1000].map((n) => sender.sendvRaw(DST, [sender.stageIov(new Uint8Array(n))]));
    expect(rcs).toEqual([1000, 1000, 1000, -ERRNO.EAGAIN]);
    expect(rcs.filter((rc) => rc > 0)).toHaveLength(CAPACITY);
    expect(sender.sendvRaw(DST, [sender.stageIov(new Uint8Array(5000))])).toBe(-ERRNO.EMSGSIZE);
  });

  it('model-based: every edge of the world graph, replayed on the hypervisor core, agrees at every step', () => {
    const { paths, edges } = edgeTour();
    const taken = new Set<string>();
    const takenTransitions = new Set<string>();
    for (const path of paths) {
      replayOnCore(path, takenTransitions);
      for (const edge of path.edges) taken.add(edge);
    }
    expect([...edges].filter((e) => !taken.has(e))).toEqual([]);
    expect(paths.length).toBe(edges.size);
    expect(edges.size).toBe(23); // 10 messages, 3 fit: blocked at message 4 and again at 8
    replayPaced(takenTransitions);
    replayEbusyQuery(takenTransitions);
    // count 0: done at START
    const idle = createActor(guestAppMachineFor(world().sender), {
      input: { ...INPUT, count: 0 },
      inspect: (e) => {
        if (e.type === '@xstate.microstep') for (const t of e._transitions) takenTransitions.add(transitionKey(t));
      },
    }).start();
    idle.send({ type: 'START' });
    expect(idle.getSnapshot().value).toBe('done');
    // every transition the app machine declares was taken on the core, eventless ones included
    const declared = declaredTransitions(guestAppMachine.root);
    expect(declared.filter((t) => !takenTransitions.has(t))).toEqual([]);
    expect(declared.length).toBe(15);
  });

  it('createGuestAppActor: apps made from one shared machine each send with their own guest', () => {
    const hv = createHypervisor({ argo: { enabled: true }, maxDomains: 8, gfnArenaPages: 1024 });
    for (const domid of [0, 1, 2, 3]) hv.createDomain({ domid });
    const receiver = new ArgoGuest(platformOf(hv, 3));
    const rings = [1, 2].map((partner) => receiver.registerRing({ aport: APORT, partner, len: RING_LEN }));
    const apps = [1, 2].map((domid) =>
      createGuestAppActor(new ArgoGuest(platformOf(hv, domid)), {}, {}, { input: { dst: { domid: 3, aport: APORT }, count: 2 * domid, sizes: [100] } }).start(),
    );
    expect(apps[0].logic).toBe(apps[1].logic);
    apps.forEach((app) => app.send({ type: 'START' }));
    expect(apps.map((a) => a.getSnapshot().value)).toEqual(['done', 'done']);
    expect(rings.map((r) => r.drain().map((m) => m.source.domid))).toEqual([[1, 1], [2, 2, 2, 2]]);
  });

  it('without .provide(), the ideal destination takes every message', () => {
    const app = createActor(guestAppMachine, { input: INPUT }).start();
    app.send({ type: 'START' });
    expect(app.getSnapshot().value).toBe('done');
    expect(app.getSnapshot().context).toMatchObject({ seq: 10, sent: 10, refused: {}, blockedCount: 0 });
  });

  it('count 0 is done at START without a sendv', () => {
    const { hv, sender } = world();
    const app = createActor(guestAppMachineFor(sender), { input: { ...INPUT, count: 0 } }).start();
    app.send({ type: 'START' });
    expect(app.getSnapshot().value).toBe('done');
    expect(hv.argoState(RECEIVER)!.rings[0].tx).toBe(0);
  });

  it('a blocked app continues once the receiver consumes and the VIRQ comes, through the hypervisor’s own upcall', () => {
    const { hv, sender, receiver, ring } = world();
    const app = createActor(guestAppMachineFor(sender), { input: { dst: DST, count: 7, sizes: [1000] } }).start();
    const off = hv.onVirq((domid, v) => {
      if (domid === SENDER && v === VIRQ_ARGO) queueMicrotask(() => app.send({ type: 'VIRQ' }));
    });
    app.send({ type: 'START' });
    expect(app.getSnapshot().value).toBe('blocked');
    const got: Uint8Array[] = [];
    return (async () => {
      for (let round = 0; round < 20 && app.getSnapshot().value !== 'done'; round++) {
        got.push(...receiver.consume(ring).map((m) => m.payload));
        await Promise.resolve();
      }
      got.push(...receiver.consume(ring).map((m) => m.payload));
      off();
      expect(app.getSnapshot().value).toBe('done');
      expect(app.getSnapshot().context).toMatchObject({ sent: 7, blockedCount: 2, refused: {} });
      expect(got).toEqual([0, 1, 2, 3, 4, 5, 6].map((seq) => payloadFor(seq, 1000)));
    })();
  });
});
