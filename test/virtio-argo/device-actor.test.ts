import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createActor, type AnyStateNode, type AnyTransitionDefinition, type SnapshotFrom } from 'xstate';
import { adjacencyMapToArray, getAdjacencyMap, getShortestPaths, getStateNodes } from 'xstate/graph';
import { createVirtioArgoBackSide, createVirtioArgoDevice, createVirtioArgoFrontSide, virtioDeviceMachine, type VirtioDeviceEvent } from '../../machines/index.js';
import { VIRQ_ARGO } from '../../src/xen/virq.js';
import { ArgoGuest } from '../../src/guest/argo-guest.js';
import { platformOf } from '../../src/guest/platform.js';
import { MemoryDisk } from '../../src/virtio/blk/memory-disk.js';
import { virtioBlkModel } from '../../src/virtio/blk/virtio-blk.js';
import { BE, BLK_WANTED, FE, host } from './harness.js';
import type { Hypervisor } from '../../src/xen/hypervisor.js';

// virtio-ioreq-lifecycle.md §1.1–§1.4 (status), §4.11 failure mapping and §6.7 R9 (backend gone). The
// graph walk runs the machine's abstract model; every path is replayed on a real VirtIO-Argo device
// (a virtio-blk back end in a platform domain), whose state must agree after every event.

type Snapshot = SnapshotFrom<typeof virtioDeviceMachine>;
const INPUT = { name: 'vda', role: 'frontend' } as const;
const EVENTS: readonly VirtioDeviceEvent[] = [
  { type: 'INITIALISE' },
  { type: 'RESET' },
  { type: 'ACKNOWLEDGE' },
  { type: 'DRIVER' },
  { type: 'FEATURES_OK' },
  { type: 'DRIVER_OK' },
  { type: 'FAIL' },
  { type: 'BACKEND_GONE', errno: 'ESRCH' },
  { type: 'BACKEND_UP', domid: 3 },
];

const traversal = {
  input: INPUT,
  // recoveries count up forever; the rest of the context is what the machine decides on
  serializeState: (s: Snapshot) => JSON.stringify([s.value, s.context.status, s.context.linkUp, s.context.initialising]),
  events: (s: Snapshot) => EVENTS.filter((e) => s.can(e)),
  filterEvents: (s: Snapshot, e: VirtioDeviceEvent) => e.type !== 'BACKEND_GONE' || s.context.linkUp, // a back end dies once
};

function transitionKey(t: AnyTransitionDefinition): string {
  const list: readonly AnyTransitionDefinition[] = t.eventType === '' ? (t.source.always ?? []) : (t.source.transitions.get(t.eventType) ?? []);
  return `${t.source.id} ${t.eventType || 'always'} #${list.indexOf(t)}`;
}

function declaredTransitions(root: AnyStateNode): string[] {
  return [root, ...getStateNodes(root)].flatMap((node) => [...[...node.transitions.values()].flat(), ...(node.always ?? [])].map(transitionKey));
}

/** A real device: guest 1, back end 2, further back-end domains as BACKEND_UP needs them. */
function world() {
  const hv = host();
  const model = () => virtioBlkModel({ disk: new MemoryDisk(new Uint8Array(64 * 512)), queueSizeMax: 64 });
  const device = createVirtioArgoDevice({ hv, name: 'vda', frontend: { domid: FE }, backend: { domid: BE }, model: model(), wanted: BLK_WANTED, queueSizes: [64] });
  return { hv, device, model, backendDomid: BE };
}

function drive(w: ReturnType<typeof world>, hv: Hypervisor, event: VirtioDeviceEvent): void {
  if (event.type === 'BACKEND_GONE') {
    hv.destroyDomain(w.backendDomid); // nobody is told (argo.md §8.2); the front end learns it by sending
    w.device.frontendActor.send(event);
  } else if (event.type === 'BACKEND_UP') {
    w.backendDomid++;
    hv.createDomain({ domid: w.backendDomid, memoryBytes: 32 << 20, label: 'blkback_t' });
    w.device.replaceBackend({ domid: w.backendDomid }, w.model());
  } else w.device.frontendActor.send(event);
}

describe('virtioDeviceMachine (virtio-ioreq-lifecycle.md §1, §4.11)', () => {
  it('the machine definition imports xstate only', () => {
    const source = readFileSync(new URL('../../machines/virtio-device.ts', import.meta.url), 'utf8');
    expect([...source.matchAll(/from '([^']+)'/g)].map((m) => m[1])).toEqual(['xstate']);
  });

  it('model-based: every edge of the graph, replayed on a real VirtIO-Argo device, agrees at every step; every transition is taken', () => {
    const heads = new Map(getShortestPaths(virtioDeviceMachine, traversal).map((p) => [traversal.serializeState(p.state), p]));
    expect(new Set([...heads.values()].map((p) => p.state.value))).toEqual(new Set(['reset', 'acknowledge', 'driver', 'featuresOk', 'driverOk', 'failed', 'needsReset']));
    const edges = adjacencyMapToArray(getAdjacencyMap(virtioDeviceMachine, traversal));
    expect(edges.length).toBeGreaterThan(50);
    const taken = new Set<string>();
    for (const { state, event } of edges) {
      const head = heads.get(traversal.serializeState(state))!;
      const events = [...head.steps.slice(1).map((s) => s.event), event];
      const w = world();
      const abstract = createActor(virtioDeviceMachine, {
        input: INPUT,
        inspect: (e) => {
          if (e.type === '@xstate.microstep') for (const t of e._transitions) taken.add(transitionKey(t));
        },
      }).start();
      w.device.start();
      w.device.frontendActor.send({ type: 'RESET' });
      events.forEach((e, i) => {
        abstract.send(e);
        drive(w, w.hv, e);
        const where = `after ${events.slice(0, i + 1).map((x) => x.type).join(' → ')}`;
        expect(w.device.frontendActor.getSnapshot().value, where).toEqual(abstract.getSnapshot().value);
      });
      w.device.stop();
    }
    // every transition the machine declares is taken, eventless ones included (STATUS: the back-end actor's, below)
    const declared = declaredTransitions(virtioDeviceMachine.root).filter((t) => !t.includes(' STATUS '));
    expect(declared.filter((t) => !taken.has(t))).toEqual([]);
  });

  it('FEATURES_OK refused → FAILED (§1.2 step 6), latched until a reset (case 20)', () => {
    const actor = createActor(virtioDeviceMachine, { input: { ...INPUT, refuseFeatures: true } }).start();
    actor.send({ type: 'INITIALISE' });
    expect(actor.getSnapshot().value).toBe('failed');
    actor.send({ type: 'ACKNOWLEDGE' });
    expect(actor.getSnapshot().value).toBe('failed');
    actor.send({ type: 'RESET' });
    expect(actor.getSnapshot().value).toBe('reset');
  });
});

describe('VirtIO-Argo device actors: back-end death and recovery (§6.7 R9, case 50)', () => {
  it('the front end sees ESRCH on its next send → needsReset; a new back-end domain → reset, re-initialise, data flows again', () => {
    const w = world();
    w.device.start();
    expect(w.device.frontendActor.getSnapshot().value).toBe('driverOk');
    expect(w.device.backendActor.getSnapshot().value).toBe('driverOk'); // it follows the device's STATUS reports
    w.hv.destroyDomain(BE);
    expect(w.device.frontendActor.getSnapshot().value).toBe('driverOk'); // no signal yet (argo.md §8.2)
    w.device.frontend.notify(0); // any send: here a kick with nothing new still probes nothing…
    w.device.frontend.readStatus(); // …a status read does
    expect(w.device.frontendActor.getSnapshot().value).toBe('needsReset');
    expect(w.device.frontendActor.getSnapshot().context.errno).toBe('ESRCH');
    w.hv.createDomain({ domid: 3, memoryBytes: 32 << 20, label: 'blkback_t' });
    w.device.replaceBackend({ domid: 3 }, w.model());
    const snap = w.device.frontendActor.getSnapshot();
    expect(snap.value).toBe('driverOk');
    expect(snap.context.recoveries).toBe(1);
    expect(w.device.live()?.rings).toHaveLength(1);
    expect(w.device.figures()).toMatchObject({ state: 'driverOk', status: 15, sharedMappings: 0, recoveries: 1 });
  });

  it('a failed initialisation (no back end listening) ends in failed with FAILED set; BACKEND_UP recovers it', () => {
    const w = world();
    w.device.backend.stop();
    w.device.start();
    const snap = w.device.frontendActor.getSnapshot();
    expect(snap.value).toBe('needsReset');
    expect(snap.context.errno).toBe('ECONNREFUSED');
    w.device.frontendActor.send({ type: 'FAIL' });
    expect(w.device.frontendActor.getSnapshot().value).toBe('failed');
    expect(w.device.frontend.readStatus() & 128).toBe(128);
    w.hv.createDomain({ domid: 3, memoryBytes: 32 << 20, label: 'blkback_t' });
    w.device.replaceBackend({ domid: 3 }, w.model());
    expect(w.device.frontendActor.getSnapshot().value).toBe('driverOk');
  });
});

describe('why a VirtIO-Argo device is not live (figures().reason)', () => {
  it('a queue the back end cannot hold (its buffer arena does not fit its domain): QUEUE_READY answers ENOMEM and the device fails, saying so', () => {
    const hv = host();
    hv.createDomain({ domid: 3, memoryBytes: 2 << 20, label: 'blkback_t' }); // 2 MiB: room for its 1 MiB ring, not for 64 chains of 64 KiB
    const guest = new ArgoGuest(platformOf(hv, FE)); // one guest kernel for both devices (one page allocator)
    const vda = createVirtioArgoDevice({ hv, name: 'vda', frontend: { domid: FE, guest }, backend: { domid: 3 }, model: virtioBlkModel({ disk: new MemoryDisk(new Uint8Array(1 << 20)), queueSizeMax: 64 }), wanted: BLK_WANTED, queueSizes: [64] });
    vda.start();
    expect(vda.figures()).toMatchObject({ state: 'failed', reason: 'QUEUE_READY of queue 0 (64 entries): ENOMEM' });
    const ok = createVirtioArgoDevice({ hv, name: 'vdb', frontend: { domid: FE, guest }, backend: { domid: BE }, model: virtioBlkModel({ disk: new MemoryDisk(new Uint8Array(1 << 20)), queueSizeMax: 64 }), wanted: BLK_WANTED, queueSizes: [64], port: 0x56410001 });
    ok.start();
    expect(ok.figures()).toMatchObject({ state: 'driverOk', reason: null });
  });

  it("a back end whose domain has no pages for its ring: its registration fails with ENOMEM (the guest library's answer, no crash), and the front end finds nobody listening", () => {
    const hv = host();
    hv.createDomain({ domid: 3, memoryBytes: 64 << 10, label: 'blkback_t' });
    const vda = createVirtioArgoDevice({ hv, name: 'vda', frontend: { domid: FE }, backend: { domid: 3 }, model: virtioBlkModel({ disk: new MemoryDisk(new Uint8Array(1 << 20)), queueSizeMax: 64 }), wanted: BLK_WANTED, queueSizes: [64] });
    expect(vda.backend.endpoint.ring).toBeNull();
    vda.start();
    expect(vda.figures()).toMatchObject({ state: 'needsReset', reason: expect.stringMatching(/ECONNREFUSED$/) });
  });
});

describe('a VirtIO-Argo device as two sides (what the parallel runtime builds in two threads)', () => {
  it('built apart, their rings served by one VIRQ handler per domain: the front end waits for each answer (waitForPeer), the device goes live, and BACKEND_UP after a replaced back end recovers it', () => {
    const hv = host();
    const model = virtioBlkModel({ disk: new MemoryDisk(new Uint8Array(1 << 20)), queueSizeMax: 64 });
    const back = createVirtioArgoBackSide({ hv, name: 'vda', backend: { domid: BE }, frontendDomid: FE, model });
    let looks = 0;
    // each domain's handler: acknowledge once, then serve its transport's ring (no second acknowledgement)
    const handlers = () => {
      for (const ep of [back.backend.endpoint, front.frontend.endpoint]) {
        if (!hv.virqPending(ep.guest.domid, VIRQ_ARGO)) continue;
        hv.clearVirq(ep.guest.domid, VIRQ_ARGO);
        ep.serve();
      }
    };
    const front = createVirtioArgoFrontSide({ hv, name: 'vda', frontend: { domid: FE }, backendDomid: BE, wanted: BLK_WANTED, queueSizes: [64], waitForPeer: (attempt) => (looks++, attempt < 4 && (handlers(), true)) });
    // no upcall from inside the other domain's sendv: only the handlers above serve the rings
    back.backend.endpoint.autoPump = false;
    front.frontend.endpoint.autoPump = false;
    back.start();
    front.start();
    expect(front.frontendActor.getSnapshot().value).toBe('driverOk');
    expect(back.backendActor.getSnapshot().value).toBe('driverOk');
    expect(looks).toBeGreaterThan(10); // every control operation waited for its answer
    expect(front.live()?.rings).toHaveLength(1);
    hv.destroyDomain(BE);
    hv.createDomain({ domid: 3, memoryBytes: 32 << 20, label: 'blkback_t' });
    back.replace({ domid: 3 }, model);
    back.backend.endpoint.autoPump = false;
    front.backendUp(3);
    expect(front.frontendActor.getSnapshot().value).toBe('driverOk');
    expect(front.figures(() => 0)).toMatchObject({ name: 'vda', state: 'driverOk', status: 15, recoveries: 1, sharedMappings: 0 });
    front.stop();
    back.stop();
  });
});
