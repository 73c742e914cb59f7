/**
 * argo.md §4.4 (notify) and §6.3 (pending space notifications): conformance cases 14.29–14.33,
 * plus the per-entry rules of fill_ring_data and the waiter-list rules.
 */
import { describe, expect, it } from 'vitest';
import {
  ERRNO,
  MAX_PENDING_PER_RING,
  RING_DATA_ENT,
  XEN_ARGO_DOMID_ANY,
  XEN_ARGO_OP_notify,
  XEN_ARGO_RING_EBUSY,
  XEN_ARGO_RING_EMPTY,
  XEN_ARGO_RING_EMSGSIZE,
  XEN_ARGO_RING_EXISTS,
  XEN_ARGO_RING_SHARED,
  XEN_ARGO_RING_SUFFICIENT,
} from '../../src/index.js';
import { A, B, BAD_GPA, C, GPA, Host, entryGpa, readEntry } from './harness.js';

const EXISTS = XEN_ARGO_RING_EXISTS;
const SHARED = XEN_ARGO_RING_SHARED;
const EMPTY = XEN_ARGO_RING_EMPTY;
const SUFFICIENT = XEN_ARGO_RING_SUFFICIENT;
const EMSGSIZE = XEN_ARGO_RING_EMSGSIZE;
const EBUSY = XEN_ARGO_RING_EBUSY;

describe('§4.4 notify', () => {
  it('14.29 notify(NULL) → 0', () => {
    const h = new Host();
    expect(h.notify(A, null).rc).toBe(0);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_notify, 0, 0, 0, 0)).toBe(0);
    expect(h.virqs()).toEqual([]);
  });

  it('14.29-extra §4.4 step 2: arg2 non-NULL, arg3 ≠ 0 or arg4 ≠ 0 → -EINVAL', () => {
    const h = new Host();
    expect(h.hv.argoOp(A, XEN_ARGO_OP_notify, 0, GPA.GFNS, 0, 0)).toBe(-ERRNO.EINVAL);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_notify, 0, 0, 1, 0)).toBe(-ERRNO.EINVAL);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_notify, 0, 0, 0, 1)).toBe(-ERRNO.EINVAL);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_notify, GPA.RING_DATA, GPA.GFNS, 0, 0)).toBe(-ERRNO.EINVAL);
  });

  it('14.30 notify nent=257 → -EACCES; nent=256 → 0', () => {
    const h = new Host();
    h.ring(B, 3, A, 256);
    const sentinel = { flags: 0xaaaa, maxMessageSize: 0x5555 };
    const entries = Array.from({ length: 257 }, () => ({ domid: B, aport: 3, ...sentinel }));
    const r257 = h.notify(A, entries);
    expect(r257.rc).toBe(-ERRNO.EACCES);
    // nothing written back
    for (const e of r257.out) expect(e).toMatchObject({ flags: 0xaaaa, maxMessageSize: 0x5555 });
    // nent > 256 is checked before the entry array's accessibility
    h.mem(A).view.setUint32(GPA.RING_DATA, 0xffff_ffff, true);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_notify, GPA.RING_DATA, 0, 0, 0)).toBe(-ERRNO.EACCES);

    const r256 = h.notify(A, entries.slice(0, 256));
    expect(r256.rc).toBe(0);
    for (const e of r256.out) expect(e).toMatchObject({ flags: EXISTS | EMPTY | SUFFICIENT, maxMessageSize: 224 });
    // the 257th entry's memory was not touched by the 256-entry call
    expect(readEntry(h.mem(A).view, entryGpa(256))).toMatchObject({ flags: 0xaaaa, maxMessageSize: 0x5555 });
  });

  it('14.30-extra §4.4 EFAULT: ring_data header not accessible; entry array not accessible for nent entries', () => {
    const h = new Host();
    expect(h.hv.argoOp(A, XEN_ARGO_OP_notify, BAD_GPA, 0, 0, 0)).toBe(-ERRNO.EFAULT);
    const end = h.mem(A).bytes - 8 - 2 * RING_DATA_ENT.size;
    h.mem(A).view.setUint32(end, 3, true); // nent 3, but only 2 entries fit
    expect(h.hv.argoOp(A, XEN_ARGO_OP_notify, end, 0, 0, 0)).toBe(-ERRNO.EFAULT);
    h.mem(A).view.setUint32(end, 2, true);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_notify, end, 0, 0, 0)).toBe(0);
    // nent 0: nothing to do
    expect(h.notify(A, []).rc).toBe(0);
  });

  it('14.31 notify on empty ring(B,3,A,256), space_required 0 → EXISTS|EMPTY|SUFFICIENT (0x0D), max_message_size 224', () => {
    const h = new Host();
    h.ring(B, 3, A, 256);
    const r = h.notify(A, [{ domid: B, aport: 3, spaceRequired: 0, flags: 0xffff, maxMessageSize: 7 }]);
    expect(r.rc).toBe(0);
    expect(r.out[0]).toEqual({
      domid: B,
      aport: 3,
      ringPad: 0,
      flags: 0x0d,
      pad: 0,
      spaceRequired: 0,
      maxMessageSize: 224,
    });
    expect(h.waiters(B, 3, A)).toEqual([]);
    expect(h.virqs()).toEqual([]);
  });

  it('14.32 notify space_required 225 on that ring → EXISTS|EMPTY|EMSGSIZE; no pending entry', () => {
    const h = new Host();
    h.ring(B, 3, A, 256);
    const r = h.notify(A, [{ domid: B, aport: 3, spaceRequired: 225 }]);
    expect(r.rc).toBe(0);
    expect(r.out[0].flags).toBe(EXISTS | EMPTY | EMSGSIZE);
    expect(r.out[0].flags).toBe(0x15);
    expect(r.out[0].maxMessageSize).toBe(224);
    expect(r.out[0].spaceRequired).toBe(225);
    expect(h.waiters(B, 3, A)).toEqual([]);
    // 224 is exactly the max: SUFFICIENT
    expect(h.notify(A, [{ domid: B, aport: 3, spaceRequired: 224 }]).out[0].flags).toBe(EXISTS | EMPTY | SUFFICIENT);
  });

  it('14.32-extra EMSGSIZE neither queues nor cancels an existing pending entry', () => {
    const h = new Host();
    h.ring(B, 3, A, 256);
    expect(h.send(A, B, 3, 200)).toBe(200);
    expect(h.send(A, B, 3, 100)).toBe(-ERRNO.EAGAIN);
    expect(h.waiters(B, 3, A)).toEqual([{ domid: A, length: 100 }]);
    const r = h.notify(A, [{ domid: B, aport: 3, spaceRequired: 1000 }]);
    expect(r.out[0].flags).toBe(EXISTS | EMSGSIZE);
    expect(h.waiters(B, 3, A)).toEqual([{ domid: A, length: 100 }]);
  });

  it('14.33 (continuing 14.26) B consumes without notify → A gets no VIRQ; B notify(NULL) → A gets VIRQ, pending entry removed', () => {
    const h = new Host();
    const ring = h.ring(B, 1, A, 48);
    expect(h.send(A, B, 1, 16)).toBe(16);
    expect(h.send(A, B, 1, 1)).toBe(-ERRNO.EAGAIN);
    expect(h.waiters(B, 1, A)).toEqual([{ domid: A, length: 1 }]);
    h.clearVirqs();

    ring.consumeAll(); // B advances rx; Xen does not observe it by itself
    expect(h.virqs()).toEqual([]);
    expect(h.waiters(B, 1, A)).toEqual([{ domid: A, length: 1 }]);
    // a send by someone else does not run the check either (§6.3 "Fire": only the owner's notify)
    h.ring(B, 2, C, 48);
    expect(h.send(C, B, 2, 1)).toBe(1);
    expect(h.virqs()).toEqual([B]);
    h.clearVirqs();
    // neither does A's own notify (A does not own the ring)
    expect(h.notify(A, null).rc).toBe(0);
    expect(h.virqs()).toEqual([]);
    expect(h.waiters(B, 1, A)).toEqual([{ domid: A, length: 1 }]);

    expect(h.notify(B, null).rc).toBe(0);
    expect(h.virqs()).toEqual([A]);
    expect(h.waiters(B, 1, A)).toEqual([]);
    // and the retried send now succeeds
    expect(h.send(A, B, 1, 1)).toBe(1);
  });

  it('§4.4 step 4: the pending check runs first, even when the ring_data argument then faults', () => {
    const h = new Host();
    const ring = h.ring(B, 1, A, 48);
    expect(h.send(A, B, 1, 16)).toBe(16);
    expect(h.send(A, B, 1, 16)).toBe(-ERRNO.EAGAIN);
    h.clearVirqs();
    ring.consumeAll();
    expect(h.hv.argoOp(B, XEN_ARGO_OP_notify, BAD_GPA, 0, 0, 0)).toBe(-ERRNO.EFAULT);
    expect(h.virqs()).toEqual([A]);
    expect(h.waiters(B, 1, A)).toEqual([]);
  });

  it('§4.4 step 4: the pending check precedes the entries: a self-ring waiter is fired (VIRQ) before its own SUFFICIENT entry could cancel it', () => {
    const h = new Host();
    const ring = h.ring(B, 1, B, 48);
    expect(h.send(B, B, 1, 16)).toBe(16);
    expect(h.send(B, B, 1, 1)).toBe(-ERRNO.EAGAIN);
    expect(h.waiters(B, 1, B)).toEqual([{ domid: B, length: 1 }]);
    h.clearVirqs();
    ring.consumeAll();
    const r = h.notify(B, [{ domid: B, aport: 1, spaceRequired: 1 }]);
    expect(r.rc).toBe(0);
    expect(r.out[0].flags).toBe(EXISTS | EMPTY | SUFFICIENT);
    expect(h.waiters(B, 1, B)).toEqual([]);
    expect(h.virqs()).toEqual([B]); // fired, not silently cancelled
  });

  it('§6.3 fire wakes every eligible waiter (length ≤ payload space), keeps the others', () => {
    const h = new Host({ argo: { enabled: true, macPermissive: true } });
    const ring = h.ring(B, 5, XEN_ARGO_DOMID_ANY, 256);
    expect(h.send(A, B, 5, 224)).toBe(224); // tx 240, payload space 0
    expect(h.send(A, B, 5, 16)).toBe(-ERRNO.EAGAIN);
    expect(h.send(C, B, 5, 100)).toBe(-ERRNO.EAGAIN);
    expect(h.send(0, B, 5, 224)).toBe(-ERRNO.EAGAIN);
    expect(h.waiters(B, 5, XEN_ARGO_DOMID_ANY)).toEqual([
      { domid: A, length: 16 },
      { domid: C, length: 100 },
      { domid: 0, length: 224 },
    ]);
    h.clearVirqs();
    ring.rx = 144; // d = 144 − 240 + 256 = 160 → payload space 128
    expect(h.notify(B, null).rc).toBe(0);
    expect(h.virqs()).toEqual([A, C]);
    expect(h.waiters(B, 5, XEN_ARGO_DOMID_ANY)).toEqual([{ domid: 0, length: 224 }]);
    h.clearVirqs();
    ring.consumeAll();
    expect(h.notify(B, [{ domid: B, aport: 5, spaceRequired: 0 }]).rc).toBe(0);
    expect(h.virqs()).toEqual([0]);
    expect(h.waiters(B, 5, XEN_ARGO_DOMID_ANY)).toEqual([]);
  });

  it('§6.3 fire needs payload space > 0: a zero-length waiter on a ring with no payload space stays queued', () => {
    const h = new Host();
    const ring = h.ring(B, 1, A, 48);
    expect(h.send(A, B, 1, 16)).toBe(16);
    expect(h.sendv(A, { src: { domid: A, aport: 0 }, dst: { domid: B, aport: 1 }, iovs: [] })).toBe(-ERRNO.EAGAIN);
    expect(h.waiters(B, 1, A)).toEqual([{ domid: A, length: 0 }]);
    h.clearVirqs();
    expect(h.notify(B, null).rc).toBe(0);
    expect(h.virqs()).toEqual([]);
    expect(h.waiters(B, 1, A)).toEqual([{ domid: A, length: 0 }]);
    ring.consumeAll();
    expect(h.notify(B, null).rc).toBe(0);
    expect(h.virqs()).toEqual([A]);
  });

  it('§4.4 insufficient space queues (caller, space_required); SUFFICIENT later cancels all of the caller\'s entries', () => {
    const h = new Host();
    const ring = h.ring(B, 3, A, 256);
    expect(h.send(A, B, 3, 150)).toBe(150); // tx 176: payload space 256 − 176 − 32 = 48
    let r = h.notify(A, [{ domid: B, aport: 3, spaceRequired: 48 }]);
    expect(r.out[0]).toMatchObject({ flags: EXISTS | SUFFICIENT, maxMessageSize: 224 });
    expect(h.waiters(B, 3, A)).toEqual([]);
    r = h.notify(A, [{ domid: B, aport: 3, spaceRequired: 49 }]);
    expect(r.out[0]).toMatchObject({ flags: EXISTS, maxMessageSize: 224 });
    expect(h.waiters(B, 3, A)).toEqual([{ domid: A, length: 49 }]);
    // requeue keeps max(old, new)
    h.notify(A, [{ domid: B, aport: 3, spaceRequired: 60 }]);
    h.notify(A, [{ domid: B, aport: 3, spaceRequired: 50 }]);
    expect(h.waiters(B, 3, A)).toEqual([{ domid: A, length: 60 }]);
    // SUFFICIENT for a smaller request cancels the entry (no signal)
    r = h.notify(A, [{ domid: B, aport: 3, spaceRequired: 10 }]);
    expect(r.out[0].flags).toBe(EXISTS | SUFFICIENT);
    expect(h.waiters(B, 3, A)).toEqual([]);
    expect(h.virqs()).toEqual([B]); // only the earlier send's VIRQ
    expect(ring.tx).toBe(176);
    // §5.3: sendv agrees with notify: L fits iff L ≤ payload space (48)
    expect(h.send(A, B, 3, 49)).toBe(-ERRNO.EAGAIN);
    expect(h.waiters(B, 3, A)).toEqual([{ domid: A, length: 49 }]);
    expect(h.send(A, B, 3, 48)).toBe(48);
    expect(ring.tx).toBe(240);
  });

  it('§4.4 SHARED is set for a wildcard ring; EMPTY only when rx == tx', () => {
    const h = new Host({ argo: { enabled: true, macPermissive: true } });
    const ring = h.ring(B, 9, XEN_ARGO_DOMID_ANY, 48);
    let r = h.notify(C, [{ domid: B, aport: 9, spaceRequired: 16 }]);
    expect(r.out[0]).toMatchObject({ flags: EXISTS | SHARED | EMPTY | SUFFICIENT, maxMessageSize: 16 });
    expect(h.send(C, B, 9, 0)).toBe(0); // tx 16: payload space 0
    r = h.notify(C, [{ domid: B, aport: 9, spaceRequired: 0 }]);
    expect(r.out[0].flags).toBe(EXISTS | SHARED | SUFFICIENT);
    r = h.notify(C, [{ domid: B, aport: 9, spaceRequired: 1 }]);
    expect(r.out[0].flags).toBe(EXISTS | SHARED);
    expect(h.waiters(B, 9, XEN_ARGO_DOMID_ANY)).toEqual([{ domid: C, length: 1 }]);
    ring.consumeAll();
    r = h.notify(A, [{ domid: B, aport: 9, spaceRequired: 17 }]);
    expect(r.out[0].flags).toBe(EXISTS | SHARED | EMPTY | EMSGSIZE);
  });

  it('§4.4 entry for a unicast ring whose partner is someone else looks non-existent: flags 0, max_message_size echoed', () => {
    const h = new Host();
    h.ring(B, 3, A, 256);
    const r = h.notify(C, [{ domid: B, aport: 3, spaceRequired: 300, flags: 0xffff, maxMessageSize: 0x1234 }]);
    expect(r.rc).toBe(0);
    expect(r.out[0]).toMatchObject({ flags: 0, maxMessageSize: 0x1234, spaceRequired: 300 });
    expect(h.waiters(B, 3, A)).toEqual([]);
  });

  it('§4.4 entry for a missing domain, a domain without Argo state or a missing port: flags 0, max_message_size unchanged (Q4)', () => {
    const h = new Host();
    h.ring(B, 3, A, 256);
    h.hv.killDomain(C);
    const r = h.notify(A, [
      { domid: 0x1234, aport: 3, flags: 0x3f, maxMessageSize: 111 },
      { domid: C, aport: 3, flags: 0x3f, maxMessageSize: 222 },
      { domid: B, aport: 4, flags: 0x3f, maxMessageSize: 333 },
      { domid: XEN_ARGO_DOMID_ANY, aport: 3, flags: 0x3f, maxMessageSize: 444 },
      { domid: B, aport: 3, flags: 0x3f, maxMessageSize: 555 },
    ]);
    expect(r.rc).toBe(0);
    expect(r.out.map((e) => [e.flags, e.maxMessageSize])).toEqual([
      [0, 111],
      [0, 222],
      [0, 333],
      [0, 444],
      [EXISTS | EMPTY | SUFFICIENT, 224],
    ]);
  });

  it('§4.4 pads are not validated; only flags and max_message_size are written back', () => {
    const h = new Host();
    h.ring(B, 3, A, 256);
    const r = h.notify(A, [{ domid: B, aport: 3, spaceRequired: 5, pad: 0xbeef, ringPad: 0x77 }], { pad: 0xdead });
    expect(r.rc).toBe(0);
    expect(r.out[0]).toEqual({
      domid: B,
      aport: 3,
      ringPad: 0x77,
      flags: EXISTS | EMPTY | SUFFICIENT,
      pad: 0xbeef,
      spaceRequired: 5,
      maxMessageSize: 224,
    });
    expect(h.mem(A).view.getUint32(GPA.RING_DATA + 4, true)).toBe(0xdead);
  });

  it('§6.3 a ring holds at most 32 waiters: the 33rd sender gets -EBUSY, a notify entry gets the EBUSY flag; existing waiters update', () => {
    const others = Array.from({ length: MAX_PENDING_PER_RING + 1 }, (_, i) => 10 + i);
    const h = new Host({ argo: { enabled: true, macPermissive: true }, domains: [0, A, B, C, ...others] });
    h.ring(B, 9, XEN_ARGO_DOMID_ANY, 48);
    expect(h.send(A, B, 9, 16)).toBe(16);
    h.clearVirqs();
    for (const d of others.slice(0, MAX_PENDING_PER_RING)) expect(h.send(d, B, 9, 1)).toBe(-ERRNO.EAGAIN);
    expect(h.waiters(B, 9, XEN_ARGO_DOMID_ANY)).toHaveLength(32);
    const last = others[MAX_PENDING_PER_RING];
    expect(h.send(last, B, 9, 1)).toBe(-ERRNO.EBUSY);
    const r = h.notify(last, [{ domid: B, aport: 9, spaceRequired: 1 }, { domid: B, aport: 9, spaceRequired: 0 }]);
    expect(r.rc).toBe(0);
    expect(r.out[0]).toMatchObject({ flags: EXISTS | SHARED | EBUSY, maxMessageSize: 16 });
    expect(r.out[1]).toMatchObject({ flags: EXISTS | SHARED | SUFFICIENT });
    // a domain already on the list just updates its entry: EAGAIN, not EBUSY
    expect(h.send(others[0], B, 9, 16)).toBe(-ERRNO.EAGAIN);
    expect(h.waiters(B, 9, XEN_ARGO_DOMID_ANY)[0]).toEqual({ domid: others[0], length: 16 });
    expect(h.waiters(B, 9, XEN_ARGO_DOMID_ANY)).toHaveLength(32);
    expect(h.virqs([0, A, B, C, ...others])).toEqual([]);
  });
});
