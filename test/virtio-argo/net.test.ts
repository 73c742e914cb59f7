/**
 * virtio-net over VirtIO-Argo (docs/virtio-argo.md "virtio-net"): two guests, each with a virtio-net
 * front end, exchange frames through a learning bridge in the backend domain. The receive buffers are
 * held by the device model in the back end's copy of the queue and completed later, when a frame
 * arrives: a USED_SYNC that answers no kick. No memory is shared.
 */
import { describe, expect, it } from 'vitest';
import { ArgoGuest } from '../../src/guest/argo-guest.js';
import { platformOf } from '../../src/guest/platform.js';
import { connectVirtioArgo, VIRTIO_ARGO_PORT_BASE, type VirtioArgoPair } from '../../src/virtio-argo/connect.js';
import { VA_OP } from '../../src/virtio-argo/protocol.js';
import { XEN_ARGO_OP_sendv } from '../../src/argo/constants.js';
import { VIRTIO_F_EVENT_IDX, VIRTIO_F_VERSION_1, bit } from '../../src/virtio/constants.js';
import { initialiseDevice } from '../../src/virtio/driver-init.js';
import { DriverQueue } from '../../src/virtio/driver-queue.js';
import { NetBridge } from '../../src/virtio/net/bridge.js';
import { VIRTIO_NET_F_MRG_RXBUF } from '../../src/virtio/net/constants.js';
import { ethFrame } from '../../src/virtio/net/eth-frame.js';
import { parseMac } from '../../src/virtio/net/mac.js';
import { VirtioNetDriver } from '../../src/virtio/net/net-driver.js';
import { VirtioNet } from '../../src/virtio/net/virtio-net.js';
import { createHypervisor, type Hypervisor } from '../../src/xen/hypervisor.js';
import { xorshift } from './harness.js';

const GUEST_A = 1;
const BACKEND = 2;
const GUEST_B = 3;
const QSZ = 64;

interface Guest {
  mac: Uint8Array;
  net: VirtioNet;
  pair: VirtioArgoPair;
  driver: VirtioNetDriver;
}

function host(): Hypervisor {
  const hv = createHypervisor({ argo: { enabled: true } });
  hv.createDomain({ domid: GUEST_A, memoryBytes: 16 << 20, label: 'guest_t' });
  hv.createDomain({ domid: BACKEND, memoryBytes: 32 << 20, label: 'netback_t' });
  hv.createDomain({ domid: GUEST_B, memoryBytes: 16 << 20, label: 'guest_t' });
  return hv;
}

/** A virtio-net device on `bridge` in the back end, reached by guest `domid` over VirtIO-Argo, and its driver. */
function guest(hv: Hypervisor, backend: ArgoGuest, bridge: NetBridge, domid: number, index: number, wanted: bigint): Guest {
  const mac = parseMac(`52:54:00:00:00:0${domid}`);
  const net = new VirtioNet({ mac, queueSizeMax: QSZ });
  net.backend = bridge.attach(net);
  const pair = connectVirtioArgo({ hv, frontend: { domid }, backend: { domid: BACKEND, guest: backend }, model: net, port: VIRTIO_ARGO_PORT_BASE + index, chainBytesMax: 2048 });
  expect(pair.registered).toEqual({ frontend: 0, backend: 0 });
  const fe = pair.frontend;
  const mem = fe.guest.platform.memory;
  const init = initialiseDevice(fe, mem, fe.guest.pages, { wanted, queueSizes: [QSZ, QSZ] });
  if (!init.ok) throw new Error(`virtio-net over VirtIO-Argo: init failed at ${init.failedAt}`);
  const eventIdx = (init.features & bit(VIRTIO_F_EVENT_IDX)) !== 0n;
  const rx = new DriverQueue<number>(mem, init.rings[0], { eventIdx, pages: fe.guest.pages, notify: () => fe.notify(0) });
  const tx = new DriverQueue<number>(mem, init.rings[1], { eventIdx, pages: fe.guest.pages, notify: () => fe.notify(1) });
  const mergeable = (init.features & bit(VIRTIO_NET_F_MRG_RXBUF)) !== 0n;
  return { mac, net, pair, driver: new VirtioNetDriver(mem, fe.guest.pages, rx, tx, { mergeable, rxBuffers: QSZ, rxBufferBytes: mergeable ? 512 : 1526 }) };
}

function twoGuests(wanted: bigint) {
  const hv = host();
  const backend = new ArgoGuest(platformOf(hv, BACKEND));
  const bridge = new NetBridge();
  return { hv, bridge, a: guest(hv, backend, bridge, GUEST_A, 0, wanted), b: guest(hv, backend, bridge, GUEST_B, 1, wanted) };
}

function frameOf(to: Uint8Array, from: Uint8Array, seq: number, bytes: number, random: () => number): Uint8Array {
  const payload = new Uint8Array(4 + bytes);
  new DataView(payload.buffer).setUint32(0, seq, true);
  for (let i = 4; i < payload.length; i++) payload[i] = random() & 0xff;
  return ethFrame(to, from, 0x88b5, payload);
}

describe('virtio-net over VirtIO-Argo, through a bridge in the backend domain', () => {
  it('a received frame completes a receive buffer posted long before: a late USED_SYNC with the frame', () => {
    const { hv, a, b } = twoGuests(bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_EVENT_IDX));
    expect(b.driver.postRx()).toBe(QSZ);
    expect(b.net.rxBuffersHeld).toBe(QSZ); // the back end's model holds them: nothing came back
    expect(b.driver.receive()).toEqual([]);
    const usedSyncsToB: number[] = [];
    hv.onHypercall((c) => {
      if (c.caller === BACKEND && c.cmd === XEN_ARGO_OP_sendv && c.result > 0) usedSyncsToB.push(c.result);
    });
    const frame = frameOf(b.mac, a.mac, 1, 200, xorshift(1));
    expect(a.driver.send(frame)).toBe(true);
    a.driver.kickTx();
    expect(b.driver.receive()).toEqual([{ frame, numBuffers: 1 }]);
    expect(usedSyncsToB.length).toBeGreaterThanOrEqual(2); // A's transmit answer and B's late receive completion
    expect(b.pair.figures().frontend.completions).toBe(1);
    expect(a.pair.sharedMappings() + b.pair.sharedMappings()).toBe(0);
    expect(VA_OP.USED_SYNC).toBe(33);
  });

  for (const [name, wanted] of [
    ['without MRG_RXBUF', bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_EVENT_IDX)],
    ['with MRG_RXBUF', bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_NET_F_MRG_RXBUF)],
  ] as const) {
    it(`${name}: 3000 frames of random sizes both ways, every byte checked, in order per sender, no shared memory`, () => {
      const { bridge, a, b } = twoGuests(wanted);
      const guests = [a, b];
      for (const g of guests) g.driver.postRx();
      const random = xorshift(0xa460);
      const sent: Uint8Array[][] = [[], []];
      const got: Uint8Array[][] = [[], []];
      while (sent[0].length + sent[1].length < 3000) {
        const from = random() & 1;
        const [src, dst] = [guests[from], guests[1 - from]];
        const batch = Array.from({ length: 1 + (random() % 8) }, () => frameOf(dst.mac, src.mac, sent[from].length, random() % (1514 - 18 + 1), random));
        for (const f of batch) {
          expect(src.driver.send(f)).toBe(true);
          sent[from].push(f);
        }
        src.driver.kickTx();
        src.driver.reclaimTx();
        for (const r of dst.driver.receive()) got[from].push(r.frame);
        dst.driver.postRx();
      }
      for (const from of [0, 1]) {
        expect(got[from].length).toBe(sent[from].length);
        for (let i = 0; i < sent[from].length; i++) expect(Buffer.compare(got[from][i], sent[from][i]), `sender ${from} frame ${i}`).toBe(0);
      }
      expect(guests.map((g) => g.net.figures.rxDropped)).toEqual([0, 0]);
      expect(bridge.figures).toMatchObject({ refused: 0, dropped: 0 });
      expect(bridge.portOf(a.mac)).toBe(0);
      expect(bridge.portOf(b.mac)).toBe(1);
      expect(guests.map((g) => g.pair.sharedMappings())).toEqual([0, 0]);
      expect(guests.map((g) => g.pair.backend.linkError)).toEqual([0, 0]);
    });
  }
});
