import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { ArgoGuest, attachHypervisor, createHypervisor, platformOf, VIRQ_ARGO } from '../../src/index.js';

describe('hypervisor state shared across threads (issue #2 item 4)', () => {
  it('a view attached from the shared buffers sees the same domains, rings and waiters', () => {
    const hv = createHypervisor({ argo: { enabled: true }, xsm: { mode: 'flask' } });
    hv.createDomain({ domid: 1, label: 'domU_t' });
    hv.createDomain({ domid: 2, label: 'domU_t' });
    const view = attachHypervisor(structuredClone(hv.share()));
    expect(view.domain(2)!.label).toBe('domU_t');
    const b = new ArgoGuest(platformOf(view, 2));
    b.registerRing({ aport: 7, partner: 1, len: 48 });
    expect(hv.argoState(2)!.rings.map((r) => r.aport)).toEqual([7]);
    const a = new ArgoGuest(platformOf(hv, 1));
    a.sendNow({ domid: 2, aport: 7 }, new Uint8Array(16));
    expect(() => a.sendNow({ domid: 2, aport: 7 }, new Uint8Array(16))).toThrow(expect.objectContaining({ code: 'EAGAIN' }));
    expect(view.argoState(2)!.rings[0].waiters).toEqual([{ domid: 1, length: 16 }]);
    expect(view.virqPending(2, VIRQ_ARGO)).toBe(true);
  });

  it('a domain created later is usable in a view once its memory is attached; a reused slot is not mistaken for it', () => {
    const hv = createHypervisor({ argo: { enabled: true }, maxDomains: 2 });
    hv.createDomain({ domid: 1 });
    const view = attachHypervisor(hv.share());
    hv.createDomain({ domid: 5 });
    expect(view.domain(5)).toBeUndefined();
    view.attachMemory(5, hv.domain(5)!.memory.buffer);
    expect(view.domain(5)!.memory.bytes).toBe(4 << 20);
    hv.destroyDomain(5);
    hv.createDomain({ domid: 6 }); // same slot, new generation
    expect(view.domain(6)).toBeUndefined();
    new ArgoGuest(platformOf(hv, 6)).registerRing({ aport: 1, partner: 1, len: 4032 });
    // the view still holds domain 5's memory for that slot: it must refuse to use it for domain 6
    expect(() => new ArgoGuest(platformOf(view, 1)).sendNow({ domid: 6, aport: 1 }, new Uint8Array(1))).toThrow(/not attached/);
  });

  it('a worker thread sends through the shared rings while this thread consumes: every message once, in order, intact', async () => {
    const count = 3000;
    const size = 100;
    const hv = createHypervisor({ argo: { enabled: true } });
    hv.createDomain({ domid: 1 });
    hv.createDomain({ domid: 2 });
    const b = new ArgoGuest(platformOf(hv, 2));
    const ring = b.registerRing({ aport: 7, partner: 1, len: 4032 }); // ~34 messages: the sender must wait
    const worker = new Worker(new URL('../fixtures/ts-worker.mjs', import.meta.url), {
      workerData: { entry: new URL('../fixtures/argo-sender.worker.ts', import.meta.url).href, shared: hv.share(), count, size },
    });
    const done = new Promise<{ eagain: number; error: string }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    const out = new Uint8Array(size);
    let got = 0;
    let bad = 0;
    for (let idle = 0; got < count && idle < 2_000; ) {
      let n = 0;
      while (ring.recvInto(out) === size) {
        const seq = new DataView(out.buffer).getUint32(0, true);
        if (seq !== got || out[size - 1] !== ((seq + size - 1) & 0xff) || ring.last.sourceDomid !== 1) bad++;
        got++;
        n++;
      }
      if (n > 0) {
        b.notify(); // wakes the worker's space-wait through its shared pending bit
        idle = 0;
      } else {
        hv.waitVirqSync(2, VIRQ_ARGO, 5);
        hv.clearVirq(2, VIRQ_ARGO);
        idle++;
      }
    }
    const result = await done;
    await worker.terminate();
    expect(result.error).toBe('');
    expect(got).toBe(count);
    expect(bad).toBe(0);
    expect(result.eagain).toBeGreaterThan(0);
    expect(hv.argoState(2)!.rings[0].waiters).toEqual([]);
  });
});
