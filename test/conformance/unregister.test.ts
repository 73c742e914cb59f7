/**
 * argo.md §4.2 (unregister_ring) and §8.4: conformance cases 14.15, 14.16, 14.39.
 */
import { describe, expect, it } from 'vitest';
import { ERRNO, XEN_ARGO_DOMID_ANY, XEN_ARGO_OP_unregister_ring } from '../../src/index.js';
import { A, B, BAD_GPA, C, GPA, Host } from './harness.js';

describe('§4.2 unregister_ring', () => {
  it('14.15 unregister of a never-registered id → -ENOENT', () => {
    const h = new Host();
    expect(h.unregister(A, { aport: 1, partner: B })).toBe(-ERRNO.ENOENT);
    expect(h.unregister(A, { aport: 1, partner: XEN_ARGO_DOMID_ANY })).toBe(-ERRNO.ENOENT);
    // partner need not exist for the lookup to fail cleanly
    expect(h.unregister(A, { aport: 1, partner: 0x1234 })).toBe(-ERRNO.ENOENT);
    // a ring registered by someone else is not the caller's
    h.ring(B, 1, A, 48);
    expect(h.unregister(A, { aport: 1, partner: A })).toBe(-ERRNO.ENOENT);
    expect(h.ringState(B, 1, A)).toBeDefined();
    // unregistering twice: second is ENOENT
    expect(h.unregister(B, { aport: 1, partner: A })).toBe(0);
    expect(h.unregister(B, { aport: 1, partner: A })).toBe(-ERRNO.ENOENT);
  });

  it('14.16 unregister with arg2≠NULL, or arg3=1, or arg4=1 → -EINVAL; with pad≠0 → -EINVAL', () => {
    const h = new Host();
    h.ring(A, 1, B, 48);
    expect(h.unregister(A, { aport: 1, partner: B }, GPA.GFNS, 0, 0)).toBe(-ERRNO.EINVAL);
    expect(h.unregister(A, { aport: 1, partner: B }, 0, 1, 0)).toBe(-ERRNO.EINVAL);
    expect(h.unregister(A, { aport: 1, partner: B }, 0, 0, 1)).toBe(-ERRNO.EINVAL);
    expect(h.unregister(A, { aport: 1, partner: B, pad: 1 })).toBe(-ERRNO.EINVAL);
    // none of those removed the ring
    expect(h.ringState(A, 1, B)).toBeDefined();
    expect(h.hv.argoState(A)!.ringCount).toBe(1);
    expect(h.unregister(A, { aport: 1, partner: B })).toBe(0);
  });

  it('14.16-extra §4.2 order: arg checks (EINVAL) before the struct copy (EFAULT) before pad (EINVAL) before lookup', () => {
    const h = new Host();
    expect(h.hv.argoOp(A, XEN_ARGO_OP_unregister_ring, BAD_GPA, GPA.GFNS, 0, 0)).toBe(-ERRNO.EINVAL);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_unregister_ring, 0, 0, 1, 0)).toBe(-ERRNO.EINVAL);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_unregister_ring, 0, 0, 0, 0)).toBe(-ERRNO.EFAULT);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_unregister_ring, BAD_GPA, 0, 0, 0)).toBe(-ERRNO.EFAULT);
    // pad≠0 on a never-registered id is EINVAL, not ENOENT
    expect(h.unregister(A, { aport: 9, partner: B, pad: 0xffff })).toBe(-ERRNO.EINVAL);
  });

  it('§4.2 exact id only: no wildcard fallback, partner must match', () => {
    const h = new Host({ argo: { enabled: true, macPermissive: true } });
    h.ring(A, 1, XEN_ARGO_DOMID_ANY, 48);
    h.ring(A, 2, B, 48);
    expect(h.unregister(A, { aport: 1, partner: B })).toBe(-ERRNO.ENOENT);
    expect(h.unregister(A, { aport: 2, partner: XEN_ARGO_DOMID_ANY })).toBe(-ERRNO.ENOENT);
    expect(h.unregister(A, { aport: 2, partner: C })).toBe(-ERRNO.ENOENT);
    expect(h.hv.argoState(A)!.ringCount).toBe(2);
    expect(h.unregister(A, { aport: 1, partner: XEN_ARGO_DOMID_ANY })).toBe(0);
    expect(h.unregister(A, { aport: 2, partner: B })).toBe(0);
    expect(h.hv.argoState(A)!.ringCount).toBe(0);
    expect(h.hv.argoState(A)!.rings).toEqual([]);
  });

  it('§4.2 side effects: ring_count −1, send-info leaves the partner table, no VIRQ; unread data abandoned', () => {
    const h = new Host();
    const ring = h.ring(A, 1, B, 256);
    h.ring(A, 2, B, 256);
    expect(h.send(B, A, 1, 30, 5)).toBe(30);
    h.clearVirqs();
    expect(h.hv.argoState(B)!.sendInfo).toEqual([
      { owner: A, aport: 1 },
      { owner: A, aport: 2 },
    ]);
    const bytes = h.mem(A).read(ring.headerGpa, 4096);
    expect(h.unregister(A, { aport: 1, partner: B })).toBe(0);
    expect(h.hv.argoState(A)!.ringCount).toBe(1);
    expect(h.hv.argoState(B)!.sendInfo).toEqual([{ owner: A, aport: 2 }]);
    expect(h.virqs()).toEqual([]);
    // the memory belongs to the guest: untouched by unregister
    expect(h.mem(A).read(ring.headerGpa, 4096)).toEqual(bytes);
    expect(h.send(B, A, 1, 1)).toBe(-ERRNO.ECONNREFUSED);
    // the same id can be registered again afresh
    expect(h.register(A, { aport: 1, partner: B, len: 256 }).rc).toBe(0);
  });

  it('14.39 unregister with waiters: A pending on ring(B,4,A); B unregisters → 0; A gets no VIRQ; A next send → -ECONNREFUSED', () => {
    const h = new Host();
    h.ring(B, 4, A, 48);
    expect(h.send(A, B, 4, 16)).toBe(16);
    expect(h.send(A, B, 4, 16)).toBe(-ERRNO.EAGAIN);
    expect(h.waiters(B, 4, A)).toEqual([{ domid: A, length: 16 }]);
    h.clearVirqs();

    expect(h.unregister(B, { aport: 4, partner: A })).toBe(0);
    expect(h.ringState(B, 4, A)).toBeUndefined();
    expect(h.virqs()).toEqual([]);
    // the owner's later notify has nothing to fire either
    expect(h.notify(B, null).rc).toBe(0);
    expect(h.virqs()).toEqual([]);

    expect(h.send(A, B, 4, 16)).toBe(-ERRNO.ECONNREFUSED);
    expect(h.virqs()).toEqual([]);
  });

  it('14.39-extra §8.4: after unregistering a unicast ring, a wildcard ring at the same port receives the sends', () => {
    const h = new Host({ argo: { enabled: true, macPermissive: true } });
    const uni = h.ring(B, 4, A, 256);
    const any = h.ring(B, 4, XEN_ARGO_DOMID_ANY, 256);
    expect(h.send(A, B, 4, 10)).toBe(10);
    expect(uni.tx).toBe(32);
    expect(any.tx).toBe(0);
    expect(h.unregister(B, { aport: 4, partner: A })).toBe(0);
    expect(h.send(A, B, 4, 10)).toBe(10);
    expect(any.tx).toBe(32);
    expect(any.header(0)).toMatchObject({ len: 26, sourceDomid: A });
  });
});
