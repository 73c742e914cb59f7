import { assign, type AnyActorRef } from 'xstate';
import { XEN_ARGO_RING_EBUSY, XEN_ARGO_RING_EMSGSIZE } from '../../src/argo/constants.js';
import type { ArgoAddr, ArgoGuest, RingInfo, SendOptions } from '../../src/guest/argo-guest.js';
import { errnoName } from '../../src/xen/errno.js';
import { VIRQ_ARGO } from '../../src/xen/virq.js';
import { wiredActors } from './wired.js';
import { guestAppMachine, messageSize, retryRun, sendRun, type GuestAppContext, type GuestAppInput, type QueryReport } from '../guest-app.js';

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
 * `guestAppMachine` sending with a real ArgoGuest: each sendv of a run is one `guest.sendvRaw` of
 * `payloadFor(seq, size)` staged in the guest's bounce buffer (bytes, EAGAIN, or another errno by its
 * name), and `retry` acknowledges the VIRQ (clears its pending bit) and asks with
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
  const wire = wireOf(guest, options, hooks);
  return guestAppMachine.provide({
    actions: {
      sendv: assign(({ context }) => wire.sendv(context)),
      retry: assign(({ context }) => wire.retry(context)),
    },
  });
}

/** What the wired actions do for one app: its sendv runs and its re-checks, over its ArgoGuest. */
interface GuestAppWire {
  sendv(context: GuestAppContext): ReturnType<typeof sendRun>;
  retry(context: GuestAppContext): ReturnType<typeof retryRun>;
}

function wireOf(guest: ArgoGuest, options: SendOptions, hooks: GuestAppHooks): GuestAppWire {
  const payloadOf = hooks.payload ?? payloadFor;
  const sendvTo = (dst: ArgoAddr, seq: number, size: number): number => {
    const payload = payloadOf(seq, size);
    const rc = guest.sendvRaw(dst, [guest.stageIov(payload)], options);
    hooks.onSendv?.(seq, payload, rc);
    return rc;
  };
  return {
    sendv: (context) => sendRun(context, (seq, size) => sendvTo(context.dst, seq, size), nameOf),
    retry: (context) => {
      guest.platform.clearVirq(VIRQ_ARGO); // the VIRQ is acknowledged before the re-check: none is lost
      const query = reportOfQuery(guest.query(context.dst, messageSize(context, context.seq)));
      return retryRun(context, query, (seq, size) => sendvTo(context.dst, seq, size), nameOf);
    },
  };
}

/** One wired machine for every app of a program (see `wiredActors`). */
const createWiredGuestApp = wiredActors('createGuestAppActor', (wireOf: (self: AnyActorRef) => GuestAppWire) =>
  guestAppMachine.provide({
    actions: {
      sendv: assign(({ context, self }) => wireOf(self).sendv(context)),
      retry: assign(({ context, self }) => wireOf(self).retry(context)),
    },
  }),
);

/**
 * An actor (not started) of the guest application machine sending with `guest` — the same as
 * `createActor(guestAppMachineFor(guest, options, hooks), actorOptions)`, made from one shared
 * machine.
 *
 * @example
 * ```ts
 * const app = createGuestAppActor(sender, {}, {}, { input: { dst: { domid: 2, aport: 80 }, count: 3, sizes: [1000] } }).start();
 * app.send({ type: 'START' });
 * ```
 */
export function createGuestAppActor(
  guest: ArgoGuest,
  options: SendOptions,
  hooks: GuestAppHooks,
  actorOptions: Parameters<typeof createWiredGuestApp>[1] & { input: GuestAppInput },
): ReturnType<typeof createWiredGuestApp> {
  return createWiredGuestApp(wireOf(guest, options, hooks), actorOptions);
}

/**
 * Hooks a runtime gives the wired app: the payload of message `seq` (the same bytes on a retry), and
 * every sendv's result, so the runtime can account for each message.
 */
export interface GuestAppHooks {
  payload?: (seq: number, size: number) => Uint8Array;
  onSendv?: (seq: number, payload: Uint8Array, rc: number) => void;
}

const nameOf = (rc: number): string => errnoName(rc) ?? `E${-rc}`;

/**
 * What a notify query says for a blocked sender (argo.md §4.4, §6.3): the ring gone; room now; a
 * wait that can never be woken — the message can never fit (EMSGSIZE) or no space-wait could be
 * queued because 32 are already (EBUSY) — as a refusal; else still short, with a space-wait queued.
 */
function reportOfQuery(info: RingInfo): QueryReport {
  if (!info.exists) return { kind: 'gone' };
  if (info.sufficient) return { kind: 'sufficient' };
  if (info.flags & XEN_ARGO_RING_EMSGSIZE) return { kind: 'refused', errno: 'EMSGSIZE' };
  if (info.flags & XEN_ARGO_RING_EBUSY) return { kind: 'refused', errno: 'EBUSY' };
  return { kind: 'insufficient' };
}
