import { createXenstoreActor, XenstoredPort, type XenstoreActor } from '../../machines/implementations/xenstore-core.js';
import { XenstoredConnections, liveUpdateExited } from '../runtime/xenstored-connections.js';
import { releaseChecked } from '../runtime/xenstore-leak.js';
import { Xenstore } from '../xenstore/xenstore.js';
import { XenstoredRing } from '../xenstore/xenstored-ring.js';
import { XENSTORE_ERROR_NONE } from '../xenstore/xs-wire.js';
import type { Hypervisor } from '../xen/hypervisor.js';
import { bridgePorts } from './virq-bridge.js';

/**
 * xenstored in the parallel runtime (issue #5), run by the main thread — the control domain's
 * user space, where the toolstack also runs: the store and its actor (`xenstoreMachine`, as in the
 * deterministic runtime), every domain introduced when it is created and released when it is dead,
 * and the xenstore connections of dom0less guests over real shared pages: the guest's xenbus in its
 * worker thread writes `xsd_sockmsg` requests into its page in guest memory and sends on its event
 * channel; xenstored, woken through the control domain's pending word (`Atomics.waitAsync`, bounded),
 * reads them, answers through its actor and sends back (virtio-ioreq-lifecycle.md §6.7 R11).
 *
 * @example
 * ```ts
 * const xs = new ParallelXenstored(hv, 0, { notifyBeforeReset: false });
 * xs.domainCreated(1);
 * XenstoredRing.bootDom0less(hv, 1, 0);      // Xen, at boot
 * xs.start();
 * xs.initDom0less(1, 'sensor');              // dom0's init-dom0less, once the guests run
 * ```
 */
export class ParallelXenstored {
  readonly store: Xenstore;
  private readonly actor: XenstoreActor;
  private readonly port: XenstoredPort;
  /** The dom0less guests' rings (`XenstoredRing`), by xenstored's local port once introduced. */
  private readonly byPort = new Map<number, XenstoredRing>();
  private readonly connections: XenstoredRing[] = [];
  /** Every domain introduced and not released: what a live update saves (R12). */
  private readonly introduced = new XenstoredConnections();
  private stopBridge: (() => void) | undefined;
  /** The state a live update wrote, while the new xenstored has not read it (nothing is served). */
  private updating: ReturnType<XenstoredConnections['save']> | undefined;
  /** Why xenstored is gone for good (a live update that exited), else undefined. */
  exited: string | undefined;
  /** The control domain xenstored runs in is dead: nothing is served any more. */
  private ownDomainGone = false;

  /** The store as the toolstack in this thread calls it (every operation counted, watches fired). */
  get api(): XenstoredPort {
    return this.port;
  }

  constructor(
    private readonly hv: Hypervisor,
    /** The domain xenstored runs in (the control domain). */
    readonly domid: number,
    private readonly options: {
      notifyBeforeReset: boolean;
      liveUpdateDyingDomainFatal?: boolean;
      /** XSA-419's bug (R19): a dead domain's nodes outside its home go to dom0. */
      deadDomainNodesToDom0?: boolean;
      /** Monitor xenstore-leak (R19): a dead domain's nodes that survive it, reported with its name. */
      leaked?: { nameOf: (domid: number) => string; violate: (what: string) => void };
    },
  ) {
    this.store = new Xenstore(undefined, { deadDomainNodesToDom0: options.deadDomainNodesToDom0 ?? false });
    this.actor = createXenstoreActor({ store: this.store, unwatch: new Map() }, {}).start();
    this.port = new XenstoredPort(this.actor, this.store);
  }

  /** Serves requests from now on: woken when any port of xenstored's domain is pending. */
  start(): void {
    if (this.exited !== undefined || this.updating || this.ownDomainGone) return;
    this.stopBridge ??= bridgePorts(this.hv, this.domid, ~0, () => this.serve());
  }

  stop(): void {
    this.stopBridge?.();
    this.stopBridge = undefined;
    this.actor.stop();
  }

  /** A domain was created: xenstored introduces it (its home, `@introduceDomain`). */
  domainCreated(domid: number): void {
    this.introduced.introduced(domid);
    this.port.domainEvent({ type: 'INTRODUCE', domid });
  }

  /** A domain is dead: xenstored releases it (`@releaseDomain`, its nodes); its connection, if any, is over. */
  domainDead(domid: number): void {
    if (domid === this.domid) {
      // xenstored's own domain is gone, and xenstored with it: its wait on that slot ends
      this.stopBridge?.();
      this.stopBridge = undefined;
      this.ownDomainGone = true;
    }
    this.domainGone(domid);
    this.introduced.released(domid);
    const release = () => this.port.domainEvent({ type: 'RELEASE', domid });
    const leaked = this.options.leaked;
    // monitor xenstore-leak (lifecycle §6.7 R19): nothing the dead domain owned survives it
    if (leaked) releaseChecked(this.store, domid, leaked.nameOf(domid), leaked.violate, release);
    else release();
  }

  /**
   * `xenstore-control live-update` (virtio-ioreq-lifecycle.md §6.7 R12): xenstored writes its state —
   * every domain it is connected to — and re-executes; until `liveUpdateRestore` nothing is served
   * (requests wait in the guests' rings and their events in the pending word: the event-channel
   * bindings survive the exec). SIM CHOICE as in the deterministic runtime: the toolstack's own
   * introduce and release in the meantime are made at once.
   */
  liveUpdate(): void {
    if (this.exited !== undefined || this.updating) return;
    this.updating = this.introduced.save();
    this.stopBridge?.();
    this.stopBridge = undefined;
  }

  /**
   * The new xenstored reads the state and connects again to each domain: maps its ring page. A domain
   * that died meanwhile cannot be mapped: today's xenstored (Xen 939775cfd3) drops that connection as
   * for a domain gone; with `liveUpdateDyingDomainFatal` it exits — the host has no xenstore any more
   * (`exited` says why: the monitor live-update-survives). Then every ring is looked at once (what
   * came while it was down) and serving goes on.
   */
  liveUpdateRestore(name: (domid: number) => string): void {
    const saved = this.updating;
    if (!saved) return;
    this.updating = undefined;
    this.introduced.restore(saved, (domid) => this.hv.life(domid) === 'alive', (domid, current) => {
      if (this.options.liveUpdateDyingDomainFatal) {
        this.exited = liveUpdateExited(name(domid), domid);
        return false;
      }
      if (current) this.domainDead(domid); // dropped, as for a domain gone (a domid taken again is another domain's)
      return true;
    });
    if (this.exited !== undefined || this.ownDomainGone) return;
    this.start();
    for (const c of this.connections) c.serve(this.port);
  }

  /** The booted kernel of `domid` is gone (destroyed, restarted, soft-reset): its connection is over, xenstored's port closed. */
  domainGone(domid: number): void {
    for (const c of this.connections) {
      if (c.domid !== domid || c.over) continue;
      if (this.byPort.get(c.port) === c) this.byPort.delete(c.port);
      c.close();
    }
  }

  /**
   * dom0's init-dom0less for the guest Xen built as `domid` (its page and HVM_PARAM_STORE_PFN), then
   * XS_INTRODUCE — `introduceDomain` and `resetConnection`, as xenstored runs them, one after the other.
   */
  initDom0less(domid: number, name: string): void {
    if (this.introduceDomain(domid, name)) this.resetConnection(domid);
  }

  /** init-dom0less, then XS_INTRODUCE's `introduce_domain` (`XenstoredRing`); false when there is nothing to introduce. */
  introduceDomain(domid: number, name: string): boolean {
    const ring = XenstoredRing.initDom0less(this.hv, domid, name, this.domid);
    if (!ring) return false;
    this.connections.push(ring);
    if (!ring.introduceDomain(this.options.notifyBeforeReset)) return false;
    this.byPort.set(ring.port, ring);
    return true;
  }

  /** XS_INTRODUCE's `domain_conn_reset` for `domid`'s ring (`XenstoredRing`). */
  resetConnection(domid: number): void {
    this.connections.find((c) => c.domid === domid && !c.over)?.resetConnection(this.options.notifyBeforeReset);
  }

  /**
   * xenstored's event loop: every pending port's ring read, its requests answered, the guest told.
   * False (the events left pending) while it is live-updating or has exited.
   */
  serve(): boolean {
    if (this.updating || this.exited !== undefined) return false;
    const pending = this.hv.evtchnTakePending(this.domid);
    for (const [port, c] of this.byPort) if (pending & (1 << port)) c.serve(this.port);
    return true;
  }

  /**
   * True when every booted dom0less guest still running has read an answer from its ring (xenstored
   * answered, and the guest's `rsp_cons` caught up), or broke its connection.
   */
  settled(runnable: (domid: number) => boolean): boolean {
    if (this.exited !== undefined) return true;
    return this.connections.every((c) => c.over || (c.delivered > 0 && c.drained()) || c.error !== XENSTORE_ERROR_NONE || c.failure !== undefined || !runnable(c.domid));
  }

  /**
   * Monitor `xenstore-connect` (when the run ended `idle`): each booted guest's requests (`written`,
   * from its worker) against xenstored's answers — or, once xenstored has exited, monitor
   * live-update-survives' report alone; and any failure of xenstored's own.
   */
  violations(written: (domid: number) => number, idle: boolean): string[] {
    // xenstored exited (R12's bug): that is the violation; unanswered requests follow from it
    if (this.exited !== undefined) return [this.exited];
    const failures = this.connections.flatMap((c) => (c.failure !== undefined ? [c.failure] : []));
    // xenstore-connect is a liveness monitor: judged when the run went idle, as in the deterministic
    // runtime — at `until` a request may still be on its way (a live update not over, say)
    if (!idle) return failures;
    return [
      ...failures,
      ...this.connections.flatMap((c) => {
        if (c.over || c.failure !== undefined) return [];
        const v = c.unanswered(written(c.domid));
        return v === null ? [] : [v];
      }),
    ];
  }

  /** The connection of `domid`, for tests: xenstored's figures. */
  connectionOf(domid: number): { answered: number; wiped: number; repliesWiped: number; error: number; port: number } | undefined {
    const c = this.connections.find((x) => x.domid === domid);
    return c && { answered: c.answered, wiped: c.wiped, repliesWiped: c.repliesWiped, error: c.error, port: c.port };
  }
}
