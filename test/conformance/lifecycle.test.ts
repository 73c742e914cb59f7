/**
 * argo.md §8 (domain lifecycle: destruction, soft reset): conformance case 14.40, plus the three
 * teardown steps of §8.2 and what other domains observe (§6.2: nobody is signalled).
 */
import { describe, expect, it } from 'vitest';
import { ERRNO, XEN_ARGO_DOMID_ANY } from '../../src/index.js';
import { A, B, C, Host } from './harness.js';

const ANY = XEN_ARGO_DOMID_ANY;

/** A's own rings, rings partnered to A, a bystander ring, and A waiting on a wildcard ring. */
function populated(): Host {
  const h = new Host({ argo: { enabled: true, macPermissive: true } });
  h.ring(A, 1, B, 48);
  h.ring(A, 2, A, 48);
  h.ring(A, 3, ANY, 48);
  h.ring(B, 1, A, 48);
  h.ring(C, 2, A, 48);
  h.ring(B, 2, C, 48);
  h.ring(C, 9, ANY, 48);
  // A waits on C's wildcard ring; B waits on A's ring (A,1,B)
  expect(h.send(B, C, 9, 16)).toBe(16);
  expect(h.send(A, C, 9, 4)).toBe(-ERRNO.EAGAIN);
  expect(h.send(B, A, 1, 16)).toBe(16);
  expect(h.send(B, A, 1, 16)).toBe(-ERRNO.EAGAIN);
  expect(h.waiters(C, 9, ANY)).toEqual([{ domid: A, length: 4 }]);
  expect(h.waiters(A, 1, B)).toEqual([{ domid: B, length: 16 }]);
  h.clearVirqs();
  return h;
}

describe('§8 lifecycle', () => {
  it('14.40 soft reset of A: all A\'s rings and rings partnered to A are gone; A can register again at once (0)', () => {
    const h = populated();
    expect(h.hv.argoState(B)!.ringCount).toBe(2);
    expect(h.hv.argoState(C)!.ringCount).toBe(2);

    h.hv.softResetDomain(A);

    const a = h.hv.argoState(A)!;
    expect(a.hasArgo).toBe(true);
    expect(a.rings).toEqual([]);
    expect(a.ringCount).toBe(0);
    expect(a.sendInfo).toEqual([]);
    // partner rings torn down, owners' counts decremented
    expect(h.ringState(B, 1, A)).toBeUndefined();
    expect(h.ringState(C, 2, A)).toBeUndefined();
    expect(h.hv.argoState(B)!.ringCount).toBe(1);
    expect(h.hv.argoState(C)!.ringCount).toBe(1);
    // bystanders untouched; A's wildcard wait withdrawn
    expect(h.ringState(B, 2, C)).toBeDefined();
    expect(h.waiters(C, 9, ANY)).toEqual([]);
    // nobody is signalled
    expect(h.virqs()).toEqual([]);

    expect(h.send(B, A, 1, 1)).toBe(-ERRNO.ECONNREFUSED);
    expect(h.send(A, B, 1, 1)).toBe(-ERRNO.ECONNREFUSED);
    expect(h.send(C, B, 2, 1)).toBe(1);

    expect(h.register(A, { aport: 1, partner: B, len: 48 }).rc).toBe(0);
    expect(h.register(B, { aport: 1, partner: A, len: 48 }).rc).toBe(0);
    expect(h.send(B, A, 1, 16)).toBe(16);
    expect(h.send(A, B, 1, 16)).toBe(16);
    expect(h.hv.argoState(A)!.ringCount).toBe(1);
  });

  it('§8.2 killDomain(A): teardown steps 1–3; sends to A → -ECONNREFUSED while dying, -ESRCH once reaped; no VIRQs', () => {
    const h = populated();
    h.hv.killDomain(A);
    expect(h.hv.life(A)).toBe('dying');
    const a = h.hv.argoState(A)!;
    expect(a.hasArgo).toBe(false);
    expect(a.rings).toEqual([]);
    expect(a.ringCount).toBe(0);
    expect(h.ringState(B, 1, A)).toBeUndefined();
    expect(h.ringState(C, 2, A)).toBeUndefined();
    expect(h.hv.argoState(B)!.ringCount).toBe(1);
    expect(h.hv.argoState(C)!.ringCount).toBe(1);
    expect(h.waiters(C, 9, ANY)).toEqual([]);
    expect(h.virqs([0, B, C])).toEqual([]);

    expect(h.send(B, A, 1, 1)).toBe(-ERRNO.ECONNREFUSED);
    expect(h.send(C, A, 3, 1)).toBe(-ERRNO.ECONNREFUSED);
    expect(h.register(B, { aport: 5, partner: A, len: 48 }).rc).toBe(-ERRNO.ECONNREFUSED);
    // idempotent
    h.hv.killDomain(A);
    h.hv.reapDomain(A);
    expect(h.hv.life(A)).toBe('gone');
    expect(h.send(B, A, 1, 1)).toBe(-ERRNO.ESRCH);
    expect(h.register(B, { aport: 5, partner: A, len: 48 }).rc).toBe(-ERRNO.ESRCH);
    expect(h.notify(B, [{ domid: A, aport: 1, maxMessageSize: 5 }]).out[0]).toMatchObject({ flags: 0, maxMessageSize: 5 });
    // and B's firing has nothing left to signal
    expect(h.notify(C, null).rc).toBe(0);
    expect(h.virqs([0, B, C])).toEqual([]);
  });

  it('§7.2/§8.2 a dying domain with Argo state freed sees -ENODEV from its own ops (hooks allow)', () => {
    const h = new Host();
    h.ring(B, 1, A, 48);
    h.hv.killDomain(A);
    expect(h.notify(A, null).rc).toBe(-ERRNO.ENODEV);
    expect(h.notify(A, [{ domid: B, aport: 1 }]).rc).toBe(-ERRNO.ENODEV);
    expect(h.unregister(A, { aport: 1, partner: B })).toBe(-ERRNO.ENODEV);
    expect(h.send(A, B, 1, 1)).toBe(-ERRNO.ENODEV);
    expect(h.register(A, { aport: 1, partner: B, len: 48 }).rc).toBe(-ERRNO.ENODEV);
    // argument errors that come earlier still win
    expect(h.register(A, { aport: 1, partner: B, len: 40 }).rc).toBe(-ERRNO.EINVAL);
    expect(h.send(A, 0x1234, 1, 1)).toBe(-ERRNO.ESRCH);
    expect(h.unregister(A, { aport: 1, partner: B, pad: 1 })).toBe(-ERRNO.EINVAL);
  });

  it('§8.2 the owner\'s pending waiters are dropped without a signal when its ring is torn down by the partner\'s death', () => {
    const h = new Host();
    const ring = h.ring(B, 1, A, 48);
    expect(h.send(A, B, 1, 16)).toBe(16);
    expect(h.send(A, B, 1, 16)).toBe(-ERRNO.EAGAIN);
    h.clearVirqs();
    h.hv.destroyDomain(A);
    expect(h.ringState(B, 1, A)).toBeUndefined();
    ring.consumeAll();
    expect(h.notify(B, null).rc).toBe(0);
    expect(h.virqs([0, B, C])).toEqual([]);
    // the domid can be reused by a fresh domain with fresh Argo state
    h.addDomain(A);
    expect(h.hv.argoState(A)).toMatchObject({ hasArgo: true, rings: [], ringCount: 0, sendInfo: [] });
    expect(h.register(B, { aport: 1, partner: A, len: 48 }).rc).toBe(0);
  });

  it('§8.3 soft reset is not a signal: neither A nor its peers get VIRQ_ARGO, and B\'s waiters on A\'s rings vanish', () => {
    const h = populated();
    const before = h.hv.argoState(A)!.rings.length;
    expect(before).toBe(3);
    h.hv.softResetDomain(A);
    expect(h.virqs()).toEqual([]);
    // A re-registers (A,1,B): the pending list is new and empty
    expect(h.register(A, { aport: 1, partner: B, len: 48 }).rc).toBe(0);
    expect(h.waiters(A, 1, B)).toEqual([]);
  });
});
