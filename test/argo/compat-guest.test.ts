import { describe, expect, it } from 'vitest';
import {
  ADDR,
  ArgoGuest,
  COMPAT_IOV,
  createHypervisor,
  ERRNO,
  platformOf,
  SEND_ADDR,
  XEN_ARGO_OP_sendv,
} from '../../src/index.js';

// argo.md §2/§3: a 32-bit ("compat") guest passes 12-byte iovs with 4-byte handles; Xen translates
// sendv only, and every other structure has the same layout for both widths.
describe('compat (32-bit) guests', () => {
  function setup() {
    const hv = createHypervisor({ argo: { enabled: true } });
    hv.createDomain({ domid: 1, compat: true });
    hv.createDomain({ domid: 2 });
    const ring = new ArgoGuest(platformOf(hv, 2)).registerRing({ aport: 7, partner: 1, len: 4032 });
    return { hv, ring, a: hv.domain(1)! };
  }

  it('sendv reads 12-byte iovs from a compat guest', () => {
    const { hv, ring, a } = setup();
    const v = a.memory.view;
    v.setUint32(0x1000 + SEND_ADDR.dst + ADDR.aport, 7, true);
    v.setUint16(0x1000 + SEND_ADDR.dst + ADDR.domain_id, 2, true);
    v.setUint16(0x1000 + SEND_ADDR.src + ADDR.domain_id, 1, true);
    a.memory.write(0x3000, new Uint8Array([1, 2, 3]));
    a.memory.write(0x3100, new Uint8Array([4, 5]));
    for (const [i, [hnd, len]] of [[0x3000, 3], [0x3100, 2]].entries()) {
      v.setUint32(0x2000 + i * COMPAT_IOV.size + COMPAT_IOV.iov_hnd, hnd, true);
      v.setUint32(0x2000 + i * COMPAT_IOV.size + COMPAT_IOV.iov_len, len, true);
    }
    expect(hv.argoOp(1, XEN_ARGO_OP_sendv, 0x1000, 0x2000, 2, 0)).toBe(5);
    expect([...ring.recv()!.payload]).toEqual([1, 2, 3, 4, 5]);
    // the pad word of a compat iov is still checked
    v.setUint32(0x2000 + COMPAT_IOV.pad, 1, true);
    expect(hv.argoOp(1, XEN_ARGO_OP_sendv, 0x1000, 0x2000, 2, 0)).toBe(-ERRNO.EINVAL);
  });

  it('the guest library lays out compat iovs for a compat domain', () => {
    const { hv, ring } = setup();
    const guest = new ArgoGuest(platformOf(hv, 1));
    expect(guest.sendNow({ domid: 2, aport: 7 }, new Uint8Array([9, 8, 7]))).toBe(3);
    expect([...ring.recv()!.payload]).toEqual([9, 8, 7]);
  });
});
