import { describe, expect, it } from 'vitest';
import { ArgoGuest, createHypervisor, platformOf, VIRQ_ARGO } from '../../src/index.js';

describe('guest library end to end', () => {
  it('sends a message to a unicast ring and receives it intact with an authentic source', async () => {
    const hv = createHypervisor({ argo: { enabled: true } });
    hv.createDomain({ domid: 0 });
    hv.createDomain({ domid: 1 });
    hv.createDomain({ domid: 2 });
    const a = new ArgoGuest(platformOf(hv, 1));
    const b = new ArgoGuest(platformOf(hv, 2));
    const ring = b.registerRing({ aport: 80, partner: 1, len: 4032 });
    const n = await a.send({ domid: 2, aport: 80 }, new TextEncoder().encode('hello'), { messageType: 7, srcPort: 9 });
    expect(n).toBe(5);
    expect(hv.virqPending(2, VIRQ_ARGO)).toBe(true);
    const msg = ring.recv();
    expect(msg).not.toBeNull();
    expect(new TextDecoder().decode(msg!.payload)).toBe('hello');
    expect(msg!.source).toEqual({ domid: 1, aport: 9 });
    expect(msg!.messageType).toBe(7);
  });

  it('a sender blocked on a full ring is woken by the receiver consuming and notifying', async () => {
    const hv = createHypervisor({ argo: { enabled: true } });
    hv.createDomain({ domid: 1 });
    hv.createDomain({ domid: 2 });
    const a = new ArgoGuest(platformOf(hv, 1));
    const b = new ArgoGuest(platformOf(hv, 2));
    const ring = b.registerRing({ aport: 1, partner: 1, len: 48 });
    await a.send({ domid: 2, aport: 1 }, new Uint8Array(16).fill(1));
    let done = false;
    const blocked = a.send({ domid: 2, aport: 1 }, new Uint8Array(16).fill(2)).then(() => (done = true));
    await Promise.resolve();
    expect(done).toBe(false);
    expect(hv.argoState(2)!.rings[0].waiters).toEqual([{ domid: 1, length: 16 }]);
    expect(b.consume(ring).map((m) => m.payload[0])).toEqual([1]);
    await blocked;
    expect(done).toBe(true);
    expect(ring.recv()!.payload[0]).toBe(2);
  });
});
