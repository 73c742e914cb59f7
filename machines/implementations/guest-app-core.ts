import { assign } from 'xstate';
import type { ArgoGuest, SendOptions } from '../../src/guest/argo-guest.js';
import { ERRNO, errnoName } from '../../src/xen/errno.js';
import { VIRQ_ARGO } from '../../src/xen/virq.js';
import { guestAppMachine, messageSize, type GuestAppReport } from '../guest-app.js';

/**
 * The payload of message `seq` of `size` bytes: byte i is `(seq * 31 + i) & 0xff`, so a receiver can
 * tell which message it holds and that it arrived whole.
 *
 * @example
 * ```ts
 * payloadFor(1, 4); // Uint8Array [31, 32, 33, 34]
 * ```
 */
export function payloadFor(seq: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (seq * 31 + i) & 0xff;
  return out;
}

/**
 * `guestAppMachine` sending with a real ArgoGuest: `sendv` is one `guest.sendvRaw` of
 * `payloadFor(seq, size)` staged in the guest's bounce buffer (bytes, EAGAIN, or another errno by its
 * name), and `queryRing` acknowledges the VIRQ (clears its pending bit) and asks with
 * `guest.query(dst, size)` — a notify that queues a space-wait when the message does not fit.
 *
 * @example
 * ```ts
 * const sender = new ArgoGuest(platformOf(hv, 1));
 * const app = createActor(guestAppMachineFor(sender), { input: { dst: { domid: 2, aport: 80 }, count: 3, sizes: [1000] } }).start();
 * app.send({ type: 'START' });
 * ```
 */
export function guestAppMachineFor(guest: ArgoGuest, options: SendOptions = {}, hooks: GuestAppHooks = {}) {
  const payloadOf = hooks.payload ?? payloadFor;
  return guestAppMachine.provide({
    actions: {
      sendv: assign(({ context }) => {
        const size = messageSize(context, context.seq);
        const payload = payloadOf(context.seq, size);
        const rc = guest.sendvRaw(context.dst, [guest.stageIov(payload)], options);
        hooks.onSendv?.(context.seq, payload, rc);
        return { report: reportOfSendv(rc) };
      }),
      queryRing: assign(({ context }) => {
        guest.platform.clearVirq(VIRQ_ARGO);
        const info = guest.query(context.dst, messageSize(context, context.seq));
        const report: GuestAppReport = !info.exists ? { kind: 'gone' } : info.sufficient ? { kind: 'sufficient' } : { kind: 'insufficient' };
        return { report };
      }),
    },
  });
}

/**
 * Hooks a runtime gives the wired app: the payload of message `seq` (the same bytes on a retry), and
 * every sendv's result, so the runtime can account for each message.
 */
export interface GuestAppHooks {
  payload?: (seq: number, size: number) => Uint8Array;
  onSendv?: (seq: number, payload: Uint8Array, rc: number) => void;
}

function reportOfSendv(rc: number): GuestAppReport {
  if (rc >= 0) return { kind: 'sent', bytes: rc };
  if (rc === -ERRNO.EAGAIN) return { kind: 'eagain' };
  return { kind: 'refused', errno: errnoName(rc) ?? `E${-rc}` };
}
