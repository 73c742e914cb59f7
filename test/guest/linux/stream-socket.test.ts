import { describe, expect, it } from 'vitest';
import {
  ARGO_PROTO_STREAM,
  ARGO_PTYPE_STREAM,
  ARGO_SHF_RST,
  ARGO_STREAM_WRITE_LUMP,
  ArgoGuest,
  XEN_ARGO_DOMID_ANY,
  decodeStreamHeader,
  encodeStreamHeader,
  platformOf,
} from '../../../src/index.js';
import { isSettled, linuxHost, settle, str, text } from './host.js';

/** Domain 2 listens on a wildcard ring at port 80; domain 1 connects; returns both ends. */
async function connectedPair() {
  const host = linuxHost({ macPermissive: true });
  const listener = host.b.openStream();
  listener.bind({ aport: 80, partnerId: XEN_ARGO_DOMID_ANY });
  listener.listen();
  const client = host.a.openStream();
  const accepting = listener.accept();
  await client.connect({ domid: 2, aport: 80 });
  const server = await accepting;
  return { ...host, listener, client, server };
}

describe('Linux driver stream sockets', () => {
  it('connect / accept / send / recv / close round trip', async () => {
    const { hv, a, b, listener, client, server } = await connectedPair();
    expect(client.state).toBe('CONNECTED');
    expect(server.state).toBe('ACCEPTED');
    expect(server.sockType).toBe(ARGO_PTYPE_STREAM);
    const clientName = client.getSockName();
    expect(clientName.partnerId).toBe(2); // connect bound it lazily, partner = the peer's domain
    expect(server.getPeerName()).toEqual({ domid: 1, aport: clientName.aport });
    expect(client.getPeerName()).toEqual({ domid: 2, aport: 80 });
    expect(server.ring).toBe(listener.ring); // accepted sockets share the listener's ring

    expect(await client.send(text('hello'))).toBe(5);
    expect(str(await server.recv())).toBe('hello');
    expect(await server.send(text('world!'))).toBe(6);
    expect(str(await client.recv(3))).toBe('wor'); // a short read leaves the rest queued
    expect(str(await client.recv())).toBe('ld!');

    const eof = server.recv();
    expect(await isSettled(eof)).toBe(false);
    client.close(); // RST to the accepted socket
    expect((await eof).length).toBe(0);
    expect(server.state).toBe('DISCONNECTED');
    await expect(server.send(text('late'))).rejects.toMatchObject({ code: 'EPIPE' });

    server.close();
    expect(hv.argoState(2)!.rings.map((r) => r.aport)).toEqual([80]); // the listener still holds it
    listener.close();
    await settle();
    expect(hv.argoState(2)!.rings).toEqual([]);
    expect(hv.argoState(1)!.rings).toEqual([]);
    expect(a.ringList.length + b.ringList.length).toBe(0);
  });

  it('a send into a full ring blocks, then completes after the receiver reads', async () => {
    const { a, b, client, server } = await connectedPair();
    const data = new Uint8Array(8 * ARGO_STREAM_WRITE_LUMP).map((_, i) => (i * 7) & 0xff);
    const sending = client.send(data);
    expect(await isSettled(sending)).toBe(false);
    // Three lumps wait in the accepted socket's pending list (it is "full"), three more fill the
    // listener ring, and the writer waits on the transmit list for the seventh.
    expect(server.pending.count).toBe(3);
    expect(server.pending.full).toBe(true);
    expect(b.ringList[0].ring.pendingBytes()).toBeGreaterThan(3 * ARGO_STREAM_WRITE_LUMP);
    expect(a.xmit.count).toBe(1); // the blocked writer's wakeup entry
    expect(client.state).toBe('CONNECTED');

    const got: Uint8Array[] = [];
    let total = 0;
    while (total < data.length) {
      const chunk = await server.recv(100_000);
      got.push(chunk);
      total += chunk.length;
    }
    expect(await sending).toBe(data.length);
    const joined = new Uint8Array(total);
    let at = 0;
    for (const c of got) {
      joined.set(c, at);
      at += c.length;
    }
    expect(Buffer.compare(joined, data)).toBe(0);
    expect(a.xmit.count).toBe(0);
    expect(server.ring!.isEmpty()).toBe(true);
  });

  it('a wildcard listener keeps connections from two domains apart, and a SYN that met a full ring is resent', async () => {
    const { a, b, c } = linuxHost({ macPermissive: true });
    const listener = b.openStream();
    listener.setRingSize(64); // room for one SYN at a time
    listener.bind({ aport: 80 });
    listener.listen();
    const fromA = a.openStream();
    const fromC = c.openStream();
    const connectingA = fromA.connect({ domid: 2, aport: 80 });
    const connectingC = fromC.connect({ domid: 2, aport: 80 }); // EAGAIN: kept on C's transmit list
    expect(c.xmit.entries.map((e) => e.type)).toEqual(['inline']);
    const first = await listener.accept();
    const second = await listener.accept();
    await Promise.all([connectingA, connectingC]);
    expect(c.xmit.count).toBe(0);
    expect([first.getPeerName().domid, second.getPeerName().domid]).toEqual([1, 3]);

    await fromC.send(text('from C'));
    await fromA.send(text('from A'));
    expect(str(await second.recv())).toBe('from C');
    expect(str(await first.recv())).toBe('from A');
    await first.send(text('to A'));
    await second.send(text('to C'));
    expect(str(await fromA.recv())).toBe('to A');
    expect(str(await fromC.recv())).toBe('to C');
  });

  it('connect to a port with no ring at all is refused by Xen at once', async () => {
    const { a } = linuxHost();
    const s = a.openStream();
    await expect(s.connect({ domid: 2, aport: 4242 })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(s.state).toBe('BOUND');
  });

  it('data for an unknown connection is answered with RST from the listener port', async () => {
    const { hv, b } = linuxHost({ macPermissive: true });
    const listener = b.openStream();
    listener.bind({ aport: 80 });
    listener.listen();
    const raw = new ArgoGuest(platformOf(hv, 3)); // a guest speaking the wire protocol by hand
    const ring = raw.registerRing({ aport: 9, partner: 2, len: 4032 });
    const bytes = new Uint8Array([...encodeStreamHeader({ flags: 0, conid: 0xabcd }), 1, 2, 3]);
    const gpa = raw.pages.allocateBytes(4096);
    hv.domain(3)!.memory.write(gpa, bytes);
    expect(raw.sendvRaw({ domid: 2, aport: 80 }, [{ gpa, len: bytes.length }], { messageType: ARGO_PROTO_STREAM, srcPort: 9 })).toBe(11);
    await settle();
    const rst = ring.recv();
    expect(rst).not.toBeNull();
    expect(rst!.source).toEqual({ domid: 2, aport: 80 });
    expect(rst!.messageType).toBe(ARGO_PROTO_STREAM);
    expect(decodeStreamHeader(rst!.payload)).toEqual({ flags: ARGO_SHF_RST, conid: 0xabcd });
  });

  it('closing a listener resets connections it never accepted', async () => {
    const { a, b } = linuxHost({ macPermissive: true });
    const listener = b.openStream();
    listener.bind({ aport: 80 });
    listener.listen();
    const client = a.openStream();
    const connecting = client.connect({ domid: 2, aport: 80 });
    await settle();
    expect(listener.state).toBe('LISTENING');
    listener.close();
    await expect(connecting).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(client.state).toBe('BOUND');
    expect(client.getConnectError()).toBe(-111);
    expect(client.getConnectError()).toBe(0);
  });

  it('state errors: recv/send before connecting, listen twice, accept on a non-listener', async () => {
    const { a } = linuxHost();
    const s = a.openStream();
    await expect(s.recv()).rejects.toMatchObject({ code: 'EINVAL' });
    expect(() => s.listen()).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(s.getSockName()).toEqual({ domainId: XEN_ARGO_DOMID_ANY, partnerId: XEN_ARGO_DOMID_ANY, aport: 0 });
    expect(() => s.getPeerName()).toThrow(expect.objectContaining({ code: 'ENOTCONN' }));
    s.bind({ aport: 5, partnerId: 2 });
    await expect(s.send(text('x'))).rejects.toMatchObject({ code: 'ENOTCONN' });
    await expect(s.recv()).rejects.toMatchObject({ code: 'ENOTCONN' });
    await expect(s.accept()).rejects.toMatchObject({ code: 'EINVAL' });
    s.listen();
    expect(() => s.listen()).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    await expect(s.accept({ nonblock: true })).rejects.toMatchObject({ code: 'EAGAIN' });
  });
});
