/**
 * argo.md §9 reference-implementation quirks Q1–Q3 (faithful mode = default switches) and their
 * "intended behaviour" switches: conformance cases 14.42 and 14.43.
 * (Q4 and Q5 are covered in notify.test.ts, Q6 in global-and-register.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { ERRNO, MAX_RINGS_PER_DOMAIN, XEN_QUIRKS } from '../../src/index.js';
import { A, B, C, Host } from './harness.js';

describe('§9 quirks', () => {
  it('14.42-extra the quirk switches default to Xen\'s actual behaviour (all true)', () => {
    expect(XEN_QUIRKS).toEqual({ ringCountOnReregister: true, duplicateSendInfo: true, failedReregisterDeletes: true });
    expect(new Host().hv.quirks).toEqual(XEN_QUIRKS);
  });

  it('14.42 (Q1, faithful) A registers the same ring 128 times (1 + 127 re-registrations) → next register of any new ring → -ENOSPC', () => {
    const h = new Host();
    const ring = h.ring(A, 1, B, 48);
    for (let i = 1; i < MAX_RINGS_PER_DOMAIN; i++) {
      expect(h.register(A, { aport: 1, partner: B, len: 48, gfns: ring.gfns }).rc).toBe(0);
    }
    expect(h.hv.argoState(A)!.rings).toHaveLength(1);
    expect(h.hv.argoState(A)!.ringCount).toBe(128);
    expect(h.register(A, { aport: 2, partner: B, len: 48 }).rc).toBe(-ERRNO.ENOSPC);
    expect(h.register(A, { aport: 2, partner: C, len: 96 }).rc).toBe(-ERRNO.ENOSPC);
    // the check precedes the re-registration lookup: re-registering the same ring fails too
    expect(h.register(A, { aport: 1, partner: B, len: 48, gfns: ring.gfns }).rc).toBe(-ERRNO.ENOSPC);
    // the ring itself still works
    expect(h.send(B, A, 1, 8)).toBe(8);
    // unregister decrements once
    expect(h.unregister(A, { aport: 1, partner: B })).toBe(0);
    expect(h.hv.argoState(A)!.ringCount).toBe(127);
    expect(h.hv.argoState(A)!.rings).toEqual([]);
    expect(h.register(A, { aport: 2, partner: B, len: 48 }).rc).toBe(0);
    expect(h.register(A, { aport: 3, partner: B, len: 48 }).rc).toBe(-ERRNO.ENOSPC);
  });

  it('14.42-extra (Q1 off) re-registration does not count: 200 re-registrations, then a new ring → 0', () => {
    const h = new Host({ quirks: { ringCountOnReregister: false } });
    const ring = h.ring(A, 1, B, 48);
    for (let i = 0; i < 200; i++) expect(h.register(A, { aport: 1, partner: B, len: 48, gfns: ring.gfns }).rc).toBe(0);
    expect(h.hv.argoState(A)!.ringCount).toBe(1);
    expect(h.register(A, { aport: 2, partner: B, len: 48 }).rc).toBe(0);
    expect(h.hv.argoState(A)!.ringCount).toBe(2);
    expect(h.unregister(A, { aport: 1, partner: B })).toBe(0);
    expect(h.hv.argoState(A)!.ringCount).toBe(1);
  });

  it('14.42-extra (Q2, faithful) every re-registration adds a send-info record to the partner; unregister removes one', () => {
    const h = new Host();
    const ring = h.ring(A, 1, B, 48);
    h.register(A, { aport: 1, partner: B, len: 48, gfns: ring.gfns });
    h.register(A, { aport: 1, partner: B, len: 48, gfns: ring.gfns });
    expect(h.hv.argoState(B)!.sendInfo).toEqual([
      { owner: A, aport: 1 },
      { owner: A, aport: 1 },
      { owner: A, aport: 1 },
    ]);
    expect(h.unregister(A, { aport: 1, partner: B })).toBe(0);
    expect(h.hv.argoState(B)!.sendInfo).toEqual([
      { owner: A, aport: 1 },
      { owner: A, aport: 1 },
    ]);
    // a new registration of the id, then the partner dies: one record tears it down, the rest find nothing
    expect(h.register(A, { aport: 1, partner: B, len: 48 }).rc).toBe(0);
    const count = h.hv.argoState(A)!.ringCount;
    h.hv.destroyDomain(B);
    expect(h.ringState(A, 1, B)).toBeUndefined();
    expect(h.hv.argoState(A)!.ringCount).toBe(count - 1);
  });

  it('14.42-extra (Q2 off) re-registration keeps exactly one send-info record', () => {
    const h = new Host({ quirks: { duplicateSendInfo: false } });
    const ring = h.ring(A, 1, B, 48);
    h.register(A, { aport: 1, partner: B, len: 48, gfns: ring.gfns });
    h.register(A, { aport: 1, partner: B, len: 48, gfns: ring.gfns });
    expect(h.hv.argoState(B)!.sendInfo).toEqual([{ owner: A, aport: 1 }]);
    expect(h.unregister(A, { aport: 1, partner: B })).toBe(0);
    expect(h.hv.argoState(B)!.sendInfo).toEqual([]);
  });

  it('14.43 (Q3, faithful) re-register an existing ring with an invalid GFN → -EINVAL and the original ring no longer exists (sendv → -ECONNREFUSED)', () => {
    const h = new Host();
    const ring = h.ring(A, 1, B, 48);
    expect(h.send(B, A, 1, 16)).toBe(16);
    expect(h.send(B, A, 1, 16)).toBe(-ERRNO.EAGAIN);
    h.clearVirqs();
    const notRam = h.mem(A).bytes / 4096;
    expect(h.register(A, { aport: 1, partner: B, len: 48, gfns: [notRam] }).rc).toBe(-ERRNO.EINVAL);
    expect(h.ringState(A, 1, B)).toBeUndefined();
    expect(h.send(B, A, 1, 1)).toBe(-ERRNO.ECONNREFUSED);
    expect(h.unregister(A, { aport: 1, partner: B })).toBe(-ERRNO.ENOENT);
    // neither the count nor the partner's send-info record was cleaned up; nobody was signalled
    expect(h.hv.argoState(A)!.ringCount).toBe(1);
    expect(h.hv.argoState(B)!.sendInfo).toEqual([{ owner: A, aport: 1 }]);
    expect(h.virqs()).toEqual([]);
    // the guest's memory is left as it was
    expect(ring.tx).toBe(32);
    // a fresh registration of the id works
    expect(h.register(A, { aport: 1, partner: B, len: 48 }).rc).toBe(0);
    expect(h.send(B, A, 1, 1)).toBe(1);
  });

  it('14.43-extra (Q3 off) a failed re-registration leaves the existing ring, its pages and its waiters in place', () => {
    const h = new Host({ quirks: { failedReregisterDeletes: false } });
    const ring = h.ring(A, 1, B, 48);
    expect(h.send(B, A, 1, 16)).toBe(16);
    expect(h.send(B, A, 1, 16)).toBe(-ERRNO.EAGAIN);
    const notRam = h.mem(A).bytes / 4096;
    expect(h.register(A, { aport: 1, partner: B, len: 48, gfns: [notRam] }).rc).toBe(-ERRNO.EINVAL);
    expect(h.ringState(A, 1, B)).toMatchObject({ gfns: ring.gfns, tx: 32, waiters: [{ domid: B, length: 16 }] });
    h.clearVirqs();
    ring.consumeAll();
    expect(h.notify(A, null).rc).toBe(0);
    expect(h.virqs()).toEqual([B]);
    expect(h.send(B, A, 1, 16)).toBe(16);
    expect(ring.header(32).len).toBe(32);
  });
});
