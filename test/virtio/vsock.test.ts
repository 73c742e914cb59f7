/**
 * virtio-vsock (virtio-ioreq-lifecycle.md §3.4; §7 case 25): the device and the host's socket layer in
 * one guest's memory, the driver on its three queues.
 */
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/memory/guest-memory.js';
import { PageAllocator } from '../../src/memory/page-allocator.js';
import { VIRTIO_F_VERSION_1, bit } from '../../src/virtio/constants.js';
import { initialiseDevice, readFeatures } from '../../src/virtio/driver-init.js';
import { DriverQueue } from '../../src/virtio/driver-queue.js';
import { VirtioDevice } from '../../src/virtio/virtio-device.js';
import {
  VIRTIO_VSOCK_F_STREAM,
  VIRTIO_VSOCK_OP_REQUEST,
  VIRTIO_VSOCK_OP_RW,
  VIRTIO_VSOCK_OP_SHUTDOWN,
  VIRTIO_VSOCK_SHUTDOWN_RCV,
  VIRTIO_VSOCK_SHUTDOWN_SEND,
  VIRTIO_VSOCK_TYPE_SEQPACKET,
  VIRTIO_VSOCK_TYPE_STREAM,
  VMADDR_CID_HOST,
  VSOCK_CONFIG,
} from '../../src/virtio/vsock/constants.js';
import { VirtioVsock } from '../../src/virtio/vsock/virtio-vsock.js';
import { type VsockDriverOptions, VirtioVsockDriver } from '../../src/virtio/vsock/vsock-driver.js';
import { decodeVsockHdr, encodeVsockHdr } from '../../src/virtio/vsock/vsock-hdr.js';
import { xorshift } from './harness.js';

const GUEST_CID = 7;
const PORT = 1234;

interface Guest {
  vsock: VirtioVsock;
  device: VirtioDevice;
  driver: VirtioVsockDriver;
}

/** A guest with a live virtio-vsock device and its driver. */
function guest(hostBufAlloc: number, driverOptions: Partial<VsockDriverOptions> = {}): Guest {
  const mem = new GuestMemory(1 << 22);
  const pages = new PageAllocator(mem.pages);
  const vsock = new VirtioVsock({ guestCid: GUEST_CID, bufAlloc: hostBufAlloc, queueSizeMax: 64 });
  const device = new VirtioDevice(mem, vsock);
  const init = initialiseDevice(device, mem, pages, { wanted: bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_VSOCK_F_STREAM), queueSizes: [64, 64, 64] });
  if (!init.ok) throw new Error(`virtio-vsock init failed at ${init.failedAt}`);
  const q = (i: number): DriverQueue<number> => new DriverQueue<number>(mem, init.rings[i], { pages, notify: () => device.notify(i) });
  const guestCid = device.readConfig(VSOCK_CONFIG.guest_cid, 4);
  const driver = new VirtioVsockDriver(mem, pages, q(0), q(1), q(2), { guestCid, readGuestCid: () => device.readConfig(VSOCK_CONFIG.guest_cid, 4), ...driverOptions });
  driver.postBuffers();
  return { vsock, device, driver };
}

function randomBytes(n: number, random: () => number): Uint8Array {
  return Uint8Array.from({ length: n }, () => random() & 0xff);
}

describe('virtio-vsock device (§3.4)', () => {
  it('the 44-byte virtio_vsock_hdr is byte-exact, little-endian, CIDs as le64', () => {
    const hdr = { src_cid: 0x01020304, dst_cid: 2, src_port: 0x0a0b0c0d, dst_port: 0x11121314, len: 0x21222324, type: 1, op: 5, flags: 0x31323334, buf_alloc: 0x41424344, fwd_cnt: 0x51525354 };
    const bytes = encodeVsockHdr(hdr);
    expect(bytes.length).toBe(44);
    expect([...bytes]).toEqual([
      4, 3, 2, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0x0d, 0x0c, 0x0b, 0x0a, 0x14, 0x13, 0x12, 0x11, 0x24, 0x23, 0x22, 0x21, 1, 0, 5, 0, 0x34, 0x33, 0x32, 0x31, 0x44, 0x43,
      0x42, 0x41, 0x54, 0x53, 0x52, 0x51,
    ]);
    expect(decodeVsockHdr(bytes)).toEqual(hdr);
    bytes[12] = 1; // upper half of dst_cid
    expect(decodeVsockHdr(bytes).dst_cid).toBe(0xffffffff);
  });

  it('is device 19 with three queues, offers STREAM, and config holds guest_cid with its upper 32 bits zero', () => {
    const g = guest(4096);
    expect(g.device.model.deviceId).toBe(19);
    expect(g.device.model.queueCount).toBe(3);
    expect(readFeatures(g.device) & bit(VIRTIO_VSOCK_F_STREAM)).toBe(bit(VIRTIO_VSOCK_F_STREAM));
    expect(g.device.readConfig(VSOCK_CONFIG.guest_cid, 4)).toBe(GUEST_CID);
    expect(g.device.readConfig(VSOCK_CONFIG.guest_cid + 4, 4)).toBe(0);
    expect(() => new VirtioVsock({ guestCid: 2 })).toThrow(RangeError);
  });

  it('connects to a listener: REQUEST → RESPONSE, the host accepts, bytes go both ways', () => {
    const g = guest(4096);
    g.vsock.listen(PORT);
    const conn = g.driver.connect(PORT);
    g.driver.poll();
    expect(conn.state).toBe('connected');
    const host = g.vsock.accept(PORT);
    expect(host).not.toBeNull();
    expect(g.driver.send(conn, new Uint8Array([1, 2, 3]))).toBe(3);
    expect([...(host?.receive() ?? [])]).toEqual([1, 2, 3]);
    host?.send(new Uint8Array([9, 8]));
    g.driver.poll();
    expect([...g.driver.receive(conn)]).toEqual([9, 8]);
  });

  it('case 25: RW beyond peer_free is not allowed — the driver stops at peer_free, and a RW past it resets the connection', () => {
    const g = guest(1000);
    g.vsock.listen(PORT);
    const conn = g.driver.connect(PORT);
    g.driver.poll();
    const host = g.vsock.accept(PORT);
    if (host === null) throw new Error('no connection to accept');
    expect(conn.credit.peerFree()).toBe(1000);
    expect(g.driver.send(conn, new Uint8Array(1500).fill(1))).toBe(1000); // peer_free covers 1000 only
    expect(conn.credit.peerFree()).toBe(0);
    expect(g.driver.send(conn, new Uint8Array(10))).toBe(0);
    expect(host.receive().length).toBe(1000); // credit back: CREDIT_UPDATE
    g.driver.poll();
    expect(conn.credit.peerFree()).toBe(1000);
    expect(g.driver.send(conn, new Uint8Array(600))).toBe(600);
    // A driver that ignores credit: 600 queued at the host, 500 more sent raw → 1100 > buf_alloc 1000.
    const hdr = { src_cid: GUEST_CID, dst_cid: VMADDR_CID_HOST, src_port: conn.localPort, dst_port: PORT, len: 500, type: VIRTIO_VSOCK_TYPE_STREAM, op: VIRTIO_VSOCK_OP_RW, flags: 0, buf_alloc: 4096, fwd_cnt: 0 };
    expect(g.driver.sendRaw(hdr, new Uint8Array(500))).toBe(true);
    expect(g.vsock.figures.creditViolations).toBe(1);
    expect(g.device.log.entries.some((e) => e.kind === 'request-rule-broken' && e.detail.includes('RW of 500 bytes'))).toBe(true);
    expect(host.state).toBe('closed');
    expect(host.receive().length).toBe(600); // the 500 were never delivered
    g.driver.poll();
    expect(conn.state).toBe('closed'); // RST came back
  });

  it('case 25: REQUEST to a port with no listener → RST', () => {
    const g = guest(4096);
    g.vsock.listen(PORT);
    const conn = g.driver.connect(PORT + 1);
    expect(g.vsock.figures.rstSent).toBe(1);
    g.driver.poll();
    expect(conn.state).toBe('closed');
    expect(g.driver.connections.size).toBe(0);
    expect(g.vsock.connectionCount).toBe(0);
    expect(g.vsock.accept(PORT)).toBeNull();
  });

  it('case 25: TRANSPORT_RESET → connections closed on both sides, listeners kept', () => {
    const g = guest(4096);
    g.vsock.listen(PORT);
    const a = g.driver.connect(PORT);
    const b = g.driver.connect(PORT);
    g.driver.poll();
    expect([a.state, b.state]).toEqual(['connected', 'connected']);
    const hostA = g.vsock.accept(PORT);
    g.vsock.transportReset();
    g.driver.poll();
    expect(g.driver.transportResets).toBe(1);
    expect([a.state, b.state]).toEqual(['closed', 'closed']);
    expect(hostA?.state).toBe('closed');
    expect(g.vsock.connectionCount).toBe(0);
    expect(g.vsock.accept(PORT)).toBeNull(); // b was never accepted: gone too
    expect(g.vsock.listening(PORT)).toBe(true);
    expect(g.driver.guestCid).toBe(GUEST_CID); // re-read
    const c = g.driver.connect(PORT);
    g.driver.poll();
    expect(c.state).toBe('connected');
    expect(g.vsock.accept(PORT)).not.toBeNull();
  });

  it('an unknown type → RST; SHUTDOWN flags are sticky and both directions reset the connection', () => {
    const g = guest(4096);
    g.vsock.listen(PORT);
    const hdr = { src_cid: GUEST_CID, dst_cid: VMADDR_CID_HOST, src_port: 5000, dst_port: PORT, len: 0, type: VIRTIO_VSOCK_TYPE_SEQPACKET, op: VIRTIO_VSOCK_OP_REQUEST, flags: 0, buf_alloc: 4096, fwd_cnt: 0 };
    g.driver.sendRaw(hdr);
    expect(g.vsock.figures.rstSent).toBe(1);
    expect(g.vsock.connectionCount).toBe(0);
    const conn = g.driver.connect(PORT);
    g.driver.poll();
    const host = g.vsock.accept(PORT);
    g.driver.shutdown(conn, VIRTIO_VSOCK_SHUTDOWN_SEND);
    expect(host?.peerShutdown).toBe(VIRTIO_VSOCK_SHUTDOWN_SEND);
    g.driver.sendRaw({ ...hdr, src_port: conn.localPort, type: VIRTIO_VSOCK_TYPE_STREAM, op: VIRTIO_VSOCK_OP_SHUTDOWN, flags: 0 }); // flags 0 clears nothing
    expect(host?.peerShutdown).toBe(VIRTIO_VSOCK_SHUTDOWN_SEND);
    expect(host?.state).toBe('connected');
    expect(g.driver.send(conn, new Uint8Array(4))).toBe(0); // no more send
    g.driver.shutdown(conn, VIRTIO_VSOCK_SHUTDOWN_RCV);
    expect(host?.state).toBe('closed');
    g.driver.poll();
    expect(conn.state).toBe('closed');
  });

  it('streams 40000 bytes each way through 2 KiB credit windows, every byte checked, credit updates both ways', () => {
    const random = xorshift(25);
    const g = guest(2048, { bufAlloc: 2048, rxBufferBytes: 1024, txSlotBytes: 700 });
    g.vsock.listen(PORT);
    const conn = g.driver.connect(PORT);
    g.driver.poll();
    const host = g.vsock.accept(PORT);
    if (host === null) throw new Error('no connection to accept');
    const up = randomBytes(40000, random);
    const down = randomBytes(40000, random);
    const gotUp: number[] = [];
    const gotDown: number[] = [];
    let sentUp = 0;
    let creditStalls = 0;
    let rounds = 0;
    for (let chunk = 0; chunk < down.length; chunk += 1000) expect(host.send(down.subarray(chunk, chunk + 1000))).toBe(true);
    while ((gotUp.length < up.length || gotDown.length < down.length) && rounds++ < 10000) {
      const n = g.driver.send(conn, up.subarray(sentUp, sentUp + 1 + (random() % 3000)));
      if (sentUp < up.length && n === 0) creditStalls++;
      sentUp += n;
      if (random() % 2 === 0) gotUp.push(...host.receive());
      g.driver.poll();
      if (random() % 2 === 0) gotDown.push(...g.driver.receive(conn));
      expect(host.credit.rxQueued).toBeLessThanOrEqual(2048);
      expect(conn.credit.rxQueued).toBeLessThanOrEqual(2048);
    }
    expect(new Uint8Array(gotUp)).toEqual(up);
    expect(new Uint8Array(gotDown)).toEqual(down);
    expect(creditStalls).toBeGreaterThan(0);
    expect(host.pendingTxBytes).toBe(0);
    expect(g.vsock.figures.creditViolations).toBe(0);
    expect(g.driver.rxBadPackets).toBe(0);
    expect(g.device.log.entries).toEqual([]);
  });
});
