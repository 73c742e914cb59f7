import { createVirtioArgoDevice, type VirtioArgoDevice, type VirtioArgoDeviceFigures } from '../../machines/implementations/virtio-device-core.js';
import type { ArgoGuest } from '../guest/argo-guest.js';
import type { ScenarioDevice } from '../scenario/schema.js';
import { VirtioBlkDriver, type BlkCompletion } from '../virtio/blk/blk-driver.js';
import { SECTOR_SIZE, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_S_OK, VIRTIO_BLK_T_IN } from '../virtio/blk/constants.js';
import { MemoryDisk } from '../virtio/blk/memory-disk.js';
import { virtioBlkModel } from '../virtio/blk/virtio-blk.js';
import { bit, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_VERSION_1 } from '../virtio/constants.js';
import { DriverQueue } from '../virtio/driver-queue.js';
import type { VringAddresses } from '../virtio/layout.js';
import type { Hypervisor } from '../xen/hypervisor.js';
import type { SeededRandom } from './random.js';

/** Features the guest's virtio-blk driver understands (Linux's: VERSION_1, FLUSH, EVENT_IDX, INDIRECT_DESC). */
const BLK_WANTED = bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_BLK_F_FLUSH) | bit(VIRTIO_F_EVENT_IDX) | bit(VIRTIO_F_INDIRECT_DESC);
/** Sectors one request reads or writes at most. */
const REQUEST_SECTORS_MAX = 16;
/** Requests one batch submits at most before its kick. */
const BATCH_MAX = 8;

/** A device's end: its domain's id and guest library as they are now. */
export interface DeviceEnd {
  domid: number;
  guest: ArgoGuest;
}

/** `argosim run --json` `devices[]`: the device's figures and what its workload checked. */
export interface DeviceFigures extends VirtioArgoDeviceFigures {
  /** Block requests the guest's workload completed with status OK. */
  requestsOk: number;
  /** Bytes read and found equal to the reference image. */
  bytesVerified: number;
  /** Requests abandoned when the device was reset under them (a back end gone). */
  abandoned: number;
}

/**
 * A scenario device in a run (issue #6 item 8): the VirtIO-Argo device (`createVirtioArgoDevice`:
 * front end in the guest, back end with a virtio-blk model over an in-memory disk in the platform
 * domain, their actors) and the guest's block workload — seeded batches of reads, writes and
 * flushes, each batch one kick, every byte read checked against a reference image of the disk.
 * Violations go to `violate`.
 */
export class DeviceRun {
  readonly device: VirtioArgoDevice;
  private readonly image: Uint8Array;
  private readonly reference: Uint8Array;
  /** Sectors whose content is unknown: written by a request abandoned in a reset. */
  private readonly unknown = new Set<number>();
  private driver: VirtioBlkDriver | null = null;
  private rings: VringAddresses[] | null = null;
  private readonly expected = new Map<number, { sector: number; read: Uint8Array | null; sectors: number[] }>();
  private submitted = 0;
  private requestsOk = 0;
  private bytesVerified = 0;
  private abandoned = 0;
  private frontendGone = false;

  constructor(
    readonly spec: ScenarioDevice,
    private readonly hv: Hypervisor,
    frontend: DeviceEnd,
    backend: DeviceEnd,
    private readonly rng: SeededRandom,
    private readonly violate: (what: string) => void,
  ) {
    this.image = new Uint8Array(spec.diskBytes);
    this.reference = new Uint8Array(spec.diskBytes);
    this.device = createVirtioArgoDevice({
      hv,
      name: spec.name,
      frontend,
      backend,
      model: this.model(),
      wanted: BLK_WANTED,
      queueSizes: [spec.queueSize],
      port: spec.port,
      ringLen: spec.ringLen,
    });
  }

  /** Initialises the device (its front end runs §1.2 over Argo). */
  start(): void {
    this.device.start();
  }

  /** True while the workload has requests left and the front end's domain lives. */
  get wantsMore(): boolean {
    return !this.frontendGone && (this.submitted < this.spec.requests || this.expected.size > 0);
  }

  /**
   * One batch of the guest's workload: harvest what completed, submit up to 8 requests, kick. False
   * when it got nowhere: the device is not live (failed, or waiting for a new back end), or nothing
   * was submitted or completed.
   */
  batch(): boolean {
    if (!this.ensureDriver()) return false;
    const driver = this.driver!;
    const before = this.submitted + this.requestsOk;
    this.harvest(driver.harvest());
    const sectors = this.spec.diskBytes / SECTOR_SIZE;
    const n = Math.min(this.rng.int(1, BATCH_MAX), this.spec.requests - this.submitted);
    for (let i = 0; i < n; i++) {
      const count = this.rng.int(1, Math.min(REQUEST_SECTORS_MAX, sectors));
      const sector = this.rng.int(0, sectors - count);
      const kind = this.rng.int(0, 19);
      const span = Array.from({ length: count }, (_, k) => sector + k);
      let tag: number | null;
      let read: Uint8Array | null = null;
      if (kind === 0) tag = driver.flush();
      else if (kind < 10 && !this.spec.readOnly) {
        const data = this.rng.fill(new Uint8Array(count * SECTOR_SIZE));
        tag = driver.write(sector, data);
        if (tag !== null) this.reference.set(data, sector * SECTOR_SIZE); // served in ring order
      } else {
        tag = driver.read(sector, count);
        read = this.reference.slice(sector * SECTOR_SIZE, (sector + count) * SECTOR_SIZE);
      }
      if (tag === null) break; // no slot or descriptor: the next batch, after a harvest
      this.expected.set(tag, { sector, read, sectors: kind < 10 && read === null ? span : [] });
      this.submitted++;
    }
    driver.kick();
    this.harvest(driver.harvest());
    return this.submitted + this.requestsOk > before;
  }

  /** The back end's domain came up again (a restart, a create): a new back end there; the front end resets and re-initialises. */
  backendUp(end: DeviceEnd): void {
    this.device.replaceBackend(end, this.model());
  }

  /** The front end's domain is gone: the workload ends. */
  frontendDown(): void {
    this.frontendGone = true;
  }

  figures(): DeviceFigures {
    return { ...this.device.figures(), requestsOk: this.requestsOk, bytesVerified: this.bytesVerified, abandoned: this.abandoned };
  }

  stop(): void {
    this.device.stop();
  }

  /** virtio-blk over this device's disk image (the disk outlives a back end). */
  private model() {
    return virtioBlkModel({ disk: new MemoryDisk(this.image), readOnly: this.spec.readOnly, queueSizeMax: this.spec.queueSize });
  }

  /** A driver on the live device's rings; rebuilt after a reset, abandoning what was in flight. */
  private ensureDriver(): boolean {
    const live = this.device.live();
    if (!live) return false;
    if (this.driver && this.rings === live.rings) return true;
    for (const pending of this.expected.values()) for (const s of pending.sectors) this.unknown.add(s);
    this.abandoned += this.expected.size;
    this.expected.clear();
    const fe = this.device.frontend;
    const mem = fe.guest.platform.memory;
    const has = (n: number) => (live.features & bit(n)) !== 0n;
    const queue = new DriverQueue<number>(mem, live.rings[0], { eventIdx: has(VIRTIO_F_EVENT_IDX), indirect: has(VIRTIO_F_INDIRECT_DESC), pages: fe.guest.pages, notify: () => fe.notify(0) });
    this.driver = new VirtioBlkDriver(mem, fe.guest.pages, queue, { slots: Math.min(32, this.spec.queueSize), slotDataBytes: REQUEST_SECTORS_MAX * SECTOR_SIZE, segmentBytes: 2048 });
    this.rings = live.rings;
    return true;
  }

  /** Checks completions: status OK, and every byte read equal to the reference (unknown sectors aside). */
  private harvest(done: BlkCompletion[]): void {
    for (const c of done) {
      const want = this.expected.get(c.tag);
      this.expected.delete(c.tag);
      if (!want) continue;
      if (c.status !== VIRTIO_BLK_S_OK) {
        this.violate(`device ${this.spec.name}: request at sector ${c.sector} answered status ${c.status}`);
        continue;
      }
      this.requestsOk++;
      if (c.type !== VIRTIO_BLK_T_IN || !want.read) continue;
      const got = c.data ?? new Uint8Array(0);
      for (let s = 0; s * SECTOR_SIZE < want.read.length; s++) {
        if (this.unknown.has(want.sector + s)) continue;
        const a = got.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
        const b = want.read.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE);
        if (Buffer.compare(a, b) !== 0) {
          this.violate(`device ${this.spec.name}: sector ${want.sector + s} read back other bytes than were written`);
          return;
        }
        this.bytesVerified += SECTOR_SIZE;
      }
    }
  }
}
