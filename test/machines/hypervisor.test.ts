import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createActor, type AnyStateNode, type AnyTransitionDefinition, type SnapshotFrom } from 'xstate';
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths, getStateNodes, serializeSnapshot, type StatePath } from 'xstate/graph';
import { hypervisorMachine, hypervisorMachineFor, type HostOperation, type HypervisorEvent } from '../../machines/index.js';
import { ArgoGuest, createHypervisor, ERRNO, platformOf, type Hypervisor } from '../../src/index.js';

// The host machine against the hypervisor core. The graph walk runs the machine's own abstract model
// (Xen's default boot options); every path is replayed on a real hypervisor through
// hypervisorMachineFor, checking after every event that the context is the model's and that its
// domains and their life are what hv.domainList / hv.life report. Argo teardown on kill and soft reset
// is checked on a host booted with argo=1 below.

type Snapshot = SnapshotFrom<typeof hypervisorMachine>;

const DOMIDS = [1, 2];

const EVENTS: readonly HypervisorEvent[] = [
  ...DOMIDS.flatMap((domid): HypervisorEvent[] => [
    { type: 'CREATE_DOMAIN', domid, options: { vcpus: 2 } },
    { type: 'KILL_DOMAIN', domid },
    { type: 'REAP_DOMAIN', domid },
    { type: 'SOFT_RESET_DOMAIN', domid },
  ]),
  { type: 'HOST_SHUTDOWN' },
  { type: 'VIRQ_DOM_EXC' },
];

const traversal = {
  serializeState: (snapshot: Snapshot) => serializeSnapshot(snapshot),
  events: (snapshot: Snapshot) => EVENTS.filter((event) => snapshot.can(event)),
};

interface EdgePath {
  events: HypervisorEvent[];
  expected: Snapshot[];
  edges: string[];
}

const edgeKey = (from: Snapshot, event: HypervisorEvent) => `${serializeSnapshot(from)} ${JSON.stringify(event)}`;

/** One path per edge of the adjacency map: the shortest path to its source state, then the edge. */
function edgeTour(): { paths: EdgePath[]; edges: Set<string> } {
  const adjacency = getAdjacencyMap(hypervisorMachine, traversal);
  const heads = new Map<string, StatePath<Snapshot, HypervisorEvent>>(
    getShortestPaths(hypervisorMachine, traversal).map((p) => [serializeSnapshot(p.state), p]),
  );
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

/** The domains as the core reports them. */
const coreDomains = (hv: Hypervisor) => hv.domainList().map(({ domid }) => ({ domid, life: hv.life(domid) }));

function replayOnCore(path: EdgePath, taken: Set<string>): void {
  const hv = createHypervisor({ maxDomains: 8, gfnArenaPages: 1024 });
  const refusals: Array<{ op: HostOperation; domid: number; error: string }> = [];
  const actor = createActor(hypervisorMachineFor(hv, (op, domid, error) => refusals.push({ op, domid, error: String(error) })), {
    inspect: (e) => {
      if (e.type === '@xstate.microstep') for (const t of e._transitions) taken.add(transitionKey(t));
    },
  }).start();
  expect(actor.getSnapshot().value).toBe('running');
  path.events.forEach((event, i) => {
    const refusedBefore = refusals.length;
    actor.send(event);
    const snapshot = actor.getSnapshot();
    const where = `after ${path.events.slice(0, i + 1).map((e) => JSON.stringify(e)).join(' → ')}`;
    expect(snapshot.value, where).toEqual(path.expected[i].value);
    expect(snapshot.context, where).toEqual(path.expected[i].context); // the model and the core agree
    expect(snapshot.context.domains, where).toEqual(coreDomains(hv));
    // a refusal in the context is one the core made (it threw), and only then; VIRQ_DOM_EXC is no
    // operation: it calls nothing and leaves the last operation's refusal as it was
    const refused = snapshot.context.lastRefused;
    const operation = event.type !== 'VIRQ_DOM_EXC';
    expect(refusals.length - refusedBefore, where).toBe(operation && refused ? 1 : 0);
    if (refused) expect(refusals.at(-1)).toMatchObject(refused);
    if (event.type === 'CREATE_DOMAIN' && !refused) expect(hv.domain(event.domid)?.vcpus).toBe(2);
    if (snapshot.matches('shutdown')) {
      expect(snapshot.status).toBe('done');
      expect(hv.domainList()).toEqual([]);
      for (const domid of DOMIDS) expect(hv.life(domid)).toBe('gone');
    }
  });
  actor.stop();
}

describe('hypervisorMachine (the host)', () => {
  it('the machine definition imports xstate only', () => {
    const source = readFileSync(new URL('../../machines/hypervisor.ts', import.meta.url), 'utf8');
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
    expect([...edges].filter((e) => !taken.has(e))).toEqual([]);
    expect(edges.size).toBe(510); // 51 states (domids 1, 2 each gone/alive/dying; the last refusal) × 10 events
    expect(paths.length).toBe(edges.size);
    const declared = declaredTransitions(hypervisorMachine.root);
    expect(declared.filter((t) => !takenTransitions.has(t))).toEqual([]);
    expect(declared.length).toBe(8);
  });

  it('boots with the options the core runs with: argo=1,mac-permissive=1 and XSM silo', () => {
    const hv = createHypervisor({ argo: 'argo=1,mac-permissive=1', xsm: { mode: 'silo' } });
    hv.createDomain({ domid: 0 });
    const host = createActor(hypervisorMachineFor(hv)).start();
    expect(host.getSnapshot().value).toBe('running');
    expect(host.getSnapshot().context).toEqual({
      boot: { argoEnabled: true, macPermissive: true, xsmMode: 'silo' },
      domains: [{ domid: 0, life: 'alive' }],
      lastRefused: null,
    });
    expect(createActor(hypervisorMachine).start().getSnapshot().context.boot).toEqual({ argoEnabled: false, macPermissive: false, xsmMode: 'dummy' });
  });

  it('a reap of a domain that is not dying is refused with the core’s error and changes nothing', () => {
    const hv = createHypervisor({ maxDomains: 8 });
    const errors: string[] = [];
    const host = createActor(hypervisorMachineFor(hv, (op, domid, e) => errors.push(`${op} ${domid}: ${String(e)}`))).start();
    host.send({ type: 'CREATE_DOMAIN', domid: 3, options: {} });
    host.send({ type: 'REAP_DOMAIN', domid: 3 });
    expect(host.getSnapshot().context.lastRefused).toEqual({ op: 'reap', domid: 3 });
    expect(host.getSnapshot().context.domains).toEqual([{ domid: 3, life: 'alive' }]);
    expect(errors).toEqual(['reap 3: Error: reapDomain(3): the domain is not dying; kill it first']);
    expect(hv.life(3)).toBe('alive');
  });

  it('a create the model cannot foresee (bad options, a full domain table) is refused by the core alone', () => {
    const hv = createHypervisor({ maxDomains: 1 });
    const errors: string[] = [];
    const host = createActor(hypervisorMachineFor(hv, (_op, _domid, e) => errors.push(String(e)))).start();
    host.send({ type: 'CREATE_DOMAIN', domid: 1, options: { vcpus: 0 } });
    expect(host.getSnapshot().context).toMatchObject({ domains: [], lastRefused: { op: 'create', domid: 1 } });
    host.send({ type: 'CREATE_DOMAIN', domid: 1, options: {} });
    host.send({ type: 'CREATE_DOMAIN', domid: 2, options: {} });
    expect(host.getSnapshot().context).toMatchObject({ domains: [{ domid: 1, life: 'alive' }], lastRefused: { op: 'create', domid: 2 } });
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/vcpus 0/);
  });

  it('a reserved domid is refused by the model and the core alike', () => {
    const hv = createHypervisor({ maxDomains: 8 });
    for (const machine of [hypervisorMachine, hypervisorMachineFor(hv)]) {
      const host = createActor(machine).start();
      host.send({ type: 'CREATE_DOMAIN', domid: 0x7ff0, options: {} });
      expect(host.getSnapshot().context).toMatchObject({ domains: [], lastRefused: { op: 'create', domid: 0x7ff0 } });
    }
  });

  it('a domain killed while a partner waits on its ring: the waiter is gone, and the partner’s sendv is ECONNREFUSED', () => {
    const hv = createHypervisor({ argo: { enabled: true }, maxDomains: 8 });
    const host = createActor(hypervisorMachineFor(hv)).start();
    host.send({ type: 'CREATE_DOMAIN', domid: 1, options: {} });
    host.send({ type: 'CREATE_DOMAIN', domid: 2, options: {} });
    const owner = new ArgoGuest(platformOf(hv, 1));
    const sender = new ArgoGuest(platformOf(hv, 2));
    owner.registerRing({ aport: 7, partner: 2, len: 4032 });
    let rc = 0;
    while ((rc = sender.sendvRaw({ domid: 1, aport: 7 }, [sender.stageIov(new Uint8Array(1000))])) > 0);
    expect(rc).toBe(-ERRNO.EAGAIN);
    expect(hv.argoState(1)!.rings[0].waiters).toEqual([{ domid: 2, length: 1000 }]);
    host.send({ type: 'KILL_DOMAIN', domid: 1 });
    expect(host.getSnapshot().context.domains).toEqual([
      { domid: 1, life: 'dying' },
      { domid: 2, life: 'alive' },
    ]);
    expect(sender.sendvRaw({ domid: 1, aport: 7 }, [sender.stageIov(new Uint8Array(8))])).toBe(-ERRNO.ECONNREFUSED);
    host.send({ type: 'HOST_SHUTDOWN' });
    expect(host.getSnapshot().value).toBe('shutdown');
    expect(hv.domainList()).toEqual([]);
  });

  it('argo.md §8.3: SOFT_RESET_DOMAIN tears the domain’s rings down and leaves empty Argo state', () => {
    const hv = createHypervisor({ argo: { enabled: true }, maxDomains: 8 });
    const host = createActor(hypervisorMachineFor(hv)).start();
    host.send({ type: 'CREATE_DOMAIN', domid: 1, options: {} });
    new ArgoGuest(platformOf(hv, 1)).registerRing({ aport: 7, partner: 1, len: 4032 });
    expect(hv.argoState(1)!.rings).toHaveLength(1);
    host.send({ type: 'SOFT_RESET_DOMAIN', domid: 1 });
    expect(host.getSnapshot().context).toMatchObject({ domains: [{ domid: 1, life: 'alive' }], lastRefused: null });
    expect(hv.hasArgo(1)).toBe(true);
    expect(hv.argoState(1)!.rings).toEqual([]);
    host.send({ type: 'KILL_DOMAIN', domid: 1 });
    host.send({ type: 'SOFT_RESET_DOMAIN', domid: 1 }); // refused: dying
    expect(host.getSnapshot().context).toMatchObject({ domains: [{ domid: 1, life: 'dying' }], lastRefused: { op: 'softReset', domid: 1 } });
    expect(hv.hasArgo(1)).toBe(false);
  });
});

