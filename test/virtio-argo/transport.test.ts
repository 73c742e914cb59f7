/**
 * The VirtIO-Argo transport (virtio-ioreq-lifecycle.md §4, docs/virtio-argo.md): §1.2 through Argo
 * messages, the data path, and the VirtIO-Argo conformance cases 46–50 of §7.
 */
import { describe, expect, it } from 'vitest';
import { ERRNO } from '../../src/xen/errno.js';
import { SECTOR_SIZE, VIRTIO_BLK_S_OK, VIRTIO_ID_BLOCK } from '../../src/virtio/blk/constants.js';
import { VIRTIO_CONFIG_S_DRIVER_OK, VIRTIO_CONFIG_S_FEATURES_OK, VIRTIO_CONFIG_S_NEEDS_RESET, VIRTIO_F_EVENT_IDX, VIRTIO_F_VERSION_1, bit } from '../../src/virtio/constants.js';
import { readConfigConsistent } from '../../src/virtio/driver-init.js';
import { ArgoGuest } from '../../src/guest/argo-guest.js';
import { platformOf } from '../../src/guest/platform.js';
import { VA_MSG, VA_OP, VA_SYNC } from '../../src/virtio-argo/protocol.js';
import { XEN_ARGO_OP_sendv } from '../../src/argo/constants.js';
import { BE, DISK_SECTORS, FE, blkDriver, blkPair, host } from './harness.js';

describe('VirtIO-Argo: the driver initialises a device it reaches only through Argo', () => {
  it('§1.2 over messages: HELLO, features, FEATURES_OK, queue set-up and DRIVER_OK reach the back end\'s device', () => {
    const hv = host();
    const { pair } = blkPair(hv);
    const { init, blk } = blkDriver(pair);
    expect(init.ok).toBe(true);
    expect(blk).not.toBeNull();
    expect(pair.frontend.deviceId).toBe(VIRTIO_ID_BLOCK);
    expect(pair.backend.device.readStatus()).toBe(15);
    expect(pair.frontend.readStatus()).toBe(15);
    if (init.ok) expect(init.features & bit(VIRTIO_F_VERSION_1)).not.toBe(0n);
    // each side runs on its own domain's memory: the device serves the back end's copy of the queue
    expect(pair.backend.device.memory).toBe(hv.domain(BE)!.memory);
    expect(pair.frontend.guest.platform.memory).toBe(hv.domain(FE)!.memory);
    expect(pair.sharedMappings()).toBe(0);
  });

  it('config space reads cross as GET_CONFIG and agree with the device (capacity, generation)', () => {
    const hv = host();
    const { pair } = blkPair(hv);
    blkDriver(pair);
    const { value } = readConfigConsistent(pair.frontend, (a) => a.readConfig(0, 4) + a.readConfig(4, 4) * 2 ** 32);
    expect(value).toBe(DISK_SECTORS);
    expect(pair.frontend.configGeneration).toBe(pair.backend.device.configGeneration);
  });

  it('a kick carries every chain made available since the last one in a single sendv', () => {
    const hv = host();
    const { pair, image } = blkPair(hv);
    const { blk } = blkDriver(pair);
    const sendvs: number[] = [];
    hv.onHypercall((c) => {
      if (c.caller === FE && c.cmd === XEN_ARGO_OP_sendv) sendvs.push(c.result);
    });
    for (let i = 0; i < 16; i++) blk!.write(i * 4, new Uint8Array(2 * SECTOR_SIZE).fill(i + 1));
    blk!.kick();
    expect(sendvs).toHaveLength(1);
    expect(sendvs[0]).toBeGreaterThan(16 * 2 * SECTOR_SIZE);
    const done = blk!.harvest();
    expect(done).toHaveLength(16);
    expect(done.every((d) => d.status === VIRTIO_BLK_S_OK)).toBe(true);
    for (let i = 0; i < 16; i++) expect(image[i * 4 * SECTOR_SIZE]).toBe(i + 1);
  });

  it('FEATURES_OK with a feature the device did not offer reads back clear (§1.3), through the back end', () => {
    const hv = host();
    const { pair } = blkPair(hv);
    const fe = pair.frontend;
    fe.writeStatus(0);
    fe.writeStatus(1);
    fe.writeStatus(3);
    fe.writeDriverFeatures(0, 1 << 30); // bit 30: never offered
    fe.writeDriverFeatures(1, 1);
    fe.writeStatus(3 | VIRTIO_CONFIG_S_FEATURES_OK);
    expect(fe.readStatus() & VIRTIO_CONFIG_S_FEATURES_OK).toBe(0);
  });
});

describe('VirtIO-Argo conformance (virtio-ioreq-lifecycle.md §7, cases 46–50)', () => {
  it('case 46: no back-end ring → sendv ECONNREFUSED; the front end never reaches DRIVER_OK', () => {
    const hv = host();
    const { pair } = blkPair(hv);
    pair.backend.stop(); // the back end never listens
    const { init } = blkDriver(pair);
    expect(init.ok).toBe(false);
    expect(pair.frontend.linkError).toBe(-ERRNO.ECONNREFUSED);
    expect(pair.frontend.readStatus() & VIRTIO_CONFIG_S_DRIVER_OK).toBe(0);
    pair.frontend.writeStatus(pair.frontend.readStatus() | 128); // the driver gives up (§1.2 step 8)
    expect(pair.frontend.readStatus() & 128).toBe(128);
  });

  it('case 48: the back end\'s ring is full → EAGAIN; the front end holds the batch, waits for VIRQ_ARGO and resends in order', () => {
    const hv = host();
    const { pair, image } = blkPair(hv, { ringLen: 16 * 1024 - 64 });
    const { blk } = blkDriver(pair);
    pair.backend.endpoint.autoPump = false; // a busy back end: it drains only when we say
    const rounds = 12;
    for (let r = 0; r < rounds; r++) {
      blk!.write(r * 8, new Uint8Array(8 * SECTOR_SIZE).fill(r + 1)); // 4 KiB each: the ring takes three
      blk!.kick();
    }
    expect(pair.frontend.endpoint.counters.eagain).toBeGreaterThan(0);
    expect(pair.frontend.endpoint.backlog).toBeGreaterThan(0);
    let done = 0;
    for (let guard = 0; guard < 100 && done < rounds; guard++) {
      pair.backend.endpoint.pump(); // consume + notify: Xen signals the waiting front end, which resends
      done += blk!.harvest().length;
    }
    expect(done).toBe(rounds);
    expect(pair.frontend.endpoint.backlog).toBe(0);
    // a later write to the same sector would show reordering; every sector holds its round's byte
    for (let r = 0; r < rounds; r++) expect(image[r * 8 * SECTOR_SIZE]).toBe(r + 1);
  });

  it('case 49: a chain larger than the ring can ever take → DEVICE_NEEDS_RESET; a 32-byte ring → EINVAL', () => {
    const hv = host();
    const { pair } = blkPair(hv, { ringLen: 4096 - 64 });
    const { blk } = blkDriver(pair);
    blk!.write(0, new Uint8Array(16 * SECTOR_SIZE));
    blk!.kick();
    expect(pair.frontend.readStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(pair.frontend.lastError).toMatch(/never fits/);
    const hv2 = host();
    const small = blkPair(hv2, { ringLen: 32 }).pair;
    expect(small.registered).toEqual({ backend: -ERRNO.EINVAL, frontend: -ERRNO.EINVAL });
  });

  it('case 50: the back-end domain is destroyed → no signal; the next sendv gets ESRCH and the device needs a reset', () => {
    const hv = host();
    const { pair } = blkPair(hv);
    const { blk } = blkDriver(pair);
    const downs: number[] = [];
    (pair.frontend as unknown as { options: { onLinkDown: (e: number) => void } }).options.onLinkDown = (e) => downs.push(e);
    hv.destroyDomain(BE);
    expect(pair.frontend.linkError).toBe(0); // Xen told nobody (argo.md §8.2)
    blk!.read(0, 1);
    blk!.kick();
    expect(pair.frontend.linkError).toBe(-ERRNO.ESRCH);
    expect(downs).toEqual([ERRNO.ESRCH]);
    expect(pair.frontend.readStatus()).toBe(15 | VIRTIO_CONFIG_S_NEEDS_RESET);
  });
});

describe('VirtIO-Argo error answers (docs/virtio-argo.md)', () => {
  it('a malformed AVAIL_SYNC makes the back end\'s device need a reset, and CONFIG_CHANGED tells the front end', () => {
    const hv = host();
    const { pair } = blkPair(hv);
    const { init } = blkDriver(pair);
    expect(init.ok).toBe(true);
    const bogus = new Uint8Array(VA_SYNC.size + 12);
    const v = new DataView(bogus.buffer);
    v.setUint16(VA_SYNC.count, 1, true);
    v.setUint16(VA_SYNC.size, 999, true); // head ≥ qsz
    pair.frontend.endpoint.send(VA_MSG | VA_OP.AVAIL_SYNC, bogus);
    expect(pair.backend.device.readStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
    expect(pair.frontend.configNotifications).toBe(1);
    expect(pair.frontend.readStatus() & VIRTIO_CONFIG_S_NEEDS_RESET).toBe(VIRTIO_CONFIG_S_NEEDS_RESET);
  });

  it('an unknown control op is answered EOPNOTSUPP; a message of another protocol is dropped', () => {
    const hv = host();
    const { pair } = blkPair(hv);
    pair.frontend.endpoint.send(VA_MSG | 15, new Uint8Array(16));
    expect(pair.backend.endpoint.counters.bytesReceived).toBe(16);
    pair.frontend.endpoint.send(0x6447724d, new Uint8Array(16)); // the Linux driver's DGRAM type
    expect(pair.backend.endpoint.counters.dropped).toBe(1);
  });

  it('EVENT_IDX is negotiated end to end and the back end\'s copy of the queue uses it', () => {
    const hv = host();
    const { pair } = blkPair(hv);
    const { init } = blkDriver(pair);
    expect(init.ok && (init.features & bit(VIRTIO_F_EVENT_IDX)) !== 0n).toBe(true);
    expect(pair.backend.device.status.has(VIRTIO_F_EVENT_IDX)).toBe(true);
  });
});

it('two front ends in one guest each reach their own back end on their own port', () => {
  const hv = host();
  const ends = { frontend: { domid: FE, guest: new ArgoGuest(platformOf(hv, FE)) }, backend: { domid: BE, guest: new ArgoGuest(platformOf(hv, BE)) } };
  const a = blkPair(hv, { port: 0x5641_0000, ...ends });
  const b = blkPair(hv, { port: 0x5641_0001, ...ends });
  const da = blkDriver(a.pair).blk!;
  const db = blkDriver(b.pair).blk!;
  da.write(0, new Uint8Array(SECTOR_SIZE).fill(0xaa));
  db.write(0, new Uint8Array(SECTOR_SIZE).fill(0xbb));
  da.kick();
  db.kick();
  expect([a.image[0], b.image[0]]).toEqual([0xaa, 0xbb]);
  expect(a.pair.sharedMappings() + b.pair.sharedMappings()).toBe(0);
});
