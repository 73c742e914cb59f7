import { createXenstoreActor, XenstoredPort, type XenstoreActor } from '../../machines/implementations/xenstore-core.js';
import { PAGE_SIZE } from '../memory/constants.js';
import { xenstoreConnectViolation } from '../runtime/dom0less-xenbus.js';
import { XenstoredConnections, liveUpdateExited } from '../runtime/xenstored-connections.js';
import { Xenstore } from '../xenstore/xenstore.js';
import {
  XENSTORE_CONNECTED,
  XENSTORE_ERROR_NONE,
  XENSTORE_ERROR_RINGIDX,
  XENSTORE_RECONNECT,
  XENSTORE_SERVER_FEATURE_ERROR,
  XENSTORE_SERVER_FEATURE_RECONNECTION,
  XS_IFACE,
  XsConnection,
  answerXsRequest,
} from '../xenstore/xs-wire.js';
import { HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN, type Hypervisor } from '../xen/hypervisor.js';
import { bridgePorts } from './virq-bridge.js';
import { dom0lessStorePfn } from './xenbus-client.js';

/** A dom0less guest's connection, as xenstored keeps it. */
interface Connection {
  name: string;
  domid: number;
  /** xenstored's end of the page. */
  conn: XsConnection;
  /** xenstored's port, bound to the guest's xenstore port (0 until XS_INTRODUCE). */
  port: number;
  answered: number;
  /** Whole requests `domain_conn_reset` wiped. */
  wiped: number;
  /** The guest broke the protocol (xenstored's `ignore_connection`): what it wrote (XENSTORE_ERROR_*). */
  error: number;
  /** An error of xenstored's own while serving it (a bug of the model): the connection is no longer served. */
  failure: string | undefined;
  /** The booted incarnation's connection is over: its domain was destroyed, restarted or soft-reset. */
  over: boolean;
}

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
 * ParallelXenstored.bootDom0less(hv, 1, 0); // Xen, at boot
 * xs.start();
 * xs.initDom0less(1, 'sensor');              // dom0's init-dom0less, once the guests run
 * ```
 */
export class ParallelXenstored {
  readonly store = new Xenstore();
  private readonly actor: XenstoreActor;
  private readonly port: XenstoredPort;
  /** By xenstored's local port. */
  private readonly byPort = new Map<number, Connection>();
  private readonly connections: Connection[] = [];
  /** Every domain introduced and not released: what a live update saves (R12). */
  private readonly introduced = new XenstoredConnections();
  private stopBridge: (() => void) | undefined;
  /** The state a live update wrote, while the new xenstored has not read it (nothing is served). */
  private updating: ReturnType<XenstoredConnections['save']> | undefined;
  /** Why xenstored is gone for good (a live update that exited), else undefined. */
  exited: string | undefined;
  /** The control domain xenstored runs in is dead: nothing is served any more. */
  private ownDomainGone = false;

  constructor(
    private readonly hv: Hypervisor,
    /** The domain xenstored runs in (the control domain). */
    readonly domid: number,
    private readonly options: { notifyBeforeReset: boolean; liveUpdateDyingDomainFatal?: boolean },
  ) {
    this.actor = createXenstoreActor({ store: this.store, unwatch: new Map() }, {}).start();
    this.port = new XenstoredPort(this.actor, this.store);
  }

  /**
   * Xen builds a dom0less guest at boot with its xenstore event channel already allocated — unbound,
   * for xenstored's domain to bind (dom0less-build.c `alloc_xenstore_evtchn`) — and
   * HVM_PARAM_STORE_EVTCHN set; HVM_PARAM_STORE_PFN stays unset until init-dom0less. The port, or a
   * negative errno.
   */
  static bootDom0less(hv: Hypervisor, domid: number, xenstoredDomid: number): number {
    const port = hv.evtchnAllocUnbound(domid, xenstoredDomid);
    if (port > 0) hv.hvmSetParam(domid, HVM_PARAM_STORE_EVTCHN, port);
    return port;
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
    this.port.domainEvent({ type: 'RELEASE', domid });
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
    if (this.exited !== undefined) return;
    this.start();
    for (const c of this.connections) if (!c.over && c.port > 0) this.serveConnection(c);
  }

  /** The booted kernel of `domid` is gone (destroyed, restarted, soft-reset): its connection is over, xenstored's port closed. */
  domainGone(domid: number): void {
    for (const c of this.connections) {
      if (c.domid !== domid || c.over) continue;
      c.over = true;
      if (c.port > 0 && this.byPort.get(c.port) === c) {
        this.byPort.delete(c.port);
        this.hv.evtchnClose(this.domid, c.port);
      }
    }
  }

  /**
   * dom0's init-dom0less for the guest Xen built as `domid`: the xenstore page (zeroed, `connection`
   * = XENSTORE_RECONNECT so that the guest waits, the server's features), HVM_PARAM_STORE_PFN, then
   * XS_INTRODUCE — `introduceDomain` and `resetConnection`, as xenstored runs them, one after the other.
   */
  initDom0less(domid: number, name: string): void {
    if (this.introduceDomain(domid, name)) this.resetConnection(domid);
  }

  /**
   * init-dom0less's page and parameter, then XS_INTRODUCE's `introduce_domain`: xenstored binds its
   * end of the guest's xenstore port and maps the page. With the historical bug (before Xen
   * e58bd71c09) it tells the guest it is ready here, before the reset. False when there is nothing to
   * introduce (the domain is gone, or Xen gave it no xenstore port).
   */
  introduceDomain(domid: number, name: string): boolean {
    const memory = this.hv.domain(domid)?.memory;
    if (!memory || this.hv.life(domid) !== 'alive') return false;
    const pfn = dom0lessStorePfn(memory.pages);
    memory.zero(pfn * PAGE_SIZE, PAGE_SIZE);
    const conn = new XsConnection(memory, pfn * PAGE_SIZE, 'xenstored');
    conn.setField(XS_IFACE.server_features, XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR);
    conn.setField(XS_IFACE.connection, XENSTORE_RECONNECT);
    this.hv.hvmSetParam(domid, HVM_PARAM_STORE_PFN, pfn);
    const c: Connection = { name, domid, conn, port: 0, answered: 0, wiped: 0, error: XENSTORE_ERROR_NONE, failure: undefined, over: false };
    this.connections.push(c);
    const guestPort = this.hv.hvmGetParam(domid, HVM_PARAM_STORE_EVTCHN);
    const port = guestPort === undefined ? -1 : this.hv.evtchnBindInterdomain(this.domid, domid, guestPort);
    if (port <= 0) {
      c.over = true; // no channel to the guest: nothing to serve
      return false;
    }
    c.port = port;
    this.byPort.set(port, c);
    if (this.options.notifyBeforeReset) this.ready(c);
    return true;
  }

  /** XS_INTRODUCE's `domain_conn_reset`: the ring indexes back to zero (what the guest wrote is gone); today's xenstored then tells the guest it is ready. */
  resetConnection(domid: number): void {
    const c = this.connections.find((x) => x.domid === domid && !x.over && x.port > 0);
    if (!c) return;
    c.wiped += c.conn.reset();
    if (!this.options.notifyBeforeReset) this.ready(c);
  }

  /** `connection` = XENSTORE_CONNECTED, then an event on the guest's xenstore port. */
  private ready(c: Connection): void {
    c.conn.setField(XS_IFACE.connection, XENSTORE_CONNECTED);
    this.hv.evtchnSend(this.domid, c.port);
  }

  /** xenstored's event loop: every pending port's connection read, its requests answered, the guest told. */
  serve(): void {
    if (this.updating || this.exited !== undefined) return;
    const pending = this.hv.evtchnTakePending(this.domid);
    for (const [port, c] of this.byPort) if (pending & (1 << port) && !c.over) this.serveConnection(c);
  }

  private serveConnection(c: Connection): void {
    if (c.error !== XENSTORE_ERROR_NONE || c.failure !== undefined) return; // no longer served
    try {
      const { messages, freed, error } = c.conn.receive();
      for (const m of messages) {
        c.conn.send(answerXsRequest(this.port, c.domid, m));
        c.answered++;
      }
      const written = c.conn.flush();
      // broken req indexes, an oversized header, or broken rsp indexes (flush: -1)
      const broke = error !== XENSTORE_ERROR_NONE ? error : written < 0 ? XENSTORE_ERROR_RINGIDX : XENSTORE_ERROR_NONE;
      if (broke !== XENSTORE_ERROR_NONE) {
        // xenstored's ignore_connection: the error in the page, the connection no longer served
        c.error = broke;
        c.conn.setField(XS_IFACE.error, broke);
      }
      if (written > 0 || freed > 0 || broke !== XENSTORE_ERROR_NONE) this.hv.evtchnSend(this.domid, c.port);
    } catch (e) {
      // never a crash of the run: reported as xenstored's own failure
      c.failure = `xenstored: serving ${c.name} (${c.domid}) failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  /**
   * True when every booted dom0less guest still running has read an answer from its ring (xenstored
   * answered, and the guest's `rsp_cons` caught up), or broke its connection.
   */
  settled(runnable: (domid: number) => boolean): boolean {
    if (this.exited !== undefined) return true;
    return this.connections.every((c) => c.over || (c.answered > 0 && c.conn.drained()) || c.error !== XENSTORE_ERROR_NONE || c.failure !== undefined || !runnable(c.domid));
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
        const v = xenstoreConnectViolation(c.name, written(c.domid), c.answered, c.wiped);
        return v === null ? [] : [v];
      }),
    ];
  }

  /** The connection of `domid`, for tests: xenstored's figures. */
  connectionOf(domid: number): { answered: number; wiped: number; error: number; port: number } | undefined {
    const c = this.connections.find((x) => x.domid === domid);
    return c && { answered: c.answered, wiped: c.wiped, error: c.error, port: c.port };
  }
}
