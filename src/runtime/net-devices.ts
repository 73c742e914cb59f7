import type { AnyActor } from 'xstate';
import { createVirtioArgoDevice, type VirtioArgoDeviceFigures } from '../../machines/implementations/virtio-device-core.js';
import type { VirtioArgoFrontend } from '../virtio-argo/frontend.js';
import type { ScenarioDevice } from '../scenario/schema.js';
import { bit, VIRTIO_F_EVENT_IDX, VIRTIO_F_VERSION_1 } from '../virtio/constants.js';
import { DriverQueue } from '../virtio/driver-queue.js';
import { NetBridge } from '../virtio/net/bridge.js';
import { ETH_HLEN, VIRTIO_NET_F_MAC, VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_STATUS } from '../virtio/net/constants.js';
import { ethFrame } from '../virtio/net/eth-frame.js';
import type { NetBackend, NetPort } from '../virtio/net/net-backend.js';
import { VirtioNetDriver } from '../virtio/net/net-driver.js';
import { VirtioNet } from '../virtio/net/virtio-net.js';
import type { VringAddresses } from '../virtio/layout.js';
import type { Hypervisor } from '../xen/hypervisor.js';
import type { DeviceEnd, DeviceFigures } from './devices.js';
import type { SeededRandom } from './random.js';

/** Features the guest's virtio-net driver understands. */
const NET_WANTED = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_EVENT_IDX) | bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_STATUS) | bit(VIRTIO_NET_F_MRG_RXBUF);
/** The gateway's MAC on every bridge (a locally administered address). */
export const GATEWAY_MAC = new Uint8Array([0x52, 0x54, 0x00, 0xff, 0xff, 0xfe]);
/** An experimental EtherType (IEEE 802 local experimental 1) for the workload's frames. */
const ETHERTYPE = 0x88b5;
/** Frames one batch sends at most. */
const BATCH_MAX = 8;
/** Payload bytes of the workload's frames. */
const PAYLOAD_MIN = 64;
const PAYLOAD_MAX = 1400;

/**
 * The backend domain's own network stack on a bridge: it answers every frame addressed to it with
 * the same payload, addresses swapped — the peer a guest's virtio-net workload talks to.
 */
export class Gateway implements NetPort {
  backend: NetBackend | null = null;
  echoed = 0;

  deliver(frame: Uint8Array): boolean {
    if (frame.length < 14 || !sameMac(frame.subarray(0, 6), GATEWAY_MAC)) return true; // not for it: taken and ignored
    const reply = new Uint8Array(frame);
    reply.set(frame.subarray(6, 12), 0);
    reply.set(GATEWAY_MAC, 6);
    this.echoed++;
    this.backend?.transmit(reply);
    return true;
  }
}

/**
 * The guest's side of a virtio-net device as `NetDeviceRun` drives it: a VirtIO-Argo front side,
 * with what a new back end means to it. `NetDeviceRun.inThread` makes one with its back end in the
 * same thread; the parallel runtime makes one over `createVirtioArgoFrontSide`.
 */
export interface NetFront {
  readonly frontend: VirtioArgoFrontend;
  live(): { features: bigint; rings: VringAddresses[] } | null;
  start(): void;
  backendUp(end: DeviceEnd): void;
  figures(): VirtioArgoDeviceFigures;
  stop(): void;
  actors(): ReadonlyArray<readonly ['frontend' | 'backend', AnyActor]>;
}

/** The MAC of `frontend`'s virtio-net NIC (locally administered, from its domid). */
export function guestMac(frontendDomid: number): Uint8Array {
  return new Uint8Array([0x52, 0x54, 0x00, 0x00, (frontendDomid >> 8) & 0xff, frontendDomid & 0xff]);
}

/** The device model of a virtio-net device: a `VirtioNet` with the guest's MAC, a port of `bridge`. */
export function netModelFor(spec: ScenarioDevice, frontendDomid: number, bridge: NetBridge): VirtioNet {
  const net = new VirtioNet({ mac: guestMac(frontendDomid), queueSizeMax: spec.queueSize });
  net.backend = bridge.attach(net);
  return net;
}

/** The front side's options of a virtio-net device (what the driver wants, its two queues). */
export function netFrontOptions(spec: ScenarioDevice): { wanted: bigint; queueSizes: number[]; port: number; ringLen: number | undefined } {
  return { wanted: NET_WANTED, queueSizes: [spec.queueSize, spec.queueSize], port: spec.port, ringLen: spec.ringLen };
}

/** Chain bytes a virtio-net back end takes at most in one message. */
export const NET_CHAIN_BYTES_MAX = 2048;

/**
 * A scenario's virtio-net device in a run (docs/scenarios.md `devices[]`): a VirtIO-Argo device
 * whose model (`VirtioNet`) is a port of its bridge in the back end's domain, and the guest's network
 * workload — seeded frames of 64–1400 payload bytes to the bridge's gateway, which echoes each: every
 * echo must come back whole and in order.
 */
export class NetDeviceRun {
  readonly device: NetFront;
  private driver: VirtioNetDriver | null = null;
  private rx: DriverQueue<number> | null = null;
  private rings: VringAddresses[] | null = null;
  /** Payloads sent and not yet echoed, oldest first. */
  private readonly awaiting: Uint8Array[] = [];
  private sent = 0;
  private echoed = 0;
  private bytesVerified = 0;
  private abandoned = 0;
  private frontendGone = false;
  private readonly mac: Uint8Array;

  /** `front` makes the device's front side, given its used-buffer notification. */
  constructor(
    readonly spec: ScenarioDevice,
    frontendDomid: number,
    front: (onUsed: () => void) => NetFront,
    private readonly rng: SeededRandom,
    private readonly violate: (what: string) => void,
  ) {
    this.mac = guestMac(frontendDomid);
    this.device = front(() => this.harvest());
  }

  /** The device with both ends in this thread: its model a port of `bridge` in the back end's domain. */
  static inThread(spec: ScenarioDevice, hv: Hypervisor, frontend: DeviceEnd, backend: DeviceEnd, bridge: NetBridge, rng: SeededRandom, violate: (what: string) => void): NetDeviceRun {
    const net = netModelFor(spec, frontend.domid, bridge);
    return new NetDeviceRun(spec, frontend.domid, (onUsed) => {
      const device = createVirtioArgoDevice({ hv, name: spec.name, frontend, backend, model: net, ...netFrontOptions(spec), chainBytesMax: NET_CHAIN_BYTES_MAX, onUsed });
      return {
        frontend: device.frontend,
        live: () => device.live(),
        start: () => device.start(),
        backendUp: (end) => device.replaceBackend(end, net),
        figures: () => device.figures(),
        stop: () => device.stop(),
        actors: () => [['frontend', device.frontendActor], ['backend', device.backendActor]],
      };
    }, rng, violate);
  }

  start(): void {
    this.device.start();
  }

  get wantsMore(): boolean {
    return !this.frontendGone && (this.sent < this.spec.requests || this.awaiting.length > 0);
  }

  /** One batch: up to 8 frames to the gateway, one kick; echoes are checked as they come. */
  batch(): boolean {
    if (!this.ensureDriver()) return false;
    const driver = this.driver!;
    const before = this.sent + this.echoed;
    this.harvest();
    // echoes in flight never outnumber what the receive buffers hold: the gateway answers every
    // frame at once, and an echo that finds no buffer is dropped (§5.1.6.3.1) — a loss this workload,
    // which checks that every echo comes back, would count against the transport (with its back end
    // in another thread, echoes come back while the guest is busy elsewhere)
    const window = driver.framesHeld(ETH_HLEN + PAYLOAD_MAX) - this.awaiting.length;
    const n = Math.min(this.rng.int(1, BATCH_MAX), this.spec.requests - this.sent, Math.max(0, window));
    for (let i = 0; i < n; i++) {
      const payload = this.rng.fill(new Uint8Array(this.rng.int(PAYLOAD_MIN, PAYLOAD_MAX)));
      if (!driver.send(ethFrame(GATEWAY_MAC, this.mac, ETHERTYPE, payload))) break;
      this.awaiting.push(payload);
      this.sent++;
    }
    driver.kickTx();
    this.harvest();
    return this.sent + this.echoed > before;
  }

  backendUp(end: DeviceEnd): void {
    this.device.backendUp(end);
  }

  frontendDown(): void {
    this.frontendGone = true;
  }

  actors(): ReadonlyArray<readonly ['frontend' | 'backend', AnyActor]> {
    return this.device.actors();
  }

  figures(): DeviceFigures {
    return { ...this.device.figures(), transport: 'argo', xenstoreOps: 0, requestsOk: this.echoed, bytesVerified: this.bytesVerified, abandoned: this.abandoned };
  }

  stop(): void {
    this.device.stop();
  }

  private ensureDriver(): boolean {
    const live = this.device.live();
    if (!live) return false;
    if (this.driver && this.rings === live.rings) return true;
    this.abandoned += this.awaiting.length;
    this.awaiting.length = 0;
    const fe = this.device.frontend;
    const mem = fe.guest.platform.memory;
    const eventIdx = (live.features & bit(VIRTIO_F_EVENT_IDX)) !== 0n;
    const mergeable = (live.features & bit(VIRTIO_NET_F_MRG_RXBUF)) !== 0n;
    const rx = new DriverQueue<number>(mem, live.rings[0], { eventIdx, pages: fe.guest.pages, notify: () => fe.notify(0) });
    const tx = new DriverQueue<number>(mem, live.rings[1], { eventIdx, pages: fe.guest.pages, notify: () => fe.notify(1) });
    this.driver = new VirtioNetDriver(mem, fe.guest.pages, rx, tx, { mergeable, rxBuffers: this.spec.queueSize, rxBufferBytes: mergeable ? 512 : 1526 });
    this.rings = live.rings;
    this.rx = rx;
    this.driver.postRx();
    rx.kick();
    return true;
  }

  /** Receives what came, checks each echo against the oldest frame awaiting one, refills. */
  private harvest(): void {
    const driver = this.driver;
    if (!driver) return;
    for (const { frame } of driver.receive()) {
      const want = this.awaiting.shift();
      const payload = frame.subarray(14);
      if (!want || Buffer.compare(payload, want) !== 0 || !sameMac(frame.subarray(0, 6), this.mac)) {
        this.violate(`device ${this.spec.name}: an echo came back ${want ? 'other than the frame sent' : 'that no frame was sent for'}`);
        continue;
      }
      this.echoed++;
      this.bytesVerified += want.length;
    }
    driver.reclaimTx();
    if (driver.postRx() > 0) this.rx?.kick();
  }
}

/** The bridge of (backend domain, name): one per pair, with its gateway. */
export function bridgeFor(bridges: Map<string, NetBridge>, backend: string, name: string): NetBridge {
  const key = `${backend}/${name}`;
  let bridge = bridges.get(key);
  if (!bridge) {
    bridge = new NetBridge();
    const gateway = new Gateway();
    gateway.backend = bridge.attach(gateway, GATEWAY_MAC); // the driver domain's own address: a local entry
    bridges.set(key, bridge);
  }
  return bridge;
}

const sameMac = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);
