import { PAGE_SIZE } from '../memory/constants.js';
import { HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN, type Hypervisor } from '../xen/hypervisor.js';
import type { XenstoreApi } from './xenstore-api.js';
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
} from './xs-wire.js';

/**
 * The gfn of a dom0less guest's xenstore page. SIM CHOICE (docs/parallel.md): the guest's last page
 * of RAM — Xen on Arm puts it at GUEST_MAGIC_BASE, outside RAM, which this model's flat guest memory
 * does not have — so the guest's kernel hands out every page but that one.
 */
export const dom0lessStorePfn = (pages: number): number => pages - 1;

/**
 * xenstored's end of one dom0less guest's xenstore page (virtio-ioreq-lifecycle.md §6.7 R11), in
 * either runtime: init-dom0less's page and HVM_PARAM_STORE_PFN, XS_INTRODUCE's two steps
 * (`introduceDomain`, `resetConnection`), and serving what the guest wrote (`serve`: whole
 * `xsd_sockmsg` requests read from the page, answered through `store`, the replies written back and
 * the guest told on its event channel). The deterministic runtime runs each step as a scheduling
 * point; the parallel runtime's xenstored runs them in the main thread, woken by the guest's events.
 *
 * @example
 * ```ts
 * XenstoredRing.bootDom0less(hv, 3, 0);            // Xen, at boot
 * const ring = XenstoredRing.initDom0less(hv, 3, 'sensor', 0)!;
 * if (ring.introduceDomain(false)) ring.resetConnection(false);
 * // … the guest writes its request …
 * ring.serve(store);
 * ```
 */
export class XenstoredRing {
  /** xenstored's port, bound to the guest's xenstore port (0 until `introduceDomain`). */
  port = 0;
  /** Requests answered. */
  answered = 0;
  /** Whole requests `domain_conn_reset` wiped. */
  wiped = 0;
  /** Whole replies `domain_conn_reset` wiped before the guest read them: answers it never gets. */
  repliesWiped = 0;
  /** The guest broke the protocol (xenstored's `ignore_connection`): what it did (XENSTORE_ERROR_*). */
  error = XENSTORE_ERROR_NONE;
  /** An error of xenstored's own while serving it (a bug of the model): the connection is no longer served. */
  failure: string | undefined;
  /** The connection is over (`close`: the booted kernel is gone), or could not be made (no port to bind). */
  over = false;

  private constructor(
    private readonly hv: Hypervisor,
    readonly domid: number,
    readonly name: string,
    /** The domain xenstored runs in. */
    readonly xenstoredDomid: number,
    private readonly conn: XsConnection,
  ) {}

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

  /**
   * dom0's init-dom0less for the guest Xen built as `domid`: its xenstore page (zeroed, `connection`
   * = XENSTORE_RECONNECT so that the guest waits, the server's features) and HVM_PARAM_STORE_PFN.
   * Null when the domain is gone.
   */
  static initDom0less(hv: Hypervisor, domid: number, name: string, xenstoredDomid: number): XenstoredRing | null {
    const memory = hv.domain(domid)?.memory;
    if (!memory || hv.life(domid) !== 'alive') return null;
    const pfn = dom0lessStorePfn(memory.pages);
    memory.zero(pfn * PAGE_SIZE, PAGE_SIZE);
    const conn = new XsConnection(memory, pfn * PAGE_SIZE, 'xenstored');
    conn.setField(XS_IFACE.server_features, XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR);
    conn.setField(XS_IFACE.connection, XENSTORE_RECONNECT);
    hv.hvmSetParam(domid, HVM_PARAM_STORE_PFN, pfn);
    return new XenstoredRing(hv, domid, name, xenstoredDomid, conn);
  }

  /**
   * XS_INTRODUCE's `introduce_domain`: xenstored binds its end of the guest's xenstore port and maps
   * the page. With the historical bug (before Xen e58bd71c09) it tells the guest it is ready here,
   * before the reset. False when there is no channel to bind (the connection is then over).
   */
  introduceDomain(notifyBeforeReset: boolean): boolean {
    const guestPort = this.hv.hvmGetParam(this.domid, HVM_PARAM_STORE_EVTCHN);
    const port = guestPort === undefined ? -1 : this.hv.evtchnBindInterdomain(this.xenstoredDomid, this.domid, guestPort);
    if (port <= 0) {
      this.over = true;
      return false;
    }
    this.port = port;
    if (notifyBeforeReset) this.ready();
    return true;
  }

  /** XS_INTRODUCE's `domain_conn_reset`: the ring indexes back to zero (what the guest wrote is gone); today's xenstored then tells the guest it is ready. */
  resetConnection(notifyBeforeReset: boolean): void {
    if (this.over || this.port <= 0) return;
    const { requests, replies } = this.conn.reset();
    this.wiped += requests;
    this.repliesWiped += replies;
    if (!notifyBeforeReset) this.ready();
  }

  /** Reads the guest's requests, answers each through `store`, writes the replies and tells the guest. */
  serve(store: XenstoreApi): void {
    if (this.over || this.port <= 0 || this.error !== XENSTORE_ERROR_NONE || this.failure !== undefined) return;
    try {
      const { messages, freed, error } = this.conn.receive();
      for (const m of messages) {
        this.conn.send(answerXsRequest(store, this.domid, m));
        this.answered++;
      }
      const written = this.conn.flush();
      // broken req indexes, an oversized header, or broken rsp indexes (flush: -1)
      const broke = error !== XENSTORE_ERROR_NONE ? error : written < 0 ? XENSTORE_ERROR_RINGIDX : XENSTORE_ERROR_NONE;
      if (broke !== XENSTORE_ERROR_NONE) {
        // xenstored's ignore_connection: the error in the page, the connection no longer served
        this.error = broke;
        this.conn.setField(XS_IFACE.error, broke);
      }
      if (written > 0 || freed > 0 || broke !== XENSTORE_ERROR_NONE) this.hv.evtchnSend(this.xenstoredDomid, this.port);
    } catch (e) {
      // never a crash of the run: reported as xenstored's own failure
      this.failure = `xenstored: serving ${this.name} (${this.domid}) failed: ${e instanceof Error ? e.message : String(e)}`;
    }
  }

  /** Answers the guest could read: those xenstored wrote, less those the reset wiped. */
  get delivered(): number {
    return this.answered - this.repliesWiped;
  }

  /** Monitor `xenstore-connect` for this guest, which wrote `written` requests: null when it could read an answer to each. */
  unanswered(written: number): string | null {
    return xenstoreConnectViolation(this.name, written, this.delivered, this.wiped + this.repliesWiped);
  }

  /** The guest has read every reply (its rsp_cons caught up). */
  drained(): boolean {
    return this.conn.drained();
  }

  /** The booted kernel is gone: the connection is over, and xenstored closes its port. */
  close(): void {
    if (this.over) return;
    this.over = true;
    if (this.port > 0) this.hv.evtchnClose(this.xenstoredDomid, this.port);
  }

  /** `connection` = XENSTORE_CONNECTED, then an event on the guest's xenstore port. */
  private ready(): void {
    this.conn.setField(XS_IFACE.connection, XENSTORE_CONNECTED);
    this.hv.evtchnSend(this.xenstoredDomid, this.port);
  }
}

/**
 * Monitor `xenstore-connect` (both runtimes): null when a dom0less guest got an answer to every request
 * it wrote to its xenstore ring (`answered`: the answers it could read), else the violation — with how
 * many requests or replies `domain_conn_reset` wiped.
 */
function xenstoreConnectViolation(name: string, written: number, answered: number, wiped: number): string | null {
  if (answered >= written) return null;
  const lost = wiped > 0 ? `: ${wiped} wiped by domain_conn_reset after xenstored had told the guest it was ready (R11, fixed by Xen e58bd71c09)` : '';
  return `xenstore-connect: dom0less domain ${name} wrote ${written} request(s) to its xenstore ring and got ${answered} answer(s); its xenbus waits for ever${lost}`;
}
