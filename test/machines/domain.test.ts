import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createActor, type AnyStateNode, type AnyTransitionDefinition, type SnapshotFrom } from 'xstate';
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths, getStateNodes, serializeSnapshot, type StatePath } from 'xstate/graph';
import { domainMachine, domainMachineFor, SHUTDOWN_REASONS, type DomainEvent } from '../../machines/index.js';
import {
  CONTROLLER_PAUSE_MAX,
  SHUTDOWN_COMPLETE,
  SHUTDOWN_IN_PROGRESS,
  SHUTDOWN_NONE,
  XEN_DOMINF_dying,
  XEN_DOMINF_paused,
  XEN_DOMINF_running,
  XEN_DOMINF_shutdown,
  XEN_DOMINF_shutdownshift,
} from '../../src/domain/lifecycle.js';
import { ArgoError, ArgoGuest, createHypervisor, ERRNO, platformOf, XEN_ARGO_DOMID_ANY, type Hypervisor } from '../../src/index.js';

// virtio-ioreq-lifecycle.md §6.5 against the hypervisor core, and argo.md §8.2–§8.3 for what a
// domain leaves behind. The graph walk runs the machine's own abstract model; every path is replayed
// on a real hypervisor through domainMachineFor, checking the core agrees after every event.

type Event = DomainEvent;
type Snapshot = SnapshotFrom<typeof domainMachine>;

const DOMID = 1;
const PARTNER = 2;
const MESSAGE_BYTES = 1000;

const EVENTS: readonly DomainEvent[] = [
  { type: 'CREATE' },
  { type: 'PAUSE' },
  { type: 'UNPAUSE' },
  ...SHUTDOWN_REASONS.map((reason) => ({ type: 'SHUTDOWN' as const, reason })),
  { type: 'CRASH' },
  { type: 'START_SHUTDOWN_DEFERRAL', vcpu: 0 },
  { type: 'END_SHUTDOWN_DEFERRAL', vcpu: 0 },
  { type: 'VCPUS_STOPPED' },
  { type: 'RESUME' },
  { type: 'SOFT_RESET' },
  { type: 'DESTROY' },
  { type: 'KILL' },
  { type: 'TEARDOWN_DONE' },
];

const traversal = {
  input: { domid: DOMID },
  serializeState: (snapshot: Snapshot) => serializeSnapshot(snapshot),
  // the events each state handles
  events: (snapshot: Snapshot) => EVENTS.filter((event) => snapshot.can(event)),
  // two toolstack references show the counting; the 255 cap has its own test
  filterEvents: (snapshot: Snapshot, event: DomainEvent) => !(event.type === 'PAUSE' && snapshot.context.pauseRefs >= 2),
};

interface EdgePath {
  events: DomainEvent[];
  /** The model's snapshot after each event. */
  expected: Snapshot[];
  /** Serialized (state, event) edges the path takes. */
  edges: string[];
}

const edgeKey = (from: Snapshot, event: DomainEvent) => `${serializeSnapshot(from)} ${JSON.stringify(event)}`;

/** One path per edge of the adjacency map: the shortest path to its source state, then the edge. */
function edgeTour(): { paths: EdgePath[]; edges: Set<string> } {
  const adjacency = getAdjacencyMap(domainMachine, traversal);
  const heads = new Map<string, StatePath<Snapshot, Event>>(getShortestPaths(domainMachine, traversal).map((p) => [serializeSnapshot(p.state), p]));
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

/** A host with a control domain and a partner; domain 1 is the machine's to create. */
function world() {
  const hv = createHypervisor({ argo: { enabled: true, macPermissive: true }, maxDomains: 8, gfnArenaPages: 4096 });
  hv.createDomain({ domid: 0 });
  hv.createDomain({ domid: PARTNER });
  return { hv, partner: new ArgoGuest(platformOf(hv, PARTNER)) };
}

/** Sends until the ring is full: the last sendv's EAGAIN leaves the sender waiting (argo.md §6.3). */
function fill(sender: ArgoGuest, dst: { domid: number; aport: number }): void {
  for (let i = 0; i < 8; i++) {
    try {
      sender.sendNow(dst, new Uint8Array(MESSAGE_BYTES));
    } catch (e) {
      if (e instanceof ArgoError && e.errno === ERRNO.EAGAIN) return;
      throw e;
    }
  }
  throw new Error(`ring (${dst.domid}, ${dst.aport}) never filled`);
}

/**
 * Gives the new domain everything argo_destroy must take away (argo.md §8.2): a ring it owns (with
 * the partner waiting on it), a ring the partner registered for it, and a wait of its own on the
 * partner's wildcard ring.
 */
function giveArgoState(hv: Hypervisor, partner: ArgoGuest): void {
  const guest = new ArgoGuest(platformOf(hv, DOMID));
  guest.registerRing({ aport: 10, partner: PARTNER, len: 4032 });
  partner.registerRing({ aport: 20, partner: DOMID, len: 4032 });
  partner.registerRing({ aport: 30, partner: XEN_ARGO_DOMID_ANY, len: 4032 });
  fill(partner, { domid: DOMID, aport: 10 });
  fill(guest, { domid: PARTNER, aport: 30 });
  const state = hv.argoState(DOMID)!;
  expect(state.rings.map((r) => r.waiters)).toEqual([[{ domid: PARTNER, length: MESSAGE_BYTES }]]);
  expect(hv.argoState(PARTNER)!.rings.find((r) => r.aport === 30)!.waiters).toEqual([{ domid: DOMID, length: MESSAGE_BYTES }]);
}

/**
 * No ring or waiter anywhere names the domain (argo.md §8.2 steps 1–3). Send-info records the partner
 * keeps for the domain's own rings stay, as in Xen, until the partner itself goes (§8.2 step 2).
 */
function expectNoArgoTrace(hv: Hypervisor, domid: number): void {
  expect(hv.argoState(domid)?.rings ?? []).toEqual([]);
  for (const other of hv.domainList()) {
    if (other.domid === domid) continue;
    const state = hv.argoState(other.domid)!;
    expect(state.rings.filter((r) => r.partner === domid)).toEqual([]);
    expect(state.rings.flatMap((r) => r.waiters).filter((w) => w.domid === domid)).toEqual([]);
  }
}

/** The machine's state is what XEN_DOMCTL_getdomaininfo says (lifecycle §6.1, §6.5). */
function expectCoreAgrees(hv: Hypervisor, snapshot: Snapshot, event: DomainEvent, before: Snapshot | undefined): void {
  const value = snapshot.value;
  if (value === 'none' || value === 'dead') {
    expect(hv.life(DOMID)).toBe('gone');
    if (value === 'dead') expectNoArgoTrace(hv, DOMID);
    return;
  }
  const info = hv.domctl.getInfo(DOMID);
  expect(info.controllerPauseCount).toBe(snapshot.context.pauseRefs);
  expect((info.flags & XEN_DOMINF_paused) !== 0).toBe(snapshot.context.pauseRefs > 0);
  if (value === 'dying') {
    expect(hv.life(DOMID)).toBe('dying');
    expect(info.flags & XEN_DOMINF_dying).toBeTruthy();
    expect(hv.hasArgo(DOMID)).toBe(false);
    expectNoArgoTrace(hv, DOMID);
    return;
  }
  expect(hv.life(DOMID)).toBe('alive');
  if (value === 'destroying') return;
  expect(value === 'createdPaused').toBe(!info.creationFinished);
  expect(value === 'running').toBe((info.flags & XEN_DOMINF_running) !== 0 && info.shutdownState === SHUTDOWN_NONE);
  expect(value === 'paused').toBe(info.creationFinished && (info.flags & XEN_DOMINF_paused) !== 0 && info.shutdownState === SHUTDOWN_NONE);
  expect(value === 'shuttingDown').toBe(info.shutdownState === SHUTDOWN_IN_PROGRESS);
  expect(value === 'shutdown').toBe(info.shutdownState === SHUTDOWN_COMPLETE && (info.flags & XEN_DOMINF_shutdown) !== 0);
  if (value === 'shutdown') {
    expect((info.flags >> XEN_DOMINF_shutdownshift) & 255).toBe(SHUTDOWN_REASONS.indexOf(snapshot.context.shutdownReason!));
  }
  if (event.type === 'SOFT_RESET' && before?.matches('shutdown')) {
    // argo.md §8.3: torn down as by argo_destroy, then Argo state again, empty
    expect(hv.hasArgo(DOMID)).toBe(true);
    expectNoArgoTrace(hv, DOMID);
  }
}

/** Replays a path on a real hypervisor; returns the machine transitions it took. */
function replayOnCore(path: EdgePath, taken: Set<string>): void {
  const { hv, partner } = world();
  const actor = createActor(domainMachineFor(hv, DOMID, { vcpus: 2 }), {
    input: { domid: DOMID },
    inspect: (e) => {
      if (e.type === '@xstate.microstep') for (const t of e._transitions) taken.add(transitionKey(t));
    },
  }).start();
  let before: Snapshot | undefined;
  path.events.forEach((event, i) => {
    actor.send(event);
    if (event.type === 'CREATE') giveArgoState(hv, partner);
    const snapshot = actor.getSnapshot();
    const where = `after ${path.events.slice(0, i + 1).map((e) => JSON.stringify(e)).join(' → ')}`;
    expect(snapshot.value, where).toEqual(path.expected[i].value);
    expect(snapshot.context, where).toEqual(path.expected[i].context); // the model and the core agree
    expectCoreAgrees(hv, snapshot, event, before);
    before = snapshot;
  });
  actor.stop();
}

describe('domainMachine (lifecycle §6.5)', () => {
  it('the machine definitions import xstate only: no core, runtime or RxJS', () => {
    const source = readFileSync(new URL('../../machines/domain.ts', import.meta.url), 'utf8');
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
    expect(edges.size).toBe(565);
    expect(paths.length).toBe(edges.size);
    // …and so was every transition the machine declares, eventless ones included
    const declared = declaredTransitions(domainMachine.root);
    expect(declared.filter((t) => !takenTransitions.has(t))).toEqual([]);
    expect(declared.length).toBe(49);
  });

  it('every path that ends in dead leaves no ring or waiter naming the domain, and its id no longer resolves', () => {
    const dead = edgeTour().paths.filter((p) => p.expected.at(-1)!.matches('dead'));
    expect(dead.length).toBeGreaterThan(0);
    for (const path of dead) {
      const { hv, partner } = world();
      const actor = createActor(domainMachineFor(hv, DOMID), { input: { domid: DOMID } }).start();
      for (const event of path.events) {
        actor.send(event);
        if (event.type === 'CREATE') giveArgoState(hv, partner);
      }
      expect(actor.getSnapshot().status).toBe('done');
      expect(hv.life(DOMID)).toBe('gone');
      expect(hv.domain(DOMID)).toBeUndefined();
      expect(hv.argoState(DOMID)).toBeUndefined();
      expectNoArgoTrace(hv, DOMID);
    }
  });

  it('§6.1 toolstack pauses: the 256th is refused (EOVERFLOW) and an unpause with none held (EINVAL); neither moves the machine', () => {
    const { hv } = world();
    for (const machine of [domainMachine, domainMachineFor(hv, DOMID)]) {
      const actor = createActor(machine, { input: { domid: DOMID } }).start();
      actor.send({ type: 'CREATE' });
      actor.send({ type: 'UNPAUSE' });
      actor.send({ type: 'UNPAUSE' }); // refused: no reference held
      expect(actor.getSnapshot().matches('running')).toBe(true);
      for (let i = 0; i < CONTROLLER_PAUSE_MAX + 1; i++) actor.send({ type: 'PAUSE' });
      expect(actor.getSnapshot().value).toBe('paused');
      expect(actor.getSnapshot().context.pauseRefs).toBe(CONTROLLER_PAUSE_MAX);
    }
    expect(hv.domctl.getInfo(DOMID).controllerPauseCount).toBe(CONTROLLER_PAUSE_MAX);
    expect(hv.domctl.pause(DOMID)).toBe(-ERRNO.EOVERFLOW);
  });

  it('§6.3 the first shutdown reason wins: a later shutdown or crash leaves reboot recorded', () => {
    const { hv } = world();
    const actor = createActor(domainMachineFor(hv, DOMID), { input: { domid: DOMID } }).start();
    actor.send({ type: 'CREATE' });
    actor.send({ type: 'UNPAUSE' });
    actor.send({ type: 'SHUTDOWN', reason: 'reboot' });
    actor.send({ type: 'SHUTDOWN', reason: 'poweroff' });
    actor.send({ type: 'CRASH' });
    expect(actor.getSnapshot().matches('shutdown')).toBe(true);
    expect(actor.getSnapshot().context.shutdownReason).toBe('reboot');
    expect(hv.domctl.getInfo(DOMID).shutdownCode).toBe(SHUTDOWN_REASONS.indexOf('reboot'));
  });

  it('§6.5 a deferral ended outside the machine (the I/O path) completes the shutdown once VCPUS_STOPPED is reported', () => {
    const { hv } = world();
    const actor = createActor(domainMachineFor(hv, DOMID, { vcpus: 2 }), { input: { domid: DOMID } }).start();
    actor.send({ type: 'CREATE' });
    actor.send({ type: 'UNPAUSE' });
    actor.send({ type: 'START_SHUTDOWN_DEFERRAL', vcpu: 1 });
    actor.send({ type: 'SHUTDOWN', reason: 'suspend' });
    expect(actor.getSnapshot().value).toBe('shuttingDown');
    actor.send({ type: 'VCPUS_STOPPED' }); // a report the core does not bear out changes nothing
    expect(actor.getSnapshot().value).toBe('shuttingDown');
    hv.domctl.endShutdownDeferral(DOMID, 1);
    actor.send({ type: 'VCPUS_STOPPED' });
    expect(actor.getSnapshot().value).toBe('shutdown');
    actor.send({ type: 'RESUME' }); // lifecycle §6.4: suspend cancelled
    expect(actor.getSnapshot().value).toBe('running');
    expect(hv.domctl.getInfo(DOMID).shutdownState).toBe(SHUTDOWN_NONE);
  });

  it('§6.3 soft reset is refused while a vCPU defers the shutdown, and keeps the domid once it completes', () => {
    const { hv } = world();
    const actor = createActor(domainMachineFor(hv, DOMID), { input: { domid: DOMID } }).start();
    actor.send({ type: 'CREATE' });
    actor.send({ type: 'UNPAUSE' });
    actor.send({ type: 'START_SHUTDOWN_DEFERRAL', vcpu: 0 });
    actor.send({ type: 'SHUTDOWN', reason: 'soft_reset' });
    actor.send({ type: 'SOFT_RESET' });
    expect(actor.getSnapshot().value).toBe('shuttingDown');
    actor.send({ type: 'END_SHUTDOWN_DEFERRAL', vcpu: 0 });
    actor.send({ type: 'SOFT_RESET' });
    expect(actor.getSnapshot().value).toBe('running');
    expect(actor.getSnapshot().context).toMatchObject({ domid: DOMID, shutdownReason: null, shutdownState: 'none' });
    expect(hv.life(DOMID)).toBe('alive');
  });

  it('CREATE of an id already in use fails loudly, naming the id (createDomain throws)', () => {
    const { hv } = world();
    const actor = createActor(domainMachineFor(hv, PARTNER), { input: { domid: PARTNER } });
    const errors: unknown[] = [];
    actor.subscribe({ error: (e) => errors.push(e) });
    actor.start();
    actor.send({ type: 'CREATE' });
    expect(actor.getSnapshot().status).toBe('error');
    expect(String(errors[0])).toMatch(/domid 2 is already in use/);
  });

  it('a machine wired to one domid but started for another fails loudly', () => {
    const { hv } = world();
    const actor = createActor(domainMachineFor(hv, DOMID), { input: { domid: 5 } });
    const errors: unknown[] = [];
    actor.subscribe({ error: (e) => errors.push(e) });
    actor.start();
    actor.send({ type: 'CREATE' });
    expect(actor.getSnapshot().status).toBe('error');
    expect(String(errors[0])).toMatch(/domainMachineFor\(hv, 1\) was started with input domid 5/);
    expect(hv.life(5)).toBe('gone');
  });
});
