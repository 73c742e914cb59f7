import { describe, expect, it } from 'vitest';
import { ArgoGuest, createHypervisor, ERRNO, platformOf, RING_HEADER } from '../../src/index.js';

function host(macPermissive = false, domains = [1, 2]) {
  const hv = createHypervisor({ argo: { enabled: true, macPermissive } });
  for (const domid of domains) hv.createDomain({ domid, memoryBytes: 1 << 20 });
  return hv;
}

describe('ArgoGuest', () => {
  it('a send too large for guest memory fails without disturbing the bounce buffer in use', () => {
    const hv = host();
    const a = new ArgoGuest(platformOf(hv, 1));
    const b = new ArgoGuest(platformOf(hv, 2));
    const ring = b.registerRing({ aport: 1, partner: 1, len: 4032 });
    a.sendNow({ domid: 2, aport: 1 }, new Uint8Array(100).fill(1));
    expect(() => a.sendNow({ domid: 2, aport: 1 }, new Uint8Array(2 << 20))).toThrow(/out of guest memory|no contiguous run/);
    const own = a.registerRing({ aport: 9, partner: 2, len: 4032 }); // may reuse freed pages: must not be the bounce buffer
    a.sendNow({ domid: 2, aport: 1 }, new Uint8Array(100).fill(2));
    expect(own.rxPtr).toBe(0);
    expect(own.txPtr).toBe(0);
    expect(b.consume(ring).map((m) => m.payload[0])).toEqual([1, 2]);
  });

  it('a sender waiting on a ring that is unregistered can give up through its AbortSignal', async () => {
    const hv = host();
    const a = new ArgoGuest(platformOf(hv, 1));
    const b = new ArgoGuest(platformOf(hv, 2));
    const ring = b.registerRing({ aport: 1, partner: 1, len: 48 });
    a.sendNow({ domid: 2, aport: 1 }, new Uint8Array(16));
    const abort = new AbortController();
    const waiting = a.send({ domid: 2, aport: 1 }, new Uint8Array(16), { signal: abort.signal });
    b.unregisterRing(ring); // Xen signals nobody (argo.md §4.2)
    abort.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
  });

  it('a re-check after any VIRQ finds the ring gone and rejects with ECONNREFUSED', async () => {
    const hv = host(false, [1, 2, 3]);
    const a = new ArgoGuest(platformOf(hv, 1));
    const b = new ArgoGuest(platformOf(hv, 2));
    const c = new ArgoGuest(platformOf(hv, 3));
    const ring = b.registerRing({ aport: 1, partner: 1, len: 48 });
    a.registerRing({ aport: 5, partner: 3, len: 4032 });
    a.sendNow({ domid: 2, aport: 1 }, new Uint8Array(16));
    const waiting = a.send({ domid: 2, aport: 1 }, new Uint8Array(16));
    b.unregisterRing(ring);
    c.sendNow({ domid: 1, aport: 5 }, new Uint8Array(1)); // some other VIRQ_ARGO to A
    await expect(waiting).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('rejects with EBUSY when no space notification can be queued (32 waiters already)', async () => {
    const domids = Array.from({ length: 35 }, (_, i) => i + 1);
    const hv = host(true, domids);
    const guests = domids.map((d) => new ArgoGuest(platformOf(hv, d)));
    const owner = guests[0];
    const ring = owner.registerRing({ aport: 1, len: 48 }); // wildcard
    guests[1].sendNow({ domid: 1, aport: 1 }, new Uint8Array(16)); // full
    const first = guests[2].send({ domid: 1, aport: 1 }, new Uint8Array(16)); // dom3 waits
    owner.consume(ring); // notify fires dom3's wait ...
    guests[1].sendNow({ domid: 1, aport: 1 }, new Uint8Array(16)); // ... but dom2 refills the ring first
    for (const g of guests.slice(3, 35)) {
      expect(g.sendvRaw({ domid: 1, aport: 1 }, [])).toBe(-ERRNO.EAGAIN); // 32 other waiters queue
    }
    expect(hv.argoState(1)!.rings[0].waiters).toHaveLength(32);
    await expect(first).rejects.toMatchObject({ code: 'EBUSY' });
  });

  it('receive() waits for a message, consumes everything and notifies; recv skips a corrupt header', async () => {
    const hv = host();
    const a = new ArgoGuest(platformOf(hv, 1));
    const b = new ArgoGuest(platformOf(hv, 2));
    const ring = b.registerRing({ aport: 1, partner: 1, len: 4032 });
    const got = b.receive(ring);
    a.sendNow({ domid: 2, aport: 1 }, new Uint8Array([7]));
    a.sendNow({ domid: 2, aport: 1 }, new Uint8Array([8]));
    expect((await got).map((m) => m.payload[0])).toEqual([7, 8]);

    a.sendNow({ domid: 2, aport: 1 }, new Uint8Array([9]));
    const header = ring.gpa(RING_HEADER.ring + ring.rxPtr);
    hv.domain(2)!.memory.view.setUint32(header, 4000, true); // len beyond what tx says is there
    expect(ring.recv()).toBeNull();
    expect(ring.corrupt).toBe(1);
    expect(ring.isEmpty()).toBe(true); // recovered: rx = tx
  });
});
