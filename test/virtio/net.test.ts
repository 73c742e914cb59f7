/**
 * virtio-net (virtio-ioreq-lifecycle.md §3.1; §7 case 24) and deferred completion in the device core:
 * devices in their guests' memories, a learning bridge between them, drivers on both queues.
 */
import { describe, expect, it } from 'vitest';
import { GuestMemory } from '../../src/memory/guest-memory.js';
import { PageAllocator } from '../../src/memory/page-allocator.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_VERSION_1, bit } from '../../src/virtio/constants.js';
import { initialiseDevice, readFeatures } from '../../src/virtio/driver-init.js';
import { DriverQueue } from '../../src/virtio/driver-queue.js';
import { NetBridge } from '../../src/virtio/net/bridge.js';
import { NET_CONFIG, RX_BUFFER_BYTES_MIN, VIRTIO_NET_F_MAC, VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_STATUS, VIRTIO_NET_HDR, VIRTIO_NET_RXQ, VIRTIO_NET_S_LINK_UP } from '../../src/virtio/net/constants.js';
import { BROADCAST_MAC, ethFrame } from '../../src/virtio/net/eth-frame.js';
import { parseMac } from '../../src/virtio/net/mac.js';
import { type NetDriverOptions, VirtioNetDriver } from '../../src/virtio/net/net-driver.js';
import { VirtioNet } from '../../src/virtio/net/virtio-net.js';
import { VirtioDevice } from '../../src/virtio/virtio-device.js';
import { xorshift } from './harness.js';

const V1 = bit(VIRTIO_F_VERSION_1);
const MRG = bit(VIRTIO_NET_F_MRG_RXBUF);
const EVENT_IDX = bit(VIRTIO_F_EVENT_IDX);
const ETHERTYPE = 0x88b5; // IEEE local experimental

interface Nic {
  mac: Uint8Array;
  net: VirtioNet;
  device: VirtioDevice;
  driver: VirtioNetDriver;
  usedInterrupts: number[];
}

/** A guest with a live virtio-net device on `bridge` and its driver; `wanted` features. */
function nic(bridge: NetBridge | null, index: number, wanted: bigint, driverOptions: Partial<NetDriverOptions> = {}): Nic {
  const mac = parseMac(`52:54:00:00:00:0${index + 1}`);
  const mem = new GuestMemory(1 << 22);
  const pages = new PageAllocator(mem.pages);
  const net = new VirtioNet({ mac, queueSizeMax: 128 });
  if (bridge !== null) net.backend = bridge.attach(net);
  const usedInterrupts = [0, 0];
  const device = new VirtioDevice(mem, net, { onInterrupt: (n) => void (n.kind === 'used' && usedInterrupts[n.queue]++) });
  const init = initialiseDevice(device, mem, pages, { wanted, queueSizes: [128, 128] });
  if (!init.ok) throw new Error(`virtio-net init failed at ${init.failedAt}`);
  const eventIdx = (init.features & EVENT_IDX) !== 0n;
  const rx = new DriverQueue<number>(mem, init.rings[0], { eventIdx, pages, notify: () => device.notify(0) });
  const tx = new DriverQueue<number>(mem, init.rings[1], { eventIdx, pages, notify: () => device.notify(1) });
  const driver = new VirtioNetDriver(mem, pages, rx, tx, { mergeable: (init.features & MRG) !== 0n, ...driverOptions });
  return { mac, net, device, driver, usedInterrupts };
}

/** A frame from `from` to `to` carrying `seq` then `bytes` pseudo-random bytes. */
function frameOf(to: Uint8Array, from: Uint8Array, seq: number, bytes: number, random: () => number): Uint8Array {
  const payload = new Uint8Array(4 + bytes);
  new DataView(payload.buffer).setUint32(0, seq, true);
  for (let i = 4; i < payload.length; i++) payload[i] = random() & 0xff;
  return ethFrame(to, from, ETHERTYPE, payload);
}

function sendAll(n: Nic, frames: Uint8Array[]): void {
  for (const f of frames) expect(n.driver.send(f)).toBe(true);
  n.driver.kickTx();
  n.driver.reclaimTx();
}

describe('virtio-net device (§3.1)', () => {
  it('offers VERSION_1, MAC, STATUS and MRG_RXBUF; config has the MAC and LINK_UP; refuses features without VERSION_1', () => {
    const n = nic(null, 0, V1 | MRG | bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_STATUS));
    const offered = readFeatures(n.device);
    for (const f of [VIRTIO_F_VERSION_1, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_NET_F_MRG_RXBUF]) expect(offered & bit(f)).toBe(bit(f));
    expect(n.device.model.deviceId).toBe(1);
    expect(Array.from({ length: 6 }, (_, i) => n.device.readConfig(NET_CONFIG.mac + i, 1))).toEqual([...n.mac]);
    expect(n.device.readConfig(NET_CONFIG.status, 2)).toBe(VIRTIO_NET_S_LINK_UP);
    const legacy = new VirtioDevice(new GuestMemory(1 << 20), new VirtioNet({ mac: n.mac }));
    const mem = legacy.memory;
    expect(initialiseDevice(legacy, mem, new PageAllocator(mem.pages), { wanted: MRG })).toMatchObject({ ok: false, failedAt: 'features' });
  });

  it('case 24: without MRG_RXBUF a receive buffer < 1526 bytes is refused (logged, returned unused) and frames find no buffer', () => {
    const bridge = new NetBridge();
    const a = nic(bridge, 0, V1);
    const b = nic(bridge, 1, V1, { rxBuffers: 4, rxBufferBytes: RX_BUFFER_BYTES_MIN - 1 });
    expect(b.driver.postRx()).toBe(4);
    expect(b.net.figures.rxBuffersRefused).toBe(4);
    expect(b.net.rxBuffersHeld).toBe(0);
    expect(b.device.log.count('request-rule-broken')).toBe(4);
    expect(b.device.log.entries[0].detail).toMatch(/1525 bytes < 1526 without MRG_RXBUF/);
    sendAll(a, [frameOf(b.mac, a.mac, 0, 60, xorshift(1))]);
    expect(b.driver.receive()).toEqual([]); // the refused buffers come back with len 0, no frame
    expect(b.net.figures.rxDropped).toBe(1);
    expect(b.device.status.live).toBe(true);
  });

  it('case 24: without MRG_RXBUF a 1526-byte buffer takes a whole 1514-byte frame and num_buffers = 1', () => {
    const bridge = new NetBridge();
    const a = nic(bridge, 0, V1);
    const b = nic(bridge, 1, V1, { rxBuffers: 2 });
    b.driver.postRx();
    const frame = frameOf(b.mac, a.mac, 7, 1514 - 18, xorshift(2));
    expect(frame.length).toBe(1514);
    sendAll(a, [frame]);
    expect(b.driver.receive()).toEqual([{ frame, numBuffers: 1 }]);
    expect(b.net.figures.rxBuffersRefused).toBe(0);
  });

  it('case 24: with MRG_RXBUF a frame spans small buffers and num_buffers equals the count used', () => {
    const bridge = new NetBridge();
    const a = nic(bridge, 0, V1 | MRG);
    const b = nic(bridge, 1, V1 | MRG, { rxBuffers: 64, rxBufferBytes: 256 });
    b.driver.postRx();
    const random = xorshift(3);
    const sizes = [18, 244, 245, 1000, 1514];
    const frames = sizes.map((size, seq) => frameOf(b.mac, a.mac, seq, size - 18, random));
    sendAll(a, frames);
    const got = b.driver.receive();
    expect(got.map((g) => g.frame)).toEqual(frames);
    expect(got.map((g) => g.numBuffers)).toEqual(sizes.map((s) => Math.ceil((VIRTIO_NET_HDR.size + s) / 256)));
    expect(got.map((g) => g.numBuffers)).toEqual([1, 1, 2, 4, 6]);
    expect(b.net.rxBuffersHeld).toBe(64 - 14);
  });

  it('case 24: with MRG_RXBUF a buffer shorter than the 12-byte header is refused', () => {
    const b = nic(null, 1, V1 | MRG, { rxBuffers: 2, rxBufferBytes: 11 });
    b.driver.postRx();
    expect(b.net.figures.rxBuffersRefused).toBe(2);
    expect(b.net.deliver(ethFrame(b.mac, b.mac, ETHERTYPE, new Uint8Array(1)))).toBe(false);
  });

  it('drops and counts frames when no receive buffer is posted, then delivers once buffers are posted', () => {
    const bridge = new NetBridge();
    const a = nic(bridge, 0, V1 | MRG);
    const b = nic(bridge, 1, V1 | MRG, { rxBuffers: 8, rxBufferBytes: 2048 });
    const random = xorshift(4);
    sendAll(a, [0, 1, 2, 3, 4].map((seq) => frameOf(b.mac, a.mac, seq, 100, random)));
    expect(b.net.figures.rxDropped).toBe(5);
    expect(bridge.figures).toMatchObject({ refused: 5, delivered: 0 });
    b.driver.postRx();
    const late = frameOf(b.mac, a.mac, 5, 100, random);
    sendAll(a, [late]);
    expect(b.driver.receive()).toEqual([{ frame: late, numBuffers: 1 }]);
    expect(b.net.figures).toMatchObject({ rxDropped: 5, rxFrames: 1 });
    expect(a.net.figures.txFrames).toBe(6);
  });

  it('a transmit chain shorter than the header is malformed: DEVICE_NEEDS_RESET', () => {
    const a = nic(new NetBridge(), 0, V1);
    a.driver.tx.add([{ gpa: 0x1000, len: 8 }], [], 0);
    a.driver.kickTx();
    expect(a.device.status.live).toBe(false);
    expect(a.device.log.count('malformed-request')).toBe(1);
  });
});

describe('NetBridge', () => {
  it('learns source MACs: floods unknown and broadcast destinations, forwards learnt ones to one port only, drops same-port ones', () => {
    const bridge = new NetBridge();
    const [a, b, c] = [0, 1, 2].map((i) => nic(bridge, i, V1 | MRG, { rxBuffers: 32, rxBufferBytes: 2048 }));
    for (const n of [a, b, c]) n.driver.postRx();
    const random = xorshift(5);
    sendAll(a, [frameOf(b.mac, a.mac, 0, 50, random)]); // B unknown: flooded
    expect([b.driver.receive().length, c.driver.receive().length]).toEqual([1, 1]);
    expect(bridge.portOf(a.mac)).toBe(0);
    expect(bridge.portOf(b.mac)).toBeUndefined();
    sendAll(b, [frameOf(a.mac, b.mac, 0, 50, random)]); // A learnt: to A only
    expect([a.driver.receive().length, c.driver.receive().length]).toEqual([1, 0]);
    sendAll(a, [frameOf(b.mac, a.mac, 1, 50, random)]); // B learnt now: to B only
    expect([b.driver.receive().length, c.driver.receive().length]).toEqual([1, 0]);
    sendAll(c, [ethFrame(BROADCAST_MAC, c.mac, ETHERTYPE, new Uint8Array(46))]); // broadcast: everyone else
    expect([a.driver.receive().length, b.driver.receive().length, c.driver.receive().length]).toEqual([1, 1, 0]);
    sendAll(a, [frameOf(a.mac, b.mac, 9, 50, random)]); // spoofed: B's MAC moves to port 0, dst A is on port 0 → dropped
    expect(bridge.portOf(b.mac)).toBe(0);
    expect(bridge.figures).toEqual({ forwarded: 2, flooded: 2, dropped: 1, delivered: 6, refused: 0 });
    expect(bridge.fdbSize).toBe(3);
  });

  it("the bridge host's own port (attached with its MAC) is a permanent entry: frames to it are forwarded before it ever transmits, and a spoofed source does not move it", () => {
    const bridge = new NetBridge();
    const seen: number[] = [0, 0, 0];
    const host = parseMac('52:54:00:ff:ff:fe');
    const m = (i: number) => parseMac(`02:00:00:00:00:0${i}`);
    bridge.attach({ deliver: () => (seen[0]++, true) }, host);
    const guests = [1, 2].map((p) => bridge.attach({ deliver: () => (seen[p]++, true) }));
    guests[0].transmit(ethFrame(host, m(1), ETHERTYPE, new Uint8Array(0)));
    expect(seen).toEqual([1, 0, 0]); // not flooded to the other guest
    guests[1].transmit(ethFrame(m(9), host, ETHERTYPE, new Uint8Array(0))); // a guest claiming the host's address
    expect(bridge.portOf(host)).toBe(0);
    guests[0].transmit(ethFrame(host, m(1), ETHERTYPE, new Uint8Array(0)));
    expect(seen[0]).toBe(3); // the flood of m(9) and the second frame; still the host's
    expect(bridge.figures.flooded).toBe(1);
  });

  it('framesHeld: how many whole frames the posted receive buffers take at once', () => {
    const merged = nic(null, 0, V1 | MRG, { rxBuffers: 32, rxBufferBytes: 512 });
    expect(merged.driver.framesHeld(1414)).toBe(10); // 12 + 1414 bytes: three 512-byte buffers each
    expect(merged.driver.framesHeld(600)).toBe(16); // 12 + 600: two
    expect(merged.driver.framesHeld(500)).toBe(32); // 12 + 500: one
    const whole = nic(null, 1, V1, { rxBuffers: 32, rxBufferBytes: RX_BUFFER_BYTES_MIN });
    expect(whole.driver.framesHeld(1414)).toBe(32); // one buffer a frame
  });

  it('a full forwarding table stops learning: frames to unlearnt MACs flood', () => {
    const bridge = new NetBridge(1);
    const seen: number[] = [0, 0, 0];
    const backends = [0, 1, 2].map((p) => bridge.attach({ deliver: () => (seen[p]++, true) }));
    const m = (i: number) => parseMac(`02:00:00:00:00:0${i}`);
    backends[0].transmit(ethFrame(m(9), m(1), ETHERTYPE, new Uint8Array(0)));
    backends[1].transmit(ethFrame(m(9), m(2), ETHERTYPE, new Uint8Array(0))); // table full: m(2) not learnt
    backends[0].transmit(ethFrame(m(2), m(1), ETHERTYPE, new Uint8Array(0)));
    expect(bridge.fdbSize).toBe(1);
    expect(bridge.figures.flooded).toBe(3);
    expect(seen).toEqual([1, 2, 3]); // every frame flooded: m(2) on port 1 was never learnt
  });
});

describe('a stream of frames through the bridge', () => {
  for (const [name, wanted, rxBufferBytes] of [
    ['without MRG_RXBUF', V1 | EVENT_IDX, RX_BUFFER_BYTES_MIN],
    ['with MRG_RXBUF', V1 | MRG, 512],
  ] as const) {
    it(`${name}: 6000 frames of random sizes both ways arrive whole and in order per sender, none dropped`, () => {
      const bridge = new NetBridge();
      const nics = [nic(bridge, 0, wanted, { rxBuffers: 64, rxBufferBytes }), nic(bridge, 1, wanted, { rxBuffers: 64, rxBufferBytes })];
      for (const n of nics) n.driver.postRx();
      const random = xorshift(0xc0ffee);
      const sent: Uint8Array[][] = [[], []];
      const got: Uint8Array[][] = [[], []];
      while (sent[0].length + sent[1].length < 6000) {
        const from = random() & 1;
        const [src, dst] = [nics[from], nics[1 - from]];
        const batch = Array.from({ length: 1 + (random() % 8) }, () => frameOf(dst.mac, src.mac, sent[from].length, random() % (1514 - 18 + 1), random));
        for (const f of batch) sent[from].push(f);
        sendAll(src, batch);
        for (const r of dst.driver.receive()) got[from].push(r.frame);
        dst.driver.postRx();
      }
      for (const from of [0, 1]) {
        expect(got[from].length).toBe(sent[from].length);
        for (let i = 0; i < sent[from].length; i++) if (!bytesEqual(got[from][i], sent[from][i])) expect.fail(`sender ${from} frame ${i}: bytes differ`);
      }
      expect(nics.map((n) => n.net.figures.rxDropped)).toEqual([0, 0]);
      expect(bridge.figures.refused).toBe(0);
      expect(nics.map((n) => n.driver.rxBadHeaders)).toEqual([0, 0]);
    });
  }
});

describe('deferred completion (a held chain completed later, §2.7)', () => {
  it('without EVENT_IDX: a late completion notifies unless avail.flags says NO_INTERRUPT', () => {
    const b = nic(null, 1, V1, { rxBuffers: 4 });
    b.driver.postRx();
    expect(b.usedInterrupts[VIRTIO_NET_RXQ]).toBe(0); // held: nothing used yet
    const f = ethFrame(b.mac, b.mac, ETHERTYPE, new Uint8Array(10));
    expect(b.net.deliver(f)).toBe(true);
    expect(b.usedInterrupts[VIRTIO_NET_RXQ]).toBe(1);
    b.driver.rx.disableCallbacks();
    expect(b.net.deliver(f)).toBe(true);
    expect(b.usedInterrupts[VIRTIO_NET_RXQ]).toBe(1);
    expect(b.driver.receive()).toHaveLength(2); // the used entry is there all the same
  });

  it('with EVENT_IDX: a late completion notifies only when used.idx passes used_event', () => {
    const b = nic(null, 1, V1 | EVENT_IDX, { rxBuffers: 8 });
    b.driver.postRx();
    const f = ethFrame(b.mac, b.mac, ETHERTYPE, new Uint8Array(10));
    b.net.deliver(f);
    expect(b.usedInterrupts[VIRTIO_NET_RXQ]).toBe(1);
    b.net.deliver(f); // used_event is still 0: used.idx 1 → 2 does not pass it
    b.net.deliver(f);
    expect(b.usedInterrupts[VIRTIO_NET_RXQ]).toBe(1);
    expect(b.driver.receive()).toHaveLength(3); // used_event follows last_used_idx = 3
    b.net.deliver(f);
    expect(b.usedInterrupts[VIRTIO_NET_RXQ]).toBe(2);
  });

  it('held chains of a device reset since are stale: completing them pushes nothing', () => {
    const b = nic(null, 1, V1, { rxBuffers: 2 });
    b.driver.postRx();
    const model = b.net as unknown as { held: Array<{ ctx: { complete: (d: unknown[]) => boolean }; chain: unknown }> };
    const stale = model.held[0]; // a model that kept a chain across the reset
    b.device.writeStatus(0);
    expect(b.net.rxBuffersHeld).toBe(0); // the model forgot them on reset
    expect(stale.ctx.complete([{ chain: stale.chain, written: 0 }])).toBe(false);
    expect(b.device.staleCompletions).toBe(1);
    expect(b.net.deliver(ethFrame(b.mac, b.mac, ETHERTYPE, new Uint8Array(10)))).toBe(false);
  });
});

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
