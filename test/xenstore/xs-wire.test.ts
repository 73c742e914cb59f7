import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/memory/guest-memory.js';
import { Xenstore } from '../../src/xenstore/xenstore.js';
import {
  XENSTORE_ERROR_NONE,
  XENSTORE_ERROR_PROTO,
  XENSTORE_ERROR_RINGIDX,
  XENSTORE_RING_SIZE,
  XS_DIRECTORY,
  XS_ERROR,
  XS_IFACE,
  XS_READ,
  XS_RM,
  XS_WRITE,
  XSD_SOCKMSG_BYTES,
  XsConnection,
  answerXsRequest,
  xsParts,
  xsStrings,
} from '../../src/xenstore/xs-wire.js';

// The xenstore wire (public/io/xs_wire.h): the page's two rings and their free-running indexes, and
// xsd_sockmsg messages that span the wrap and arrive in pieces.

const PAGE = 4096;
const pair = () => {
  const memory = new GuestMemory(4 * PAGE);
  return { memory, guest: new XsConnection(memory, PAGE, 'guest'), xenstored: new XsConnection(memory, PAGE, 'xenstored') };
};
const request = (reqId: number, payload: Uint8Array) => ({ type: XS_DIRECTORY, reqId, txId: 0, payload });

describe('xenstore wire (xs_wire.h)', () => {
  it('the page layout: req at 0, rsp at 1024, the indexes at 2048–2060, then server_features, connection, error', () => {
    expect(XS_IFACE).toEqual({ req: 0, rsp: 1024, req_cons: 2048, req_prod: 2052, rsp_cons: 2056, rsp_prod: 2060, server_features: 2064, connection: 2068, error: 2072 });
    const { memory, guest } = pair();
    guest.send(request(7, xsStrings('/a')));
    expect(guest.flush()).toBe(XSD_SOCKMSG_BYTES + 3);
    expect(memory.view.getUint32(PAGE + 2052, true)).toBe(19); // req_prod
    expect(memory.view.getUint32(PAGE + 0, true)).toBe(XS_DIRECTORY); // type
    expect(memory.view.getUint32(PAGE + 4, true)).toBe(7); // req_id
    expect(memory.view.getUint32(PAGE + 12, true)).toBe(3); // len
    expect(new TextDecoder().decode(memory.u8.subarray(PAGE + 16, PAGE + 19))).toBe('/a\0');
  });

  it('messages cross the wrap and come whole, in order, with their ids', () => {
    const { guest, xenstored } = pair();
    const got: string[] = [];
    for (let i = 0; i < 200; i++) {
      guest.send(request(i, xsStrings(`/local/domain/${i}/device`)));
      expect(guest.flush()).toBeGreaterThan(0);
      const { messages, error } = xenstored.receive();
      expect(error).toBe(XENSTORE_ERROR_NONE);
      for (const m of messages) got.push(`${m.reqId}:${xsParts(m.payload)[0]}`);
    }
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => `${i}:/local/domain/${i}/device`));
  });

  it('a message larger than the ring goes in pieces: the writer writes what fits, the reader keeps the start until the rest comes', () => {
    const { guest, xenstored } = pair();
    const value = new Uint8Array(3000).fill(0x61);
    guest.send({ type: XS_WRITE, reqId: 1, txId: 0, payload: new Uint8Array([...xsStrings('/big'), ...value]) });
    expect(guest.flush()).toBe(XENSTORE_RING_SIZE); // the ring is full
    expect(guest.flush()).toBe(0);
    let messages = xenstored.receive().messages;
    expect(messages).toEqual([]);
    for (let round = 0; round < 4 && messages.length === 0; round++) {
      guest.flush();
      messages = xenstored.receive().messages;
    }
    expect(messages).toHaveLength(1);
    expect(messages[0].payload.length).toBe(5 + 3000);
    expect(guest.queued).toBe(0);
  });

  it('broken indexes and an oversized header are protocol errors, not crashes', () => {
    const a = pair();
    a.memory.view.setUint32(PAGE + XS_IFACE.req_prod, 5000, true); // prod − cons > 1024
    expect(a.xenstored.receive().error).toBe(XENSTORE_ERROR_RINGIDX);
    const b = pair();
    const header = new Uint8Array(16);
    new DataView(header.buffer).setUint32(12, 4097, true);
    b.memory.u8.set(header, PAGE);
    b.memory.view.setUint32(PAGE + XS_IFACE.req_prod, 16, true);
    expect(b.xenstored.receive().error).toBe(XENSTORE_ERROR_PROTO);
    expect(() => b.guest.send(request(1, new Uint8Array(4097)))).toThrow(/at most 4096/);
  });

  it('domain_conn_reset: the four indexes back to zero, and the whole requests and replies it wiped counted', () => {
    const { memory, guest, xenstored } = pair();
    guest.send(request(1, xsStrings('/x')));
    guest.send(request(2, xsStrings('/y')));
    guest.flush();
    xenstored.send({ type: XS_ERROR, reqId: 1, txId: 0, payload: xsStrings('ENOENT') });
    xenstored.flush();
    expect(xenstored.reset()).toEqual({ requests: 2, replies: 1 });
    for (const f of [XS_IFACE.req_cons, XS_IFACE.req_prod, XS_IFACE.rsp_cons, XS_IFACE.rsp_prod]) expect(memory.view.getUint32(PAGE + f, true)).toBe(0);
    expect(xenstored.receive().messages).toEqual([]);
  });

  it("xenstored's answers: a listing, a value, OK, or XS_ERROR with the errno's name; a type not served is ENOSYS", () => {
    const store = new Xenstore();
    store.introduce(3);
    store.write(0, '/local/domain/3/device/vif/0', 'x');
    const ask = (type: number, ...parts: string[]) => answerXsRequest(store, 3, { type, reqId: 9, txId: 0, payload: xsStrings(...parts) });
    expect(xsParts(ask(XS_DIRECTORY, '/local/domain/3/device').payload)).toEqual(['vif']);
    expect(ask(XS_DIRECTORY, '/local/domain/3/nothing')).toMatchObject({ type: XS_ERROR, reqId: 9 });
    expect(xsParts(ask(XS_DIRECTORY, '/local/domain/3/nothing').payload)).toEqual(['ENOENT']);
    const write = answerXsRequest(store, 3, { type: XS_WRITE, reqId: 1, txId: 0, payload: new Uint8Array([...xsStrings('/local/domain/3/name'), ...new TextEncoder().encode('edge')]) });
    expect(xsParts(write.payload)).toEqual(['OK']);
    expect(new TextDecoder().decode(ask(XS_READ, '/local/domain/3/name').payload)).toBe('edge');
    expect(xsParts(ask(XS_WRITE, '/local/domain/0/x', 'v').payload)[0]).toBe('EACCES');
    expect(xsParts(ask(XS_RM, '/local/domain/3/name').payload)).toEqual(['OK']);
    expect(xsParts(ask(99, '/a').payload)).toEqual(['ENOSYS']);
    // a transaction id this connection never opened (another domain's, say) is ENOENT, not someone else's transaction
    const tx = store.transactionStart(0);
    const inTx = answerXsRequest(store, 3, { type: XS_WRITE, reqId: 2, txId: tx, payload: new Uint8Array([...xsStrings('/local/domain/3/x'), 0x31]) });
    expect(xsParts(inTx.payload)).toEqual(['ENOENT']);
    store.transactionEnd(0, tx);
    expect(store.read(0, '/local/domain/3/x')).toBeLessThan(0);
    // a reply that does not fit one message is E2BIG (xenstored's send_reply), not a crash
    for (let i = 0; i < 300; i++) store.write(3, `/local/domain/3/many/child-number-${i}`, '');
    expect(xsParts(ask(XS_DIRECTORY, '/local/domain/3/many').payload)).toEqual(['E2BIG']);
    expect(xsParts(answerXsRequest(store, 3, { type: XS_READ, reqId: 1, txId: 0, payload: new Uint8Array(0) }).payload)).toEqual(['EINVAL']);
  });
});
