/**
 * `guestAppMachine`: a guest application that sends `count` messages to one Argo destination with
 * the sender protocol of argo.md §6.3 — sendv; on EAGAIN wait for VIRQ_ARGO, ask with notify whether
 * the message fits now (which queues a space-wait if not), and retry when SUFFICIENT.
 *
 * A sender is a loop: an unpaced app sendvs message after message until the ring is full (EAGAIN)
 * or every message is dealt with, as a Linux application's `sendmsg` loop does; a paced app sends
 * one message per SEND (a slot of its workload's rate). Such a run is one action, which makes one
 * `sendvRaw` hypercall per message and records the counters and what the core last answered in
 * `report` (`sent`, `eagain`, or `refused` with its errno); guards on `report` then move the
 * machine to the state that answer puts it in. The events of the common cases — a paced SEND whose
 * message goes, a VIRQ after which the ring fills again — are transitions without a target: one
 * microstep each, and no eventless one. Message `seq` has `sizes[seq % sizes.length]` bytes.
 *
 * The default implementation is an ideal destination that takes every message at once, so the
 * machine runs alone; `guestAppMachineFor(guest)` in `implementations/guest-app-core.ts` sends with a
 * real ArgoGuest. Both run `sendRun` and `retryRun` over their own single sendv and notify query.
 *
 * States:
 *
 * | state      | what                                                                              |
 * |------------|-----------------------------------------------------------------------------------|
 * | `idle`     | not started                                                                       |
 * | `starting` | START: all dealt with (count 0) → `done`; paced → `ready`; else → `sending`       |
 * | `sending`  | unpaced: the run of sendvs (entry); EAGAIN → `blocked`; all dealt with → `done`   |
 * | `ready`    | paced: each SEND is one sendv of the next message, staying here; EAGAIN → `blocked`; all dealt with → `done` |
 * | `blocked`  | EAGAIN: the core queued a space-wait. Each VIRQ is a re-check (`retry`): still short → stays; otherwise the sends go on (see `retryRun`) → `done`, `ready` (paced), or stays on a new EAGAIN |
 * | `done`     | every message sent or refused (final)                                             |
 * | `stopped`  | STOP (final)                                                                      |
 *
 * `starting` and `sending` are left in the same macrostep: the stable states are idle, ready,
 * blocked, done and stopped.
 *
 * Events:
 *
 * | event   | accepted in    | does                                                               |
 * |---------|----------------|--------------------------------------------------------------------|
 * | `START` | idle           | → `starting`                                                       |
 * | `SEND`  | ready          | `sendv` of the next message (paced apps only)                      |
 * | `VIRQ`  | blocked        | `retry`: acknowledge the VIRQ, notify with the message's size, and go on if it fits (`retryRun`) |
 * | `STOP`  | idle, ready, blocked | → `stopped`                                                  |
 *
 * @example
 * ```ts
 * const app = createActor(guestAppMachine, { input: { dst: { domid: 2, aport: 80 }, count: 3, sizes: [100] } }).start();
 * app.send({ type: 'START' });
 * app.getSnapshot().value;        // 'done'
 * app.getSnapshot().context.sent; // 3
 * ```
 */
import { assign, setup } from 'xstate';

/**
 * What the core last answered: a sendv's outcome (errno by its name), or a notify query's.
 *
 * @example
 * ```ts
 * const report: GuestAppReport = { kind: 'refused', errno: 'EMSGSIZE' };
 * ```
 */
export type GuestAppReport =
  | { kind: 'sent'; bytes: number }
  | { kind: 'eagain' }
  | { kind: 'refused'; errno: string }
  | { kind: 'sufficient' }
  | { kind: 'insufficient' }
  | { kind: 'gone' };

/**
 * The guest application's input: where to send, how many messages, and their sizes (message `seq`
 * has `sizes[seq % sizes.length]` bytes).
 *
 * @example
 * ```ts
 * const input: GuestAppInput = { dst: { domid: 2, aport: 80 }, count: 10, sizes: [64, 1000] };
 * ```
 */
export interface GuestAppInput {
  dst: { domid: number; aport: number };
  count: number;
  sizes: number[];
  /**
   * Paced: after each message the app waits in `ready` for the runtime's SEND (a workload's rate);
   * unpaced (the default) it sends as fast as the ring allows.
   */
  paced?: boolean;
}

/**
 * The guest application's context: its input, the next message (`seq`), messages sent, refusals by
 * errno name, how many sendvs answered EAGAIN, and the core's last answer (of a sendv, or of the
 * re-check's notify when that ended the wait: `insufficient` while the app still waits).
 *
 * @example
 * ```ts
 * const { sent, refused, blockedCount } = app.getSnapshot().context;
 * ```
 */
export interface GuestAppContext extends GuestAppInput {
  seq: number;
  sent: number;
  refused: Record<string, number>;
  blockedCount: number;
  report: GuestAppReport | null;
}

/**
 * Events of the guest application (see the table at the top of this file). The runtime delivers
 * VIRQ when the domain's VIRQ_ARGO fires.
 *
 * @example
 * ```ts
 * app.send({ type: 'VIRQ' } satisfies GuestAppEvent);
 * ```
 */
export type GuestAppEvent = { type: 'START' } | { type: 'SEND' } | { type: 'VIRQ' } | { type: 'STOP' };

/** The size of message `seq`. */
export const messageSize = (c: GuestAppInput, seq: number): number => {
  if (c.sizes.length === 0) throw new Error('guestAppMachine: input.sizes is empty');
  return c.sizes[seq % c.sizes.length];
};

/**
 * One sendv of message `seq` of `size` bytes: the byte count the core accepted (>= 0), or a negative
 * errno (-EAGAIN: the ring is full and a space-wait was queued).
 */
export type SendvOne = (seq: number, size: number) => number;

/** What a blocked sender's re-check (notify with the message's size, argo.md §6.3) found. */
export type QueryReport = Extract<GuestAppReport, { kind: 'sufficient' | 'insufficient' | 'gone' | 'refused' }>;

/** EAGAIN, whose value is Xen's (and Linux's) on x86 and Arm. */
const EAGAIN = 11;

type RunFields = Pick<GuestAppContext, 'seq' | 'sent' | 'refused' | 'blockedCount' | 'report'>;

/**
 * The counters and report after a run of sends from message `seq` (argo.md §6.3): an unpaced app
 * sends until EAGAIN or every message is dealt with; a paced one deals with one message. A refusal
 * (another errno) is counted under `errnoName(rc)` and the run goes on with the next message; on
 * EAGAIN `seq` stays, to be retried, and `blockedCount` grows.
 *
 * @example
 * ```ts
 * sendRun(context, (seq, size) => guest.sendvRaw(dst, [guest.stageIov(payloadFor(seq, size))]), errnoName);
 * ```
 */
export function sendRun(c: GuestAppContext, sendvOne: SendvOne, errnoName: (rc: number) => string): RunFields {
  let { seq, sent, refused, blockedCount } = c;
  let report = c.report;
  while (seq < c.count) {
    const rc = sendvOne(seq, messageSize(c, seq));
    if (rc === -EAGAIN) {
      report = { kind: 'eagain' };
      blockedCount++;
      break;
    }
    if (rc >= 0) {
      sent++;
      report = { kind: 'sent', bytes: rc };
    } else {
      const errno = errnoName(rc);
      refused = { ...refused, [errno]: (refused[errno] ?? 0) + 1 };
      report = { kind: 'refused', errno };
    }
    seq++;
    if (c.paced === true) break;
  }
  return { seq, sent, refused, blockedCount, report };
}

/**
 * A blocked sender's re-check after a VIRQ (argo.md §6.3), given what notify said: still short —
 * the notify queued a space-wait again, keep waiting; room now — send on (`sendRun`, the same
 * message first); the ring gone (Xen tells nobody, §6.2) — ECONNREFUSED; a wait that could never be
 * woken (the message can never fit, or 32 waiters already: `refused` EMSGSIZE / EBUSY) — that
 * errno. A message given up is counted and, unless the app is paced, the run goes on with the next.
 *
 * @example
 * ```ts
 * retryRun(context, guest.query(dst, size).sufficient ? { kind: 'sufficient' } : { kind: 'insufficient' }, sendvOne, errnoName);
 * ```
 */
export function retryRun(c: GuestAppContext, query: QueryReport, sendvOne: SendvOne, errnoName: (rc: number) => string): RunFields {
  if (query.kind === 'insufficient') return { ...c, report: query };
  if (query.kind === 'sufficient') return sendRun(c, sendvOne, errnoName);
  const errno = query.kind === 'gone' ? 'ECONNREFUSED' : query.errno;
  const after: GuestAppContext = { ...c, seq: c.seq + 1, refused: { ...c.refused, [errno]: (c.refused[errno] ?? 0) + 1 }, report: { kind: 'refused', errno } };
  return c.paced === true ? after : sendRun(after, sendvOne, errnoName);
}

/** The ideal destination: every message goes whole. */
const idealSendv: SendvOne = (_seq, size) => size;
const idealErrno = (rc: number) => `E${-rc}`;

const reportIs = (kind: GuestAppReport['kind']) => ({ type: 'reportIs' as const, params: { kind } });

/**
 * The guest application machine. Without `.provide()` its destination takes every message;
 * `guestAppMachineFor(guest)` sends with an ArgoGuest.
 *
 * @example
 * ```ts
 * const app = createActor(guestAppMachineFor(guest), { input: { dst: { domid: 2, aport: 80 }, count: 5, sizes: [1000] } }).start();
 * app.send({ type: 'START' });                          // blocked if the ring filled up
 * receiver.consume(ring);                               // notify: Xen signals VIRQ_ARGO to the sender
 * app.send({ type: 'VIRQ' });                           // the re-check finds room: sending again
 * ```
 */
export const guestAppMachine = setup({
  types: {
    context: {} as GuestAppContext,
    events: {} as GuestAppEvent,
    input: {} as GuestAppInput,
  },
  actions: {
    /** The run of sends from message `seq` (`sendRun`). */
    sendv: assign(({ context }) => sendRun(context, idealSendv, idealErrno)),
    /** Acknowledge the VIRQ, re-check with notify, and go on if it fits (`retryRun`). */
    retry: assign(({ context }) => retryRun(context, { kind: 'sufficient' }, idealSendv, idealErrno)),
  },
  guards: {
    reportIs: ({ context }, params: { kind: GuestAppReport['kind'] }) => context.report?.kind === params.kind,
    allDealtWith: ({ context }) => context.seq >= context.count,
    paced: ({ context }) => context.paced === true,
    /** A paced app whose re-check ended the wait: the message went, or was given up. */
    pacedAndGoing: ({ context }) => context.paced === true && context.report?.kind !== 'eagain' && context.report?.kind !== 'insufficient',
  },
}).createMachine({
  id: 'guestApp',
  context: ({ input }) => ({ ...input, seq: 0, sent: 0, refused: {}, blockedCount: 0, report: null }),
  initial: 'idle',
  states: {
    idle: {
      description: 'Not started.',
      on: { START: 'starting', STOP: 'stopped' },
    },
    starting: {
      description: 'Nothing to send: done; paced: wait for the first slot; else send.',
      always: [{ target: 'done', guard: 'allDealtWith' }, { target: 'ready', guard: 'paced' }, { target: 'sending' }],
    },
    sending: {
      description: 'Unpaced: sendv message after message (argo.md §6.3) until EAGAIN or all are dealt with.',
      entry: 'sendv',
      always: [
        { target: 'blocked', guard: reportIs('eagain') },
        { target: 'done', guard: 'allDealtWith' },
      ],
    },
    ready: {
      description: "Paced: each SEND (the workload's next slot in virtual time) is one sendv of the next message.",
      on: { SEND: { actions: 'sendv' }, STOP: 'stopped' },
      always: [
        { target: 'blocked', guard: reportIs('eagain') },
        { target: 'done', guard: 'allDealtWith' },
      ],
    },
    blocked: {
      description: 'EAGAIN: a space-wait is queued on the ring; each VIRQ_ARGO is a re-check with notify, and the sends go on once the message fits.',
      on: { VIRQ: { actions: 'retry' }, STOP: 'stopped' },
      always: [
        { target: 'done', guard: 'allDealtWith' },
        { target: 'ready', guard: 'pacedAndGoing' },
      ],
    },
    done: {
      description: 'Every message sent or refused.',
      type: 'final',
    },
    stopped: {
      description: 'Stopped by the runtime.',
      type: 'final',
    },
  },
});
