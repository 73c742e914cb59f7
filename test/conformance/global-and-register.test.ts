/**
 * argo.md §3 (global checks) and §4.1 (register_ring): conformance cases 14.1–14.14, plus the
 * validation-order and tx_ptr-initialisation rules of §4.1.
 */
import { describe, expect, it } from 'vitest';
import {
  createHypervisor,
  ERRNO,
  XEN_ARGO_DOMID_ANY,
  XEN_ARGO_OP_notify,
  XEN_ARGO_OP_register_ring,
  XEN_ARGO_OP_sendv,
  XEN_ARGO_OP_unregister_ring,
  XEN_ARGO_REGISTER_FLAG_FAIL_EXIST,
} from '../../src/index.js';
import { A, B, BAD_GPA, C, GPA, Host, RingView, writeGfns, writeRegisterStruct } from './harness.js';

const ALL_OPS = [XEN_ARGO_OP_register_ring, XEN_ARGO_OP_unregister_ring, XEN_ARGO_OP_sendv, XEN_ARGO_OP_notify];

describe('§3 global checks', () => {
  it('14.1 argo=0: register/unregister/sendv/notify/unknown cmd → -EOPNOTSUPP', () => {
    const h = new Host({ argo: { enabled: false } });
    // Lay out plausible arguments anyway: the answer must not depend on them.
    writeRegisterStruct(h.mem(A), GPA.ARG, { aport: 1, partner: B, len: 4032 });
    writeGfns(h.mem(A), GPA.GFNS, h.pages(A, 1));
    expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, GPA.ARG, GPA.GFNS, 1, 0)).toBe(-ERRNO.EOPNOTSUPP);
    expect(h.unregister(A, { aport: 1, partner: B })).toBe(-ERRNO.EOPNOTSUPP);
    expect(h.send(A, B, 1, 23)).toBe(-ERRNO.EOPNOTSUPP);
    expect(h.notify(A, null).rc).toBe(-ERRNO.EOPNOTSUPP);
    expect(h.notify(A, [{ domid: B, aport: 1 }]).rc).toBe(-ERRNO.EOPNOTSUPP);
    for (const cmd of [0, 5, 6, 7, 8, 9, 100]) expect(h.hv.argoOp(A, cmd, 0, 0, 0, 0)).toBe(-ERRNO.EOPNOTSUPP);
    // and no domain got Argo state (§7.1)
    for (const d of [0, A, B, C]) expect(h.hv.argoState(d)!.hasArgo).toBe(false);
    expect(h.virqs()).toEqual([]);
  });

  it('14.1-extra argo=0: arg3/arg4 ≥ 2^32 is -EINVAL even when Argo is disabled (§3 step 1 first)', () => {
    const h = new Host({ argo: { enabled: false } });
    for (const cmd of [...ALL_OPS, 5]) {
      expect(h.hv.argoOp(A, cmd, 0, 0, 2 ** 32, 0)).toBe(-ERRNO.EINVAL);
      expect(h.hv.argoOp(A, cmd, 0, 0, 0, 2 ** 32)).toBe(-ERRNO.EINVAL);
    }
    expect(h.hv.argoOp(A, XEN_ARGO_OP_notify, 0, 0, 0xffff_ffff, 0)).toBe(-ERRNO.EOPNOTSUPP);
  });

  it('14.1-extra boot option text "argo=1,mac-permissive=1" enables Argo and wildcard rings', () => {
    const h = new Host({ argo: 'argo=1,mac-permissive=1' });
    expect(h.register(B, { aport: 1, partner: XEN_ARGO_DOMID_ANY, len: 256 }).rc).toBe(0);
    const off = new Host({ argo: 'argo=0' });
    expect(off.notify(A, null).rc).toBe(-ERRNO.EOPNOTSUPP);
  });

  it('14.1-extra hypervisor built without CONFIG_ARGO: the hypercall does not exist → -ENOSYS', () => {
    const hv = createHypervisor({ build: { argo: false }, argo: { enabled: true } });
    hv.createDomain({ domid: A });
    for (const cmd of [...ALL_OPS, 5]) expect(hv.argoOp(A, cmd, 0, 0, 0, 0)).toBe(-ERRNO.ENOSYS);
    expect(hv.argoState(A)!.hasArgo).toBe(false);
  });

  it('14.2 unknown cmd 5 (Argo on) → -EOPNOTSUPP', () => {
    const h = new Host();
    expect(h.hv.argoOp(A, 5, 0, 0, 0, 0)).toBe(-ERRNO.EOPNOTSUPP);
    expect(h.hv.argoOp(A, 5, GPA.ARG, GPA.GFNS, 1, 1)).toBe(-ERRNO.EOPNOTSUPP);
    // viptables ops do not exist without the OpenXT patch
    for (const cmd of [0, 6, 7, 8, 0xffff_ffff]) expect(h.hv.argoOp(0, cmd, 0, 0, 0, 0)).toBe(-ERRNO.EOPNOTSUPP);
    // the arg3/arg4 width check still precedes dispatch
    expect(h.hv.argoOp(A, 5, 0, 0, 2 ** 32, 0)).toBe(-ERRNO.EINVAL);
  });
});

describe('§4.1 register_ring', () => {
  it('14.3 register len=1, npage=0, gfns=NULL → -EINVAL (XTF availability probe)', () => {
    const h = new Host();
    writeRegisterStruct(h.mem(A), GPA.ARG, { aport: 1, partner: A, len: 1 });
    expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, GPA.ARG, 0, 0, 0)).toBe(-ERRNO.EINVAL);
    expect(h.hv.argoState(A)!.rings).toEqual([]);
    expect(h.virqs()).toEqual([]);
  });

  it('14.4 register len=32 (npage 1) → -EINVAL; len=48, npage=1 → 0', () => {
    const h = new Host();
    expect(h.register(A, { aport: 1, partner: B, len: 32 }).rc).toBe(-ERRNO.EINVAL);
    expect(h.hv.argoState(A)!.rings).toEqual([]);
    const { rc } = h.register(A, { aport: 1, partner: B, len: 48 });
    expect(rc).toBe(0);
    const st = h.ringState(A, 1, B)!;
    expect(st).toMatchObject({ len: 48, npage: 1, tx: 0, waiters: [] });
    expect(h.hv.argoState(A)!.ringCount).toBe(1);
    // the send-info record goes into the partner's table (§4.1)
    expect(h.hv.argoState(B)!.sendInfo).toEqual([{ owner: A, aport: 1 }]);
    // no VIRQ is raised by registration
    expect(h.virqs()).toEqual([]);
  });

  it('14.5 register len=100 (not a multiple of 16) → -EINVAL', () => {
    const h = new Host();
    expect(h.register(A, { aport: 1, partner: B, len: 100 }).rc).toBe(-ERRNO.EINVAL);
    expect(h.register(A, { aport: 1, partner: B, len: 104 }).rc).toBe(-ERRNO.EINVAL);
    expect(h.register(A, { aport: 1, partner: B, len: 112 }).rc).toBe(0);
  });

  it('14.6 len=4032 with npage=2 → -EINVAL; len=4032/npage=1 → 0; len=4048 needs npage=2', () => {
    const h = new Host();
    expect(h.register(A, { aport: 1, partner: B, len: 4032, gfns: h.pages(A, 2) }).rc).toBe(-ERRNO.EINVAL);
    expect(h.register(A, { aport: 1, partner: B, len: 4032, gfns: h.pages(A, 1) }).rc).toBe(0);
    expect(h.register(A, { aport: 2, partner: B, len: 4048, gfns: h.pages(A, 1) }).rc).toBe(-ERRNO.EINVAL);
    expect(h.register(A, { aport: 2, partner: B, len: 4048, gfns: h.pages(A, 3) }).rc).toBe(-ERRNO.EINVAL);
    expect(h.register(A, { aport: 2, partner: B, len: 4048, gfns: h.pages(A, 2) }).rc).toBe(0);
    expect(h.ringState(A, 1, B)!.npage).toBe(1);
    expect(h.ringState(A, 2, B)!.npage).toBe(2);
  });

  it('14.6-extra len bounds: 0x1000000 (npage 4097) and npage > 4096 → -EINVAL; largest len 0xFFFFC0 is accepted', () => {
    const h = new Host();
    // npage > 4096 is refused at step 2, before the gfn array is even looked at (NULL here).
    writeRegisterStruct(h.mem(A), GPA.ARG, { aport: 1, partner: B, len: 0x1000000 });
    expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, GPA.ARG, 0, 4097, 0)).toBe(-ERRNO.EINVAL);
    // len 0x1000000 + 64 needs 4097 pages, which no npage can match.
    writeGfns(h.mem(A), GPA.GFNS, Array.from({ length: 4096 }, () => 0x40));
    expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, GPA.ARG, GPA.GFNS, 4096, 0)).toBe(-ERRNO.EINVAL);
    writeRegisterStruct(h.mem(A), GPA.ARG, { aport: 1, partner: B, len: 0x1000010 });
    expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, GPA.ARG, GPA.GFNS, 4096, 0)).toBe(-ERRNO.EINVAL);
    // The effective maximum, 0xFFFFC0 = 4096 pages exactly; pages may repeat for this check's sake
    // (the model only requires each gfn to be RAM of the caller).
    writeRegisterStruct(h.mem(A), GPA.ARG, { aport: 1, partner: B, len: 0xffffc0 });
    expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, GPA.ARG, GPA.GFNS, 4095, 0)).toBe(-ERRNO.EINVAL);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, GPA.ARG, GPA.GFNS, 4096, 0)).toBe(0);
    expect(h.ringState(A, 1, B)!.len).toBe(0xffffc0);
  });

  it('14.7 register flags=0x2 → -EINVAL (even with a bad struct pointer)', () => {
    const h = new Host();
    const gfns = h.pages(A, 1);
    writeGfns(h.mem(A), GPA.GFNS, gfns);
    for (const bad of [0, BAD_GPA]) {
      expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, bad, GPA.GFNS, 1, 0x2)).toBe(-ERRNO.EINVAL);
      expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, bad, GPA.GFNS, 1, 0x3)).toBe(-ERRNO.EINVAL);
      expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, bad, GPA.GFNS, 1, 0x8000_0000)).toBe(-ERRNO.EINVAL);
      // the same bad pointer with legal flags is a copy failure: flags are checked first
      expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, bad, GPA.GFNS, 1, 0)).toBe(-ERRNO.EFAULT);
      expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, bad, GPA.GFNS, 1, XEN_ARGO_REGISTER_FLAG_FAIL_EXIST)).toBe(-ERRNO.EFAULT);
    }
    // with a good struct, flags 0x2 is still EINVAL
    writeRegisterStruct(h.mem(A), GPA.ARG, { aport: 1, partner: B, len: 48 });
    expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, GPA.ARG, GPA.GFNS, 1, 0x2)).toBe(-ERRNO.EINVAL);
    expect(h.hv.argoState(A)!.rings).toEqual([]);
  });

  it('14.7-extra §4.1 order: npage > 4096 (EINVAL) before gfn array access (EFAULT) before flags (EINVAL)', () => {
    const h = new Host();
    // step 2 before step 3: a NULL gfn array with npage 4097 is EINVAL
    expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, BAD_GPA, 0, 4097, 0x2)).toBe(-ERRNO.EINVAL);
    // step 3 before step 4: inaccessible gfn array with bad flags is EFAULT
    expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, GPA.ARG, 0, 1, 0x2)).toBe(-ERRNO.EFAULT);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, GPA.ARG, BAD_GPA, 1, 0x2)).toBe(-ERRNO.EFAULT);
    // a gfn array running off the end of RAM is EFAULT
    const end = h.mem(A).bytes - 8;
    expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, GPA.ARG, end, 2, 0)).toBe(-ERRNO.EFAULT);
    // step 5 before step 6: struct partly outside RAM
    writeGfns(h.mem(A), GPA.GFNS, h.pages(A, 1));
    expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, h.mem(A).bytes - 8, GPA.GFNS, 1, 0)).toBe(-ERRNO.EFAULT);
  });

  it('14.8 register pad≠0 → -EINVAL', () => {
    const h = new Host();
    expect(h.register(A, { aport: 1, partner: B, len: 48, pad: 1 }).rc).toBe(-ERRNO.EINVAL);
    expect(h.register(A, { aport: 1, partner: B, len: 48, pad: 0x8000 }).rc).toBe(-ERRNO.EINVAL);
    // step 6 precedes the partner checks: pad≠0 with a non-existent partner is still EINVAL
    expect(h.register(A, { aport: 1, partner: 0x1234, len: 48, pad: 1 }).rc).toBe(-ERRNO.EINVAL);
    expect(h.hv.argoState(A)!.rings).toEqual([]);
  });

  it('14.9 register partner=0x7FF4 with mac-permissive=0 → -EPERM', () => {
    const h = new Host();
    expect(h.register(B, { aport: 1, partner: XEN_ARGO_DOMID_ANY, len: 256 }).rc).toBe(-ERRNO.EPERM);
    expect(h.register(0, { aport: 1, partner: XEN_ARGO_DOMID_ANY, len: 256 }).rc).toBe(-ERRNO.EPERM);
    expect(h.hv.argoState(B)!.rings).toEqual([]);
    expect(h.hv.argoState(B)!.ringCount).toBe(0);
  });

  it('14.10 same with argo=1,mac-permissive=1 → 0', () => {
    const h = new Host({ argo: { enabled: true, macPermissive: true } });
    expect(h.register(B, { aport: 1, partner: XEN_ARGO_DOMID_ANY, len: 256 }).rc).toBe(0);
    expect(h.ringState(B, 1, XEN_ARGO_DOMID_ANY)).toMatchObject({ wildcard: true, len: 256 });
    // a wildcard ring leaves no send-info anywhere
    for (const d of [0, A, B, C]) expect(h.hv.argoState(d)!.sendInfo).toEqual([]);
    expect(h.virqs()).toEqual([]);
  });

  it('14.11 register partner=D where D exists without Argo state → -ECONNREFUSED', () => {
    const h = new Host();
    h.hv.killDomain(C); // dying: the id still resolves, Argo state freed (§8.2)
    expect(h.hv.argoState(C)!.hasArgo).toBe(false);
    expect(h.register(A, { aport: 1, partner: C, len: 48 }).rc).toBe(-ERRNO.ECONNREFUSED);
    expect(h.hv.argoState(A)!.rings).toEqual([]);
    // once it is gone, the partner does not exist: ESRCH (step 7c)
    h.hv.reapDomain(C);
    expect(h.register(A, { aport: 1, partner: C, len: 48 }).rc).toBe(-ERRNO.ESRCH);
  });

  it('14.11-extra partner that does not exist (incl. special ids ≥ 0x7FF0 other than ANY) → -ESRCH', () => {
    const h = new Host();
    for (const p of [0x1234, 0x7ff0, 0x7ff1, 0x7ff2, 0x7ff5, 0xffff]) {
      expect(h.register(A, { aport: 1, partner: p, len: 48 }).rc).toBe(-ERRNO.ESRCH);
    }
  });

  it('14.12 existing ring(A,1,B,L): FAIL_EXIST → -EEXIST; flags 0 and same L → 0, pending list preserved', () => {
    const h = new Host();
    const ring = h.ring(A, 1, B, 48);
    // put B on the ring's pending list: fill it, then a send that does not fit
    expect(h.send(B, A, 1, 16)).toBe(16);
    expect(h.send(B, A, 1, 5)).toBe(-ERRNO.EAGAIN);
    expect(h.waiters(A, 1, B)).toEqual([{ domid: B, length: 5 }]);
    h.clearVirqs();

    expect(h.register(A, { aport: 1, partner: B, len: 48, gfns: ring.gfns, flags: XEN_ARGO_REGISTER_FLAG_FAIL_EXIST }).rc).toBe(
      -ERRNO.EEXIST,
    );
    expect(h.waiters(A, 1, B)).toEqual([{ domid: B, length: 5 }]);

    // re-register with flags 0, same len, NEW pages holding a copy of the ring (resume after hibernate, §8.5)
    const moved = h.pages(A, 1);
    h.mem(A).write(moved[0] * 4096, h.mem(A).read(ring.gfns[0] * 4096, 4096));
    expect(h.register(A, { aport: 1, partner: B, len: 48, gfns: moved }).rc).toBe(0);
    const st = h.ringState(A, 1, B)!;
    expect(st.gfns).toEqual(moved);
    expect(st.waiters).toEqual([{ domid: B, length: 5 }]);
    expect(st.tx).toBe(32); // valid tx_ptr in the new header is kept
    expect(h.virqs()).toEqual([]);

    // the kept waiter still fires when A (owner) frees space and notifies
    const r2 = new RingView(h.mem(A), moved, 48);
    r2.consumeAll();
    expect(h.notify(A, null).rc).toBe(0);
    expect(h.virqs()).toEqual([B]);
    expect(h.waiters(A, 1, B)).toEqual([]);
  });

  it('14.13 existing ring(A,1,B,4032): re-register with len 1008 (flags 0) → -EEXIST', () => {
    const h = new Host();
    const ring = h.ring(A, 1, B, 4032);
    expect(h.register(A, { aport: 1, partner: B, len: 1008 }).rc).toBe(-ERRNO.EEXIST);
    expect(h.register(A, { aport: 1, partner: B, len: 1008, flags: XEN_ARGO_REGISTER_FLAG_FAIL_EXIST }).rc).toBe(-ERRNO.EEXIST);
    expect(h.ringState(A, 1, B)).toMatchObject({ len: 4032, gfns: ring.gfns });
    // the ring still works
    expect(h.send(B, A, 1, 100)).toBe(100);
    expect(ring.tx).toBe(128);
  });

  it('14.14 A registers 128 distinct rings → all 0; the 129th → -ENOSPC; after one unregister, a new one → 0', () => {
    const h = new Host();
    for (let p = 1; p <= 128; p++) expect(h.register(A, { aport: p, partner: B, len: 48 }).rc).toBe(0);
    expect(h.hv.argoState(A)!.ringCount).toBe(128);
    expect(h.register(A, { aport: 129, partner: B, len: 48 }).rc).toBe(-ERRNO.ENOSPC);
    expect(h.register(A, { aport: 129, partner: C, len: 48 }).rc).toBe(-ERRNO.ENOSPC);
    expect(h.unregister(A, { aport: 64, partner: B })).toBe(0);
    expect(h.hv.argoState(A)!.ringCount).toBe(127);
    expect(h.register(A, { aport: 129, partner: B, len: 48 }).rc).toBe(0);
    expect(h.hv.argoState(A)!.ringCount).toBe(128);
    expect(h.register(A, { aport: 130, partner: B, len: 48 }).rc).toBe(-ERRNO.ENOSPC);
    // the per-domain limit does not affect other domains
    expect(h.register(B, { aport: 1, partner: A, len: 48 }).rc).toBe(0);
  });

  it('14.14-extra §4.1 order: ENOSPC (step 11) is checked before FAIL_EXIST (step 12) and len mismatch (step 13)', () => {
    const h = new Host();
    for (let p = 1; p <= 128; p++) expect(h.register(A, { aport: p, partner: B, len: 48 }).rc).toBe(0);
    expect(h.register(A, { aport: 1, partner: B, len: 48, flags: XEN_ARGO_REGISTER_FLAG_FAIL_EXIST }).rc).toBe(-ERRNO.ENOSPC);
    expect(h.register(A, { aport: 1, partner: B, len: 96 }).rc).toBe(-ERRNO.ENOSPC);
  });

  it('§4.1 step 14: a gfn that is not RAM of the caller → -EINVAL; log-dirty → -EAGAIN; nothing registered', () => {
    const h = new Host();
    const pages = h.mem(A).bytes / 4096;
    expect(h.register(A, { aport: 1, partner: B, len: 4048, gfns: [0x40, pages] }).rc).toBe(-ERRNO.EINVAL);
    expect(h.register(A, { aport: 1, partner: B, len: 48, gfns: [2 ** 32 + 0x40] }).rc).toBe(-ERRNO.EINVAL);
    expect(h.hv.argoState(A)!.rings).toEqual([]);
    expect(h.hv.argoState(A)!.ringCount).toBe(0);
    expect(h.hv.argoState(B)!.sendInfo).toEqual([]);
    h.hv.setLogDirty(A, true);
    expect(h.register(A, { aport: 1, partner: B, len: 48 }).rc).toBe(-ERRNO.EAGAIN);
    expect(h.hv.argoState(A)!.rings).toEqual([]);
    h.hv.setLogDirty(A, false);
    expect(h.register(A, { aport: 1, partner: B, len: 48 }).rc).toBe(0);
  });

  it('§4.1 tx_ptr init: a valid (aligned, < len) tx_ptr in the header is kept; rx_ptr is never written', () => {
    const h = new Host();
    const gfns = h.pages(A, 1);
    const v = h.mem(A).view;
    v.setUint32(gfns[0] * 4096 + 0, 0, true); // rx
    v.setUint32(gfns[0] * 4096 + 4, 32, true); // tx
    const { rc, ring } = h.register(A, { aport: 1, partner: B, len: 256, gfns });
    expect(rc).toBe(0);
    expect(ring.tx).toBe(32);
    expect(ring.rx).toBe(0);
    expect(h.ringState(A, 1, B)!.tx).toBe(32);
    // Xen believes there are 32 unread bytes (Q6): not EMPTY, payload space 256 − 32 − 32
    const n = h.notify(B, [{ domid: A, aport: 1, spaceRequired: 0 }]);
    expect(n.rc).toBe(0);
    expect(n.out[0].flags).toBe(0x01 | 0x08);
    // and the next message goes at data offset 32
    expect(h.send(B, A, 1, 4, 7)).toBe(4);
    expect(ring.header(32)).toMatchObject({ len: 20, sourceDomid: B, type: 7 });
    expect(ring.tx).toBe(64);
  });

  it('§4.1 tx_ptr init: invalid tx_ptr → ROUNDUP16(rx_ptr) (or 0 if ≥ len) is written back; rx untouched', () => {
    const h = new Host();
    const cases: Array<{ rx: number; tx: number; want: number }> = [
      { rx: 20, tx: 40, want: 32 }, // unaligned tx
      { rx: 16, tx: 256, want: 16 }, // tx == len
      { rx: 250, tx: 0xffff_fff0, want: 0 }, // ROUNDUP16(250) = 256 ≥ len → 0
      { rx: 0x1000, tx: 7, want: 0 }, // rx beyond len
      { rx: 241, tx: 3, want: 0 }, // ROUNDUP16(241) = 256 == len → 0
    ];
    cases.forEach(({ rx, tx, want }, i) => {
      const gfns = h.pages(A, 1);
      const v = h.mem(A).view;
      v.setUint32(gfns[0] * 4096, rx, true);
      v.setUint32(gfns[0] * 4096 + 4, tx, true);
      const { rc, ring } = h.register(A, { aport: 10 + i, partner: B, len: 256, gfns });
      expect(rc).toBe(0);
      expect(ring.tx).toBe(want);
      expect(ring.rx).toBe(rx);
      expect(h.ringState(A, 10 + i, B)!.tx).toBe(want);
    });
  });

  it('§4.1 tx_ptr init on re-registration: the tx_ptr in the NEW pages decides (invalid → from rx)', () => {
    const h = new Host();
    const ring = h.ring(A, 1, B, 256);
    expect(h.send(B, A, 1, 40)).toBe(40); // tx 64
    expect(h.ringState(A, 1, B)!.tx).toBe(64);
    // new pages whose header says rx = 48, tx = 50 (unaligned) → tx := 48
    const moved = h.pages(A, 1);
    h.mem(A).view.setUint32(moved[0] * 4096, 48, true);
    h.mem(A).view.setUint32(moved[0] * 4096 + 4, 50, true);
    expect(h.register(A, { aport: 1, partner: B, len: 256, gfns: moved }).rc).toBe(0);
    expect(h.ringState(A, 1, B)!.tx).toBe(48);
    expect(h.mem(A).view.getUint32(moved[0] * 4096 + 4, true)).toBe(48);
    // the old pages are no longer written
    const before = h.mem(A).read(ring.gfns[0] * 4096, 4096);
    expect(h.send(B, A, 1, 8)).toBe(8);
    expect(h.mem(A).read(ring.gfns[0] * 4096, 4096)).toEqual(before);
  });

  it('§4.1 self ring and several rings per aport: (A,5,A), (A,5,B), (A,5,C) are distinct ids', () => {
    const h = new Host();
    expect(h.register(A, { aport: 5, partner: A, len: 48 }).rc).toBe(0);
    expect(h.register(A, { aport: 5, partner: B, len: 48 }).rc).toBe(0);
    expect(h.register(A, { aport: 5, partner: C, len: 96 }).rc).toBe(0);
    expect(h.hv.argoState(A)!.ringCount).toBe(3);
    expect(h.hv.argoState(A)!.sendInfo).toEqual([{ owner: A, aport: 5 }]);
    expect(h.hv.argoState(B)!.sendInfo).toEqual([{ owner: A, aport: 5 }]);
    expect(h.hv.argoState(C)!.sendInfo).toEqual([{ owner: A, aport: 5 }]);
  });
});
