/**
 * argo.md §4.3 (sendv), §5 (ring memory and insert) and §6.1–§6.2 (matching, VIRQ): conformance
 * cases 14.17–14.28, 14.38, 14.41, plus the validation-order consequences listed under §4.3.
 */
import { describe, expect, it } from 'vitest';
import {
  ARGO_DEFAULT_RING_LEN,
  ERRNO,
  MAX_ARGO_MESSAGE_SIZE,
  VIRQ_ARGO,
  XEN_ARGO_DOMID_ANY,
  XEN_ARGO_OP_sendv,
} from '../../src/index.js';
import { A, B, BAD_GPA, C, GPA, Host, pattern } from './harness.js';

const TYPE = 0x12345678;

describe('§4.3 sendv', () => {
  it('14.17 self ring(A,1,A,130992): A sends 23 B type 0x12345678 from (A,1) → 23; rx 0, tx 48; header and payload exact; only A gets VIRQ', () => {
    const h = new Host();
    expect(ARGO_DEFAULT_RING_LEN).toBe(130992);
    const { rc, ring } = h.register(A, { aport: 1, partner: A, len: 130992 });
    expect(rc).toBe(0);
    expect(ring.gfns.length).toBe(32);
    const payload = pattern(23, 11);
    const n = h.sendv(A, { src: { domid: A, aport: 1 }, dst: { domid: A, aport: 1 }, iovs: [payload], type: TYPE });
    expect(n).toBe(23);
    expect(ring.rx).toBe(0);
    expect(ring.tx).toBe(48);
    expect(h.ringState(A, 1, A)!.tx).toBe(48);
    expect(ring.header(0)).toEqual({ len: 39, sourceAport: 1, sourceDomid: A, sourcePad: 0, type: TYPE });
    // raw little-endian bytes of the header, as the ABI lays them out
    expect(Array.from(ring.data(0, 16))).toEqual([39, 0, 0, 0, 1, 0, 0, 0, A, 0, 0, 0, 0x78, 0x56, 0x34, 0x12]);
    expect(ring.data(16, 23)).toEqual(payload);
    expect(h.virqs()).toEqual([A]);
  });

  it('14.18 A sends with src.domain_id=B → -EPERM', () => {
    const h = new Host();
    const ring = h.ring(B, 1, A, 256);
    const rc = h.sendv(A, { src: { domid: B, aport: 1 }, dst: { domid: B, aport: 1 }, iovs: [pattern(8)] });
    expect(rc).toBe(-ERRNO.EPERM);
    expect(h.sendv(A, { src: { domid: 0, aport: 1 }, dst: { domid: B, aport: 1 }, iovs: [pattern(8)] })).toBe(-ERRNO.EPERM);
    // step 7 precedes step 8: a spoofed source to a missing destination is still EPERM
    expect(h.sendv(A, { src: { domid: C, aport: 1 }, dst: { domid: 0x1234, aport: 1 }, iovs: [] })).toBe(-ERRNO.EPERM);
    expect(ring.tx).toBe(0);
    expect(h.virqs()).toEqual([]);
  });

  it('14.18-extra src.domain_id = 0x7FF4 (ANY) is replaced by the caller; the source aport is not validated', () => {
    const h = new Host();
    const ring = h.ring(B, 1, A, 256);
    const rc = h.sendv(A, {
      src: { domid: XEN_ARGO_DOMID_ANY, aport: 0xdeadbeef },
      dst: { domid: B, aport: 1 },
      iovs: [pattern(3)],
      type: 9,
    });
    expect(rc).toBe(3);
    expect(ring.header(0)).toEqual({ len: 19, sourceAport: 0xdeadbeef, sourceDomid: A, sourcePad: 0, type: 9 });
  });

  it('14.19 src.pad=1 or dst.pad=1 → -EINVAL', () => {
    const h = new Host();
    const ring = h.ring(B, 1, A, 256);
    expect(h.sendv(A, { src: { domid: A, aport: 1, pad: 1 }, dst: { domid: B, aport: 1 }, iovs: [pattern(8)] })).toBe(-ERRNO.EINVAL);
    expect(h.sendv(A, { src: { domid: A, aport: 1 }, dst: { domid: B, aport: 1, pad: 1 }, iovs: [pattern(8)] })).toBe(-ERRNO.EINVAL);
    // step 5 precedes step 7 (EPERM) and step 8 (ESRCH)
    expect(h.sendv(A, { src: { domid: B, aport: 1, pad: 1 }, dst: { domid: 0x1234, aport: 1 }, iovs: [] })).toBe(-ERRNO.EINVAL);
    expect(ring.tx).toBe(0);
    expect(h.virqs()).toEqual([]);
  });

  it('14.20 niov=9 → -EINVAL; message_type=2^32 → -EINVAL', () => {
    const h = new Host();
    const ring = h.ring(B, 1, A, 256);
    const nine = Array.from({ length: 9 }, () => pattern(1));
    expect(h.sendv(A, { src: { domid: A, aport: 1 }, dst: { domid: B, aport: 1 }, iovs: nine })).toBe(-ERRNO.EINVAL);
    expect(h.sendv(A, { src: { domid: A, aport: 1 }, dst: { domid: B, aport: 1 }, iovs: [pattern(4)], type: 2 ** 32 })).toBe(-ERRNO.EINVAL);
    expect(ring.tx).toBe(0);
    // 8 iovs and message_type 0xFFFFFFFF are fine
    const eight = Array.from({ length: 8 }, (_, i) => pattern(1, i));
    expect(h.sendv(A, { src: { domid: A, aport: 1 }, dst: { domid: B, aport: 1 }, iovs: eight, type: 0xffff_ffff })).toBe(8);
    expect(ring.header(0)).toMatchObject({ len: 24, type: 0xffff_ffff });
    expect(Array.from(ring.data(16, 8))).toEqual(eight.map((p) => p[0]));
  });

  it('14.20-extra §4.3 order: send_addr copy (EFAULT) before niov > 8 (EINVAL) before iov array copy (EFAULT) before pads', () => {
    const h = new Host();
    h.ring(B, 1, A, 256);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_sendv, 0, GPA.IOVS, 9, 0)).toBe(-ERRNO.EFAULT);
    expect(h.hv.argoOp(A, XEN_ARGO_OP_sendv, BAD_GPA, GPA.IOVS, 9, 0)).toBe(-ERRNO.EFAULT);
    expect(h.sendv(A, { src: { domid: A, aport: 1, pad: 1 }, dst: { domid: B, aport: 1 }, niov: 9, arg2: 0 })).toBe(-ERRNO.EINVAL);
    expect(h.sendv(A, { src: { domid: A, aport: 1, pad: 1 }, dst: { domid: B, aport: 1 }, niov: 1, arg2: 0 })).toBe(-ERRNO.EFAULT);
    expect(h.sendv(A, { src: { domid: A, aport: 1, pad: 1 }, dst: { domid: B, aport: 1 }, niov: 2, arg2: h.mem(A).bytes - 16 })).toBe(
      -ERRNO.EFAULT,
    );
    // niov 0 with a NULL iov array is fine
    expect(h.sendv(A, { src: { domid: A, aport: 1 }, dst: { domid: B, aport: 1 }, niov: 0, arg2: 0 })).toBe(0);
  });

  it('14.21 dst domain 0x1234 (absent) → -ESRCH; dst exists without Argo state → -ECONNREFUSED', () => {
    const h = new Host();
    expect(h.send(A, 0x1234, 1, 8)).toBe(-ERRNO.ESRCH);
    for (const special of [XEN_ARGO_DOMID_ANY, 0x7ff0, 0x7ff5, 0xffff]) expect(h.send(A, special, 1, 8)).toBe(-ERRNO.ESRCH);
    h.ring(C, 1, A, 256);
    h.hv.killDomain(C); // dying: resolves, no Argo state
    expect(h.send(A, C, 1, 8)).toBe(-ERRNO.ECONNREFUSED);
    h.hv.reapDomain(C);
    expect(h.send(A, C, 1, 8)).toBe(-ERRNO.ESRCH);
    expect(h.virqs([0, A, B])).toEqual([]);
  });

  it('14.22 dst exists, no ring at port → -ECONNREFUSED', () => {
    const h = new Host();
    h.ring(B, 1, A, 256);
    expect(h.send(A, B, 2, 8)).toBe(-ERRNO.ECONNREFUSED);
    expect(h.send(A, 0, 1, 8)).toBe(-ERRNO.ECONNREFUSED);
    expect(h.virqs()).toEqual([]);
  });

  it('14.23 ring(B,7,A,L) only: C sends to (B,7) → -ECONNREFUSED; A sends → delivered', () => {
    const h = new Host();
    const ring = h.ring(B, 7, A, 256);
    expect(h.send(C, B, 7, 8)).toBe(-ERRNO.ECONNREFUSED);
    expect(h.send(0, B, 7, 8)).toBe(-ERRNO.ECONNREFUSED); // not even the control domain
    expect(ring.tx).toBe(0);
    expect(h.virqs()).toEqual([]);
    expect(h.send(A, B, 7, 8, 0, 99)).toBe(8);
    expect(ring.header(0)).toMatchObject({ len: 24, sourceDomid: A, sourceAport: 99 });
    expect(ring.data(16, 8)).toEqual(pattern(8));
    expect(h.virqs()).toEqual([B]);
  });

  it('14.23-extra §6.1 most specific match wins: (B,7,A) over (B,7,ANY); others use the wildcard ring', () => {
    const h = new Host({ argo: { enabled: true, macPermissive: true } });
    const any = h.ring(B, 7, XEN_ARGO_DOMID_ANY, 256);
    const uni = h.ring(B, 7, A, 256);
    expect(h.send(A, B, 7, 1)).toBe(1);
    expect(h.send(C, B, 7, 2)).toBe(2);
    expect(h.send(0, B, 7, 3)).toBe(3);
    expect(uni.tx).toBe(32);
    expect(uni.header(0).sourceDomid).toBe(A);
    expect(any.tx).toBe(64);
    expect([any.header(0).sourceDomid, any.header(32).sourceDomid]).toEqual([C, 0]);
  });

  it('14.24 ring len 48: send 16 B → 16 (tx 32); send 17 B to an empty len-48 ring → -EMSGSIZE (no pending entry)', () => {
    const h = new Host();
    const r1 = h.ring(B, 1, A, 48);
    const r2 = h.ring(B, 2, A, 48);
    expect(h.send(A, B, 1, 16)).toBe(16);
    expect(r1.tx).toBe(32);
    expect(r1.header(0).len).toBe(32);
    h.clearVirqs();
    expect(h.send(A, B, 2, 17)).toBe(-ERRNO.EMSGSIZE);
    expect(r2.tx).toBe(0);
    expect(h.waiters(B, 2, A)).toEqual([]);
    expect(h.virqs()).toEqual([]);
    // EMSGSIZE is also the answer on a ring that is not empty (never fits, step 16 before step 18)
    expect(h.send(A, B, 1, 17)).toBe(-ERRNO.EMSGSIZE);
    expect(h.waiters(B, 1, A)).toEqual([]);
  });

  it('14.25 ring len 256 empty: 224-byte send → 224; 225-byte send to an empty len-256 ring → -EMSGSIZE', () => {
    const h = new Host();
    const ring = h.ring(B, 1, A, 256);
    const payload = pattern(224, 5);
    expect(h.send(A, B, 1, payload)).toBe(224);
    expect(ring.tx).toBe(240);
    expect(ring.header(0).len).toBe(240);
    expect(ring.data(16, 224)).toEqual(payload);
    ring.consumeAll(); // empty again
    expect(h.send(A, B, 1, 225)).toBe(-ERRNO.EMSGSIZE);
    expect(ring.tx).toBe(240);
    expect(h.waiters(B, 1, A)).toEqual([]);
  });

  it('14.26 ring len 48 holding one 16-byte message: send 1 B → -EAGAIN; pending entry (sender, 1); no VIRQ to anyone', () => {
    const h = new Host();
    const ring = h.ring(B, 1, A, 48);
    expect(h.send(A, B, 1, 16)).toBe(16);
    h.clearVirqs();
    const before = h.mem(B).read(ring.headerGpa, 64 + 48);
    expect(h.send(A, B, 1, 1)).toBe(-ERRNO.EAGAIN);
    expect(h.waiters(B, 1, A)).toEqual([{ domid: A, length: 1 }]);
    expect(h.virqs()).toEqual([]);
    expect(h.mem(B).read(ring.headerGpa, 64 + 48)).toEqual(before);
    // §6.3 requeue: a second EAGAIN from the same sender keeps one entry with max(old, new)
    expect(h.send(A, B, 1, 9)).toBe(-ERRNO.EAGAIN);
    expect(h.send(A, B, 1, 3)).toBe(-ERRNO.EAGAIN);
    expect(h.waiters(B, 1, A)).toEqual([{ domid: A, length: 9 }]);
    expect(h.virqs()).toEqual([]);
  });

  it('historical bug sendvReturnsZeroWhenQueued (before Xen 480800c769): the full ring answers 0, the wait is still queued, nothing is written', () => {
    const h = new Host({ bugs: { sendvReturnsZeroWhenQueued: true } });
    const ring = h.ring(B, 1, A, 48);
    expect(h.send(A, B, 1, 16)).toBe(16);
    h.clearVirqs();
    const before = h.mem(B).read(ring.headerGpa, 64 + 48);
    expect(h.send(A, B, 1, 1)).toBe(0); // today: -EAGAIN (14.26)
    expect(h.waiters(B, 1, A)).toEqual([{ domid: A, length: 1 }]);
    // a result >= 0 signals the destination (step 20), so the receiver gets a VIRQ for nothing too
    expect(h.virqs()).toEqual([B]);
    expect(h.mem(B).read(ring.headerGpa, 64 + 48)).toEqual(before);
  });

  it('14.27 wrap, len 96: 40 B → tx 64; rx := 64; 40 B → header [64,80), payload [80,96)+[0,24), tx 32, header len 56', () => {
    const h = new Host();
    const ring = h.ring(B, 1, A, 96);
    expect(h.send(A, B, 1, pattern(40, 1))).toBe(40);
    expect(ring.tx).toBe(64);
    ring.rx = 64;
    const second = pattern(40, 77);
    // mark the data area so we can see exactly what is written
    ring.fill(0, 64, 0xee);
    expect(h.send(A, B, 1, second, 4, 6)).toBe(40);
    expect(ring.header(64)).toEqual({ len: 56, sourceAport: 6, sourceDomid: A, sourcePad: 0, type: 4 });
    expect(ring.data(80, 16)).toEqual(second.subarray(0, 16));
    expect(ring.data(0, 24)).toEqual(second.subarray(16, 40));
    // padding bytes up to the next slot are not written (§5.4 step 4)
    expect(Array.from(ring.data(24, 40))).toEqual(new Array(40).fill(0xee));
    expect(ring.tx).toBe(32);
    expect(h.ringState(B, 1, A)!.tx).toBe(32);
    expect(ring.rx).toBe(64);
  });

  it('14.28 niov=0 → returns 0; a 16-byte header with len 16 appears; destination VIRQ raised', () => {
    const h = new Host();
    const ring = h.ring(B, 1, A, 48);
    expect(h.sendv(A, { src: { domid: A, aport: 3 }, dst: { domid: B, aport: 1 }, iovs: [], type: 0xabc })).toBe(0);
    expect(ring.header(0)).toEqual({ len: 16, sourceAport: 3, sourceDomid: A, sourcePad: 0, type: 0xabc });
    expect(ring.tx).toBe(16);
    expect(h.virqs()).toEqual([B]);
    // a zero-payload message only needs the header slot + the always-free slot: len 48 takes two
    h.clearVirqs();
    expect(h.sendv(A, { src: { domid: A, aport: 3 }, dst: { domid: B, aport: 1 }, iovs: [] })).toBe(0);
    expect(ring.tx).toBe(32);
    expect(h.sendv(A, { src: { domid: A, aport: 3 }, dst: { domid: B, aport: 1 }, iovs: [] })).toBe(-ERRNO.EAGAIN);
    expect(h.waiters(B, 1, A)).toEqual([{ domid: A, length: 0 }]);
  });

  it('14.28-extra zero-length iovs are skipped; consecutive iovs are contiguous in the ring', () => {
    const h = new Host();
    const ring = h.ring(B, 1, A, 256);
    const p1 = pattern(5, 1);
    const p2 = pattern(7, 2);
    const rc = h.sendv(A, {
      src: { domid: A, aport: 1 },
      dst: { domid: B, aport: 1 },
      iovs: [{ hnd: 0, len: 0 }, p1, { hnd: 2 ** 40, len: 0 }, { hnd: BAD_GPA, len: 0 }, p2],
    });
    expect(rc).toBe(12);
    expect(ring.header(0).len).toBe(28);
    expect(ring.data(16, 12)).toEqual(new Uint8Array([...p1, ...p2]));
    expect(ring.tx).toBe(32);
  });

  it('§4.3 iov errors are only seen after a ring matched: no ring → -ECONNREFUSED even for malformed iovs', () => {
    const h = new Host();
    const bad = [
      [{ hnd: GPA.DATA, len: 4, pad: 1 }],
      [{ hnd: GPA.DATA, len: MAX_ARGO_MESSAGE_SIZE + 1 }],
      [
        { hnd: GPA.DATA, len: MAX_ARGO_MESSAGE_SIZE },
        { hnd: GPA.DATA, len: 1 },
      ],
      [{ hnd: BAD_GPA, len: 4 }],
    ];
    for (const iovs of bad) {
      expect(h.sendv(A, { src: { domid: A, aport: 1 }, dst: { domid: B, aport: 1 }, iovs })).toBe(-ERRNO.ECONNREFUSED);
    }
    // with a matching ring the real errors appear, in §4.3 order
    const ring = h.ring(B, 1, A, 256);
    const want = [-ERRNO.EINVAL, -ERRNO.EINVAL, -ERRNO.EMSGSIZE, -ERRNO.EFAULT];
    bad.forEach((iovs, i) => {
      expect(h.sendv(A, { src: { domid: A, aport: 1 }, dst: { domid: B, aport: 1 }, iovs })).toBe(want[i]);
    });
    expect(ring.tx).toBe(0);
    expect(h.virqs()).toEqual([]);
    // a pad error is reported even when the total would be too big for the ring
    expect(
      h.sendv(A, { src: { domid: A, aport: 1 }, dst: { domid: B, aport: 1 }, iovs: [{ hnd: GPA.DATA, len: 300, pad: 7 }] }),
    ).toBe(-ERRNO.EINVAL);
  });

  it('§4.3 iov handle EFAULT comes after the space check: full ring → -EAGAIN (queued); empty ring → -EFAULT, nothing published', () => {
    const h = new Host();
    const full = h.ring(B, 1, A, 48);
    expect(h.send(A, B, 1, 16)).toBe(16);
    h.clearVirqs();
    const iovs = [{ hnd: BAD_GPA, len: 1 }];
    expect(h.sendv(A, { src: { domid: A, aport: 1 }, dst: { domid: B, aport: 1 }, iovs })).toBe(-ERRNO.EAGAIN);
    expect(h.waiters(B, 1, A)).toEqual([{ domid: A, length: 1 }]);
    expect(full.tx).toBe(32);

    const empty = h.ring(B, 2, A, 256);
    const good = pattern(20, 9);
    const rc = h.sendv(A, {
      src: { domid: A, aport: 1 },
      dst: { domid: B, aport: 2 },
      iovs: [good, { hnd: h.mem(A).bytes - 4, len: 8 }],
    });
    expect(rc).toBe(-ERRNO.EFAULT);
    expect(empty.tx).toBe(0); // tx not advanced: nothing became visible
    expect(h.ringState(B, 2, A)!.tx).toBe(0);
    expect(h.waiters(B, 2, A)).toEqual([]);
    expect(h.virqs()).toEqual([]);
    // and the next good send overwrites the same slot
    expect(h.send(A, B, 2, 4)).toBe(4);
    expect(empty.header(0).len).toBe(20);
    expect(empty.tx).toBe(32);
  });

  it('§5.1 a ring on non-contiguous pages: bytes land in gfn[b >> 12] at b & 4095, wrapping across pages', () => {
    const h = new Host();
    // 3 pages handed out in reverse order
    const pages = h.pages(B, 3).reverse();
    const len = 3 * 4096 - 64 - 16 * 4; // 12160: npage 3
    const { rc, ring } = h.register(B, { aport: 1, partner: A, len, gfns: pages });
    expect(rc).toBe(0);
    const big = pattern(6000, 17);
    expect(h.send(A, B, 1, big, 1)).toBe(6000);
    // header at logical 64 (page pages[0]); payload from logical 80 over the page boundary at 4096
    expect(h.mem(B).view.getUint32(pages[0] * 4096 + 64, true)).toBe(6016);
    expect(h.mem(B).read(pages[0] * 4096 + 80, 4016)).toEqual(big.subarray(0, 4016));
    expect(h.mem(B).read(pages[1] * 4096, 1984)).toEqual(big.subarray(4016));
    expect(ring.data(16, 6000)).toEqual(big);
    expect(ring.tx).toBe(6016);
    // wrap: consume, then send 8000 from tx 6016
    ring.consumeAll();
    const wrap = pattern(8000, 29);
    expect(h.send(A, B, 1, wrap, 2)).toBe(8000);
    expect(ring.header(6016)).toMatchObject({ len: 8016, type: 2 });
    const firstPart = len - 6032;
    expect(ring.data(6032, firstPart)).toEqual(wrap.subarray(0, firstPart));
    expect(ring.data(0, 8000 - firstPart)).toEqual(wrap.subarray(firstPart));
    expect(ring.tx).toBe((8000 - firstPart + 15) & ~15);
  });

  it('14.38 sendv to B sets VIRQ pending only if B bound VIRQ_ARGO on vCPU0; unbound → dropped; bind on vCPU 1 → -EINVAL', () => {
    const h = new Host({ vcpus: { [B]: 2 }, bindVirq: [0, A, C] });
    h.ring(B, 1, A, 256);
    expect(h.hv.bindVirq(B, VIRQ_ARGO, 1)).toBe(-ERRNO.EINVAL);
    expect(h.hv.bindVirq(C, VIRQ_ARGO, 1)).toBe(-ERRNO.EINVAL); // 1 vCPU, already bound on 0: still EINVAL
    expect(h.send(A, B, 1, 8)).toBe(8);
    expect(h.hv.virqPending(B, VIRQ_ARGO)).toBe(false);
    expect(h.virqs()).toEqual([]);
    expect(h.hv.bindVirq(B, VIRQ_ARGO, 0)).toBe(0);
    expect(h.hv.virqPending(B, VIRQ_ARGO)).toBe(false); // the dropped signal was not latched
    expect(h.hv.bindVirq(B, VIRQ_ARGO, 0)).toBe(-ERRNO.EEXIST);
    expect(h.send(A, B, 1, 8)).toBe(8);
    expect(h.hv.virqPending(B, VIRQ_ARGO)).toBe(true);
    // signals coalesce; clearing acknowledges
    expect(h.send(A, B, 1, 8)).toBe(8);
    h.hv.clearVirq(B, VIRQ_ARGO);
    expect(h.hv.virqPending(B, VIRQ_ARGO)).toBe(false);
    expect(h.virqs()).toEqual([]);
  });

  it('14.41 self-send: A sends to its own ring(A,1,A) → success; VIRQ raised in A', () => {
    const h = new Host();
    const ring = h.ring(A, 1, A, 256);
    expect(h.send(A, A, 1, 50, 3, 1)).toBe(50);
    expect(ring.header(0)).toEqual({ len: 66, sourceAport: 1, sourceDomid: A, sourcePad: 0, type: 3 });
    expect(ring.data(16, 50)).toEqual(pattern(50));
    expect(ring.tx).toBe(80);
    expect(h.virqs()).toEqual([A]);
    // B cannot use A's self ring
    h.clearVirqs();
    expect(h.send(B, A, 1, 1)).toBe(-ERRNO.ECONNREFUSED);
    expect(h.virqs()).toEqual([]);
  });

  it('§5.2 rx_ptr is sanitised (ROUNDUP16, 0 if ≥ len); guest scribbles on tx_ptr are ignored and overwritten', () => {
    const h = new Host();
    const ring = h.ring(B, 1, A, 96);
    expect(h.send(A, B, 1, 40)).toBe(40); // tx 64
    ring.tx = 16; // scribble
    ring.rx = 50; // sanitised to 64 → empty
    expect(h.send(A, B, 1, 40)).toBe(40);
    expect(ring.header(64).len).toBe(56);
    expect(ring.tx).toBe(32);
    ring.rx = 1000; // ≥ len → 0; tx 32 → sp = 64: a 16-byte message (needs 32 < 64) fits
    expect(h.send(A, B, 1, 16)).toBe(16);
    expect(ring.header(32).len).toBe(32);
    expect(ring.tx).toBe(64);
  });
});
