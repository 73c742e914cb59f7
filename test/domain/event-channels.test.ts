import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { D } from '../../src/domain/domain-table.js';
import { announceVirqWaiter, EVTCHN_PORTS, VIRQ_WAITER, virqPendingField } from '../../src/domain/event-channels.js';
import { VIRQ_ARGO, VIRQ_DOM_EXC } from '../../src/xen/virq.js';
import { ERRNO } from '../../src/xen/errno.js';
import { HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN, attachHypervisor, createHypervisor } from '../../src/xen/hypervisor.js';

// Interdomain event channels in the shared domain table (xen/common/event_channel.c): alloc_unbound,
// bind_interdomain, send, close — and evtchn_destroy when the domain is killed.

const host = () => {
  const hv = createHypervisor({ argo: { enabled: true } });
  for (const domid of [0, 1, 2]) hv.createDomain({ domid });
  return hv;
};

describe('interdomain event channels', () => {
  it('alloc_unbound for a remote, bind_interdomain by it, send both ways: the other end pending, seen from another view', () => {
    const hv = host();
    const view = attachHypervisor(hv.share());
    const guestPort = hv.evtchnAllocUnbound(1, 0);
    expect(guestPort).toBe(1); // lowest free; port 0 is reserved
    expect(hv.evtchnBindInterdomain(2, 1, guestPort)).toBe(-ERRNO.EINVAL); // unbound for dom0, not for 2
    const dom0Port = view.evtchnBindInterdomain(0, 1, guestPort);
    expect(dom0Port).toBe(1);
    expect(hv.evtchnBindInterdomain(0, 1, guestPort)).toBe(-ERRNO.EINVAL); // bound already
    expect(view.evtchnSend(1, guestPort)).toBe(0);
    expect(hv.evtchnTakePending(0)).toBe(1 << dom0Port);
    expect(hv.evtchnTakePending(0)).toBe(0); // taken
    expect(hv.evtchnSend(0, dom0Port)).toBe(0);
    expect(view.evtchnTakePending(1)).toBe(1 << guestPort);
  });

  it('send on a free port is EINVAL, on an unbound one dropped; close makes the other end unbound; killing a domain closes its ports', () => {
    const hv = host();
    expect(hv.evtchnSend(1, 5)).toBe(-ERRNO.EINVAL);
    expect(hv.evtchnSend(1, 0)).toBe(-ERRNO.EINVAL);
    const port = hv.evtchnAllocUnbound(1, 0);
    expect(hv.evtchnSend(1, port)).toBe(0);
    expect(hv.evtchnTakePending(0)).toBe(0);
    const local = hv.evtchnBindInterdomain(0, 1, port);
    expect(hv.evtchnClose(0, local)).toBe(0);
    expect(hv.evtchnSend(1, port)).toBe(0); // unbound again: dropped
    expect(hv.evtchnClose(0, local)).toBe(-ERRNO.EINVAL);
    const again = hv.evtchnBindInterdomain(0, 1, port); // the guest's end can be bound again
    expect(again).toBeGreaterThan(0);
    hv.destroyDomain(1);
    expect(hv.evtchnSend(0, again)).toBe(0); // the dead guest's end is gone: dom0's is unbound
    expect(hv.evtchnAllocUnbound(99, 0)).toBe(-ERRNO.ESRCH);
  });

  it(`${EVTCHN_PORTS - 1} ports a domain, then ENOSPC`, () => {
    const hv = host();
    for (let i = 1; i < EVTCHN_PORTS; i++) expect(hv.evtchnAllocUnbound(2, 0)).toBe(i);
    expect(hv.evtchnAllocUnbound(2, 0)).toBe(-ERRNO.ENOSPC);
  });

  it('HVM_PARAM_STORE_PFN and STORE_EVTCHN: unset until set; a page outside the memory or a bad port is EINVAL', () => {
    const hv = host();
    expect(hv.hvmGetParam(1, HVM_PARAM_STORE_PFN)).toBeUndefined();
    expect(hv.hvmSetParam(1, HVM_PARAM_STORE_PFN, 0)).toBe(0);
    expect(hv.hvmGetParam(1, HVM_PARAM_STORE_PFN)).toBe(0);
    expect(hv.hvmSetParam(1, HVM_PARAM_STORE_PFN, hv.domain(1)!.memory.pages)).toBe(-ERRNO.EINVAL);
    expect(hv.hvmSetParam(1, HVM_PARAM_STORE_EVTCHN, EVTCHN_PORTS)).toBe(-ERRNO.EINVAL);
    expect(hv.hvmSetParam(1, HVM_PARAM_STORE_EVTCHN, 3)).toBe(0);
    expect(hv.hvmGetParam(1, HVM_PARAM_STORE_EVTCHN)).toBe(3);
    expect(hv.hvmSetParam(1, 99, 1)).toBe(-ERRNO.EINVAL);
    expect(hv.hvmSetParam(42, HVM_PARAM_STORE_EVTCHN, 1)).toBe(-ERRNO.ESRCH);
  });
});

describe('interdomain event channels against dying domains and bad arguments', () => {
  it('a dying domain gets no new port and cannot be bound to; its reap frees what was left', () => {
    const hv = host();
    const port = hv.evtchnAllocUnbound(1, 0);
    hv.killDomain(1);
    expect(hv.evtchnAllocUnbound(1, 0)).toBe(-ERRNO.EINVAL);
    expect(hv.evtchnBindInterdomain(0, 1, port)).toBe(-ERRNO.EINVAL);
    const dom0Port = hv.evtchnAllocUnbound(0, 1);
    expect(hv.evtchnBindInterdomain(1, 0, dom0Port)).toBe(-ERRNO.EINVAL); // the dying domain binds nothing either
    hv.reapDomain(1);
    expect(hv.evtchnSend(0, dom0Port)).toBe(0); // still unbound for domain 1: dropped, nothing stuck
    expect(hv.evtchnAllocUnbound(0, -1)).toBe(-ERRNO.EINVAL);
    expect(hv.evtchnAllocUnbound(0, 0x10000)).toBe(-ERRNO.EINVAL);
  });
});

describe('interdomain event channels across threads', () => {
  const spawn = (data: Record<string, unknown>) => {
    const worker = new Worker(new URL('../fixtures/ts-worker.mjs', import.meta.url), {
      workerData: { entry: new URL('../fixtures/evtchn-peer.worker.ts', import.meta.url).href, ...data },
    });
    const result = new Promise<Record<string, number>>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    return { worker, result };
  };

  it('a ping-pong of 2000 events between a worker and this thread: no event lost, every wait bounded', async () => {
    const hv = host();
    const guestPort = hv.evtchnAllocUnbound(1, 0);
    const dom0Port = hv.evtchnBindInterdomain(0, 1, guestPort);
    const rounds = 2000;
    const { worker, result } = spawn({ shared: hv.share(), mode: 'ping', domid: 1, port: guestPort, rounds });
    const slots = hv.domainTable.slots;
    const word = hv.domainTable.at(hv.domainTable.slotOf(0), D.EVTCHN_PENDING);
    let answered = 0;
    // the worker's first event may take its start-up (tsx compiling its imports): the first wait is
    // asynchronous, bounded at 30 s; then answers on this thread, every wait bounded
    for (let waited = 0; (Atomics.load(slots, word) & (1 << dom0Port)) === 0 && waited < 60; waited++) {
      await (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t: number): { value: Promise<string> | string } }).waitAsync(slots, word, Atomics.load(slots, word), 500).value;
    }
    for (let idle = 0; answered < rounds && idle < 100; ) {
      const seen = Atomics.load(slots, word);
      if (seen & (1 << dom0Port)) {
        hv.evtchnTakePending(0);
        answered++;
        idle = 0;
        expect(hv.evtchnSend(0, dom0Port)).toBe(0);
      } else if (Atomics.wait(slots, word, seen, 50) === 'timed-out') idle++;
    }
    const r = await result;
    await worker.terminate();
    // every event answered and every answer seen
    expect(answered).toBe(rounds);
    expect(r.done).toBe(rounds);
  });

  it('four threads bind the same unbound port at once, round after round: exactly one gets it each time', async () => {
    const hv = createHypervisor({ argo: { enabled: true } });
    hv.createDomain({ domid: 0 });
    hv.createDomain({ domid: 1 });
    const rounds = 10;
    const start = new SharedArrayBuffer(4 * (2 + rounds));
    const sync = new Int32Array(start);
    const results: Array<Array<{ round: number; rc: number }>> = [];
    const binders = Array.from({ length: 4 }, (_, i) => {
      results[i] = [];
      const worker = new Worker(new URL('../fixtures/ts-worker.mjs', import.meta.url), {
        workerData: { entry: new URL('../fixtures/evtchn-peer.worker.ts', import.meta.url).href, shared: hv.share(), mode: 'bind', domid: 0, remote: 1, rounds, start },
      });
      const done = new Promise<void>((resolve, reject) => {
        worker.on('message', (m: { round: number; rc: number }) => (results[i].push(m), results[i].length === rounds ? resolve() : undefined));
        worker.once('error', reject);
      });
      return { worker, done };
    });
    for (let round = 0; round < rounds; round++) {
      Atomics.store(sync, 2 + round, hv.evtchnAllocUnbound(1, 0));
      // every binder at the start line (bounded waits, on this thread's event loop: 60 s in all)
      for (let waited = 0; Atomics.load(sync, 0) < 4 * (round + 1); waited++) {
        if (waited >= 60) throw new Error(`round ${round}: only ${Atomics.load(sync, 0) - 4 * round} of 4 binders arrived`);
        await (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t: number): { value: Promise<string> | string } }).waitAsync(sync, 0, Atomics.load(sync, 0), 1000).value;
      }
      Atomics.store(sync, 1, round + 1);
      Atomics.notify(sync, 1);
    }
    await Promise.all(binders.map((b) => b.done));
    await Promise.all(binders.map((b) => b.worker.terminate()));
    for (let round = 0; round < rounds; round++) {
      const rcs = results.map((r) => r.find((m) => m.round === round)!.rc);
      expect(rcs.filter((rc) => rc > 0)).toHaveLength(1);
      expect(rcs.filter((rc) => rc <= 0).every((rc) => rc === -ERRNO.EINVAL)).toBe(true);
    }
    // each winner's port and the guest's are each other's ends: an event on the last goes through
    const last = results.map((r) => r[rounds - 1].rc).find((rc) => rc > 0)!;
    expect(hv.evtchnSend(1, Atomics.load(sync, 2 + rounds - 1))).toBe(0);
    expect(hv.evtchnTakePending(0) & (1 << last)).not.toBe(0);
  });
});

/** `Atomics.waitAsync` (ES2024), typed here as src/parallel/virq-bridge.ts types it: the project's lib is ES2023. */
const waitAsync = (Atomics as unknown as { waitAsync(view: Int32Array, index: number, value: number, timeoutMs: number): unknown }).waitAsync;

describe('VIRQ pending words', () => {
  it('a raise calls Atomics.notify only when a waiter announced itself, and wakes every waiter then', () => {
    const hv = createHypervisor({ argo: { enabled: true } });
    hv.createDomain({ domid: 0 });
    expect(hv.bindVirq(0, VIRQ_ARGO, 0)).toBe(0);
    const slots = hv.domainTable.slots;
    const slot = hv.domainTable.slotOf(0);
    const word = hv.domainTable.at(slot, virqPendingField(VIRQ_ARGO));
    // a waiter that did not announce itself is not woken (no notify: the raise is cheap)
    void waitAsync(slots, word, 0, 1000);
    hv.events.raise(slot, VIRQ_ARGO);
    expect(Atomics.notify(slots, word)).toBe(1); // it was still waiting
    hv.clearVirq(0, VIRQ_ARGO);
    // two announced waiters (the word's value includes the announcement): one raise wakes both
    const seen = announceVirqWaiter(slots, word);
    expect(seen & (1 << VIRQ_ARGO)).toBe(0);
    void waitAsync(slots, word, seen, 1000);
    void waitAsync(slots, word, announceVirqWaiter(slots, word), 1000);
    hv.events.raise(slot, VIRQ_ARGO);
    expect(Atomics.notify(slots, word)).toBe(0);
    expect(Atomics.load(slots, word)).toBe(1 << VIRQ_ARGO); // the bit, the announcement taken
    // a raise that coalesces into a pending bit changes nothing and wakes nobody
    void waitAsync(slots, word, announceVirqWaiter(slots, word), 1000);
    hv.events.raise(slot, VIRQ_ARGO);
    expect(Atomics.notify(slots, word)).toBe(1);
    expect(hv.virqPending(0, VIRQ_ARGO)).toBe(true);
  });


  it("a global VIRQ's pending bit has a word of its own: a raise of VIRQ_ARGO does not wake a thread waiting for the same domain's VIRQ_DOM_EXC (the toolstack's watch), and a raise of VIRQ_DOM_EXC does", () => {
    const hv = createHypervisor({ argo: { enabled: true } });
    hv.createDomain({ domid: 0 });
    for (const virq of [VIRQ_ARGO, VIRQ_DOM_EXC]) expect(hv.bindVirq(0, virq, 0)).toBe(0);
    const slots = hv.domainTable.slots;
    const globalWord = hv.domainTable.at(hv.domainTable.slotOf(0), virqPendingField(VIRQ_DOM_EXC));
    expect(virqPendingField(VIRQ_DOM_EXC)).toBe(D.VIRQ_PENDING_GLOBAL);
    expect(virqPendingField(VIRQ_ARGO)).toBe(D.VIRQ_PENDING);
    void waitAsync(slots, globalWord, announceVirqWaiter(slots, globalWord), 1000); // the toolstack waits for VIRQ_DOM_EXC
    hv.events.raise(hv.domainTable.slotOf(0), VIRQ_ARGO);
    expect(hv.virqPending(0, VIRQ_ARGO)).toBe(true);
    expect(hv.virqPending(0, VIRQ_DOM_EXC)).toBe(false);
    // still waiting: nobody woke it, so this notify finds it
    expect(Atomics.notify(slots, globalWord)).toBe(1);
    void waitAsync(slots, globalWord, announceVirqWaiter(slots, globalWord), 1000);
    hv.events.raise(hv.domainTable.slotOf(0), VIRQ_DOM_EXC);
    expect(hv.virqPending(0, VIRQ_DOM_EXC)).toBe(true);
    expect(Atomics.notify(slots, globalWord)).toBe(0); // the raise woke it
    expect(Atomics.load(slots, globalWord) & VIRQ_WAITER).toBe(0); // and took the waiter's announcement
    hv.clearVirq(0, VIRQ_DOM_EXC);
    expect(hv.virqPending(0, VIRQ_DOM_EXC)).toBe(false);
    expect(hv.virqPending(0, VIRQ_ARGO)).toBe(true);
  });
});
