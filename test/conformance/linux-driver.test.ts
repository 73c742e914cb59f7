import { describe, expect, it } from 'vitest';
import {
  ARGO_AUTO_PORT_MAX,
  ARGO_AUTO_PORT_MIN,
  ARGO_PROTO_DGRAM,
  ArgoError,
  MESSAGE_HEADER,
  RING_HEADER,
  XEN_ARGO_DOMID_ANY,
} from '../../src/index.js';
import { isSettled, linuxHost, settle, str, text } from '../guest/linux/host.js';

/** The ArgoError `fn` throws (or its promise rejects with). */
async function errorOf(fn: () => unknown): Promise<ArgoError> {
  try {
    await fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ArgoError);
    return e as ArgoError;
  }
  throw new Error('expected an ArgoError, got success');
}

describe('§10 Linux driver (argo-linux)', () => {
  it('14.45 BIND: domain_id != ANY is EINVAL; aport 0 auto-assigns; a bound (aport, partner) is EADDRINUSE; SETRINGSIZE 40 is EINVAL', async () => {
    const { hv, a } = linuxHost();

    const s = a.openDgram();
    expect((await errorOf(() => s.bind({ domainId: 1, partnerId: 2, aport: 5 }))).code).toBe('EINVAL');
    expect(s.state).toBe('IDLE');
    expect(hv.argoState(1)!.rings).toEqual([]);

    const auto = Array.from({ length: 16 }, () => {
      const sock = a.openDgram();
      sock.setRingSize(48);
      return sock.bind({ domainId: XEN_ARGO_DOMID_ANY, partnerId: 2, aport: 0 }).aport;
    });
    for (const port of auto) {
      expect(port).toBeGreaterThanOrEqual(ARGO_AUTO_PORT_MIN);
      expect(port).toBeLessThanOrEqual(ARGO_AUTO_PORT_MAX);
    }
    expect(new Set(auto).size).toBe(auto.length);
    expect(hv.argoState(1)!.rings.map((r) => r.aport).sort()).toEqual([...auto].sort());

    const first = a.openDgram();
    first.setRingSize(48);
    first.bind({ partnerId: 2, aport: 7 });
    const second = a.openDgram();
    second.setRingSize(48);
    expect((await errorOf(() => second.bind({ partnerId: 2, aport: 7 }))).code).toBe('EADDRINUSE');
    expect(second.state).toBe('IDLE');
    expect(second.bind({ partnerId: 3, aport: 7 })).toEqual({ domainId: XEN_ARGO_DOMID_ANY, partnerId: 3, aport: 7 });

    const sized = a.openStream();
    expect((await errorOf(() => sized.setRingSize(40))).code).toBe('EINVAL');
    expect((await errorOf(() => sized.setRingSize(100))).code).toBe('EINVAL'); // not a multiple of 16
    sized.setRingSize(48);
    sized.bind({ partnerId: 2, aport: 8 });
    expect(hv.argoState(1)!.rings.find((r) => r.aport === 8)!.len).toBe(48);
    expect((await errorOf(() => sized.setRingSize(64))).code).toBe('EINVAL'); // only while IDLE
  });

  it('14.46 dgram send carries message_type 0x6447724D; a receiver drops messages of any other type', async () => {
    const { hv, a, b } = linuxHost();
    const rx = b.openDgram();
    rx.bind({ partnerId: 1, aport: 200 });
    const tx = a.openDgram();
    tx.bind({ partnerId: 2, aport: 100 });

    expect(await tx.send(text('hello argo'), { to: { domid: 2, aport: 200 } })).toBe(10);
    const ring = rx.ring!;
    const view = hv.domain(2)!.memory.view;
    const header = ring.gpa(RING_HEADER.ring + ring.rxPtr);
    expect(view.getUint32(header + MESSAGE_HEADER.len, true)).toBe(16 + 10);
    expect(view.getUint32(header + MESSAGE_HEADER.source_aport, true)).toBe(100);
    expect(view.getUint16(header + MESSAGE_HEADER.source_domain_id, true)).toBe(1);
    expect(view.getUint32(header + MESSAGE_HEADER.message_type, true)).toBe(0x6447724d);
    expect(ARGO_PROTO_DGRAM).toBe(0x6447724d);
    expect(str((await rx.recv()).payload)).toBe('hello argo');

    // A raw sendv of another type to the same ring, then a proper datagram.
    const gpa = a.guest.pages.allocateBytes(4096);
    hv.domain(1)!.memory.write(gpa, text('not a dgram'));
    expect(a.guest.sendvRaw({ domid: 2, aport: 200 }, [{ gpa, len: 11 }], { messageType: 0x12345678, srcPort: 100 })).toBe(11);
    await tx.send(text('second'), { to: { domid: 2, aport: 200 } });
    const got = await rx.recv();
    expect(str(got.payload)).toBe('second');
    expect(rx.droppedWrongProtocol).toBe(1);
    expect(ring.isEmpty()).toBe(true);
  });

  it('14.47 stream connect to a peer that answers RST (a connector, not a listener) fails with ECONNREFUSED', async () => {
    const { clock, a, b } = linuxHost();
    const server = a.openStream();
    server.bind({ partnerId: 2, aport: 6 });
    const peer = b.openStream();
    peer.bind({ partnerId: 1, aport: 5 });
    const peerConnecting = peer.connect({ domid: 1, aport: 6 }); // its SYN meets a bound-only ring: dropped
    await settle();
    expect(peer.state).toBe('CONNECTING');

    const err = await errorOf(() => server.connect({ domid: 2, aport: 5 }));
    expect(err.code).toBe('ECONNREFUSED');
    expect(clock.now()).toBe(0); // refused by RST, not by the timer
    expect(server.state).toBe('BOUND');
    expect(server.getConnectError()).toBe(-111);

    clock.advance(5_000);
    expect((await errorOf(() => peerConnecting)).code).toBe('ETIMEDOUT');
  });

  it('14.47 stream connect to a bound, non-listening peer that never answers fails with ETIMEDOUT after 5 s', async () => {
    const { clock, a, b } = linuxHost();
    const peer = b.openStream();
    peer.bind({ partnerId: 1, aport: 5 }); // bound, not listening: the SYN is thrown away
    const client = a.openStream();
    const connecting = client.connect({ domid: 2, aport: 5 });
    await settle();
    expect(client.state).toBe('CONNECTING');
    expect(peer.ring!.isEmpty()).toBe(true);
    expect(b.interruptPasses).toBeGreaterThan(0);

    clock.advance(4_999);
    expect(await isSettled(connecting)).toBe(false);
    clock.advance(1);
    expect((await errorOf(() => connecting)).code).toBe('ETIMEDOUT');
    expect(client.state).toBe('BOUND');
    expect(client.getConnectError()).toBe(-110);
    expect(clock.pendingTimers).toBe(0);
  });
});
