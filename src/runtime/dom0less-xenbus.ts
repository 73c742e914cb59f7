import type { Hypervisor } from '../xen/hypervisor.js';
import { XenbusClient } from '../xenstore/xenbus-client.js';
import type { XenstoreApi } from '../xenstore/xenstore-api.js';
import { XenstoredRing } from '../xenstore/xenstored-ring.js';

/** What a dom0less guest's xenstore connection needs from the runtime. */
export interface Dom0lessXenbusHooks {
  hv: Hypervisor;
  /** xenstored's requests port (its actor): what answers the guest's requests. */
  store: XenstoreApi;
  /** The domain xenstored runs in (the control domain). */
  xenstoredDomid: number;
  /** A scheduling point of `actor` (xenstored's steps; the guest's are `asGuest`). */
  point(kind: 'toolstack' | 'guest', actor: string, label: string, run: () => void): void;
  /** Runs `work` as the guest's vCPU (now if it runs, else when it runs again). */
  asGuest(work: () => void): void;
  /** The guest's domid now; undefined once it has none. */
  domid(): number | undefined;
  /** Historical bug R11 (before Xen e58bd71c09): introduce_domain notifies the guest before domain_conn_reset. */
  notifyBeforeReset: boolean;
}

/**
 * A dom0less guest's xenstore connection in the deterministic runtime (virtio-ioreq-lifecycle.md
 * §6.7 R11), over the same xenstore page and event channel as the parallel runtime's
 * (`XenstoredRing`, `XenbusClient`), each side's work a scheduling point: Xen built the guest at
 * boot, before xenstored ran, so its xenbus waits for xenstored's "ready" event on its xenstore
 * event channel; dom0's init-dom0less then introduces it (XS_INTRODUCE). xenstored handles that in
 * two steps — `introduce_domain` (init-dom0less's page, then the port bound) and `domain_conn_reset`
 * (the ring's indexes back to zero) — each a scheduling point of xenstored. Today's xenstored
 * notifies the guest after the reset (Xen e58bd71c09); before, it notified from `introduce_domain`,
 * so a guest that ran between the two steps wrote its first request into its page, the reset wiped
 * it, and its xenbus waited for the answer for ever.
 *
 * On the event the guest's xenbus writes its first request (Linux's xenbus_probe reads its `device`
 * directory) and notifies xenstored, which reads the page at a point of its own. The monitor
 * `xenstore-connect` (liveness, judged when the run goes idle) checks that every request the guest
 * wrote was answered.
 *
 * @example
 * ```ts
 * const xb = new Dom0lessXenbus('edge', hooks);
 * xb.boot();            // init-dom0less's XS_INTRODUCE, due now
 * // … run …
 * xb.unanswered();      // null, or what the monitor reports
 * ```
 */
export class Dom0lessXenbus {
  private ring: XenstoredRing | null = null;
  private xenbus: XenbusClient | undefined;
  /** The domid of the incarnation Xen built (a restart is an ordinary libxl domain). */
  private booted: number | undefined;
  /** The booted kernel is gone (destroyed, or soft-reset: a new kernel): the connection is over. */
  private over = false;

  constructor(
    readonly name: string,
    private readonly hooks: Dom0lessXenbusHooks,
  ) {}

  /** Xen builds the guest: its xenstore port, unbound for xenstored (before the domain first runs). */
  built(): void {
    const domid = this.hooks.domid();
    if (domid !== undefined) XenstoredRing.bootDom0less(this.hooks.hv, domid, this.hooks.xenstoredDomid);
  }

  /** init-dom0less introduces the guest to xenstored: its two steps follow, as scheduling points. */
  boot(): void {
    this.booted = this.hooks.domid();
    if (this.booted !== undefined) this.xenbus = new XenbusClient(this.hooks.hv, this.booted, this.name);
    const { notifyBeforeReset } = this.hooks;
    this.hooks.point('toolstack', 'xenstored', `XS_INTRODUCE ${this.name}: introduce_domain`, () => {
      if (!this.live()) return;
      this.ring = XenstoredRing.initDom0less(this.hooks.hv, this.booted!, this.name, this.hooks.xenstoredDomid);
      if (!this.ring?.introduceDomain(notifyBeforeReset)) return;
      if (notifyBeforeReset) this.ready(); // fc2b57c9a's notify, before the reset
      this.hooks.point('toolstack', 'xenstored', `XS_INTRODUCE ${this.name}: domain_conn_reset`, () => {
        if (!this.live()) return;
        this.ring!.resetConnection(notifyBeforeReset); // req_cons = req_prod = 0: what the guest wrote is gone
        if (!notifyBeforeReset) this.ready(); // e58bd71c09: notify once the ring is clean
      });
    });
  }

  /**
   * Monitor `xenstore-connect`: null when every request the guest wrote was answered (or the guest
   * Xen built is gone), else the violation.
   */
  unanswered(): string | null {
    if (this.failure() !== undefined) return this.failure()!;
    if (!this.live() || !this.xenbus) return null;
    return this.ring ? this.ring.unanswered(this.xenbus.figures().written) : null;
  }

  /** An error of xenstored's own while serving the guest (a bug of the model), else undefined. */
  failure(): string | undefined {
    return this.ring?.failure;
  }

  /**
   * The booted kernel is gone — its domain destroyed, or soft-reset (a new kernel, which libxl and not
   * init-dom0less would introduce): the connection is over, xenstored closes its port, and nothing
   * of it is judged any more (as in the parallel runtime).
   */
  gone(): void {
    if (this.over) return;
    this.over = true;
    this.ring?.close();
  }

  /** The "ready" event reaches the guest: its xenbus makes its first request. */
  private ready(): void {
    this.hooks.point('guest', this.name, 'xenbus: xenstore ready', () =>
      this.hooks.asGuest(() => {
        if (!this.live()) return;
        this.xenbus!.event(); // writes its request into the page and sends on its port
        // xenstored reads the page when it next runs
        this.hooks.point('toolstack', 'xenstored', `xenstored: ring of ${this.name}`, () => {
          if (this.live()) this.ring?.serve(this.hooks.store);
        });
      }),
    );
  }

  private live(): boolean {
    const domid = this.hooks.domid();
    return !this.over && domid !== undefined && domid === this.booted;
  }

  /** The domid Xen built the guest as, while that kernel runs; undefined once it is gone. */
  bootedDomid(): number | undefined {
    return this.over ? undefined : this.booted;
  }
}
