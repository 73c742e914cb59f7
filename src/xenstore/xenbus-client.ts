import { PAGE_SIZE } from '../memory/constants.js';
import { XENSTORE_CONNECTED, XENSTORE_ERROR_NONE, XS_DIRECTORY, XS_ERROR, XS_IFACE, XsConnection, xsParts, xsStrings } from './xs-wire.js';
import { HVM_PARAM_STORE_EVTCHN, HVM_PARAM_STORE_PFN, type Hypervisor } from '../xen/hypervisor.js';

/** What a dom0less guest's xenbus has seen of its connection. */
export interface XenbusFigures {
  domid: number;
  name: string;
  /** Requests written to the ring. */
  written: number;
  /** Replies read back (answers to its requests). */
  answered: number;
  /** The last reply to its first request: the listing, or the errno name of an XS_ERROR (ENOENT: no devices). */
  firstReply: string | null;
  /** `error` of the page once xenstored gave up on the connection (XENSTORE_ERROR_*), else 0. */
  error: number;
}

/**
 * A dom0less guest's xenbus (Linux's drivers/xen/xenbus, virtio-ioreq-lifecycle.md §6.7 R11) — in its
 * worker thread in the parallel runtime, as the guest's steps in the deterministic one: the guest Xen built at boot has its xenstore port (HVM_PARAM_STORE_EVTCHN) but no page yet;
 * on each event of its port it looks again — the page once init-dom0less has set
 * HVM_PARAM_STORE_PFN, and in it nothing but `connection` until xenstored sets it to
 * XENSTORE_CONNECTED (docs/misc/xenstore-ring.txt) — then writes its first request (xenbus_probe
 * reading its `device` directory) and sends on its port, and takes the replies that come back.
 *
 * @example
 * ```ts
 * const xb = new XenbusClient(hv, 3, 'sensor');
 * const stop = bridgePorts(hv, 3, ~0, () => xb.event());
 * ```
 */
export class XenbusClient {
  private conn: XsConnection | undefined;
  private written = 0;
  private answered = 0;
  private firstReply: string | null = null;
  private error = XENSTORE_ERROR_NONE;

  constructor(
    private readonly hv: Hypervisor,
    readonly domid: number,
    readonly name: string,
  ) {}

  /** The guest's handler of its xenstore port: acknowledge, then act on what the page says now. */
  event(): void {
    this.hv.evtchnTakePending(this.domid);
    const port = this.hv.hvmGetParam(this.domid, HVM_PARAM_STORE_EVTCHN);
    if (port === undefined) return;
    if (!this.conn) {
      const pfn = this.hv.hvmGetParam(this.domid, HVM_PARAM_STORE_PFN);
      const memory = this.hv.domain(this.domid)?.memory;
      if (pfn === undefined || !memory) return; // init-dom0less has not come yet
      this.conn = new XsConnection(memory, pfn * PAGE_SIZE, 'guest');
    }
    const conn = this.conn;
    if (conn.field(XS_IFACE.connection) !== XENSTORE_CONNECTED) return; // every field but `connection` means nothing yet
    this.error = conn.field(XS_IFACE.error);
    if (this.error !== XENSTORE_ERROR_NONE) return;
    if (this.written === 0) {
      conn.send({ type: XS_DIRECTORY, reqId: 1, txId: 0, payload: xsStrings(`/local/domain/${this.domid}/device`) });
      this.written++;
    }
    const { messages, freed } = conn.receive();
    for (const m of messages) {
      if (m.reqId !== 1) continue;
      this.answered++;
      this.firstReply = m.type === XS_ERROR ? (xsParts(m.payload)[0] ?? 'EIO') : xsParts(m.payload).join(' ');
    }
    if (conn.flush() > 0 || freed > 0) this.hv.evtchnSend(this.domid, port);
  }

  figures(): XenbusFigures {
    return { domid: this.domid, name: this.name, written: this.written, answered: this.answered, firstReply: this.firstReply, error: this.error };
  }
}
