/**
 * argo.md §7 (access control: FLASK, SILO, boot options): conformance cases 14.34–14.37, plus the
 * position of the XSM hooks in the validation order of §3, §4.1, §4.3 and §4.4.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FLASK_POLICY,
  ERRNO,
  XEN_ARGO_DOMID_ANY,
  XEN_ARGO_OP_notify,
  XEN_ARGO_OP_register_ring,
  XEN_ARGO_OP_sendv,
  XEN_ARGO_OP_unregister_ring,
  XEN_ARGO_RING_EMPTY,
  XEN_ARGO_RING_EXISTS,
  XEN_ARGO_RING_SUFFICIENT,
} from '../../src/index.js';
import { A, B, C, GPA, Host, type HostOptions, writeGfns, writeRegisterStruct } from './harness.js';

const LABELS = { 0: 'dom0_t', [A]: 'domA_t', [B]: 'domB_t', [C]: 'domC_t' };
const TYPES = `attribute domain_type;
type dom0_t, domain_type;
type domA_t, domain_type;
type domB_t, domain_type;
type domC_t, domain_type;
`;

function flask(policy: string, extra: Partial<HostOptions> = {}): Host {
  return new Host({ xsm: { mode: 'flask', policy: TYPES + policy }, labels: LABELS, ...extra });
}

describe('§7.2 FLASK', () => {
  it('14.34 FLASK deny argo:send A→B: A sendv → -EACCES; A notify with an entry about B → -EACCES, later entries not processed', () => {
    const h = flask(`
allow domain_type xen_t:argo { enable register_any_source };
allow domain_type domain_type:argo { register_single_source };
allow { dom0_t domB_t domC_t } domain_type:argo { send };
allow domA_t { dom0_t domA_t domC_t }:argo { send };
`);
    const bRing = h.ring(B, 1, A, 256);
    const cRing = h.ring(C, 1, A, 256);
    expect(h.send(A, B, 1, 8)).toBe(-ERRNO.EACCES);
    expect(h.send(A, B, 99, 8)).toBe(-ERRNO.EACCES); // before the ring lookup (step 9 < step 12)
    expect(bRing.tx).toBe(0);
    expect(h.virqs()).toEqual([]);
    // the reverse direction and A→C are allowed
    h.ring(A, 1, B, 256);
    expect(h.send(B, A, 1, 8)).toBe(8);
    expect(h.send(A, C, 1, 200)).toBe(200); // C's ring: tx 224, payload space 0
    expect(cRing.tx).toBe(224);
    h.clearVirqs();

    const sentinel = { flags: 0xaaaa, maxMessageSize: 0x5555 };
    const r = h.notify(A, [
      { domid: C, aport: 1, spaceRequired: 0, ...sentinel },
      { domid: B, aport: 1, spaceRequired: 0, ...sentinel },
      { domid: C, aport: 1, spaceRequired: 10, ...sentinel },
    ]);
    expect(r.rc).toBe(-ERRNO.EACCES);
    // the entry before the denied one was written back
    expect(r.out[0]).toMatchObject({ flags: XEN_ARGO_RING_EXISTS | XEN_ARGO_RING_SUFFICIENT, maxMessageSize: 224 });
    // nothing was written for the denied entry or after it, and the later entry queued nothing
    expect(r.out[1]).toMatchObject(sentinel);
    expect(r.out[2]).toMatchObject(sentinel);
    expect(h.waiters(C, 1, A)).toEqual([]);
    // without the denied entry, the third one is processed (queues a waiter)
    const r2 = h.notify(A, [{ domid: C, aport: 1, spaceRequired: 10 }]);
    expect(r2.rc).toBe(0);
    expect(r2.out[0].flags).toBe(XEN_ARGO_RING_EXISTS);
    expect(h.waiters(C, 1, A)).toEqual([{ domid: A, length: 10 }]);
  });

  it('14.34-extra notify: an entry about a denied owner without Argo state is described (flags 0) before any XSM check', () => {
    const h = flask(`
allow domain_type xen_t:argo { enable register_any_source };
allow domain_type domain_type:argo { register_single_source };
allow { dom0_t domB_t domC_t } domain_type:argo { send };
allow domA_t { dom0_t domA_t domC_t }:argo { send };
`);
    h.hv.killDomain(B);
    const r = h.notify(A, [{ domid: B, aport: 1, maxMessageSize: 77, flags: 9 }]);
    expect(r.rc).toBe(0);
    expect(r.out[0]).toMatchObject({ flags: 0, maxMessageSize: 77 });
    // sendv: XSM (step 9) precedes "destination has no Argo state" (step 11)
    expect(h.send(A, B, 1, 8)).toBe(-ERRNO.EACCES);
    // but the destination must exist first (step 8)
    h.hv.reapDomain(B);
    expect(h.send(A, B, 1, 8)).toBe(-ERRNO.ESRCH);
  });

  it('14.35 FLASK deny argo:enable for A: A has no Argo state; every op from A → -EACCES; others sending to A → -ECONNREFUSED', () => {
    const h = flask(`
allow { dom0_t domB_t domC_t } xen_t:argo { enable register_any_source };
allow domA_t xen_t:argo { register_any_source };
allow domain_type domain_type:argo { send register_single_source };
`);
    expect(h.hv.argoState(A)!.hasArgo).toBe(false);
    expect(h.hv.hasArgo(A)).toBe(false);
    expect(h.hv.argoState(B)!.hasArgo).toBe(true);

    writeRegisterStruct(h.mem(A), GPA.ARG, { aport: 1, partner: B, len: 48 });
    writeGfns(h.mem(A), GPA.GFNS, h.pages(A, 1));
    expect(h.hv.argoOp(A, XEN_ARGO_OP_register_ring, GPA.ARG, GPA.GFNS, 1, 0)).toBe(-ERRNO.EACCES);
    expect(h.unregister(A, { aport: 1, partner: B })).toBe(-ERRNO.EACCES);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_unregister_ring, GPA.ARG, GPA.GFNS, 0, 0)).toBe(-ERRNO.EACCES);
    expect(h.send(A, B, 1, 8)).toBe(-ERRNO.EACCES);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_sendv, 0, 0, 0, 0)).toBe(-ERRNO.EACCES);
    expect(h.notify(A, null).rc).toBe(-ERRNO.EACCES);
    expect(h.notify(A, [{ domid: B, aport: 1 }]).rc).toBe(-ERRNO.EACCES);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_notify, 0, GPA.GFNS, 0, 0)).toBe(-ERRNO.EACCES); // before the arg-shape check
    expect(h.hv.argoOp(A, 5, 0, 0, 0, 0)).toBe(-ERRNO.EACCES); // before dispatch
    // only the 32-bit argument check precedes the enable check
    expect(h.hv.argoOp(A, XEN_ARGO_OP_notify, 0, 0, 2 ** 32, 0)).toBe(-ERRNO.EINVAL);

    expect(h.send(B, A, 1, 8)).toBe(-ERRNO.ECONNREFUSED);
    expect(h.send(C, A, 1, 8)).toBe(-ERRNO.ECONNREFUSED);
    // registering a ring with A as partner: A exists but has no Argo state
    expect(h.register(B, { aport: 2, partner: A, len: 48 }).rc).toBe(-ERRNO.ECONNREFUSED);
    // notify entries about A: flags 0
    const r = h.notify(B, [{ domid: A, aport: 1, maxMessageSize: 3 }]);
    expect(r.rc).toBe(0);
    expect(r.out[0]).toMatchObject({ flags: 0, maxMessageSize: 3 });
    expect(h.virqs()).toEqual([]);
  });

  it('14.36 FLASK deny register_single_source A→B → -EACCES; deny register_any_source (mac-permissive=1) → -EACCES', () => {
    const h = flask(
      `
allow domain_type xen_t:argo { enable };
allow { dom0_t domB_t domC_t } xen_t:argo { register_any_source };
allow domain_type domain_type:argo { send };
allow { dom0_t domB_t domC_t } domain_type:argo { register_single_source };
allow domA_t { dom0_t domA_t domC_t }:argo { register_single_source };
`,
      { argo: { enabled: true, macPermissive: true } },
    );
    expect(h.register(A, { aport: 1, partner: B, len: 48 }).rc).toBe(-ERRNO.EACCES);
    expect(h.register(A, { aport: 2, partner: XEN_ARGO_DOMID_ANY, len: 48 }).rc).toBe(-ERRNO.EACCES);
    expect(h.hv.argoState(A)!.rings).toEqual([]);
    expect(h.hv.argoState(A)!.ringCount).toBe(0);
    expect(h.hv.argoState(B)!.sendInfo).toEqual([]);
    // allowed combinations
    expect(h.register(A, { aport: 1, partner: C, len: 48 }).rc).toBe(0);
    expect(h.register(A, { aport: 3, partner: A, len: 48 }).rc).toBe(0);
    expect(h.register(B, { aport: 1, partner: A, len: 48 }).rc).toBe(0); // B → A is a different pair
    expect(h.register(B, { aport: 2, partner: XEN_ARGO_DOMID_ANY, len: 48 }).rc).toBe(0);
    // step order: len/pad (6) before XSM (7d); partner existence (7c) before XSM (7d)
    expect(h.register(A, { aport: 1, partner: B, len: 40 }).rc).toBe(-ERRNO.EINVAL);
    expect(h.register(A, { aport: 1, partner: 0x1234, len: 48 }).rc).toBe(-ERRNO.ESRCH);
  });

  it('14.36-extra without mac-permissive a wildcard registration is -EPERM before XSM register_any_source is asked', () => {
    const h = flask(`
allow domain_type xen_t:argo { enable };
allow domain_type domain_type:argo { send register_single_source };
`);
    expect(h.register(A, { aport: 2, partner: XEN_ARGO_DOMID_ANY, len: 48 }).rc).toBe(-ERRNO.EPERM);
    const on = flask(
      `
allow domain_type xen_t:argo { enable };
allow domain_type domain_type:argo { send register_single_source };
`,
      { argo: { enabled: true, macPermissive: true } },
    );
    expect(on.register(A, { aport: 2, partner: XEN_ARGO_DOMID_ANY, len: 48 }).rc).toBe(-ERRNO.EACCES);
  });

  it('§7.2 the default FLASK policy (guest_features.te) allows Argo between any domain types', () => {
    const h = new Host({ xsm: { mode: 'flask', policy: DEFAULT_FLASK_POLICY }, argo: { enabled: true, macPermissive: true } });
    for (const d of [0, A, B, C]) expect(h.hv.hasArgo(d)).toBe(true);
    const ring = h.ring(B, 1, A, 256);
    expect(h.ring(C, 1, XEN_ARGO_DOMID_ANY, 256)).toBeDefined();
    expect(h.send(A, B, 1, 8)).toBe(8);
    expect(h.send(0, C, 1, 8)).toBe(8);
    expect(ring.tx).toBe(32);
    const r = h.notify(A, [{ domid: B, aport: 1 }]);
    expect(r.out[0].flags).toBe(XEN_ARGO_RING_EXISTS | XEN_ARGO_RING_SUFFICIENT);
  });
});

describe('§7.2 SILO', () => {
  it('14.37 SILO: A registers partner B → -EPERM; partner 0 → 0; A sends to B → -EPERM; to dom0 or to itself → allowed', () => {
    const h = new Host({ xsm: { mode: 'silo' } });
    expect(h.register(A, { aport: 1, partner: B, len: 48 }).rc).toBe(-ERRNO.EPERM);
    expect(h.register(A, { aport: 1, partner: 0, len: 48 }).rc).toBe(0);
    expect(h.send(A, B, 1, 8)).toBe(-ERRNO.EPERM);
    expect(h.send(B, A, 1, 8)).toBe(-ERRNO.EPERM);

    const dom0Ring = h.ring(0, 1, A, 256);
    expect(h.send(A, 0, 1, 8)).toBe(8);
    expect(dom0Ring.header(0)).toMatchObject({ len: 24, sourceDomid: A });
    expect(h.virqs()).toEqual([0]);

    const self = h.ring(A, 2, A, 256);
    expect(h.send(A, A, 2, 9)).toBe(9);
    expect(self.header(0)).toMatchObject({ len: 25, sourceDomid: A });
    expect(h.virqs()).toEqual([0, A]);

    // the control domain may talk to anyone, and anyone to it
    const bRing = h.ring(B, 1, 0, 256);
    expect(h.send(0, B, 1, 4)).toBe(4);
    expect(bRing.tx).toBe(32);
    const aFromDom0 = h.register(A, { aport: 1, partner: 0, len: 48, flags: 1 });
    expect(aFromDom0.rc).toBe(-ERRNO.EEXIST); // already registered above
    expect(h.send(0, A, 1, 4)).toBe(4);
  });

  it('14.37-extra SILO applies argo_send to notify entries too (-EPERM stops processing)', () => {
    const h = new Host({ xsm: { mode: 'silo' } });
    h.ring(0, 1, A, 256);
    const r = h.notify(A, [
      { domid: 0, aport: 1, flags: 0x1111, maxMessageSize: 1 },
      { domid: B, aport: 1, flags: 0x2222, maxMessageSize: 2 },
      { domid: 0, aport: 1, flags: 0x3333, maxMessageSize: 3 },
    ]);
    expect(r.rc).toBe(-ERRNO.EPERM);
    expect(r.out.map((e) => [e.flags, e.maxMessageSize])).toEqual([
      [XEN_ARGO_RING_EXISTS | XEN_ARGO_RING_EMPTY | XEN_ARGO_RING_SUFFICIENT, 224],
      [0x2222, 2],
      [0x3333, 3],
    ]);
  });
});
