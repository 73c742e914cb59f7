import { describe, expect, it } from 'vitest';
import {
  ArgoGuest,
  createHypervisor,
  ERRNO,
  IOV,
  platformOf,
  REGISTER_RING,
  SEND_ADDR,
  VIRQ_ARGO,
  XEN_ARGO_OP_register_ring,
  XEN_ARGO_OP_sendv,
  XEN_ARGO_RING_EXISTS,
} from '../../src/index.js';

// The examples of docs/api.md, run as written.
describe('docs/api.md examples', () => {
  it('the raw XTF-style self-ring send', () => {
    const hv = createHypervisor({ argo: { enabled: true, macPermissive: false }, xsm: { mode: 'dummy' } });
    hv.createDomain({ domid: 0 });
    const a = hv.createDomain({ domid: 1, memoryBytes: 4 << 20, label: 'guest_t', vcpus: 1 });
    const v = a.memory.view;
    a.memory.zero(16 * 4096, 4096);
    v.setUint32(0x1000 + REGISTER_RING.aport, 1, true);
    v.setUint16(0x1000 + REGISTER_RING.partner_id, 1, true);
    v.setUint32(0x1000 + REGISTER_RING.len, 4032, true);
    v.setBigUint64(0x1100, 16n, true);
    expect(hv.argoOp(1, XEN_ARGO_OP_register_ring, 0x1000, 0x1100, 1, 0)).toBe(0);
    expect(hv.bindVirq(1, VIRQ_ARGO, 0)).toBe(0);
    v.setUint32(0x1200 + SEND_ADDR.src, 1, true);
    v.setUint16(0x1200 + SEND_ADDR.src + 4, 1, true);
    v.setUint32(0x1200 + SEND_ADDR.dst, 1, true);
    v.setUint16(0x1200 + SEND_ADDR.dst + 4, 1, true);
    v.setUint32(0x1300 + IOV.iov_hnd, 0x2000, true);
    v.setUint32(0x1300 + IOV.iov_len, 23, true);
    expect(hv.argoOp(1, XEN_ARGO_OP_sendv, 0x1200, 0x1300, 1, 0x12345678)).toBe(23);
    expect(hv.virqPending(1, VIRQ_ARGO)).toBe(true);
    expect(v.getUint32(16 * 4096 + 4, true)).toBe(48);
  });

  it('the guest library tour', async () => {
    const hv = createHypervisor({ argo: { enabled: true } });
    for (const domid of [0, 1, 2, 3]) hv.createDomain({ domid });
    const web = new ArgoGuest(platformOf(hv, 1));
    const db = new ArgoGuest(platformOf(hv, 2));
    const ring = db.registerRing({ aport: 5432, partner: 1, len: 8192 });
    expect(await web.send({ domid: 2, aport: 5432 }, new TextEncoder().encode('SELECT 1'), { messageType: 1, srcPort: 80 })).toBe(8);
    const [m] = db.consume(ring);
    expect(m.source).toEqual({ domid: 1, aport: 80 });
    expect(new TextDecoder().decode(m.payload)).toBe('SELECT 1');
    const info = web.query({ domid: 2, aport: 5432 }, 4096);
    expect(info.exists && info.sufficient && (info.flags & XEN_ARGO_RING_EXISTS) !== 0).toBe(true);
    expect(info.maxMessageSize).toBe(8192 - 32);
    try {
      web.sendNow({ domid: 3, aport: 1 }, new Uint8Array(8));
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('ECONNREFUSED');
      expect((e as { errno: number }).errno).toBe(ERRNO.ECONNREFUSED);
    }
  });
});
