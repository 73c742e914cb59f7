import { describe, expect, it } from 'vitest';
import { ARGO_PROTO_DGRAM, ARGO_PTYPE_DGRAM, ArgoError } from '../../../src/index.js';
import { isSettled, linuxHost, settle, str, text } from './host.js';

describe('Linux driver datagram sockets', () => {
  it('exchanges datagrams both ways with authentic sources', async () => {
    const { a, b } = linuxHost();
    const sa = a.openDgram();
    sa.bind({ aport: 100, partnerId: 2 });
    const sb = b.openDgram();
    sb.bind({ aport: 200, partnerId: 1 });
    expect(sb.sockType).toBe(ARGO_PTYPE_DGRAM);

    const receiving = sb.recv(); // waits for the VIRQ handler
    expect(await isSettled(receiving)).toBe(false);
    expect(await sa.send(text('ping'), { to: { domid: 2, aport: 200 } })).toBe(4);
    const ping = await receiving;
    expect(str(ping.payload)).toBe('ping');
    expect(ping.from).toEqual({ domid: 1, aport: 100 });

    await sb.send(text('pong'), { to: ping.from });
    const pong = await sa.recv();
    expect(str(pong.payload)).toBe('pong');
    expect(pong.from).toEqual({ domid: 2, aport: 200 });
    expect(sa.ring!.isEmpty() && sb.ring!.isEmpty()).toBe(true);
  });

  it('a connected socket sends to its peer and drops datagrams from other peers', async () => {
    const { a, b } = linuxHost();
    const other = a.openDgram();
    other.bind({ aport: 101, partnerId: 2 });
    const peer = a.openDgram();
    peer.bind({ aport: 100, partnerId: 2 });
    const sb = b.openDgram();
    sb.connect({ domid: 1, aport: 100 }); // binds lazily, partner = domain 1
    expect(sb.getSockName().partnerId).toBe(1);
    expect(sb.getPeerName()).toEqual({ domid: 1, aport: 100 });

    await other.send(text('intruder'), { to: { domid: 2, aport: sb.getSockName().aport } });
    await peer.send(text('friend'), { to: { domid: 2, aport: sb.getSockName().aport } });
    const got = await sb.recv();
    expect(str(got.payload)).toBe('friend');
    expect(sb.droppedWrongPeer).toBe(1);

    await sb.send(text('reply'));
    expect(str((await peer.recv()).payload)).toBe('reply');
    await expect(sb.send(text('x'), { to: { domid: 1, aport: 101 } })).rejects.toMatchObject({ code: 'EISCONN' });
  });

  it('a send to a full ring blocks until the receiver reads, then completes', async () => {
    const { hv, a, b } = linuxHost();
    const sb = b.openDgram();
    sb.setRingSize(64); // one 32-byte datagram fills it
    sb.bind({ aport: 9, partnerId: 1 });
    const sa = a.openDgram();
    sa.bind({ aport: 8, partnerId: 2 });
    const to = { domid: 2, aport: 9 };

    await sa.send(new Uint8Array(32).fill(1), { to });
    await expect(sa.send(new Uint8Array(32).fill(2), { to, nonblock: true })).rejects.toMatchObject({ code: 'EAGAIN' });
    const blocked = sa.send(new Uint8Array(32).fill(3), { to });
    expect(await isSettled(blocked)).toBe(false);
    expect(a.xmit.count).toBe(1);
    expect(hv.argoState(2)!.rings[0].waiters).toEqual([{ domid: 1, length: 32 }]);

    expect((await sb.recv()).payload[0]).toBe(1); // consume + notify(NULL): Xen wakes domain 1
    expect(await blocked).toBe(32);
    expect(a.xmit.count).toBe(0);
    expect((await sb.recv()).payload[0]).toBe(3);
  });

  it('refuses payloads larger than its own ring len - 16 (driver-level EMSGSIZE)', async () => {
    const { a, b } = linuxHost();
    b.openDgram().bind({ aport: 9, partnerId: 1 });
    const sa = a.openDgram();
    sa.setRingSize(256);
    sa.bind({ aport: 8, partnerId: 2 });
    const err = await sa.send(new Uint8Array(241), { to: { domid: 2, aport: 9 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ArgoError);
    expect((err as ArgoError).code).toBe('EMSGSIZE');
    expect(await sa.send(new Uint8Array(240), { to: { domid: 2, aport: 9 } })).toBe(240);
  });

  it('send errors: ENOTCONN without a destination, ECONNREFUSED without a ring, EBADF after close', async () => {
    const { a } = linuxHost();
    const s = a.openDgram();
    await expect(s.send(text('x'))).rejects.toMatchObject({ code: 'EINVAL' }); // unbound
    s.bind({ aport: 8, partnerId: 2 });
    await expect(s.send(text('x'))).rejects.toMatchObject({ code: 'ENOTCONN' });
    await expect(s.send(text('x'), { to: { domid: 2, aport: 77 } })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    s.close();
    expect(s.state).toBe('CLOSED');
    await expect(s.send(text('x'), { to: { domid: 2, aport: 77 } })).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('close unregisters the ring and wakes a blocked reader with EBADF', async () => {
    const { hv, b } = linuxHost();
    const s = b.openDgram();
    s.bind({ aport: 9, partnerId: 1 });
    expect(hv.argoState(2)!.rings.map((r) => r.aport)).toEqual([9]);
    const reading = s.recv();
    await settle();
    s.close();
    await expect(reading).rejects.toMatchObject({ code: 'EBADF' });
    expect(hv.argoState(2)!.rings).toEqual([]);
    expect(b.ringList).toEqual([]);
    await expect(s.recv({ nonblock: true })).rejects.toMatchObject({ code: 'EBADF' });
  });

  it('non-blocking recv answers EAGAIN on an empty ring; peek leaves the datagram in place', async () => {
    const { a, b } = linuxHost();
    const sb = b.openDgram();
    sb.bind({ aport: 9, partnerId: 1 });
    await expect(sb.recv({ nonblock: true })).rejects.toMatchObject({ code: 'EAGAIN' });
    const sa = a.openDgram();
    sa.bind({ aport: 8, partnerId: 2 });
    await sa.send(text('once'), { to: { domid: 2, aport: 9 } });
    expect(str((await sb.recv({ peek: true })).payload)).toBe('once');
    expect(sb.ring!.isEmpty()).toBe(false);
    const got = await sb.recv({ nonblock: true });
    expect(str(got.payload)).toBe('once');
    expect(sb.ring!.isEmpty()).toBe(true);
    expect(sb.droppedWrongProtocol).toBe(0);
    expect(ARGO_PROTO_DGRAM).toBe(0x6447724d);
  });
});
